package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// Queries about runs that the commands ask (status, metrics, evidence,
// the scheduler), as reconcile/store answers them.

// LatestRun returns the newest run that finished (any status but running),
// or an error wrapping ErrNoRun.
func (s *Store) LatestRun(ctx context.Context) (reconcile.Run, error) {
	return s.latestRun(ctx, `status != 'running'`)
}

// LatestFullRun returns the newest finished run that looked at everything
// (scope full: not a leavers sweep, not an HR-event run), or an error
// wrapping ErrNoRun.
func (s *Store) LatestFullRun(ctx context.Context) (reconcile.Run, error) {
	return s.latestRun(ctx, `status NOT IN ('running', 'failed', 'crashed') AND scope = 'full'`)
}

// LatestFinishedFullRun returns the newest run of scope full that finished,
// whatever its status (failed too), or an error wrapping ErrNoRun.
func (s *Store) LatestFinishedFullRun(ctx context.Context) (reconcile.Run, error) {
	return s.latestRun(ctx, `status != 'running' AND scope = 'full'`)
}

func (s *Store) latestRun(ctx context.Context, where string) (reconcile.Run, error) {
	var row runRow
	err := s.db.GetContext(ctx, &row, `SELECT `+runColumns+` FROM runs WHERE `+where+` ORDER BY id DESC LIMIT 1`)
	if errors.Is(err, sql.ErrNoRows) {
		return reconcile.Run{}, fmt.Errorf("pgstore: latest run: %w", ErrNoRun)
	}
	if err != nil {
		return reconcile.Run{}, fmt.Errorf("pgstore: latest run: %w", err)
	}
	return row.run(), nil
}

// LastSucceededAt is when the newest run that succeeded (completed, guard
// tripped or partial) finished: the zero time if none did.
func (s *Store) LastSucceededAt(ctx context.Context) (time.Time, error) {
	var since sql.NullTime
	if err := s.db.GetContext(ctx, &since, `SELECT MAX(finished_at) FROM runs WHERE status IN ('completed', 'guard_tripped', 'partial')`); err != nil {
		return time.Time{}, fmt.Errorf("pgstore: %w", err)
	}
	return tt(since), nil
}

// LastRunOf returns the newest run of a job that started, with any status
// in statuses (none: any status but running), or an error wrapping ErrNoRun.
func (s *Store) LastRunOf(ctx context.Context, job string, statuses ...reconcile.Status) (reconcile.Run, error) {
	q := `SELECT ` + runColumns + ` FROM runs WHERE job = $1 AND status != 'running'`
	args := []any{job}
	if len(statuses) > 0 {
		ss := make([]string, len(statuses))
		for i, st := range statuses {
			ss[i] = string(st)
		}
		q = `SELECT ` + runColumns + ` FROM runs WHERE job = $1 AND status = ANY($2)`
		args = append(args, ss)
	}
	var row runRow
	err := s.db.GetContext(ctx, &row, q+` ORDER BY id DESC LIMIT 1`, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return reconcile.Run{}, fmt.Errorf("pgstore: last run of %s: %w", job, ErrNoRun)
	}
	if err != nil {
		return reconcile.Run{}, fmt.Errorf("pgstore: last run of %s: %w", job, err)
	}
	return row.run(), nil
}

// LastStartedRunOf returns the newest run of a job by start, whatever its
// status (running included), or an error wrapping ErrNoRun.
func (s *Store) LastStartedRunOf(ctx context.Context, job string) (reconcile.Run, error) {
	var row runRow
	err := s.db.GetContext(ctx, &row, `SELECT `+runColumns+` FROM runs WHERE job = $1 ORDER BY id DESC LIMIT 1`, job)
	if errors.Is(err, sql.ErrNoRows) {
		return reconcile.Run{}, fmt.Errorf("pgstore: last run of %s: %w", job, ErrNoRun)
	}
	if err != nil {
		return reconcile.Run{}, fmt.Errorf("pgstore: last run of %s: %w", job, err)
	}
	return row.run(), nil
}

// Jobs lists the job names that have runs, in byte order.
func (s *Store) Jobs(ctx context.Context) ([]string, error) {
	var out []string
	if err := s.db.SelectContext(ctx, &out, `SELECT DISTINCT job COLLATE "C" AS job FROM runs ORDER BY 1`); err != nil {
		return nil, fmt.Errorf("pgstore: jobs: %w", err)
	}
	return out, nil
}

// FinishedRunsMark changes whenever a run finishes or is marked crashed:
// it names the finished runs (their count, newest end and highest ID), so
// that a reader of what runs leave behind (serve's /metrics) reads the
// store again only when it changed.
func (s *Store) FinishedRunsMark(ctx context.Context) (string, error) {
	var m struct {
		N    int64        `db:"n"`
		Last sql.NullTime `db:"last"`
		Max  int64        `db:"max_id"`
	}
	if err := s.db.GetContext(ctx, &m, `SELECT COUNT(*) AS n, MAX(finished_at) AS last, COALESCE(MAX(id), 0) AS max_id FROM runs WHERE status != 'running'`); err != nil {
		return "", fmt.Errorf("pgstore: finished runs: %w", err)
	}
	last := ""
	if m.Last.Valid {
		last = m.Last.Time.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%d %s %d", m.N, last, m.Max), nil
}

// RunsBetween returns the runs started in [from, to), oldest first.
func (s *Store) RunsBetween(ctx context.Context, from, to time.Time) ([]reconcile.Run, error) {
	var rows []runRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT `+runColumns+` FROM runs WHERE started_at >= $1 AND started_at < $2 ORDER BY id`, from, to); err != nil {
		return nil, fmt.Errorf("pgstore: runs from %s to %s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	out := make([]reconcile.Run, len(rows))
	for i, r := range rows {
		out[i] = r.run()
	}
	return out, nil
}

// SetRunConfigHash records the SHA-256 of the configuration a run was made
// with.
func (s *Store) SetRunConfigHash(ctx context.Context, runID int64, sum string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO run_configs (run_id, config_sha256) VALUES ($1, $2)
		ON CONFLICT (run_id) DO UPDATE SET config_sha256 = excluded.config_sha256`, runID, sum)
	if err != nil {
		return fmt.Errorf("pgstore: config hash of run %d: %w", runID, err)
	}
	return nil
}

// RunConfigHashes maps each run in ids to its configuration's SHA-256 (""
// for a run recorded without one).
func (s *Store) RunConfigHashes(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ID  int64  `db:"run_id"`
		Sum string `db:"config_sha256"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT run_id, config_sha256 FROM run_configs WHERE run_id = ANY($1)`, ids); err != nil {
		return nil, fmt.Errorf("pgstore: config hashes: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = r.Sum
	}
	return out, nil
}

// ActionCounts counts every action ever recorded by target and status, for
// the revocations counter, without reading the actions themselves.
func (s *Store) ActionCounts(ctx context.Context) (map[[2]string]int, error) {
	var rows []struct {
		Target string `db:"target"`
		Status string `db:"status"`
		N      int    `db:"n"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT target, status, COUNT(*) AS n FROM actions GROUP BY target, status`); err != nil {
		return nil, fmt.Errorf("pgstore: count actions: %w", err)
	}
	out := make(map[[2]string]int, len(rows))
	for _, r := range rows {
		out[[2]string{r.Target, r.Status}] = r.N
	}
	return out, nil
}

// ActionsBetween calls fn with each action of the runs started in
// [from, to), in the order they were recorded.
func (s *Store) ActionsBetween(ctx context.Context, from, to time.Time, fn func(reconcile.Action) error) error {
	rows, err := s.db.QueryxContext(ctx, `SELECT a.`+strings.ReplaceAll(actionColumns, ", ", ", a.")+` FROM actions a JOIN runs r ON r.id = a.run_id
		WHERE r.started_at >= $1 AND r.started_at < $2 ORDER BY a.id`, from, to)
	if err != nil {
		return fmt.Errorf("pgstore: actions of the period: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r actionRow
		if err := rows.StructScan(&r); err != nil {
			return fmt.Errorf("pgstore: actions of the period: %w", err)
		}
		if err := fn(r.action()); err != nil {
			return err
		}
	}
	return rows.Err()
}

// OpenManualSteps returns the manual steps still open (the latest record of
// a finding's step has status manual): of one finding, or of every finding
// when fingerprint is "". Ordered by finding, then step.
func (s *Store) OpenManualSteps(ctx context.Context, fingerprint string) ([]reconcile.Action, error) {
	return s.actions(ctx, "open manual steps", `SELECT a.`+strings.ReplaceAll(actionColumns, ", ", ", a.")+` FROM actions a JOIN (
			SELECT MAX(id) AS id FROM actions WHERE $1 = '' OR fingerprint = $1
			GROUP BY fingerprint, op, arg) l ON l.id = a.id
		WHERE a.status = 'manual' ORDER BY a.fingerprint COLLATE "C", a.op COLLATE "C", a.arg COLLATE "C"`, fingerprint)
}

// FindingKnown reports whether a finding with this fingerprint was ever
// recorded (open or resolved).
func (s *Store) FindingKnown(ctx context.Context, fingerprint string) (bool, error) {
	var known bool
	if err := s.db.GetContext(ctx, &known, `SELECT EXISTS (SELECT 1 FROM finding_state WHERE fingerprint = $1)`, fingerprint); err != nil {
		return false, fmt.Errorf("pgstore: finding %s: %w", fingerprint, err)
	}
	return known, nil
}

// ErrNoManualStep is returned when a step to acknowledge is not open (it is
// reconcile/store's, so that callers test for one error whatever the store).
var ErrNoManualStep = store.ErrNoManualStep

// AckManualStep records that a person did the open manual step op (arg) of
// the finding fingerprint: a verified action by the acknowledging person, in
// the run that opened the step. It returns the step's action, or an error
// wrapping ErrNoManualStep when no such step is open. Two people
// acknowledging the same step at once: one records it, the other gets
// ErrNoManualStep.
func (s *Store) AckManualStep(ctx context.Context, fingerprint, op, arg, by string, at time.Time) (reconcile.Action, error) {
	var out reconcile.Action
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		// Serialise acknowledgements of one finding across processes: the
		// second sees the first's record as the step's latest.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, ackSpace, fingerprint); err != nil {
			return err
		}
		var row actionRow
		err := tx.GetContext(ctx, &row, `SELECT `+actionColumns+` FROM actions WHERE id = (SELECT MAX(id) FROM actions WHERE fingerprint = $1 AND op = $2 AND arg = $3)`, fingerprint, op, arg)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && reconcile.ActionStatus(row.Status) != reconcile.ActionManual) {
			return fmt.Errorf("%s %s%s: %w", fingerprint, op, prefixed(" ", arg), ErrNoManualStep)
		}
		if err != nil {
			return err
		}
		out = row.action()
		out.Status, out.Verified, out.Error, out.RequestedAt, out.FinishedAt = reconcile.ActionAcknowledged, true, "done by "+by, at, at
		return tx.GetContext(ctx, &out.ID, `INSERT INTO actions (run_id, fingerprint, target, account_id, op, arg, status, verified, attempts, error, requested_at, finished_at, kind, employee_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, true, 0, $8, $9, $10, $11, $12) RETURNING id`, out.RunID, out.Fingerprint, out.Target, out.AccountID, out.Op, out.Arg,
			string(out.Status), out.Error, t(out.RequestedAt), t(out.FinishedAt), out.Kind, out.EmployeeID)
	})
	if err != nil {
		return reconcile.Action{}, fmt.Errorf("pgstore: acknowledge manual step: %w", err)
	}
	return out, nil
}

// ackSpace is the first key of the advisory locks that serialise
// acknowledgements of one manual step.
const ackSpace = 0x61726163 // "arac"

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

// InsertAction records one action (InsertActions of one).
func (s *Store) InsertAction(ctx context.Context, a reconcile.Action) (int64, error) {
	ids, err := s.InsertActions(ctx, []reconcile.Action{a})
	if err != nil {
		return 0, err
	}
	return ids[0], nil
}
