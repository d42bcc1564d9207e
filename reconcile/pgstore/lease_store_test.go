package pgstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/pgstore"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// A lease the commands put in a context with reconcile/store's WithLease
// (cmd's run lock does) is the lease this store checks: once it is taken
// over, the old holder's actions are refused here too.
func TestLeaseFromStoreWithLease(t *testing.T) {
	a, b := twoStores(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	pol := store.LockPolicy{Stale: time.Minute, Now: func() time.Time { return t0 }}
	if got, _, _, err := a.TryLock(ctx, store.RunLock, store.LockHolder{Token: "A", Host: "h", PID: 1}, pol); err != nil || !got {
		t.Fatalf("A: %v %v", got, err)
	}
	lease, err := a.Lease(ctx, store.RunLock, "A")
	if err != nil {
		t.Fatal(err)
	}
	ctxA := store.WithLease(ctx, lease)
	if l, ok := pgstore.LeaseFrom(ctxA); !ok || l.Token != "A" || l.Generation != lease.Generation {
		t.Fatalf("pgstore.LeaseFrom(store.WithLease(…)) = %+v, %v", l, ok)
	}
	run, err := a.BeginRun(ctx, reconcile.Run{AsOf: t0, StartedAt: t0, Mode: "enforce", Job: "nightly"})
	if err != nil {
		t.Fatal(err)
	}
	act := reconcile.Action{RunID: run, Fingerprint: "fp", Target: "app", AccountID: "A1", Op: "disable", Status: reconcile.ActionRequested, RequestedAt: t0}
	if _, err := a.InsertActions(ctxA, []reconcile.Action{act}); err != nil {
		t.Fatalf("A acts while holding the lease: %v", err)
	}
	pol.Now = func() time.Time { return t0.Add(5 * time.Minute) }
	if got, _, took, err := b.TryLock(ctx, store.RunLock, store.LockHolder{Token: "B", Host: "h2", PID: 2}, pol); err != nil || !got || !took {
		t.Fatalf("B takes over: %v %v %v", got, took, err)
	}
	if _, err := a.InsertActions(ctxA, []reconcile.Action{act}); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("A acts after the takeover: %v, want store.ErrLeaseLost", err)
	}
}
