package serve

import (
	"context"
	"errors"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runner"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/upcoming"
	"github.com/accessrecon/accessrecon/reconcile"
)

// Known leavers (issue 18 item 4): a termination HR recorded ahead gets a
// targeted run of that person (the webhook fast path: RunSpec.EmployeeIDs)
// at its effective time, so the tier's SLA is met without waiting for the
// nightly run. The schedule is upcoming.Leavers, re-derived from the store
// after every run serve starts, at every due time, and at least every
// leaverRecheck (another process's run may have read HR meanwhile):
// nothing of it lives only in memory.

// leaverRecheck bounds how long the scheduler sleeps without re-deriving.
const leaverRecheck = time.Minute

// leaverRetry bounds how often one leaver's run is started when it could
// not start or record itself (the lock stayed held, the config does not
// wire): the store says it is still due, memory keeps it from spinning.
const leaverRetry = time.Minute

// wakeLeavers asks the scheduler to re-derive the schedule now.
func (s *Server) wakeLeavers() {
	select {
	case s.leaversWake <- struct{}{}:
	default:
	}
}

// leaverScheduler runs until shutdown begins.
func (s *Server) leaverScheduler() {
	defer close(s.leaversDone)
	tried := map[string]time.Time{} // employee ID + effective time → last start
	for {
		wait := leaverRecheck
		ls, err := upcoming.Leavers(s.stopping, s.st)
		if err != nil && s.stopping.Err() == nil {
			s.log.Error("deriving the upcoming leavers failed", "err", err)
		}
		now := s.now()
		var due []string
		for _, l := range ls {
			key := l.EmployeeID + "\x00" + l.EffectiveAt.String()
			switch {
			case l.Due(now) && now.Sub(tried[key]) >= leaverRetry:
				due = append(due, l.EmployeeID)
				tried[key] = now
			case l.TakenBy == 0 && l.EffectiveAt.After(now):
				wait = min(wait, l.EffectiveAt.Sub(now))
			}
		}
		if len(due) > 0 {
			s.runLeavers(due)
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.leaversWake:
			t.Stop()
		case <-s.stopping.Done():
			t.Stop()
			return
		}
	}
}

// runLeavers is the targeted run of the leavers whose time has come, in
// the hooks' mode (default enforce) and within their timeout.
func (s *Server) runLeavers(ids []string) {
	if s.stopping.Err() != nil {
		return
	}
	s.running.Add(1)
	defer s.running.Done()
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	mode := cfg.Hooks.Mode
	if mode == "" {
		mode = reconcile.Enforce
	}
	timeout := config.DurOr(cfg.Hooks.Timeout, 10*time.Minute)
	log := s.log.With("job", upcoming.Job)
	log.Info("known leavers due: starting their targeted run", "employee_ids", ids)
	ctx, cancel := context.WithTimeout(s.stopping, timeout)
	defer cancel()
	// runCtx carries the lease (the fencing token checked before every
	// action) and ends when the lease is lost, as a job's.
	runCtx, release, err := s.lock.HoldFor(ctx, s.runCtx, "job "+upcoming.Job, timeout)
	if err != nil {
		log.Error("known leavers' run not started: the store lock stayed held", "employee_ids", ids, "err", err)
		return
	}
	defer release()
	req := runner.Request{Job: upcoming.Job, Mode: mode, EmployeeIDs: ids, Timeout: timeout, Reports: runner.Set{}}
	res, err := runner.Run(runCtx, cfg, runner.Env{Store: s.st, Log: log, EngineLog: s.log}, req)
	if res == nil {
		log.Error("known leavers' run failed before it started", "employee_ids", ids, "err", err)
		return
	}
	var oe *runner.OutputError
	if err != nil && !errors.As(err, &oe) && !errors.Is(err, reconcile.ErrGuard) {
		log.Warn("known leavers' run ended with an error", "run", res.Run.ID, "err", err)
	}
	log.Info("known leavers' run finished", "run", res.Run.ID, "status", res.Run.Status, "employee_ids", ids, "actions", len(res.Actions))
}
