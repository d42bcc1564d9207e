package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// OutboxItem is one unit of work kept for an outside system.
type OutboxItem struct {
	ID     string    `db:"id"`
	Queued time.Time `db:"-"`
	Body   []byte    `db:"body"`
}

// OutboxSave queues items of a kind, replacing pending items with the same ID.
func (s *Store) OutboxSave(ctx context.Context, kind string, items []OutboxItem) error {
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO outbox (kind, id, queued_at, body) VALUES (?, ?, ?, ?)
			ON CONFLICT(kind, id) DO UPDATE SET queued_at = excluded.queued_at, body = excluded.body`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, it := range items {
			if _, err := st.ExecContext(ctx, kind, it.ID, T(it.Queued), string(it.Body)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: outbox %s: save: %w", kind, err)
	}
	return nil
}

// OutboxPending returns the pending items of a kind in ID order.
func (s *Store) OutboxPending(ctx context.Context, kind string) ([]OutboxItem, error) {
	var rows []struct {
		ID     string `db:"id"`
		Queued string `db:"queued_at"`
		Body   string `db:"body"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT id, queued_at, body FROM outbox WHERE kind = ? ORDER BY id`, kind); err != nil {
		return nil, fmt.Errorf("store: outbox %s: %w", kind, err)
	}
	out := make([]OutboxItem, len(rows))
	for i, r := range rows {
		q, _ := time.Parse(timeLayout, r.Queued)
		out[i] = OutboxItem{ID: r.ID, Queued: q, Body: []byte(r.Body)}
	}
	return out, nil
}

// OutboxDone removes a sent item.
func (s *Store) OutboxDone(ctx context.Context, kind, id string) error {
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE kind = ? AND id = ?`, kind, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: outbox %s: done %s: %w", kind, id, err)
	}
	return nil
}
