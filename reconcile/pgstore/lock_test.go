package pgstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/pgstore"
)

// Two stores on one database stand for two processes on two machines.
func twoStores(t *testing.T) (*pgstore.Store, *pgstore.Store) {
	t.Helper()
	dsn := schemaDSN(t)
	var sts [2]*pgstore.Store
	for i := range sts {
		st, err := pgstore.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		sts[i] = st
	}
	return sts[0], sts[1]
}

// Of many processes trying the run lock at once, one gets it; the others
// are told who holds it.
func TestRunLockOneHolder(t *testing.T) {
	a, b := twoStores(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	pol := pgstore.LockPolicy{Stale: time.Minute, Now: func() time.Time { return t0 }}
	var mu sync.Mutex
	var winners []string
	var wg sync.WaitGroup
	for i := range 16 {
		st := a
		if i%2 == 1 {
			st = b
		}
		me := pgstore.LockHolder{Token: "T" + itoa(i), Host: "host-" + itoa(i%2), PID: 100 + i, Purpose: "job nightly"}
		wg.Go(func() {
			got, other, took, err := st.TryLock(ctx, pgstore.RunLock, me, pol)
			if err != nil {
				t.Error(err)
				return
			}
			if took {
				t.Errorf("%s took over a fresh lock from %s", me.Token, other.Token)
			}
			if !got && other.Token == "" {
				t.Errorf("%s did not get the lock and was not told who holds it", me.Token)
			}
			if got {
				mu.Lock()
				winners = append(winners, me.Token)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("holders %v, want exactly one", winners)
	}
	// The holder releases it; the next taker gets it.
	if err := a.Unlock(ctx, pgstore.RunLock, winners[0]); err != nil {
		t.Fatal(err)
	}
	if got, _, _, err := b.TryLock(ctx, pgstore.RunLock, pgstore.LockHolder{Token: "next", Host: "h", PID: 1}, pol); err != nil || !got {
		t.Fatalf("after unlock: got %v, %v", got, err)
	}
}

// The run lock's holder dies mid-run; another process takes the lock over
// once its heartbeat is stale, the killed run is marked crashed, and the
// old holder's lease records no more actions.
func TestRunLockTakeoverFencesOldHolder(t *testing.T) {
	a, b := twoStores(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	at := func(d time.Duration) func() time.Time { return func() time.Time { return t0.Add(d) } }
	pol := pgstore.LockPolicy{Stale: time.Minute, Now: at(0)}

	got, _, _, err := a.TryLock(ctx, pgstore.RunLock, pgstore.LockHolder{Token: "A", Host: "host-a", PID: 1, Purpose: "job nightly"}, pol)
	if err != nil || !got {
		t.Fatalf("A: %v %v", got, err)
	}
	leaseA, err := a.Lease(ctx, pgstore.RunLock, "A")
	if err != nil {
		t.Fatal(err)
	}
	leaseA.Stale, leaseA.Now = time.Minute, at(10*time.Second)
	ctxA := pgstore.WithLease(ctx, leaseA)
	run, err := a.BeginRun(ctx, reconcile.Run{AsOf: t0, StartedAt: t0, Mode: "enforce", Job: "nightly"})
	if err != nil {
		t.Fatal(err)
	}
	act := reconcile.Action{RunID: run, Fingerprint: "fp", Target: "app", AccountID: "A1", Op: "disable", Status: reconcile.ActionRequested, RequestedAt: t0}
	if _, err := a.InsertActions(ctxA, []reconcile.Action{act}); err != nil {
		t.Fatalf("A acts while holding the lease: %v", err)
	}
	if err := a.Heartbeat(ctx, pgstore.RunLock, "A", t0.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}

	// Before the heartbeat is stale, B waits.
	pol.Now = at(45 * time.Second)
	got, other, _, err := b.TryLock(ctx, pgstore.RunLock, pgstore.LockHolder{Token: "B", Host: "host-b", PID: 2, Purpose: "job nightly"}, pol)
	if err != nil || got || other.Token != "A" || other.Host != "host-a" || !other.HeartbeatAt.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("B before A is stale: got %v, holder %+v, %v", got, other, err)
	}
	// A is killed; B comes along after the heartbeat went stale.
	pol.Now = at(5 * time.Minute)
	got, other, took, err := b.TryLock(ctx, pgstore.RunLock, pgstore.LockHolder{Token: "B", Host: "host-b", PID: 2, Purpose: "job nightly"}, pol)
	if err != nil || !got || !took || other.Token != "A" {
		t.Fatalf("B after A is stale: got %v took %v from %+v, %v", got, took, other, err)
	}
	r, err := b.GetRun(ctx, run)
	if err != nil || r.Status != reconcile.StatusCrashed || !r.FinishedAt.Equal(t0.Add(30*time.Second)) || !strings.Contains(r.Error, "host-a") {
		t.Fatalf("A's run after the takeover: %+v, %v; want crashed at A's last heartbeat", r, err)
	}

	// A, still alive after all (a long GC pause, a partition), must not
	// act: its lease is lost, whichever store it checks against.
	if _, err := a.InsertActions(ctxA, []reconcile.Action{act}); !errors.Is(err, reconcile.ErrLeaseLost) {
		t.Fatalf("A acts after the takeover: %v, want ErrLeaseLost", err)
	}
	if err := a.CheckLease(ctxA); !errors.Is(err, reconcile.ErrLeaseLost) {
		t.Fatalf("A's CheckLease after the takeover: %v", err)
	}
	if err := a.Heartbeat(ctx, pgstore.RunLock, "A", t0.Add(5*time.Minute)); !errors.Is(err, reconcile.ErrLeaseLost) {
		t.Fatalf("A's heartbeat after the takeover: %v", err)
	}
	if acts, err := a.Actions(ctx, run); err != nil || len(acts) != 1 {
		t.Fatalf("A's run has %d actions (%v), want the 1 recorded before the takeover", len(acts), err)
	}

	// B's lease works, until its own heartbeat is older than its limit.
	leaseB, err := b.Lease(ctx, pgstore.RunLock, "B")
	if err != nil || leaseB.Generation != leaseA.Generation+1 {
		t.Fatalf("B's lease %+v, %v; want generation %d", leaseB, err, leaseA.Generation+1)
	}
	leaseB.Stale, leaseB.Now = time.Minute, at(5*time.Minute+10*time.Second)
	runB, _ := b.BeginRun(ctx, reconcile.Run{AsOf: t0, StartedAt: t0, Mode: "enforce", Job: "nightly"})
	act.RunID = runB
	if _, err := b.InsertActions(pgstore.WithLease(ctx, leaseB), []reconcile.Action{act}); err != nil {
		t.Fatalf("B acts: %v", err)
	}
	leaseB.Now = at(7 * time.Minute)
	if _, err := b.InsertActions(pgstore.WithLease(ctx, leaseB), []reconcile.Action{act}); !errors.Is(err, reconcile.ErrLeaseLost) {
		t.Fatalf("B acts with a heartbeat 2 minutes old: %v, want ErrLeaseLost", err)
	}
	if acts, err := b.Actions(ctx, runB); err != nil || len(acts) != 1 {
		t.Fatalf("B's run has %d actions (%v), want 1", len(acts), err)
	}
}

// A lease check that has passed holds the lock row until the actions are
// recorded: a takeover waits for that transaction instead of slipping in
// between the check and the insert. Each round, A records actions in a loop
// under its lease while B takes the lock over and at once counts A's
// actions: A must record none after that count.
func TestLeaseCheckHoldsOffTakeover(t *testing.T) {
	a, b := twoStores(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	for round := range 10 {
		// A's heartbeat is an hour old to B: B always takes over.
		pol := pgstore.LockPolicy{Stale: time.Minute, Now: func() time.Time { return t0.Add(time.Duration(2*round) * time.Hour) }}
		me := "A" + itoa(round)
		if got, _, _, err := a.TryLock(ctx, "fence", pgstore.LockHolder{Token: me, Host: "h", PID: 1}, pol); err != nil || !got {
			t.Fatalf("round %d: A: %v %v", round, got, err)
		}
		lease, err := a.Lease(ctx, "fence", me)
		if err != nil {
			t.Fatal(err)
		}
		run, err := a.BeginRun(ctx, reconcile.Run{AsOf: t0, StartedAt: t0, Mode: "enforce"})
		if err != nil {
			t.Fatal(err)
		}
		started := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			for i := 0; ; i++ {
				_, err := a.InsertActions(pgstore.WithLease(ctx, lease), []reconcile.Action{{RunID: run, Fingerprint: "fp", Target: "app",
					AccountID: "A" + itoa(i), Op: "disable", Status: reconcile.ActionRequested, RequestedAt: t0}})
				if i == 0 {
					close(started)
				}
				if err != nil {
					done <- err
					return
				}
			}
		}()
		<-started
		time.Sleep(time.Millisecond)
		pol.Now = func() time.Time { return t0.Add(time.Duration(2*round+1) * time.Hour) }
		if got, _, _, err := b.TryLock(ctx, "fence", pgstore.LockHolder{Token: "B" + itoa(round), Host: "h", PID: 2}, pol); err != nil || !got {
			t.Fatalf("round %d: B: %v %v", round, got, err)
		}
		seen, err := b.Actions(ctx, run)
		if err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, reconcile.ErrLeaseLost) {
			t.Fatalf("round %d: A stopped with %v, want ErrLeaseLost", round, err)
		}
		after, err := b.Actions(ctx, run)
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(seen) {
			t.Fatalf("round %d: A recorded %d actions after B took the lock over", round, len(after)-len(seen))
		}
	}
}
