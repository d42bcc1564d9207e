package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func TestDrillsRoundTripAndConfigHash(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	d := Drill{StartedAt: start, FinishedAt: start.Add(time.Minute), Scenario: "terminate", By: "auditor", Passed: false,
		Targets:  []DrillTarget{{Target: "ldap", Account: "canary", Tier: "critical", SLA: time.Second, TimeTaken: 3 * time.Second, Revoked: true, Steps: []DrillStep{{Op: "disable", Status: "done", Verified: true}}}},
		Restored: []DrillRestore{{Target: "ldap", Account: "canary", Restored: true}}}
	if _, err := st.SaveDrill(ctx, d); err != nil {
		t.Fatal(err)
	}
	got, err := st.Drills(ctx, start, start.Add(time.Hour))
	if err != nil || len(got) != 1 {
		t.Fatalf("drills: %v %v", got, err)
	}
	if g := got[0]; g.By != "auditor" || g.Passed || g.Targets[0].TimeTaken != 3*time.Second || !g.Targets[0].Steps[0].Verified || !g.Restored[0].Restored {
		t.Fatalf("round trip: %+v", g)
	}
	if got, _ := st.Drills(ctx, start.Add(time.Hour), time.Time{}); len(got) != 0 {
		t.Fatalf("outside the period: %v", got)
	}
	id, err := st.BeginRun(ctx, Run{AsOf: start, StartedAt: start, Mode: "report", Status: "running"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetRunConfigHash(ctx, id, "abc"); err != nil {
		t.Fatal(err)
	}
	h, err := st.RunConfigHashes(ctx, []int64{id, id + 1})
	if err != nil || h[id] != "abc" || h[id+1] != "" {
		t.Fatalf("hashes: %v %v", h, err)
	}
}
