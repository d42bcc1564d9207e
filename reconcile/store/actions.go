package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile"
)

type actionRow struct {
	ID          int64          `db:"id"`
	RunID       int64          `db:"run_id"`
	Fingerprint string         `db:"fingerprint"`
	Target      string         `db:"target"`
	AccountID   string         `db:"account_id"`
	Op          string         `db:"op"`
	Arg         string         `db:"arg"`
	Status      string         `db:"status"`
	Verified    bool           `db:"verified"`
	Attempts    int            `db:"attempts"`
	Error       string         `db:"error"`
	RequestedAt sql.NullString `db:"requested_at"`
	FinishedAt  sql.NullString `db:"finished_at"`
	Kind        string         `db:"kind"`
	EmployeeID  string         `db:"employee_id"`
}

func (r actionRow) action() Action {
	return Action{ID: r.ID, RunID: r.RunID, Fingerprint: r.Fingerprint, Target: r.Target, AccountID: r.AccountID, Op: r.Op, Arg: r.Arg,
		Status: reconcile.ActionStatus(r.Status), Verified: r.Verified, Attempts: r.Attempts, Error: r.Error, RequestedAt: mustT(r.RequestedAt), FinishedAt: mustT(r.FinishedAt),
		Kind: r.Kind, EmployeeID: r.EmployeeID}
}

// InsertAction records an action before it is attempted (status requested)
// or as planned/blocked, and returns its ID. Recording first means a crash
// between request and outcome leaves a trace the next run recovers from.
func (s *Store) InsertAction(ctx context.Context, a Action) (int64, error) {
	ids, err := s.InsertActions(ctx, []Action{a})
	if err != nil {
		return 0, err
	}
	return ids[0], nil
}

// InsertActions records several actions in one transaction (the steps of one
// account, before the first is attempted) and returns their IDs. When ctx
// carries a lease (WithLease), it first checks that the lease is still
// held, and fails with ErrLeaseLost, recording nothing, if not.
func (s *Store) InsertActions(ctx context.Context, as []Action) ([]int64, error) {
	ids := make([]int64, 0, len(as))
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		if err := checkLease(ctx, tx); err != nil {
			return err
		}
		for _, a := range as {
			res, err := tx.ExecContext(ctx, `INSERT INTO actions (run_id, fingerprint, target, account_id, op, arg, status, verified, attempts, error, requested_at, finished_at, kind, employee_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.RunID, a.Fingerprint, a.Target, a.AccountID, a.Op, a.Arg, a.Status, b2i(a.Verified), a.Attempts, a.Error,
				T(a.RequestedAt), T(a.FinishedAt), a.Kind, a.EmployeeID)
			if err != nil {
				return err
			}
			id, err := res.LastInsertId()
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: record action: %w", err)
	}
	return ids, nil
}

// CheckLease reports ErrLeaseLost when ctx carries a lease that is no longer
// held (nil when it carries none).
func (s *Store) CheckLease(ctx context.Context) error {
	if _, ok := LeaseFrom(ctx); !ok {
		return nil
	}
	return checkLease(ctx, s.db)
}

// FinishAction records an action's outcome. It does not take a context:
// an outcome must be written even when the run is being cancelled.
func (s *Store) FinishAction(a Action) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE actions SET status = ?, verified = ?, attempts = ?, error = ?, finished_at = ? WHERE id = ?`,
			a.Status, b2i(a.Verified), a.Attempts, a.Error, T(a.FinishedAt), a.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: finish action %d: %w", a.ID, err)
	}
	return nil
}

// PendingActions returns actions of earlier runs left as requested: a crash
// or kill came between the request and its outcome.
func (s *Store) PendingActions(ctx context.Context, target string, before int64) ([]Action, error) {
	var rows []actionRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT * FROM actions WHERE target = ? AND status = 'requested' AND run_id < ? ORDER BY id`, target, before); err != nil {
		return nil, fmt.Errorf("store: pending actions of %s: %w", target, err)
	}
	out := make([]Action, len(rows))
	for i, r := range rows {
		out[i] = r.action()
	}
	return out, nil
}

// UnfinishedSteps returns, for one target, the steps whose latest attempt
// in a run before `before` did not end done (verified or recovered as
// observed): failed, unverified, recovered_not_done, or still requested.
// Only steps recorded with the person they concern are returned (earlier
// versions did not record it).
func (s *Store) UnfinishedSteps(ctx context.Context, target string, before int64) ([]Action, error) {
	var rows []actionRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT a.* FROM actions a JOIN (
			SELECT MAX(id) AS id FROM actions WHERE target = ? AND run_id < ? AND status NOT IN ('planned', 'blocked')
			GROUP BY account_id, op, arg) l ON l.id = a.id
		WHERE a.status NOT IN ('done', 'recovered_done', 'acknowledged') AND a.employee_id != '' ORDER BY a.account_id, a.id`, target, before); err != nil {
		return nil, fmt.Errorf("store: unfinished steps of %s: %w", target, err)
	}
	out := make([]Action, len(rows))
	for i, r := range rows {
		out[i] = r.action()
	}
	return out, nil
}

// Actions returns the actions of a run in the order they were recorded.
func (s *Store) Actions(ctx context.Context, runID int64) ([]Action, error) {
	var rows []actionRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT * FROM actions WHERE run_id = ? ORDER BY id`, runID); err != nil {
		return nil, fmt.Errorf("store: actions of run %d: %w", runID, err)
	}
	out := make([]Action, len(rows))
	for i, r := range rows {
		out[i] = r.action()
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
		return nil, fmt.Errorf("store: count actions: %w", err)
	}
	out := make(map[[2]string]int, len(rows))
	for _, r := range rows {
		out[[2]string{r.Target, r.Status}] = r.N
	}
	return out, nil
}

// DisabledSince returns the accounts of a target that accessrecon disabled
// (and saw disabled) in runs from `from` on.
func (s *Store) DisabledSince(ctx context.Context, target string, from int64) (map[string]bool, error) {
	var ids []string
	if err := s.db.SelectContext(ctx, &ids, `SELECT DISTINCT account_id FROM actions WHERE target = ? AND op = 'disable'
		AND status IN ('done', 'recovered_done') AND run_id >= ?`, target, from); err != nil {
		return nil, fmt.Errorf("store: revocations of %s: %w", target, err)
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// Disablements returns, for each account of a target accessrecon has ever
// disabled (and saw disabled), the latest such disable.
func (s *Store) Disablements(ctx context.Context, target string) (map[string]Disablement, error) {
	var rows []struct {
		AccountID   string         `db:"account_id"`
		Fingerprint string         `db:"fingerprint"`
		RunID       int64          `db:"run_id"`
		FinishedAt  sql.NullString `db:"finished_at"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT a.account_id, a.fingerprint, a.run_id, a.finished_at FROM actions a
		JOIN (SELECT MAX(id) AS id FROM actions WHERE target = ? AND op = 'disable' AND status IN ('done', 'recovered_done')
		GROUP BY account_id) m ON a.id = m.id`, target); err != nil {
		return nil, fmt.Errorf("store: disables of %s: %w", target, err)
	}
	out := make(map[string]Disablement, len(rows))
	for _, r := range rows {
		out[r.AccountID] = Disablement{AccountID: r.AccountID, Fingerprint: r.Fingerprint, RunID: r.RunID, At: mustT(r.FinishedAt)}
	}
	return out, nil
}

// AddHold records a hold.
func (s *Store) AddHold(ctx context.Context, h Hold) (int64, error) {
	var id int64
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO holds (target, account_id, reason, until, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			h.Target, h.AccountID, h.Reason, T(h.Until), h.CreatedBy, T(h.CreatedAt))
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: add hold: %w", err)
	}
	return id, nil
}

// RemoveHold ends a hold early; the record stays.
func (s *Store) RemoveHold(ctx context.Context, id int64, by string, at time.Time) (Hold, error) {
	var h Hold
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE holds SET removed_by = ?, removed_at = ? WHERE id = ? AND removed_at IS NULL`, by, T(at), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("no active hold with id %d", id)
		}
		return nil
	})
	if err != nil {
		return h, fmt.Errorf("store: remove hold: %w", err)
	}
	hs, err := s.Holds(ctx, true)
	for _, x := range hs {
		if x.ID == id {
			h = x
		}
	}
	return h, err
}

// Holds lists the holds in effect, newest first: not removed, and not a
// request awaiting approval (RequestHold); all lists every hold ever placed
// or requested.
func (s *Store) Holds(ctx context.Context, all bool) ([]Hold, error) {
	q := `SELECT id, target, account_id, reason, until, created_by, created_at, removed_by, removed_at FROM holds`
	if !all {
		q += ` WHERE removed_at IS NULL AND approval != 'requested'`
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("store: holds: %w", err)
	}
	defer rows.Close()
	var out []Hold
	for rows.Next() {
		var h Hold
		var until, created, removedAt, removedBy sql.NullString
		if err := rows.Scan(&h.ID, &h.Target, &h.AccountID, &h.Reason, &until, &h.CreatedBy, &created, &removedBy, &removedAt); err != nil {
			return nil, fmt.Errorf("store: holds: %w", err)
		}
		h.Until, h.CreatedAt, h.RemovedAt, h.RemovedBy = mustT(until), mustT(created), mustT(removedAt), removedBy.String
		out = append(out, h)
	}
	return out, rows.Err()
}

// AckManualStep records that a person did the open manual step op (arg) of
// the finding fingerprint: a verified action by the acknowledging person, in
// the run that opened the step. It returns the step's action, or an error
// wrapping ErrNoManualStep when no such step is open.
func (s *Store) AckManualStep(ctx context.Context, fingerprint, op, arg, by string, at time.Time) (Action, error) {
	var out Action
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		var row actionRow
		err := tx.GetContext(ctx, &row, `SELECT * FROM actions WHERE id = (SELECT MAX(id) FROM actions WHERE fingerprint = ? AND op = ? AND arg = ?)`, fingerprint, op, arg)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && reconcile.ActionStatus(row.Status) != reconcile.ActionManual) {
			return fmt.Errorf("%s %s%s: %w", fingerprint, op, prefixed(" ", arg), ErrNoManualStep)
		}
		if err != nil {
			return err
		}
		out = row.action()
		out.Status, out.Verified, out.Error, out.RequestedAt, out.FinishedAt = reconcile.ActionAcknowledged, true, "done by "+by, at, at
		res, err := tx.ExecContext(ctx, `INSERT INTO actions (run_id, fingerprint, target, account_id, op, arg, status, verified, attempts, error, requested_at, finished_at, kind, employee_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, 1, 0, ?, ?, ?, ?, ?)`, out.RunID, out.Fingerprint, out.Target, out.AccountID, out.Op, out.Arg, out.Status, out.Error,
			T(out.RequestedAt), T(out.FinishedAt), out.Kind, out.EmployeeID)
		if err != nil {
			return err
		}
		out.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return Action{}, fmt.Errorf("store: acknowledge manual step: %w", err)
	}
	return out, nil
}

// ErrNoManualStep is returned when a step to acknowledge is not open.
var ErrNoManualStep = errors.New("no open manual step")

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}
