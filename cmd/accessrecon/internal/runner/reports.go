package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/upcoming"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/reports/jira"
	"github.com/accessrecon/accessrecon/reports/xlsx"
	"github.com/accessrecon/accessrecon/targets"
)

// Set names the reports a run writes: "xlsx", "jira". nil means every
// configured report; an empty, non-nil set means none.
type Set []string

// wants says whether the set includes the report name.
func (r Set) wants(name string) bool { return r == nil || slices.Contains(r, name) }

// only narrows the set to one report (when the set includes it).
func (r Set) only(name string) Set {
	if r == nil || slices.Contains(r, name) {
		return Set{name}
	}
	return Set{}
}

// writeReports writes the reports of a finished run. which nil means every
// configured report. outDir is the run's --out directory, used for the
// workbook when reports.xlsx.dir is not configured. A report that fails is
// said through n and returned, but never changes what the run did.
func writeReports(ctx context.Context, cfg *config.Config, st storefile.Store, res *reconcile.Result, which Set, outDir string, dryRun bool, n notifier) error {
	want := which.wants
	var errs []error
	failed := res.Run.Status == reconcile.StatusFailed || res.Run.Status == reconcile.StatusCancelled
	if want("jira") && cfg.Reports.Jira != nil && !failed {
		if err := syncJira(ctx, cfg, st, res, dryRun, n); err != nil {
			errs = append(errs, err)
		}
	}
	if want("xlsx") {
		dir := cfg.Resolve(cfg.Reports.XLSX.Dir)
		if dir == "" {
			dir = outDir
		}
		if dir != "" {
			path, err := writeWorkbook(ctx, st, res, dir)
			if err != nil {
				errs = append(errs, fmt.Errorf("workbook: %w", err))
			} else {
				n.say("workbook written to "+path, "workbook written", "run", res.Run.ID, "path", path)
			}
		}
	}
	err := errors.Join(errs...)
	if err != nil {
		n.warn(fmt.Sprintf("report error: %v", err), "report failed", "run", res.Run.ID, "err", err)
	}
	return err
}

// syncJira keeps one ticket per exception. A Jira outage never fails the
// run: the unsent work stays in the store's outbox for the next run.
func syncJira(ctx context.Context, cfg *config.Config, st storefile.Store, res *reconcile.Result, dryRun bool, n notifier) error {
	jc := *cfg.Reports.Jira
	if err := config.Prepare(&jc, cfg.Dir(), "reports.jira", targets.NewRedactor()); err != nil {
		return err
	}
	client, err := jira.New(jc, n.log)
	if err != nil {
		return fmt.Errorf("reports.jira: %w", err)
	}
	out := jiraOutbox{st}
	if dryRun {
		actions, err := client.Plan(ctx, res, out)
		if err != nil {
			return fmt.Errorf("jira plan: %w", err)
		}
		n.say(fmt.Sprintf("jira (dry run): %d ticket changes would be made", len(actions)), "jira (dry run): ticket changes planned", "run", res.Run.ID, "changes", len(actions))
		for _, a := range actions {
			n.say(fmt.Sprintf("  %-8s %-12s %s %s", a.Kind, dash(a.Key), a.Fingerprint, targets.Printable(a.Summary, 200)), "jira (dry run): planned",
				"kind", a.Kind, "key", a.Key, "fingerprint", a.Fingerprint, "summary", a.Summary)
		}
		return nil
	}
	sum, err := client.Sync(ctx, res, out)
	n.say(fmt.Sprintf("jira: %d created, %d updated, %d closed, %d reopened, %d unchanged, %d refused, %d kept for the next run",
		sum.Created, sum.Updated, sum.Closed, sum.Reopened, sum.Unchanged, sum.Failed, sum.Pending), "jira synced", "run", res.Run.ID,
		"created", sum.Created, "updated", sum.Updated, "closed", sum.Closed, "reopened", sum.Reopened, "unchanged", sum.Unchanged, "refused", sum.Failed, "pending", sum.Pending)
	if errors.Is(err, jira.ErrDeferred) {
		return nil // kept in the outbox; said above
	}
	if err != nil {
		return fmt.Errorf("jira: %w", err)
	}
	return nil
}

// jiraOutbox keeps Jira work in the store's outbox table.
type jiraOutbox struct{ st storefile.Store }

func (o jiraOutbox) Save(ctx context.Context, ops []jira.Op) error {
	items := make([]store.OutboxItem, len(ops))
	for i, op := range ops {
		b, err := json.Marshal(op)
		if err != nil {
			return err
		}
		items[i] = store.OutboxItem{ID: op.ID, Queued: op.Queued, Body: b}
	}
	return o.st.OutboxSave(ctx, "jira", items)
}

func (o jiraOutbox) Pending(ctx context.Context) ([]jira.Op, error) {
	items, err := o.st.OutboxPending(ctx, "jira")
	if err != nil {
		return nil, err
	}
	ops := make([]jira.Op, len(items))
	for i, it := range items {
		if err := json.Unmarshal(it.Body, &ops[i]); err != nil {
			return nil, fmt.Errorf("outbox item %s: %w", it.ID, err)
		}
	}
	return ops, nil
}

func (o jiraOutbox) Done(ctx context.Context, id string) error {
	return o.st.OutboxDone(ctx, "jira", id)
}

func (o jiraOutbox) SetJiraKey(ctx context.Context, fingerprint, key string) error {
	return o.st.SetJiraKey(ctx, fingerprint, key)
}

// writeWorkbook writes the run's workbook from the finished result; the
// store is read only for the trend of earlier runs and the holds.
func writeWorkbook(ctx context.Context, st storefile.Store, res *reconcile.Result, dir string) (string, error) {
	trend, err := st.Runs(ctx, 30)
	if err != nil {
		return "", err
	}
	holds, err := st.Holds(ctx, false)
	if err != nil {
		return "", err
	}
	requests, err := st.Exemptions(ctx, true)
	if err != nil {
		return "", err
	}
	approvals, err := st.HoldApprovals(ctx)
	if err != nil {
		return "", err
	}
	ls, err := upcoming.Leavers(ctx, st)
	if err != nil {
		return "", err
	}
	up := make([]xlsx.UpcomingLeaver, len(ls))
	for i, l := range ls {
		up[i] = xlsx.UpcomingLeaver{EmployeeID: l.EmployeeID, Name: l.Name, Status: l.Status, EffectiveAt: l.EffectiveAt, KnownBy: l.KnownBy, TakenBy: l.TakenBy}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, xlsx.FileName(res))
	if err := xlsx.WriteContext(ctx, path, res, xlsx.Options{Trend: trend, Holds: holds, HoldApprovals: approvals, ExemptionRequests: requests, Now: time.Now(), Store: st, Upcoming: up}); err != nil {
		return path, err
	}
	// Personal data: the owner writes, the group (auditors) reads.
	return path, os.Chmod(path, 0o640)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
