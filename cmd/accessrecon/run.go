package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/metrics"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runlock"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runner"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/pgstore"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/targets"
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
	log, _ := newLogger(stderr)
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
	log, tty := newLogger(stderr)
	env := runner.Env{Store: st, Log: log, Human: stderr}
	if tty {
		env.Progress = newProgress(stderr).update
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
	printSummary(stderr, res, path, enforcedTargets(cfg, req))
	if req.DryRun {
		printPlan(stdout, res)
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

// newLogger logs JSON to w, or, on a terminal, only warnings in text (the
// live progress says the rest).
func newLogger(w io.Writer) (*slog.Logger, bool) {
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn})), true
		}
	}
	return slog.New(slog.NewJSONHandler(w, nil)), false
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

// printSummary is the human summary of a run, on stderr.
func printSummary(w io.Writer, res *reconcile.Result, path string, enforced []string) {
	r := res.Run
	mode := r.Mode
	if len(enforced) > 0 && r.Mode != string(reconcile.Enforce) {
		mode += "; enforce on " + strings.Join(enforced, ", ")
	}
	fmt.Fprintf(w, "\naccessrecon run %d: %s (mode %s, as of %s)\n", r.ID, strings.ToUpper(string(r.Status)), mode, r.AsOf.Format(time.RFC3339))
	for _, g := range r.Guards {
		fmt.Fprintf(w, "  GUARD TRIPPED: %s\n", shown(g))
	}
	if r.Error != "" && len(r.Guards) == 0 {
		fmt.Fprintf(w, "  error: %s\n", shown(r.Error))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  collected\ttype\tstatus\trows\tduration")
	for _, c := range res.Collections {
		fmt.Fprintf(tw, "  %s %s\t%s\t%s\t%d\t%s\n", c.Side, shown(c.Name), shown(c.Type), shown(string(c.Status)), c.Count, c.Duration.Round(time.Millisecond))
	}
	tw.Flush()
	byKind := map[reconcile.Kind]map[reconcile.Disposition]int{}
	for _, f := range res.Findings {
		if byKind[f.Kind] == nil {
			byKind[f.Kind] = map[reconcile.Disposition]int{}
		}
		byKind[f.Kind][f.Disposition]++
	}
	fmt.Fprintf(w, "\n  %d findings; %d problems of earlier runs now resolved:\n", len(res.Findings), len(res.Resolved))
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  kind\tauto_revoke\tmanual_revoke\treview\texempt\t")
	for _, k := range reconcile.Kinds {
		if m := byKind[k]; m != nil {
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%d\t\n", k, m[reconcile.AutoRevoke], m[reconcile.ManualRevoke], m[reconcile.Review], m[reconcile.Exempt])
		}
	}
	tw.Flush()
	if len(res.Actions) > 0 {
		outcomes := map[string]int{}
		for _, a := range res.Actions {
			outcomes[string(a.Status)]++
		}
		keys := make([]string, 0, len(outcomes))
		for k := range outcomes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%d %s", outcomes[k], shown(k))
		}
		fmt.Fprintf(w, "\n  actions: %s\n", strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "\n  findings written to %s\n", shown(path))
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

// printPlan prints, for a dry run, exactly what enforce mode would do:
// holds, exemptions and safety rails applied as enforce would apply them.
func printPlan(w io.Writer, res *reconcile.Result) {
	fmt.Fprintln(w, "plan (dry run: nothing was done) with holds, exemptions and safety rails applied as enforce would:")
	if !res.Trusted() {
		fmt.Fprintln(w, "  UNTRUSTED RUN: a safety rail tripped; enforce would act on nothing below")
	}
	n := 0
	for _, f := range res.Findings {
		for _, s := range f.Actions {
			how := "AUTO   "
			switch {
			case f.Disposition == reconcile.Exempt:
				how = "EXEMPT "
			case f.Outcome == reconcile.OutcomeBlocked && f.Evidence["hold"] != "":
				how = "HELD   "
			case f.Outcome == reconcile.OutcomeBlocked:
				how = "BLOCKED"
			case !s.Auto:
				how = "MANUAL "
			}
			arg := ""
			if s.Arg != "" {
				arg = " " + cmp.Or(s.Name, s.Arg)
			}
			who := f.AccountID
			if f.Username != "" && f.Username != f.AccountID {
				who += " (" + f.Username + ")"
			}
			fmt.Fprintf(w, "  %s %-10s %-40s %s%s  [%s %s]\n", how, shown(f.Target), shown(who), shown(string(s.Op)), shown(arg), f.Kind, f.Fingerprint)
			n++
		}
	}
	if n == 0 {
		fmt.Fprintln(w, "  nothing to do")
	}
}

// progress shows live per-collector counts and rates on a terminal.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	start map[string]time.Time
}

func newProgress(w io.Writer) *progress { return &progress{w: w, start: map[string]time.Time{}} }

func (p *progress) update(name string, n int, done bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	start, ok := p.start[name]
	if !ok {
		start = time.Now()
		p.start[name] = start
	}
	end := "\r"
	if done {
		end = "\n"
	}
	rate := float64(n) / max(time.Since(start).Seconds(), 0.001)
	fmt.Fprintf(p.w, "\033[2K  %-20s %10d rows  %8.0f/s%s", shown(name), n, rate, end)
}

// shown makes data fit to print for people: line breaks and tabs escaped
// (\n), every other control or non-printable character escaped too, so an
// account ID or a reason can neither forge a line nor drive the terminal.
func shown(s string) string {
	return targets.Printable(strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s), 0)
}
