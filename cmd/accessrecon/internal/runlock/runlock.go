// Package runlock serialises runs: in one process through a one-slot
// semaphore, and across processes through the store's lock row, with a
// heartbeat while held.
package runlock

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// Name is the store lock every run of every process takes.
const Name = store.RunLock

// lockPoll is how often a waiting process retries the store lock.
const lockPoll = 100 * time.Millisecond

// Locked is returned when the lock stays held past the wait.
type Locked struct {
	Holder string
}

func (e *Locked) Error() string {
	return "the store is locked by " + e.Holder
}

// Lock serialises runs: in this process through a one-slot semaphore, and
// across processes through the store's lock row, with a heartbeat while held.
type Lock struct {
	st    storefile.RunLock
	log   *slog.Logger
	stale time.Duration
	host  string
	pid   int
	sem   chan struct{}

	mu      sync.Mutex
	purpose string // what holds the in-process slot
}

// New returns the run lock of st; a holder whose heartbeat is older than
// stale is taken over.
func New(st storefile.RunLock, stale time.Duration, log *slog.Logger) *Lock {
	host, _ := os.Hostname()
	return &Lock{st: st, log: log, stale: stale, host: host, pid: os.Getpid(), sem: make(chan struct{}, 1)}
}

// pidAlive reports whether a process with this pid exists on this host.
func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func (l *Lock) policy() store.LockPolicy {
	return store.LockPolicy{Stale: l.stale, Dead: func(h store.LockHolder) bool {
		return h.Host == l.host && h.PID != l.pid && !pidAlive(h.PID)
	}}
}

// Hold takes the lock for purpose, waiting up to wait (0: not at all) or
// until ctx ends, and returns the context to run under and the release
// function. The context carries the lease (the store checks it before every
// action: a fencing token) and is cancelled, with the reason as its cause,
// when the lease is lost or cannot be renewed within the stale limit. There
// is no way to take the lock without its lease: a run that holds the lock
// is fenced by it.
func (l *Lock) Hold(ctx context.Context, purpose string, wait time.Duration) (context.Context, func(), error) {
	return l.HoldFor(ctx, ctx, purpose, wait)
}

// HoldFor is Hold that waits under waitCtx and runs under runCtx: serve
// stops waiting for the lock at SIGTERM but lets a run that holds it go on
// through the grace period.
func (l *Lock) HoldFor(waitCtx, runCtx context.Context, purpose string, wait time.Duration) (context.Context, func(), error) {
	ctx := waitCtx
	deadline := time.Now().Add(wait)
	free, err := l.takeSlot(ctx, purpose, wait)
	if err != nil {
		return nil, nil, err
	}
	me := store.LockHolder{Token: NewToken(), Host: l.host, PID: l.pid, Purpose: purpose}
	if err := l.takeRow(ctx, me, deadline); err != nil {
		free()
		return nil, nil, err
	}
	lease, err := l.st.Lease(ctx, Name, me.Token)
	if err != nil {
		free()
		return nil, nil, err
	}
	lease.Stale = l.stale
	leased, cancel := context.WithCancelCause(store.WithLease(runCtx, lease))
	stop := make(chan struct{})
	var hb sync.WaitGroup
	hb.Go(func() { l.heartbeat(me, lease, stop, cancel) })
	var once sync.Once
	return leased, func() {
		once.Do(func() {
			close(stop)
			cancel(nil)
			hb.Wait()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := l.st.Unlock(ctx, Name, me.Token); err != nil {
				l.log.Error("releasing the store lock failed", "err", err)
			}
			free()
		})
	}, nil
}

// takeSlot takes this process's one run slot for purpose, waiting up to
// wait; free gives it back.
func (l *Lock) takeSlot(ctx context.Context, purpose string, wait time.Duration) (free func(), err error) {
	var timer <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timer = t.C
	}
	select {
	case l.sem <- struct{}{}:
	default:
		if wait <= 0 {
			return nil, &Locked{Holder: l.current() + " in this process"}
		}
		select {
		case l.sem <- struct{}{}:
		case <-timer:
			return nil, &Locked{Holder: l.current() + " in this process"}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	l.mu.Lock()
	l.purpose = purpose
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		l.purpose = ""
		l.mu.Unlock()
		<-l.sem
	}, nil
}

// takeRow takes the store's lock row for me, retrying until deadline.
func (l *Lock) takeRow(ctx context.Context, me store.LockHolder, deadline time.Time) error {
	for {
		got, other, took, err := l.st.TryLock(ctx, Name, me, l.policy())
		if err != nil {
			return err
		}
		if got {
			if took {
				l.log.Warn("took over a stale store lock", "previous_holder", other.String(), "purpose", me.Purpose)
			}
			return nil
		}
		if !time.Now().Before(deadline) {
			return &Locked{Holder: other.String()}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(lockPoll):
		}
	}
}

// heartbeat renews the lease until stop closes; when the lease is lost or
// cannot be renewed within the stale limit, it cancels the run with the
// reason.
func (l *Lock) heartbeat(me store.LockHolder, lease store.Lease, stop <-chan struct{}, cancel context.CancelCauseFunc) {
	every := max(l.stale/4, time.Second)
	renewed := time.Now()
	for {
		select {
		case <-stop:
			return
		case <-time.After(every):
			now := time.Now()
			err := l.st.Heartbeat(context.Background(), Name, me.Token, now)
			if err == nil {
				renewed = now
				continue
			}
			l.log.Error("store lock heartbeat failed", "purpose", me.Purpose, "generation", lease.Generation, "err", err)
			if errors.Is(err, store.ErrLeaseLost) || time.Since(renewed) > l.stale {
				cause := fmt.Errorf("%w: %s could not renew it (last renewed %s): %w", store.ErrLeaseLost, me.Purpose, renewed.Format(time.RFC3339), err)
				l.log.Error("the store lock is lost: stopping", "purpose", me.Purpose, "err", cause)
				cancel(cause)
				return
			}
		}
	}
}

func (l *Lock) current() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.purpose == "" {
		return "another run"
	}
	return l.purpose
}

// NewToken is a random token naming one holder of a lock.
func NewToken() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
