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
		if len(rows) > 0 {
			n := len(rows)
			fp, kind, sev, disp, target, account, emp, body := make([]string, n), make([]string, n), make([]string, n), make([]string, n),
				make([]string, n), make([]string, n), make([]string, n), make([]string, n)
			first := make([]*time.Time, n)
			for i, f := range rows {
				fp[i], kind[i], sev[i], disp[i], target[i], account[i], emp[i], body[i] = f.Fingerprint, f.Kind, f.Severity, f.Disposition,
					f.Target, f.AccountID, f.EmployeeID, string(f.Body)
				first[i] = tp(f.FirstSeen)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO findings (run_id, fingerprint, kind, severity, disposition, target, account_id,
				employee_id, first_seen, body) SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
				$8::text[], $9::timestamptz[], $10::text[])`, runID, fp, kind, sev, disp, target, account, emp, first, body); err != nil {
				return fmt.Errorf("findings: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO finding_state (fingerprint, kind, target, account_id, first_seen, last_seen, last_run)
				SELECT f.*, $5::timestamptz, $6::bigint FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $7::timestamptz[]) f
				ON CONFLICT (fingerprint) DO UPDATE SET
					first_seen = CASE WHEN finding_state.resolved_at IS NULL THEN finding_state.first_seen ELSE excluded.first_seen END,
					last_seen = excluded.last_seen, last_run = excluded.last_run, resolved_at = NULL`,
				fp, kind, target, account, t(asOf), runID, first); err != nil {
				return fmt.Errorf("finding states: %w", err)
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
