package pgstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/pgstore"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/targets"
)

// sqliteStore makes a SQLite store with one run: guards tripped, an
// account whose credentials were saved out of ID order, and finding_saves'
// sequence past its rows (as after a prune).
func sqliteStore(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "accessrecon.db")
	src, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	at := time.Date(2026, 11, 24, 6, 0, 0, 123456789, time.UTC)
	id, err := src.BeginRun(ctx, reconcile.Run{AsOf: at, StartedAt: at, Mode: "report", Scope: "full"})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.BeginAccounts(ctx, id, 0, "app"); err != nil {
		t.Fatal(err)
	}
	acc := targets.Account{ID: "a1", Username: "alice", Enabled: true, Credentials: []targets.Credential{
		{ID: "k2", Kind: "key", Active: true, Created: at}, {ID: "k1", Kind: "key"}, {ID: "k0", Kind: "key", Active: true}}}
	if err := src.SaveAccounts(ctx, id, "app", []targets.Account{acc}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := src.FinishAccounts(ctx, id, "app", true); err != nil {
		t.Fatal(err)
	}
	if err := src.FinishRun(reconcile.Run{ID: id, AsOf: at, Mode: "report", Status: reconcile.StatusGuardTripped, FinishedAt: at.Add(time.Second),
		Guards: []string{"hr shrank by 40%", "targets: app"}}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO sqlite_sequence (name, seq) VALUES ('finding_saves', 57)`); err != nil {
		t.Fatal(err)
	}
	return path
}

// copyInto copies the SQLite store at path into dst, in a read transaction.
func copyInto(t *testing.T, dst *pgstore.Store, path string) ([]pgstore.TableCopy, error) {
	t.Helper()
	db, err := sqlx.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.BeginTxx(context.Background(), &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	return dst.CopyFromSQLite(context.Background(), tx)
}

// What the two stores keep differently comes across as PostgreSQL keeps
// it: the guards (SQLite: one per line; PostgreSQL: a JSON array), the
// credentials' order (SQLite: insertion; PostgreSQL: a seq column), the
// times (text to timestamptz, to the microsecond), finding_saves'
// sequence (past every number SQLite gave, not only the rows left); and
// the tables are analyzed.
func TestCopyFromSQLite(t *testing.T) {
	ctx := context.Background()
	path := sqliteStore(t)
	dsn := schemaDSN(t)
	dst, err := pgstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	copied, err := copyInto(t, dst, path)
	if err != nil {
		t.Fatal(err)
	}
	if copied[0].Table != "runs" || copied[0].Rows != 1 {
		t.Errorf("first copied: %+v, want runs, 1 row", copied[0])
	}
	run, err := dst.GetRun(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"hr shrank by 40%", "targets: app"}; !slices.Equal(run.Guards, want) || run.Status != reconcile.StatusGuardTripped {
		t.Errorf("run: guards %q, status %s; want %q, guard_tripped", run.Guards, run.Status, want)
	}
	if want := time.Date(2026, 11, 24, 6, 0, 0, 123456000, time.UTC); !run.AsOf.Equal(want) {
		t.Errorf("as of %s, want %s", run.AsOf, want)
	}
	a, _, found, err := dst.AccountAt(ctx, "app", "a1", time.Now())
	if err != nil || !found {
		t.Fatalf("account a1: %v, found %v", err, found)
	}
	var ids []string
	for _, c := range a.Credentials {
		ids = append(ids, c.ID)
	}
	if want := []string{"k2", "k1", "k0"}; !slices.Equal(ids, want) {
		t.Errorf("credentials %q, want %q (as saved)", ids, want)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var last int64
	if err := db.QueryRow(`SELECT pg_sequence_last_value(pg_get_serial_sequence('finding_saves', 'seq'))`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	if last != 57 {
		t.Errorf("finding_saves' sequence at %d, want 57", last)
	}
	// Analyzed: the planner knows the copied rows (-1: never analyzed).
	var tuples float64
	if err := db.QueryRow(`SELECT reltuples FROM pg_class WHERE oid = 'account_versions'::regclass`).Scan(&tuples); err != nil {
		t.Fatal(err)
	}
	if tuples != 1 {
		t.Errorf("account_versions: the planner counts %g rows, want 1", tuples)
	}
	if id, err := dst.BeginRun(ctx, reconcile.Run{AsOf: run.AsOf, StartedAt: time.Now(), Mode: "report", Scope: "full"}); err != nil || id != 2 {
		t.Errorf("the next run: %d, %v; want 2", id, err)
	}

	// Into a store that holds something: refused.
	if _, err := copyInto(t, dst, path); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("a copy into a filled store: %v", err)
	}
}

// A column or table of the SQLite store that the copy does not know
// (a store of a newer accessrecon, or a migration made on one side only)
// fails the copy, naming it, and nothing is written.
func TestCopyFromSQLiteRefusesWhatItDoesNotKnow(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct{ alter, want string }{
		{`ALTER TABLE holds ADD COLUMN ticket TEXT`, "column ticket"},
		{`CREATE TABLE approvals (id INTEGER PRIMARY KEY)`, "table approvals"},
		{`UPDATE runs SET as_of = 'yesterday'`, "row 1, column as_of"},
	} {
		path := sqliteStore(t)
		db, err := sql.Open("sqlite3", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(c.alter); err != nil {
			t.Fatal(err)
		}
		db.Close()
		dst := openStore(t)
		if _, err := copyInto(t, dst, path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %s", c.alter, err, c.want)
		}
		if runs, err := dst.Runs(ctx, 0); err != nil || len(runs) != 0 {
			t.Errorf("%s: %d runs in the store after a failed copy (%v)", c.alter, len(runs), err)
		}
	}
}
