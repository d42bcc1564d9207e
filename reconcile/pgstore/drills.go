package pgstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/accessrecon/accessrecon/reconcile/store"
)

// SaveDrill records a finished drill and returns its ID.
func (s *Store) SaveDrill(ctx context.Context, d store.Drill) (int64, error) {
	tj, err := json.Marshal(d.Targets)
	if err != nil {
		return 0, err
	}
	rj, err := json.Marshal(d.Restored)
	if err != nil {
		return 0, err
	}
	var id int64
	if err := s.db.GetContext(ctx, &id, `INSERT INTO drills (run_id, started_at, finished_at, scenario, by, passed, error, targets, restored)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		d.RunID, t(d.StartedAt), t(d.FinishedAt), d.Scenario, d.By, d.Passed, d.Error, string(tj), string(rj)); err != nil {
		return 0, fmt.Errorf("pgstore: save drill: %w", err)
	}
	return id, nil
}

// Drills lists the drills started in [from, to) (zero times: unbounded),
// oldest first.
func (s *Store) Drills(ctx context.Context, from, to time.Time) ([]store.Drill, error) {
	var rows []struct {
		ID         int64        `db:"id"`
		RunID      int64        `db:"run_id"`
		StartedAt  sql.NullTime `db:"started_at"`
		FinishedAt sql.NullTime `db:"finished_at"`
		Scenario   string       `db:"scenario"`
		By         string       `db:"by"`
		Passed     bool         `db:"passed"`
		Error      string       `db:"error"`
		Targets    string       `db:"targets"`
		Restored   string       `db:"restored"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT id, run_id, started_at, finished_at, scenario, by, passed, error, targets, restored FROM drills
		WHERE ($1::timestamptz IS NULL OR started_at >= $1) AND ($2::timestamptz IS NULL OR started_at < $2) ORDER BY id`, t(from), t(to)); err != nil {
		return nil, fmt.Errorf("pgstore: drills: %w", err)
	}
	out := make([]store.Drill, 0, len(rows))
	for _, r := range rows {
		d := store.Drill{ID: r.ID, RunID: r.RunID, StartedAt: tt(r.StartedAt), FinishedAt: tt(r.FinishedAt), Scenario: r.Scenario,
			By: r.By, Passed: r.Passed, Error: r.Error}
		if err := json.Unmarshal([]byte(r.Targets), &d.Targets); err != nil {
			return nil, fmt.Errorf("pgstore: drill %d: targets: %w", r.ID, err)
		}
		if err := json.Unmarshal([]byte(r.Restored), &d.Restored); err != nil {
			return nil, fmt.Errorf("pgstore: drill %d: restored: %w", r.ID, err)
		}
		out = append(out, d)
	}
	return out, nil
}
