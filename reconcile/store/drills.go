package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Drill is one termination drill (accessrecon drill): the HR event injected
// for the canaries, the leaver run it triggered, and per target the time to
// the verified revocation against the tier's SLA.
type Drill struct {
	ID         int64         `json:"id"`
	RunID      int64         `json:"run_id"`
	StartedAt  time.Time     `json:"started_at"`
	FinishedAt time.Time     `json:"finished_at"`
	Scenario   string        `json:"scenario"`
	By         string        `json:"by"`
	Passed     bool          `json:"passed"`
	Error      string        `json:"error,omitempty"`
	Targets    []DrillTarget `json:"targets"`
	// Restored says, per canary account, whether it was put back as it was.
	Restored []DrillRestore `json:"restored"`
}

// DrillTarget is one target's part of a drill.
type DrillTarget struct {
	Target    string        `json:"target"`
	Account   string        `json:"account"`
	Tier      string        `json:"tier"`
	SLA       time.Duration `json:"sla_ns"`
	TimeTaken time.Duration `json:"time_to_revoke_ns"`
	Revoked   bool          `json:"revoked"`
	Passed    bool          `json:"passed"`
	Steps     []DrillStep   `json:"steps"`
	Note      string        `json:"note,omitempty"`
}

// DrillStep is one executor step of a drill's run.
type DrillStep struct {
	Op       string `json:"op"`
	Arg      string `json:"arg,omitempty"`
	Status   string `json:"status"`
	Verified bool   `json:"verified"`
	Error    string `json:"error,omitempty"`
}

// DrillRestore is one canary account's restoration after a drill.
type DrillRestore struct {
	Target   string `json:"target"`
	Account  string `json:"account"`
	Restored bool   `json:"restored"`
	Note     string `json:"note,omitempty"`
}

type drillRow struct {
	ID         int64          `db:"id"`
	RunID      int64          `db:"run_id"`
	StartedAt  sql.NullString `db:"started_at"`
	FinishedAt sql.NullString `db:"finished_at"`
	Scenario   string         `db:"scenario"`
	By         string         `db:"by"`
	Passed     bool           `db:"passed"`
	Error      string         `db:"error"`
	Targets    string         `db:"targets"`
	Restored   string         `db:"restored"`
}

// SaveDrill records a finished drill and returns its ID.
func (s *Store) SaveDrill(ctx context.Context, d Drill) (int64, error) {
	tj, err := json.Marshal(d.Targets)
	if err != nil {
		return 0, err
	}
	rj, err := json.Marshal(d.Restored)
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.write(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO drills (run_id, started_at, finished_at, scenario, by, passed, error, targets, restored)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.RunID, T(d.StartedAt), T(d.FinishedAt), d.Scenario, d.By, b2i(d.Passed), d.Error, string(tj), string(rj))
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: save drill: %w", err)
	}
	return id, nil
}

// Drills lists the drills started in [from, to) (zero times: unbounded),
// oldest first.
func (s *Store) Drills(ctx context.Context, from, to time.Time) ([]Drill, error) {
	q := `SELECT id, run_id, started_at, finished_at, scenario, by, passed, error, targets, restored FROM drills WHERE 1=1`
	var args []any
	if !from.IsZero() {
		q += ` AND started_at >= ?`
		args = append(args, T(from))
	}
	if !to.IsZero() {
		q += ` AND started_at < ?`
		args = append(args, T(to))
	}
	var rows []drillRow
	if err := s.db.SelectContext(ctx, &rows, q+` ORDER BY id`, args...); err != nil {
		return nil, fmt.Errorf("store: drills: %w", err)
	}
	out := make([]Drill, 0, len(rows))
	for _, r := range rows {
		d := Drill{ID: r.ID, RunID: r.RunID, StartedAt: mustT(r.StartedAt), FinishedAt: mustT(r.FinishedAt), Scenario: r.Scenario,
			By: r.By, Passed: r.Passed, Error: r.Error}
		if err := json.Unmarshal([]byte(r.Targets), &d.Targets); err != nil {
			return nil, fmt.Errorf("store: drill %d: targets: %w", r.ID, err)
		}
		if err := json.Unmarshal([]byte(r.Restored), &d.Restored); err != nil {
			return nil, fmt.Errorf("store: drill %d: restored: %w", r.ID, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// SetRunConfigHash records the SHA-256 of the configuration a run was made
// with.
func (s *Store) SetRunConfigHash(ctx context.Context, runID int64, sum string) error {
	return s.write(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO run_configs (run_id, config_sha256) VALUES (?, ?)`, runID, sum)
		return err
	})
}

// RunConfigHashes maps each run in ids to its configuration's SHA-256 (""
// for a run recorded before the hash was kept).
func (s *Store) RunConfigHashes(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(ids) == 0 {
		return out, nil
	}
	q, args, err := sqlx.In(`SELECT run_id, config_sha256 FROM run_configs WHERE run_id IN (?)`, ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryxContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: config hashes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var sum string
		if err := rows.Scan(&id, &sum); err != nil {
			return nil, err
		}
		out[id] = sum
	}
	return out, rows.Err()
}
