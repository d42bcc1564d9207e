package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
)

// A finding reported unchanged by the next full save, its state open,
// costs no write of its state (migration 017): its row keeps the run that
// wrote it, and the state read back says the later save saw it. One
// reported changed is written, and one no longer reported is resolved.
func TestUnchangedOpenFindingsAreNotWritten(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	all := func(string, string) bool { return true }
	day1 := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	row := func(fp, body string) reconcile.FindingRow {
		return reconcile.FindingRow{Fingerprint: fp, Kind: "dormant", Severity: "low", Disposition: "review", Target: "app",
			AccountID: "a-" + fp, FirstSeen: day1, Body: []byte(`{"reason":"` + body + `"}`)}
	}
	save := func(day int, rows ...reconcile.FindingRow) int64 {
		at := day1.AddDate(0, 0, day)
		id, err := st.BeginRun(ctx, reconcile.Run{AsOf: at, StartedAt: at, Mode: "report", Scope: "full"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.SaveFindings(ctx, id, at, reconcile.SortedRows(rows...), all); err != nil {
			t.Fatal(err)
		}
		return id
	}
	first := save(0, row("f1", "x"), row("f2", "x"), row("f3", "x"))
	second := save(1, row("f1", "x"), row("f2", "changed"))
	var stored []struct {
		Fingerprint string `db:"fingerprint"`
		LastRun     int64  `db:"last_run"`
	}
	if err := st.db.SelectContext(ctx, &stored, `SELECT fingerprint, last_run FROM finding_state`); err != nil {
		t.Fatal(err)
	}
	written := map[string]int64{}
	for _, r := range stored {
		written[r.Fingerprint] = r.LastRun
	}
	if written["f1"] != first || written["f2"] != second {
		t.Errorf("rows' last_run: f1 %d (want %d: unchanged, not written), f2 %d (want %d: changed)", written["f1"], first, written["f2"], second)
	}
	states, err := st.AllFindingStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for fp, want := range map[string]int64{"f1": second, "f2": second, "f3": first} {
		if s := states[fp]; s.LastRun != want || s.Resolved != (fp == "f3") {
			t.Errorf("%s: last run %d resolved %v, want %d and %v", fp, s.LastRun, s.Resolved, want, fp == "f3")
		}
	}
}
