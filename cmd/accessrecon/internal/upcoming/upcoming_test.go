package upcoming_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runner"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/upcoming"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/reports/xlsx"
)

// The schedule of known leavers follows HR through the store: a
// termination recorded ahead is listed at its date, moves when HR moves it,
// disappears when HR cancels it, and is taken by the first run that covers
// the person once its time has come (never a dry run, never a run started
// before it). A rehire's old date in the future of a later hire is no
// leaver. The workbook lists the same people.
func TestLeaversFollowHR(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	hr := func(e2 string) {
		write("hr.csv", "employee_id,email,first_name,last_name,status,hire_date,termination_date\n"+
			"E1,a@x,A,One,active,2020-01-01,\n"+e2+"\n"+
			"E3,c@x,C,Three,active,"+now.Add(72*time.Hour).Format(time.RFC3339)+","+now.Add(48*time.Hour).Format(time.RFC3339)+"\n")
	}
	write("vpn.csv", "account_id,username,email,employee_id,enabled\nv1,a,a@x,E1,true\nv2,b,b@x,E2,true\n")
	write("schedule.yaml", "sources: [{name: hr, type: csv, config: {path: hr.csv}}]\ntargets: [{name: vpn, type: csv, config: {path: vpn.csv}}]\n")
	cfg, err := config.Load(filepath.Join(dir, "schedule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), cfg.StorePath())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	run := func(req runner.Request) int64 {
		t.Helper()
		res, err := runner.Run(ctx, cfg, runner.Env{Store: st, Log: slog.New(slog.DiscardHandler)}, req)
		if res == nil {
			t.Fatal(err)
		}
		return res.Run.ID
	}
	list := func() []upcoming.Leaver {
		t.Helper()
		ls, err := upcoming.Leavers(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		return ls
	}
	if ls := list(); len(ls) != 0 {
		t.Fatalf("leavers before any run: %+v", ls)
	}

	at := now.Add(time.Hour)
	hr("E2,b@x,B,Two,terminated,2020-01-01," + at.Format(time.RFC3339))
	first := run(runner.Request{OutDir: filepath.Join(dir, "out1")})
	ls := list()
	if len(ls) != 1 || ls[0].EmployeeID != "E2" || !ls[0].EffectiveAt.Equal(at) || ls[0].KnownBy != first || ls[0].TakenBy != 0 || ls[0].Name != "B Two" {
		t.Fatalf("leavers after run %d: %+v, want E2 at %s, not taken", first, ls, at)
	}
	if ls[0].Due(now) || !ls[0].Due(at) {
		t.Errorf("E2 due now %v, at its time %v; want false, true", ls[0].Due(now), ls[0].Due(at))
	}
	books, _ := filepath.Glob(filepath.Join(dir, "out1", "*.xlsx"))
	if len(books) != 1 {
		t.Fatalf("workbooks of run %d: %q", first, books)
	}
	f, err := excelize.OpenFile(books[0])
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.GetRows(xlsx.SheetUpcoming)
	f.Close()
	if err != nil || len(rows) != 2 || rows[1][0] != "E2" || !slices.Contains(rows[1], "B Two") {
		t.Errorf("workbook sheet %q: %q (%v), want a header and E2", xlsx.SheetUpcoming, rows, err)
	}

	// HR moves the date: the schedule moves with the next run reading HR.
	later := now.Add(3 * time.Hour)
	hr("E2,b@x,B,Two,terminated,2020-01-01," + later.Format(time.RFC3339))
	run(runner.Request{Job: "leavers", Scope: []reconcile.Kind{reconcile.TerminatedActive}, Reports: runner.Set{}})
	if ls := list(); len(ls) != 1 || !ls[0].EffectiveAt.Equal(later) {
		t.Fatalf("after HR moved the date: %+v, want E2 at %s", ls, later)
	}
	// A targeted run of E2 before the date takes nothing.
	run(runner.Request{Job: "hook", EmployeeIDs: []string{"E2"}, Reports: runner.Set{}})
	if ls := list(); len(ls) != 1 || ls[0].TakenBy != 0 {
		t.Fatalf("a run before the date took the leaver: %+v", ls)
	}

	// HR cancels the termination: the schedule is empty.
	hr("E2,b@x,B,Two,active,2020-01-01,")
	run(runner.Request{Reports: runner.Set{}})
	if ls := list(); len(ls) != 0 {
		t.Fatalf("after HR cancelled the termination: %+v", ls)
	}

	// Recorded ahead of a snapshot judged two hours ago, due an hour ago:
	// a dry run does not take it, the targeted run of the person does.
	past := now.Add(-time.Hour)
	hr("E2,b@x,B,Two,terminated,2020-01-01," + past.Format(time.RFC3339))
	known := run(runner.Request{AsOf: now.Add(-2 * time.Hour), Reports: runner.Set{}})
	if ls := list(); len(ls) != 1 || ls[0].KnownBy != known || !ls[0].Due(now) {
		t.Fatalf("recorded ahead of run %d, due an hour ago: %+v", known, ls)
	}
	run(runner.Request{Job: "hook", EmployeeIDs: []string{"E2"}, DryRun: true, Reports: runner.Set{}})
	if ls := list(); len(ls) != 1 || ls[0].TakenBy != 0 {
		t.Fatalf("a dry run took the leaver: %+v", ls)
	}
	took := run(runner.Request{Job: upcoming.Job, EmployeeIDs: []string{"e2"}, Reports: runner.Set{}})
	if ls := list(); len(ls) != 1 || ls[0].TakenBy != took || ls[0].Due(now) {
		t.Fatalf("after the targeted run %d: %+v, want taken by it", took, ls)
	}
}
