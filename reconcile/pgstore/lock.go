package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// The run lock, as reconcile/store keeps it on SQLite: a row per lock name
// with the holder's token, a heartbeat the holder refreshes, and a
// generation raised by every acquisition. A lease (token and generation) is
// checked before every action is recorded, so a holder whose lock was taken
// over acts no more. Acquisitions of one name are serialised across every
// process on the database by a transaction-scoped advisory lock; the lease
// check holds the lock row FOR SHARE until the actions are recorded, so a
// takeover is either before the check (and seen) or after the commit.
//
// Heartbeat ages are measured on the callers' clocks (LockPolicy.Now,
// Lease.Now), as on SQLite: machines sharing a store need synchronised
// clocks, and a stale limit well above their skew.

// The lock's types are reconcile/store's, so that a caller written for
// either store (cmd's run lock) passes the same values, and a lease put in a
// context with store.WithLease is the one this store checks.
type (
	// LockHolder is store.LockHolder: who holds (or wants) a lock.
	LockHolder = store.LockHolder
	// LockPolicy is store.LockPolicy: when a held lock may be taken over.
	LockPolicy = store.LockPolicy
	// Lease is store.Lease: one holding of a lock, as the holder knows it.
	Lease = store.Lease
)

// RunLock is the name of the lock every run takes. Taking it marks the runs
// still recorded as running crashed.
const RunLock = store.RunLock

// WithLease returns a context whose writes that act (InsertActions) check
// first that the lease is still held in this store (store.WithLease).
func WithLease(ctx context.Context, l Lease) context.Context { return store.WithLease(ctx, l) }

// LeaseFrom returns the lease a context carries (store.LeaseFrom).
func LeaseFrom(ctx context.Context) (Lease, bool) { return store.LeaseFrom(ctx) }

// checkLease fails with an error wrapping reconcile.ErrLeaseLost when ctx
// carries a lease that is no longer held. Inside a transaction it holds the
// lock row until the transaction ends.
func checkLease(ctx context.Context, q sqlx.QueryerContext) error {
	l, ok := LeaseFrom(ctx)
	if !ok {
		return nil
	}
	var row struct {
		Generation int64     `db:"generation"`
		Heartbeat  time.Time `db:"heartbeat_at"`
	}
	err := sqlx.GetContext(ctx, q, &row, `SELECT generation, heartbeat_at FROM locks WHERE name = $1 AND token = $2 FOR SHARE`, l.Name, l.Token)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: lock %s (generation %d) was taken over", reconcile.ErrLeaseLost, l.Name, l.Generation)
	}
	if err != nil {
		return fmt.Errorf("check lease %s: %w", l.Name, err)
	}
	if row.Generation != l.Generation {
		return fmt.Errorf("%w: lock %s is at generation %d, this run holds %d", reconcile.ErrLeaseLost, l.Name, row.Generation, l.Generation)
	}
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	if age := now().Sub(row.Heartbeat); l.Stale > 0 && age > l.Stale {
		return fmt.Errorf("%w: lock %s was last renewed %s ago (stale after %s)", reconcile.ErrLeaseLost, l.Name, age.Round(time.Millisecond), l.Stale)
	}
	return nil
}

// Lease returns the lease held under token (an error wrapping
// reconcile.ErrLeaseLost if none).
func (s *Store) Lease(ctx context.Context, name, token string) (Lease, error) {
	var gen int64
	err := s.db.GetContext(ctx, &gen, `SELECT generation FROM locks WHERE name = $1 AND token = $2`, name, token)
	if errors.Is(err, sql.ErrNoRows) {
		return Lease{}, fmt.Errorf("pgstore: lock %s: %w", name, reconcile.ErrLeaseLost)
	}
	if err != nil {
		return Lease{}, fmt.Errorf("pgstore: lock %s: %w", name, err)
	}
	return Lease{Name: name, Token: token, Generation: gen}, nil
}

// TryLock takes the named lock for me, or reports who holds it. A lock held
// by a dead process or with a heartbeat older than p.Stale is taken over;
// the previous holder is returned with tookOver=true so the caller can say
// so. Taking it again under the same token renews it (a new generation).
func (s *Store) TryLock(ctx context.Context, name string, me LockHolder, p LockPolicy) (got bool, other LockHolder, tookOver bool, err error) {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		got, other, tookOver = false, LockHolder{}, false
		if _, e := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, lockSpace, name); e != nil {
			return e
		}
		var row struct {
			Token      string    `db:"token"`
			Host       string    `db:"host"`
			PID        int       `db:"pid"`
			Purpose    string    `db:"purpose"`
			Acquired   time.Time `db:"acquired_at"`
			Heartbeat  time.Time `db:"heartbeat_at"`
			Generation int64     `db:"generation"`
		}
		e := tx.GetContext(ctx, &row, `SELECT token, host, pid, purpose, acquired_at, heartbeat_at, generation FROM locks WHERE name = $1 FOR UPDATE`, name)
		held := e == nil
		switch {
		case errors.Is(e, sql.ErrNoRows):
		case e != nil:
			return e
		default:
			other = LockHolder{Token: row.Token, Host: row.Host, PID: row.PID, Purpose: row.Purpose,
				AcquiredAt: row.Acquired.UTC(), HeartbeatAt: row.Heartbeat.UTC(), Generation: row.Generation}
			stale := p.Stale > 0 && now().Sub(other.HeartbeatAt) > p.Stale
			dead := p.Dead != nil && p.Dead(other)
			if other.Token != me.Token && !stale && !dead {
				return nil
			}
			tookOver = other.Token != me.Token
		}
		at := now()
		if _, e := tx.ExecContext(ctx, `INSERT INTO locks (name, token, host, pid, purpose, acquired_at, heartbeat_at, generation)
			VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
			ON CONFLICT (name) DO UPDATE SET token = excluded.token, host = excluded.host, pid = excluded.pid, purpose = excluded.purpose,
				acquired_at = excluded.acquired_at, heartbeat_at = excluded.heartbeat_at, generation = excluded.generation`,
			name, me.Token, me.Host, me.PID, me.Purpose, at, other.Generation+1); e != nil {
			return e
		}
		// Every run holds this lock: a run still marked running now was
		// killed mid-way. It ended, at the latest, at its holder's last
		// heartbeat.
		if name == RunLock && !(held && !tookOver) {
			reason := "crashed: the process running it stopped without finishing it"
			var end any
			if held && tookOver {
				end = other.HeartbeatAt
				reason = fmt.Sprintf("crashed: its process stopped without finishing it: %s", other.String())
			}
			if _, e := tx.ExecContext(ctx, `UPDATE runs SET status = 'crashed', finished_at = $1, error = $2 WHERE status = 'running'`, end, reason); e != nil {
				return e
			}
		}
		got = true
		return nil
	})
	if err != nil {
		return false, LockHolder{}, false, fmt.Errorf("pgstore: lock %s: %w", name, err)
	}
	return got, other, tookOver, nil
}

// lockSpace is the first key of the advisory locks that serialise
// acquisitions of a lock (the second is the hash of its name).
const lockSpace = 0x61726c6b // "arlk"

// Heartbeat refreshes a held lock. It returns an error wrapping
// reconcile.ErrLeaseLost when the lock is no longer ours.
func (s *Store) Heartbeat(ctx context.Context, name, token string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE locks SET heartbeat_at = $1 WHERE name = $2 AND token = $3`, at, name, token)
	if err != nil {
		return fmt.Errorf("pgstore: heartbeat %s: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("pgstore: heartbeat %s: %w", name, err)
	} else if n == 0 {
		return fmt.Errorf("pgstore: lock %s: %w: no longer held by this process", name, reconcile.ErrLeaseLost)
	}
	return nil
}

// Unlock releases the lock if it is still ours.
func (s *Store) Unlock(ctx context.Context, name, token string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM locks WHERE name = $1 AND token = $2`, name, token); err != nil {
		return fmt.Errorf("pgstore: unlock %s: %w", name, err)
	}
	return nil
}
