package pgstore

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"math"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/targets"
)

// What the commands and reports read from the snapshots and findings the
// engine stored (reconcile.Store writes them): references checked against
// the last collection, the period report, the SLA evidence, retention.

// LastCollection returns the newest run that collected target completely
// (not a dry run, not a targeted HR-event run): the accounts a reference
// written today is checked against. 0 when there is none yet.
func (s *Store) LastCollection(ctx context.Context, target string) (int64, error) {
	return s.LastGoodCollection(ctx, reconcile.Side("target"), target, math.MaxInt64)
}

// CollectedAccounts streams the accounts of target as run runID stored
// them: IDs, names, email, DN and group memberships (no credentials), in
// byte order of ID.
func (s *Store) CollectedAccounts(ctx context.Context, runID int64, target string) iter.Seq2[targets.Account, error] {
	return func(yield func(targets.Account, error) bool) {
		rows, err := s.db.QueryContext(ctx, `SELECT v.account_id, v.username, v.email, v.employee_id, v.display_name, v.dn, v.enabled, v.privileged, v.groups
			FROM snapshots s JOIN account_versions v ON s.side = 'target' AND v.target = s.target
			WHERE s.target = $2 AND `+asOf("account_id")+` ORDER BY v.account_id COLLATE "C"`, runID, target)
		if err != nil {
			yield(targets.Account{}, fmt.Errorf("pgstore: accounts of %s in run %d: %w", target, runID, err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var a targets.Account
			var groups string
			if err := rows.Scan(&a.ID, &a.Username, &a.Email, &a.EmployeeID, &a.DisplayName, &a.DN, &a.Enabled, &a.Privileged, &groups); err != nil {
				yield(targets.Account{}, fmt.Errorf("pgstore: accounts of %s in run %d: %w", target, runID, err))
				return
			}
			a.Groups = reconcile.SplitGroups(groups)
			if !yield(a, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(targets.Account{}, fmt.Errorf("pgstore: accounts of %s in run %d: %w", target, runID, err))
		}
	}
}

// ResolveAccount finds the account of a target that run runID collected
// whose ID, username or email is ref (IDs and usernames compared exactly,
// emails case-insensitively), the way a config reference is resolved. n is
// the number of accounts that matched (the account is returned only when n
// is 1); collected says whether the run stored any account of the target.
func (s *Store) ResolveAccount(ctx context.Context, runID int64, target, ref string) (a targets.Account, n int, collected bool, err error) {
	var ids []string
	err = s.db.SelectContext(ctx, &ids, `SELECT v.account_id FROM snapshots s JOIN account_versions v ON s.side = 'target' AND v.target = s.target
		WHERE s.target = $2 AND `+asOf("account_id")+`
		AND (v.account_id = $3 OR v.username = $3 OR (v.email != '' AND lower(v.email) = lower($3))) LIMIT 2`, runID, target, ref)
	if err != nil {
		return a, 0, false, fmt.Errorf("pgstore: resolve %s on %s: %w", ref, target, err)
	}
	if len(ids) != 1 {
		var some bool
		if err := s.db.GetContext(ctx, &some, `SELECT EXISTS (SELECT 1 FROM snapshots s JOIN account_versions v ON s.side = 'target' AND v.target = s.target
			WHERE s.target = $2 AND `+asOf("account_id")+`)`, runID, target); err != nil {
			return a, 0, false, fmt.Errorf("pgstore: accounts of %s: %w", target, err)
		}
		return a, len(ids), some, nil
	}
	a, _, err = s.SnapshotAccount(ctx, runID, target, ids[0])
	return a, 1, true, err
}

// FindingsBetween calls fn with each finding of the runs started in
// [from, to), run by run (oldest first), streaming. Dry runs are left out.
// kinds, when given, restricts the kinds read. fn must not keep Body.
func (s *Store) FindingsBetween(ctx context.Context, from, to time.Time, kinds []string, fn func(store.PeriodFinding) error) error {
	q := `SELECT s.run_id, v.fingerprint, b.kind, b.disposition, b.body` + savedFindings + `
		WHERE r.started_at >= $1 AND r.started_at < $2 AND NOT r.dry_run`
	args := []any{from, to}
	if len(kinds) > 0 {
		q += ` AND b.kind = ANY($3)`
		args = append(args, kinds)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY s.run_id, v.fingerprint COLLATE "C"`, args...)
	if err != nil {
		return fmt.Errorf("pgstore: findings of the period: %w", err)
	}
	defer rows.Close()
	var body []byte
	for rows.Next() {
		var f store.PeriodFinding
		if err := rows.Scan(&f.RunID, &f.Fingerprint, &f.Kind, &f.Disposition, &body); err != nil {
			return fmt.Errorf("pgstore: findings of the period: %w", err)
		}
		f.Body = body
		if err := fn(f); err != nil {
			return err
		}
	}
	return rows.Err()
}

// savedFindings joins each run to the findings its save recorded: the
// versions live at a full save's seq, or made by a partial save alone
// (migration 004).
const savedFindings = ` FROM runs r JOIN finding_saves s ON s.run_id = r.id
	JOIN finding_versions v ON (NOT s.side AND v.from_seq <= s.seq AND v.to_seq >= s.seq) OR (s.side AND v.from_seq = s.seq AND v.to_seq = s.seq)
	JOIN finding_bodies b ON b.id = v.body_id`

// FindingStates returns the life of the given fingerprints across runs
// (first seen, resolved), by fingerprint; fingerprints never seen are absent.
func (s *Store) FindingStates(ctx context.Context, fingerprints []string) (map[string]reconcile.FindingState, error) {
	if len(fingerprints) == 0 {
		return map[string]reconcile.FindingState{}, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+store.StateCols+`WHERE st.fingerprint = ANY($1)`, fingerprints)
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

// RevokedFindings returns the bodies of the findings revoked by runs that
// started at or after since (the SLA evidence), oldest run first.
func (s *Store) RevokedFindings(ctx context.Context, since time.Time) ([]store.RevokedFinding, error) {
	if since.IsZero() {
		since = time.Unix(0, 0)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT s.run_id, b.body`+savedFindings+`
		WHERE r.started_at >= $1 AND strpos(b.body, '"revoked_at"') > 0 ORDER BY s.run_id, v.fingerprint COLLATE "C"`, since)
	if err != nil {
		return nil, fmt.Errorf("pgstore: revoked findings: %w", err)
	}
	defer rows.Close()
	var out []store.RevokedFinding
	for rows.Next() {
		var r store.RevokedFinding
		var body string
		if err := rows.Scan(&r.RunID, &body); err != nil {
			return nil, fmt.Errorf("pgstore: revoked findings: %w", err)
		}
		r.Body = []byte(body)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Prune deletes what is older than the retention allows, measured back from
// now, in one transaction. The newest completed run's snapshot is always
// kept, whatever its age, since drift is computed against it.
func (s *Store) Prune(ctx context.Context, now time.Time, r store.Retention) error {
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var keep sql.NullInt64
		if err := tx.GetContext(ctx, &keep, `SELECT MAX(id) FROM runs WHERE status NOT IN ('failed', 'running', 'crashed')`); err != nil {
			return err
		}
		old := `SELECT id FROM runs WHERE started_at < $1 AND id != $2`
		if r.Snapshots > 0 {
			if err := pruneSnapshots(ctx, tx, now.Add(-r.Snapshots), keep.Int64); err != nil {
				return err
			}
		}
		if r.Findings > 0 {
			cut := now.Add(-r.Findings)
			if _, err := tx.ExecContext(ctx, `DELETE FROM drift WHERE run_id IN (`+old+`)`, cut, keep.Int64); err != nil {
				return err
			}
			// The saves of old runs, then the versions that no save left
			// can ask for, then bodies no version uses. Only a version
			// that held a deleted save can be left without one (every
			// version holds a save when written, and each prune removes
			// those left without), and only its body can be left unused:
			// a prune looks at those, not at the whole history.
			var seqs []int64
			if err := tx.SelectContext(ctx, &seqs, `DELETE FROM finding_saves WHERE run_id IN (`+old+`) RETURNING seq`, cut, keep.Int64); err != nil {
				return err
			}
			if len(seqs) > 0 {
				// Two statements: the second must see the versions gone
				// (a statement's WITH would show it them still there).
				// Live versions left without a save go too: their open
				// findings keep the last full save as their last seen.
				if err := store.KeepLastSeen(ctx, tx, `v.from_seq <= $1 AND NOT EXISTS (SELECT 1 FROM finding_saves s WHERE s.seq BETWEEN v.from_seq AND v.to_seq)`,
					slices.Max(seqs)); err != nil {
					return err
				}
				var bodies []int64
				if err := tx.SelectContext(ctx, &bodies, `DELETE FROM finding_versions v WHERE v.to_seq >= $1 AND v.from_seq <= $2
					AND NOT EXISTS (SELECT 1 FROM finding_saves s WHERE s.seq BETWEEN v.from_seq AND v.to_seq) RETURNING v.body_id`,
					slices.Min(seqs), slices.Max(seqs)); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `DELETE FROM finding_bodies b WHERE b.id = ANY($1)
					AND NOT EXISTS (SELECT 1 FROM finding_versions v WHERE v.body_id = b.id)`, bodies); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM finding_state WHERE resolved_at IS NOT NULL AND resolved_at < $1`, cut); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgstore: prune: %w", err)
	}
	return nil
}

// pruneSnapshots is store.pruneSnapshots on PostgreSQL: the snapshots of
// the runs started before cut go, but run keep's and the baselines (each
// target's last good collection's, the last trusted HR snapshot, however
// old: the snapshots the next run reads), then the versions that ended at
// or before the oldest run whose snapshot of their side stays.
func pruneSnapshots(ctx context.Context, tx *sqlx.Tx, cut time.Time, keep int64) error {
	var baselines []snapshotKey
	if err := tx.SelectContext(ctx, &baselines, `SELECT 'target' AS side, c.name AS target, MAX(c.run_id) AS run
		FROM collections c JOIN runs r ON r.id = c.run_id WHERE c.side = 'target' AND c.status = 'ok' AND `+baselineRun+` GROUP BY c.name
		UNION ALL SELECT 'hr', '', MAX(id) FROM runs r WHERE `+trustedHRRun+` HAVING MAX(id) IS NOT NULL`); err != nil {
		return err
	}
	sides, names, runs := make([]string, len(baselines)), make([]string, len(baselines)), make([]int64, len(baselines))
	for i, b := range baselines {
		sides[i], names[i], runs[i] = b.Side, b.Target, b.Run
	}
	for _, table := range []string{"snapshots", "snapshot_members"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` t WHERE t.run_id IN (SELECT id FROM runs WHERE started_at < $1 AND id != $2)
			AND NOT EXISTS (SELECT 1 FROM unnest($3::text[], $4::text[], $5::bigint[]) AS b(side, target, run)
				WHERE b.side = t.side AND b.target = t.target AND b.run = t.run_id)`, cut, keep, sides, names, runs); err != nil {
			return err
		}
	}
	var oldest sql.NullInt64
	if err := tx.GetContext(ctx, &oldest, `SELECT MIN(id) FROM runs WHERE NOT (started_at < $1 AND id != $2)`, cut, keep); err != nil || !oldest.Valid {
		return err
	}
	// A side whose kept snapshots reach back before oldest (a baseline)
	// keeps its versions back to there; the others, to oldest.
	var older []snapshotKey
	if err := tx.SelectContext(ctx, &older, `SELECT side, target, MIN(run_id) AS run FROM snapshots WHERE run_id < $1 GROUP BY side, target`,
		oldest.Int64); err != nil {
		return err
	}
	accounts := func(where string, args ...any) error {
		for _, q := range [...]string{
			`DELETE FROM credential_versions c USING account_versions v WHERE c.target = v.target AND c.account_id = v.account_id
				AND c.valid_from = v.valid_from AND v.valid_to IS NOT NULL AND ` + where,
			`DELETE FROM account_versions v WHERE v.valid_to IS NOT NULL AND ` + where,
		} {
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		return nil
	}
	if err := accounts(`v.valid_to <= $1 AND v.target NOT IN (SELECT target FROM snapshots WHERE side = 'target' AND run_id < $1)`,
		oldest.Int64); err != nil {
		return err
	}
	hrCut := oldest.Int64
	for _, o := range older {
		if o.Side != string(reconcile.SideTarget) {
			hrCut = o.Run
		} else if err := accounts(`v.valid_to <= $1 AND v.target = $2`, o.Run, o.Target); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM person_versions WHERE valid_to IS NOT NULL AND valid_to <= $1`, hrCut)
	return err
}

// snapshotKey names one run's snapshot of one side (HR's with no target).
type snapshotKey struct {
	Side   string `db:"side"`
	Target string `db:"target"`
	Run    int64  `db:"run"`
}
