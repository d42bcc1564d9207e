package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/snapdelta"
	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

// Snapshots are stored as deltas (migration 003), as reconcile/store does:
// one current version of each person and account with its content hash, a
// new version only when the hash changes; reconcile/snapdelta keeps each
// run's session. Each batch is one transaction of a few multi-row
// statements (unnest), run without ctx's cancellation (ctx is looked at
// between them).

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

// loadCurrent reads the current hash of every person or account of target.
func loadCurrent(ctx context.Context, q snapdelta.DB, v versioned, target string) (*snapdelta.Currents, error) {
	query := `SELECT ` + v.idCol + `, hash, valid_from FROM ` + v.table + ` WHERE valid_to IS NULL`
	var args []any
	var n int
	if v.byTarget {
		query += ` AND target = $1`
		args = append(args, target)
		var err error
		if n, err = snapdelta.Accounts(ctx, q, target); err != nil {
			return nil, err
		}
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := snapdelta.NewCurrents(n)
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

// SavePeople writes the new and changed people of a batch of the run's HR
// snapshot in one transaction.
func (s *Store) SavePeople(ctx context.Context, runID int64, people []*reconcile.PersonRow) error {
	k := snapdelta.Key{Run: runID, Side: reconcile.SideHR}
	sess, err := s.sessions.Get(k, func() (*snapdelta.Currents, error) { return s.currents(ctx, peopleV, "") })
	if err != nil {
		return fmt.Errorf("pgstore: save people: %w", err)
	}
	sess.Lock()
	defer sess.Unlock()
	changes, err := sess.Plan(runID, len(people), func(i int) string { return people[i].EmployeeID },
		func(i int) uint64 { return reconcile.PersonHash(people[i]) }, nil)
	if err != nil {
		return fmt.Errorf("pgstore: save people: %w", err)
	}
	if len(changes) == 0 {
		return nil
	}
	ordered := snapdelta.InKeyOrder(changes) // sorted before the transaction begins
	if err := s.tx(context.WithoutCancel(ctx), func(tx *sqlx.Tx) error {
		if err := checkLease(context.WithoutCancel(ctx), tx); err != nil {
			return err
		}
		if err := snapdelta.DropCached(context.Background(), tx, peopleV.side, ""); err != nil {
			return err
		}
		return writePeople(ctx, tx, runID, people, ordered)
	}); err != nil {
		sess.Undo(len(people), func(i int) string { return people[i].EmployeeID }, changes)
		return fmt.Errorf("pgstore: save people: %w", err)
	}
	return nil
}

// writePeople writes the versions of changes: the current versions they
// replace end at the run.
func writePeople(ctx context.Context, tx *sqlx.Tx, runID int64, people []*reconcile.PersonRow, changes []snapdelta.Change) error {
	bg := context.Background()
	n := len(changes)
	hash := make([]int64, n)
	id, email, first, last, status := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	dept, job, prevJob, manager, worker := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	eff, term, hire, changed := make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
	var endID []string
	var endFrom []int64
	for i, c := range changes {
		p := people[c.I]
		hash[i] = int64(c.Hash)
		id[i], email[i], first[i], last[i], status[i] = p.EmployeeID, p.Email, p.FirstName, p.LastName, string(p.Status)
		dept[i], job[i], prevJob[i], manager[i], worker[i] = p.Department, p.JobCode, p.PrevJobCode, p.ManagerID, p.WorkerType
		eff[i], term[i], hire[i], changed[i] = tp(p.StatusEffective), tp(p.TerminationDate), tp(p.HireDate), tp(p.JobChangedAt)
		if c.Had {
			endID, endFrom = append(endID, c.ID), append(endFrom, c.Was.From)
		}
	}
	if len(endID) > 0 {
		if _, err := tx.ExecContext(bg, `UPDATE person_versions v SET valid_to = $1 FROM unnest($2::text[], $3::bigint[]) AS u(id, vf)
			WHERE v.employee_id = u.id AND v.valid_from = u.vf`, runID, endID, endFrom); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(bg, `INSERT INTO person_versions (valid_from, employee_id, hash, email, first_name, last_name, status,
		status_effective, termination_date, hire_date, department, job_code, prev_job_code, job_changed_at, manager_id, worker_type)
		SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::timestamptz[],
			$10::timestamptz[], $11::text[], $12::text[], $13::text[], $14::timestamptz[], $15::text[], $16::text[])`,
		runID, id, hash, email, first, last, status, eff, term, hire, dept, job, prevJob, changed, manager, worker)
	return err
}

// FinishPeople records the run's HR snapshot (reconcile.Store documents it).
func (s *Store) FinishPeople(ctx context.Context, runID int64, complete bool) error {
	if _, err := s.finish(ctx, snapdelta.Key{Run: runID, Side: reconcile.SideHR}, peopleV, complete); err != nil {
		return fmt.Errorf("pgstore: finish people of run %d: %w", runID, err)
	}
	return nil
}

// FinishAccounts records the run's snapshot of a target (reconcile.Store
// documents it).
func (s *Store) FinishAccounts(ctx context.Context, runID int64, target string, complete bool) ([]string, error) {
	gone, err := s.finish(ctx, snapdelta.Key{Run: runID, Side: reconcile.SideTarget, Target: target}, accountsV, complete)
	if err != nil {
		return nil, fmt.Errorf("pgstore: finish accounts of %s in run %d: %w", target, runID, err)
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
	return gone, s.tx(context.WithoutCancel(ctx), func(tx *sqlx.Tx) error {
		if err := checkLease(context.WithoutCancel(ctx), tx); err != nil {
			return err
		}
		if err := finishTx(ctx, tx, k, v, ids, from, complete); err != nil || enc == nil {
			return err
		}
		return snapdelta.KeepCached(context.Background(), tx, v.side, k.Target, enc)
	})
}

// currents reads the current hash of every person or account of target:
// those the last finished snapshot kept (snapdelta.Cached, migrations 006 and 008)
// when no write has touched the versions since, else from the versions.
func (s *Store) currents(ctx context.Context, v versioned, target string) (*snapdelta.Currents, error) {
	if cur, ok, err := snapdelta.Cached(ctx, s.db, v.side, target); err != nil || ok {
		return cur, err
	}
	return loadCurrent(ctx, s.db, v, target)
}

// finishTx records a snapshot: when complete, the current versions ids
// (valid from from) that it did not see end at the run; when not, its
// members ids.
func finishTx(ctx context.Context, tx *sqlx.Tx, k snapdelta.Key, v versioned, ids []string, from []int64, complete bool) error {
	bg := context.Background()
	if _, err := tx.ExecContext(bg, `INSERT INTO snapshots (run_id, side, target, complete) VALUES ($1, $2, $3, $4)
		ON CONFLICT (run_id, side, target) DO UPDATE SET complete = EXCLUDED.complete`, k.Run, string(k.Side), k.Target, complete); err != nil {
		return err
	}
	if len(ids) == 0 {
		return ctx.Err()
	}
	var err error
	switch {
	case !complete:
		_, err = tx.ExecContext(bg, `INSERT INTO snapshot_members (run_id, side, target, id) SELECT $1, $2, $3, id FROM unnest($4::text[]) AS u(id)
			ON CONFLICT DO NOTHING`, k.Run, string(k.Side), k.Target, ids)
	case v.byTarget:
		_, err = tx.ExecContext(bg, `UPDATE account_versions v SET valid_to = $1 FROM unnest($2::text[], $3::bigint[]) AS u(id, vf)
			WHERE v.target = $4 AND v.account_id = u.id AND v.valid_from = u.vf`, k.Run, ids, from, k.Target)
	default:
		_, err = tx.ExecContext(bg, `UPDATE person_versions v SET valid_to = $1 FROM unnest($2::text[], $3::bigint[]) AS u(id, vf)
			WHERE v.employee_id = u.id AND v.valid_from = u.vf`, k.Run, ids, from)
	}
	if err != nil {
		return err
	}
	return ctx.Err()
}

// asOf is the condition that selects, from the versions v, the snapshot of
// run $1: what the run saved, as it saved it. It needs the snapshots row s
// joined.
func asOf(idCol string) string {
	return `s.run_id = $1 AND v.valid_from <= $1 AND (v.valid_to IS NULL OR v.valid_to > $1)
		AND (s.complete OR EXISTS (SELECT 1 FROM snapshot_members m WHERE m.run_id = $1 AND m.side = s.side
			AND m.target = s.target AND m.id = v.` + idCol + `))`
}

// People streams the HR snapshot of a run in employee ID order (byte order,
// as on SQLite, whatever the database's collation).
func (s *Store) People(ctx context.Context, runID int64) iter.Seq2[reconcile.PersonRow, error] {
	return s.people(ctx, runID, ``)
}

// HRStates yields what a later run compares of run runID's HR snapshot
// (reconcile.Store documents it), in People's order.
func (s *Store) HRStates(ctx context.Context, runID int64) iter.Seq2[reconcile.HRState, error] {
	return func(yield func(reconcile.HRState, error) bool) {
		rows, err := s.db.QueryContext(ctx, `SELECT v.employee_id, v.status, v.job_code, v.prev_job_code, v.termination_date, v.job_changed_at
			FROM snapshots s JOIN person_versions v ON s.side = 'hr' AND s.target = ''
			WHERE `+asOf("employee_id")+` ORDER BY v.employee_id COLLATE "C"`, runID)
		if err != nil {
			yield(reconcile.HRState{}, fmt.Errorf("pgstore: HR states of run %d: %w", runID, err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var p reconcile.HRState
			var status string
			var term, changed sql.NullTime
			if err := rows.Scan(&p.EmployeeID, &status, &p.JobCode, &p.PrevJobCode, &term, &changed); err != nil {
				yield(reconcile.HRState{}, fmt.Errorf("pgstore: HR states of run %d: %w", runID, err))
				return
			}
			p.Status = sources.Status(status)
			p.TerminationDate, p.JobChangedAt = tt(term), tt(changed)
			if !yield(p, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(reconcile.HRState{}, fmt.Errorf("pgstore: HR states of run %d: %w", runID, err))
		}
	}
}

// Leavers yields the people of run runID's HR snapshot whose termination
// date is after after, in employee ID order: the upcoming leavers, read
// without reading everyone.
func (s *Store) Leavers(ctx context.Context, runID int64, after time.Time) iter.Seq2[reconcile.PersonRow, error] {
	return s.people(ctx, runID, ` AND v.termination_date > $2`, after)
}

// people yields run runID's HR snapshot (cond and its arguments narrow it).
func (s *Store) people(ctx context.Context, runID int64, cond string, args ...any) iter.Seq2[reconcile.PersonRow, error] {
	return func(yield func(reconcile.PersonRow, error) bool) {
		rows, err := s.db.QueryContext(ctx, `SELECT v.employee_id, v.email, v.first_name, v.last_name, v.status, v.status_effective,
			v.termination_date, v.hire_date, v.department, v.job_code, v.prev_job_code, v.job_changed_at, v.manager_id, v.worker_type
			FROM snapshots s JOIN person_versions v ON s.side = 'hr' AND s.target = ''
			WHERE `+asOf("employee_id")+cond+` ORDER BY v.employee_id COLLATE "C"`, append([]any{runID}, args...)...)
		if err != nil {
			yield(reconcile.PersonRow{}, fmt.Errorf("pgstore: people of run %d: %w", runID, err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var p reconcile.PersonRow
			var status string
			var eff, term, hire, changed sql.NullTime
			if err := rows.Scan(&p.EmployeeID, &p.Email, &p.FirstName, &p.LastName, &status, &eff, &term, &hire,
				&p.Department, &p.JobCode, &p.PrevJobCode, &changed, &p.ManagerID, &p.WorkerType); err != nil {
				yield(reconcile.PersonRow{}, fmt.Errorf("pgstore: people of run %d: %w", runID, err))
				return
			}
			p.Status = sources.Status(status)
			p.StatusEffective, p.TerminationDate, p.HireDate, p.JobChangedAt = tt(eff), tt(term), tt(hire), tt(changed)
			if !yield(p, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(reconcile.PersonRow{}, fmt.Errorf("pgstore: people of run %d: %w", runID, err))
		}
	}
}

// BeginAccounts starts the run's snapshot of target: its current hashes
// and what the baseline needs (reconcile.Store documents it).
func (s *Store) BeginAccounts(ctx context.Context, runID, prevRun int64, target string) error {
	err := s.sessions.Begin(ctx, s.db, runID, prevRun, target,
		func() (*snapdelta.Currents, error) { return s.currents(ctx, accountsV, target) },
		func() (map[string]reconcile.AccountState, error) { return s.AccountStates(ctx, prevRun, target) })
	if err != nil {
		return fmt.Errorf("pgstore: begin accounts of %s: %w", target, err)
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
		return fmt.Errorf("pgstore: save accounts of %s: %w", target, err)
	}
	sess.Lock()
	defer sess.Unlock()
	changes, err := sess.Plan(runID, len(accounts), func(i int) string { return accounts[i].ID },
		func(i int) uint64 { return reconcile.AccountHash(&accounts[i]) }, prev)
	if err != nil {
		return fmt.Errorf("pgstore: save accounts of %s: %w", target, err)
	}
	if len(changes) == 0 {
		return nil
	}
	ordered := snapdelta.InKeyOrder(changes) // sorted before the transaction begins
	if err := s.tx(context.WithoutCancel(ctx), func(tx *sqlx.Tx) error {
		if err := checkLease(context.WithoutCancel(ctx), tx); err != nil {
			return err
		}
		if err := snapdelta.DropCached(context.Background(), tx, accountsV.side, target); err != nil {
			return err
		}
		return writeAccounts(ctx, tx, runID, target, accounts, ordered, prev)
	}); err != nil {
		sess.Undo(len(accounts), func(i int) string { return accounts[i].ID }, changes)
		return fmt.Errorf("pgstore: save accounts of %s: %w", target, err)
	}
	return nil
}

// writeAccounts writes the versions of changes with their credentials: the
// current versions they replace end at the run. When prev is not nil, it
// sets the baseline state of each change marked Base from the version it
// ends.
func writeAccounts(ctx context.Context, tx *sqlx.Tx, runID int64, target string, accounts []targets.Account, changes []snapdelta.Change, prev []reconcile.BaselineState) error {
	bg := context.Background()
	n := len(changes)
	hash := make([]int64, n)
	id, user, email, emp, display, groups, dn := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	enabled, tracked, priv := make([]bool, n), make([]bool, n), make([]bool, n)
	login, created := make([]*time.Time, n), make([]*time.Time, n)
	var endID []string
	var endFrom []int64
	var cAccount, cID, cKind []string
	var cSeq []int32
	var cCreated, cUsed []*time.Time
	var cActive []bool
	for i, c := range changes {
		a := &accounts[c.I]
		hash[i] = int64(c.Hash)
		id[i], user[i], email[i], emp[i], display[i], groups[i], dn[i] = a.ID, a.Username, a.Email, a.EmployeeID, a.DisplayName, reconcile.JoinGroups(a.Groups), a.DN
		enabled[i], tracked[i], priv[i] = a.Enabled, a.LoginTracked, a.Privileged
		login[i], created[i] = tp(a.LastLogin), tp(a.Created)
		if c.Had {
			endID, endFrom = append(endID, c.ID), append(endFrom, c.Was.From)
		}
		for j, cr := range a.Credentials {
			cAccount, cID, cKind, cSeq = append(cAccount, a.ID), append(cID, cr.ID), append(cKind, cr.Kind), append(cSeq, int32(j))
			cCreated, cUsed, cActive = append(cCreated, tp(cr.Created)), append(cUsed, tp(cr.LastUsed)), append(cActive, cr.Active)
		}
	}
	if len(endID) > 0 {
		if err := endAccounts(tx, runID, target, endID, endFrom, changes, prev); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(bg, `INSERT INTO account_versions (valid_from, target, account_id, hash, username, email, employee_id,
		display_name, enabled, login_tracked, last_login, created, privileged, groups, dn)
		SELECT $1, $2, * FROM unnest($3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::boolean[], $10::boolean[],
			$11::timestamptz[], $12::timestamptz[], $13::boolean[], $14::text[], $15::text[])`,
		runID, target, id, hash, user, email, emp, display, enabled, tracked, login, created, priv, groups, dn); err != nil {
		return err
	}
	if len(cID) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	_, err := tx.ExecContext(bg, `INSERT INTO credential_versions (valid_from, target, account_id, seq, credential_id, kind, created, last_used, active)
		SELECT $1, $2, * FROM unnest($3::text[], $4::integer[], $5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[], $9::boolean[])`,
		runID, target, cAccount, cSeq, cID, cKind, cCreated, cUsed, cActive)
	return err
}

// endAccounts ends the current versions (endID, valid from endFrom) that
// changes replace, and sets prev of each change marked Base to the state
// of the version it ended (when prev is not nil).
func endAccounts(tx *sqlx.Tx, runID int64, target string, endID []string, endFrom []int64, changes []snapdelta.Change, prev []reconcile.BaselineState) error {
	rows, err := tx.QueryContext(context.Background(), `UPDATE account_versions v SET valid_to = $1 FROM unnest($2::text[], $3::bigint[]) AS u(id, vf)
		WHERE v.target = $4 AND v.account_id = u.id AND v.valid_from = u.vf RETURNING v.account_id, v.enabled, v.privileged, v.groups`,
		runID, endID, endFrom, target)
	if err != nil {
		return err
	}
	defer rows.Close()
	base := map[string]int{} // account ID → its row in the batch
	if prev != nil {
		for _, c := range changes {
			if c.Base {
				base[c.ID] = c.I
			}
		}
	}
	ended := 0
	for rows.Next() {
		var id, groups string
		var enabled, privileged bool
		if err := rows.Scan(&id, &enabled, &privileged, &groups); err != nil {
			return err
		}
		ended++
		if i, ok := base[id]; ok {
			prev[i] = snapdelta.BaseState(enabled, privileged, groups)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if ended != len(endID) {
		// A current version the session knew is not in the table.
		return fmt.Errorf("%d current versions ended of %d", ended, len(endID))
	}
	return nil
}

// AccountStates loads one target's snapshot in a run as a compact map.
func (s *Store) AccountStates(ctx context.Context, runID int64, target string) (map[string]reconcile.AccountState, error) {
	out := map[string]reconcile.AccountState{}
	rows, err := s.db.QueryContext(ctx, `SELECT v.account_id, v.enabled, v.privileged, v.groups
		FROM snapshots s JOIN account_versions v ON s.side = 'target' AND v.target = s.target
		WHERE s.target = $2 AND `+asOf("account_id"), runID, target)
	if err != nil {
		return nil, fmt.Errorf("pgstore: previous accounts of %s: %w", target, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var st reconcile.AccountState
		if err := rows.Scan(&id, &st.Enabled, &st.Privileged, &st.Groups); err != nil {
			return nil, fmt.Errorf("pgstore: previous accounts of %s: %w", target, err)
		}
		out[id] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: previous accounts of %s: %w", target, err)
	}
	return out, nil
}

// accountRow is an account version as SnapshotAccount returns it.
type accountRow struct {
	ID         string        `db:"account_id"`
	ValidFrom  int64         `db:"valid_from"`
	ValidTo    sql.NullInt64 `db:"valid_to"`
	Username   string        `db:"username"`
	Email      string        `db:"email"`
	EmployeeID string        `db:"employee_id"`
	Display    string        `db:"display_name"`
	Enabled    bool          `db:"enabled"`
	Privileged bool          `db:"privileged"`
	Groups     string        `db:"groups"`
	LastLogin  sql.NullTime  `db:"last_login"`
}

const accountCols = `v.account_id, v.valid_from, v.valid_to, v.username, v.email, v.employee_id, v.display_name, v.enabled, v.privileged, v.groups, v.last_login`

// account reads the credentials of a version and makes the account.
func (s *Store) account(ctx context.Context, target string, row accountRow) (targets.Account, error) {
	a := targets.Account{ID: row.ID, Username: row.Username, Email: row.Email, EmployeeID: row.EmployeeID, DisplayName: row.Display,
		Enabled: row.Enabled, Privileged: row.Privileged, Groups: reconcile.SplitGroups(row.Groups), LastLogin: tt(row.LastLogin)}
	rows, err := s.db.QueryContext(ctx, `SELECT credential_id, kind, active FROM credential_versions
		WHERE target = $1 AND account_id = $2 AND valid_from = $3 ORDER BY seq`, target, row.ID, row.ValidFrom)
	if err != nil {
		return a, fmt.Errorf("pgstore: credentials of %s on %s: %w", row.ID, target, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c targets.Credential
		if err := rows.Scan(&c.ID, &c.Kind, &c.Active); err != nil {
			return a, fmt.Errorf("pgstore: credentials of %s on %s: %w", row.ID, target, err)
		}
		a.Credentials = append(a.Credentials, c)
	}
	if err := rows.Err(); err != nil {
		return a, fmt.Errorf("pgstore: credentials of %s on %s: %w", row.ID, target, err)
	}
	return a, nil
}

// SnapshotAccount reads one account as run runID collected it from target,
// with its groups and credentials (found=false if that run did not store it).
func (s *Store) SnapshotAccount(ctx context.Context, runID int64, target, accountID string) (a targets.Account, found bool, err error) {
	var row accountRow
	err = s.db.GetContext(ctx, &row, `SELECT `+accountCols+`
		FROM snapshots s JOIN account_versions v ON s.side = 'target' AND v.target = s.target
		WHERE s.target = $2 AND v.account_id = $3 AND `+asOf("account_id"), runID, target, accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("pgstore: account %s of %s: %w", accountID, target, err)
	}
	a, err = s.account(ctx, target, row)
	return a, err == nil, err
}

// AccountAt returns an account as the newest complete snapshot of its
// target taken at or before at saw it (reconcile.SnapshotHistory).
func (s *Store) AccountAt(ctx context.Context, target, accountID string, at time.Time) (a targets.Account, run int64, found bool, err error) {
	err = s.db.GetContext(ctx, &run, `SELECT COALESCE(MAX(s.run_id), 0) FROM snapshots s JOIN runs r ON r.id = s.run_id
		WHERE s.side = 'target' AND s.target = $1 AND s.complete AND r.started_at <= $2`, target, at)
	if err != nil {
		return a, 0, false, fmt.Errorf("pgstore: account %s of %s at %s: %w", accountID, target, at, err)
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
		WHERE v.target = $1 AND v.account_id = $2 ORDER BY v.valid_from`, target, accountID); err != nil {
		return nil, fmt.Errorf("pgstore: versions of %s on %s: %w", accountID, target, err)
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

// SaveDrift writes a run's drift events in one statement.
func (s *Store) SaveDrift(ctx context.Context, runID int64, drift []reconcile.DriftRow) error {
	if len(drift) == 0 {
		return nil
	}
	n := len(drift)
	side, target, subject, kind, detail := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, d := range drift {
		side[i], target[i], subject[i], kind[i], detail[i] = string(d.Side), d.Target, d.Subject, d.Kind, d.Detail
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO drift (run_id, side, target, subject, kind, detail)
		SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[])`, runID, side, target, subject, kind, detail)
	if err != nil {
		return fmt.Errorf("pgstore: save drift of run %d: %w", runID, err)
	}
	return nil
}

// Drift returns a run's drift, ordered by side, target, subject and kind.
func (s *Store) Drift(ctx context.Context, runID int64) ([]reconcile.DriftRow, error) {
	var out []reconcile.DriftRow
	if err := s.db.SelectContext(ctx, &out, `SELECT side, target, subject, kind, detail FROM drift WHERE run_id = $1
		ORDER BY side COLLATE "C", target COLLATE "C", subject COLLATE "C", kind COLLATE "C", detail COLLATE "C"`, runID); err != nil {
		return nil, fmt.Errorf("pgstore: drift of run %d: %w", runID, err)
	}
	return out, nil
}
