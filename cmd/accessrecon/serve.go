package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// JobConfig is one scheduled job of `accessrecon serve`.
type JobConfig struct {
	Name string `yaml:"name"`
	// Schedule is a cron spec: 5 fields, optionally 6 with seconds first, or
	// a descriptor (@daily, @every 10m).
	Schedule string `yaml:"schedule"`
	// Timezone overrides the global timezone for this job (e.g. Asia/Riyadh).
	Timezone string `yaml:"timezone"`
	// Scope is `full` (the default) or a list of finding kinds.
	Scope JobScope `yaml:"scope"`
	// Mode overrides policy.mode (report or enforce).
	Mode reconcile.Mode `yaml:"mode"`
	// Timeout bounds one run of the job (default: the global timeout).
	Timeout reconcile.Duration `yaml:"timeout"`
	// Reports the job writes after its run: xlsx, jira (none when empty).
	Reports []string `yaml:"reports"`
}

// JobScope is `full` or a list of finding kinds; nil means full.
type JobScope []reconcile.Kind

// UnmarshalYAML accepts `full` or a list of kinds.
func (s *JobScope) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value != "full" && n.Value != "" {
			return fmt.Errorf("line %d: scope: %q is not `full` or a list of finding kinds", n.Line, n.Value)
		}
		*s = nil
		return nil
	case yaml.SequenceNode:
		var ks []string
		if err := n.Decode(&ks); err != nil {
			return err
		}
		out := make(JobScope, 0, len(ks))
		for _, k := range ks {
			if !slices.Contains(reconcile.Kinds, reconcile.Kind(k)) {
				return fmt.Errorf("line %d: scope: unknown finding kind %q", n.Line, k)
			}
			out = append(out, reconcile.Kind(k))
		}
		*s = out
		return nil
	}
	return fmt.Errorf("line %d: scope: want `full` or a list of finding kinds", n.Line)
}

// HooksConfig configures the HR webhooks (the leaver fast path).
type HooksConfig struct {
	// Mode of the targeted runs the hooks trigger (default enforce).
	Mode reconcile.Mode `yaml:"mode"`
	// ReplayWindow is how far a request's timestamp may be from now, and how
	// long a signature is remembered against replays (default 5m).
	ReplayWindow reconcile.Duration `yaml:"replay_window"`
	// Timeout bounds one hook-triggered run, lock wait included (default 10m).
	Timeout  reconcile.Duration `yaml:"timeout"`
	BambooHR struct {
		// SecretEnv names the environment variable holding the webhook's
		// HMAC key. Unset: the endpoint is disabled.
		SecretEnv string `yaml:"secret_env"`
	} `yaml:"bamboohr"`
	HR struct {
		// SecretEnv names the HMAC key's variable; TokenEnv the bearer
		// token's. Either enables the endpoint.
		SecretEnv string `yaml:"secret_env"`
		TokenEnv  string `yaml:"token_env"`
	} `yaml:"hr"`
}

// ServeConfig configures `accessrecon serve`.
type ServeConfig struct {
	// Listen is the HTTP address (default 127.0.0.1:8080; --listen wins).
	Listen string `yaml:"listen"`
	// Grace is how long a running job may go on after SIGTERM (default 30s).
	Grace reconcile.Duration `yaml:"grace"`
	// LockStale is the heartbeat age after which another process's lock is
	// taken over (default 2m).
	LockStale reconcile.Duration `yaml:"lock_stale"`
	// LockWait is how long a scheduled job waits for a run of another job
	// or process to finish before it skips this time (default 1h).
	LockWait reconcile.Duration `yaml:"lock_wait"`
	// OutDir receives each job's findings.json under OutDir/<job>/ (default
	// `out` beside the config file).
	OutDir string `yaml:"out_dir"`
	// UnreadyAfter: /readyz fails once the latest run failed and nothing
	// succeeded for this long (default 1h).
	UnreadyAfter reconcile.Duration `yaml:"unready_after"`
}

// cronParser reads job schedules: optional seconds, descriptors.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// jobSchedule parses a job's schedule in its time zone.
func (c *Config) jobSchedule(j JobConfig) (cron.Schedule, error) {
	spec := strings.TrimSpace(j.Schedule)
	tz := j.Timezone
	if tz == "" {
		tz = c.Timezone
	}
	if tz != "" && !strings.HasPrefix(spec, "CRON_TZ=") && !strings.HasPrefix(spec, "TZ=") && !strings.HasPrefix(spec, "@every") {
		spec = "CRON_TZ=" + tz + " " + spec
	}
	return cronParser.Parse(spec)
}

// validateUnattended checks timezone, jobs, hooks and serve.
func (c *Config) validateUnattended() error {
	if c.Timezone != "" {
		if _, err := time.LoadLocation(c.Timezone); err != nil {
			return fmt.Errorf("timezone: %q: %w", c.Timezone, err)
		}
	}
	seen := map[string]bool{}
	for i, j := range c.Jobs {
		where := fmt.Sprintf("jobs[%d]", i)
		switch {
		case j.Name == "":
			return fmt.Errorf("%s.name: required", where)
		case seen[j.Name]:
			return fmt.Errorf("%s.name: %q is used twice", where, j.Name)
		case strings.HasPrefix(j.Name, "hook:"):
			return fmt.Errorf("%s.name: %q: names starting with hook: are reserved for webhook runs", where, j.Name)
		case j.Schedule == "":
			return fmt.Errorf("%s (%s).schedule: required (e.g. \"0 2 * * *\", @daily, @every 10m)", where, j.Name)
		}
		seen[j.Name] = true
		where += " (" + j.Name + ")"
		if j.Timezone != "" {
			if _, err := time.LoadLocation(j.Timezone); err != nil {
				return fmt.Errorf("%s.timezone: %q: %w", where, j.Timezone, err)
			}
		}
		if _, err := c.jobSchedule(j); err != nil {
			return fmt.Errorf("%s.schedule: %q: %w", where, j.Schedule, err)
		}
		switch j.Mode {
		case "", reconcile.Report, reconcile.Enforce:
		default:
			return fmt.Errorf("%s.mode: %q is not report or enforce", where, j.Mode)
		}
		for _, r := range j.Reports {
			if r != "xlsx" && r != "jira" {
				return fmt.Errorf("%s.reports: %q is not xlsx or jira", where, r)
			}
		}
	}
	switch c.Hooks.Mode {
	case "", reconcile.Report, reconcile.Enforce:
	default:
		return fmt.Errorf("hooks.mode: %q is not report or enforce", c.Hooks.Mode)
	}
	if c.Serve.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Serve.Listen); err != nil {
			return fmt.Errorf("serve.listen: %q: %w", c.Serve.Listen, err)
		}
	}
	return nil
}

func (c *Config) job(name string) (JobConfig, bool) {
	for _, j := range c.Jobs {
		if j.Name == name {
			return j, true
		}
	}
	return JobConfig{}, false
}

func durOr(d reconcile.Duration, def time.Duration) time.Duration {
	if d > 0 {
		return d.D()
	}
	return def
}

// server is a running `accessrecon serve`.
type server struct {
	path   string
	log    *slog.Logger
	st     *store.Store
	lock   *runLock
	hooks  *hookState
	stderr io.Writer

	mu        sync.Mutex // guards cfg, reloadErr, entries
	cfg       *Config
	reloadErr error
	cron      *cron.Cron
	entries   map[string]cron.EntryID

	// stopping ends when shutdown begins: lock waits end, nothing new starts.
	stopping context.Context
	// runCtx is the context of runs: cancelled when the grace period ends.
	runCtx    context.Context
	cancelRun context.CancelFunc
	running   sync.WaitGroup

	// panicHook, when set (tests), is called at the start of every job run.
	panicHook func(job string)
	// now is the clock (tests).
	now func() time.Time
}

func newToken() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (schedule.yaml)")
	listen := fs.String("listen", "", "HTTP address for health, metrics and webhooks (default serve.listen or 127.0.0.1:8080)")
	if err := fs.Parse(args); err != nil {
		return exitUsage, usageError{err.Error()}
	}
	if *path == "" {
		return exitUsage, usageError{"serve: --config is required"}
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return exitFail, err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	st, err := store.Open(ctx, cfg.storePath())
	if err != nil {
		return exitFail, err
	}
	defer st.Close()
	s, err := newServer(ctx, *path, cfg, st, log, stderr)
	if err != nil {
		return exitFail, err
	}
	addr := *listen
	if addr == "" {
		addr = orDefault(cfg.Serve.Listen, "127.0.0.1:8080")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return exitFail, fmt.Errorf("serve: listen: %w", err)
	}
	return s.serve(ctx, ln)
}

func orDefault(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func newServer(ctx context.Context, path string, cfg *Config, st *store.Store, log *slog.Logger, stderr io.Writer) (*server, error) {
	s := &server{path: path, cfg: cfg, st: st, log: log, stderr: stderr, entries: map[string]cron.EntryID{}, stopping: ctx, now: time.Now}
	s.runCtx, s.cancelRun = context.WithCancel(context.WithoutCancel(ctx))
	s.lock = newRunLock(st, durOr(cfg.Serve.LockStale, 2*time.Minute), log)
	h, err := newHookState(cfg)
	if err != nil {
		return nil, err
	}
	s.hooks = h
	cl := cronLogger{log}
	s.cron = cron.New(cron.WithParser(cronParser), cron.WithLogger(cl),
		cron.WithChain(cron.SkipIfStillRunning(cl), cron.Recover(cl)))
	if err := s.schedule(cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// schedule replaces the cron entries with cfg's jobs.
func (s *server) schedule(cfg *Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, id := range s.entries {
		s.cron.Remove(id)
		delete(s.entries, name)
	}
	for _, j := range cfg.Jobs {
		sched, err := cfg.jobSchedule(j)
		if err != nil {
			return fmt.Errorf("jobs (%s).schedule: %w", j.Name, err)
		}
		name := j.Name
		s.entries[name] = s.cron.Schedule(sched, cron.FuncJob(func() { s.runJob(name, false) }))
	}
	return nil
}

// serve runs until ctx ends (SIGTERM/SIGINT), then shuts down gracefully.
func (s *server) serve(ctx context.Context, ln net.Listener) (int, error) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	srv := &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server", "err", err)
		}
	}()
	s.hooks.start(s)
	s.cron.Start()
	s.mu.Lock()
	jobs := len(s.cfg.Jobs)
	s.mu.Unlock()
	s.log.Info("serve started", "listen", ln.Addr().String(), "jobs", jobs, "pid", os.Getpid())
	s.catchUp()

	for {
		select {
		case <-hup:
			s.reload()
			continue
		case <-ctx.Done():
		}
		break
	}
	return s.shutdown(srv)
}

// catchUp runs, once and now, each job whose last successful run is older
// than its schedule allows (or that never succeeded).
func (s *server) catchUp() {
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
func (s *server) overdue(ctx context.Context, cfg *Config, j JobConfig) (bool, time.Time, error) {
	sched, err := cfg.jobSchedule(j)
	if err != nil {
		return false, time.Time{}, err
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
func (s *server) runJob(name string, catchUp bool) {
	if s.stopping.Err() != nil {
		return
	}
	s.running.Add(1)
	defer s.running.Done()
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	j, ok := cfg.job(name)
	if !ok {
		return
	}
	log := s.log.With("job", name)
	if s.panicHook != nil {
		s.panicHook(name)
	}
	release, err := s.lock.acquire(s.stopping, "job "+name, durOr(cfg.Serve.LockWait, time.Hour))
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
		sched, _ := cfg.jobSchedule(j)
		if next := sched.Next(last.StartedAt); next.After(s.now().Add(time.Second)) {
			log.Info("job skipped: already run for this slot", "run", last.ID, "started_at", last.StartedAt, "next", next)
			return
		}
	}
	spec := reconcile.RunSpec{Job: name, Mode: j.Mode, Scope: []reconcile.Kind(j.Scope)}
	if j.Timeout > 0 {
		spec.Timeout = j.Timeout.D()
	}
	res, err := s.execute(cfg, spec, log, s.log)
	if res == nil {
		log.Error("job failed before its run started", "err", err)
		return
	}
	out := filepath.Join(s.outDir(cfg), name)
	// Reports first, so that findings.json carries the Jira keys.
	if len(j.Reports) > 0 {
		if rerr := writeReports(context.WithoutCancel(s.runCtx), cfg, s.st, res, reportSet(j.Reports), out, false, s.stderr); rerr != nil {
			log.Error("reports failed", "run", res.Run.ID, "err", rerr)
		}
	}
	if werr := os.MkdirAll(out, 0o755); werr == nil {
		if werr := writeFindings(filepath.Join(out, "findings.json"), res); werr != nil {
			log.Error("writing findings.json failed", "run", res.Run.ID, "err", werr)
		}
	}
	if len(j.Scope) == 0 && res.Run.Status != reconcile.StatusCancelled {
		if perr := pruneStore(s.runCtx, s.st, cfg); perr != nil {
			log.Warn("retention", "err", perr)
		}
	}
}

func (s *server) outDir(cfg *Config) string {
	if cfg.Serve.OutDir != "" {
		return cfg.resolve(cfg.Serve.OutDir)
	}
	return cfg.resolve("out")
}

// execute wires the config and runs the engine with the server's run
// context (cancelled only when the grace period after SIGTERM ends).
// The connectors log with the job (they are built before the run has an
// ID: withRunID adds it once the engine has it); the engine adds run and job
// itself, so it gets engineLog without them.
func (s *server) execute(cfg *Config, spec reconcile.RunSpec, log, engineLog *slog.Logger) (*reconcile.Result, error) {
	runID := new(atomic.Int64)
	w, err := wire(cfg, withRunID(log, runID))
	if err != nil {
		return nil, err
	}
	defer w.Close()
	full := w.spec
	full.Job, full.Mode, full.Scope, full.EmployeeIDs = spec.Job, spec.Mode, spec.Scope, spec.EmployeeIDs
	if spec.Timeout > 0 {
		full.Timeout = spec.Timeout
	}
	trail := openTrail(cfg, s.st, log)
	eng := &reconcile.Engine{Store: s.st, Log: engineLog, Audit: reconcile.TrailAuditor{Trail: trail}, Started: runID.Store, Redactor: w.redactor}
	res, err := eng.Run(s.runCtx, full)
	return res, errors.Join(err, checkpointRun(s.runCtx, cfg, trail))
}

// reload re-reads the config on SIGHUP; an invalid one keeps the old.
func (s *server) reload() {
	cfg, err := loadConfig(s.path)
	if err == nil {
		s.mu.Lock()
		old := s.cfg
		s.mu.Unlock()
		if cfg.storePath() != old.storePath() {
			err = fmt.Errorf("store: changing the store (%s -> %s) needs a restart", old.storePath(), cfg.storePath())
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
func (s *server) shutdown(srv *http.Server) (int, error) {
	s.mu.Lock()
	grace := durOr(s.cfg.Serve.Grace, 30*time.Second)
	s.mu.Unlock()
	s.log.Info("shutting down: no new runs; waiting for running work", "grace", grace)
	cronDone := s.cron.Stop()
	s.hooks.stop()
	done := make(chan struct{})
	go func() {
		<-cronDone.Done()
		s.hooks.wait()
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
	return exitOK, nil
}

// cronLogger adapts slog to cron.Logger.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Info("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}
