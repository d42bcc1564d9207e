package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

// SavePeople writes a batch of the run's HR snapshot in one transaction.
func (s *Store) SavePeople(ctx context.Context, runID int64, people []*reconcile.PersonRow) error {
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO people (run_id, employee_id, email, first_name, last_name, status,
			status_effective, termination_date, hire_date, department, job_code, prev_job_code, job_changed_at, manager_id, worker_type)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, p := range people {
			if _, err := st.ExecContext(ctx, runID, p.EmployeeID, p.Email, p.FirstName, p.LastName, string(p.Status),
				t(p.StatusEffective), t(p.TerminationDate), t(p.HireDate), p.Department, p.JobCode, p.PrevJobCode,
				t(p.JobChangedAt), p.ManagerID, p.WorkerType); err != nil {
				return fmt.Errorf("person %s: %w", p.EmployeeID, err)
			}
		}
		return nil
	})
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
// memberships and credentials, in one transaction.
func (s *Store) SaveAccounts(ctx context.Context, runID int64, target string, accounts []targets.Account) error {
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO accounts (run_id, target, account_id, username, email, employee_id,
			display_name, enabled, login_tracked, last_login, created, privileged, groups)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`)
		if err != nil {
			return err
		}
		defer st.Close()
		var cst *sql.Stmt
		for _, a := range accounts {
			if _, err := st.ExecContext(ctx, runID, target, a.ID, a.Username, a.Email, a.EmployeeID, a.DisplayName,
				a.Enabled, a.LoginTracked, t(a.LastLogin), t(a.Created), a.Privileged, reconcile.JoinGroups(a.Groups)); err != nil {
				return fmt.Errorf("account %s: %w", a.ID, err)
			}
			for _, c := range a.Credentials {
				if cst == nil {
					if cst, err = tx.PrepareContext(ctx, `INSERT INTO credentials (run_id, target, account_id, credential_id, kind,
						created, last_used, active) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`); err != nil {
						return err
					}
					defer cst.Close()
				}
				if _, err := cst.ExecContext(ctx, runID, target, a.ID, c.ID, c.Kind, t(c.Created), t(c.LastUsed), c.Active); err != nil {
					return fmt.Errorf("credential %s of %s: %w", c.ID, a.ID, err)
				}
			}
		}
		return nil
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

// SaveDrift writes a run's drift events.
func (s *Store) SaveDrift(ctx context.Context, runID int64, drift []reconcile.DriftRow) error {
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO drift (run_id, side, target, subject, kind, detail) VALUES ($1, $2, $3, $4, $5, $6)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, d := range drift {
			if _, err := st.ExecContext(ctx, runID, string(d.Side), d.Target, d.Subject, d.Kind, d.Detail); err != nil {
				return err
			}
		}
		return nil
	})
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
