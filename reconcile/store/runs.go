package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile"
)

type runRow struct {
	ID         int64          `db:"id"`
	AsOf       sql.NullString `db:"as_of"`
	StartedAt  sql.NullString `db:"started_at"`
	FinishedAt sql.NullString `db:"finished_at"`
	Mode       string         `db:"mode"`
	Job        string         `db:"job"`
	Scope      string         `db:"scope"`
	Status     string         `db:"status"`
	Guards     string         `db:"guards"`
	Counts     string         `db:"counts"`
	Error      string         `db:"error"`
	DryRun     bool           `db:"dry_run"`
	HRSuspect  bool           `db:"hr_suspect"`
}

func (r runRow) run() Run {
	out := Run{ID: r.ID, AsOf: mustT(r.AsOf), StartedAt: mustT(r.StartedAt), FinishedAt: mustT(r.FinishedAt),
		Mode: r.Mode, Job: r.Job, Scope: r.Scope, Status: reconcile.Status(r.Status), Guards: SplitLines(r.Guards), Error: r.Error,
		DryRun: r.DryRun, HRSuspect: r.HRSuspect}
	_ = json.Unmarshal([]byte(r.Counts), &out.Counts)
	return out
}

// BeginRun records a new run as running and returns its ID.
func (s *Store) BeginRun(ctx context.Context, r Run) (int64, error) {
	var id int64
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO runs (as_of, started_at, mode, job, scope, status, dry_run) VALUES (?, ?, ?, ?, ?, 'running', ?)`,
			T(r.AsOf), T(r.StartedAt), r.Mode, r.Job, r.Scope, b2i(r.DryRun))
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: begin run: %w", err)
	}
	return id, nil
}

// FinishRun records a run's outcome. It uses a fresh context so that a
// cancelled run is still recorded as such.
func (s *Store) FinishRun(r Run) error {
	s.sessions.DropRun(r.ID)
	counts, _ := json.Marshal(r.Counts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE runs SET finished_at = ?, status = ?, guards = ?, counts = ?, error = ?, mode = ?, hr_suspect = ? WHERE id = ?`,
			T(r.FinishedAt), r.Status, JoinLines(r.Guards), string(counts), r.Error, r.Mode, b2i(r.HRSuspect), r.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: finish run %d: %w", r.ID, err)
	}
	return nil
}

// GetRun returns one run.
func (s *Store) GetRun(ctx context.Context, id int64) (Run, error) {
	var row runRow
	err := s.db.GetContext(ctx, &row, `SELECT * FROM runs WHERE id = ?`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, fmt.Errorf("store: run %d: %w", id, ErrNoRun)
	}
	if err != nil {
		return Run{}, fmt.Errorf("store: run %d: %w", id, err)
	}
	return row.run(), nil
}

// Runs lists the most recent runs, newest first (limit <= 0: all).
func (s *Store) Runs(ctx context.Context, limit int) ([]Run, error) {
	if limit <= 0 {
		limit = -1
	}
	var rows []runRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT * FROM runs ORDER BY id DESC LIMIT ?`, limit); err != nil {
		return nil, fmt.Errorf("store: list runs: %w", err)
	}
	out := make([]Run, len(rows))
	for i, r := range rows {
		out[i] = r.run()
	}
	return out, nil
}

// LatestRun returns the newest run that finished (any status but running),
// or ErrNoRun.
func (s *Store) LatestRun(ctx context.Context) (Run, error) {
	return s.latestRun(ctx, `status != 'running'`)
}

// LatestFullRun returns the newest finished run that looked at everything
// (scope full: not a leavers sweep, not an HR-event run), or ErrNoRun.
func (s *Store) LatestFullRun(ctx context.Context) (Run, error) {
	return s.latestRun(ctx, `status NOT IN ('running', 'failed', 'crashed') AND scope = 'full'`)
}

// LatestFinishedFullRun returns the newest run of scope full that finished,
// whatever its status (failed too), or ErrNoRun.
func (s *Store) LatestFinishedFullRun(ctx context.Context) (Run, error) {
	return s.latestRun(ctx, `status != 'running' AND scope = 'full'`)
}

// LastSucceededAt is when the newest run that succeeded (completed, guard
// tripped or partial) finished: the zero time if none did.
func (s *Store) LastSucceededAt(ctx context.Context) (time.Time, error) {
	var since sql.NullString
	err := s.db.GetContext(ctx, &since, `SELECT MAX(finished_at) FROM runs WHERE status IN ('completed', 'guard_tripped', 'partial')`)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: %w", err)
	}
	return mustT(since), nil
}

func (s *Store) latestRun(ctx context.Context, where string) (Run, error) {
	var row runRow
	err := s.db.GetContext(ctx, &row, `SELECT * FROM runs WHERE `+where+` ORDER BY id DESC LIMIT 1`)
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, fmt.Errorf("store: latest run: %w", ErrNoRun)
	}
	if err != nil {
		return Run{}, fmt.Errorf("store: latest run: %w", err)
	}
	return row.run(), nil
}

// SaveCollection records how a source or target collection went.
func (s *Store) SaveCollection(ctx context.Context, c Collection) error {
	return s.write(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO collections
			(run_id, side, name, type, tier, capabilities, status, error, count, enabled, started_at, duration_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.RunID, c.Side, c.Name, c.Type, c.Tier, c.Capabilities, c.Status, c.Error, c.Count, c.Enabled, c.StartedAt, c.Duration.Milliseconds())
		return err
	})
}

// LastGoodCollection returns the newest run before run `before` in which the
// named source or target was collected completely (0 if none). Targeted runs
// (the HR-event fast path) read only some accounts and never count.
func (s *Store) LastGoodCollection(ctx context.Context, side reconcile.Side, name string, before int64) (int64, error) {
	var id sql.NullInt64
	err := s.db.GetContext(ctx, &id, `SELECT MAX(c.run_id) FROM collections c JOIN runs r ON r.id = c.run_id
		WHERE c.side = ? AND c.name = ? AND c.status = 'ok' AND c.run_id < ? AND `+baselineRun, side, name, before)
	if err != nil {
		return 0, fmt.Errorf("store: last good collection of %s: %w", name, err)
	}
	return id.Int64, nil
}

// Collections lists the collections of a run.
func (s *Store) Collections(ctx context.Context, runID int64) ([]Collection, error) {
	var out []Collection
	if err := s.db.SelectContext(ctx, &out, `SELECT * FROM collections WHERE run_id = ? ORDER BY side, name`, runID); err != nil {
		return nil, fmt.Errorf("store: collections of run %d: %w", runID, err)
	}
	for i := range out {
		out[i].Duration = time.Duration(out[i].DurationMS) * time.Millisecond
	}
	return out, nil
}

// baselineRun is the condition on runs r whose good collections are
// baselines (LastGoodCollection): not failed, running, cancelled or
// crashed, not targeted, not a dry run.
const baselineRun = `r.status NOT IN ('failed', 'running', 'cancelled', 'crashed') AND r.scope NOT LIKE 'people:%' AND r.dry_run = 0`

// trustedHRRun is the condition on runs r whose HR snapshot is whole and
// trusted (PrevHRRun).
const trustedHRRun = `r.status IN ('completed', 'guard_tripped', 'partial') AND r.scope NOT LIKE 'people:%' AND r.hr_suspect = 0
	AND r.dry_run = 0`

// PrevHRRun returns the newest run before `before` whose HR snapshot is whole
// and trusted (a completed, guarded or partial full run whose HR did not
// trip the shrink guard: a shrunken snapshot never becomes the new normal
// by being seen twice; 0 if none).
func (s *Store) PrevHRRun(ctx context.Context, before int64) (int64, error) {
	var id sql.NullInt64
	err := s.db.GetContext(ctx, &id, `SELECT MAX(id) FROM runs r WHERE r.id < ? AND `+trustedHRRun, before)
	if err != nil {
		return 0, fmt.Errorf("store: previous HR run: %w", err)
	}
	return id.Int64, nil
}
