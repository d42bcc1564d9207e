package pgstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/pgstore"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/reconcile/storetest"
)

// TestMigrateFindingsToEvents: a PostgreSQL store of migration 001 (one
// findings row per finding per run) holding storetest.History's scenario
// as the old code saved it (the runs, findings and finding states of
// reconcile/store's testdata/store_v11.sql, written by that code) is
// converted by migration 004, and then the store answers what the old
// schema answered (storetest's golden file).
func TestMigrateFindingsToEvents(t *testing.T) {
	ctx := context.Background()
	dsn := schemaDSN(t)

	// The old rows, from the SQLite fixture.
	dump, err := os.ReadFile("../store/testdata/store_v11.sql")
	if err != nil {
		t.Fatal(err)
	}
	lite, err := sqlx.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "old.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	if _, err := lite.Exec(string(dump)); err != nil {
		t.Fatal(err)
	}

	// Migration 001 only, as the old binary left the store.
	pg, err := sqlx.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if err := pgstore.MigrateTo(ctx, dsn, 1); err != nil {
		t.Fatal(err)
	}
	copyRows := func(sel, ins string, n int) {
		t.Helper()
		rows, err := lite.Query(sel)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			vals := make([]any, n)
			ptrs := make([]any, n)
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			if _, err := pg.Exec(ins, vals...); err != nil {
				t.Fatalf("%s %v: %v", ins, vals, err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	copyRows(`SELECT id, as_of, started_at, finished_at, mode, job, scope, status, dry_run FROM runs ORDER BY id`,
		`INSERT INTO runs (id, as_of, started_at, finished_at, mode, job, scope, status, dry_run) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9 != 0)`, 9)
	if _, err := pg.Exec(`SELECT setval(pg_get_serial_sequence('runs', 'id'), (SELECT MAX(id) FROM runs))`); err != nil {
		t.Fatal(err)
	}
	copyRows(`SELECT run_id, fingerprint, kind, severity, disposition, target, account_id, employee_id, first_seen, body FROM findings`,
		`INSERT INTO findings (run_id, fingerprint, kind, severity, disposition, target, account_id, employee_id, first_seen, body)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, 10)
	copyRows(`SELECT fingerprint, kind, target, account_id, first_seen, last_seen, last_run, resolved_at, jira_key FROM finding_state`,
		`INSERT INTO finding_state (fingerprint, kind, target, account_id, first_seen, last_seen, last_run, resolved_at, jira_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, 9)

	st, err := pgstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var old sql.NullString
	if err := pg.Get(&old, `SELECT to_regclass('findings')::text`); err != nil || old.Valid {
		t.Fatalf("the old findings table is still there (%v, %v)", old, err)
	}

	var golden map[string]any
	b, err := os.ReadFile("../storetest/testdata/finding_history.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	runs := make([]int64, len(storetest.HistorySteps))
	for i := range runs {
		runs[i] = int64(i + 1)
	}
	got := map[string]any{}
	storetest.ReadFindings(t, st, runs, got, "step 14")
	var gotJSON map[string]any
	b, _ = json.Marshal(got)
	json.Unmarshal(b, &gotJSON)
	if len(gotJSON) != 3 {
		t.Fatalf("%d answers", len(gotJSON))
	}
	for k, v := range gotJSON {
		if !reflect.DeepEqual(v, golden[k]) {
			t.Errorf("after migration, %s =\n%v\nwant (the old schema's answer)\n%v", k, v, golden[k])
		}
	}
}

// Retention deletes only around the saves it removes, yet leaves nothing
// behind (storetest.PruneLeavesNoOrphans).
func TestPruneLeavesNoOrphans(t *testing.T) {
	storetest.PruneLeavesNoOrphans(t, func(t *testing.T) (storetest.HistoryStore, func(time.Time) error, func(string) int) {
		ctx := context.Background()
		dsn := schemaDSN(t)
		st, err := pgstore.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		db, err := sqlx.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return st, func(now time.Time) error { return st.Prune(ctx, now, store.Retention{Findings: 2 * 24 * time.Hour}) },
			func(q string) int {
				t.Helper()
				var n int
				if err := db.Get(&n, q); err != nil {
					t.Fatal(err)
				}
				return n
			}
	})
}

// The current hashes kept for the next run are those the versions hold
// (storetest.CurrentHashesFollowTheVersions).
func TestCurrentHashesFollowTheVersions(t *testing.T) {
	storetest.CurrentHashesFollowTheVersions(t, openForCurrents)
}

// A large side's current hashes are kept in parts (storetest.CurrentHashesInParts).
func TestCurrentHashesInParts(t *testing.T) {
	storetest.CurrentHashesInParts(t, openForCurrents)
}

// openForCurrents opens a store in a new schema, a function that opens it
// again, and a handle on its database.
func openForCurrents(t *testing.T) (reconcile.Store, func() reconcile.Store, *sqlx.DB) {
	ctx := context.Background()
	dsn := schemaDSN(t)
	open := func() *pgstore.Store {
		st, err := pgstore.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	st := open()
	db, err := sqlx.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return st, func() reconcile.Store { return open() }, db
}

// TestPruneKeepsLastSeen: storetest.PruneKeepsLastSeen on this store.
func TestPruneKeepsLastSeen(t *testing.T) {
	ctx := context.Background()
	st, err := pgstore.Open(ctx, schemaDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	storetest.PruneKeepsLastSeen(t, st, func(now time.Time) error { return st.Prune(ctx, now, store.Retention{Findings: 2 * 24 * time.Hour}) })
}

// TestPruneKeepsBaselines: storetest.PruneKeepsBaselines on this store.
func TestPruneKeepsBaselines(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	storetest.PruneKeepsBaselines(t, st, func(now time.Time, snapshots time.Duration) error {
		return st.Prune(ctx, now, store.Retention{Snapshots: snapshots})
	})
}
