// Package runner is the one path that runs the engine: `accessrecon run`,
// every job of `accessrecon serve` and every webhook run call Run, which
// wires the config, opens the audit trail, runs the engine, writes the
// reports and findings.json, and applies the retention.
package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/memlimit"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/trail"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// Request is what one run does.
type Request struct {
	// Job names the run in the store ("" for a manual run, "hook" for a
	// webhook run).
	Job string
	// Mode overrides policy.mode ("" keeps it; a target's own mode wins).
	Mode reconcile.Mode
	// Scope limits the finding kinds (nil: a full run).
	Scope []reconcile.Kind
	// EmployeeIDs restricts the run to these people (the webhook fast path).
	EmployeeIDs []string
	// DryRun plans and acts on nothing.
	DryRun bool
	// AsOf judges as of this time (zero: now).
	AsOf time.Time
	// Timeout overrides the config's run timeout (0 keeps it).
	Timeout time.Duration
	// OutDir receives findings.json, and the workbook when reports.xlsx.dir
	// is unset ("": no findings.json).
	OutDir string
	// Reports limits the reports written (nil: every configured one; an
	// empty, non-nil set: none).
	Reports Set
	// ExtraSources are added to the configured HR sources (a drill's
	// synthetic canary records: see internal/drill).
	ExtraSources []reconcile.SourceSpec
	// Drill marks a drill's run: the canaries are its subject. Every other
	// run leaves them alone (canaryExemptions).
	Drill bool
}

// Env is what the caller lends the run.
type Env struct {
	Store storefile.Store
	// Log is the connectors' logger (they are built before the run has an
	// ID: Run adds it once the engine has one).
	Log *slog.Logger
	// EngineLog is the engine's logger (nil: Log); the engine adds run and
	// job itself.
	EngineLog *slog.Logger
	// Progress, when set, is told each collector's row count.
	Progress func(name string, n int, done bool)
	// Human, when set, receives the reports' messages as text for people
	// (`accessrecon run`); when nil they are logged (serve's JSON log).
	Human io.Writer
}

// OutputError is a run whose outputs (findings.json) could not be written:
// the run itself happened.
type OutputError struct{ Err error }

func (e *OutputError) Error() string { return e.Err.Error() }
func (e *OutputError) Unwrap() error { return e.Err }

// FindingsName is the file every run writes into its OutDir.
const FindingsName = "findings.json"

// Run runs one reconciliation. It returns the result (nil when the run
// never started: a config that cannot be wired, an output location that
// cannot be written) and the run's error joined with any
// *OutputError. Pruning follows a full-scope run that was not cancelled.
func Run(ctx context.Context, cfg *config.Config, env Env, req Request) (*reconcile.Result, error) {
	if err := checkOutputs(cfg, req); err != nil {
		return nil, err
	}
	runID := new(atomic.Int64)
	w, err := config.Wire(ctx, cfg, withRunID(env.Log, runID))
	if err != nil {
		return nil, err
	}
	defer w.Close()
	spec := w.Spec
	spec.Job, spec.Mode, spec.Scope, spec.EmployeeIDs, spec.DryRun = req.Job, req.Mode, req.Scope, req.EmployeeIDs, req.DryRun
	spec.AsOf = req.AsOf
	spec.Sources = append(spec.Sources, req.ExtraSources...)
	if spec.Policy.Exemptions, err = withStoreExemptions(ctx, env.Store, spec.Policy.Exemptions); err != nil {
		return nil, err
	}
	if !req.Drill {
		spec.Policy.Exemptions = append(spec.Policy.Exemptions, canaryExemptions(cfg, cmp.Or(spec.AsOf, time.Now()))...)
	}
	if req.Timeout > 0 {
		spec.Timeout = req.Timeout
	}
	engineLog := env.EngineLog
	if engineLog == nil {
		engineLog = env.Log
	}
	tr := trail.Open(cfg, env.Store, env.Log)
	if err := trail.Ready(cfg, tr); err != nil {
		return nil, err // a trail configured to sign that cannot: nothing acts
	}
	// The findings' JSON waits for findings.json beside it, on disk. The
	// engine's lines pass through the Redactor, as the connectors' do.
	eng := &reconcile.Engine{Store: env.Store, Log: slog.New(w.Redactor.Handler(engineLog.Handler())), Audit: reconcile.TrailAuditor{Trail: tr},
		Started: runID.Store, Redactor: w.Redactor, Progress: env.Progress, Spool: req.OutDir}
	// A full run's memory is sized to the job's last one; a targeted or
	// scoped run's, whose counts say little of what it reads, is not (while
	// one is going, the watch on the live heap covers it).
	budget := memlimit.FromContext(ctx)
	sized := false
	if budget != nil && len(req.EmployeeIDs) == 0 && len(req.Scope) == 0 {
		if need := lastNeed(ctx, env.Store, req.Job); need > 0 {
			release := budget.Reserve(need)
			defer release()
			sized = true
			env.Log.Debug("memory limit sized to the job's last run", "need_mib", need>>20, "limit_mib", budget.Limit()>>20)
		}
	}
	if req.OutDir != "" {
		forgetCached(filepath.Join(req.OutDir, FindingsName)) // replaced at the end
	}
	res, runErr := eng.Run(ctx, spec)
	// The chain head is signed once the run is over, whatever its outcome.
	runErr = errors.Join(runErr, trail.CheckpointRun(ctx, cfg, tr))
	if res == nil {
		return nil, runErr
	}
	if res.Run.ID > 0 { // the config each run was made with (evidence)
		runErr = errors.Join(runErr, env.Store.SetRunConfigHash(context.WithoutCancel(ctx), res.Run.ID, cfg.SHA256()))
	}
	// Reports and findings.json record what happened even when the run was
	// cancelled: they are written past the run's context.
	octx := context.WithoutCancel(ctx)
	n := notifier{human: env.Human, log: env.Log}
	// Reports never change what the run did: their errors are shown, and
	// the run's status stays. Jira goes first so that the workbook and
	// findings.json carry the ticket keys.
	_ = writeReports(octx, cfg, env.Store, res, req.Reports.only("jira"), req.OutDir, req.DryRun, n)
	// The workbook and findings.json only read the result: side by side.
	var wg sync.WaitGroup
	wg.Go(func() {
		if sized && req.Reports.wants("xlsx") {
			release := budget.Reserve(memlimit.WorkbookNeed(len(res.Findings)))
			defer release()
			env.Log.Debug("memory limit raised while the workbook is written", "limit_mib", budget.Limit()>>20)
		}
		_ = writeReports(octx, cfg, env.Store, res, req.Reports.only("xlsx"), req.OutDir, req.DryRun, n)
	})
	// Notifications are events of the run, not reports: every run that
	// acted (not a dry run) tells the configured sinks, whatever reports
	// it writes; a sink that is down never fails the run.
	if !req.DryRun && cfg.Reports.Notify != nil {
		wg.Go(func() {
			if err := sendNotifications(octx, cfg, env.Store, res, n); err != nil {
				n.warn(fmt.Sprintf("notifications: %v", err), "notifications failed", "run", res.Run.ID, "err", err)
			}
		})
	}
	var ferr error
	if req.OutDir != "" {
		ferr = WriteFindings(filepath.Join(req.OutDir, FindingsName), res)
	}
	wg.Wait()
	if err := res.Close(); err != nil {
		env.Log.Warn("findings spool", "err", err)
	}
	if len(req.Scope) == 0 && len(req.EmployeeIDs) == 0 && res.Run.Status != reconcile.StatusCancelled {
		if err := prune(octx, cfg, env.Store); err != nil {
			env.Log.Warn("retention", "err", err)
		}
	}
	if ferr != nil {
		return res, errors.Join(runErr, &OutputError{Err: fmt.Errorf("%s: %w", FindingsName, ferr)})
	}
	return res, runErr
}

// lastNeed is the memory the job's last run that went through needed
// (memlimit.Need of its counts), 0 when there is none.
func lastNeed(ctx context.Context, st storefile.Store, job string) int64 {
	last, err := st.LastRunOf(ctx, job, reconcile.StatusCompleted, reconcile.StatusGuardTripped, reconcile.StatusPartial)
	if err != nil {
		return 0
	}
	return memlimit.Need(last.Counts["people"], last.Counts["accounts"], last.Counts["findings"])
}

// checkOutputs makes sure, before anything is collected, that every place
// the run writes to exists and takes a file.
func checkOutputs(cfg *config.Config, req Request) error {
	var dirs []string
	if req.OutDir != "" {
		dirs = append(dirs, req.OutDir)
	}
	if req.Reports.wants("xlsx") && cfg.Reports.XLSX.Dir != "" {
		dirs = append(dirs, cfg.Resolve(cfg.Reports.XLSX.Dir))
	}
	for _, d := range dirs {
		if err := writable(d); err != nil {
			return fmt.Errorf("output %s cannot be written (nothing was collected or done): %w", d, err)
		}
	}
	return nil
}

// writable creates dir if needed and proves a file can be made in it.
func writable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".accessrecon-probe-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// notifier says what the reports did: as text to people, or in the log.
type notifier struct {
	human io.Writer
	log   *slog.Logger
}

// say prints text to people, or logs msg with attrs.
func (n notifier) say(text, msg string, attrs ...any) {
	if n.human != nil {
		fmt.Fprintf(n.human, "  %s\n", text)
		return
	}
	n.log.Info(msg, attrs...)
}

// warn is say for a failure.
func (n notifier) warn(text, msg string, attrs ...any) {
	if n.human != nil {
		fmt.Fprintf(n.human, "  %s\n", text)
		return
	}
	n.log.Error(msg, attrs...)
}

// prune applies the retention: snapshots, findings and the audit trail's
// prefix.
func prune(ctx context.Context, cfg *config.Config, st storefile.Store) error {
	r := store.Retention{Snapshots: config.DurOr(cfg.Retention.Snapshots, 30*24*time.Hour), Findings: config.DurOr(cfg.Retention.Findings, 400*24*time.Hour)}
	now := time.Now()
	if err := st.Prune(ctx, now, r); err != nil {
		return err
	}
	keep := config.DurOr(cfg.Retention.Audit, 1095*24*time.Hour)
	_, err := trail.Open(cfg, st, slog.New(slog.DiscardHandler)).Trim(ctx, now.Add(-keep))
	return err
}
