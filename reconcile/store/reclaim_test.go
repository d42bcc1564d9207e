package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPruneGivesBackFreeSpace: a store more than half of which is free
// pages (what migration 012 leaves of a store that held full copies) is
// rewritten at its size by the next prune, its rows kept, unless its disk
// lacks the space for that; one with less free is left as it is.
func TestPruneGivesBackFreeSpace(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	path := st.Path()
	exec := func(q string) {
		t.Helper()
		if _, err := st.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	free := func() (free, pages int64) { return freePages(t, st) }
	size := func() int64 {
		t.Helper()
		var n int64
		for _, f := range []string{path, path + "-wal"} {
			if fi, err := os.Stat(f); err == nil {
				n += fi.Size()
			}
		}
		return n
	}
	prune := func() {
		t.Helper()
		if err := st.Prune(ctx, time.Now(), Retention{Snapshots: time.Hour, Findings: time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	// Rows of 1 MiB, numbered from 1 to 28.
	const mib = `WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 28) SELECT n, randomblob(1 << 20) AS b FROM c`
	// 24 MiB kept; of 28 more, 20 freed: less than half the file.
	exec("CREATE TABLE kept AS " + mib + " WHERE n <= 24")
	exec("CREATE TABLE old AS " + mib)
	exec(`DELETE FROM old WHERE n <= 20`)
	exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	before, _ := free()
	prune()
	if f, pages := free(); f != before || f == 0 {
		t.Errorf("a store with %d free pages of %d: %d free after a prune, want them left as they were", before, pages, f)
	}
	// The rest of old freed: more than half the file.
	exec(`DROP TABLE old`)
	big := size()
	f, pages := free()
	if f*2 <= pages {
		t.Fatalf("%d free pages of %d: not the case this test is about", f, pages)
	}
	// Without the disk space for the rewrite (what the store holds, twice
	// over), nothing is begun; the error says what is missing.
	need := 2 * (pages - f) * pageSize
	for _, disk := range []int64{need - 1, -1} {
		err := st.reclaim(ctx, func(dir string) (int64, error) {
			if dir != filepath.Dir(path) {
				t.Errorf("free space asked of %s, not the store's directory", dir)
			}
			if disk < 0 {
				return 0, errors.New("statfs: no such file")
			}
			return disk, nil
		})
		want := fmt.Sprintf("needs %d MB of disk space and %s has %d MB", need>>20, filepath.Dir(path), disk>>20)
		if disk < 0 {
			want = "statfs: no such file"
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("with %d bytes of disk free: %v, want an error saying %q", disk, err, want)
		}
		if f, pages := free(); f*2 <= pages || size() != big {
			t.Errorf("with %d bytes of disk free: %d free pages of %d, %d bytes (%d before)", disk, f, pages, size(), big)
		}
	}
	prune()
	if f, pages := free(); f != 0 {
		t.Errorf("%d free pages of %d after a prune, want none", f, pages)
	}
	if got := size(); got > big/2 || got < 24<<20 {
		t.Errorf("the store and its log take %d bytes after a prune, want what it holds (24 MiB), not %d", got, big)
	}
	var n, bytes int64
	if err := st.db.QueryRowxContext(ctx, `SELECT count(*), sum(length(b)) FROM kept`).Scan(&n, &bytes); err != nil || n != 24 || bytes != 24<<20 {
		t.Errorf("the rows kept: %d, %d bytes (%v), want 24 of 1 MiB", n, bytes, err)
	}
	if err := st.Ping(ctx); err != nil {
		t.Error(err)
	}
}

// A store whose free pages are most of it, but fewer than reclaimAtLeast
// bytes, is not rewritten: not worth a run's time.
func TestPruneLeavesLittleFreeSpace(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	for _, q := range []string{
		`CREATE TABLE old AS WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 6) SELECT randomblob(1 << 20) AS b FROM c`,
		`DROP TABLE old`,
	} {
		if _, err := st.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	before, pages := freePages(t, st)
	if before*2 <= pages || before*pageSize >= reclaimAtLeast {
		t.Fatalf("%d free pages of %d: not the case this test is about", before, pages)
	}
	if err := st.Prune(ctx, time.Now(), Retention{Snapshots: time.Hour, Findings: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if free, _ := freePages(t, st); free != before {
		t.Errorf("%d free pages after a prune, want the %d there were", free, before)
	}
}

// freePages is st's count of free pages, and of all its pages.
func freePages(t *testing.T, st *Store) (free, pages int64) {
	t.Helper()
	err := st.db.QueryRowxContext(context.Background(), `SELECT freelist_count, page_count FROM pragma_freelist_count, pragma_page_count`).Scan(&free, &pages)
	if err != nil {
		t.Fatal(err)
	}
	return free, pages
}
