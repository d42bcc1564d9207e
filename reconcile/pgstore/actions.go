package pgstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile"
)

const actionColumns = `id, run_id, fingerprint, target, account_id, op, arg, status, verified, attempts, error, requested_at, finished_at, kind, employee_id`

type actionRow struct {
	ID          int64        `db:"id"`
	RunID       int64        `db:"run_id"`
	Fingerprint string       `db:"fingerprint"`
	Target      string       `db:"target"`
	AccountID   string       `db:"account_id"`
	Op          string       `db:"op"`
	Arg         string       `db:"arg"`
	Status      string       `db:"status"`
	Verified    bool         `db:"verified"`
	Attempts    int          `db:"attempts"`
	Error       string       `db:"error"`
	RequestedAt sql.NullTime `db:"requested_at"`
	FinishedAt  sql.NullTime `db:"finished_at"`
	Kind        string       `db:"kind"`
	EmployeeID  string       `db:"employee_id"`
}

func (r actionRow) action() reconcile.Action {
	return reconcile.Action{ID: r.ID, RunID: r.RunID, Fingerprint: r.Fingerprint, Target: r.Target, AccountID: r.AccountID, Op: r.Op, Arg: r.Arg,
		Status: reconcile.ActionStatus(r.Status), Verified: r.Verified, Attempts: r.Attempts, Error: r.Error,
		RequestedAt: tt(r.RequestedAt), FinishedAt: tt(r.FinishedAt), Kind: r.Kind, EmployeeID: r.EmployeeID}
}

func (s *Store) actions(ctx context.Context, what, q string, args ...any) ([]reconcile.Action, error) {
	var rows []actionRow
	if err := s.db.SelectContext(ctx, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("pgstore: %s: %w", what, err)
	}
	out := make([]reconcile.Action, len(rows))
	for i, r := range rows {
		out[i] = r.action()
	}
	return out, nil
}

// InsertActions records several actions in one transaction (the steps of one
// account, before the first is attempted) and returns their IDs. When ctx
// carries a lease (WithLease), it first checks, in the same transaction,
// that the lease is still held, and fails with an error wrapping
// reconcile.ErrLeaseLost, recording nothing, if not.
func (s *Store) InsertActions(ctx context.Context, as []reconcile.Action) ([]int64, error) {
	var ids []int64
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		ids = make([]int64, 0, len(as))
		if err := checkLease(ctx, tx); err != nil {
			return err
		}
		for _, a := range as {
			var id int64
			if err := tx.GetContext(ctx, &id, `INSERT INTO actions (run_id, fingerprint, target, account_id, op, arg, status, verified, attempts, error,
				requested_at, finished_at, kind, employee_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
				a.RunID, a.Fingerprint, a.Target, a.AccountID, a.Op, a.Arg, string(a.Status), a.Verified, a.Attempts, a.Error,
				t(a.RequestedAt), t(a.FinishedAt), a.Kind, a.EmployeeID); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: record action: %w", err)
	}
	return ids, nil
}

// CheckLease reports an error wrapping reconcile.ErrLeaseLost when ctx
// carries a lease that is no longer held (nil when it carries none).
func (s *Store) CheckLease(ctx context.Context) error {
	if _, ok := LeaseFrom(ctx); !ok {
		return nil
	}
	if err := checkLease(ctx, s.db); err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	return nil
}

// FinishAction records an action's outcome. It does not take a context:
// an outcome must be written even when the run is being cancelled.
func (s *Store) FinishAction(a reconcile.Action) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.db.ExecContext(ctx, `UPDATE actions SET status = $1, verified = $2, attempts = $3, error = $4, finished_at = $5 WHERE id = $6`,
		string(a.Status), a.Verified, a.Attempts, a.Error, t(a.FinishedAt), a.ID)
	if err != nil {
		return fmt.Errorf("pgstore: finish action %d: %w", a.ID, err)
	}
	return nil
}

// PendingActions returns actions of earlier runs left as requested: a crash
// or kill came between the request and its outcome.
func (s *Store) PendingActions(ctx context.Context, target string, before int64) ([]reconcile.Action, error) {
	return s.actions(ctx, "pending actions of "+target, `SELECT `+actionColumns+` FROM actions
		WHERE target = $1 AND status = 'requested' AND run_id < $2 ORDER BY id`, target, before)
}

// UnfinishedSteps returns, for one target, the steps whose latest attempt
// in a run before `before` did not end done, among the steps recorded with
// the person they concern; ordered by account ID (byte order), then ID.
func (s *Store) UnfinishedSteps(ctx context.Context, target string, before int64) ([]reconcile.Action, error) {
	return s.actions(ctx, "unfinished steps of "+target, `SELECT `+actionColumns+` FROM actions WHERE id IN (
			SELECT MAX(id) FROM actions WHERE target = $1 AND run_id < $2 AND status NOT IN ('planned', 'blocked')
			GROUP BY account_id, op, arg)
		AND status NOT IN ('done', 'recovered_done', 'acknowledged') AND employee_id != '' ORDER BY account_id COLLATE "C", id`, target, before)
}

// Actions returns the actions of a run in the order they were recorded.
func (s *Store) Actions(ctx context.Context, runID int64) ([]reconcile.Action, error) {
	return s.actions(ctx, fmt.Sprintf("actions of run %d", runID), `SELECT `+actionColumns+` FROM actions WHERE run_id = $1 ORDER BY id`, runID)
}

// DisabledSince returns the accounts of a target that accessrecon disabled
// (and saw disabled) in runs from `from` on.
func (s *Store) DisabledSince(ctx context.Context, target string, from int64) (map[string]bool, error) {
	var ids []string
	if err := s.db.SelectContext(ctx, &ids, `SELECT DISTINCT account_id FROM actions WHERE target = $1 AND op = 'disable'
		AND status IN ('done', 'recovered_done') AND run_id >= $2`, target, from); err != nil {
		return nil, fmt.Errorf("pgstore: revocations of %s: %w", target, err)
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// Disablements returns, for each account of a target accessrecon has ever
// disabled (and saw disabled), the latest such disable.
func (s *Store) Disablements(ctx context.Context, target string) (map[string]reconcile.Disablement, error) {
	var rows []struct {
		AccountID   string       `db:"account_id"`
		Fingerprint string       `db:"fingerprint"`
		RunID       int64        `db:"run_id"`
		FinishedAt  sql.NullTime `db:"finished_at"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT DISTINCT ON (account_id) account_id, fingerprint, run_id, finished_at FROM actions
		WHERE target = $1 AND op = 'disable' AND status IN ('done', 'recovered_done') ORDER BY account_id, id DESC`, target); err != nil {
		return nil, fmt.Errorf("pgstore: disables of %s: %w", target, err)
	}
	out := make(map[string]reconcile.Disablement, len(rows))
	for _, r := range rows {
		out[r.AccountID] = reconcile.Disablement{AccountID: r.AccountID, Fingerprint: r.Fingerprint, RunID: r.RunID, At: tt(r.FinishedAt)}
	}
	return out, nil
}

// AddHold records a hold.
func (s *Store) AddHold(ctx context.Context, h reconcile.Hold) (int64, error) {
	var id int64
	err := s.db.GetContext(ctx, &id, `INSERT INTO holds (target, account_id, reason, until, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, h.Target, h.AccountID, h.Reason, t(h.Until), h.CreatedBy, t(h.CreatedAt))
	if err != nil {
		return 0, fmt.Errorf("pgstore: add hold: %w", err)
	}
	return id, nil
}

// RemoveHold ends a hold early; the record stays.
func (s *Store) RemoveHold(ctx context.Context, id int64, by string, at time.Time) (reconcile.Hold, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE holds SET removed_by = $1, removed_at = $2 WHERE id = $3 AND removed_at IS NULL`, by, t(at), id)
	if err != nil {
		return reconcile.Hold{}, fmt.Errorf("pgstore: remove hold: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return reconcile.Hold{}, fmt.Errorf("pgstore: remove hold: no active hold with id %d", id)
	}
	hs, err := s.holds(ctx, `WHERE id = $1`, id)
	if err != nil || len(hs) == 0 {
		return reconcile.Hold{}, err
	}
	return hs[0], nil
}

// Holds lists the holds in effect, newest first: not removed, and not a
// request awaiting approval (RequestHold); all lists every hold ever placed
// or requested.
func (s *Store) Holds(ctx context.Context, all bool) ([]reconcile.Hold, error) {
	if all {
		return s.holds(ctx, ``)
	}
	return s.holds(ctx, `WHERE removed_at IS NULL AND approval != 'requested'`)
}

func (s *Store) holds(ctx context.Context, where string, args ...any) ([]reconcile.Hold, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, target, account_id, reason, until, created_by, created_at, removed_by, removed_at
		FROM holds `+where+` ORDER BY id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: holds: %w", err)
	}
	defer rows.Close()
	var out []reconcile.Hold
	for rows.Next() {
		var h reconcile.Hold
		var until, created, removedAt sql.NullTime
		var removedBy sql.NullString
		if err := rows.Scan(&h.ID, &h.Target, &h.AccountID, &h.Reason, &until, &h.CreatedBy, &created, &removedBy, &removedAt); err != nil {
			return nil, fmt.Errorf("pgstore: holds: %w", err)
		}
		h.Until, h.CreatedAt, h.RemovedAt, h.RemovedBy = tt(until), tt(created), tt(removedAt), removedBy.String
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: holds: %w", err)
	}
	return out, nil
}
