package reconcile_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

// These tests are about what the SQLite store does across a crash, a lost
// lock or a failing audit trail: they run the engine against it.

// crashedRun records an earlier run killed while revoking A1 (E1,
// terminated): disable done, revoke_sessions requested.
func crashedRun(t *testing.T, e *reconcile.Engine) int64 {
	t.Helper()
	ctx := context.Background()
	id, err := e.Store.BeginRun(ctx, reconcile.Run{AsOf: asOf, StartedAt: asOf, Mode: "enforce", Status: reconcile.StatusRunning})
	if err != nil {
		t.Fatal(err)
	}
	fp := reconcile.Fingerprint(reconcile.TerminatedActive, "app", "A1")
	ids, err := e.Store.InsertActions(ctx, []reconcile.Action{
		{RunID: id, Fingerprint: fp, Target: "app", AccountID: "A1", Op: "disable", Status: "requested", RequestedAt: asOf, Kind: string(reconcile.TerminatedActive), EmployeeID: "E1"},
		{RunID: id, Fingerprint: fp, Target: "app", AccountID: "A1", Op: "revoke_sessions", Status: "requested", RequestedAt: asOf, Kind: string(reconcile.TerminatedActive), EmployeeID: "E1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	done := reconcile.Action{ID: ids[0], Status: "done", Verified: true, Attempts: 1, FinishedAt: asOf}
	if err := e.Store.FinishAction(done); err != nil {
		t.Fatal(err)
	}
	return id
}

// Issue 11, item 1: a crash between disable and revoke_sessions. Recovery
// must not record the sessions revoked (they cannot be observed), and the
// next run, which sees the account disabled, revokes them.
func TestRecoverNeverAssumesSessionsRevoked(t *testing.T) {
	e, f := newEngine(t), fakeAccounts()
	ctx := context.Background()
	crashed := crashedRun(t, e)
	a, _ := f.Get("A1")
	a.Enabled = false
	f.Put(a) // disabled by the crashed run; its session is still live
	if f.Sessions("A1") != 1 {
		t.Fatal("setup: A1 has no session")
	}
	res, err := e.Run(ctx, spec(f, reconcile.Policy{}))
	if err != nil {
		t.Fatal(err)
	}
	acts, err := sqlite(e).Actions(ctx, crashed)
	if err != nil {
		t.Fatal(err)
	}
	for _, act := range acts {
		if act.Op == "revoke_sessions" && (act.Status != "recovered_not_done" || act.Verified) {
			t.Errorf("the interrupted revoke_sessions was recovered as %s (verified %v): its effect cannot be observed", act.Status, act.Verified)
		}
	}
	if n := f.Sessions("A1"); n != 0 {
		t.Fatalf("A1 still has %d live sessions after the next run", n)
	}
	ta := findKind(res.Findings, reconcile.TerminatedActive)
	var a1 *reconcile.Finding
	for i := range ta {
		if ta[i].AccountID == "A1" {
			a1 = ta[i]
		}
	}
	if a1 == nil || a1.Outcome != reconcile.OutcomeDone || len(a1.Actions) != 1 || a1.Actions[0].Op != targets.CanRevokeSessions {
		t.Fatalf("A1's finding: %+v", a1)
	}
	// Verified now: the run after plans nothing more for A1.
	res, err = e.Run(ctx, spec(f, reconcile.Policy{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, act := range res.Actions {
		if act.AccountID == "A1" {
			t.Fatalf("A1 acted upon again: %+v", act)
		}
	}
}

// A disabled account whose lifecycle steps are not all verified stays a
// finding (planned again) until they are, and only while HR says the
// person is gone.
func TestDisabledAccountWithUnfinishedStepsStaysAFinding(t *testing.T) {
	for _, rehired := range []bool{false, true} {
		t.Run(map[bool]string{false: "still_terminated", true: "rehired"}[rehired], func(t *testing.T) {
			e, f := newEngine(t), fakeAccounts()
			ctx := context.Background()
			f.SetFault(func(o targettest.Op, id string, call int) (error, bool) {
				if o == targettest.OpRevokeSessions && id == "A1" {
					return targets.ErrPermission, false
				}
				return nil, true
			})
			res, err := e.Run(ctx, spec(f, reconcile.Policy{}))
			if err != nil {
				t.Fatal(err)
			}
			if enabled(f, "A1") || f.Sessions("A1") != 1 || len(findKind(res.Findings, reconcile.RevocationFailed)) != 1 {
				t.Fatalf("setup: A1 enabled %v sessions %d findings %v", enabled(f, "A1"), f.Sessions("A1"), kinds(res.Findings))
			}
			f.SetFault(nil)
			sp := spec(f, reconcile.Policy{})
			if rehired {
				people := hr()
				people[0].Status = sources.Active
				sp.Sources[0].Source = people
			}
			res, err = e.Run(ctx, sp)
			if err != nil {
				t.Fatal(err)
			}
			if rehired {
				if f.Sessions("A1") != 1 || len(res.Actions) != 0 {
					t.Fatalf("a rehired person's sessions were revoked: %+v", res.Actions)
				}
				return
			}
			if f.Sessions("A1") != 0 {
				t.Fatalf("A1 (disabled, sessions never revoked) still has a live session; findings %v", kinds(res.Findings))
			}
			if ta := findKind(res.Findings, reconcile.TerminatedActive); len(ta) != 1 || ta[0].AccountID != "A1" || ta[0].Outcome != reconcile.OutcomeDone {
				t.Fatalf("terminated_active findings: %+v", ta)
			}
			res, err = e.Run(ctx, spec(f, reconcile.Policy{}))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Actions) != 0 || len(findKind(res.Findings, reconcile.TerminatedActive)) != 0 {
				t.Fatalf("third run still acts: %+v", res.Actions)
			}
		})
	}
}

// failingAuditor fails every record from the n-th on.
type failingAuditor struct {
	mu   sync.Mutex
	n, i int
}

func (a *failingAuditor) Record(ctx context.Context, ev reconcile.AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.i++
	if a.i >= a.n {
		return errors.New("disk full")
	}
	return nil
}

// Issue 11, item 9: an audit append that fails stops enforcement for the
// run: no revocation without its audit record.
func TestAuditFailureStopsEnforcement(t *testing.T) {
	e, f := newEngine(t), fakeAccounts()
	ctx := context.Background()
	var audited atomic.Bool
	var callsAfter atomic.Int32
	aud := &failingAuditor{n: 1 << 30}
	e.Audit = auditorFunc(func(ctx context.Context, ev reconcile.AuditEvent) error {
		err := aud.Record(ctx, ev)
		if err != nil {
			audited.Store(true)
		}
		if ev.Type == "target_response" {
			// The first answer of the target is the last thing audited.
			aud.mu.Lock()
			aud.n = aud.i + 1
			aud.mu.Unlock()
		}
		return err
	})
	f.SetFault(func(o targettest.Op, id string, call int) (error, bool) {
		if audited.Load() && o != targettest.OpList && o != targettest.OpGet {
			callsAfter.Add(1)
		}
		return nil, true
	})
	sp := spec(f, reconcile.Policy{})
	sp.Targets[0].Concurrency = 1
	res, err := e.Run(ctx, sp)
	if !errors.Is(err, reconcile.ErrAuditFailed) || res.Run.Status != reconcile.StatusFailed {
		t.Fatalf("run: %v, status %s; want reconcile.ErrAuditFailed and failed", err, res.Run.Status)
	}
	if !audited.Load() {
		t.Fatal("setup: no audit append failed")
	}
	if n := callsAfter.Load(); n != 0 {
		t.Fatalf("%d target calls after the audit trail failed", n)
	}
	if n := len(f.Log()); n != 1 {
		t.Fatalf("changes made: %v, want only the one before the audit failure", f.Log())
	}
	acts, err := sqlite(e).Actions(ctx, res.Run.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range acts {
		if a.Status == "requested" {
			t.Errorf("action left requested: %+v", a)
		}
	}
}

type auditorFunc func(ctx context.Context, ev reconcile.AuditEvent) error

func (f auditorFunc) Record(ctx context.Context, ev reconcile.AuditEvent) error { return f(ctx, ev) }

// Issue 11, item 3: run A stalls past lock_stale holding the store lock, B
// takes the lock over, A resumes: A performs no further action and ends
// cancelled, saying why.
func TestLostLockStopsActing(t *testing.T) {
	e, f := newEngine(t), fakeAccounts()
	ctx := context.Background()
	start := time.Now()
	clock := func() time.Time { return start }
	got, _, _, err := sqlite(e).TryLock(ctx, store.RunLock, store.LockHolder{Token: "A", Host: "h", PID: 1, Purpose: "run A"}, store.LockPolicy{Stale: time.Minute, Now: clock})
	if err != nil || !got {
		t.Fatalf("A lock: %v %v", got, err)
	}
	lease, err := sqlite(e).Lease(ctx, store.RunLock, "A")
	if err != nil {
		t.Fatal(err)
	}
	lease.Stale = time.Hour // only the takeover, not the clock, ends A's lease here
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
	sp := spec(f, reconcile.Policy{})
	sp.Targets[0].Concurrency = 1
	type out struct {
		res *reconcile.Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := e.Run(store.WithLease(ctx, lease), sp)
		done <- out{res, err}
	}()
	<-stalled
	// B finds A's heartbeat stale and takes the lock over.
	later := func() time.Time { return start.Add(2 * time.Minute) }
	got, _, took, err := sqlite(e).TryLock(ctx, store.RunLock, store.LockHolder{Token: "B", Host: "h", PID: 2, Purpose: "run B"}, store.LockPolicy{Stale: time.Minute, Now: later})
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
	stored, err := sqlite(e).GetRun(ctx, o.res.Run.ID)
	if err != nil || stored.Status != reconcile.StatusCancelled || !strings.Contains(stored.Error, "taken over") {
		t.Fatalf("stored run %+v %v", stored, err)
	}
}
