package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/period"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/serve"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/reports/xlsx"
)

// summaryText is every cell of a workbook sheet, joined.
func sheetText(t *testing.T, path, sheet string) string {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); !slices.Equal(got, xlsx.PeriodSheets) {
		t.Fatalf("%s: sheets %q, want the period report's %q", path, got, xlsx.PeriodSheets)
	}
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r, "\t") + "\n")
	}
	return b.String()
}

// `accessrecon report` writes the period workbook from the store, with
// the audit trail verified on its Summary; a period that ends before it
// starts is a usage error.
func TestReportCommand(t *testing.T) {
	_, cfgPath := smallSetup(t, "")
	ctx := context.Background()
	for range 2 {
		var out, errb bytes.Buffer
		if code := run(ctx, []string{"run", "--config", cfgPath, "--out", t.TempDir()}, &out, &errb); code != exitOK {
			t.Fatalf("run: exit %d: %s", code, errb.String())
		}
	}
	today := time.Now().UTC()
	book := filepath.Join(t.TempDir(), "period.xlsx")
	var out, errb bytes.Buffer
	code := run(ctx, []string{"report", "--config", cfgPath, "--from", today.AddDate(0, 0, -1).Format("2006-01-02"), "--to", today.Format("2006-01-02"), "--out", book}, &out, &errb)
	if code != exitOK || !strings.Contains(out.String(), book) {
		t.Fatalf("report: exit %d: %s%s", code, out.String(), errb.String())
	}
	summary := sheetText(t, book, xlsx.SheetSummary)
	for _, want := range []string{"Verification\tpassed", "Runs\t2\n", "Runs by status\tcompleted 2"} {
		if !strings.Contains(summary, want) {
			t.Errorf("Summary has no %q:\n%s", want, summary)
		}
	}
	errb.Reset()
	if code := run(ctx, []string{"report", "--config", cfgPath, "--from", "2026-11-30", "--to", "2026-11-01"}, &out, &errb); code != exitUsage {
		t.Errorf("--to before --from: exit %d (%s), want %d", code, errb.String(), exitUsage)
	}
}

// A report job (`report: period`) writes the previous month's period
// report; catch-up writes it at start when its file is missing. It runs
// nothing: no run is recorded.
func TestServeReportJob(t *testing.T) {
	dir, cfgPath := smallSetup(t, "jobs:\n  - {name: monthly, schedule: \"0 6 1 * *\", report: period, period: month}\n")
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := storefile.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := serve.New(ctx, cfgPath, cfg, st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- s.Serve(ctx, ln) }()
	from, to := period.Previous(period.Month, time.Now(), time.UTC)
	book := filepath.Join(dir, "out", "monthly", period.FileName(from, to, time.UTC))
	waitFor(t, time.Minute, "the catch-up period report "+book, func() bool {
		_, err := os.Stat(book)
		return err == nil
	})
	cancel()
	<-done
	if summary := sheetText(t, book, xlsx.SheetSummary); !strings.Contains(summary, "Verification\tpassed") {
		t.Errorf("Summary without the audit verification:\n%s", summary)
	}
	if runs, err := st.Runs(context.Background(), 0); err != nil || len(runs) != 0 {
		t.Errorf("a report job recorded runs: %d (%v)", len(runs), err)
	}
	for _, c := range []struct{ yaml, err string }{
		{"{name: r, schedule: '@daily', report: pdf}", "not period"},
		{"{name: r, schedule: '@daily', period: month}", "only a report job"},
		{"{name: r, schedule: '@daily', report: period, period: year}", "not month or week"},
		{"{name: r, schedule: '@daily', report: period, scope: [terminated_active]}", "runs nothing"},
	} {
		_, err := config.Parse([]byte("sources: [{name: hr, type: csv, config: {path: hr.csv}}]\njobs: ["+c.yaml+"]\n"), "schedule.yaml")
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: %v, want an error containing %q", c.yaml, err, c.err)
		}
	}
}
