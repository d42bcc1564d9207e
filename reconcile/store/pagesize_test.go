package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
)

// TestPageSize: a store created by Open has pageSize pages, a new file and
// an empty one alike; a store made with SQLite's 4 KiB pages keeps them,
// and its rows, when it is opened and migrated.
func TestPageSize(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	pages := func(st *Store) int {
		t.Helper()
		var n int
		if err := st.db.GetContext(ctx, &n, `PRAGMA page_size`); err != nil {
			t.Fatal(err)
		}
		return n
	}
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "new.db"), empty} {
		st, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if got := pages(st); got != pageSize {
			t.Errorf("%s: page size %d, want %d", filepath.Base(path), got, pageSize)
		}
		st.Close()
	}

	// A store as an earlier release made it: 4 KiB pages, in WAL mode.
	old := filepath.Join(dir, "old.db")
	db, err := sql.Open("sqlite3", "file:"+old+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE kept (x TEXT); INSERT INTO kept VALUES ('a row')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	st, err := Open(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := pages(st); got != 4096 {
		t.Errorf("an earlier store: page size %d, want 4096 (as it was made)", got)
	}
	var x string
	if err := st.db.GetContext(ctx, &x, `SELECT x FROM kept`); err != nil || x != "a row" {
		t.Errorf("an earlier store's row: %q, %v", x, err)
	}
	var runs int
	if err := st.db.GetContext(ctx, &runs, `SELECT count(*) FROM runs`); err != nil {
		t.Errorf("an earlier store not migrated: %v", err)
	}
}
