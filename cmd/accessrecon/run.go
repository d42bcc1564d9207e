package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/metrics"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/present"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runlock"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runner"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/pgstore"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// runOptions are the flags of run (and of the demo's runs).
type runOptions struct {
	config      string
	asOf        string
	out         string
	dryRun      bool
	mode        string
	wait        durationValue
	metricsFile string
}

func defineRun(fs *flag.FlagSet) action {
	var o runOptions
	fs.StringVar(&o.config, "config", "", "configuration `FILE` (schedule.yaml)")
	fs.StringVar(&o.asOf, "as-of", "", "judge as of this `TIME` (RFC 3339 or YYYY-MM-DD; default now)")
	fs.StringVar(&o.out, "out", ".", "`DIR`ectory for findings.json")
	fs.BoolVar(&o.dryRun, "dry-run", false, "report mode: plan and print, act on nothing")
	fs.StringVar(&o.mode, "mode", "", "`report|enforce`: report acts nowhere; enforce replaces policy.mode (a target's own mode still wins)")
	fs.Var(&o.wait, "wait", "wait this `DURATION` (90s, 10m, 2d) for a run holding the store lock (default: refuse at once)")
	fs.StringVar(&o.metricsFile, "metrics-file", "", "write the run's metrics in node_exporter textfile format to this `PATH`")
	return func(ctx context.Context, stdout, stderr io.Writer) (int, error) {
		return runCommand(ctx, o, stdout, stderr)
	}
}

// request checks the options and turns them into the runner's request.
func (o runOptions) request() (runner.Request, error) {
	req := runner.Request{DryRun: o.dryRun, OutDir: o.out}
	switch o.mode {
	case "":
	case "report", "enforce":
		req.Mode = reconcile.Mode(o.mode)
	default:
		return req, usageError{fmt.Sprintf("--mode: %q is not report or enforce", o.mode)}
	}
	if o.asOf != "" {
		t, err := parseAsOf(o.asOf)
		if err != nil {
			return req, usageError{"--as-of: " + err.Error()}
		}
		req.AsOf = t
	}
	return req, nil
}

// runCommand is `accessrecon run`: it takes the store lock (waiting up to
// --wait), runs once, and writes the metrics textfile when asked.
func runCommand(ctx context.Context, o runOptions, stdout, stderr io.Writer) (int, error) {
	req, err := o.request()
	if err != nil {
		return exitUsage, err
	}
	cfg, err := config.Load(o.config)
	if err != nil {
		return exitFail, err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return exitFail, err
	}
	defer st.Close()
	// Lock trouble (a heartbeat that fails, a lease lost) is logged where
	// the run logs.
	log, _ := present.NewLogger(stderr)
	wait := time.Duration(o.wait)
	lock := runlock.New(st, config.DurOr(cfg.Serve.LockStale, 2*time.Minute), log)
	// runCtx carries the lease (a fencing token the store checks before
	// every action) and ends, with the reason, when the lease is lost.
	runCtx, release, err := lock.Hold(ctx, "accessrecon run", wait)
	if err != nil {
		var le *runlock.Locked
		if errors.As(err, &le) {
			how := "retry later, or pass --wait DURATION to wait for it"
			if wait > 0 {
				how = fmt.Sprintf("waited %s", wait)
			}
			return exitFail, fmt.Errorf("run: another run is in progress: %v; nothing was done (%s)", le.Holder, how)
		}
		return exitFail, err
	}
	_, code, runErr := runOnce(runCtx, cfg, st, req, stdout, stderr)
	release()
	if o.metricsFile != "" {
		if err := metrics.WriteFile(context.WithoutCancel(ctx), o.metricsFile, cfg, st); err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("--metrics-file: %w", err))
			if code == exitOK {
				code = exitFail
			}
		}
	}
	return code, runErr
}

// runOnce runs through the runner, prints the summary (and, for a dry run,
// the plan), and says the exit code. It returns the result (nil when the
// run never started). Once ctx ends (SIGTERM), the run has the config's
// grace period to stop; past it, runOnce returns without it.
func runOnce(ctx context.Context, cfg *config.Config, st *store.Store, req runner.Request, stdout, stderr io.Writer) (*reconcile.Result, int, error) {
	log, tty := present.NewLogger(stderr)
	env := runner.Env{Store: st, Log: log, Human: stderr}
	if tty {
		env.Progress = present.NewProgress(stderr).Update
	}
	type outcome struct {
		res *reconcile.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := runner.Run(ctx, cfg, env, req)
		done <- outcome{res, err}
	}()
	var out outcome
	select {
	case out = <-done:
	case <-ctx.Done():
		grace := config.DurOr(cfg.Serve.Grace, 30*time.Second)
		select {
		case out = <-done:
		case <-time.After(grace):
			return nil, exitFail, fmt.Errorf("run: still busy %s after the signal (the grace period): stopped without it; the next run marks it crashed", grace)
		}
	}
	res, err := out.res, out.err
	if res == nil {
		return nil, exitFail, err
	}
	path := filepath.Join(req.OutDir, runner.FindingsName)
	if oe := (*runner.OutputError)(nil); errors.As(err, &oe) {
		return res, exitFail, err
	}
	present.Summary(stderr, res, path, enforcedTargets(cfg, req))
	if req.DryRun {
		present.Plan(stdout, res)
	}
	switch {
	case err == nil && allRevocationsFailed(res):
		return res, exitFail, fmt.Errorf("run %d: every revocation it attempted failed (see the actions above)", res.Run.ID)
	case err == nil:
		return res, exitOK, nil
	case errors.Is(err, reconcile.ErrGuard):
		return res, exitGuard, err
	}
	return res, exitFail, err
}

// allRevocationsFailed: the run attempted revocations and none was done.
func allRevocationsFailed(res *reconcile.Result) bool {
	failed := 0
	for _, a := range res.Actions {
		switch a.Status {
		case "done", "recovered_done":
			return false
		case "failed":
			failed++
		}
	}
	return failed > 0
}

// openStore opens the config's store; the store holds personal data, so
// its files (and SQLite's -wal and -shm, which take the database file's
// mode) are the owner's only.
func openStore(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	if pgstore.IsDSN(cfg.Store) {
		// Not a file name: never create a SQLite file called "postgres:".
		return nil, errors.New("store: a PostgreSQL store (postgres://…) is not available from the command yet (reconcile/pgstore implements the engine's store; its wiring, audit trail and outbox are to come): use a SQLite file")
	}
	path := cfg.StorePath()
	if f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600); err == nil {
		f.Close()
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return nil, fmt.Errorf("store: %w", err)
			}
		}
	}
	return store.Open(ctx, path)
}

func parseAsOf(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not RFC 3339 or YYYY-MM-DD", s)
}

// enforcedTargets names the targets a run acts on.
func enforcedTargets(cfg *config.Config, req runner.Request) []string {
	spec := reconcile.RunSpec{Policy: cfg.Policy.Policy, Mode: req.Mode, DryRun: req.DryRun}
	var out []string
	for _, t := range cfg.Targets {
		if reconcile.TargetMode(reconcile.TargetSpec{Name: t.Name, Mode: t.Mode}, spec) == reconcile.Enforce {
			out = append(out, t.Name)
		}
	}
	return out
}
