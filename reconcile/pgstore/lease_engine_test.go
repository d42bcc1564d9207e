package pgstore_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/pgstore"
	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

// The engine on pgstore, holding the run lock's lease, is paused in its
// first action while another process (another Store on the database) takes
// the lock over: when it resumes it acts no more, and its run is recorded
// cancelled because the lock was taken over.
func TestEngineStopsActingWhenLeaseTakenOver(t *testing.T) {
	a, b := twoStores(t)
	ctx := context.Background()
	start := time.Now()
	got, _, _, err := a.TryLock(ctx, pgstore.RunLock, pgstore.LockHolder{Token: "A", Host: "host-a", PID: 1, Purpose: "run A"},
		pgstore.LockPolicy{Stale: time.Minute, Now: func() time.Time { return start }})
	if err != nil || !got {
		t.Fatalf("A lock: %v %v", got, err)
	}
	lease, err := a.Lease(ctx, pgstore.RunLock, "A")
	if err != nil {
		t.Fatal(err)
	}
	lease.Stale = time.Hour // only the takeover, not the clock, ends A's lease here

	var people peopleSource
	var accounts []targets.Account
	for i := 1; i <= 10; i++ {
		st := sources.Active
		if i <= 4 {
			st = sources.Terminated
		}
		people = append(people, sources.Person{EmployeeID: "E" + itoa(i), Status: st})
		accounts = append(accounts, targets.Account{ID: "A" + itoa(i), Username: "u" + itoa(i), EmployeeID: "E" + itoa(i), Enabled: true})
	}
	f := targettest.NewFake(accounts...)
	stalled, resume := make(chan struct{}), make(chan struct{})
	var calls, afterResume atomic.Int32
	var resumed atomic.Bool
	f.SetFault(func(o targettest.Op, id string, call int) (error, bool) {
		if o == targettest.OpList || o == targettest.OpGet {
			return nil, true
		}
		if resumed.Load() {
			afterResume.Add(1)
		}
		if calls.Add(1) == 1 {
			close(stalled) // A is "paused" in its first action
			<-resume
			resumed.Store(true)
		}
		return nil, true
	})
	sp := reconcile.RunSpec{AsOf: start, Sources: []reconcile.SourceSpec{{Name: "hr", Type: "test", Source: people}},
		Targets: []reconcile.TargetSpec{{Name: "app", Type: "fake", Target: f, Concurrency: 1}},
		Policy:  reconcile.Policy{Mode: reconcile.Enforce, Guards: reconcile.Guards{MaxRevocationsPercent: 100}}}
	eng := &reconcile.Engine{Store: a, Log: slog.New(slog.DiscardHandler), Retry: reconcile.Retry{Attempts: 1, Base: time.Millisecond, Max: time.Millisecond}}
	type out struct {
		res *reconcile.Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := eng.Run(pgstore.WithLease(ctx, lease), sp)
		done <- out{res, err}
	}()
	select {
	case <-stalled:
	case o := <-done:
		t.Fatalf("the run ended before acting: %v", o.err)
	}
	// B finds A's heartbeat stale and takes the lock over.
	got, _, took, err := b.TryLock(ctx, pgstore.RunLock, pgstore.LockHolder{Token: "B", Host: "host-b", PID: 2, Purpose: "run B"},
		pgstore.LockPolicy{Stale: time.Minute, Now: func() time.Time { return start.Add(2 * time.Minute) }})
	if err != nil || !got || !took {
		t.Fatalf("B lock: got %v took %v %v", got, took, err)
	}
	close(resume)
	o := <-done
	if n := afterResume.Load(); n != 0 {
		t.Fatalf("A performed %d actions after losing the lock", n)
	}
	if !errors.Is(o.err, reconcile.ErrLeaseLost) || o.res.Run.Status != reconcile.StatusCancelled || !strings.Contains(o.res.Run.Error, "store lock lost") {
		t.Fatalf("A: err %v, status %s, error %q", o.err, o.res.Run.Status, o.res.Run.Error)
	}
	stored, err := b.GetRun(ctx, o.res.Run.ID)
	if err != nil || stored.Status != reconcile.StatusCancelled || !strings.Contains(stored.Error, "taken over") {
		t.Fatalf("stored run %+v %v", stored, err)
	}
	if n := f.Calls(targettest.OpDisable); n != 1 {
		t.Errorf("%d disables, want the 1 begun before the takeover", n)
	}
}
