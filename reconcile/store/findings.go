package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// OpenFindings returns the state of every fingerprint not yet resolved.
func (s *Store) OpenFindings(ctx context.Context) (map[string]FindingState, error) {
	return s.findingStates(ctx, `WHERE resolved_at IS NULL`)
}

// AllFindingStates returns the state of every fingerprint ever seen.
func (s *Store) AllFindingStates(ctx context.Context) (map[string]FindingState, error) {
	return s.findingStates(ctx, ``)
}

func (s *Store) findingStates(ctx context.Context, where string) (map[string]FindingState, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT fingerprint, kind, target, account_id, first_seen, last_seen, last_run, resolved_at, jira_key
		FROM finding_state `+where)
	if err != nil {
		return nil, fmt.Errorf("store: finding states: %w", err)
	}
	defer rows.Close()
	out := map[string]FindingState{}
	for rows.Next() {
		var st FindingState
		var first, last, resolved sql.NullString
		if err := rows.Scan(&st.Fingerprint, &st.Kind, &st.Target, &st.AccountID, &first, &last, &st.LastRun, &resolved, &st.JiraKey); err != nil {
			return nil, fmt.Errorf("store: finding states: %w", err)
		}
		st.FirstSeen, st.LastSeen, st.ResolvedAt = mustT(first), mustT(last), mustT(resolved)
		st.Resolved = resolved.Valid
		out[st.Fingerprint] = st
	}
	return out, rows.Err()
}

// SaveFindings writes a run's findings and updates each fingerprint's state:
// seen now (first seen kept while it stays open, restarted when a resolved
// problem returns). Open fingerprints this run did not see are marked
// resolved at asOf when resolves(kind, target) says the run looked for them
// (a run that could not collect a target, or whose scope left a kind out,
// resolves nothing there). It returns the fingerprints it resolved.
func (s *Store) SaveFindings(ctx context.Context, runID int64, asOf time.Time, rows []FindingRow, resolves func(kind, target string) bool) ([]FindingState, error) {
	var resolved []FindingState
	// In key order, B-tree inserts touch each page once instead of at random.
	rows = slices.Clone(rows)
	slices.SortFunc(rows, func(a, b FindingRow) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		ins, err := tx.PrepareContext(ctx, `INSERT INTO findings (run_id, fingerprint, kind, severity, disposition, target, account_id,
			employee_id, first_seen, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		up, err := tx.PrepareContext(ctx, `INSERT INTO finding_state (fingerprint, kind, target, account_id, first_seen, last_seen, last_run)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(fingerprint) DO UPDATE SET
				first_seen = CASE WHEN finding_state.resolved_at IS NULL THEN finding_state.first_seen ELSE excluded.first_seen END,
				last_seen = excluded.last_seen, last_run = excluded.last_run, resolved_at = NULL`)
		if err != nil {
			return err
		}
		defer up.Close()
		for _, f := range rows {
			if _, err := ins.ExecContext(ctx, runID, f.Fingerprint, f.Kind, f.Severity, f.Disposition, f.Target, f.AccountID,
				f.EmployeeID, T(f.FirstSeen), string(f.Body)); err != nil {
				return fmt.Errorf("finding %s: %w", f.Fingerprint, err)
			}
			if _, err := up.ExecContext(ctx, f.Fingerprint, f.Kind, f.Target, f.AccountID, T(f.FirstSeen), T(asOf), runID); err != nil {
				return fmt.Errorf("finding state %s: %w", f.Fingerprint, err)
			}
		}
		stale, err := tx.QueryContext(ctx, `SELECT fingerprint, kind, target, account_id, first_seen, jira_key FROM finding_state
			WHERE resolved_at IS NULL AND last_run < ?`, runID)
		if err != nil {
			return err
		}
		for stale.Next() {
			var st FindingState
			var first sql.NullString
			if err := stale.Scan(&st.Fingerprint, &st.Kind, &st.Target, &st.AccountID, &first, &st.JiraKey); err != nil {
				stale.Close()
				return err
			}
			st.FirstSeen = mustT(first)
			if resolves(st.Kind, st.Target) {
				st.Resolved, st.ResolvedAt = true, asOf
				resolved = append(resolved, st)
			}
		}
		stale.Close()
		for _, st := range resolved {
			if _, err := tx.ExecContext(ctx, `UPDATE finding_state SET resolved_at = ? WHERE fingerprint = ?`, T(asOf), st.Fingerprint); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: save findings of run %d: %w", runID, err)
	}
	return resolved, nil
}

// FindingBodies returns the serialised findings of a run, most severe first.
func (s *Store) FindingBodies(ctx context.Context, runID int64) ([][]byte, error) {
	var bodies []string
	if err := s.db.SelectContext(ctx, &bodies, `SELECT body FROM findings WHERE run_id = ?
		ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, kind, target, account_id`, runID); err != nil {
		return nil, fmt.Errorf("store: findings of run %d: %w", runID, err)
	}
	out := make([][]byte, len(bodies))
	for i, b := range bodies {
		out[i] = []byte(b)
	}
	return out, nil
}

// SetJiraKey records the ticket that tracks a fingerprint.
func (s *Store) SetJiraKey(ctx context.Context, fingerprint, key string) error {
	return s.write(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE finding_state SET jira_key = ? WHERE fingerprint = ?`, key, fingerprint)
		return err
	})
}

// SaveDrift writes a run's drift events.
func (s *Store) SaveDrift(ctx context.Context, runID int64, drift []DriftRow) error {
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO drift (run_id, side, target, subject, kind, detail) VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, d := range drift {
			if _, err := st.ExecContext(ctx, runID, d.Side, d.Target, d.Subject, d.Kind, d.Detail); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: save drift of run %d: %w", runID, err)
	}
	return nil
}

// Retention says how long the store keeps what.
type Retention struct {
	Snapshots time.Duration // the snapshots of old runs: versions no kept run shows
	Findings  time.Duration // drift, findings and runs themselves
}

// Prune deletes what is older than the retention allows, measured back from
// now. The newest completed run's snapshot is always kept, whatever its age,
// since drift is computed against it.
func (s *Store) Prune(ctx context.Context, now time.Time, r Retention) error {
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		var keep sql.NullInt64
		if err := tx.GetContext(ctx, &keep, `SELECT MAX(id) FROM runs WHERE status NOT IN ('failed', 'running', 'crashed')`); err != nil {
			return err
		}
		if r.Snapshots > 0 {
			// The snapshots of old runs go; so do the versions that ended
			// at or before the oldest run kept (no kept run's snapshot
			// shows them). Current versions stay, whatever their age.
			old := `SELECT id FROM runs WHERE started_at < ? AND id != ?`
			cut := T(now.Add(-r.Snapshots))
			var oldest sql.NullInt64
			if err := tx.GetContext(ctx, &oldest, `SELECT MIN(id) FROM runs WHERE NOT (started_at < ? AND id != ?)`, cut, keep.Int64); err != nil {
				return err
			}
			for _, table := range []string{"snapshots", "snapshot_members"} {
				if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE run_id IN (`+old+`)`, cut, keep.Int64); err != nil {
					return err
				}
			}
			if oldest.Valid {
				for _, q := range []string{
					`DELETE FROM credential_versions WHERE rowid IN (SELECT c.rowid FROM account_versions v JOIN credential_versions c
						ON c.target = v.target AND c.account_id = v.account_id AND c.valid_from = v.valid_from
						WHERE v.valid_to IS NOT NULL AND v.valid_to <= ?)`,
					`DELETE FROM account_versions WHERE valid_to IS NOT NULL AND valid_to <= ?`,
					`DELETE FROM person_versions WHERE valid_to IS NOT NULL AND valid_to <= ?`,
				} {
					if _, err := tx.ExecContext(ctx, q, oldest.Int64); err != nil {
						return err
					}
				}
			}
		}
		if r.Findings > 0 {
			cut := T(now.Add(-r.Findings))
			for _, q := range []string{
				`DELETE FROM drift WHERE run_id IN (SELECT id FROM runs WHERE started_at < ? AND id != ?)`,
				`DELETE FROM findings WHERE run_id IN (SELECT id FROM runs WHERE started_at < ? AND id != ?)`,
			} {
				if _, err := tx.ExecContext(ctx, q, cut, keep.Int64); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM finding_state WHERE resolved_at IS NOT NULL AND resolved_at < ?`, cut); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: prune: %w", err)
	}
	return nil
}
