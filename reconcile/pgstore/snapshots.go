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
	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

// SavePeople writes a batch of the run's HR snapshot in one statement.
func (s *Store) SavePeople(ctx context.Context, runID int64, people []*reconcile.PersonRow) error {
	if len(people) == 0 {
		return nil
	}
	n := len(people)
	id, email, first, last, status := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	dept, job, prevJob, manager, worker := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	eff, term, hire, changed := make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
	for i, p := range people {
		id[i], email[i], first[i], last[i], status[i] = p.EmployeeID, p.Email, p.FirstName, p.LastName, string(p.Status)
		dept[i], job[i], prevJob[i], manager[i], worker[i] = p.Department, p.JobCode, p.PrevJobCode, p.ManagerID, p.WorkerType
		eff[i], term[i], hire[i], changed[i] = tp(p.StatusEffective), tp(p.TerminationDate), tp(p.HireDate), tp(p.JobChangedAt)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO people (run_id, employee_id, email, first_name, last_name, status,
		status_effective, termination_date, hire_date, department, job_code, prev_job_code, job_changed_at, manager_id, worker_type)
		SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[],
			$9::timestamptz[], $10::text[], $11::text[], $12::text[], $13::timestamptz[], $14::text[], $15::text[])`,
		runID, id, email, first, last, status, eff, term, hire, dept, job, prevJob, changed, manager, worker)
	if err != nil {
		return fmt.Errorf("pgstore: save people: %w", err)
	}
	return nil
}

// People streams the HR snapshot of a run in employee ID order (byte order,
// as on SQLite, whatever the database's collation).
func (s *Store) People(ctx context.Context, runID int64) iter.Seq2[reconcile.PersonRow, error] {
	return func(yield func(reconcile.PersonRow, error) bool) {
		rows, err := s.db.QueryContext(ctx, `SELECT employee_id, email, first_name, last_name, status, status_effective,
			termination_date, hire_date, department, job_code, prev_job_code, job_changed_at, manager_id, worker_type
			FROM people WHERE run_id = $1 ORDER BY employee_id COLLATE "C"`, runID)
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

// SaveAccounts writes a batch of one target's account snapshot, with group
// memberships and credentials, in one transaction of two statements.
func (s *Store) SaveAccounts(ctx context.Context, runID int64, target string, accounts []targets.Account) error {
	if len(accounts) == 0 {
		return nil
	}
	n := len(accounts)
	id, user, email, emp, display, groups := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	enabled, tracked, priv := make([]bool, n), make([]bool, n), make([]bool, n)
	login, created := make([]*time.Time, n), make([]*time.Time, n)
	var cAccount, cID, cKind []string
	var cCreated, cUsed []*time.Time
	var cActive []bool
	for i, a := range accounts {
		id[i], user[i], email[i], emp[i], display[i], groups[i] = a.ID, a.Username, a.Email, a.EmployeeID, a.DisplayName, reconcile.JoinGroups(a.Groups)
		enabled[i], tracked[i], priv[i] = a.Enabled, a.LoginTracked, a.Privileged
		login[i], created[i] = tp(a.LastLogin), tp(a.Created)
		for _, c := range a.Credentials {
			cAccount, cID, cKind = append(cAccount, a.ID), append(cID, c.ID), append(cKind, c.Kind)
			cCreated, cUsed, cActive = append(cCreated, tp(c.Created)), append(cUsed, tp(c.LastUsed)), append(cActive, c.Active)
		}
	}
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (run_id, target, account_id, username, email, employee_id,
			display_name, enabled, login_tracked, last_login, created, privileged, groups)
			SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::boolean[], $9::boolean[],
				$10::timestamptz[], $11::timestamptz[], $12::boolean[], $13::text[])`,
			runID, target, id, user, email, emp, display, enabled, tracked, login, created, priv, groups); err != nil {
			return err
		}
		if len(cID) == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO credentials (run_id, target, account_id, credential_id, kind, created, last_used, active)
			SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::boolean[])`,
			runID, target, cAccount, cID, cKind, cCreated, cUsed, cActive)
		return err
	})
	if err != nil {
		return fmt.Errorf("pgstore: save accounts of %s: %w", target, err)
	}
	return nil
}

// AccountStates loads one target's snapshot in a run as a compact map.
func (s *Store) AccountStates(ctx context.Context, runID int64, target string) (map[string]reconcile.AccountState, error) {
	out := map[string]reconcile.AccountState{}
	rows, err := s.db.QueryContext(ctx, `SELECT account_id, enabled, privileged, groups FROM accounts WHERE run_id = $1 AND target = $2`, runID, target)
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

// SnapshotAccount reads one account as run runID collected it from target,
// with its groups and credentials (found=false if that run did not store it).
func (s *Store) SnapshotAccount(ctx context.Context, runID int64, target, accountID string) (a targets.Account, found bool, err error) {
	var row struct {
		ID         string       `db:"account_id"`
		Username   string       `db:"username"`
		Email      string       `db:"email"`
		EmployeeID string       `db:"employee_id"`
		Display    string       `db:"display_name"`
		Enabled    bool         `db:"enabled"`
		Privileged bool         `db:"privileged"`
		Groups     string       `db:"groups"`
		LastLogin  sql.NullTime `db:"last_login"`
	}
	err = s.db.GetContext(ctx, &row, `SELECT account_id, username, email, employee_id, display_name, enabled, privileged, groups, last_login
		FROM accounts WHERE run_id = $1 AND target = $2 AND account_id = $3 LIMIT 1`, runID, target, accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("pgstore: account %s of %s: %w", accountID, target, err)
	}
	a = targets.Account{ID: row.ID, Username: row.Username, Email: row.Email, EmployeeID: row.EmployeeID, DisplayName: row.Display,
		Enabled: row.Enabled, Privileged: row.Privileged, Groups: reconcile.SplitGroups(row.Groups), LastLogin: tt(row.LastLogin)}
	rows, err := s.db.QueryContext(ctx, `SELECT credential_id, kind, active FROM credentials WHERE run_id = $1 AND target = $2 AND account_id = $3`, runID, target, accountID)
	if err != nil {
		return a, false, fmt.Errorf("pgstore: credentials of %s on %s: %w", accountID, target, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c targets.Credential
		if err := rows.Scan(&c.ID, &c.Kind, &c.Active); err != nil {
			return a, false, fmt.Errorf("pgstore: credentials of %s on %s: %w", accountID, target, err)
		}
		a.Credentials = append(a.Credentials, c)
	}
	if err := rows.Err(); err != nil {
		return a, false, fmt.Errorf("pgstore: credentials of %s on %s: %w", accountID, target, err)
	}
	return a, true, nil
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
