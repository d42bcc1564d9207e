package pgstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile"
)

// OpenFindings returns the state of every fingerprint not yet resolved.
func (s *Store) OpenFindings(ctx context.Context) (map[string]reconcile.FindingState, error) {
	return s.findingStates(ctx, `WHERE resolved_at IS NULL`)
}

// AllFindingStates returns the state of every fingerprint ever seen.
func (s *Store) AllFindingStates(ctx context.Context) (map[string]reconcile.FindingState, error) {
	return s.findingStates(ctx, ``)
}

func (s *Store) findingStates(ctx context.Context, where string) (map[string]reconcile.FindingState, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT fingerprint, kind, target, account_id, first_seen, last_seen, last_run, resolved_at, jira_key
		FROM finding_state `+where)
	if err != nil {
		return nil, fmt.Errorf("pgstore: finding states: %w", err)
	}
	defer rows.Close()
	out := map[string]reconcile.FindingState{}
	for rows.Next() {
		var st reconcile.FindingState
		var first, last, resolved sql.NullTime
		if err := rows.Scan(&st.Fingerprint, &st.Kind, &st.Target, &st.AccountID, &first, &last, &st.LastRun, &resolved, &st.JiraKey); err != nil {
			return nil, fmt.Errorf("pgstore: finding states: %w", err)
		}
		st.FirstSeen, st.LastSeen, st.ResolvedAt = tt(first), tt(last), tt(resolved)
		st.Resolved = resolved.Valid
		out[st.Fingerprint] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: finding states: %w", err)
	}
	return out, nil
}

// SaveFindings writes a run's findings and updates each fingerprint's state:
// seen now (first seen kept while it stays open, restarted when a resolved
// problem returns). Open fingerprints this run did not see are marked
// resolved at asOf when resolves(kind, target) says the run looked for them.
// It returns the fingerprints it resolved. All of it is one transaction.
func (s *Store) SaveFindings(ctx context.Context, runID int64, asOf time.Time, rows []reconcile.FindingRow, resolves func(kind, target string) bool) ([]reconcile.FindingState, error) {
	var resolved []reconcile.FindingState
	// In key order: two runs saving findings at once take row locks in the
	// same order and cannot deadlock.
	rows = slices.Clone(rows)
	slices.SortFunc(rows, func(a, b reconcile.FindingRow) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		resolved = resolved[:0]
		ins, err := tx.PrepareContext(ctx, `INSERT INTO findings (run_id, fingerprint, kind, severity, disposition, target, account_id,
			employee_id, first_seen, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		up, err := tx.PrepareContext(ctx, `INSERT INTO finding_state (fingerprint, kind, target, account_id, first_seen, last_seen, last_run)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (fingerprint) DO UPDATE SET
				first_seen = CASE WHEN finding_state.resolved_at IS NULL THEN finding_state.first_seen ELSE excluded.first_seen END,
				last_seen = excluded.last_seen, last_run = excluded.last_run, resolved_at = NULL`)
		if err != nil {
			return err
		}
		defer up.Close()
		for _, f := range rows {
			if _, err := ins.ExecContext(ctx, runID, f.Fingerprint, f.Kind, f.Severity, f.Disposition, f.Target, f.AccountID,
				f.EmployeeID, t(f.FirstSeen), string(f.Body)); err != nil {
				return fmt.Errorf("finding %s: %w", f.Fingerprint, err)
			}
			if _, err := up.ExecContext(ctx, f.Fingerprint, f.Kind, f.Target, f.AccountID, t(f.FirstSeen), t(asOf), runID); err != nil {
				return fmt.Errorf("finding state %s: %w", f.Fingerprint, err)
			}
		}
		stale, err := tx.QueryContext(ctx, `SELECT fingerprint, kind, target, account_id, first_seen, jira_key FROM finding_state
			WHERE resolved_at IS NULL AND last_run < $1 ORDER BY fingerprint COLLATE "C" FOR UPDATE`, runID)
		if err != nil {
			return err
		}
		for stale.Next() {
			var st reconcile.FindingState
			var first sql.NullTime
			if err := stale.Scan(&st.Fingerprint, &st.Kind, &st.Target, &st.AccountID, &first, &st.JiraKey); err != nil {
				stale.Close()
				return err
			}
			st.FirstSeen = tt(first)
			if resolves(st.Kind, st.Target) {
				st.Resolved, st.ResolvedAt = true, asOf
				resolved = append(resolved, st)
			}
		}
		if err := stale.Close(); err != nil {
			return err
		}
		if err := stale.Err(); err != nil {
			return err
		}
		fps := make([]string, len(resolved))
		for i, st := range resolved {
			fps[i] = st.Fingerprint
		}
		if len(fps) > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE finding_state SET resolved_at = $1 WHERE fingerprint = ANY($2)`, asOf, fps); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: save findings of run %d: %w", runID, err)
	}
	return resolved, nil
}

// FindingBodies returns the serialised findings of a run, most severe first.
func (s *Store) FindingBodies(ctx context.Context, runID int64) ([][]byte, error) {
	var bodies []string
	if err := s.db.SelectContext(ctx, &bodies, `SELECT body FROM findings WHERE run_id = $1
		ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,
			kind COLLATE "C", target COLLATE "C", account_id COLLATE "C"`, runID); err != nil {
		return nil, fmt.Errorf("pgstore: findings of run %d: %w", runID, err)
	}
	out := make([][]byte, len(bodies))
	for i, b := range bodies {
		out[i] = []byte(b)
	}
	return out, nil
}

// SetJiraKey records the ticket that tracks a fingerprint.
func (s *Store) SetJiraKey(ctx context.Context, fingerprint, key string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE finding_state SET jira_key = $1 WHERE fingerprint = $2`, key, fingerprint); err != nil {
		return fmt.Errorf("pgstore: set jira key of %s: %w", fingerprint, err)
	}
	return nil
}
