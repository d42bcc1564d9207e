package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/present"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/reconcile"
)

// Once runs through the runner and prints the summary (and, for a dry run,
// the plan). It returns the result (nil when the run never started).
// Once ctx ends (SIGTERM), the run has the config's
// grace period to stop; past it, Once returns without it.
func Once(ctx context.Context, cfg *config.Config, st storefile.Store, req Request, stdout, stderr io.Writer) (*reconcile.Result, error) {
	log, tty := present.NewLogger(stderr)
	env := Env{Store: st, Log: log, Human: stderr}
	if tty {
		env.Progress = present.NewProgress(stderr).Update
	}
	type outcome struct {
		res *reconcile.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := Run(ctx, cfg, env, req)
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
			return nil, fmt.Errorf("run: still busy %s after the signal (the grace period): stopped without it; the next run marks it crashed", grace)
		}
	}
	res, err := out.res, out.err
	if res == nil {
		return nil, err
	}
	path := filepath.Join(req.OutDir, FindingsName)
	if oe := (*OutputError)(nil); errors.As(err, &oe) {
		return res, err
	}
	present.Summary(stderr, res, path, enforcedTargets(cfg, req))
	if req.DryRun {
		present.Plan(stdout, res)
	}
	if err == nil && allRevocationsFailed(res) {
		return res, fmt.Errorf("run %d: every revocation it attempted failed (see the actions above)", res.Run.ID)
	}
	return res, err
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

// enforcedTargets names the targets a run acts on.
func enforcedTargets(cfg *config.Config, req Request) []string {
	spec := reconcile.RunSpec{Policy: cfg.Policy.Policy, Mode: req.Mode, DryRun: req.DryRun}
	var out []string
	for _, t := range cfg.Targets {
		if reconcile.TargetMode(reconcile.TargetSpec{Name: t.Name, Mode: t.Mode}, spec) == reconcile.Enforce {
			out = append(out, t.Name)
		}
	}
	return out
}

// Outcome is what a run's result and error come to.
type Outcome int

// The outcomes: Completed (exit 0), Failed (1: the run failed, never
// started, or wrote no output), Guarded (3: a guard tripped).
const (
	Completed Outcome = iota
	Failed
	Guarded
)

// Judge is the outcome of Once's result and error.
func Judge(res *reconcile.Result, err error) Outcome {
	switch {
	case res == nil:
		return Failed
	case err == nil:
		return Completed
	case errors.As(err, new(*OutputError)):
		return Failed
	case errors.Is(err, reconcile.ErrGuard):
		return Guarded
	}
	return Failed
}
