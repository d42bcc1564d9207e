package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile"
)

// LockHolder is who holds (or wants) a lock.
type LockHolder struct {
	Token       string    `db:"token" json:"token"`
	Host        string    `db:"host" json:"host"`
	PID         int       `db:"pid" json:"pid"`
	Purpose     string    `db:"purpose" json:"purpose"`
	AcquiredAt  time.Time `db:"-" json:"acquired_at"`
	HeartbeatAt time.Time `db:"-" json:"heartbeat_at"`
	// Generation is the lease generation: raised by every acquisition.
	Generation int64 `db:"generation" json:"generation"`
}

// Lease is one holding of a lock, as the holder knows it: its token and
// generation (the fencing token) and how old its heartbeat may get before
// it must stop acting.
type Lease struct {
	Name       string
	Token      string
	Generation int64
	Stale      time.Duration    // 0: no expiry check
	Now        func() time.Time // nil: time.Now
}

type leaseKey struct{}

// WithLease returns a context whose writes that act (InsertActions) check
// first that the lease is still held.
func WithLease(ctx context.Context, l Lease) context.Context {
	return context.WithValue(ctx, leaseKey{}, l)
}

// LeaseFrom returns the lease a context carries.
func LeaseFrom(ctx context.Context) (Lease, bool) {
	l, ok := ctx.Value(leaseKey{}).(Lease)
	return l, ok
}

// ErrLeaseLost is returned by a write that acts when the lease its context
// carries is no longer held (taken over, or its heartbeat older than Stale).
var ErrLeaseLost = reconcile.ErrLeaseLost

// checkLease fails with ErrLeaseLost when ctx carries a lease that is no
// longer held. It runs inside the write transaction that records an action,
// so a takeover (itself a write transaction) is either before it (and seen)
// or after it.
func checkLease(ctx context.Context, tx interface {
	GetContext(ctx context.Context, dest any, query string, args ...any) error
}) error {
	l, ok := LeaseFrom(ctx)
	if !ok {
		return nil
	}
	var row struct {
		Generation int64  `db:"generation"`
		Heartbeat  string `db:"heartbeat_at"`
	}
	err := tx.GetContext(ctx, &row, `SELECT generation, heartbeat_at FROM locks WHERE name = ? AND token = ?`, l.Name, l.Token)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: lock %s (generation %d) was taken over", ErrLeaseLost, l.Name, l.Generation)
	}
	if err != nil {
		return err
	}
	if row.Generation != l.Generation {
		return fmt.Errorf("%w: lock %s is at generation %d, this run holds %d", ErrLeaseLost, l.Name, row.Generation, l.Generation)
	}
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	hb := mustT(sql.NullString{String: row.Heartbeat, Valid: true})
	if l.Stale > 0 && now().Sub(hb) > l.Stale {
		return fmt.Errorf("%w: lock %s was last renewed %s ago (stale after %s)", ErrLeaseLost, l.Name, now().Sub(hb).Round(time.Millisecond), l.Stale)
	}
	return nil
}

// Lease returns the lease held under token (ErrLeaseLost if none).
func (s *Store) Lease(ctx context.Context, name, token string) (Lease, error) {
	var gen int64
	err := s.db.GetContext(ctx, &gen, `SELECT generation FROM locks WHERE name = ? AND token = ?`, name, token)
	if errors.Is(err, sql.ErrNoRows) {
		return Lease{}, fmt.Errorf("store: lock %s: %w", name, ErrLeaseLost)
	}
	if err != nil {
		return Lease{}, fmt.Errorf("store: lock %s: %w", name, err)
	}
	return Lease{Name: name, Token: token, Generation: gen}, nil
}

// String names the holder for people: "job nightly (pid 123 on host-a, since ...)".
func (h LockHolder) String() string {
	return fmt.Sprintf("%s (pid %d on %s, since %s, last heartbeat %s)", h.Purpose, h.PID, h.Host,
		h.AcquiredAt.Format(time.RFC3339), h.HeartbeatAt.Format(time.RFC3339))
}

// LockPolicy says when a held lock may be taken over.
type LockPolicy struct {
	// Stale is how old a heartbeat may be before the lock is taken over.
	Stale time.Duration
	// Dead reports whether the holder's process is known to be gone (it is
	// only asked about holders on this host; nil: never).
	Dead func(h LockHolder) bool
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// RunLock is the name of the lock every run takes. Taking it marks the runs
// still recorded as running crashed.
const RunLock = "run"

// TryLock takes the named lock for me, or reports who holds it. A lock held
// by a dead process or with a heartbeat older than p.Stale is taken over;
// the previous holder is returned with took=true so the caller can say so.
func (s *Store) TryLock(ctx context.Context, name string, me LockHolder, p LockPolicy) (got bool, other LockHolder, tookOver bool, err error) {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	err = s.write(ctx, func(tx *sqlx.Tx) error {
		var row struct {
			LockHolder
			Acquired  string `db:"acquired_at"`
			Heartbeat string `db:"heartbeat_at"`
		}
		e := tx.GetContext(ctx, &row, `SELECT token, host, pid, purpose, acquired_at, heartbeat_at, generation FROM locks WHERE name = ?`, name)
		held := e == nil
		switch {
		case errors.Is(e, sql.ErrNoRows):
		case e != nil:
			return e
		default:
			other = row.LockHolder
			other.AcquiredAt = mustT(sql.NullString{String: row.Acquired, Valid: true})
			other.HeartbeatAt = mustT(sql.NullString{String: row.Heartbeat, Valid: true})
			stale := p.Stale > 0 && now().Sub(other.HeartbeatAt) > p.Stale
			dead := p.Dead != nil && p.Dead(other)
			if other.Token != me.Token && !stale && !dead {
				return nil
			}
			tookOver = other.Token != me.Token
		}
		t := T(now())
		if _, e := tx.ExecContext(ctx, `INSERT OR REPLACE INTO locks (name, token, host, pid, purpose, acquired_at, heartbeat_at, generation) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			name, me.Token, me.Host, me.PID, me.Purpose, t, t, other.Generation+1); e != nil {
			return e
		}
		// Every run holds this lock: a run still marked running now was
		// killed mid-way. It ended, at the latest, at its holder's last
		// heartbeat.
		if name == RunLock && !(held && !tookOver) {
			reason := "crashed: the process running it stopped without finishing it"
			var end any
			if held && tookOver {
				end = T(other.HeartbeatAt)
				reason = fmt.Sprintf("crashed: its process stopped without finishing it: %s", other.String())
			}
			if _, e := tx.ExecContext(ctx, `UPDATE runs SET status = 'crashed', finished_at = ?, error = ? WHERE status = 'running'`, end, reason); e != nil {
				return e
			}
		}
		got = true
		return nil
	})
	if err != nil {
		return false, LockHolder{}, false, fmt.Errorf("store: lock %s: %w", name, err)
	}
	return got, other, tookOver, nil
}

// Heartbeat refreshes a held lock. It returns an error when the lock is no
// longer ours (taken over as stale), which the holder must treat as lost.
func (s *Store) Heartbeat(ctx context.Context, name, token string, at time.Time) error {
	return s.write(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE locks SET heartbeat_at = ? WHERE name = ? AND token = ?`, T(at), name, token)
		if err != nil {
			return fmt.Errorf("store: heartbeat %s: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: lock %s: %w: no longer held by this process", name, ErrLeaseLost)
		}
		return nil
	})
}

// Unlock releases the lock if it is still ours.
func (s *Store) Unlock(ctx context.Context, name, token string) error {
	return s.write(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM locks WHERE name = ? AND token = ?`, name, token)
		if err != nil {
			return fmt.Errorf("store: unlock %s: %w", name, err)
		}
		return nil
	})
}

// HREvent is one person named by an HR webhook.
type HREvent struct {
	ID         int64 // set by SaveHREvents
	RequestID  string
	Source     string
	EmployeeID string
	ReceivedAt time.Time
	RunID      int64
}

// SaveHREvents records the people a webhook named, when it was received,
// in one transaction, and sets each event's ID.
func (s *Store) SaveHREvents(ctx context.Context, evs []HREvent) error {
	return s.write(ctx, func(tx *sqlx.Tx) error {
		for i, e := range evs {
			res, err := tx.ExecContext(ctx, `INSERT INTO hr_events (request_id, source, employee_id, received_at, run_id) VALUES (?, ?, ?, ?, ?)`,
				e.RequestID, e.Source, strings.ToUpper(strings.TrimSpace(e.EmployeeID)), T(e.ReceivedAt), e.RunID)
			if err != nil {
				return fmt.Errorf("store: save hr events: %w", err)
			}
			if evs[i].ID, err = res.LastInsertId(); err != nil {
				return fmt.Errorf("store: save hr events: %w", err)
			}
		}
		return nil
	})
}

// FirstHREvent returns the earliest receipt of an HR event about the
// employee in [from, to] (zero time if none).
func (s *Store) FirstHREvent(ctx context.Context, employeeID string, from, to time.Time) (time.Time, error) {
	var v sql.NullString
	err := s.db.GetContext(ctx, &v, `SELECT MIN(received_at) FROM hr_events WHERE employee_id = ? AND received_at >= ? AND received_at <= ?`,
		strings.ToUpper(strings.TrimSpace(employeeID)), T(from), T(to))
	if err != nil {
		return time.Time{}, fmt.Errorf("store: hr events of %s: %w", employeeID, err)
	}
	return ParseT(v)
}

// RevokedFinding is a stored finding body that records a revocation.
type RevokedFinding struct {
	RunID int64
	Body  []byte
}

// RevokedFindings returns the bodies of the findings revoked by runs that
// started at or after since (the SLA evidence), oldest run first.
func (s *Store) RevokedFindings(ctx context.Context, since time.Time) ([]RevokedFinding, error) {
	if since.IsZero() {
		since = time.Unix(0, 0)
	}
	var runs []int64
	if err := s.db.SelectContext(ctx, &runs, `SELECT r.id FROM runs r JOIN finding_saves s ON s.run_id = r.id
		WHERE r.started_at >= ? ORDER BY r.id`, T(since)); err != nil {
		return nil, fmt.Errorf("store: revoked findings: %w", err)
	}
	var out []RevokedFinding
	for _, id := range runs {
		err := s.eachFinding(ctx, id, nil, `%"revoked_at"%`, func(f PeriodFinding) error {
			out = append(out, RevokedFinding{RunID: id, Body: bytes.Clone(f.Body)})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("store: revoked findings: %w", err)
		}
	}
	return out, nil
}

// LastRunOf returns the newest run of a job that started, with any status
// in statuses (none: any status but running), or ErrNoRun.
func (s *Store) LastRunOf(ctx context.Context, job string, statuses ...reconcile.Status) (Run, error) {
	q := `SELECT * FROM runs WHERE job = ? AND status != 'running'`
	args := []any{job}
	if len(statuses) > 0 {
		q = `SELECT * FROM runs WHERE job = ? AND status IN (?` + strings.Repeat(", ?", len(statuses)-1) + `)`
		for _, st := range statuses {
			args = append(args, st)
		}
	}
	var row runRow
	err := s.db.GetContext(ctx, &row, q+` ORDER BY id DESC LIMIT 1`, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, fmt.Errorf("store: last run of %s: %w", job, ErrNoRun)
	}
	if err != nil {
		return Run{}, fmt.Errorf("store: last run of %s: %w", job, err)
	}
	return row.run(), nil
}

// LastStartedRunOf returns the newest run of a job by start, whatever its
// status (running included), or ErrNoRun.
func (s *Store) LastStartedRunOf(ctx context.Context, job string) (Run, error) {
	var row runRow
	err := s.db.GetContext(ctx, &row, `SELECT * FROM runs WHERE job = ? ORDER BY id DESC LIMIT 1`, job)
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, fmt.Errorf("store: last run of %s: %w", job, ErrNoRun)
	}
	if err != nil {
		return Run{}, fmt.Errorf("store: last run of %s: %w", job, err)
	}
	return row.run(), nil
}

// Jobs lists the job names that have runs.
func (s *Store) Jobs(ctx context.Context) ([]string, error) {
	var out []string
	if err := s.db.SelectContext(ctx, &out, `SELECT DISTINCT job FROM runs ORDER BY job`); err != nil {
		return nil, fmt.Errorf("store: jobs: %w", err)
	}
	return out, nil
}

// ClaimSignature records an accepted webhook signature until expires. It
// returns false when the signature was already claimed and has not expired:
// the request is a replay. Expired signatures are forgotten on the way.
func (s *Store) ClaimSignature(ctx context.Context, signature string, now, expires time.Time) (bool, error) {
	fresh := false
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_signatures WHERE expires_at < ?`, T(now)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO webhook_signatures (signature, expires_at) VALUES (?, ?) ON CONFLICT(signature) DO NOTHING`,
			signature, T(expires))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		fresh = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: claim webhook signature: %w", err)
	}
	return fresh, nil
}
