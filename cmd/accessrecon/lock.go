package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/accessrecon/accessrecon/reconcile/store"
)

// runLockName is the store lock every run of every process takes.
const runLockName = store.RunLock

// lockPoll is how often a waiting process retries the store lock.
const lockPoll = 100 * time.Millisecond

// errLocked is returned when the lock stays held past the wait.
type errLocked struct {
	holder string
}

func (e *errLocked) Error() string {
	return "the store is locked by " + e.holder
}

// runLock serialises runs: in this process through a one-slot semaphore, and
// across processes through the store's lock row, with a heartbeat while held.
type runLock struct {
	st    *store.Store
	log   *slog.Logger
	stale time.Duration
	host  string
	pid   int
	sem   chan struct{}

	mu      sync.Mutex
	purpose string // what holds the in-process slot
}

func newRunLock(st *store.Store, stale time.Duration, log *slog.Logger) *runLock {
	host, _ := os.Hostname()
	return &runLock{st: st, log: log, stale: stale, host: host, pid: os.Getpid(), sem: make(chan struct{}, 1)}
}

// pidAlive reports whether a process with this pid exists on this host.
func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func (l *runLock) policy() store.LockPolicy {
	return store.LockPolicy{Stale: l.stale, Dead: func(h store.LockHolder) bool {
		return h.Host == l.host && h.PID != l.pid && !pidAlive(h.PID)
	}}
}

// acquire takes the lock for purpose, waiting up to wait (0: not at all)
// or until ctx ends. It returns the release function.
func (l *runLock) acquire(ctx context.Context, purpose string, wait time.Duration) (func(), error) {
	_, release, err := l.hold(ctx, purpose, wait)
	return release, err
}

// hold is acquire that also returns the context to run under: it carries
// the lease (the store checks it before every action: a fencing token) and
// is cancelled, with the reason as its cause, when the lease is lost or
// cannot be renewed within the stale limit.
func (l *runLock) hold(ctx context.Context, purpose string, wait time.Duration) (context.Context, func(), error) {
	deadline := time.Now().Add(wait)
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
			return nil, nil, &errLocked{holder: l.current() + " in this process"}
		}
		select {
		case l.sem <- struct{}{}:
		case <-timer:
			return nil, nil, &errLocked{holder: l.current() + " in this process"}
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	l.mu.Lock()
	l.purpose = purpose
	l.mu.Unlock()
	free := func() {
		l.mu.Lock()
		l.purpose = ""
		l.mu.Unlock()
		<-l.sem
	}
	me := store.LockHolder{Token: newToken(), Host: l.host, PID: l.pid, Purpose: purpose}
	for {
		got, other, took, err := l.st.TryLock(ctx, runLockName, me, l.policy())
		if err != nil {
			free()
			return nil, nil, err
		}
		if got {
			if took {
				l.log.Warn("took over a stale store lock", "previous_holder", other.String(), "purpose", purpose)
			}
			break
		}
		if !time.Now().Before(deadline) {
			free()
			return nil, nil, &errLocked{holder: other.String()}
		}
		select {
		case <-ctx.Done():
			free()
			return nil, nil, ctx.Err()
		case <-time.After(lockPoll):
		}
	}
	lease, err := l.st.Lease(ctx, runLockName, me.Token)
	if err != nil {
		free()
		return nil, nil, err
	}
	lease.Stale = l.stale
	runCtx, cancel := context.WithCancelCause(store.WithLease(ctx, lease))
	stop := make(chan struct{})
	var hb sync.WaitGroup
	hb.Add(1)
	go func() {
		defer hb.Done()
		every := max(l.stale/4, time.Second)
		renewed := time.Now()
		for {
			select {
			case <-stop:
				return
			case <-time.After(every):
				now := time.Now()
				err := l.st.Heartbeat(context.Background(), runLockName, me.Token, now)
				if err == nil {
					renewed = now
					continue
				}
				l.log.Error("store lock heartbeat failed", "purpose", purpose, "generation", lease.Generation, "err", err)
				if errors.Is(err, store.ErrLeaseLost) || time.Since(renewed) > l.stale {
					cause := fmt.Errorf("%w: %s could not renew it (last renewed %s): %w", store.ErrLeaseLost, purpose, renewed.Format(time.RFC3339), err)
					l.log.Error("the store lock is lost: stopping", "purpose", purpose, "err", cause)
					cancel(cause)
					return
				}
			}
		}
	}()
	var once sync.Once
	return runCtx, func() {
		once.Do(func() {
			close(stop)
			cancel(nil)
			hb.Wait()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := l.st.Unlock(ctx, runLockName, me.Token); err != nil {
				l.log.Error("releasing the store lock failed", "err", err)
			}
			free()
		})
	}, nil
}

func (l *runLock) current() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.purpose == "" {
		return "another run"
	}
	return l.purpose
}

// runLocked is `accessrecon run`: it takes the store lock (waiting up to
// wait), runs once, and writes the metrics textfile when asked.
func runLocked(ctx context.Context, o runOptions, wait time.Duration, metricsFile string, stdout, stderr io.Writer) (int, error) {
	cfg, err := loadConfig(o.config)
	if err != nil {
		return exitFail, err
	}
	st, err := store.Open(ctx, cfg.storePath())
	if err != nil {
		return exitFail, err
	}
	defer st.Close()
	// Lock trouble (a heartbeat that fails, a lease lost) is logged where
	// the run logs.
	log, _ := newLogger(stderr)
	lock := newRunLock(st, durOr(cfg.Serve.LockStale, 2*time.Minute), log)
	runCtx, release, err := lock.hold(ctx, "accessrecon run", wait)
	if err != nil {
		var le *errLocked
		if errors.As(err, &le) {
			how := "retry later, or pass --wait DURATION to wait for it"
			if wait > 0 {
				how = fmt.Sprintf("waited %s", wait)
			}
			return exitFail, fmt.Errorf("run: another run is in progress: %v; nothing was done (%s)", le.holder, how)
		}
		return exitFail, err
	}
	res, code, runErr := runOnce(runCtx, o, stdout, stderr)
	release()
	if metricsFile != "" {
		if err := writeMetricsFile(context.WithoutCancel(ctx), metricsFile, cfg, st, res); err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("--metrics-file: %w", err))
			if code == exitOK {
				code = exitFail
			}
		}
	}
	return code, runErr
}
