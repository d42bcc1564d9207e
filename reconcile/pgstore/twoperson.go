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

// Two-person overrides, as reconcile/store keeps them: a hold placed while
// approval is required, and every exemption added from the command line, is
// a request until someone other than the requester approves it. An approval
// reads and updates its row under FOR UPDATE, so two approvers at once
// cannot both approve (the second is told it is already approved).

// The approval states of a hold (reconcile/store's).
const (
	HoldRequested = store.HoldRequested
	HoldApproved  = store.HoldApproved
)

// ErrSamePerson is returned when the requester tries to approve their own
// request (store.ErrSamePerson).
var ErrSamePerson = store.ErrSamePerson

func samePerson(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// RequestHold records a hold that takes effect only once someone other
// than h.CreatedBy approves it (ApproveHold); until then Holds(ctx, false)
// leaves it out, so no run applies it.
func (s *Store) RequestHold(ctx context.Context, h reconcile.Hold) (int64, error) {
	var id int64
	err := s.db.GetContext(ctx, &id, `INSERT INTO holds (target, account_id, reason, until, created_by, created_at, approval)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, h.Target, h.AccountID, h.Reason, t(h.Until), h.CreatedBy, t(h.CreatedAt), HoldRequested)
	if err != nil {
		return 0, fmt.Errorf("pgstore: request hold: %w", err)
	}
	return id, nil
}

// HoldApprovals returns the approval state of every hold that needed one,
// by hold ID.
func (s *Store) HoldApprovals(ctx context.Context) (map[int64]store.HoldApproval, error) {
	var rows []struct {
		ID         int64        `db:"id"`
		Approval   string       `db:"approval"`
		ApprovedBy string       `db:"approved_by"`
		ApprovedAt sql.NullTime `db:"approved_at"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT id, approval, approved_by, approved_at FROM holds WHERE approval != ''`); err != nil {
		return nil, fmt.Errorf("pgstore: hold approvals: %w", err)
	}
	out := make(map[int64]store.HoldApproval, len(rows))
	for _, r := range rows {
		out[r.ID] = store.HoldApproval{Approval: r.Approval, ApprovedBy: r.ApprovedBy, ApprovedAt: tt(r.ApprovedAt)}
	}
	return out, nil
}

// ApproveHold approves the requested hold id on behalf of by, at: the hold
// takes effect. It refuses a hold that is not an open request (removed,
// approved, needing no approval), one that has expired, and an approval by
// the requester.
func (s *Store) ApproveHold(ctx context.Context, id int64, by string, at time.Time) (reconcile.Hold, error) {
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var row struct {
			CreatedBy string       `db:"created_by"`
			Until     sql.NullTime `db:"until"`
			Approval  string       `db:"approval"`
			RemovedAt sql.NullTime `db:"removed_at"`
		}
		err := tx.GetContext(ctx, &row, `SELECT created_by, until, approval, removed_at FROM holds WHERE id = $1 FOR UPDATE`, id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("no hold with id %d", id)
		case err != nil:
			return err
		case row.RemovedAt.Valid:
			return fmt.Errorf("hold %d was removed", id)
		case row.Approval == HoldApproved:
			return fmt.Errorf("hold %d is already approved", id)
		case row.Approval != HoldRequested:
			return fmt.Errorf("hold %d needed no approval: it is in effect", id)
		case !tt(row.Until).After(at):
			return fmt.Errorf("hold %d expired on %s before it was approved", id, tt(row.Until).Format(time.RFC3339))
		case samePerson(row.CreatedBy, by):
			return fmt.Errorf("hold %d was requested by %s: %w", id, row.CreatedBy, ErrSamePerson)
		}
		_, err = tx.ExecContext(ctx, `UPDATE holds SET approval = $1, approved_by = $2, approved_at = $3 WHERE id = $4`, HoldApproved, by, t(at), id)
		return err
	})
	if err != nil {
		return reconcile.Hold{}, fmt.Errorf("pgstore: approve hold: %w", err)
	}
	hs, err := s.holds(ctx, `WHERE id = $1`, id)
	if err != nil {
		return reconcile.Hold{}, err
	}
	if len(hs) == 0 {
		return reconcile.Hold{}, fmt.Errorf("pgstore: no hold with id %d", id)
	}
	return hs[0], nil
}

// AddExemption records a requested exemption and returns its ID.
func (s *Store) AddExemption(ctx context.Context, e store.Exemption) (int64, error) {
	var id int64
	err := s.db.GetContext(ctx, &id, `INSERT INTO exemptions (target, account_id, owner, reason, expires, requested_by, requested_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, e.Target, e.AccountID, e.Owner, e.Reason, t(e.Expires), e.RequestedBy, t(e.RequestedAt))
	if err != nil {
		return 0, fmt.Errorf("pgstore: add exemption: %w", err)
	}
	return id, nil
}

// ApproveExemption approves the requested exemption id on behalf of by: it
// applies from the next run. It refuses what ApproveHold refuses.
func (s *Store) ApproveExemption(ctx context.Context, id int64, by string, at time.Time) (store.Exemption, error) {
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var row struct {
			RequestedBy string       `db:"requested_by"`
			Expires     sql.NullTime `db:"expires"`
			ApprovedBy  string       `db:"approved_by"`
			RemovedAt   sql.NullTime `db:"removed_at"`
		}
		err := tx.GetContext(ctx, &row, `SELECT requested_by, expires, approved_by, removed_at FROM exemptions WHERE id = $1 FOR UPDATE`, id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("no exemption with id %d", id)
		case err != nil:
			return err
		case row.RemovedAt.Valid:
			return fmt.Errorf("exemption %d was removed", id)
		case row.ApprovedBy != "":
			return fmt.Errorf("exemption %d is already approved by %s", id, row.ApprovedBy)
		case (reconcile.Exemption{Expires: reconcile.Date{Time: tt(row.Expires)}}).Expired(at):
			// The engine's rule: a date without a time covers that day.
			return fmt.Errorf("exemption %d expired on %s before it was approved", id, tt(row.Expires).Format(time.RFC3339))
		case samePerson(row.RequestedBy, by):
			return fmt.Errorf("exemption %d was requested by %s: %w", id, row.RequestedBy, ErrSamePerson)
		}
		_, err = tx.ExecContext(ctx, `UPDATE exemptions SET approved_by = $1, approved_at = $2 WHERE id = $3`, by, t(at), id)
		return err
	})
	if err != nil {
		return store.Exemption{}, fmt.Errorf("pgstore: approve exemption: %w", err)
	}
	return s.exemption(ctx, id)
}

// RemoveExemption ends an exemption (or withdraws a request); the record
// stays.
func (s *Store) RemoveExemption(ctx context.Context, id int64, by string, at time.Time) (store.Exemption, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE exemptions SET removed_by = $1, removed_at = $2 WHERE id = $3 AND removed_at IS NULL`, by, t(at), id)
	if err != nil {
		return store.Exemption{}, fmt.Errorf("pgstore: remove exemption: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.Exemption{}, fmt.Errorf("pgstore: remove exemption: no exemption in effect or requested with id %d", id)
	}
	return s.exemption(ctx, id)
}

func (s *Store) exemption(ctx context.Context, id int64) (store.Exemption, error) {
	es, err := s.exemptions(ctx, `WHERE id = $1`, id)
	if err != nil {
		return store.Exemption{}, err
	}
	if len(es) == 0 {
		return store.Exemption{}, fmt.Errorf("pgstore: no exemption with id %d", id)
	}
	return es[0], nil
}

// Exemptions lists the exemptions added from the command line, newest
// first: requested and approved ones not removed, or (all) every one.
func (s *Store) Exemptions(ctx context.Context, all bool) ([]store.Exemption, error) {
	if all {
		return s.exemptions(ctx, ``)
	}
	return s.exemptions(ctx, `WHERE removed_at IS NULL`)
}

func (s *Store) exemptions(ctx context.Context, where string, args ...any) ([]store.Exemption, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, target, account_id, owner, reason, expires, requested_by, requested_at, approved_by, approved_at,
		removed_by, removed_at FROM exemptions `+where+` ORDER BY id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: exemptions: %w", err)
	}
	defer rows.Close()
	var out []store.Exemption
	for rows.Next() {
		var e store.Exemption
		var expires, requested, approved, removed sql.NullTime
		if err := rows.Scan(&e.ID, &e.Target, &e.AccountID, &e.Owner, &e.Reason, &expires, &e.RequestedBy, &requested,
			&e.ApprovedBy, &approved, &e.RemovedBy, &removed); err != nil {
			return nil, fmt.Errorf("pgstore: exemptions: %w", err)
		}
		e.Expires, e.RequestedAt, e.ApprovedAt, e.RemovedAt = tt(expires), tt(requested), tt(approved), tt(removed)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: exemptions: %w", err)
	}
	return out, nil
}

// ApprovedExemptions are the exemptions a run applies: approved and not
// removed (expired ones too, so that their expiry is reported), oldest first.
func (s *Store) ApprovedExemptions(ctx context.Context) ([]store.Exemption, error) {
	es, err := s.exemptions(ctx, `WHERE removed_at IS NULL AND approved_by != ''`)
	if err != nil {
		return nil, err
	}
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es, nil
}
