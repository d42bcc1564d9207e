package pgstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile/store"
)

// OutboxSave queues items of a kind in one transaction, replacing pending
// items with the same ID. Two processes saving the same IDs at once take the
// rows' locks in ID order and do not deadlock; the later save wins.
func (s *Store) OutboxSave(ctx context.Context, kind string, items []store.OutboxItem) error {
	items = slices.Clone(items)
	slices.SortStableFunc(items, func(a, b store.OutboxItem) int { return strings.Compare(a.ID, b.ID) })
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		for _, it := range items {
			if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (kind, id, queued_at, body) VALUES ($1, $2, $3, $4)
				ON CONFLICT (kind, id) DO UPDATE SET queued_at = excluded.queued_at, body = excluded.body`,
				kind, it.ID, t(it.Queued), string(it.Body)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgstore: outbox %s: save: %w", kind, err)
	}
	return nil
}

// OutboxPending returns the pending items of a kind in ID (byte) order.
func (s *Store) OutboxPending(ctx context.Context, kind string) ([]store.OutboxItem, error) {
	var rows []struct {
		ID     string     `db:"id"`
		Queued *time.Time `db:"queued_at"`
		Body   string     `db:"body"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT id, queued_at, body FROM outbox WHERE kind = $1 ORDER BY id COLLATE "C"`, kind); err != nil {
		return nil, fmt.Errorf("pgstore: outbox %s: %w", kind, err)
	}
	out := make([]store.OutboxItem, len(rows))
	for i, r := range rows {
		out[i] = store.OutboxItem{ID: r.ID, Body: []byte(r.Body)}
		if r.Queued != nil {
			out[i].Queued = r.Queued.UTC()
		}
	}
	return out, nil
}

// OutboxDone removes a sent item.
func (s *Store) OutboxDone(ctx context.Context, kind, id string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM outbox WHERE kind = $1 AND id = $2`, kind, id); err != nil {
		return fmt.Errorf("pgstore: outbox %s: done %s: %w", kind, id, err)
	}
	return nil
}
