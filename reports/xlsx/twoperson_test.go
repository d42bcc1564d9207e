package xlsx

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// The period report's Exemptions & holds sheet shows a two-person hold's
// approver, and a hold still awaiting approval as not in effect, not as
// active.
func TestPeriodTwoPersonHolds(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 1, 0)
	h := store.Hold{Target: "ad", Reason: "legal hold", Until: to.AddDate(0, 1, 0), CreatedBy: "counsel", CreatedAt: from.AddDate(0, 0, 3)}
	h.AccountID = "approved-1"
	approved, err := st.RequestHold(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ApproveHold(ctx, approved, "ciso", from.AddDate(0, 0, 4)); err != nil {
		t.Fatal(err)
	}
	h.AccountID = "pending-1"
	if _, err := st.RequestHold(ctx, h); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "period.xlsx")
	if err := WritePeriod(ctx, st, from, to, path, PeriodOptions{Policy: reconcile.DefaultPolicy(), Now: to}); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(SheetExemptions)
	if err != nil {
		t.Fatal(err)
	}
	var head []string
	got := map[string][]string{}
	for _, r := range rows {
		if slices.Contains(r, "Approver") {
			head = r
		}
		for _, id := range []string{"approved-1", "pending-1"} {
			if slices.Contains(r, id) {
				got[id] = r
			}
		}
	}
	cell := func(r []string, name string) string {
		i := slices.Index(head, name)
		if i < 0 || i >= len(r) {
			return ""
		}
		return r[i]
	}
	if r := got["approved-1"]; cell(r, "Approver") != "ciso" || cell(r, "Requested by") != "counsel" || cell(r, "Status") != "active" {
		t.Errorf("approved hold row: %q (header %q)", r, head)
	}
	if r := got["pending-1"]; cell(r, "Approver") != "" || cell(r, "Status") != "requested, not approved: not in effect" {
		t.Errorf("pending hold row: %q (header %q)", r, head)
	}
}
