package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A requested hold or exemption is not in effect until someone other than
// its requester approves it, and cannot be approved once expired.
func TestTwoPersonApproval(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	inEffect := func() []int64 {
		hs, err := st.Holds(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, h := range hs {
			ids = append(ids, h.ID)
		}
		return ids
	}
	short, _ := st.RequestHold(ctx, Hold{Target: "ad", AccountID: "a1", Reason: "r", Until: t0.Add(time.Hour), CreatedBy: "alice", CreatedAt: t0})
	long, _ := st.RequestHold(ctx, Hold{Target: "ad", AccountID: "a2", Reason: "r", Until: t0.Add(48 * time.Hour), CreatedBy: "alice", CreatedAt: t0})
	plain, _ := st.AddHold(ctx, Hold{Target: "ad", AccountID: "a4", Reason: "r", Until: t0.Add(48 * time.Hour), CreatedBy: "alice", CreatedAt: t0})
	if ids := inEffect(); len(ids) != 1 || ids[0] != plain {
		t.Fatalf("holds in effect: %v, want only the one needing no approval (%d)", ids, plain)
	}
	if _, err := st.ApproveHold(ctx, plain, "bob", t0); err == nil || !strings.Contains(err.Error(), "needed no approval") {
		t.Fatalf("approving a hold that needed none: %v", err)
	}
	if _, err := st.ApproveHold(ctx, short, "bob", t0.Add(2*time.Hour)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("approving an expired request: %v", err)
	}
	if _, err := st.ApproveHold(ctx, long, " ALICE ", t0); !errors.Is(err, ErrSamePerson) {
		t.Fatalf("the requester approving their own hold: %v", err)
	}
	if h, err := st.ApproveHold(ctx, long, "bob", t0.Add(time.Minute)); err != nil || h.ID != long {
		t.Fatalf("approve: %+v %v", h, err)
	}
	approvals, err := st.HoldApprovals(ctx)
	if a := approvals[long]; err != nil || a.ApprovedBy != "bob" || a.Approval != HoldApproved || !a.ApprovedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("approval of hold %d: %+v %v", long, a, err)
	}
	if a := approvals[short]; a.Approval != HoldRequested || a.ApprovedBy != "" {
		t.Fatalf("approval of the expired request: %+v", a)
	}
	if ids := inEffect(); len(ids) != 2 || ids[0] != plain || ids[1] != long {
		t.Fatalf("holds in effect after approval: %v, want [%d %d]", ids, plain, long)
	}

	id, err := st.AddExemption(ctx, Exemption{Target: "ad", AccountID: "a3", Owner: "alice", Reason: "r", Expires: t0.Add(72 * time.Hour), RequestedBy: "alice", RequestedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if es, _ := st.ApprovedExemptions(ctx); len(es) != 0 {
		t.Fatalf("a requested exemption applies: %+v", es)
	}
	if _, err := st.ApproveExemption(ctx, id, "alice", t0); !errors.Is(err, ErrSamePerson) {
		t.Fatalf("the requester approving their own exemption: %v", err)
	}
	if _, err := st.ApproveExemption(ctx, id, "carol", t0.Add(73*time.Hour)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("approving an expired exemption: %v", err)
	}
	if e, err := st.ApproveExemption(ctx, id, "carol", t0); err != nil || e.ApprovedBy != "carol" {
		t.Fatalf("approve exemption: %+v %v", e, err)
	}
	// A date without a time covers that whole day, as for the engine.
	day := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	dated, _ := st.AddExemption(ctx, Exemption{Target: "ad", AccountID: "a5", Owner: "alice", Reason: "r", Expires: day, RequestedBy: "alice", RequestedAt: t0})
	if _, err := st.ApproveExemption(ctx, dated, "carol", day.Add(12*time.Hour)); err != nil {
		t.Fatalf("approving on the last day of a dated exemption: %v", err)
	}
	if _, err := st.RemoveExemption(ctx, dated, "carol", day.Add(13*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if es, _ := st.ApprovedExemptions(ctx); len(es) != 1 || es[0].ApprovedBy != "carol" || es[0].RequestedBy != "alice" {
		t.Fatalf("approved exemptions: %+v", es)
	}
	if _, err := st.RemoveExemption(ctx, id, "dave", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if es, _ := st.ApprovedExemptions(ctx); len(es) != 0 {
		t.Fatalf("a removed exemption applies: %+v", es)
	}
}
