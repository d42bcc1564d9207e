package pgstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile/store"
)

// HREventPending is the run_id of an HR event accepted but not yet run
// (store.HREventPending).
const HREventPending = store.HREventPending

// SaveHREvents records the people a webhook named, when it was received,
// in one transaction, and sets each event's ID.
func (s *Store) SaveHREvents(ctx context.Context, evs []store.HREvent) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		for i, e := range evs {
			if err := tx.GetContext(ctx, &evs[i].ID, `INSERT INTO hr_events (request_id, source, employee_id, received_at, run_id) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
				e.RequestID, e.Source, normID(e.EmployeeID), t(e.ReceivedAt), e.RunID); err != nil {
				return fmt.Errorf("pgstore: save hr events: %w", err)
			}
		}
		return nil
	})
}

func normID(id string) string { return strings.ToUpper(strings.TrimSpace(id)) }

// PendingHREvents are the HR events accepted and not yet run, oldest first.
func (s *Store) PendingHREvents(ctx context.Context) ([]store.HREvent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, request_id, source, employee_id, received_at FROM hr_events WHERE run_id = $1 ORDER BY id`, HREventPending)
	if err != nil {
		return nil, fmt.Errorf("pgstore: pending hr events: %w", err)
	}
	defer rows.Close()
	var out []store.HREvent
	for rows.Next() {
		var e store.HREvent
		var at sql.NullTime
		if err := rows.Scan(&e.ID, &e.RequestID, &e.Source, &e.EmployeeID, &at); err != nil {
			return nil, fmt.Errorf("pgstore: pending hr events: %w", err)
		}
		e.ReceivedAt, e.RunID = tt(at), HREventPending
		out = append(out, e)
	}
	return out, rows.Err()
}

// FinishHREvents records that events were run: each event's employee ID (as
// resolved), source and run ID, by event ID, in one transaction.
func (s *Store) FinishHREvents(ctx context.Context, evs []store.HREvent) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		for _, e := range evs {
			if _, err := tx.ExecContext(ctx, `UPDATE hr_events SET employee_id = $1, source = $2, run_id = $3 WHERE id = $4`,
				normID(e.EmployeeID), e.Source, e.RunID, e.ID); err != nil {
				return fmt.Errorf("pgstore: finish hr events: %w", err)
			}
		}
		return nil
	})
}

// FirstHREvent returns the earliest receipt of an HR event about the
// employee in [from, to] (zero time if none).
func (s *Store) FirstHREvent(ctx context.Context, employeeID string, from, to time.Time) (time.Time, error) {
	var v sql.NullTime
	if err := s.db.GetContext(ctx, &v, `SELECT MIN(received_at) FROM hr_events WHERE employee_id = $1 AND received_at >= $2 AND received_at <= $3`,
		normID(employeeID), from, to); err != nil {
		return time.Time{}, fmt.Errorf("pgstore: hr events of %s: %w", employeeID, err)
	}
	return tt(v), nil
}

// ClaimSignature records an accepted webhook signature until expires. It
// returns false when the signature was already claimed and has not expired:
// the request is a replay. Expired signatures are forgotten on the way.
// The signature is the table's primary key: of several processes claiming
// it at once, on any machine, exactly one gets true.
func (s *Store) ClaimSignature(ctx context.Context, signature string, now, expires time.Time) (bool, error) {
	fresh := false
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_signatures WHERE expires_at < $1`, now); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO webhook_signatures (signature, expires_at) VALUES ($1, $2) ON CONFLICT (signature) DO NOTHING`,
			signature, expires)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		fresh = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("pgstore: claim webhook signature: %w", err)
	}
	return fresh, nil
}

// ForgetSignature removes a claimed webhook signature: the request it
// belonged to could not be recorded, and its sender's retry must not be
// taken for a replay.
func (s *Store) ForgetSignature(ctx context.Context, signature string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM webhook_signatures WHERE signature = $1`, signature); err != nil {
		return fmt.Errorf("pgstore: forget webhook signature: %w", err)
	}
	return nil
}
