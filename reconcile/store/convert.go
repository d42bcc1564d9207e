package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/snapdelta"
	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

// convertSnapshots turns the full per-run copies of the stores made before
// migration 012 (tables people, accounts, credentials) into versions, run
// by run in ID order, the way those runs would have saved them: a run's HR
// snapshot is complete unless the run was targeted (scope "people:…"); its
// snapshot of a target is complete when its collection of the target was
// ok and the run was not targeted, else it is the accounts it saved. A run
// that kept no rows of a side (none saved, or pruned by retention) gets no
// snapshot of it, as it had none to show. Then the old tables go.
func convertSnapshots(ctx context.Context, tx *sqlx.Tx) error {
	var runs []struct {
		ID    int64  `db:"id"`
		Scope string `db:"scope"`
	}
	if err := tx.SelectContext(ctx, &runs, `SELECT id, scope FROM runs ORDER BY id`); err != nil {
		return err
	}
	for _, r := range runs {
		targeted := strings.HasPrefix(r.Scope, "people:")
		people, err := oldPeople(ctx, tx, r.ID)
		if err != nil {
			return fmt.Errorf("people of run %d: %w", r.ID, err)
		}
		if len(people) > 0 {
			err := convertOne(ctx, tx, snapdelta.Key{Run: r.ID, Side: reconcile.SideHR, Target: ""}, peopleV, !targeted, len(people),
				func(i int) string { return people[i].EmployeeID }, func(i int) uint64 { return reconcile.PersonHash(people[i]) },
				func(changes []snapdelta.Change) error { return writePeople(ctx, tx, r.ID, people, changes) })
			if err != nil {
				return fmt.Errorf("people of run %d: %w", r.ID, err)
			}
		}
		var names []string
		if err := tx.SelectContext(ctx, &names, `SELECT DISTINCT target FROM accounts WHERE run_id = ? ORDER BY target`, r.ID); err != nil {
			return err
		}
		for _, target := range names {
			accounts, err := oldAccounts(ctx, tx, r.ID, target)
			if err != nil {
				return fmt.Errorf("accounts of %s in run %d: %w", target, r.ID, err)
			}
			var ok int
			if err := tx.GetContext(ctx, &ok, `SELECT COUNT(*) FROM collections WHERE run_id = ? AND side = 'target' AND name = ? AND status = 'ok'`,
				r.ID, target); err != nil {
				return err
			}
			err = convertOne(ctx, tx, snapdelta.Key{Run: r.ID, Side: reconcile.SideTarget, Target: target}, accountsV, ok > 0 && !targeted, len(accounts),
				func(i int) string { return accounts[i].ID }, func(i int) uint64 { return reconcile.AccountHash(&accounts[i]) },
				func(changes []snapdelta.Change) error {
					return writeAccounts(ctx, tx, r.ID, target, accounts, changes, nil, newAccountRows(r.ID, target, accounts, changes))
				})
			if err != nil {
				return fmt.Errorf("accounts of %s in run %d: %w", target, r.ID, err)
			}
		}
	}
	for _, t := range []string{"credentials", "accounts", "people"} {
		if _, err := tx.ExecContext(ctx, `DROP TABLE `+t); err != nil {
			return err
		}
	}
	return nil
}

// convertOne saves one old snapshot of n rows as a session would.
func convertOne(ctx context.Context, tx *sqlx.Tx, k snapdelta.Key, v versioned, complete bool, n int,
	id func(int) string, hash func(int) uint64, write func([]snapdelta.Change) error) error {
	cur, err := loadCurrent(ctx, tx, v, k.Target)
	if err != nil {
		return err
	}
	sess := snapdelta.NewSession(cur)
	changes, err := sess.Plan(k.Run, n, id, hash, nil)
	if err != nil {
		return err
	}
	if len(changes) > 0 {
		if err := write(snapdelta.InKeyOrder(changes)); err != nil {
			return err
		}
	}
	ids, from := sess.Finish(complete)
	return finishTx(ctx, tx, k, v, ids, from, complete)
}

// oldPeople reads a run's HR snapshot from the pre-012 table, each person
// once (the first row, as the old reads did).
func oldPeople(ctx context.Context, tx *sqlx.Tx, runID int64) ([]*PersonRow, error) {
	rows, err := tx.QueryContext(ctx, `SELECT employee_id, email, first_name, last_name, status, status_effective,
		termination_date, hire_date, department, job_code, prev_job_code, job_changed_at, manager_id, worker_type
		FROM people WHERE run_id = ? ORDER BY rowid`, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*PersonRow
	seen := map[string]bool{}
	for rows.Next() {
		p := &PersonRow{}
		var status string
		var eff, term, hire, changed sql.NullString
		if err := rows.Scan(&p.EmployeeID, &p.Email, &p.FirstName, &p.LastName, &status, &eff, &term, &hire,
			&p.Department, &p.JobCode, &p.PrevJobCode, &changed, &p.ManagerID, &p.WorkerType); err != nil {
			return nil, err
		}
		p.Status = sources.Status(status)
		p.StatusEffective, p.TerminationDate, p.HireDate, p.JobChangedAt = mustT(eff), mustT(term), mustT(hire), mustT(changed)
		if !seen[p.EmployeeID] {
			seen[p.EmployeeID] = true
			out = append(out, p)
		}
	}
	return out, rows.Err()
}

// oldAccounts reads a run's snapshot of a target from the pre-012 tables,
// with credentials, each account once.
func oldAccounts(ctx context.Context, tx *sqlx.Tx, runID int64, target string) ([]targets.Account, error) {
	rows, err := tx.QueryContext(ctx, `SELECT account_id, username, email, employee_id, display_name, enabled, login_tracked,
		last_login, created, privileged, groups, dn FROM accounts WHERE run_id = ? AND target = ? ORDER BY rowid`, runID, target)
	if err != nil {
		return nil, err
	}
	var out []targets.Account
	at := map[string]int{}
	for rows.Next() {
		var a targets.Account
		var login, created sql.NullString
		var groups string
		if err := rows.Scan(&a.ID, &a.Username, &a.Email, &a.EmployeeID, &a.DisplayName, &a.Enabled, &a.LoginTracked,
			&login, &created, &a.Privileged, &groups, &a.DN); err != nil {
			rows.Close()
			return nil, err
		}
		a.LastLogin, a.Created, a.Groups = mustT(login), mustT(created), reconcile.SplitGroups(groups)
		if _, dup := at[a.ID]; !dup {
			at[a.ID] = len(out)
			out = append(out, a)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	crows, err := tx.QueryContext(ctx, `SELECT account_id, credential_id, kind, created, last_used, active FROM credentials
		WHERE run_id = ? AND target = ? ORDER BY rowid`, runID, target)
	if err != nil {
		return nil, err
	}
	defer crows.Close()
	for crows.Next() {
		var id string
		var c targets.Credential
		var created, used sql.NullString
		if err := crows.Scan(&id, &c.ID, &c.Kind, &created, &used, &c.Active); err != nil {
			return nil, err
		}
		c.Created, c.LastUsed = mustT(created), mustT(used)
		if i, ok := at[id]; ok {
			out[i].Credentials = append(out[i].Credentials, c)
		}
	}
	return out, crows.Err()
}
