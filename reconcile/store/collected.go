package store

import (
	"context"
	"fmt"
	"iter"
	"math"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/targets"
)

// LastCollection returns the newest run that collected target completely
// (not a dry run, not a targeted HR-event run): the accounts a reference
// written today is checked against. 0 when there is none yet.
func (s *Store) LastCollection(ctx context.Context, target string) (int64, error) {
	return s.LastGoodCollection(ctx, "target", target, math.MaxInt64)
}

// CollectedAccounts streams the accounts of target as run runID stored
// them: IDs, names, email, DN and group memberships (no credentials).
func (s *Store) CollectedAccounts(ctx context.Context, runID int64, target string) iter.Seq2[targets.Account, error] {
	return func(yield func(targets.Account, error) bool) {
		rows, err := s.db.QueryContext(ctx, `SELECT v.account_id, v.username, v.email, v.employee_id, v.display_name, v.dn, v.enabled, v.privileged, v.groups
			FROM snapshots s JOIN account_versions v ON s.side = 'target' AND v.target = s.target
			WHERE s.target = ?2 AND `+asOf("v", "account_id")+` ORDER BY v.account_id`, runID, target)
		if err != nil {
			yield(targets.Account{}, fmt.Errorf("store: accounts of %s in run %d: %w", target, runID, err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var a targets.Account
			var groups string
			if err := rows.Scan(&a.ID, &a.Username, &a.Email, &a.EmployeeID, &a.DisplayName, &a.DN, &a.Enabled, &a.Privileged, &groups); err != nil {
				yield(targets.Account{}, fmt.Errorf("store: accounts of %s in run %d: %w", target, runID, err))
				return
			}
			a.Groups = reconcile.SplitGroups(groups)
			if !yield(a, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(targets.Account{}, fmt.Errorf("store: accounts of %s in run %d: %w", target, runID, err))
		}
	}
}
