package store

import (
	"context"
	"fmt"
)

// FinishedRunsMark changes whenever a run finishes or is marked crashed:
// it names the finished runs (their count, newest end and highest ID), so
// that a reader of what runs leave behind (serve's /metrics) reads the
// store again only when it changed.
func (s *Store) FinishedRunsMark(ctx context.Context) (string, error) {
	var m struct {
		N    int64  `db:"n"`
		Last string `db:"last"`
		Max  int64  `db:"max_id"`
	}
	if err := s.db.GetContext(ctx, &m, `SELECT COUNT(*) AS n, COALESCE(MAX(finished_at), '') AS last, COALESCE(MAX(id), 0) AS max_id FROM runs WHERE status != 'running'`); err != nil {
		return "", fmt.Errorf("store: finished runs: %w", err)
	}
	return fmt.Sprintf("%d %s %d", m.N, m.Last, m.Max), nil
}
