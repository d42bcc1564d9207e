package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/reports/jira"
)

// The demo's day-two run writes its workbook beside findings.json, named
// after the as-of date and run, with every sheet.
func TestDemoWritesWorkbook(t *testing.T) {
	dir := demoTemplate(t)
	path := filepath.Join(dir, "accessrecon-2026-11-25-2.xlsx")
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("demo workbook: %v", err)
	}
	defer f.Close()
	want := []string{"Summary", "Findings", "Actions", "SLA", "Drift", "Inventory", "Exemptions & holds", "Leavers", "Approvals"}
	got := f.GetSheetList()
	if len(got) != len(want) {
		t.Fatalf("sheets %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("sheets %v, want %v", got, want)
		}
	}
	rows, err := f.GetRows("Findings")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 50 {
		t.Fatalf("Findings sheet has %d rows; the demo has more than 50 findings", len(rows))
	}
}

// Jira work kept in the store survives the process: saved ops come back,
// a newer op replaces an older one, sent ops go, and ticket keys land on the
// fingerprint's state.
func TestJiraOutboxInStore(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out := jiraOutbox{st}
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	if err := out.Save(ctx, []jira.Op{{ID: "fp1", Fingerprint: "fp1", Want: jira.WantOpen, Summary: "first", Queued: now},
		{ID: "fp2", Fingerprint: "fp2", Want: jira.WantOpen, Summary: "other", Queued: now}}); err != nil {
		t.Fatal(err)
	}
	if err := out.Save(ctx, []jira.Op{{ID: "fp1", Fingerprint: "fp1", Want: jira.WantClosed, Comment: "gone", Queued: now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	ops, err := out.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 2 || ops[0].ID != "fp1" || ops[0].Want != jira.WantClosed || ops[0].Comment != "gone" || !ops[0].Queued.Equal(now.Add(time.Hour)) {
		t.Fatalf("pending after replace: %+v", ops)
	}
	if err := out.Done(ctx, "fp1"); err != nil {
		t.Fatal(err)
	}
	if ops, _ = out.Pending(ctx); len(ops) != 1 || ops[0].ID != "fp2" {
		t.Fatalf("pending after done: %+v", ops)
	}
}
