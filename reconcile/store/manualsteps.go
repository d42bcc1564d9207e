package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// OpenManualSteps returns the manual steps still open (the latest record of
// a finding's step has status manual, as AckManualStep requires): of one finding, or of every
// finding when fingerprint is "". Ordered by finding, then step.
func (s *Store) OpenManualSteps(ctx context.Context, fingerprint string) ([]Action, error) {
	var rows []actionRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT a.* FROM actions a JOIN (
			SELECT MAX(id) AS id FROM actions WHERE ? = '' OR fingerprint = ?
			GROUP BY fingerprint, op, arg) l ON l.id = a.id
		WHERE a.status = 'manual' ORDER BY a.fingerprint, a.op, a.arg`, fingerprint, fingerprint); err != nil {
		return nil, fmt.Errorf("store: open manual steps: %w", err)
	}
	out := make([]Action, len(rows))
	for i, r := range rows {
		out[i] = r.action()
	}
	return out, nil
}

// FindingKnown reports whether a finding with this fingerprint was ever
// recorded (open or resolved).
func (s *Store) FindingKnown(ctx context.Context, fingerprint string) (bool, error) {
	var one int
	err := s.db.GetContext(ctx, &one, `SELECT 1 FROM finding_state WHERE fingerprint = ?`, fingerprint)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: finding %s: %w", fingerprint, err)
	}
	return true, nil
}
