package pgstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/pgstore"
	"github.com/accessrecon/accessrecon/reconcile/snapdelta"
	"github.com/accessrecon/accessrecon/targets"
)

// Migration 003 converts a store made by the previous code (full copies per
// run, written with its SQL): every old run's People, AccountStates and
// SnapshotAccount read back unchanged, and an unchanged account is one
// version.
func TestMigrateFullSnapshotsToDeltas(t *testing.T) {
	dsn := schemaDSN(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := pgstore.MigrateTo(context.Background(), dsn, 1); err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t0 := time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)
	run := func(id int64, scope, app string) {
		exec(`INSERT INTO runs (id, as_of, started_at, mode, scope, status) VALUES ($1, $2, $2, 'report', $3, 'completed')`, id, t0.AddDate(0, 0, int(id)), scope)
		if app != "" {
			exec(`INSERT INTO collections (run_id, side, name, type, status, started_at) VALUES ($1, 'target', 'app', 'fake', $2, 'x')`, id, app)
		}
	}
	person := func(id int64, emp, job string) {
		exec(`INSERT INTO people (run_id, employee_id, status, job_code, hire_date) VALUES ($1, $2, 'active', $3, $4)`, id, emp, job, t0)
	}
	account := func(id int64, acct string, enabled bool, groups string) {
		exec(`INSERT INTO accounts (run_id, target, account_id, username, enabled, login_tracked, privileged, groups, last_login)
			VALUES ($1, 'app', $2, 'u-' || $2, $3, true, false, $4, $5)`, id, acct, enabled, groups, t0)
		if acct == "A1" {
			exec(`INSERT INTO credentials (run_id, target, account_id, credential_id, kind, active) VALUES ($1, 'app', 'A1', 'k2', 'ssh_key', $2)`, id, enabled)
			exec(`INSERT INTO credentials (run_id, target, account_id, credential_id, kind, active) VALUES ($1, 'app', 'A1', 'k1', 'access_key', true)`, id)
		}
	}
	run(1, "full", "ok")
	person(1, "E1", "ENG")
	person(1, "E2", "ENG")
	account(1, "A1", true, "eng")
	account(1, "A2", true, "")
	account(1, "A3", true, "")
	run(2, "people:E1", "ok")
	person(2, "E1", "OPS")
	account(2, "A1", false, "eng")
	run(3, "full", "ok")
	person(3, "E1", "OPS")
	account(3, "A1", false, "eng\nops")
	account(3, "A2", true, "")
	run(4, "full", "partial")
	person(4, "E1", "OPS")
	account(4, "A2", true, "x")

	ids := []string{"A1", "A2", "A3"}
	answer := func(read func(run int64) ([]string, map[string]reconcile.AccountState, map[string]string)) map[int64]string {
		out := map[int64]string{}
		for r := int64(1); r <= 4; r++ {
			people, states, accounts := read(r)
			out[r] = fmt.Sprint(people, states, accounts)
		}
		return out
	}
	want := answer(func(r int64) ([]string, map[string]reconcile.AccountState, map[string]string) {
		var people []string
		rows, err := db.Query(`SELECT employee_id, job_code FROM people WHERE run_id = $1 ORDER BY employee_id COLLATE "C"`, r)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var e, j string
			_ = rows.Scan(&e, &j)
			people = append(people, e+"/"+j)
		}
		rows.Close()
		states := map[string]reconcile.AccountState{}
		rows, err = db.Query(`SELECT account_id, enabled, privileged, groups FROM accounts WHERE run_id = $1 AND target = 'app'`, r)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			var st reconcile.AccountState
			_ = rows.Scan(&id, &st.Enabled, &st.Privileged, &st.Groups)
			states[id] = st
		}
		rows.Close()
		accounts := map[string]string{}
		for _, id := range ids {
			var user string
			var login sql.NullTime
			err := db.QueryRow(`SELECT username, last_login FROM accounts WHERE run_id = $1 AND target = 'app' AND account_id = $2`, r, id).Scan(&user, &login)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			var creds []string
			crows, err := db.Query(`SELECT credential_id, active FROM credentials WHERE run_id = $1 AND account_id = $2`, r, id)
			if err != nil {
				t.Fatal(err)
			}
			for crows.Next() {
				var c string
				var a bool
				_ = crows.Scan(&c, &a)
				creds = append(creds, fmt.Sprint(c, a))
			}
			crows.Close()
			accounts[id] = fmt.Sprint(user, login.Time.UTC(), creds)
		}
		return people, states, accounts
	})
	if want[2] == want[3] || len(want) != 4 {
		t.Fatalf("setup: %v", want)
	}

	st, err := pgstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	got := answer(func(r int64) ([]string, map[string]reconcile.AccountState, map[string]string) {
		var people []string
		for p, err := range st.People(ctx, r) {
			if err != nil {
				t.Fatal(err)
			}
			people = append(people, p.EmployeeID+"/"+p.JobCode)
		}
		states, err := st.AccountStates(ctx, r, "app")
		if err != nil {
			t.Fatal(err)
		}
		accounts := map[string]string{}
		for _, id := range ids {
			a, found, err := st.SnapshotAccount(ctx, r, "app", id)
			if err != nil {
				t.Fatal(err)
			}
			if !found {
				continue
			}
			var creds []string
			for _, c := range a.Credentials {
				creds = append(creds, fmt.Sprint(c.ID, c.Active))
			}
			accounts[id] = fmt.Sprint(a.Username, a.LastLogin, creds)
		}
		return people, states, accounts
	})
	if !maps.Equal(got, want) {
		for _, r := range slices.Sorted(maps.Keys(want)) {
			if got[r] != want[r] {
				t.Errorf("run %d after migration:\n got %s\nwant %s", r, got[r], want[r])
			}
		}
	}
	if vs, err := st.AccountVersions(ctx, "app", "A2"); err != nil || len(vs) != 2 || vs[0].ValidFrom != 1 || vs[0].ValidTo != 4 {
		t.Errorf("A2's versions = %+v, %v; want from run 1 to 4, then the partial run's", vs, err)
	}
	if vs, err := st.AccountVersions(ctx, "app", "A3"); err != nil || len(vs) != 1 || vs[0].ValidTo != 3 {
		t.Errorf("A3's versions = %+v, %v; want one, ended by run 3", vs, err)
	}
}

// Migration 008 keeps a side's current versions, kept in one row before
// it, as that row's only part: the store reads them as before.
func TestMigrateCurrentHashesToParts(t *testing.T) {
	ctx := context.Background()
	// A row as a store keeps it: saved by this one, from its one part.
	dsn := schemaDSN(t)
	st, err := pgstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	id, err := st.BeginRun(ctx, reconcile.Run{AsOf: at, StartedAt: at, Mode: "report", Scope: "full"})
	if err != nil {
		t.Fatal(err)
	}
	var accounts []targets.Account
	for i := range 40 {
		accounts = append(accounts, targets.Account{ID: fmt.Sprint("a", i), Enabled: true})
	}
	if err := st.SaveAccounts(ctx, id, "app", accounts, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.FinishAccounts(ctx, id, "app", true); err != nil {
		t.Fatal(err)
	}
	kept := func(dsn string) (map[string]snapdelta.Current, []byte) {
		t.Helper()
		db, err := sqlx.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		cur, ok, err := snapdelta.Cached(ctx, db, reconcile.SideTarget, "app")
		if err != nil || !ok {
			t.Fatalf("no current versions kept: %v, %v", ok, err)
		}
		var body []byte
		if err := db.Get(&body, `SELECT body FROM current_hashes WHERE side = 'target' AND target = 'app'`); err != nil {
			t.Fatal(err)
		}
		return maps.Collect(cur.All()), body
	}
	want, body := kept(dsn)
	if len(want) != 40 {
		t.Fatalf("%d current versions kept, want 40", len(want))
	}

	old := schemaDSN(t)
	if err := pgstore.MigrateTo(ctx, old, 7); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", old)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO current_hashes (side, target, body) VALUES ('target', 'app', $1)`, body); err != nil {
		t.Fatal(err)
	}
	migrated, err := pgstore.Open(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	defer migrated.Close()
	if got, _ := kept(old); !maps.Equal(got, want) {
		t.Errorf("after migration 008: %v, want %v", got, want)
	}
}
