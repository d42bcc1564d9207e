package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/snapdelta"
	"github.com/accessrecon/accessrecon/targets"
)

// The live versions a full save records are what the versions hold: over
// forty runs of findings that come, change, go and come back, full and
// partial (targeted) saves, runs that save nothing, and retention that
// prunes old saves, after each save the recorded live versions, when they
// name the last full save, are exactly the live versions.
func TestLiveFindingsFollowTheVersions(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rng := rand.New(rand.NewPCG(16, 1))
	all := func(string, string) bool { return true }
	findings := map[string]int{} // fingerprint -> body version
	for i := range 80 {
		findings[fmt.Sprintf("f%03d", i)] = 0
	}
	start := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	used, compared := 0, 0
	for n := 1; n <= 40; n++ {
		at := start.AddDate(0, 0, n)
		scope := "full"
		if rng.IntN(5) == 0 {
			scope = "people:E1"
		}
		id, err := st.BeginRun(ctx, Run{AsOf: at, StartedAt: at, Mode: "report", Scope: scope})
		if err != nil {
			t.Fatal(err)
		}
		for fp := range findings {
			switch r := rng.IntN(30); {
			case r == 0:
				delete(findings, fp)
			case r < 3:
				findings[fp]++
			}
		}
		for range rng.IntN(3) {
			findings[fmt.Sprintf("f%03d", rng.IntN(120))] = rng.IntN(2)
		}
		var rows []FindingRow
		for fp, v := range findings {
			if scope != "full" && rng.IntN(4) != 0 {
				continue
			}
			rows = append(rows, FindingRow{Fingerprint: fp, Kind: "dormant", Severity: "low", Disposition: "review", Target: "app",
				AccountID: "a-" + fp, FirstSeen: at, Body: fmt.Appendf(nil, `{"fingerprint":%q,"v":%d}`, fp, v)})
		}
		if rng.IntN(8) != 0 { // else the run saves nothing
			if scope == "full" && lastFullSave(t, st) > 0 {
				used++
			}
			if _, err := st.SaveFindings(ctx, id, at, reconcile.SortedRows(rows...), all); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.FinishRun(Run{ID: id, FinishedAt: at, Status: reconcile.StatusCompleted, Mode: "report"}); err != nil {
			t.Fatal(err)
		}
		if n%7 == 0 {
			if err := st.Prune(ctx, at, Retention{Findings: 5 * 24 * time.Hour}); err != nil {
				t.Fatal(err)
			}
		}
		compared += compareLive(t, st, n)
	}
	if used < 20 || compared < 1000 {
		t.Errorf("%d full saves after a first, %d versions compared: the test did not exercise the recorded live versions", used, compared)
	}
}

// A full save starts from the recorded live versions when they are the
// last full save's and decode, and only then: recorded with a hash that is
// not its body's, a finding reported unchanged gets a new version;
// recorded under another save, or out of order behind a valid checksum,
// the record is not read (nor acted on in part).
func TestLiveFindingsAreRead(t *testing.T) {
	for _, c := range []struct {
		name            string
		stale, disorder bool
		versions        int
	}{{"the last save's", false, false, 2}, {"another save's", true, false, 1}, {"out of order", false, true, 1}} {
		st := openStore(t)
		if err := saveX(t, st, 1); err != nil {
			t.Fatal(err)
		}
		var seq, id int64
		if err := st.db.Get(&seq, `SELECT seq FROM live_findings`); err != nil {
			t.Fatal(err)
		}
		if err := st.db.Get(&id, `SELECT id FROM finding_versions`); err != nil {
			t.Fatal(err)
		}
		fps := []string{"x"}
		if c.disorder {
			fps = []string{"x", "w"}
		}
		wrong := liveBytes(len(fps), func(i int) string { return fps[i] }, func(int) int64 { return id }, func(int) []byte { return make([]byte, 16) })
		if c.stale {
			seq++
		}
		if _, err := st.db.Exec(`UPDATE live_findings SET seq = ?, body = ?`, seq, wrong); err != nil {
			t.Fatal(err)
		}
		if err := saveX(t, st, 2); err != nil {
			t.Fatal(err)
		}
		var versions int
		if err := st.db.Get(&versions, `SELECT COUNT(*) FROM finding_versions`); err != nil {
			t.Fatal(err)
		}
		if versions != c.versions {
			t.Errorf("record %s: %d versions after the second save, want %d", c.name, versions, c.versions)
		}
	}
}

// lastFullSave is the seq of the store's last full save (0: none).
func lastFullSave(t *testing.T, st *Store) int64 {
	t.Helper()
	var seq int64
	if err := st.db.Get(&seq, `SELECT COALESCE(MAX(seq), 0) FROM finding_saves WHERE side = 0`); err != nil {
		t.Fatal(err)
	}
	return seq
}

// compareLive checks that the recorded live versions, when they are the
// last full save's, are the live versions; it returns how many it compared.
func compareLive(t *testing.T, st *Store, run int) int {
	t.Helper()
	ctx := context.Background()
	tx, err := st.db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	truth, err := liveFromVersions(ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	last := lastFullSave(t, st)
	var cached []liveVersion
	ok, err := cachedLive(ctx, tx, last, collect(&cached))
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		var n int
		if err := tx.Get(&n, `SELECT COUNT(*) FROM live_findings`); err != nil {
			t.Fatal(err)
		}
		if n > 0 && last > 0 {
			t.Fatalf("after run %d: live versions recorded but not of the last full save %d", run, last)
		}
		return 0
	}
	if len(cached) != len(truth) {
		t.Errorf("after run %d: %d live versions recorded, the versions have %d", run, len(cached), len(truth))
	}
	for i := range min(len(cached), len(truth)) {
		if c, l := cached[i], truth[i]; c.fp != l.fp || c.id != l.id || !bytes.Equal(c.hash, l.hash) {
			t.Errorf("after run %d: live version %d recorded as %+v, the versions say %+v", run, i, c, l)
		}
	}
	return len(truth)
}

// liveFromVersions reads the live versions from the versions themselves.
func liveFromVersions(ctx context.Context, tx *sqlx.Tx) ([]liveVersion, error) {
	var out []liveVersion
	err := liveVersions(ctx, tx, 1<<62, false, collect(&out))
	return out, err
}

// liveVersion is a live version as liveVersions gives it, copied.
type liveVersion struct {
	fp   string
	id   int64
	hash []byte
}

// collect returns an each for liveVersions that appends what it is given
// to out, copied.
func collect(out *[]liveVersion) func(fp []byte, id int64, hash []byte) {
	return func(fp []byte, id int64, hash []byte) {
		*out = append(*out, liveVersion{string(fp), id, bytes.Clone(hash)})
	}
}

// liveBytes is encodeLive's encoding.
func liveBytes(n int, fp func(i int) string, id func(i int) int64, hash func(i int) []byte) []byte {
	var b bytes.Buffer
	if err := encodeLive(&b, n, fp, id, hash); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// decodeLive walks b (liveWalk) into memory of its own, given whole and
// in parts of 1, 2, 5 and 13 bytes: each way gives the same versions, or
// fails.
func decodeLive(b []byte) ([]liveVersion, error) {
	var whole []liveVersion
	var wholeErr error
	for i, size := range []int{len(b) + 1, 1, 2, 5, 13} {
		var out []liveVersion
		w := newLiveWalk(collect(&out))
		var err error
		for p := b; len(p) > 0 && err == nil; {
			k := min(size, len(p))
			err, p = w.part(p[:k]), p[k:]
		}
		if err == nil {
			err = w.end()
		}
		if i == 0 {
			whole, wholeErr = out, err
		} else if (err == nil) != (wholeErr == nil) || err == nil && !reflect.DeepEqual(out, whole) {
			return nil, fmt.Errorf("in parts of %d: %v, %v; whole: %v, %v", size, out, err, whole, wholeErr)
		}
	}
	return whole, wholeErr
}

// An encoding walks in order. One cut short, altered, or that does not
// add up behind a valid checksum is refused.
func TestWalkLiveRefusesDamage(t *testing.T) {
	fps := []string{"aaaa", "bbbbbbbb", "c"}
	hash := func(i int) []byte { return bytes.Repeat([]byte{byte(i + 1)}, 16) }
	b := liveBytes(3, func(i int) string { return fps[i] }, func(i int) int64 { return int64(100 + i) }, hash)
	got, err := decodeLive(b)
	if err != nil || len(got) != 3 {
		t.Fatalf("the intact encoding: %v, %v", got, err)
	}
	for i, v := range got {
		if v.fp != fps[i] || v.id != int64(100+i) || !bytes.Equal(v.hash, hash(i)) {
			t.Fatalf("the intact encoding: version %d is %+v", i, v)
		}
	}
	b = liveBytes(3, func(i int) string { return fps[i] }, func(i int) int64 { return int64(100 + i) }, hash)
	for n := range len(b) {
		if _, err := decodeLive(b[:n]); err == nil {
			t.Fatalf("the first %d of %d bytes decode", n, len(b))
		}
	}
	for i := range b {
		d := bytes.Clone(b)
		d[i] ^= 0x10
		if _, err := decodeLive(d); err == nil {
			t.Fatalf("byte %d altered decodes", i)
		}
	}
	seal := func(body []byte) []byte { return binary.LittleEndian.AppendUint64(body, xxhash.Sum64(body)) }
	twice := liveBytes(2, func(int) string { return "same" }, func(i int) int64 { return int64(i + 1) }, hash)
	if _, err := decodeLive(twice); err == nil {
		t.Error("a fingerprint twice decodes")
	}
	backwards := liveBytes(2, func(i int) string { return fps[1-i] }, func(i int) int64 { return int64(i + 1) }, hash)
	if _, err := decodeLive(backwards); err == nil {
		t.Error("fingerprints out of order decode")
	}
	fewer := bytes.Clone(b[:len(b)-8])
	fewer[4]++ // counts 4 versions, has 3
	if _, err := decodeLive(seal(fewer)); err == nil {
		t.Error("fewer versions than counted decode")
	}
	long := seal(append(bytes.Clone(b[:len(b)-8]), 0))
	if _, err := decodeLive(long); err == nil {
		t.Error("a byte after the versions decodes")
	}
}

// Retention that deletes a live version (its only save was a failed run's,
// pruned) deletes with it the save that recorded the live versions: the
// next full save does not use the record, does not take the finding for
// one it continues, and reports it.
func TestPruneOfALiveVersionRetiresTheRecord(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	row := func(fp string, at time.Time) FindingRow {
		return FindingRow{Fingerprint: fp, Kind: "dormant", Severity: "low", Disposition: "review", Target: "app", AccountID: "a-" + fp,
			FirstSeen: at, Body: fmt.Appendf(nil, `{"fingerprint":%q}`, fp)}
	}
	run := func(day int, status reconcile.Status, fps ...string) int64 {
		at := time.Date(2026, 1, day, 2, 0, 0, 0, time.UTC)
		id, err := st.BeginRun(ctx, Run{AsOf: at, StartedAt: at, Mode: "report", Scope: "full"})
		if err != nil {
			t.Fatal(err)
		}
		var rows []FindingRow
		for _, fp := range fps {
			rows = append(rows, row(fp, at))
		}
		if _, err := st.SaveFindings(ctx, id, at, reconcile.SortedRows(rows...), func(string, string) bool { return true }); err != nil {
			t.Fatal(err)
		}
		if err := st.FinishRun(Run{ID: id, FinishedAt: at, Status: status, Mode: "report"}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	run(1, reconcile.StatusCompleted, "x")
	run(2, reconcile.StatusFailed, "x", "y") // y's only save: a failed run's
	if err := st.Prune(ctx, time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC), Retention{Findings: 5 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := st.db.Get(&left, `SELECT COUNT(*) FROM finding_versions v WHERE fingerprint = 'y'`); err != nil || left != 0 {
		t.Fatalf("y's versions after the prune: %d (%v); the scenario needs them gone", left, err)
	}
	r3 := run(21, reconcile.StatusCompleted, "x", "y")
	bodies, err := st.FindingBodies(ctx, r3)
	if err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 2 {
		t.Fatalf("run 3 reported x and y, the store has %d of its findings: %q", len(bodies), bodies)
	}
}

// Two live versions of one finding in the versions (a damaged store) stop
// the next full save that reads them: neither is taken for the other.
func TestTwoLiveVersionsStopTheSave(t *testing.T) {
	st := openStore(t)
	if err := saveX(t, st, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := st.db.Exec(`DELETE FROM live_findings; INSERT INTO finding_versions (fingerprint, body_id, from_seq, to_seq)
		SELECT fingerprint, body_id, from_seq, to_seq FROM finding_versions`); err != nil {
		t.Fatal(err)
	}
	if err := saveX(t, st, 2); err == nil || !strings.Contains(err.Error(), "two live versions") {
		t.Fatalf("the save over two live versions of x: %v", err)
	}
}

// saveX saves, in a full save of a run of its own on the given day of
// January 2026, one finding x, always the same.
// saveN saves n findings of one shape in a full run on day.
func saveN(t *testing.T, st *Store, day, n int) error {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 1, day, 2, 0, 0, 0, time.UTC)
	id, err := st.BeginRun(ctx, Run{AsOf: at, StartedAt: at, Mode: "report", Scope: "full"})
	if err != nil {
		return err
	}
	rows := make([]FindingRow, n)
	for i := range rows {
		fp := fmt.Sprintf("%016x", i)
		rows[i] = FindingRow{Fingerprint: fp, Kind: "dormant", Severity: "low", Disposition: "review", Target: "app",
			AccountID: "a-" + fp, FirstSeen: at, Body: fmt.Appendf(nil, `{"fingerprint":%q}`, fp)}
	}
	_, err = st.SaveFindings(ctx, id, at, reconcile.SortedRows(rows...), func(string, string) bool { return true })
	return err
}

func saveX(t *testing.T, st *Store, day int) error {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 1, day, 2, 0, 0, 0, time.UTC)
	row := FindingRow{Fingerprint: "x", Kind: "dormant", Severity: "low", Disposition: "review", Target: "app", AccountID: "a",
		Body: []byte(`{"fingerprint":"x"}`), FirstSeen: at}
	id, err := st.BeginRun(ctx, Run{AsOf: at, StartedAt: at, Mode: "report", Scope: "full"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.SaveFindings(ctx, id, at, reconcile.SortedRows(row), func(string, string) bool { return true })
	return err
}

// The live versions of a large save are kept in parts (each full but the
// last, snapdelta.PartSize) that the next save reads as the versions; a
// smaller save leaves no part of the larger one behind.
func TestLiveFindingsInParts(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	for day, n := range []int{20000, 20000, 30} {
		if err := saveN(t, st, day+1, n); err != nil {
			t.Fatal(err)
		}
		var parts []int
		if err := st.db.Select(&parts, `SELECT length(body) FROM live_findings ORDER BY part`); err != nil {
			t.Fatal(err)
		}
		if want := 1; n > 10000 && len(parts) < 3 || n < 100 && len(parts) != want {
			t.Fatalf("the live versions of %d findings in %d parts", n, len(parts))
		}
		for i, p := range parts {
			if p > snapdelta.PartSize || i < len(parts)-1 && p != snapdelta.PartSize {
				t.Errorf("part %d of %d is %d bytes (a part is %d)", i, len(parts), p, snapdelta.PartSize)
			}
		}
		if got := compareLive(t, st, day+1); got != n {
			t.Fatalf("day %d: %d live versions read from the parts, want %d", day+1, got, n)
		}
	}
	var versions int
	if err := st.db.Get(&versions, `SELECT COUNT(*) FROM finding_versions`); err != nil {
		t.Fatal(err)
	}
	if versions != 20000 {
		t.Errorf("%d versions, want 20000: the second day's findings, unchanged, are not new versions", versions)
	}
	// A part gone from the middle: the rest is not read as the versions.
	if err := saveN(t, st, 4, 20000); err != nil {
		t.Fatal(err)
	}
	if _, err := st.db.Exec(`DELETE FROM live_findings WHERE part = 1`); err != nil {
		t.Fatal(err)
	}
	tx, err := st.db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	called := 0
	ok, err := cachedLive(ctx, tx, lastFullSave(t, st), func([]byte, int64, []byte) { called++ })
	if ok || err != nil || called > 0 {
		t.Fatalf("parts without the second: ok %v, %v, %d versions given; want refused, none given", ok, err, called)
	}
}

// TestMigrateEncodingsToParts: a store whose current versions and live
// findings are kept in one row each (migrations 015 and 016) keeps each as
// its only part after migration 018, and the next run reads them.
func TestMigrateEncodingsToParts(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	id, err := st.BeginRun(ctx, Run{AsOf: at, StartedAt: at, Mode: "report", Scope: "full"})
	if err != nil {
		t.Fatal(err)
	}
	var accounts []targets.Account
	var rows []FindingRow
	for i := range 50 {
		accounts = append(accounts, targets.Account{ID: fmt.Sprint("a", i), Enabled: true})
		fp := fmt.Sprintf("%016x", i)
		rows = append(rows, FindingRow{Fingerprint: fp, Kind: "dormant", Severity: "low", Disposition: "review", Target: "app",
			AccountID: fmt.Sprint("a", i), FirstSeen: at, Body: fmt.Appendf(nil, `{"fingerprint":%q}`, fp)})
	}
	if err := st.SaveAccounts(ctx, id, "app", accounts, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.FinishAccounts(ctx, id, "app", true); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveFindings(ctx, id, at, reconcile.SortedRows(rows...), func(string, string) bool { return true }); err != nil {
		t.Fatal(err)
	}
	// Back to the tables of 015 and 016, a row each, and to version 17.
	if _, err := st.db.Exec(`
		CREATE TABLE old_current_hashes (side TEXT NOT NULL, target TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY (side, target));
		INSERT INTO old_current_hashes SELECT side, target, body FROM current_hashes;
		DROP TABLE current_hashes;
		ALTER TABLE old_current_hashes RENAME TO current_hashes;
		CREATE TABLE old_live_findings (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, body BLOB NOT NULL);
		INSERT INTO old_live_findings SELECT 1, seq, body FROM live_findings;
		DROP TABLE live_findings;
		ALTER TABLE old_live_findings RENAME TO live_findings;
		PRAGMA user_version = 17`); err != nil {
		t.Fatal(err)
	}
	st.Close()

	st, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var parts int
	if err := st.db.Get(&parts, `SELECT COUNT(*) FROM current_hashes WHERE part = 0`); err != nil || parts != 1 {
		t.Fatalf("%d current versions kept as part 0 after the migration (%v), want 1", parts, err)
	}
	cur, ok, err := snapdelta.Cached(ctx, st.db, reconcile.SideTarget, "app")
	if err != nil || !ok || cur.Len() != 50 {
		t.Fatalf("current versions after the migration: ok %v, %v, %v", ok, err, cur)
	}
	if got := compareLive(t, st, 1); got != 50 {
		t.Fatalf("%d live versions read after the migration, want 50", got)
	}
}
