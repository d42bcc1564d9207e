package store

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/targets"
)

// TestPeriodQueries: the period report's queries read the runs started in
// [from, to) (not before, not at to), their findings without the dry runs'
// and their actions; finding states are found for more fingerprints than
// one query may bind; a reference resolves by ID, username or email, and
// says when it names none or several, or the run collected nothing.
func TestPeriodQueries(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	day := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	var ids []int64
	for i := range 4 {
		at := day.AddDate(0, 0, i)
		id, err := st.BeginRun(ctx, Run{AsOf: at, StartedAt: at, Mode: "enforce", Scope: "full", DryRun: i == 2})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		var rows []FindingRow
		n := 1
		if i == 1 {
			n = 6000 // more fingerprints than one IN list binds
		}
		for j := range n {
			rows = append(rows, FindingRow{Fingerprint: fmt.Sprintf("fp-%d-%d", i, j), Kind: "orphaned", Severity: "medium", Disposition: "review",
				Target: "crm", AccountID: fmt.Sprintf("a%d", j), FirstSeen: at, Body: []byte(`{}`)})
		}
		if _, err := st.SaveFindings(ctx, id, at, reconcile.SortedRows(rows...), func(string, string) bool { return false }); err != nil {
			t.Fatal(err)
		}
		if _, err := st.InsertAction(ctx, Action{RunID: id, Fingerprint: rows[0].Fingerprint, Target: "crm", AccountID: "a0", Op: "disable", Status: "done",
			RequestedAt: at, FinishedAt: at}); err != nil {
			t.Fatal(err)
		}
		if err := st.FinishRun(Run{ID: id, FinishedAt: at, Status: "completed", Mode: "enforce"}); err != nil {
			t.Fatal(err)
		}
	}
	from, to := day.AddDate(0, 0, 1), day.AddDate(0, 0, 3)
	runs, err := st.RunsBetween(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].ID != ids[1] || runs[1].ID != ids[2] || !runs[1].DryRun {
		t.Errorf("runs between %v and %v: %+v, want runs %d and %d (dry)", from, to, runs, ids[1], ids[2])
	}
	var fps []string
	err = st.FindingsBetween(ctx, from, to, nil, func(f PeriodFinding) error {
		if f.RunID != ids[1] {
			t.Errorf("finding of run %d: only run %d's (run %d is a dry run)", f.RunID, ids[1], ids[2])
		}
		fps = append(fps, f.Fingerprint)
		return nil
	})
	if err != nil || len(fps) != 6000 {
		t.Fatalf("%d findings, %v; want 6000", len(fps), err)
	}
	if err := st.FindingsBetween(ctx, from, to, []string{"dormant"}, func(PeriodFinding) error { t.Error("a dormant finding"); return nil }); err != nil {
		t.Fatal(err)
	}
	var acts []int64
	if err := st.ActionsBetween(ctx, from, to, func(a Action) error { acts = append(acts, a.RunID); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(acts, ids[1:3]) {
		t.Errorf("actions of runs %v, want %v", acts, ids[1:3])
	}
	states, err := st.FindingStates(ctx, append(fps, "never-seen"))
	if err != nil || len(states) != 6000 || states[fps[5999]].LastRun != ids[1] {
		t.Errorf("%d finding states, %v; want 6000, the last of run %d", len(states), err, ids[1])
	}

	if err := st.SaveAccounts(ctx, ids[3], "ldap", []targets.Account{
		{ID: "uid=ann", Username: "ann", Email: "Ann@Example.com", Privileged: true, Enabled: true},
		{ID: "uid=bob", Username: "bob", Email: "shared@example.com"},
		{ID: "uid=cat", Username: "cat", Email: "shared@example.com"},
	}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.FinishAccounts(ctx, ids[3], "ldap", true); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ref, want string
		n         int
		collected bool
	}{
		{"uid=ann", "uid=ann", 1, true}, {"ann", "uid=ann", 1, true}, {"ann@example.com", "uid=ann", 1, true},
		{"shared@example.com", "", 2, true}, {"nobody", "", 0, true},
	} {
		a, n, collected, err := st.ResolveAccount(ctx, ids[3], "ldap", c.ref)
		if err != nil || a.ID != c.want || n != c.n || collected != c.collected {
			t.Errorf("ResolveAccount(%q) = %q, %d, %v, %v; want %q, %d, %v", c.ref, a.ID, n, collected, err, c.want, c.n, c.collected)
		}
		if c.want == "uid=ann" && !a.Privileged {
			t.Errorf("ResolveAccount(%q): not privileged", c.ref)
		}
	}
	if _, n, collected, err := st.ResolveAccount(ctx, ids[3], "crm", "ann"); err != nil || n != 0 || collected {
		t.Errorf("ResolveAccount on a target the run did not collect: %d, %v, %v; want 0, not collected", n, collected, err)
	}
}
