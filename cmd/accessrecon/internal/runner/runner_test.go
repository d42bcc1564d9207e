package runner

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"testing"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/memlimit"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// setup writes an HR export, a csv target and a config whose findings
// retention (1ns) makes every prune delete the findings of all runs but the
// latest.
func setup(t *testing.T) (*config.Config, *store.Store, string) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"hr.csv":  "employee_id,email,status\nE1,a@x,active\nE2,b@x,terminated\n",
		"vpn.csv": "account_id,username,email,employee_id,enabled\nv1,a,a@x,E1,true\nv2,b,b@x,E2,true\n",
		"schedule.yaml": "sources: [{name: hr, type: csv, config: {path: hr.csv}}]\n" +
			"targets: [{name: vpn, type: csv, config: {path: vpn.csv}}]\nretention: {findings: 1ns}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Load(filepath.Join(dir, "schedule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), cfg.StorePath())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return cfg, st, dir
}

func findingsOf(t *testing.T, st *store.Store, run int64) int {
	t.Helper()
	b, err := st.FindingBodies(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

// The retention runs after a full run, not after a targeted (webhook) or
// scoped one (where run, jobs and hooks differed before one runner); every
// run given an out dir writes findings.json there, a targeted one too.
func TestPruneAfterFullRunsOnly(t *testing.T) {
	cfg, st, dir := setup(t)
	env := Env{Store: st, Log: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	run := func(req Request) int64 {
		t.Helper()
		res, err := Run(ctx, cfg, env, req)
		if res == nil || err != nil {
			t.Fatalf("%+v: %v", req, err)
		}
		return res.Run.ID
	}
	first := run(Request{OutDir: filepath.Join(dir, "full")})
	if findingsOf(t, st, first) == 0 {
		t.Fatal("the first run has no findings: the test proves nothing")
	}
	run(Request{Job: "hook", EmployeeIDs: []string{"E2"}, OutDir: filepath.Join(dir, "hook"), Reports: Set{}})
	run(Request{Job: "leavers", Scope: []reconcile.Kind{reconcile.TerminatedActive}, Reports: Set{}})
	if findingsOf(t, st, first) == 0 {
		t.Error("the retention ran after a targeted or scoped run")
	}
	run(Request{})
	if n := findingsOf(t, st, first); n != 0 {
		t.Errorf("a full run did not apply the retention: run %d still has %d findings", first, n)
	}
	for _, d := range []string{"full", "hook"} {
		if _, err := os.Stat(filepath.Join(dir, d, FindingsName)); err != nil {
			t.Errorf("%s run: %v", d, err)
		}
	}
}

// With a memory budget, a full run's limit is sized to the job's last run
// that went through (none: the ceiling; a targeted run: the ceiling), and
// the ceiling is back after it.
func TestMemoryLimitSizedToTheLastRun(t *testing.T) {
	cfg, st, _ := setup(t)
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	const ceiling = 6 << 30
	ctx := memlimit.WithBudget(context.Background(), memlimit.NewBudget(ceiling))
	var during int64
	env := Env{Store: st, Log: slog.New(slog.DiscardHandler), Progress: func(string, int, bool) { during = debug.SetMemoryLimit(-1) }}
	run := func(job string, ids ...string) *reconcile.Result {
		t.Helper()
		during = 0
		res, err := Run(ctx, cfg, env, Request{Job: job, EmployeeIDs: ids, Reports: Set{}})
		if res == nil || err != nil {
			t.Fatalf("%s: %v", job, err)
		}
		if after := debug.SetMemoryLimit(-1); after != ceiling {
			t.Fatalf("limit %d after the run, want the ceiling", after)
		}
		return res
	}
	first := run("nightly")
	if during != ceiling {
		t.Fatalf("limit %d during the job's first run, want the ceiling", during)
	}
	c := first.Run.Counts
	if c["people"] != 2 || c["accounts"] != 2 || c["findings"] == 0 {
		t.Fatalf("counts %v: the test proves nothing", c)
	}
	run("nightly")
	if want := memlimit.Base + memlimit.Need(c["people"], c["accounts"], c["findings"]); during != want {
		t.Fatalf("limit %d during the second run, want %d", during, want)
	}
	run("other")
	if during != ceiling {
		t.Fatalf("limit %d during another job's first run, want the ceiling", during)
	}
	run("nightly", "E2")
	if during != ceiling {
		t.Fatalf("limit %d during a targeted run, want the ceiling", during)
	}
}

// While a sized run's workbook is written, the limit holds the workbook's
// need too (memlimit.WorkbookNeed of the run's findings); a run that
// writes no workbook does not raise it.
func TestMemoryLimitRaisedForTheWorkbook(t *testing.T) {
	cfg, st, dir := setup(t)
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	const ceiling = 6 << 30
	ctx := memlimit.WithBudget(context.Background(), memlimit.NewBudget(ceiling))
	raised := func(reports Set) (limits []int64, res *reconcile.Result) {
		t.Helper()
		rec := &recordHandler{}
		res, err := Run(ctx, cfg, Env{Store: st, Log: slog.New(rec)}, Request{Job: "nightly", Reports: reports, OutDir: dir})
		if res == nil || err != nil {
			t.Fatal(err)
		}
		for _, r := range rec.records {
			if r.Message == "memory limit raised while the workbook is written" {
				r.Attrs(func(a slog.Attr) bool {
					if a.Key == "limit_mib" {
						limits = append(limits, a.Value.Int64())
					}
					return true
				})
			}
		}
		return limits, res
	}
	if limits, _ := raised(Set{"xlsx"}); len(limits) != 0 {
		t.Fatalf("the job's first run (not sized) raised the limit for its workbook: %v", limits)
	}
	limits, res := raised(Set{"xlsx"})
	c := res.Run.Counts
	want := (memlimit.Base + memlimit.Need(c["people"], c["accounts"], c["findings"]) + memlimit.WorkbookNeed(len(res.Findings))) >> 20
	if len(limits) != 1 || limits[0] != want {
		t.Fatalf("limits %v MiB while the workbook was written, want [%d]", limits, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "accessrecon-"+res.Run.AsOf.Format("2006-01-02")+"-2.xlsx")); err != nil {
		t.Errorf("no workbook: %v", err)
	}
	if limits, _ := raised(Set{}); len(limits) != 0 {
		t.Fatalf("a run without the workbook raised the limit for it: %v", limits)
	}
	if after := debug.SetMemoryLimit(-1); after != ceiling {
		t.Fatalf("limit %d after the runs, want the ceiling", after)
	}
}

// recordHandler keeps every record, at every level.
type recordHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }
