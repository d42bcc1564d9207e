package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"iter"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/snapdelta"
	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

// Snapshots are stored as deltas (migration 012): one current version of
// each person and account with its content hash, a new version only when
// the hash changes. A run's saves of one side (HR, or one target) form a
// session: the first save loads the current hashes (ID → hash) once, each
// batch writes only new and changed versions in one transaction, and the
// finish records the snapshot (complete: the current versions the run did
// not save end at it; incomplete: the members it saved). The finish also
// keeps the side's current hashes as it leaves them, encoded in a few rows
// (snapdelta.KeepCached, migrations 015 and 018), which the next run reads
// instead of a row per version; a batch's write deletes those rows first.

// checkEvery is how many rows a write loop handles between looks at ctx:
// statements run without a cancellable context (go-sqlite3 starts a
// goroutine per statement for one).
const checkEvery = 256

// versioned is what differs between people and accounts in the delta code.
type versioned struct {
	side  reconcile.Side
	table string // person_versions, account_versions
	idCol string // employee_id, account_id
	// byTarget says that versions are per target (accounts).
	byTarget bool
}

var (
	peopleV   = versioned{side: reconcile.SideHR, table: "person_versions", idCol: "employee_id"}
	accountsV = versioned{side: reconcile.SideTarget, table: "account_versions", idCol: "account_id", byTarget: true}
)

func (v versioned) where(target string) (string, []any) {
	if v.byTarget {
		return `target = ?`, []any{target}
	}
	return `1 = 1`, nil
}

// currents reads the current hash of every person or account of target:
// those the last finished snapshot kept (snapdelta.Cached, migration 015)
// when no write has touched the versions since, else from the versions.
func (s *Store) currents(ctx context.Context, v versioned, target string) (*snapdelta.Currents, error) {
	if cur, ok, err := snapdelta.Cached(ctx, s.db, v.side, target); err != nil || ok {
		return cur, err
	}
	return loadCurrent(ctx, s.db, v, target)
}

// loadCurrent reads the current hash of every person or account of target
// from the versions.
func loadCurrent(ctx context.Context, q snapdelta.DB, v versioned, target string) (*snapdelta.Currents, error) {
	var n int
	if v.byTarget {
		var err error
		if n, err = snapdelta.Accounts(ctx, q, target); err != nil {
			return nil, err
		}
	}
	w, args := v.where(target)
	query := `SELECT ` + v.idCol + `, hash, valid_from FROM ` + v.table + ` WHERE ` + w + ` AND valid_to IS NULL`
	out := snapdelta.NewCurrents(n)
	if db, ok := q.(*sqlx.DB); ok {
		err := driverRows(ctx, db.DB, query, args, func(dest []driver.Value) error {
			id, ok1 := dest[0].(string)
			h, ok2 := dest[1].(int64)
			from, ok3 := dest[2].(int64)
			if !ok1 || !ok2 || !ok3 {
				return fmt.Errorf("%s: a current version reads as %T, %T, %T", v.table, dest[0], dest[1], dest[2])
			}
			return out.Add(id, snapdelta.Current{Hash: uint64(h), From: from})
		})
		return out, err
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var h, from int64
		if err := rows.Scan(&id, &h, &from); err != nil {
			return nil, err
		}
		if err := out.Add(id, snapdelta.Current{Hash: uint64(h), From: from}); err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

// driverRows runs query on one of db's connections through the driver
// itself, calling each with every row's values (the driver's own types;
// dest is reused from row to row). database/sql's Next and Scan cost a
// third of reading a target's million current hashes, which every run
// does.
func driverRows(ctx context.Context, db *sql.DB, query string, args []any, each func(dest []driver.Value) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		qc, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("store: the SQLite driver's connection (%T) cannot query", dc)
		}
		named := make([]driver.NamedValue, len(args))
		for i, a := range args {
			named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
		}
		rows, err := qc.QueryContext(ctx, query, named)
		if err != nil {
			return err
		}
		defer rows.Close()
		dest := make([]driver.Value, len(rows.Columns()))
		for {
			if err := rows.Next(dest); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			if err := each(dest); err != nil {
				return err
			}
		}
	})
}

// SavePeople writes the new and changed people of a batch of the run's HR
// snapshot in one transaction.
func (s *Store) SavePeople(ctx context.Context, runID int64, people []*PersonRow) error {
	k := snapdelta.Key{Run: runID, Side: reconcile.SideHR, Target: ""}
	sess, err := s.sessions.Get(k, func() (*snapdelta.Currents, error) { return s.currents(ctx, peopleV, "") })
	if err != nil {
		return fmt.Errorf("store: save people: %w", err)
	}
	sess.Lock()
	defer sess.Unlock()
	changes, err := sess.Plan(runID, len(people), func(i int) string { return people[i].EmployeeID },
		func(i int) uint64 { return reconcile.PersonHash(people[i]) }, nil)
	if err != nil {
		return fmt.Errorf("store: save people: %w", err)
	}
	if len(changes) == 0 {
		return nil
	}
	ordered := snapdelta.InKeyOrder(changes) // sorted before the write lock is taken
	err = s.write(context.WithoutCancel(ctx), func(tx *sqlx.Tx) error {
		if err := checkLease(context.WithoutCancel(ctx), tx); err != nil {
			return err
		}
		if err := snapdelta.DropCached(context.Background(), tx, peopleV.side, ""); err != nil {
			return err
		}
		return writePeople(ctx, tx, runID, people, ordered)
	})
	if err != nil {
		sess.Undo(len(people), func(i int) string { return people[i].EmployeeID }, changes)
		return fmt.Errorf("store: save people: %w", err)
	}
	return nil
}

// writePeople writes the versions of changes. Statements run without ctx's
// cancellation; ctx is looked at every checkEvery rows.
func writePeople(ctx context.Context, tx *sqlx.Tx, runID int64, people []*PersonRow, changes []snapdelta.Change) error {
	bg := context.Background()
	var end *sql.Stmt
	for n, c := range changes {
		if !c.Had {
			continue
		}
		if n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if end == nil {
			var err error
			if end, err = tx.PrepareContext(bg, `UPDATE person_versions SET valid_to = ? WHERE employee_id = ? AND valid_from = ?`); err != nil {
				return err
			}
			defer end.Close()
		}
		if _, err := end.ExecContext(bg, runID, c.ID, c.Was.From); err != nil {
			return fmt.Errorf("person %s: %w", c.ID, err)
		}
	}
	err := execBatches(ctx, tx, `INSERT INTO person_versions (employee_id, valid_from, hash, email, first_name, last_name, status,
		status_effective, termination_date, hire_date, department, job_code, prev_job_code, job_changed_at, manager_id, worker_type) VALUES `,
		`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ``, len(changes), eachRow(nil, func(i int, args []any) ([]any, error) {
			c := changes[i]
			p := people[c.I]
			return append(args, p.EmployeeID, runID, int64(c.Hash), p.Email, p.FirstName, p.LastName, string(p.Status),
				T(p.StatusEffective), T(p.TerminationDate), T(p.HireDate), p.Department, p.JobCode, p.PrevJobCode,
				T(p.JobChangedAt), p.ManagerID, p.WorkerType), nil
		}))
	if err != nil && len(changes) > 0 {
		return fmt.Errorf("versions of %d people from %s: %w", len(changes), people[changes[0].I].EmployeeID, err)
	}
	return err
}

// FinishPeople records the run's HR snapshot (reconcile.Store documents it).
func (s *Store) FinishPeople(ctx context.Context, runID int64, complete bool) error {
	if _, err := s.finish(ctx, snapdelta.Key{Run: runID, Side: reconcile.SideHR, Target: ""}, peopleV, complete); err != nil {
		return fmt.Errorf("store: finish people of run %d: %w", runID, err)
	}
	return nil
}

// FinishAccounts records the run's snapshot of a target (reconcile.Store
// documents it).
func (s *Store) FinishAccounts(ctx context.Context, runID int64, target string, complete bool) ([]string, error) {
	gone, err := s.finish(ctx, snapdelta.Key{Run: runID, Side: reconcile.SideTarget, Target: target}, accountsV, complete)
	if err != nil {
		return nil, fmt.Errorf("store: finish accounts of %s in run %d: %w", target, runID, err)
	}
	return gone, nil
}

// finish records a session's snapshot; when complete, it returns the
// accounts of the session's baseline that the run did not save.
func (s *Store) finish(ctx context.Context, k snapdelta.Key, v versioned, complete bool) (gone []string, err error) {
	sess := s.sessions.Take(k)
	if sess != nil {
		sess.Lock()
		defer sess.Unlock()
	} else if complete {
		// A complete listing that saved nothing: everything current ends.
		cur, err := s.currents(ctx, v, k.Target)
		if err != nil {
			return nil, err
		}
		sess = snapdelta.NewSession(cur)
	}
	ids, from := sess.Finish(complete)
	// The current versions as the snapshot leaves them (none when the run
	// saved nothing of an incomplete snapshot: nothing changes).
	var enc []byte
	if sess != nil {
		enc = sess.Encode(complete)
	}
	if complete {
		gone = sess.Gone()
	}
	return gone, s.write(context.WithoutCancel(ctx), func(tx *sqlx.Tx) error {
		if err := checkLease(context.WithoutCancel(ctx), tx); err != nil {
			return err
		}
		if err := finishTx(ctx, tx, k, v, ids, from, complete); err != nil || enc == nil {
			return err
		}
		return snapdelta.KeepCached(context.Background(), tx, v.side, k.Target, enc)
	})
}

// finishTx records a snapshot: when complete, the current versions ids
// (valid from from) that it did not see end at the run; when not, its
// members ids.
func finishTx(ctx context.Context, tx *sqlx.Tx, k snapdelta.Key, v versioned, ids []string, from []int64, complete bool) error {
	bg := context.Background()
	if _, err := tx.ExecContext(bg, `INSERT OR REPLACE INTO snapshots (run_id, side, target, complete) VALUES (?, ?, ?, ?)`,
		k.Run, string(k.Side), k.Target, b2i(complete)); err != nil {
		return err
	}
	var st *sql.Stmt
	var err error
	if complete {
		q := `UPDATE ` + v.table + ` SET valid_to = ? WHERE ` + v.idCol + ` = ? AND valid_from = ?`
		if v.byTarget {
			q += ` AND target = ?`
		}
		st, err = tx.PrepareContext(bg, q)
	} else {
		st, err = tx.PrepareContext(bg, `INSERT OR IGNORE INTO snapshot_members (run_id, side, target, id) VALUES (?, ?, ?, ?)`)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	for i, id := range ids {
		if i%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if complete {
			args := []any{k.Run, id, from[i]}
			if v.byTarget {
				args = append(args, k.Target)
			}
			_, err = st.ExecContext(bg, args...)
		} else {
			_, err = st.ExecContext(bg, k.Run, string(k.Side), k.Target, id)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
	}
	return ctx.Err()
}

// asOf is the condition that selects, from the versions v of one side and
// target, the snapshot of run ?1 (the run's ID is bound as argument 1):
// what the run saved, as it saved it. It needs the snapshots row s joined.
func asOf(v string, idCol string) string {
	return `s.run_id = ?1 AND ` + v + `.valid_from <= ?1 AND (` + v + `.valid_to IS NULL OR ` + v + `.valid_to > ?1)
		AND (s.complete = 1 OR EXISTS (SELECT 1 FROM snapshot_members m WHERE m.run_id = ?1 AND m.side = s.side
			AND m.target = s.target AND m.id = ` + v + `.` + idCol + `))`
}

// People streams the HR snapshot of a run.
func (s *Store) People(ctx context.Context, runID int64) iter.Seq2[PersonRow, error] {
	return s.people(ctx, runID, nil)
}

// HRStates yields what a later run compares of run runID's HR snapshot
// (reconcile.Store documents it): six of People's fourteen columns.
func (s *Store) HRStates(ctx context.Context, runID int64) iter.Seq2[reconcile.HRState, error] {
	q := `SELECT v.employee_id, v.status, v.job_code, v.prev_job_code, v.termination_date, v.job_changed_at
		FROM snapshots s JOIN person_versions v ON s.side = 'hr' AND s.target = ''
		WHERE ` + asOf("v", "employee_id") + ` ORDER BY v.employee_id`
	return func(yield func(reconcile.HRState, error) bool) {
		var text [6]sql.NullString
		err := driverRows(ctx, s.db.DB, q, []any{runID}, func(dest []driver.Value) error {
			if err := driverText(dest, text[:]); err != nil {
				return err
			}
			p := reconcile.HRState{EmployeeID: text[0].String, Status: sources.Status(text[1].String), JobCode: text[2].String,
				PrevJobCode: text[3].String, TerminationDate: mustT(text[4]), JobChangedAt: mustT(text[5])}
			if !yield(p, nil) {
				return errStopped
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStopped) {
			yield(reconcile.HRState{}, fmt.Errorf("store: HR states of run %d: %w", runID, err))
		}
	}
}

// driverText reads a row of TEXT columns (NULL: not Valid) into text.
func driverText(dest []driver.Value, text []sql.NullString) error {
	for i, v := range dest {
		switch v := v.(type) {
		case string:
			text[i] = sql.NullString{String: v, Valid: true}
		case nil:
			text[i] = sql.NullString{}
		default:
			return fmt.Errorf("column %d reads as %T", i+1, v)
		}
	}
	return nil
}

// Leavers yields the people of run runID's HR snapshot whose termination
// date is after after, in employee ID order: the upcoming leavers, read
// without reading everyone.
func (s *Store) Leavers(ctx context.Context, runID int64, after time.Time) iter.Seq2[PersonRow, error] {
	return s.people(ctx, runID, &after)
}

// people yields run runID's HR snapshot, or (after not nil) those whose
// termination date is after *after.
func (s *Store) people(ctx context.Context, runID int64, after *time.Time) iter.Seq2[PersonRow, error] {
	q := `SELECT v.employee_id, v.email, v.first_name, v.last_name, v.status, v.status_effective,
		v.termination_date, v.hire_date, v.department, v.job_code, v.prev_job_code, v.job_changed_at, v.manager_id, v.worker_type
		FROM snapshots s JOIN person_versions v ON s.side = 'hr' AND s.target = ''
		WHERE ` + asOf("v", "employee_id")
	args := []any{runID}
	if after != nil {
		// Times are UTC RFC 3339 text: a date after after sorts at or
		// after the day before after's day (a bound that needs no
		// parsing); each row is then compared exactly.
		q += ` AND v.termination_date >= ?2`
		args = append(args, after.UTC().AddDate(0, 0, -1).Format(time.DateOnly))
	}
	return func(yield func(PersonRow, error) bool) {
		var text [14]sql.NullString
		err := driverRows(ctx, s.db.DB, q+` ORDER BY v.employee_id`, args, func(dest []driver.Value) error {
			if err := driverText(dest, text[:]); err != nil {
				return err
			}
			var p PersonRow
			p.EmployeeID, p.Email, p.FirstName, p.LastName = text[0].String, text[1].String, text[2].String, text[3].String
			p.Status = sources.Status(text[4].String)
			p.StatusEffective, p.TerminationDate, p.HireDate = mustT(text[5]), mustT(text[6]), mustT(text[7])
			p.Department, p.JobCode, p.PrevJobCode = text[8].String, text[9].String, text[10].String
			p.JobChangedAt, p.ManagerID, p.WorkerType = mustT(text[11]), text[12].String, text[13].String
			if after != nil && !p.TerminationDate.After(*after) {
				return nil
			}
			if !yield(p, nil) {
				return errStopped
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStopped) {
			yield(PersonRow{}, fmt.Errorf("store: people of run %d: %w", runID, err))
		}
	}
}

// errStopped ends a driverRows whose caller wants no more rows.
var errStopped = errors.New("stopped")

// BeginAccounts starts the run's snapshot of target: its current hashes
// and what the baseline needs (reconcile.Store documents it).
func (s *Store) BeginAccounts(ctx context.Context, runID, prevRun int64, target string) error {
	err := s.sessions.Begin(ctx, s.db, runID, prevRun, target,
		func() (*snapdelta.Currents, error) { return s.currents(ctx, accountsV, target) },
		func() (map[string]AccountState, error) { return s.AccountStates(ctx, prevRun, target) })
	if err != nil {
		return fmt.Errorf("store: begin accounts of %s: %w", target, err)
	}
	return nil
}

// SaveAccounts writes the new and changed accounts of a batch of one
// target's snapshot, with group memberships and credentials, in one
// transaction, and gives each account's state in the baseline.
func (s *Store) SaveAccounts(ctx context.Context, runID int64, target string, accounts []targets.Account, prev []reconcile.BaselineState) error {
	k := snapdelta.Key{Run: runID, Side: reconcile.SideTarget, Target: target}
	sess, err := s.sessions.Get(k, func() (*snapdelta.Currents, error) { return s.currents(ctx, accountsV, target) })
	if err != nil {
		return fmt.Errorf("store: save accounts of %s: %w", target, err)
	}
	sess.Lock()
	defer sess.Unlock()
	changes, err := sess.Plan(runID, len(accounts), func(i int) string { return accounts[i].ID },
		func(i int) uint64 { return reconcile.AccountHash(&accounts[i]) }, prev)
	if err != nil {
		return fmt.Errorf("store: save accounts of %s: %w", target, err)
	}
	if len(changes) == 0 {
		return nil
	}
	ordered := snapdelta.InKeyOrder(changes)
	rows := newAccountRows(runID, target, accounts, ordered)
	err = s.write(context.WithoutCancel(ctx), func(tx *sqlx.Tx) error {
		if err := checkLease(context.WithoutCancel(ctx), tx); err != nil {
			return err
		}
		if err := snapdelta.DropCached(context.Background(), tx, accountsV.side, target); err != nil {
			return err
		}
		return writeAccounts(ctx, tx, runID, target, accounts, ordered, prev, rows)
	})
	if err != nil {
		sess.Undo(len(accounts), func(i int) string { return accounts[i].ID }, changes)
		return fmt.Errorf("store: save accounts of %s: %w", target, err)
	}
	return nil
}

// accountRows holds the columns of the versions that a batch's changes
// start (versionCols a version) and of their credentials (credentialCols
// a credential). They are made before the write lock is taken: each
// target's goroutine makes its own while another one writes.
type accountRows struct {
	versions, credentials []any
}

const versionCols, credentialCols = 15, 8

func newAccountRows(runID int64, target string, accounts []targets.Account, changes []snapdelta.Change) accountRows {
	r := accountRows{versions: make([]any, 0, versionCols*len(changes))}
	for _, c := range changes {
		a := &accounts[c.I]
		r.versions = append(r.versions, target, a.ID, runID, int64(c.Hash), a.Username, a.Email, a.EmployeeID, a.DisplayName,
			b2i(a.Enabled), b2i(a.LoginTracked), T(a.LastLogin), T(a.Created), b2i(a.Privileged), reconcile.JoinGroups(a.Groups), a.DN)
		for _, cr := range a.Credentials {
			r.credentials = append(r.credentials, target, a.ID, runID, cr.ID, cr.Kind, T(cr.Created), T(cr.LastUsed), b2i(cr.Active))
		}
	}
	return r
}

// writeAccounts writes the versions of changes (their columns in rows),
// with their credentials; when prev is not nil, it sets the baseline state
// of each change marked Base from the version it ends.
func writeAccounts(ctx context.Context, tx *sqlx.Tx, runID int64, target string, accounts []targets.Account, changes []snapdelta.Change, prev []reconcile.BaselineState, rows accountRows) error {
	bg := context.Background()
	var end *sql.Stmt
	for n, c := range changes {
		if !c.Had {
			continue
		}
		if n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if end == nil {
			var err error
			if end, err = tx.PrepareContext(bg, `UPDATE account_versions SET valid_to = ? WHERE target = ? AND account_id = ? AND valid_from = ?
				RETURNING enabled, privileged, groups`); err != nil {
				return err
			}
			defer end.Close()
		}
		a := &accounts[c.I]
		var enabled, privileged bool
		var groups string
		if err := end.QueryRowContext(bg, runID, target, a.ID, c.Was.From).Scan(&enabled, &privileged, &groups); err != nil {
			return fmt.Errorf("account %s: %w", a.ID, err)
		}
		if c.Base && prev != nil {
			prev[c.I] = snapdelta.BaseState(enabled, privileged, groups)
		}
	}
	err := execBatches(ctx, tx, `INSERT INTO account_versions (target, account_id, valid_from, hash, username, email, employee_id,
		display_name, enabled, login_tracked, last_login, created, privileged, groups, dn) VALUES `, `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ``,
		len(rows.versions)/versionCols, flatRows(rows.versions, versionCols))
	if err != nil {
		return fmt.Errorf("versions of %d accounts from %s: %w", len(changes), accounts[changes[0].I].ID, err)
	}
	err = execBatches(ctx, tx, `INSERT INTO credential_versions (target, account_id, valid_from, credential_id, kind,
		created, last_used, active) VALUES `, `(?, ?, ?, ?, ?, ?, ?, ?)`, ``,
		len(rows.credentials)/credentialCols, flatRows(rows.credentials, credentialCols))
	if err != nil {
		return fmt.Errorf("credentials of %d accounts from %s: %w", len(changes), accounts[changes[0].I].ID, err)
	}
	return nil
}

// AccountStates loads one target's snapshot in a run as a compact map.
func (s *Store) AccountStates(ctx context.Context, runID int64, target string) (map[string]AccountState, error) {
	out := map[string]AccountState{}
	rows, err := s.db.QueryContext(ctx, `SELECT v.account_id, v.enabled, v.privileged, v.groups
		FROM snapshots s JOIN account_versions v ON s.side = 'target' AND v.target = s.target
		WHERE s.target = ?2 AND `+asOf("v", "account_id"), runID, target)
	if err != nil {
		return nil, fmt.Errorf("store: previous accounts of %s: %w", target, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var st AccountState
		if err := rows.Scan(&id, &st.Enabled, &st.Privileged, &st.Groups); err != nil {
			return nil, fmt.Errorf("store: previous accounts of %s: %w", target, err)
		}
		out[id] = st
	}
	return out, rows.Err()
}

// accountRow is an account version as SnapshotAccount returns it.
type accountRow struct {
	ID         string         `db:"account_id"`
	ValidFrom  int64          `db:"valid_from"`
	ValidTo    sql.NullInt64  `db:"valid_to"`
	Username   string         `db:"username"`
	Email      string         `db:"email"`
	EmployeeID string         `db:"employee_id"`
	Display    string         `db:"display_name"`
	Enabled    bool           `db:"enabled"`
	Privileged bool           `db:"privileged"`
	Groups     string         `db:"groups"`
	LastLogin  sql.NullString `db:"last_login"`
}

const accountCols = `v.account_id, v.valid_from, v.valid_to, v.username, v.email, v.employee_id, v.display_name, v.enabled, v.privileged, v.groups, v.last_login`

// account reads the credentials of a version and makes the account.
func (s *Store) account(ctx context.Context, target string, row accountRow) (targets.Account, error) {
	a := targets.Account{ID: row.ID, Username: row.Username, Email: row.Email, EmployeeID: row.EmployeeID, DisplayName: row.Display,
		Enabled: row.Enabled, Privileged: row.Privileged, Groups: reconcile.SplitGroups(row.Groups), LastLogin: mustT(row.LastLogin)}
	rows, err := s.db.QueryContext(ctx, `SELECT credential_id, kind, active FROM credential_versions
		WHERE target = ? AND account_id = ? AND valid_from = ? ORDER BY rowid`, target, row.ID, row.ValidFrom)
	if err != nil {
		return a, fmt.Errorf("store: credentials of %s on %s: %w", row.ID, target, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c targets.Credential
		if err := rows.Scan(&c.ID, &c.Kind, &c.Active); err != nil {
			return a, fmt.Errorf("store: credentials of %s on %s: %w", row.ID, target, err)
		}
		a.Credentials = append(a.Credentials, c)
	}
	return a, rows.Err()
}

// SnapshotAccount reads one account as run runID collected it from target,
// with its groups and credentials (found=false if that run did not store it).
func (s *Store) SnapshotAccount(ctx context.Context, runID int64, target, accountID string) (a targets.Account, found bool, err error) {
	var row accountRow
	err = s.db.GetContext(ctx, &row, `SELECT `+accountCols+`
		FROM snapshots s JOIN account_versions v ON s.side = 'target' AND v.target = s.target
		WHERE s.target = ?2 AND v.account_id = ?3 AND `+asOf("v", "account_id"), runID, target, accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("store: account %s of %s: %w", accountID, target, err)
	}
	a, err = s.account(ctx, target, row)
	return a, err == nil, err
}

// AccountAt returns an account as the newest complete snapshot of its
// target taken at or before at saw it (reconcile.SnapshotHistory).
func (s *Store) AccountAt(ctx context.Context, target, accountID string, at time.Time) (a targets.Account, run int64, found bool, err error) {
	rows, err := s.db.QueryContext(ctx, `SELECT s.run_id, r.started_at FROM snapshots s JOIN runs r ON r.id = s.run_id
		WHERE s.side = 'target' AND s.target = ? AND s.complete = 1 ORDER BY s.run_id DESC`, target)
	if err != nil {
		return a, 0, false, fmt.Errorf("store: account %s of %s at %s: %w", accountID, target, at, err)
	}
	for rows.Next() {
		var id int64
		var started sql.NullString
		if err := rows.Scan(&id, &started); err != nil {
			rows.Close()
			return a, 0, false, fmt.Errorf("store: account %s of %s at %s: %w", accountID, target, at, err)
		}
		if !mustT(started).After(at) {
			run = id
			break
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return a, 0, false, fmt.Errorf("store: account %s of %s at %s: %w", accountID, target, at, err)
	}
	if run == 0 {
		return a, 0, false, nil
	}
	a, found, err = s.SnapshotAccount(ctx, run, target, accountID)
	return a, run, found, err
}

// AccountVersions returns the versions kept of one account, oldest first
// (reconcile.SnapshotHistory).
func (s *Store) AccountVersions(ctx context.Context, target, accountID string) ([]reconcile.AccountVersion, error) {
	var rows []accountRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT `+accountCols+` FROM account_versions v
		WHERE v.target = ? AND v.account_id = ? ORDER BY v.valid_from`, target, accountID); err != nil {
		return nil, fmt.Errorf("store: versions of %s on %s: %w", accountID, target, err)
	}
	out := make([]reconcile.AccountVersion, 0, len(rows))
	for _, r := range rows {
		a, err := s.account(ctx, target, r)
		if err != nil {
			return nil, err
		}
		out = append(out, reconcile.AccountVersion{ValidFrom: r.ValidFrom, ValidTo: r.ValidTo.Int64, Account: a})
	}
	return out, nil
}
