package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/metrics"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/present"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runlock"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runner"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/reconcile"
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
		return req, usageError{Msg: fmt.Sprintf("--mode: %q is not report or enforce", o.mode)}
	}
	if o.asOf != "" {
		t, err := parseAsOf(o.asOf)
		if err != nil {
			return req, usageError{Msg: "--as-of: " + err.Error()}
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
	st, err := storefile.Open(ctx, cfg)
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
	res, runErr := runner.Once(runCtx, cfg, st, req, stdout, stderr)
	code := exitFor(res, runErr)
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

func parseAsOf(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not RFC 3339 or YYYY-MM-DD", s)
}

// exitFor is the exit code of a run.
func exitFor(res *reconcile.Result, err error) int {
	switch runner.Judge(res, err) {
	case runner.Completed:
		return exitOK
	case runner.Guarded:
		return exitGuard
	}
	return exitFail
}
