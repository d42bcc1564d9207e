package store

import (
	"context"
	"database/sql"
	"fmt"
	"iter"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

// SavePeople writes a batch of the run's HR snapshot in one transaction.
func (s *Store) SavePeople(ctx context.Context, runID int64, people []*PersonRow) error {
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO people (run_id, employee_id, email, first_name, last_name, status,
			status_effective, termination_date, hire_date, department, job_code, prev_job_code, job_changed_at, manager_id, worker_type)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, p := range people {
			if _, err := st.ExecContext(ctx, runID, p.EmployeeID, p.Email, p.FirstName, p.LastName, string(p.Status),
				T(p.StatusEffective), T(p.TerminationDate), T(p.HireDate), p.Department, p.JobCode, p.PrevJobCode,
				T(p.JobChangedAt), p.ManagerID, p.WorkerType); err != nil {
				return fmt.Errorf("person %s: %w", p.EmployeeID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: save people: %w", err)
	}
	return nil
}

// People streams the HR snapshot of a run.
func (s *Store) People(ctx context.Context, runID int64) iter.Seq2[PersonRow, error] {
	return func(yield func(PersonRow, error) bool) {
		rows, err := s.db.QueryContext(ctx, `SELECT employee_id, email, first_name, last_name, status, status_effective,
			termination_date, hire_date, department, job_code, prev_job_code, job_changed_at, manager_id, worker_type
			FROM people WHERE run_id = ? ORDER BY employee_id`, runID)
		if err != nil {
			yield(PersonRow{}, fmt.Errorf("store: people of run %d: %w", runID, err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var p PersonRow
			var status string
			var eff, term, hire, changed sql.NullString
			if err := rows.Scan(&p.EmployeeID, &p.Email, &p.FirstName, &p.LastName, &status, &eff, &term, &hire,
				&p.Department, &p.JobCode, &p.PrevJobCode, &changed, &p.ManagerID, &p.WorkerType); err != nil {
				yield(PersonRow{}, fmt.Errorf("store: people of run %d: %w", runID, err))
				return
			}
			p.Status = sources.Status(status)
			p.StatusEffective, p.TerminationDate, p.HireDate, p.JobChangedAt = mustT(eff), mustT(term), mustT(hire), mustT(changed)
			if !yield(p, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(PersonRow{}, fmt.Errorf("store: people of run %d: %w", runID, err))
		}
	}
}

// SaveAccounts writes a batch of one target's account snapshot, with group
// memberships and credentials, in one transaction.
func (s *Store) SaveAccounts(ctx context.Context, runID int64, target string, accounts []targets.Account) error {
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO accounts (run_id, target, account_id, username, email, employee_id,
			display_name, enabled, login_tracked, last_login, created, privileged, groups, dn) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		var cst *sql.Stmt
		for _, a := range accounts {
			if _, err := st.ExecContext(ctx, runID, target, a.ID, a.Username, a.Email, a.EmployeeID, a.DisplayName,
				b2i(a.Enabled), b2i(a.LoginTracked), T(a.LastLogin), T(a.Created), b2i(a.Privileged), reconcile.JoinGroups(a.Groups), a.DN); err != nil {
				return fmt.Errorf("account %s: %w", a.ID, err)
			}
			for _, c := range a.Credentials {
				if cst == nil {
					if cst, err = tx.PrepareContext(ctx, `INSERT INTO credentials (run_id, target, account_id, credential_id, kind,
						created, last_used, active) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`); err != nil {
						return err
					}
					defer cst.Close()
				}
				if _, err := cst.ExecContext(ctx, runID, target, a.ID, c.ID, c.Kind, T(c.Created), T(c.LastUsed), b2i(c.Active)); err != nil {
					return fmt.Errorf("credential %s of %s: %w", c.ID, a.ID, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: save accounts of %s: %w", target, err)
	}
	return nil
}

// AccountStates loads one target's previous snapshot as a compact map.
func (s *Store) AccountStates(ctx context.Context, runID int64, target string) (map[string]AccountState, error) {
	out := map[string]AccountState{}
	rows, err := s.db.QueryContext(ctx, `SELECT account_id, enabled, privileged, groups FROM accounts WHERE run_id = ? AND target = ?`, runID, target)
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
