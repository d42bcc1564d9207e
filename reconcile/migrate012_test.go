package reconcile_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/targets"
)

// A store made before migration 012 kept a full copy of every person,
// account and credential per run. oldStore builds one as that code did:
// the schema of migrations 001-011 (the files of this tree, which 012 left
// unchanged) and rows written with the old SavePeople/SaveAccounts SQL.
type oldStore struct {
	t  *testing.T
	db *sqlx.DB
}

func newOldStore(t *testing.T, path string) *oldStore {
	t.Helper()
	db, err := sqlx.Open("sqlite3", "file:"+path+"?_foreign_keys=on")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	files, err := filepath.Glob("store/migrations/0*.sql")
	if err != nil || len(files) < 11 {
		t.Fatalf("migrations: %v, %v", files, err)
	}
	slices.Sort(files)
	for _, f := range files[:11] {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if _, err := db.Exec(`PRAGMA user_version = 11`); err != nil {
		t.Fatal(err)
	}
	return &oldStore{t: t, db: db}
}

func (o *oldStore) exec(q string, args ...any) {
	o.t.Helper()
	if _, err := o.db.Exec(q, args...); err != nil {
		o.t.Fatalf("%s: %v", q, err)
	}
}

// run records a run and, for each collection status given, its
// collection of target app.
func (o *oldStore) run(id int64, at time.Time, scope, status string, dry bool, app string) {
	o.exec(`INSERT INTO runs (id, as_of, started_at, finished_at, mode, scope, status, dry_run) VALUES (?, ?, ?, ?, 'report', ?, ?, ?)`,
		id, store.T(at), store.T(at), store.T(at), scope, status, dry)
	if app != "" {
		o.exec(`INSERT INTO collections (run_id, side, name, type, status, started_at) VALUES (?, 'target', 'app', 'fake', ?, ?)`, id, app, store.T(at))
	}
}

// The old SavePeople and SaveAccounts, statement for statement.
func (o *oldStore) savePeople(runID int64, people []reconcile.PersonRow) {
	for _, p := range people {
		o.exec(`INSERT INTO people (run_id, employee_id, email, first_name, last_name, status,
			status_effective, termination_date, hire_date, department, job_code, prev_job_code, job_changed_at, manager_id, worker_type)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, runID, p.EmployeeID, p.Email, p.FirstName, p.LastName, string(p.Status),
			store.T(p.StatusEffective), store.T(p.TerminationDate), store.T(p.HireDate), p.Department, p.JobCode, p.PrevJobCode,
			store.T(p.JobChangedAt), p.ManagerID, p.WorkerType)
	}
}

func (o *oldStore) saveAccounts(runID int64, accounts []targets.Account) {
	b := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	for _, a := range accounts {
		o.exec(`INSERT INTO accounts (run_id, target, account_id, username, email, employee_id,
			display_name, enabled, login_tracked, last_login, created, privileged, groups, dn) VALUES (?, 'app', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			runID, a.ID, a.Username, a.Email, a.EmployeeID, a.DisplayName, b(a.Enabled), b(a.LoginTracked), store.T(a.LastLogin), store.T(a.Created),
			b(a.Privileged), reconcile.JoinGroups(a.Groups), a.DN)
		for _, c := range a.Credentials {
			o.exec(`INSERT INTO credentials (run_id, target, account_id, credential_id, kind, created, last_used, active) VALUES (?, 'app', ?, ?, ?, ?, ?, ?)`,
				runID, a.ID, c.ID, c.Kind, store.T(c.Created), store.T(c.LastUsed), b(c.Active))
		}
	}
}

// answers is what the old code's People, AccountStates and SnapshotAccount
// returned for one run, read with its queries.
type answers struct {
	people   []string
	states   map[string]reconcile.AccountState
	accounts map[string]string
}

func (o *oldStore) answers(runID int64, ids []string) answers {
	o.t.Helper()
	a := answers{states: map[string]reconcile.AccountState{}, accounts: map[string]string{}}
	rows, err := o.db.Query(`SELECT employee_id, email, status, job_code, prev_job_code, termination_date FROM people WHERE run_id = ? ORDER BY employee_id`, runID)
	if err != nil {
		o.t.Fatal(err)
	}
	for rows.Next() {
		var id, email, status, job, prev string
		var term sql.NullString
		if err := rows.Scan(&id, &email, &status, &job, &prev, &term); err != nil {
			o.t.Fatal(err)
		}
		a.people = append(a.people, fmt.Sprint(id, email, status, job, prev, term.String))
	}
	rows.Close()
	rows, err = o.db.Query(`SELECT account_id, enabled, privileged, groups FROM accounts WHERE run_id = ? AND target = 'app'`, runID)
	if err != nil {
		o.t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var st reconcile.AccountState
		if err := rows.Scan(&id, &st.Enabled, &st.Privileged, &st.Groups); err != nil {
			o.t.Fatal(err)
		}
		a.states[id] = st
	}
	rows.Close()
	for _, id := range ids {
		var r struct {
			Username, Email, EmployeeID, Groups string
			Enabled, Privileged                 bool
			LastLogin                           sql.NullString
		}
		err := o.db.QueryRow(`SELECT username, email, employee_id, enabled, privileged, groups, last_login FROM accounts
			WHERE run_id = ? AND target = 'app' AND account_id = ?`, runID, id).Scan(&r.Username, &r.Email, &r.EmployeeID, &r.Enabled, &r.Privileged, &r.Groups, &r.LastLogin)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			o.t.Fatal(err)
		}
		var creds []string
		crows, err := o.db.Query(`SELECT credential_id, kind, active FROM credentials WHERE run_id = ? AND target = 'app' AND account_id = ?`, runID, id)
		if err != nil {
			o.t.Fatal(err)
		}
		for crows.Next() {
			var cid, kind string
			var active bool
			if err := crows.Scan(&cid, &kind, &active); err != nil {
				o.t.Fatal(err)
			}
			creds = append(creds, fmt.Sprint(cid, kind, active))
		}
		crows.Close()
		a.accounts[id] = fmt.Sprint(r.Username, r.Email, r.EmployeeID, r.Enabled, r.Privileged, r.Groups, r.LastLogin.String, creds)
	}
	return a
}

// newAnswers reads the same through the migrated store's methods.
func newAnswers(t *testing.T, st *store.Store, runID int64, ids []string) answers {
	t.Helper()
	ctx := context.Background()
	a := answers{accounts: map[string]string{}}
	for p, err := range st.People(ctx, runID) {
		if err != nil {
			t.Fatal(err)
		}
		term := store.T(p.TerminationDate)
		if term == nil {
			term = ""
		}
		a.people = append(a.people, fmt.Sprint(p.EmployeeID, p.Email, string(p.Status), p.JobCode, p.PrevJobCode, term))
	}
	var err error
	if a.states, err = st.AccountStates(ctx, runID, "app"); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		acc, found, err := st.SnapshotAccount(ctx, runID, "app", id)
		if err != nil {
			t.Fatal(err)
		}
		if !found {
			continue
		}
		var creds []string
		for _, c := range acc.Credentials {
			creds = append(creds, fmt.Sprint(c.ID, c.Kind, c.Active))
		}
		login := store.T(acc.LastLogin)
		if login == nil {
			login = ""
		}
		a.accounts[id] = fmt.Sprint(acc.Username, acc.Email, acc.EmployeeID, acc.Enabled, acc.Privileged, reconcile.JoinGroups(acc.Groups), login, creds)
	}
	return a
}

// Migration 012 converts a store made by the previous code: every old
// run's People, AccountStates and SnapshotAccount read back unchanged
// (complete, dry, targeted, partial and crashed runs alike), and the next
// run's drift is measured against the last good run as before.
func TestMigrateFullSnapshotsToDeltas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	old := newOldStore(t, path)
	day := func(n int) time.Time { return asOf.AddDate(0, 0, n-10) }
	var people []reconcile.PersonRow
	for p := range hr().People(context.Background()) {
		people = append(people, reconcile.PersonRow{Person: p})
	}
	accounts := func(n int) []targets.Account {
		var out []targets.Account
		for i := 1; i <= n; i++ {
			a := targets.Account{ID: "A" + strconv.Itoa(i), Username: "u" + strconv.Itoa(i), EmployeeID: "E" + strconv.Itoa(i), Enabled: true, LastLogin: day(i)}
			if i == 1 {
				a.Credentials = []targets.Credential{{ID: "k2", Kind: "access_key", Active: true, Created: day(0)}, {ID: "k1", Kind: "ssh_key"}}
			}
			out = append(out, a)
		}
		return out
	}
	ids := []string{"A1", "A2", "A3", "A4", "A5", "A9", "A10", "A11"}

	// 1: a full run.
	old.run(1, day(1), "full", "completed", false, "ok")
	old.savePeople(1, people)
	old.saveAccounts(1, accounts(10))
	// 2: a dry run that saw A5 disabled.
	old.run(2, day(2), "full", "completed", true, "ok")
	old.savePeople(2, people)
	as := accounts(10)
	as[4].Enabled = false
	old.saveAccounts(2, as)
	// 3: an HR-event run about E3: E3 and A3 only.
	old.run(3, day(3), "people:E3", "completed", false, "ok")
	e3 := people[2]
	e3.JobCode = "OPS"
	old.savePeople(3, []reconcile.PersonRow{e3})
	as = accounts(3)[2:]
	as[0].Groups = []targets.Group{{ID: "cn=ops", Name: "ops"}}
	old.saveAccounts(3, as)
	// 4: a full run: A10 gone, A4 in a group, A11 new, E10 gone.
	old.run(4, day(4), "full", "completed", false, "ok")
	old.savePeople(4, people[:9])
	as = accounts(9)
	as[3].Groups = []targets.Group{{ID: "cn=eng", Name: "eng"}}
	as = append(as, targets.Account{ID: "A11", Username: "u11", Enabled: true})
	old.saveAccounts(4, as)
	// 5: a run whose listing of app failed after three accounts.
	old.run(5, day(5), "full", "partial", false, "partial")
	old.savePeople(5, people)
	old.saveAccounts(5, accounts(3))
	// 6: a run killed after its first batch.
	old.run(6, day(6), "full", "crashed", false, "")
	old.saveAccounts(6, accounts(1))
	// 7: a run whose HR source failed: no snapshot at all.
	old.run(7, day(7), "full", "failed", false, "")

	want := map[int64]answers{}
	for r := int64(1); r <= 7; r++ {
		want[r] = old.answers(r, ids)
	}
	if len(want[1].accounts) != 7 || len(want[4].states) != 10 || len(want[3].people) != 1 {
		t.Fatalf("setup: old answers %+v", want)
	}
	old.db.Close()

	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for r := int64(1); r <= 7; r++ {
		got := newAnswers(t, st, r, ids)
		if !slices.Equal(got.people, want[r].people) {
			t.Errorf("run %d: People after migration = %v, want %v", r, got.people, want[r].people)
		}
		if !maps.Equal(got.states, want[r].states) {
			t.Errorf("run %d: AccountStates after migration = %v, want %v", r, got.states, want[r].states)
		}
		if !maps.Equal(got.accounts, want[r].accounts) {
			t.Errorf("run %d: SnapshotAccount after migration = %v, want %v", r, got.accounts, want[r].accounts)
		}
	}
	// Versions, not copies: A2 never changed over five snapshots.
	if vs, err := st.AccountVersions(context.Background(), "app", "A2"); err != nil || len(vs) != 1 || vs[0].ValidFrom != 1 || vs[0].ValidTo != 0 {
		t.Errorf("A2's versions after migration = %+v, %v; want one, from run 1, current", vs, err)
	}
	// A run on the migrated store: target drift against run 4, the last
	// good collection (5 partial, 6 crashed, 2 a dry run, 3 targeted); HR
	// drift against run 5 (its HR snapshot was whole): none.
	e := &reconcile.Engine{Store: st, Log: slog.New(slog.DiscardHandler), Retry: reconcile.Retry{Attempts: 1, Base: time.Millisecond, Max: time.Millisecond}}
	f := fakeAccounts() // A1-A10 enabled, in no group
	a2, _ := f.Get("A2")
	a2.Enabled = false
	f.Put(a2)
	sp := spec(f, reconcile.Policy{})
	sp.Policy.Mode = reconcile.Report
	res, err := e.Run(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	var drift []string
	for _, d := range res.Drift {
		drift = append(drift, fmt.Sprintf("%s %s %s %s", d.Side, d.Subject, d.Kind, d.Detail))
	}
	slices.Sort(drift)
	wantDrift := []string{"target A10 account_created u10", "target A11 account_deleted ",
		"target A2 account_disabled u2", "target A4 group_removed eng"}
	if !reflect.DeepEqual(drift, wantDrift) {
		t.Errorf("drift of the first run after migration:\n%s\nwant\n%s", drift, wantDrift)
	}
}
