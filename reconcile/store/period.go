package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/targets"
)

// Period queries: what the store can answer about every run of a period,
// for the period report (reports/xlsx.WritePeriod). A run belongs to the
// period [from, to) when it started in it, as for `accessrecon sla --since`.
// Nothing here writes.

// RunsBetween returns the runs started in [from, to), oldest first.
func (s *Store) RunsBetween(ctx context.Context, from, to time.Time) ([]Run, error) {
	var rows []runRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT * FROM runs WHERE started_at >= ? AND started_at < ? ORDER BY id`, T(from), T(to)); err != nil {
		return nil, fmt.Errorf("store: runs from %s to %s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	out := make([]Run, len(rows))
	for i, r := range rows {
		out[i] = r.run()
	}
	return out, nil
}

// PeriodFinding is one stored finding of a run of a period.
type PeriodFinding struct {
	RunID       int64
	Fingerprint string
	Kind        string
	Disposition string
	// Body is the finding as the engine serialised it.
	Body []byte
}

// FindingsBetween calls fn with each finding of the runs started in
// [from, to), run by run (oldest first), streaming: the findings are never
// held together. Dry runs (--dry-run: shown, never a baseline) are left
// out. kinds, when given, restricts the kinds read.
func (s *Store) FindingsBetween(ctx context.Context, from, to time.Time, kinds []string, fn func(PeriodFinding) error) error {
	var runs []int64
	if err := s.db.SelectContext(ctx, &runs, `SELECT r.id FROM runs r JOIN finding_saves s ON s.run_id = r.id
		WHERE r.started_at >= ? AND r.started_at < ? AND r.dry_run = 0 ORDER BY r.id`, T(from), T(to)); err != nil {
		return fmt.Errorf("store: findings of the period: %w", err)
	}
	for _, id := range runs {
		err := s.eachFinding(ctx, id, kinds, "", func(f PeriodFinding) error { return fn(f) })
		if err != nil {
			return err
		}
	}
	return nil
}

// eachFinding calls fn with each finding run runID saved (of the given
// kinds, when some are given; whose body contains like, when it is not
// empty), in fingerprint order. f.Body is valid only during the call.
func (s *Store) eachFinding(ctx context.Context, runID int64, kinds []string, like string, fn func(PeriodFinding) error) error {
	from, args, ok, err := findingsOf(ctx, s.db, runID)
	if err != nil {
		return fmt.Errorf("store: findings of run %d: %w", runID, err)
	}
	if !ok {
		return nil
	}
	q := `SELECT v.fingerprint, b.kind, b.disposition, b.body` + from
	if len(kinds) > 0 {
		q += ` AND b.kind IN (?` + strings.Repeat(", ?", len(kinds)-1) + `)`
		for _, k := range kinds {
			args = append(args, k)
		}
	}
	if like != "" {
		q += ` AND b.body LIKE ?`
		args = append(args, like)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY v.fingerprint`, args...)
	if err != nil {
		return fmt.Errorf("store: findings of run %d: %w", runID, err)
	}
	defer rows.Close()
	var body sql.RawBytes
	for rows.Next() {
		f := PeriodFinding{RunID: runID}
		if err := rows.Scan(&f.Fingerprint, &f.Kind, &f.Disposition, &body); err != nil {
			return fmt.Errorf("store: findings of run %d: %w", runID, err)
		}
		// RawBytes is valid until the next Scan: fn must not keep it.
		f.Body = body
		if err := fn(f); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ActionsBetween calls fn with each action of the runs started in
// [from, to), in the order they were recorded.
func (s *Store) ActionsBetween(ctx context.Context, from, to time.Time, fn func(Action) error) error {
	rows, err := s.db.QueryxContext(ctx, `SELECT a.* FROM actions a JOIN runs r ON r.id = a.run_id
		WHERE r.started_at >= ? AND r.started_at < ? ORDER BY a.id`, T(from), T(to))
	if err != nil {
		return fmt.Errorf("store: actions of the period: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r actionRow
		if err := rows.StructScan(&r); err != nil {
			return fmt.Errorf("store: actions of the period: %w", err)
		}
		if err := fn(r.action()); err != nil {
			return err
		}
	}
	return rows.Err()
}

// FindingStates returns the life of the given fingerprints across runs
// (first seen, resolved), by fingerprint; fingerprints never seen are absent.
func (s *Store) FindingStates(ctx context.Context, fingerprints []string) (map[string]FindingState, error) {
	out := map[string]FindingState{}
	// SQLite binds at most 32766 parameters: ask in batches.
	const batch = 5000
	for len(fingerprints) > 0 {
		n := min(batch, len(fingerprints))
		args := make([]any, n)
		for i, fp := range fingerprints[:n] {
			args[i] = fp
		}
		fingerprints = fingerprints[n:]
		rows, err := s.db.QueryContext(ctx, `SELECT `+StateCols+`WHERE st.fingerprint IN (?`+strings.Repeat(", ?", n-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("store: finding states: %w", err)
		}
		for rows.Next() {
			var st FindingState
			var first, last, resolved sql.NullString
			if err := rows.Scan(&st.Fingerprint, &st.Kind, &st.Target, &st.AccountID, &first, &last, &st.LastRun, &resolved, &st.JiraKey); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: finding states: %w", err)
			}
			st.FirstSeen, st.LastSeen, st.ResolvedAt = mustT(first), mustT(last), mustT(resolved)
			st.Resolved = resolved.Valid
			out[st.Fingerprint] = st
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: finding states: %w", err)
		}
	}
	return out, nil
}

// ResolveAccount finds the account of a target that run runID collected
// whose ID, username or email is ref (IDs and usernames compared exactly,
// emails case-insensitively), the way a config reference is resolved. n is
// the number of accounts that matched (0: none, over 1: ambiguous; the
// account is returned only when n is 1). collected says whether the run
// stored any account of the target at all.
func (s *Store) ResolveAccount(ctx context.Context, runID int64, target, ref string) (a targets.Account, n int, collected bool, err error) {
	var ids []string
	err = s.db.SelectContext(ctx, &ids, `SELECT v.account_id FROM snapshots s JOIN account_versions v ON s.side = 'target' AND v.target = s.target
		WHERE s.target = ?2 AND `+asOf("v", "account_id")+`
		AND (v.account_id = ?3 OR v.username = ?3 OR (v.email != '' AND lower(v.email) = lower(?3))) LIMIT 2`, runID, target, ref)
	if err != nil {
		return a, 0, false, fmt.Errorf("store: resolve %s on %s: %w", ref, target, err)
	}
	if len(ids) != 1 {
		var some int
		if err := s.db.GetContext(ctx, &some, `SELECT COUNT(*) FROM (SELECT 1 FROM snapshots s JOIN account_versions v ON s.side = 'target' AND v.target = s.target
			WHERE s.target = ?2 AND `+asOf("v", "account_id")+` LIMIT 1)`, runID, target); err != nil {
			return a, 0, false, fmt.Errorf("store: accounts of %s: %w", target, err)
		}
		return a, len(ids), some > 0, nil
	}
	a, _, err = s.SnapshotAccount(ctx, runID, target, ids[0])
	return a, 1, true, err
}
