package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// HREventPending is the run_id of an HR event accepted but not yet run (a
// webhook answered 202): serve runs it, after a restart if need be. Events
// recorded before pending ones were kept have run_id 0.
const HREventPending int64 = -1

// PendingHREvents are the HR events accepted and not yet run, oldest first.
func (s *Store) PendingHREvents(ctx context.Context) ([]HREvent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, request_id, source, employee_id, received_at FROM hr_events WHERE run_id = ? ORDER BY id`, HREventPending)
	if err != nil {
		return nil, fmt.Errorf("store: pending hr events: %w", err)
	}
	defer rows.Close()
	var out []HREvent
	for rows.Next() {
		var e HREvent
		var at sql.NullString
		if err := rows.Scan(&e.ID, &e.RequestID, &e.Source, &e.EmployeeID, &at); err != nil {
			return nil, fmt.Errorf("store: pending hr events: %w", err)
		}
		if e.ReceivedAt, err = ParseT(at); err != nil {
			return nil, fmt.Errorf("store: pending hr events: %w", err)
		}
		e.RunID = HREventPending
		out = append(out, e)
	}
	return out, rows.Err()
}

// FinishHREvents records that events were run: each event's employee ID (as
// resolved), source and run ID, by event ID.
func (s *Store) FinishHREvents(ctx context.Context, evs []HREvent) error {
	return s.write(ctx, func(tx *sqlx.Tx) error {
		for _, e := range evs {
			if _, err := tx.ExecContext(ctx, `UPDATE hr_events SET employee_id = ?, source = ?, run_id = ? WHERE id = ?`,
				strings.ToUpper(strings.TrimSpace(e.EmployeeID)), e.Source, e.RunID, e.ID); err != nil {
				return fmt.Errorf("store: finish hr events: %w", err)
			}
		}
		return nil
	})
}

// ForgetSignature removes a claimed webhook signature: the request it
// belonged to could not be recorded, and its sender's retry must not be
// taken for a replay.
func (s *Store) ForgetSignature(ctx context.Context, signature string) error {
	return s.write(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_signatures WHERE signature = ?`, signature); err != nil {
			return fmt.Errorf("store: forget webhook signature: %w", err)
		}
		return nil
	})
}
