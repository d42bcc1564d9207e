package pgstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
)

const runColumns = `id, as_of, started_at, finished_at, mode, job, scope, status, guards, counts, error, dry_run, hr_suspect`

type runRow struct {
	ID         int64        `db:"id"`
	AsOf       sql.NullTime `db:"as_of"`
	StartedAt  sql.NullTime `db:"started_at"`
	FinishedAt sql.NullTime `db:"finished_at"`
	Mode       string       `db:"mode"`
	Job        string       `db:"job"`
	Scope      string       `db:"scope"`
	Status     string       `db:"status"`
	Guards     []byte       `db:"guards"`
	Counts     []byte       `db:"counts"`
	Error      string       `db:"error"`
	DryRun     bool         `db:"dry_run"`
	HRSuspect  bool         `db:"hr_suspect"`
}

func (r runRow) run() reconcile.Run {
	out := reconcile.Run{ID: r.ID, AsOf: tt(r.AsOf), StartedAt: tt(r.StartedAt), FinishedAt: tt(r.FinishedAt),
		Mode: r.Mode, Job: r.Job, Scope: r.Scope, Status: reconcile.Status(r.Status), Error: r.Error,
		DryRun: r.DryRun, HRSuspect: r.HRSuspect}
	_ = json.Unmarshal(r.Guards, &out.Guards)
	if len(out.Guards) == 0 {
		out.Guards = nil // as reconcile/store reads no guards
	}
	_ = json.Unmarshal(r.Counts, &out.Counts)
	return out
}

// BeginRun records a new run as running and returns its ID.
func (s *Store) BeginRun(ctx context.Context, r reconcile.Run) (int64, error) {
	var id int64
	err := s.db.GetContext(ctx, &id, `INSERT INTO runs (as_of, started_at, mode, job, scope, status, dry_run)
		VALUES ($1, $2, $3, $4, $5, 'running', $6) RETURNING id`,
		t(r.AsOf), t(r.StartedAt), r.Mode, r.Job, r.Scope, r.DryRun)
	if err != nil {
		return 0, fmt.Errorf("pgstore: begin run: %w", err)
	}
	return id, nil
}

// FinishRun records a run's outcome. It uses a fresh context so that a
// cancelled run is still recorded as such.
func (s *Store) FinishRun(r reconcile.Run) error {
	s.sessions.DropRun(r.ID)
	guards, _ := json.Marshal(nonNil(r.Guards))
	counts, _ := json.Marshal(r.Counts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.db.ExecContext(ctx, `UPDATE runs SET finished_at = $1, status = $2, guards = $3, counts = $4, error = $5, mode = $6, hr_suspect = $7 WHERE id = $8`,
		t(r.FinishedAt), string(r.Status), string(guards), string(counts), r.Error, r.Mode, r.HRSuspect, r.ID)
	if err != nil {
		return fmt.Errorf("pgstore: finish run %d: %w", r.ID, err)
	}
	return nil
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

// GetRun returns one run (an error wrapping ErrNoRun if there is none).
func (s *Store) GetRun(ctx context.Context, id int64) (reconcile.Run, error) {
	var row runRow
	err := s.db.GetContext(ctx, &row, `SELECT `+runColumns+` FROM runs WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return reconcile.Run{}, fmt.Errorf("pgstore: run %d: %w", id, ErrNoRun)
	}
	if err != nil {
		return reconcile.Run{}, fmt.Errorf("pgstore: run %d: %w", id, err)
	}
	return row.run(), nil
}

// Runs lists the most recent runs, newest first (limit <= 0: all).
func (s *Store) Runs(ctx context.Context, limit int) ([]reconcile.Run, error) {
	var lim any // NULL: LIMIT ALL
	if limit > 0 {
		lim = limit
	}
	var rows []runRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT `+runColumns+` FROM runs ORDER BY id DESC LIMIT $1`, lim); err != nil {
		return nil, fmt.Errorf("pgstore: list runs: %w", err)
	}
	out := make([]reconcile.Run, len(rows))
	for i, r := range rows {
		out[i] = r.run()
	}
	return out, nil
}

// SaveCollection records how a source or target collection went, replacing
// an earlier record of the same run, side and name.
func (s *Store) SaveCollection(ctx context.Context, c reconcile.Collection) error {
	ms := c.Duration.Milliseconds() // as reconcile/store records it
	_, err := s.db.ExecContext(ctx, `INSERT INTO collections
		(run_id, side, name, type, tier, capabilities, status, error, count, enabled, started_at, duration_ms)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (run_id, side, name) DO UPDATE SET type = excluded.type, tier = excluded.tier, capabilities = excluded.capabilities,
			status = excluded.status, error = excluded.error, count = excluded.count, enabled = excluded.enabled,
			started_at = excluded.started_at, duration_ms = excluded.duration_ms`,
		c.RunID, string(c.Side), c.Name, c.Type, c.Tier, c.Capabilities, string(c.Status), c.Error, c.Count, c.Enabled, c.StartedAt, ms)
	if err != nil {
		return fmt.Errorf("pgstore: save collection %s %s of run %d: %w", c.Side, c.Name, c.RunID, err)
	}
	return nil
}

// Collections lists the collections of a run.
func (s *Store) Collections(ctx context.Context, runID int64) ([]reconcile.Collection, error) {
	var out []reconcile.Collection
	if err := s.db.SelectContext(ctx, &out, `SELECT run_id, side, name, type, tier, capabilities, status, error, count, enabled, started_at, duration_ms
		FROM collections WHERE run_id = $1 ORDER BY side COLLATE "C", name COLLATE "C"`, runID); err != nil {
		return nil, fmt.Errorf("pgstore: collections of run %d: %w", runID, err)
	}
	for i := range out {
		out[i].Duration = time.Duration(out[i].DurationMS) * time.Millisecond
	}
	return out, nil
}

// LastGoodCollection returns the newest run before `before` in which the
// named source or target was collected whole, among the runs that can be a
// baseline (0 if none).
func (s *Store) LastGoodCollection(ctx context.Context, side reconcile.Side, name string, before int64) (int64, error) {
	var id sql.NullInt64
	err := s.db.GetContext(ctx, &id, `SELECT MAX(c.run_id) FROM collections c JOIN runs r ON r.id = c.run_id
		WHERE c.side = $1 AND c.name = $2 AND c.status = 'ok' AND c.run_id < $3 AND `+baselineRun, string(side), name, before)
	if err != nil {
		return 0, fmt.Errorf("pgstore: last good collection of %s: %w", name, err)
	}
	return id.Int64, nil
}

// baselineRun is the condition on runs r whose good collections are
// baselines (LastGoodCollection): not failed, running, cancelled or
// crashed, not targeted, not a dry run.
const baselineRun = `r.status NOT IN ('failed', 'running', 'cancelled', 'crashed') AND r.scope NOT LIKE 'people:%' AND NOT r.dry_run`

// trustedHRRun is the condition on runs r whose HR snapshot can be a
// baseline (PrevHRRun).
const trustedHRRun = `r.status IN ('completed', 'guard_tripped', 'partial') AND r.scope NOT LIKE 'people:%' AND NOT r.hr_suspect
	AND NOT r.dry_run`

// PrevHRRun returns the newest run before `before` whose HR snapshot can be
// a baseline (0 if none).
func (s *Store) PrevHRRun(ctx context.Context, before int64) (int64, error) {
	var id sql.NullInt64
	err := s.db.GetContext(ctx, &id, `SELECT MAX(id) FROM runs r WHERE r.id < $1 AND `+trustedHRRun, before)
	if err != nil {
		return 0, fmt.Errorf("pgstore: previous HR run: %w", err)
	}
	return id.Int64, nil
}
