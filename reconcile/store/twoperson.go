package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile"
)

// Two-person overrides (issue 16 part 3): a hold placed while approval is
// required, and every exemption added from the command line, is a request
// until someone other than the requester approves it.

// The approval states of a hold.
const (
	HoldRequested = "requested"
	HoldApproved  = "approved"
)

// ErrSamePerson is returned when the requester tries to approve their own
// request.
var ErrSamePerson = errors.New("the approver must be someone other than the requester")

// samePerson compares two names as people write them.
func samePerson(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// HoldApproval is the approval state of a hold: Approval is HoldRequested
// until someone other than its CreatedBy approved it (HoldApproved, by
// ApprovedBy at ApprovedAt); "" needs no approval.
type HoldApproval struct {
	Approval   string    `json:"approval,omitempty"`
	ApprovedBy string    `json:"approved_by,omitempty"`
	ApprovedAt time.Time `json:"approved_at,omitzero"`
}

// RequestHold records a hold that takes effect only once someone other
// than h.CreatedBy approves it (ApproveHold); until then Holds(ctx, false)
// leaves it out, so no run applies it.
func (s *Store) RequestHold(ctx context.Context, h Hold) (int64, error) {
	var id int64
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO holds (target, account_id, reason, until, created_by, created_at, approval) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			h.Target, h.AccountID, h.Reason, T(h.Until), h.CreatedBy, T(h.CreatedAt), HoldRequested)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: request hold: %w", err)
	}
	return id, nil
}

// HoldApprovals returns the approval state of every hold that needed one,
// by hold ID.
func (s *Store) HoldApprovals(ctx context.Context) (map[int64]HoldApproval, error) {
	var rows []struct {
		ID         int64          `db:"id"`
		Approval   string         `db:"approval"`
		ApprovedBy string         `db:"approved_by"`
		ApprovedAt sql.NullString `db:"approved_at"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT id, approval, approved_by, approved_at FROM holds WHERE approval != ''`); err != nil {
		return nil, fmt.Errorf("store: hold approvals: %w", err)
	}
	out := make(map[int64]HoldApproval, len(rows))
	for _, r := range rows {
		out[r.ID] = HoldApproval{Approval: r.Approval, ApprovedBy: r.ApprovedBy, ApprovedAt: mustT(r.ApprovedAt)}
	}
	return out, nil
}

// ApproveHold approves the requested hold id on behalf of by, at: the hold
// takes effect. It refuses a hold that is not an open request (removed,
// approved, needing no approval), one that has expired, and an approval by
// the requester.
func (s *Store) ApproveHold(ctx context.Context, id int64, by string, at time.Time) (Hold, error) {
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		var row struct {
			CreatedBy string         `db:"created_by"`
			Until     sql.NullString `db:"until"`
			Approval  string         `db:"approval"`
			RemovedAt sql.NullString `db:"removed_at"`
		}
		err := tx.GetContext(ctx, &row, `SELECT created_by, until, approval, removed_at FROM holds WHERE id = ?`, id)
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
		case !mustT(row.Until).After(at):
			return fmt.Errorf("hold %d expired on %s before it was approved", id, mustT(row.Until).Format(time.RFC3339))
		case samePerson(row.CreatedBy, by):
			return fmt.Errorf("hold %d was requested by %s: %w", id, row.CreatedBy, ErrSamePerson)
		}
		_, err = tx.ExecContext(ctx, `UPDATE holds SET approval = ?, approved_by = ?, approved_at = ? WHERE id = ?`, HoldApproved, by, T(at), id)
		return err
	})
	if err != nil {
		return Hold{}, fmt.Errorf("store: approve hold: %w", err)
	}
	hs, err := s.Holds(ctx, true)
	for _, h := range hs {
		if h.ID == id {
			return h, err
		}
	}
	return Hold{}, errors.Join(err, fmt.Errorf("store: no hold with id %d", id))
}

// Exemption is an exemption added from the command line: it puts one
// account out of enforcement until Expires, once ApprovedBy approved it.
type Exemption struct {
	ID          int64     `json:"id"`
	Target      string    `json:"target"`
	AccountID   string    `json:"account_id"`
	Owner       string    `json:"owner"`
	Reason      string    `json:"reason"`
	Expires     time.Time `json:"expires"`
	RequestedBy string    `json:"requested_by"`
	RequestedAt time.Time `json:"requested_at"`
	ApprovedBy  string    `json:"approved_by,omitempty"`
	ApprovedAt  time.Time `json:"approved_at,omitzero"`
	RemovedBy   string    `json:"removed_by,omitempty"`
	RemovedAt   time.Time `json:"removed_at,omitzero"`
}

// AddExemption records a requested exemption and returns its ID.
func (s *Store) AddExemption(ctx context.Context, e Exemption) (int64, error) {
	var id int64
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO exemptions (target, account_id, owner, reason, expires, requested_by, requested_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, e.Target, e.AccountID, e.Owner, e.Reason, T(e.Expires), e.RequestedBy, T(e.RequestedAt))
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: add exemption: %w", err)
	}
	return id, nil
}

// ApproveExemption approves the requested exemption id on behalf of by: it
// applies from the next run. It refuses what ApproveHold refuses.
func (s *Store) ApproveExemption(ctx context.Context, id int64, by string, at time.Time) (Exemption, error) {
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		var row struct {
			RequestedBy string         `db:"requested_by"`
			Expires     sql.NullString `db:"expires"`
			ApprovedBy  string         `db:"approved_by"`
			RemovedAt   sql.NullString `db:"removed_at"`
		}
		err := tx.GetContext(ctx, &row, `SELECT requested_by, expires, approved_by, removed_at FROM exemptions WHERE id = ?`, id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("no exemption with id %d", id)
		case err != nil:
			return err
		case row.RemovedAt.Valid:
			return fmt.Errorf("exemption %d was removed", id)
		case row.ApprovedBy != "":
			return fmt.Errorf("exemption %d is already approved by %s", id, row.ApprovedBy)
		case (reconcile.Exemption{Expires: reconcile.Date{Time: mustT(row.Expires)}}).Expired(at):
			// The engine's rule: a date without a time covers that day.
			return fmt.Errorf("exemption %d expired on %s before it was approved", id, mustT(row.Expires).Format(time.RFC3339))
		case samePerson(row.RequestedBy, by):
			return fmt.Errorf("exemption %d was requested by %s: %w", id, row.RequestedBy, ErrSamePerson)
		}
		_, err = tx.ExecContext(ctx, `UPDATE exemptions SET approved_by = ?, approved_at = ? WHERE id = ?`, by, T(at), id)
		return err
	})
	if err != nil {
		return Exemption{}, fmt.Errorf("store: approve exemption: %w", err)
	}
	return s.exemption(ctx, id)
}

// RemoveExemption ends an exemption (or withdraws a request); the record
// stays.
func (s *Store) RemoveExemption(ctx context.Context, id int64, by string, at time.Time) (Exemption, error) {
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE exemptions SET removed_by = ?, removed_at = ? WHERE id = ? AND removed_at IS NULL`, by, T(at), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("no exemption in effect or requested with id %d", id)
		}
		return nil
	})
	if err != nil {
		return Exemption{}, fmt.Errorf("store: remove exemption: %w", err)
	}
	return s.exemption(ctx, id)
}

func (s *Store) exemption(ctx context.Context, id int64) (Exemption, error) {
	es, err := s.Exemptions(ctx, true)
	for _, e := range es {
		if e.ID == id {
			return e, err
		}
	}
	return Exemption{}, errors.Join(err, fmt.Errorf("store: no exemption with id %d", id))
}

// Exemptions lists the exemptions added from the command line, newest
// first: requested and approved ones not removed, or (all) every one.
func (s *Store) Exemptions(ctx context.Context, all bool) ([]Exemption, error) {
	q := `SELECT id, target, account_id, owner, reason, expires, requested_by, requested_at, approved_by, approved_at, removed_by, removed_at FROM exemptions`
	if !all {
		q += ` WHERE removed_at IS NULL`
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("store: exemptions: %w", err)
	}
	defer rows.Close()
	var out []Exemption
	for rows.Next() {
		var e Exemption
		var expires, requested, approved, removed sql.NullString
		if err := rows.Scan(&e.ID, &e.Target, &e.AccountID, &e.Owner, &e.Reason, &expires, &e.RequestedBy, &requested,
			&e.ApprovedBy, &approved, &e.RemovedBy, &removed); err != nil {
			return nil, fmt.Errorf("store: exemptions: %w", err)
		}
		e.Expires, e.RequestedAt, e.ApprovedAt, e.RemovedAt = mustT(expires), mustT(requested), mustT(approved), mustT(removed)
		out = append(out, e)
	}
	return out, rows.Err()
}

// ApprovedExemptions are the exemptions a run applies: approved and not
// removed (expired ones too, so that their expiry is reported), oldest first.
func (s *Store) ApprovedExemptions(ctx context.Context) ([]Exemption, error) {
	es, err := s.Exemptions(ctx, false)
	if err != nil {
		return nil, err
	}
	var out []Exemption
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].ApprovedBy != "" {
			out = append(out, es[i])
		}
	}
	return out, nil
}
