package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
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
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/targets"
)

// runOptions are the flags of run (and of the demo's runs).
type runOptions struct {
	config string
	asOf   string
	out    string
	dryRun bool
	mode   string
	// reports limits the reports written (nil: every configured one).
	reports reportSet
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o runOptions
	fs.StringVar(&o.config, "config", "", "configuration file (schedule.yaml)")
	fs.StringVar(&o.asOf, "as-of", "", "judge as of this time (RFC 3339 or YYYY-MM-DD; default now)")
	fs.StringVar(&o.out, "out", ".", "directory for findings.json")
	fs.BoolVar(&o.dryRun, "dry-run", false, "report mode: plan and print, act on nothing")
	fs.StringVar(&o.mode, "mode", "", "report (act nowhere) or enforce (in place of policy.mode; a target's own mode still wins)")
	wait := fs.Duration("wait", 0, "wait this long for a run holding the store lock (default: refuse at once)")
	metricsFile := fs.String("metrics-file", "", "write the run's metrics in node_exporter textfile format to this file")
	if err := fs.Parse(args); err != nil {
		return exitUsage, usageError{err.Error()}
	}
	if o.config == "" {
		return exitUsage, usageError{"run: --config is required"}
	}
	return runLocked(ctx, o, *wait, *metricsFile, stdout, stderr)
}

// withRunID returns a logger whose lines carry "run" once id is set: the
// connectors are built before the run has an ID, and the engine sets it.
func withRunID(log *slog.Logger, id *atomic.Int64) *slog.Logger {
	return slog.New(runIDHandler{h: log.Handler(), id: id})
}

type runIDHandler struct {
	h  slog.Handler
	id *atomic.Int64
}

func (r runIDHandler) Enabled(ctx context.Context, l slog.Level) bool { return r.h.Enabled(ctx, l) }

func (r runIDHandler) Handle(ctx context.Context, rec slog.Record) error {
	if id := r.id.Load(); id > 0 {
		rec = rec.Clone()
		rec.AddAttrs(slog.Int64("run", id))
	}
	return r.h.Handle(ctx, rec)
}

func (r runIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return runIDHandler{h: r.h.WithAttrs(as), id: r.id}
}

func (r runIDHandler) WithGroup(name string) slog.Handler {
	return runIDHandler{h: r.h.WithGroup(name), id: r.id}
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

// runOnce loads the config, runs, writes findings.json and prints the
// summary. It returns the result (nil when the run never started).
func runOnce(ctx context.Context, o runOptions, stdout, stderr io.Writer) (*reconcile.Result, int, error) {
	cfg, err := loadConfig(o.config)
	if err != nil {
		return nil, exitFail, err
	}
	log, tty := newLogger(stderr)
	runID := new(atomic.Int64)
	w, err := wire(cfg, withRunID(log, runID))
	if err != nil {
		return nil, exitFail, err
	}
	defer w.Close()
	spec := w.spec
	spec.DryRun = o.dryRun
	switch o.mode {
	case "":
	case "report", "enforce":
		spec.Mode = reconcile.Mode(o.mode)
	default:
		return nil, exitUsage, usageError{fmt.Sprintf("--mode: %q is not report or enforce", o.mode)}
	}
	if o.asOf != "" {
		t, err := parseAsOf(o.asOf)
		if err != nil {
			return nil, exitUsage, usageError{"--as-of: " + err.Error()}
		}
		spec.AsOf = t
	}
	st, err := store.Open(ctx, cfg.storePath())
	if err != nil {
		return nil, exitFail, err
	}
	defer st.Close()
	trail := openTrail(cfg, st, log)
	if err := checkpointsReady(cfg, trail); err != nil {
		return nil, exitFail, err
	}
	eng := &reconcile.Engine{Store: st, Log: log, Audit: reconcile.TrailAuditor{Trail: trail}, Started: runID.Store, Redactor: w.redactor}
	if tty {
		p := newProgress(stderr)
		eng.Progress = p.update
	}
	res, runErr := eng.Run(ctx, spec)
	runErr = errors.Join(runErr, checkpointRun(ctx, cfg, trail))
	if res == nil {
		return nil, exitFail, runErr
	}
	if err := pruneStore(ctx, st, cfg); err != nil {
		log.Warn("retention", "err", err)
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return res, exitFail, err
	}
	// Reports never change what the run did: their errors are shown, and
	// the exit status stays the run's. Jira goes first so that the
	// workbook and findings.json carry the ticket keys.
	_ = writeReports(ctx, cfg, st, res, o.reports.only("jira"), o.out, o.dryRun, stderr)
	// The workbook and findings.json only read the result: write them side
	// by side.
	var wg sync.WaitGroup
	wg.Go(func() { _ = writeReports(ctx, cfg, st, res, o.reports.only("xlsx"), o.out, o.dryRun, stderr) })
	path := filepath.Join(o.out, "findings.json")
	ferr := writeFindings(path, res)
	wg.Wait()
	if ferr != nil {
		return res, exitFail, errors.Join(runErr, ferr)
	}
	printSummary(stderr, res, path, enforcedTargets(spec))
	if o.dryRun {
		printPlan(stdout, res)
	}
	switch {
	case runErr == nil:
		return res, exitOK, nil
	case errors.Is(runErr, reconcile.ErrGuard):
		return res, exitGuard, runErr
	}
	return res, exitFail, runErr
}

// pruneStore applies the retention: snapshots, findings and the audit
// trail's prefix.
func pruneStore(ctx context.Context, st *store.Store, cfg *Config) error {
	r := store.Retention{Snapshots: cfg.Retention.Snapshots.D(), Findings: cfg.Retention.Findings.D()}
	if r.Snapshots == 0 {
		r.Snapshots = 30 * 24 * time.Hour
	}
	if r.Findings == 0 {
		r.Findings = 400 * 24 * time.Hour
	}
	now := time.Now()
	if err := st.Prune(ctx, now, r); err != nil {
		return err
	}
	keep := cfg.Retention.Audit.D()
	if keep == 0 {
		keep = 1095 * 24 * time.Hour
	}
	_, err := openTrail(cfg, st, slog.New(slog.DiscardHandler)).Trim(ctx, now.Add(-keep))
	return err
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

// findingsFile is findings.json.
type findingsFile struct {
	Run struct {
		ID         int64     `json:"id"`
		AsOf       time.Time `json:"as_of"`
		StartedAt  time.Time `json:"started_at"`
		FinishedAt time.Time `json:"finished_at"`
		Status     string    `json:"status"`
		Mode       string    `json:"mode"`
		Guards     []string  `json:"guards,omitempty"`
		// Trusted is false once a safety rail tripped: the findings are
		// shown but were not acted on, and no ticket followed them.
		Trusted bool   `json:"trusted"`
		DryRun  bool   `json:"dry_run,omitempty"`
		Error   string `json:"error,omitempty"`
	} `json:"run"`
	Collections []store.Collection  `json:"collections"`
	Findings    []reconcile.Finding `json:"findings"`
	Actions     []store.Action      `json:"actions,omitempty"`
}

func writeFindings(path string, res *reconcile.Result) error {
	var f findingsFile
	f.Run.ID, f.Run.AsOf, f.Run.StartedAt, f.Run.FinishedAt = res.Run.ID, res.Run.AsOf, res.Run.StartedAt, res.Run.FinishedAt
	f.Run.Status, f.Run.Mode, f.Run.Guards, f.Run.Error = string(res.Run.Status), res.Run.Mode, res.Run.Guards, res.Run.Error
	f.Run.Trusted, f.Run.DryRun = res.Trusted(), res.Run.DryRun
	f.Collections, f.Actions = res.Collections, res.Actions
	tmp := path + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // a no-op once renamed
	// Streamed, one finding a line: a hundred thousand findings never sit
	// in memory twice, and the file still reads as one JSON document.
	bw := bufio.NewWriterSize(out, 1<<20)
	part := func(key string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(bw, "%q: %s,\n", key, b)
		return err
	}
	bw.WriteString("{")
	if err := part("run", f.Run); err != nil {
		out.Close()
		return err
	}
	if err := part("collections", f.Collections); err != nil {
		out.Close()
		return err
	}
	if f.Actions != nil {
		if err := part("actions", f.Actions); err != nil {
			out.Close()
			return err
		}
	}
	bw.WriteString("\"findings\": [")
	for i, fd := range res.Findings {
		b, err := json.Marshal(fd)
		if err != nil {
			out.Close()
			return err
		}
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
		bw.Write(b)
	}
	bw.WriteString("\n]}\n")
	if err := bw.Flush(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
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
		fmt.Fprintf(w, "  GUARD TRIPPED: %s\n", g)
	}
	if r.Error != "" && len(r.Guards) == 0 {
		fmt.Fprintf(w, "  error: %s\n", r.Error)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  collected\ttype\tstatus\trows\tduration")
	for _, c := range res.Collections {
		fmt.Fprintf(tw, "  %s %s\t%s\t%s\t%d\t%s\n", c.Side, c.Name, c.Type, c.Status, c.Count, c.Duration.Round(time.Millisecond))
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
			parts[i] = fmt.Sprintf("%d %s", outcomes[k], k)
		}
		fmt.Fprintf(w, "\n  actions: %s\n", strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "\n  findings written to %s\n", path)
}

// enforcedTargets names the targets a run acts on.
func enforcedTargets(spec reconcile.RunSpec) []string {
	var out []string
	for _, t := range spec.Targets {
		if reconcile.TargetMode(t, spec) == reconcile.Enforce {
			out = append(out, t.Name)
		}
	}
	return out
}

// printPlan prints, for a dry run, exactly what enforce mode would do.
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
			fmt.Fprintf(w, "  %s %-10s %-40s %s%s  [%s %s]\n", how, targets.Printable(f.Target, 0), targets.Printable(who, 0), s.Op,
				targets.Printable(arg, 0), f.Kind, f.Fingerprint)
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
	fmt.Fprintf(p.w, "\033[2K  %-20s %10d rows  %8.0f/s%s", name, n, rate, end)
}
