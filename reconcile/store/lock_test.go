package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Issue 11, item 4: a run killed mid-way is marked crashed by the next run
// that takes the store, with its holder's last heartbeat as its end.
func TestKilledRunMarkedCrashed(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	t0 := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	at := func(d time.Duration) func() time.Time { return func() time.Time { return t0.Add(d) } }
	pol := LockPolicy{Stale: time.Minute}
	pol.Now = at(0)
	if got, _, _, err := s.TryLock(ctx, RunLock, LockHolder{Token: "A", Host: "h", PID: 1, Purpose: "job nightly"}, pol); err != nil || !got {
		t.Fatalf("A: %v %v", got, err)
	}
	killed, err := s.BeginRun(ctx, Run{AsOf: t0, StartedAt: t0, Mode: "enforce", Job: "nightly"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Heartbeat(ctx, RunLock, "A", t0.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	// A is killed; B comes along after the lock went stale.
	pol.Now = at(5 * time.Minute)
	got, _, took, err := s.TryLock(ctx, RunLock, LockHolder{Token: "B", Host: "h", PID: 2, Purpose: "job nightly"}, pol)
	if err != nil || !got || !took {
		t.Fatalf("B: got %v took %v %v", got, took, err)
	}
	runs, err := s.Runs(ctx, 0) // what history shows
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].ID != killed || runs[0].Status != "crashed" {
		t.Fatalf("runs %+v", runs)
	}
	if r := runs[0]; !r.FinishedAt.Equal(t0.Add(30*time.Second)) || !strings.Contains(r.Error, "last heartbeat") {
		t.Fatalf("crashed run: finished %v, error %q", r.FinishedAt, r.Error)
	}
	// A crashed run is no good collection to diff against.
	if err := s.SaveCollection(ctx, Collection{RunID: killed, Side: "target", Name: "app", Status: "ok", StartedAt: t0.Format(time.RFC3339)}); err != nil {
		t.Fatal(err)
	}
	if id, err := s.LastGoodCollection(ctx, "target", "app", killed+1); err != nil || id != 0 {
		t.Fatalf("last good collection %d %v", id, err)
	}
	// B's own run, begun after it took the lock, is not touched by B
	// heartbeating, and is marked by the next holder only if B dies too.
	mine, _ := s.BeginRun(ctx, Run{AsOf: t0, StartedAt: t0, Mode: "enforce"})
	if err := s.Heartbeat(ctx, RunLock, "B", t0.Add(6*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.GetRun(ctx, mine); r.Status != "running" {
		t.Fatalf("B's own run is %s", r.Status)
	}
}

// Issue 11, item 3: the fencing token. A lease is checked before an action
// is recorded; a lease taken over, or one whose heartbeat is older than its
// stale limit, records nothing.
func TestLeaseFencesActions(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	t0 := time.Now()
	clock := t0
	now := func() time.Time { return clock }
	pol := LockPolicy{Stale: time.Minute, Now: now}
	if got, _, _, err := s.TryLock(ctx, RunLock, LockHolder{Token: "A", Host: "h", PID: 1}, pol); err != nil || !got {
		t.Fatal(got, err)
	}
	lease, err := s.Lease(ctx, RunLock, "A")
	if err != nil || lease.Generation != 1 {
		t.Fatalf("lease %+v %v", lease, err)
	}
	lease.Stale, lease.Now = time.Minute, now
	lctx := WithLease(ctx, lease)
	act := Action{RunID: 1, Target: "app", AccountID: "A1", Op: "disable", Status: "requested", RequestedAt: t0}
	if _, err := s.BeginRun(ctx, Run{AsOf: t0, StartedAt: t0, Mode: "enforce"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.InsertActions(lctx, []Action{act}); err != nil {
		t.Fatalf("held lease: %v", err)
	}
	// The heartbeat stalls past the stale limit: A must stop, even before
	// anyone takes over.
	clock = t0.Add(2 * time.Minute)
	if _, err := s.InsertActions(lctx, []Action{act}); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("stale lease: %v, want ErrLeaseLost", err)
	}
	// B takes over: generation 2; A's lease is gone for good.
	if got, _, took, err := s.TryLock(ctx, RunLock, LockHolder{Token: "B", Host: "h", PID: 2}, pol); err != nil || !got || !took {
		t.Fatal(got, took, err)
	}
	if err := s.Heartbeat(ctx, RunLock, "A", clock); err == nil {
		t.Fatal("A renewed a lock B holds")
	}
	if err := s.CheckLease(lctx); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("taken-over lease: %v", err)
	}
	b, err := s.Lease(ctx, RunLock, "B")
	if err != nil || b.Generation != 2 {
		t.Fatalf("B's lease %+v %v", b, err)
	}
	acts, _ := s.Actions(ctx, 1)
	if len(acts) != 1 {
		t.Fatalf("%d actions recorded, want 1 (only while the lease was held)", len(acts))
	}
}
