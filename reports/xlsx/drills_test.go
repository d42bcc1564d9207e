package xlsx

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/accessrecon/accessrecon/reconcile/store"
)

// The Drills sheet, in both workbooks (before Upcoming leavers in a run's), lists each drill's targets as
// the store recorded them: time to revoke, SLA, result, who ran it, and
// whether the canary was restored.
func TestDrillsSheet(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := asOf.Add(-48 * time.Hour)
	if _, err := st.SaveDrill(ctx, store.Drill{StartedAt: at, FinishedAt: at.Add(time.Minute), Scenario: "terminate", By: "Auditor A", Passed: false,
		Targets: []store.DrillTarget{
			{Target: "directory", Account: "canary1", Tier: "standard", SLA: time.Hour, TimeTaken: 1500 * time.Millisecond, Revoked: true, Passed: true,
				Steps: []store.DrillStep{{Op: "disable", Status: "done", Verified: true}}},
			{Target: "ledger", Account: "u-canary1", Tier: "critical", SLA: 2 * time.Second, TimeTaken: 4 * time.Second, Revoked: true, Passed: false,
				Note: "revoked in 4s, past the 2s SLA of tier critical"},
		},
		Restored: []store.DrillRestore{{Target: "directory", Account: "canary1", Restored: true}, {Target: "ledger", Account: "u-canary1", Note: "the target cannot re-enable an account"}},
	}); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, path string, sheets []string) {
		f, err := excelize.OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if got := f.GetSheetList(); !slices.Equal(got, sheets) || !slices.Contains(got, SheetDrills) {
			t.Fatalf("sheets %v, want %v with Drills", got, sheets)
		}
		rows, err := f.GetRows(SheetDrills)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 3 {
			t.Fatalf("Drills: %d rows, want header + 2: %q", len(rows), rows)
		}
		head := strings.Join(rows[0], "|")
		for _, want := range []string{"Date", "Scenario", "Run by", "Time to revoke (s)", "SLA", "Result", "Restored"} {
			if !strings.Contains(head, want) {
				t.Errorf("header %q lacks %q", head, want)
			}
		}
		dir, led := strings.Join(rows[1], "|"), strings.Join(rows[2], "|")
		for _, want := range []string{"terminate", "Auditor A", "FAIL", "directory", "1.50", "pass", "yes"} {
			if !strings.Contains(dir, want) {
				t.Errorf("directory row %q lacks %q", dir, want)
			}
		}
		for _, want := range []string{"ledger", "4.00", "FAIL", "no", "past the 2s SLA", "cannot re-enable"} {
			if !strings.Contains(led, want) {
				t.Errorf("ledger row %q lacks %q", led, want)
			}
		}
	}
	t.Run("period workbook", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "period.xlsx")
		if err := WritePeriod(ctx, st, asOf.Add(-30*24*time.Hour), asOf, path, PeriodOptions{}); err != nil {
			t.Fatal(err)
		}
		check(t, path, PeriodSheets)
	})
	t.Run("run workbook", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "run.xlsx")
		if err := Write(path, sampleResult(), Options{Store: st, Now: asOf}); err != nil {
			t.Fatal(err)
		}
		check(t, path, Sheets)
	})
	t.Run("outside the period", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "period.xlsx")
		if err := WritePeriod(ctx, st, asOf.Add(-time.Hour), asOf, path, PeriodOptions{}); err != nil {
			t.Fatal(err)
		}
		f, err := excelize.OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if rows, _ := f.GetRows(SheetDrills); len(rows) != 1 {
			t.Fatalf("a drill outside the period is listed: %q", rows)
		}
	})
}
