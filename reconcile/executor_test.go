package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

type sliceSource []sources.Person

func (s sliceSource) People(ctx context.Context) iter.Seq2[sources.Person, error] {
	return func(yield func(sources.Person, error) bool) {
		for _, p := range s {
			if !yield(p, nil) {
				return
			}
		}
	}
}

func newEngine(t testing.TB) *Engine {
	t.Helper()
	return &Engine{Store: newMemStore(), Log: slog.New(slog.DiscardHandler), Retry: Retry{Attempts: 4, Base: time.Millisecond, Max: 2 * time.Second}}
}

// hr: E1, E2 terminated; E3..E10 active.
func hr() sliceSource {
	var ps sliceSource
	for i := 1; i <= 10; i++ {
		st := sources.Active
		if i <= 2 {
			st = sources.Terminated
		}
		ps = append(ps, sources.Person{EmployeeID: "E" + itoa(i), Email: "e" + itoa(i) + "@x", Status: st})
	}
	return ps
}

func itoa(i int) string { return strconv.Itoa(i) }

func fakeAccounts() *targettest.Fake {
	var as []targets.Account
	for i := 1; i <= 10; i++ {
		as = append(as, targets.Account{ID: "A" + itoa(i), Username: "u" + itoa(i), EmployeeID: "E" + itoa(i), Enabled: true})
	}
	return targettest.NewFake(as...)
}

func spec(f *targettest.Fake, p Policy) RunSpec {
	p.Mode = Enforce
	return RunSpec{AsOf: asOf, Sources: []SourceSpec{{Name: "hr", Type: "test", Source: hr()}},
		Targets: []TargetSpec{{Name: "app", Type: "fake", Target: f}}, Policy: p}
}

func enabled(f *targettest.Fake, id string) bool { a, _ := f.Get(id); return a.Enabled }

func findKind(fs []*Finding, k Kind) []*Finding {
	var out []*Finding
	for _, f := range fs {
		if f.Kind == k {
			out = append(out, f)
		}
	}
	return out
}

func TestEnforceAndIdempotent(t *testing.T) {
	e, f := newEngine(t), fakeAccounts()
	res, err := e.Run(context.Background(), spec(f, Policy{}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.Status != StatusCompleted {
		t.Fatalf("status %s", res.Run.Status)
	}
	for i := 1; i <= 10; i++ {
		if want := i > 2; enabled(f, "A"+itoa(i)) != want {
			t.Errorf("A%d enabled = %v, want %v", i, !want, want)
		}
	}
	for _, fd := range findKind(res.Findings, TerminatedActive) {
		if fd.Outcome != OutcomeDone || fd.RevokedAt == nil {
			t.Errorf("finding %s outcome %q", fd.AccountID, fd.Outcome)
		}
	}
	if n := f.Calls(targettest.OpDisable); n != 2 {
		t.Errorf("disable calls = %d, want 2", n)
	}
	log1 := f.Log()
	res2, err := e.Run(context.Background(), spec(f, Policy{}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.Log(), log1) {
		t.Fatalf("second run changed the target: %v -> %v", log1, f.Log())
	}
	if len(findKind(res2.Findings, TerminatedActive)) != 0 || len(res2.Actions) != 0 {
		t.Fatalf("second run: %+v actions %+v", res2.Findings, res2.Actions)
	}
	if len(res2.Resolved) != 2 {
		t.Errorf("resolved = %d, want 2", len(res2.Resolved))
	}
}

func TestReportModeDoesNothing(t *testing.T) {
	e, f := newEngine(t), fakeAccounts()
	sp := spec(f, Policy{})
	sp.Mode = Report
	res, err := e.Run(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Log()) != 0 {
		t.Fatalf("report mode changed %v", f.Log())
	}
	for _, fd := range findKind(res.Findings, TerminatedActive) {
		if fd.Outcome != OutcomePlanned {
			t.Errorf("outcome %q", fd.Outcome)
		}
	}
}

func transientOnce(op targettest.Op, retryAfter time.Duration) targettest.Fault {
	var mu sync.Mutex
	failed := map[string]bool{}
	return func(o targettest.Op, id string, call int) (error, bool) {
		mu.Lock()
		defer mu.Unlock()
		if o == op && !failed[id] {
			failed[id] = true
			return targets.Transient(errors.New("503"), retryAfter), false
		}
		return nil, true
	}
}

func TestTransientRetried(t *testing.T) {
	e, f := newEngine(t), fakeAccounts()
	f.SetFault(transientOnce(targettest.OpDisable, 0))
	res, err := e.Run(context.Background(), spec(f, Policy{}))
	if err != nil {
		t.Fatal(err)
	}
	if enabled(f, "A1") || enabled(f, "A2") {
		t.Fatal("not disabled after retry")
	}
	for _, a := range res.Actions {
		if a.Op == "disable" && (a.Attempts != 2 || a.Status != "done" || !a.Verified) {
			t.Errorf("action %+v", a)
		}
	}
	if len(findKind(res.Findings, RevocationFailed)) != 0 {
		t.Fatal("revocation_failed after a successful retry")
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	e, f := newEngine(t), fakeAccounts()
	const ask = 300 * time.Millisecond
	var mu sync.Mutex
	var first, second time.Time
	f.SetFault(func(o targettest.Op, id string, call int) (error, bool) {
		if o != targettest.OpDisable || id != "A1" {
			return nil, true
		}
		mu.Lock()
		defer mu.Unlock()
		if first.IsZero() {
			first = time.Now()
			return targets.Transient(errors.New("429"), ask), false
		}
		second = time.Now()
		return nil, true
	})
	if _, err := e.Run(context.Background(), spec(f, Policy{})); err != nil {
		t.Fatal(err)
	}
	if second.IsZero() || second.Sub(first) < ask {
		t.Fatalf("retried after %v, asked %v", second.Sub(first), ask)
	}
}

func TestPermanentFailure(t *testing.T) {
	e, f := newEngine(t), fakeAccounts()
	f.SetFault(func(o targettest.Op, id string, call int) (error, bool) {
		if o == targettest.OpDisable && id == "A1" {
			return targets.ErrPermission, false
		}
		return nil, true
	})
	res, err := e.Run(context.Background(), spec(f, Policy{}))
	if err != nil {
		t.Fatal(err)
	}
	rf := findKind(res.Findings, RevocationFailed)
	if len(rf) != 1 || rf[0].AccountID != "A1" || rf[0].Disposition != Review {
		t.Fatalf("revocation_failed = %+v", rf)
	}
	if n := f.Calls(targettest.OpDisable); n != 2 {
		t.Errorf("disable calls %d, want 2 (a permission error is not retried)", n)
	}
	if enabled(f, "A2") {
		t.Error("A2 should still be disabled")
	}
}

func TestTimeout(t *testing.T) {
	e, f := newEngine(t), fakeAccounts()
	e.Retry = Retry{Attempts: 2, Base: time.Millisecond}
	// The call times out every time and never takes effect.
	f.SetFault(func(o targettest.Op, id string, call int) (error, bool) {
		if o == targettest.OpDisable && id == "A1" {
			return context.DeadlineExceeded, false
		}
		return nil, true
	})
	res, err := e.Run(context.Background(), spec(f, Policy{}))
	if err != nil {
		t.Fatal(err)
	}
	if n := f.Calls(targettest.OpDisable); n != 3 { // 2 tries on A1, 1 on A2
		t.Errorf("disable calls %d, want 3", n)
	}
	if rf := findKind(res.Findings, RevocationFailed); len(rf) != 1 || rf[0].AccountID != "A1" {
		t.Fatalf("revocation_failed = %+v", rf)
	}
	// A timeout after the target acted is verified as done.
	e2, f2 := newEngine(t), fakeAccounts()
	f2.SetFault(func(o targettest.Op, id string, call int) (error, bool) {
		if o == targettest.OpDisable && call == 1 {
			return context.DeadlineExceeded, true
		}
		return nil, true
	})
	res, err = e2.Run(context.Background(), spec(f2, Policy{}))
	if err != nil {
		t.Fatal(err)
	}
	if enabled(f2, "A1") || enabled(f2, "A2") || len(findKind(res.Findings, RevocationFailed)) != 0 {
		t.Fatalf("timeout-after-apply: %+v", res.Findings)
	}
}

func TestCancelledMidExecution(t *testing.T) {
	e, f := newEngine(t), fakeAccounts()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.SetFault(func(o targettest.Op, id string, call int) (error, bool) {
		if o == targettest.OpDisable {
			cancel()
			return targets.Transient(errors.New("busy"), 0), false
		}
		return nil, true
	})
	sp := spec(f, Policy{})
	sp.Targets[0].Concurrency = 1
	res, err := e.Run(ctx, sp)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res.Run.Status != StatusCancelled {
		t.Fatalf("status %s", res.Run.Status)
	}
	got, err := mem(e).GetRun(context.Background(), res.Run.ID)
	if err != nil || got.Status != StatusCancelled {
		t.Fatalf("stored run %+v %v", got, err)
	}
	acts, err := mem(e).Actions(context.Background(), res.Run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) == 0 {
		t.Fatal("no action recorded")
	}
	for _, a := range acts {
		if a.Status == "requested" || a.FinishedAt.IsZero() {
			t.Errorf("action left without outcome: %+v", a)
		}
	}
}

// interruptedDisable records an earlier run of e's store that died
// between "requested" and "verified" with A1's disable on app: its run and
// action IDs.
func interruptedDisable(t *testing.T, e *Engine) (runID, actionID int64) {
	t.Helper()
	ctx := context.Background()
	runID, err := e.Store.BeginRun(ctx, Run{AsOf: asOf, StartedAt: asOf, Mode: "enforce", Status: StatusRunning})
	if err != nil {
		t.Fatal(err)
	}
	actionID, err = mem(e).InsertAction(ctx, Action{RunID: runID, Fingerprint: Fingerprint(TerminatedActive, "app", "A1"), Target: "app",
		AccountID: "A1", Op: "disable", Status: "requested", RequestedAt: asOf})
	if err != nil {
		t.Fatal(err)
	}
	return runID, actionID
}

// An action an interrupted run left requested is settled by the next run
// as the target shows it: done when observed (A1 disabled), or when the
// account is gone (nothing left to revoke); not done otherwise, and then
// done again. Verified only when settled as done.
func TestRecoverInterrupted(t *testing.T) {
	for _, c := range []struct {
		name    string
		change  func(f *targettest.Fake)
		want    ActionStatus
		doAgain bool
	}{
		{"done", func(f *targettest.Fake) { a, _ := f.Get("A1"); a.Enabled = false; f.Put(a) }, ActionRecoveredDone, false},
		{"not_done", func(*targettest.Fake) {}, ActionRecoveredNotDone, true},
		{"gone", func(f *targettest.Fake) { f.Delete("A1") }, ActionRecoveredDone, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, f := newEngine(t), fakeAccounts()
			ctx := context.Background()
			id, aid := interruptedDisable(t, e)
			c.change(f)
			res, err := e.Run(ctx, spec(f, Policy{}))
			if err != nil {
				t.Fatal(err)
			}
			acts, err := mem(e).Actions(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if len(acts) != 1 || acts[0].ID != aid || acts[0].Status != c.want || acts[0].Verified != (c.want == ActionRecoveredDone) {
				t.Fatalf("recovered actions %+v, want %s", acts, c.want)
			}
			if enabled(f, "A1") {
				t.Fatal("A1 still enabled after the run")
			}
			did := slices.ContainsFunc(res.Actions, func(a Action) bool { return a.AccountID == "A1" && a.Op == "disable" })
			if did != c.doAgain {
				t.Fatalf("this run disabled A1 = %v, want %v", did, c.doAgain)
			}
		})
	}
}

func TestBlastRadiusGuards(t *testing.T) {
	for name, g := range map[string]Guards{"max_revocations": {MaxRevocations: 1}, "max_revocations_percent": {MaxRevocationsPercent: 10}} {
		t.Run(name, func(t *testing.T) {
			e, f := newEngine(t), fakeAccounts()
			res, err := e.Run(context.Background(), spec(f, Policy{Guards: g}))
			if !errors.Is(err, ErrGuard) || res.Run.Status != StatusGuardTripped {
				t.Fatalf("err %v status %s", err, res.Run.Status)
			}
			if len(f.Log()) != 0 {
				t.Fatalf("guarded run acted: %v", f.Log())
			}
			if len(res.Run.Guards) != 1 || !strings.HasPrefix(res.Run.Guards[0], name+":") {
				t.Fatalf("guards %v", res.Run.Guards)
			}
			for _, fd := range findKind(res.Findings, TerminatedActive) {
				if fd.Outcome != OutcomeBlocked {
					t.Errorf("outcome %q", fd.Outcome)
				}
			}
			if len(findKind(res.Findings, GuardTripped)) != 1 {
				t.Error("no guard_tripped finding")
			}
		})
	}
	// Within limits: acts.
	e, f := newEngine(t), fakeAccounts()
	if _, err := e.Run(context.Background(), spec(f, Policy{Guards: Guards{MaxRevocations: 2, MaxRevocationsPercent: 20}})); err != nil {
		t.Fatal(err)
	}
	if enabled(f, "A1") {
		t.Fatal("guard tripped within limits")
	}
}

func TestHolds(t *testing.T) {
	e, f := newEngine(t), fakeAccounts()
	ctx := context.Background()
	now := time.Now()
	if _, err := mem(e).AddHold(ctx, Hold{Target: "app", AccountID: "A1", Reason: "legal", Until: now.Add(24 * time.Hour), CreatedBy: "x", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := mem(e).AddHold(ctx, Hold{Target: "app", AccountID: "A2", Reason: "old", Until: now.Add(-time.Hour), CreatedBy: "x", CreatedAt: now.Add(-48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	res, err := e.Run(ctx, spec(f, Policy{}))
	if err != nil {
		t.Fatal(err)
	}
	if !enabled(f, "A1") || enabled(f, "A2") {
		t.Fatalf("A1 enabled %v (held), A2 enabled %v (hold expired)", enabled(f, "A1"), enabled(f, "A2"))
	}
	for _, fd := range findKind(res.Findings, TerminatedActive) {
		if fd.AccountID == "A1" && (fd.Outcome != OutcomeBlocked || fd.Evidence.Get("hold") == "") {
			t.Errorf("held finding %+v", fd)
		}
	}
}

// A hold keeps the account it names on its own target, named by ID or, as
// older holds were written, by username, until the instant it ends; not
// an account of the same ID on another target, and not at its end.
func TestHoldEdges(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		hold Hold
		held bool
	}{
		{"by ID", Hold{Target: "app", AccountID: "A1", Until: now.Add(time.Hour)}, true},
		{"by username", Hold{Target: "app", AccountID: "u1", Until: now.Add(time.Hour)}, true},
		{"on another target", Hold{Target: "crm", AccountID: "A1", Until: now.Add(time.Hour)}, false},
		{"ending now", Hold{Target: "app", AccountID: "A1", Until: now}, false},
	} {
		e, f := newEngine(t), fakeAccounts()
		e.Now = func() time.Time { return now }
		c.hold.Reason, c.hold.CreatedBy, c.hold.CreatedAt = "legal", "x", now.Add(-time.Hour)
		if _, err := mem(e).AddHold(ctx, c.hold); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Run(ctx, spec(f, Policy{})); err != nil {
			t.Fatal(err)
		}
		if enabled(f, "A1") != c.held {
			t.Errorf("a hold %s: A1 enabled %v, want %v", c.name, enabled(f, "A1"), c.held)
		}
	}
}

// An exemption and a privileged approval cover the account they name on
// their own target only: the same account ID on another target is judged
// as if they were not there.
func TestPolicyEntriesStayOnTheirTarget(t *testing.T) {
	accounts := func() *targettest.Fake {
		f := fakeAccounts()
		a3, _ := f.Get("A3")
		a3.Privileged = true
		f.Put(a3)
		return f
	}
	app, crm := accounts(), accounts()
	p := Policy{
		Exemptions:         []Exemption{{Target: "crm", AccountID: "A1", Owner: "o", Reason: "r", Approver: "a", Expires: Date{asOf.Add(24 * time.Hour)}}},
		PrivilegedApproved: []Approval{{Target: "crm", AccountID: "A3", Approver: "a", Reason: "r"}},
	}
	sp := spec(app, p)
	sp.Targets = append(sp.Targets, TargetSpec{Name: "crm", Type: "fake", Target: crm})
	res, err := newEngine(t).Run(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	if enabled(app, "A1") || !enabled(crm, "A1") {
		t.Errorf("A1 enabled on app %v (not exempt there), on crm %v (exempt)", enabled(app, "A1"), enabled(crm, "A1"))
	}
	unapproved := map[string]bool{}
	for _, f := range findKind(res.Findings, PrivilegedUnapproved) {
		unapproved[f.Target+" "+f.AccountID] = true
	}
	if !unapproved["app A3"] || unapproved["crm A3"] {
		t.Errorf("privileged_unapproved findings %v, want app's A3 alone", unapproved)
	}
}

func TestExemptionHonoured(t *testing.T) {
	e, f := newEngine(t), fakeAccounts()
	p := Policy{Exemptions: []Exemption{{Target: "app", AccountID: "A1", Owner: "o", Reason: "r", Approver: "a", Expires: Date{asOf.Add(24 * time.Hour)}}}}
	res, err := e.Run(context.Background(), spec(f, p))
	if err != nil {
		t.Fatal(err)
	}
	if !enabled(f, "A1") || enabled(f, "A2") {
		t.Fatal("exemption not honoured, or others not acted on")
	}
	ta := findKind(res.Findings, TerminatedActive)
	if !slices.ContainsFunc(ta, func(fd *Finding) bool { return fd.AccountID == "A1" && fd.Disposition == Exempt }) {
		t.Fatalf("%+v", ta)
	}
	// Its steps are listed for the record, none as one accessrecon takes.
	for _, fd := range ta {
		if fd.AccountID == "A1" && (len(fd.Actions) == 0 || slices.ContainsFunc(fd.Actions, func(s Step) bool { return s.Auto })) {
			t.Errorf("the exempt finding's steps %+v: want them listed, none automatic", fd.Actions)
		}
	}
}

// An account with two findings sharing a failed step (terminated_active and
// reenabled both plan "disable") yields one revocation_failed finding.
func TestRevocationFailedTwoFindingsOneAccount(t *testing.T) {
	e, f := newEngine(t), fakeAccounts()
	ctx := context.Background()
	// Day 1: A1 is already disabled (by hand).
	a, _ := f.Get("A1")
	a.Enabled = false
	f.Put(a)
	sp := spec(f, Policy{})
	sp.AsOf = asOf.Add(-24 * time.Hour)
	if _, err := e.Run(ctx, sp); err != nil {
		t.Fatal(err)
	}
	// Day 2: turned back on; disabling it fails.
	a.Enabled = true
	f.Put(a)
	f.SetFault(func(o targettest.Op, id string, call int) (error, bool) {
		if o == targettest.OpDisable && id == "A1" {
			return targets.ErrPermission, false
		}
		return nil, true
	})
	res, err := e.Run(ctx, spec(f, Policy{}))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(findKind(res.Findings, Reenabled)) != 1 || len(findKind(res.Findings, TerminatedActive)) != 1 {
		t.Fatalf("findings %+v", resKinds(res.Findings))
	}
	rf := findKind(res.Findings, RevocationFailed)
	if len(rf) != 1 || !strings.Contains(rf[0].Reason, string(Reenabled)) || !strings.Contains(rf[0].Reason, string(TerminatedActive)) {
		t.Fatalf("revocation_failed = %+v", rf)
	}
}

// The rails at their edges, with the default limits: a target may lose
// up to 10 accounts in a run whatever their share, the 11th over 10% of
// its enabled accounts trips the percent rail; a report run trips no
// blast-radius rail (it revokes nothing); HR may shrink by 20% since the
// last good run, and not by more.
func TestGuardEdges(t *testing.T) {
	ctx := context.Background()
	people := func(n, terminated int) sliceSource {
		var ps sliceSource
		for i := 1; i <= n; i++ {
			st := sources.Active
			if i <= terminated {
				st = sources.Terminated
			}
			ps = append(ps, sources.Person{EmployeeID: "E" + itoa(i), Status: st})
		}
		return ps
	}
	accounts := func(n int) *targettest.Fake {
		var as []targets.Account
		for i := 1; i <= n; i++ {
			as = append(as, targets.Account{ID: "A" + itoa(i), Username: "u" + itoa(i), EmployeeID: "E" + itoa(i), Enabled: true})
		}
		return targettest.NewFake(as...)
	}
	for _, c := range []struct {
		leavers int
		mode    Mode
		tripped bool
	}{{10, "", false}, {11, "", true}, {11, Report, false}} {
		f := accounts(50)
		sp := spec(f, Policy{})
		sp.Sources[0].Source, sp.Mode = people(50, c.leavers), c.mode
		res, err := newEngine(t).Run(ctx, sp)
		if res == nil {
			t.Fatalf("%d leavers, mode %q: %v", c.leavers, c.mode, err)
		}
		if got := res.Tripped(GuardMaxRevocationsPercent); got != c.tripped || (err != nil) != c.tripped {
			t.Errorf("%d leavers of 50, mode %q: percent rail tripped %v (%v, guards %v), want %v", c.leavers, c.mode, got, err, res.Run.Guards, c.tripped)
		}
		revoked := 0
		for i := 1; i <= c.leavers; i++ {
			if !enabled(f, "A"+itoa(i)) {
				revoked++
			}
		}
		want := c.leavers
		if c.tripped || c.mode == Report {
			want = 0
		}
		if revoked != want {
			t.Errorf("%d leavers of 50, mode %q: %d revoked, want %d", c.leavers, c.mode, revoked, want)
		}
	}
	for _, c := range []struct {
		now     int
		tripped bool
	}{{80, false}, {79, true}} {
		e := newEngine(t)
		sp := spec(accounts(100), Policy{})
		sp.Sources[0].Source, sp.Mode, sp.AsOf = people(100, 0), Report, asOf.Add(-24*time.Hour)
		if _, err := e.Run(ctx, sp); err != nil {
			t.Fatal(err)
		}
		sp.Sources[0].Source, sp.AsOf = people(c.now, 0), asOf
		res, _ := e.Run(ctx, sp)
		if res == nil || res.Tripped(GuardHRShrink) != c.tripped {
			t.Errorf("HR from 100 to %d people: hr_shrink tripped %v, want %v", c.now, res != nil && res.Tripped(GuardHRShrink), c.tripped)
		}
	}
}

// What a target answers at the edges of an action: a Retry-After longer
// than the engine's longest wait is cut to it (a target cannot hold a run
// for an hour); an account gone when it is re-read is revoked; a key the
// target still lists, inactive, is revoked.
func TestActionEdges(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e := newEngine(t)
	e.Retry.Max = 20 * time.Millisecond
	f := fakeAccounts()
	a1, _ := f.Get("A1")
	a1.Credentials = []targets.Credential{{ID: "K1", Kind: "access_key", Active: true}}
	f.Put(a1)
	asked := false
	f.SetFault(func(o targettest.Op, id string, call int) (error, bool) {
		switch {
		case o == targettest.OpDisable && id == "A1" && !asked:
			asked = true
			return targets.Transient(errors.New("429"), time.Hour), false
		case o == targettest.OpGet && id == "A2":
			return targets.ErrNotFound, false
		}
		return nil, true
	})
	res, err := e.Run(ctx, spec(f, Policy{}))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range res.Actions {
		key := a.AccountID + " " + a.Op
		seen[key] = true
		if a.Status != ActionDone || !a.Verified {
			t.Errorf("%s: %s, verified %v (%s)", key, a.Status, a.Verified, a.Error)
		}
	}
	for _, want := range []string{"A1 disable", "A1 revoke_credential", "A2 disable"} {
		if !seen[want] {
			t.Errorf("no action %s among %v", want, seen)
		}
	}
	if k, _ := f.Get("A1"); len(k.Credentials) != 1 || k.Credentials[0].Active {
		t.Errorf("A1's key after the run: %+v, want K1 listed, inactive", k.Credentials)
	}
}

// auditLog keeps the audit events a run records.
type auditLog struct {
	mu     sync.Mutex
	events []AuditEvent
}

func (a *auditLog) Record(_ context.Context, ev AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, ev)
	return nil
}

// A secret an upstream error echoes (a listing refused, an action retried,
// then failed) is in nothing the run keeps or says: not the log, the audit
// trail, the collections, the actions, the findings, the run's error, nor
// the error Run returns, which still matches what it wraps.
func TestUpstreamSecretScrubbed(t *testing.T) {
	const secret = "s3cr3t-t0ken-Xq9"
	var logged bytes.Buffer
	e := newEngine(t)
	e.Log = slog.New(slog.NewJSONHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.Redactor = targets.NewRedactor(targets.Secret(secret))
	trail := &auditLog{}
	e.Audit = trail
	f := fakeAccounts()
	tried := false // A1's disable (the Fake calls its fault with its lock held)
	f.SetFault(func(o targettest.Op, id string, call int) (error, bool) {
		if o == targettest.OpDisable && id == "A1" {
			if !tried {
				tried = true
				return targets.Transient(errors.New("503: retry with Bearer "+secret), 0), false
			}
			return fmt.Errorf("401: Bearer %s refused: %w", secret, targets.ErrPermission), false
		}
		return nil, true
	})
	broken := targettest.NewFake()
	broken.SetFault(func(o targettest.Op, id string, call int) (error, bool) {
		return fmt.Errorf("listing refused for key %s", secret), false
	})
	sp := spec(f, Policy{})
	sp.Targets = append(sp.Targets, TargetSpec{Name: "broken", Type: "fake", Target: broken})
	res, err := e.Run(context.Background(), sp)
	if err == nil || res == nil {
		t.Fatalf("a run with a failed target: %v", err)
	}
	kept := map[string]string{"the error Run returned": err.Error(), "the log": logged.String(), "the run's error": res.Run.Error}
	events, _ := json.Marshal(trail.events)
	kept["the audit trail"] = string(events)
	for _, c := range res.Collections {
		kept["collection "+c.Name] = c.Error
	}
	for _, a := range res.Actions {
		kept["action "+a.AccountID+" "+a.Op] = a.Error
	}
	for i := range res.Findings {
		b, err := res.AppendFindingJSON(nil, i)
		if err != nil {
			t.Fatal(err)
		}
		kept["finding "+res.Findings[i].Fingerprint] += string(b)
	}
	for where, text := range kept {
		if strings.Contains(text, secret) {
			t.Errorf("%s holds the secret: %s", where, text)
		}
	}
	if !strings.Contains(logged.String(), "action failed, retrying") {
		t.Error("the retried action was not logged")
	}
	for _, where := range []string{"the error Run returned", "the log", "the audit trail", "collection broken", "action A1 disable"} {
		if !strings.Contains(kept[where], targets.Redacted) {
			t.Errorf("%s says nothing of the upstream error: %q", where, kept[where])
		}
	}
	// What callers test the error for still holds: a guard's exit code.
	g := newEngine(t)
	g.Redactor = e.Redactor
	if _, err := g.Run(context.Background(), spec(fakeAccounts(), Policy{Guards: Guards{MaxRevocations: 1}})); !errors.Is(err, ErrGuard) {
		t.Errorf("a guarded run with a redactor returned %v, not an ErrGuard", err)
	}
}

// Account drift: a first run has no baseline, so nothing is "created"; the
// next records an account that appeared, and a privilege gained as well
// as lost.
func TestAccountDriftEdges(t *testing.T) {
	ctx := context.Background()
	e, f := newEngine(t), fakeAccounts()
	a4, _ := f.Get("A4")
	a4.Privileged = true
	f.Put(a4)
	sp := spec(f, Policy{})
	sp.Mode, sp.AsOf = Report, asOf.Add(-24*time.Hour)
	res, err := e.Run(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range res.Drift {
		if d.Side == SideTarget {
			t.Errorf("first run's drift: %+v", d)
		}
	}
	a3, _ := f.Get("A3")
	a3.Privileged = true
	f.Put(a3)
	a4.Privileged = false
	f.Put(a4)
	f.Put(targets.Account{ID: "A11", Username: "u11", Enabled: true})
	sp.AsOf = asOf
	if res, err = e.Run(ctx, sp); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range res.Drift {
		if d.Side == SideTarget {
			got = append(got, d.Subject+" "+d.Kind+" "+d.Detail)
		}
	}
	slices.Sort(got)
	want := []string{"A11 account_created u11", "A3 privilege_changed false -> true", "A4 privilege_changed true -> false"}
	if !slices.Equal(got, want) {
		t.Errorf("second run's drift %q, want %q", got, want)
	}
}
