// Package serve is `accessrecon serve`: the jobs of schedule.yaml on their
// cron schedules (with catch-up after downtime), the HR webhooks (the leaver
// fast path), /healthz, /readyz and /metrics. Every run goes through the
// runner, serialised with every other process on the store by the run lock.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/drill"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runlock"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runner"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// Server is a running `accessrecon serve`.
type Server struct {
	path  string
	log   *slog.Logger
	st    storefile.Store
	lock  *runlock.Lock
	hooks *hookState

	mu        sync.Mutex // guards cfg, reloadErr, entries
	cfg       *config.Config
	reloadErr error
	cron      *cron.Cron
	entries   map[string]cron.EntryID

	// stopping ends when shutdown begins: lock waits end, nothing new starts.
	stopping context.Context
	// runCtx is the context of runs: cancelled when the grace period ends.
	runCtx    context.Context
	cancelRun context.CancelFunc
	running   sync.WaitGroup

	// leaversWake asks the known leavers' scheduler (leavers.go) to
	// re-derive its schedule; leaversDone closes when it has stopped.
	leaversWake chan struct{}
	leaversDone chan struct{}

	// PanicHook, when set (tests), is called at the start of every job run.
	PanicHook func(job string)
	// now is the clock (tests).
	now func() time.Time
}

// New prepares a server for cfg (read from path) on st; Serve starts it.
func New(ctx context.Context, path string, cfg *config.Config, st storefile.Store, log *slog.Logger) (*Server, error) {
	s := &Server{path: path, cfg: cfg, st: st, log: log, entries: map[string]cron.EntryID{}, stopping: ctx, now: time.Now,
		leaversWake: make(chan struct{}, 1), leaversDone: make(chan struct{})}
	s.runCtx, s.cancelRun = context.WithCancel(context.WithoutCancel(ctx))
	s.lock = runlock.New(st, config.DurOr(cfg.Serve.LockStale, 2*time.Minute), log)
	h, err := newHookState(cfg)
	if err != nil {
		return nil, err
	}
	s.hooks = h
	cl := cronLogger{log}
	s.cron = cron.New(cron.WithParser(config.CronParser), cron.WithLogger(cl),
		cron.WithChain(cron.SkipIfStillRunning(cl), cron.Recover(cl)))
	if err := s.schedule(cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// schedule replaces the cron entries with cfg's jobs.
func (s *Server) schedule(cfg *config.Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, id := range s.entries {
		s.cron.Remove(id)
		delete(s.entries, name)
	}
	for _, j := range cfg.Jobs {
		sched, err := cfg.JobSchedule(j)
		if err != nil {
			return fmt.Errorf("jobs (%s).schedule: %w", j.Name, err)
		}
		name := j.Name
		s.entries[name] = s.cron.Schedule(sched, cron.FuncJob(func() { s.runJob(name, false) }))
	}
	return nil
}

// Serve runs until ctx ends (SIGTERM/SIGINT), then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	srv, ln := s.httpServer(ln)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server", "err", err)
		}
	}()
	s.hooks.start(s)
	s.cron.Start()
	go s.leaverScheduler()
	s.mu.Lock()
	jobs := len(s.cfg.Jobs)
	s.mu.Unlock()
	s.log.Info("serve started", "listen", ln.Addr().String(), "jobs", jobs, "pid", os.Getpid())
	s.catchUp()

	for {
		select {
		case <-hup:
			s.Reload()
			continue
		case <-ctx.Done():
		}
		break
	}
	return s.shutdown(srv)
}

// catchUp runs, once and now, each job whose last successful run is older
// than its schedule allows (or that never succeeded).
func (s *Server) catchUp() {
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	for _, j := range cfg.Jobs {
		due, last, err := s.overdue(s.stopping, cfg, j)
		if err != nil {
			s.log.Error("catch-up check failed", "job", j.Name, "err", err)
			continue
		}
		if !due {
			continue
		}
		s.log.Info("catch-up: job is overdue, running it now", "job", j.Name, "last_success", last)
		// The run lock keeps the catch-up run and the job's scheduled
		// activations from overlapping; Recover keeps a panic in.
		name := j.Name
		go cron.NewChain(cron.Recover(cronLogger{s.log})).Then(cron.FuncJob(func() { s.runJob(name, true) })).Run()
	}
}

// overdue says whether a job's last successful run is older than its
// schedule allows.
func (s *Server) overdue(ctx context.Context, cfg *config.Config, j config.JobConfig) (bool, time.Time, error) {
	sched, err := cfg.JobSchedule(j)
	if err != nil {
		return false, time.Time{}, err
	}
	if j.Report != "" {
		return s.reportDue(cfg, j), time.Time{}, nil
	}
	last, err := s.st.LastRunOf(ctx, j.Name, reconcile.StatusCompleted, reconcile.StatusGuardTripped)
	if errors.Is(err, store.ErrNoRun) {
		return true, time.Time{}, nil
	}
	if err != nil {
		return false, time.Time{}, err
	}
	return sched.Next(last.StartedAt).Before(s.now()), last.StartedAt, nil
}

// runJob is one activation of a scheduled job (or its catch-up).
func (s *Server) runJob(name string, catchUp bool) {
	if s.stopping.Err() != nil {
		return
	}
	s.running.Add(1)
	defer s.running.Done()
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	j, ok := cfg.Job(name)
	if !ok {
		return
	}
	log := s.log.With("job", name)
	if s.PanicHook != nil {
		s.PanicHook(name)
	}
	if j.Report != "" {
		if !catchUp || s.reportDue(cfg, j) {
			s.reportJob(cfg, j)
		}
		return
	}
	// runCtx carries the lease (the fencing token checked before every
	// action) and ends when the lease is lost, like `run`'s.
	runCtx, release, err := s.lock.HoldFor(s.stopping, s.runCtx, "job "+name, config.DurOr(cfg.Serve.LockWait, time.Hour))
	if err != nil {
		log.Warn("job skipped: the store lock is held", "err", err)
		return
	}
	defer release()
	// Under the lock: another process (or an earlier catch-up) may have run
	// this job since this activation was scheduled. Never run it twice.
	if catchUp {
		if due, _, err := s.overdue(s.stopping, cfg, j); err != nil || !due {
			log.Info("catch-up skipped: the job ran meanwhile", "err", err)
			return
		}
	} else if last, err := s.st.LastStartedRunOf(s.stopping, name); err == nil {
		sched, _ := cfg.JobSchedule(j)
		if next, taken := slotTaken(sched, last.StartedAt, s.now()); taken {
			log.Info("job skipped: already run for this slot", "run", last.ID, "started_at", last.StartedAt, "next", next)
			return
		}
	}
	if j.Kind == "drill" { // a termination drill of drills.canaries (internal/drill)
		d, err := drill.Run(s.runCtx, cfg, s.st, drill.Options{Scenario: j.Scenario, By: "serve job " + name, Job: name, Log: log})
		log.Info("drill finished", "drill", d.ID, "run", d.RunID, "passed", d.Passed, "err", err)
		return
	}
	req := runner.Request{Job: name, Mode: j.Mode, Scope: []reconcile.Kind(j.Scope), Timeout: j.Timeout.D(),
		OutDir: filepath.Join(s.outDir(cfg), name), Reports: append(runner.Set{}, j.Reports...)}
	res, err := runner.Run(runCtx, cfg, runner.Env{Store: s.st, Log: log, EngineLog: s.log}, req)
	s.wakeLeavers() // the run may have read HR: the known leavers' schedule follows it
	if res == nil {
		log.Error("job failed before its run started", "err", err)
		return
	}
	var oe *runner.OutputError
	if errors.As(err, &oe) {
		log.Error("writing the run's outputs failed", "run", res.Run.ID, "err", oe)
	}
}

func (s *Server) outDir(cfg *config.Config) string {
	if cfg.Serve.OutDir != "" {
		return cfg.Resolve(cfg.Serve.OutDir)
	}
	return cfg.Resolve("out")
}

// Reload re-reads the config (on SIGHUP); an invalid one keeps the old.
func (s *Server) Reload() {
	cfg, err := config.Load(s.path)
	if err == nil {
		s.mu.Lock()
		old := s.cfg
		s.mu.Unlock()
		if cfg.StoreName() != old.StoreName() {
			err = fmt.Errorf("store: changing the store (%s -> %s) needs a restart", old.StoreName(), cfg.StoreName())
		}
	}
	var h *hookState
	if err == nil {
		h, err = newHookState(cfg)
	}
	if err != nil {
		s.mu.Lock()
		s.reloadErr = err
		s.mu.Unlock()
		s.log.Error("reload failed: keeping the previous configuration", "err", err)
		return
	}
	if err := s.schedule(cfg); err != nil {
		s.log.Error("reload failed: keeping the previous configuration", "err", err)
		return
	}
	s.mu.Lock()
	s.cfg, s.reloadErr = cfg, nil
	s.mu.Unlock()
	s.hooks.update(h)
	s.log.Info("configuration reloaded", "jobs", len(cfg.Jobs))
}

// shutdown stops scheduling, lets running work finish within the grace
// period, then cancels it (the engine records the run as cancelled).
func (s *Server) shutdown(srv *http.Server) error {
	s.mu.Lock()
	grace := config.DurOr(s.cfg.Serve.Grace, 30*time.Second)
	s.mu.Unlock()
	s.log.Info("shutting down: no new runs; waiting for running work", "grace", grace)
	cronDone := s.cron.Stop()
	s.hooks.stop()
	done := make(chan struct{})
	go func() {
		<-cronDone.Done()
		s.hooks.wait()
		<-s.leaversDone
		s.running.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(grace):
		s.log.Warn("grace period over: cancelling the running work", "grace", grace)
		s.cancelRun()
		select {
		case <-done:
		case <-time.After(time.Minute):
			s.log.Error("running work did not stop within a minute of cancellation; exiting")
		}
	}
	s.cancelRun()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	s.log.Info("serve stopped")
	return nil
}

// cronLogger adapts slog to cron.Logger.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Info("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}

// slotTaken says whether an activation at now is for a slot that a run
// started at lastStart (by this process or another) has taken: the
// schedule's next slot after lastStart has not come yet. An activation may
// be a little early against another process's clock or schedule, so the
// next slot counts as come slightly before it: a tenth of the interval
// between slots, at most a second. (A whole second, as before, let two
// serves whose @every 2s schedules were a second apart both run: every
// second.)
func slotTaken(sched cron.Schedule, lastStart, now time.Time) (next time.Time, taken bool) {
	next = sched.Next(lastStart)
	slack := min(time.Second, sched.Next(next).Sub(next)/10)
	return next, next.After(now.Add(slack))
}
