// Regression tests for bugs found after the first cut of the engine: each
// failed before its fix.

package reconcile

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

// A targeted fast-path run reads only some accounts: the next full run must
// still compare against the last full snapshot.
func TestTargetedRunKeepsBaseline(t *testing.T) {
	e, f := newEngine(t), fakeAccounts()
	ctx := context.Background()
	a, _ := f.Get("A5")
	a.Enabled = false
	f.Put(a)
	sp := spec(f, Policy{})
	sp.Mode = Report
	sp.AsOf = asOf.Add(-24 * time.Hour)
	if _, err := e.Run(ctx, sp); err != nil {
		t.Fatal(err)
	}
	sp.AsOf = asOf.Add(-12 * time.Hour)
	sp.EmployeeIDs = []string{"E1"}
	if _, err := e.Run(ctx, sp); err != nil {
		t.Fatal(err)
	}
	a.Enabled = true
	f.Put(a)
	sp.EmployeeIDs = nil
	sp.AsOf = asOf
	res, err := e.Run(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	if len(findKind(res.Findings, Reenabled)) != 1 {
		t.Fatalf("A5 re-enabled after a targeted run: no reenabled finding; drift %d rows %+v", len(res.Drift), res.Drift[:3])
	}
}

// A shrunken HR snapshot must not become the new normal by being seen on two
// consecutive runs: the guard keeps tripping until HR is whole again.
func TestHRShrinkGuardHoldsOnSecondRun(t *testing.T) {
	e, f := newEngine(t), fakeAccounts()
	ctx := context.Background()
	sp := spec(f, Policy{})
	sp.AsOf = asOf.Add(-48 * time.Hour)
	sp.Mode = Report
	if _, err := e.Run(ctx, sp); err != nil {
		t.Fatal(err)
	}
	sp.Mode = ""
	sp.Sources[0].Source = hr()[:6] // 40% of HR gone
	for day := range 2 {
		sp.AsOf = asOf.Add(time.Duration(day-1) * 24 * time.Hour)
		res, err := e.Run(ctx, sp)
		if res == nil || res.Run.Status != StatusGuardTripped {
			t.Fatalf("day %d: status %v (%v), want guard_tripped", day+2, res.Run.Status, err)
		}
		if !enabled(f, "A1") {
			t.Fatalf("day %d: A1 was disabled although the HR shrink guard tripped", day+2)
		}
	}
}

func TestExemptionDateCoversTheWholeDay(t *testing.T) {
	e := Exemption{Expires: Date{time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)}}
	if e.Expired(time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC)) {
		t.Error("an exemption expiring 2026-12-31 is expired during that day")
	}
	if !e.Expired(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("an exemption expiring 2026-12-31 is still valid on 2027-01-01")
	}
	exact := Exemption{Expires: Date{time.Date(2026, 12, 31, 12, 0, 0, 0, time.UTC)}}
	if !exact.Expired(time.Date(2026, 12, 31, 12, 0, 0, 0, time.UTC)) {
		t.Error("an exemption with a time is not expired at that time")
	}
}

// A run told report explicitly acts nowhere, even on a target whose own mode
// is enforce; without that, the target's mode wins over policy.mode.
func TestExplicitReportRunActsNowhere(t *testing.T) {
	e, f := newEngine(t), fakeAccounts()
	ctx := context.Background()
	sp := spec(f, Policy{})
	sp.Policy.Mode = Report
	sp.Targets[0].Mode = Enforce
	sp.Mode = Report
	if _, err := e.Run(ctx, sp); err != nil {
		t.Fatal(err)
	}
	if !enabled(f, "A1") {
		t.Fatal("run --mode report disabled A1 on a target whose mode is enforce")
	}
	sp.Mode = ""
	sp.AsOf = asOf.Add(time.Hour)
	if _, err := e.Run(ctx, sp); err != nil {
		t.Fatal(err)
	}
	if enabled(f, "A1") {
		t.Fatal("a target in enforce mode under policy.mode report did not act")
	}
}

// A revocation that keeps failing is one problem with one first-seen date,
// not a new one every night.
func TestRevocationFailedKeepsFirstSeen(t *testing.T) {
	e, f := newEngine(t), fakeAccounts()
	f.SetFault(func(op targettest.Op, id string, call int) (error, bool) {
		if op == targettest.OpDisable && id == "A1" {
			return errors.New("permission denied by the app"), false
		}
		return nil, true
	})
	ctx := context.Background()
	sp := spec(f, Policy{})
	first := asOf.Add(-24 * time.Hour)
	for _, at := range []time.Time{first, asOf} {
		sp.AsOf = at
		res, _ := e.Run(ctx, sp)
		var got []*Finding
		for _, x := range res.Findings {
			if x.Kind == RevocationFailed && x.AccountID == "A1" {
				got = append(got, x)
			}
		}
		if len(got) != 1 {
			t.Fatalf("run at %s: %d revocation_failed findings for A1, want 1", at, len(got))
		}
		if !got[0].FirstSeen.Equal(first) {
			t.Fatalf("run at %s: revocation_failed first seen %s, want %s", at, got[0].FirstSeen, first)
		}
	}
}

// The blast-radius rail is on without configuration: a run that would
// revoke more than 10 accounts and more than 10% of a target's enabled ones
// revokes none there; one leaver on a small target is not held by it.
func TestDefaultBlastRadiusGuard(t *testing.T) {
	var people sliceSource
	var accounts []targets.Account
	for i := range 30 {
		st := sources.Active
		if i < 15 {
			st = sources.Terminated
		}
		id := "E" + itoa(i)
		people = append(people, sources.Person{EmployeeID: id, Status: st})
		accounts = append(accounts, targets.Account{ID: "A" + itoa(i), EmployeeID: id, Enabled: true})
	}
	f := targettest.NewFake(accounts...)
	e := newEngine(t)
	sp := RunSpec{AsOf: asOf, Sources: []SourceSpec{{Name: "hr", Type: "test", Source: people}},
		Targets: []TargetSpec{{Name: "app", Type: "fake", Target: f}}, Policy: Policy{Mode: Enforce}}
	res, err := e.Run(context.Background(), sp)
	if res == nil || res.Run.Status != StatusGuardTripped || !errors.Is(err, ErrGuard) {
		t.Fatalf("15 of 30 revocations under the default policy: status %v, err %v; want guard_tripped", res.Run.Status, err)
	}
	if len(f.Log()) != 0 {
		t.Fatalf("the guard tripped but the target was changed: %v", f.Log())
	}

	small := fakeAccounts() // 10 accounts, 2 leavers: 20%, but only 2
	e2 := newEngine(t)
	res, err = e2.Run(context.Background(), spec(small, Policy{}))
	if err != nil || res.Run.Status != StatusCompleted || enabled(small, "A1") {
		t.Fatalf("2 leavers on a 10-account target: status %v, err %v, A1 enabled %v; want completed and revoked", res.Run.Status, err, enabled(small, "A1"))
	}
}

// Issue 10 item 3: a run on a truncated HR export concludes nothing from the
// people it cannot see (their accounts are not orphans), resolves nothing,
// and the next whole run finds the earlier problems still open.
func TestHRShrinkConcludesNothingAboutMissingPeople(t *testing.T) {
	e, f := newEngine(t), fakeAccounts()
	ctx := context.Background()
	sp := spec(f, Policy{})
	sp.Mode = Report
	sp.AsOf = asOf.Add(-48 * time.Hour)
	people := hr()
	people[7].Status = sources.Terminated // E8, whom tomorrow's export leaves out
	sp.Sources[0].Source = people
	first, err := e.Run(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	open := len(findKind(first.Findings, TerminatedActive))
	if open != 3 {
		t.Fatalf("day 1: %d terminated_active findings, want 3", open)
	}
	sp.Sources[0].Source = people[:6] // a truncated export: E7..E10 missing
	sp.AsOf = asOf.Add(-24 * time.Hour)
	bad, err := e.Run(ctx, sp)
	if !errors.Is(err, ErrGuard) || bad.Trusted() || !bad.Tripped(GuardHRShrink) {
		t.Fatalf("day 2: %v, guards %+v", err, bad.Guards)
	}
	if n := len(findKind(bad.Findings, Orphaned)); n != 0 {
		t.Fatalf("day 2 concluded %d orphans from people HR left out", n)
	}
	if len(bad.Resolved) != 0 {
		t.Fatalf("day 2 resolved %d findings on a suspect snapshot", len(bad.Resolved))
	}
	if g := findKind(bad.Findings, GuardTripped); len(g) != 1 || g[0].Target != "(hr)" {
		t.Fatalf("day 2: guard findings %+v, want one for the HR rail", g)
	}
	sp.Sources[0].Source = people
	sp.AsOf = asOf
	good, err := e.Run(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(findKind(good.Findings, TerminatedActive)); n != 3 {
		t.Fatalf("day 3: %d terminated_active findings, want 3", n)
	}
	for _, fd := range findKind(good.Findings, TerminatedActive) {
		if !fd.FirstSeen.Equal(first.Run.AsOf) {
			t.Errorf("%s first seen %v, want day 1 (%v): the untrusted run broke its history", fd.AccountID, fd.FirstSeen, first.Run.AsOf)
		}
	}
}

// Issue 10 item 5: a dry run is marked as one and never becomes the drift
// baseline: a job change it saw is still drift for the next real run, and
// what it no longer sees stays open.
func TestDryRunMovesNoBaseline(t *testing.T) {
	e, f := newEngine(t), fakeAccounts()
	ctx := context.Background()
	sp := spec(f, Policy{})
	sp.Mode = Report
	sp.AsOf = asOf.Add(-48 * time.Hour)
	people := hr()
	people[4].JobCode = "ENG"
	sp.Sources[0].Source = people
	if _, err := e.Run(ctx, sp); err != nil {
		t.Fatal(err)
	}
	moved := hr()
	moved[4].JobCode = "SALES"
	moved[0].Status = sources.Active // E1 is back: its finding would resolve
	sp.Sources[0].Source = moved
	sp.DryRun, sp.AsOf = true, asOf.Add(-24*time.Hour)
	dry, err := e.Run(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	if !dry.Run.DryRun || len(dry.Resolved) != 0 {
		t.Fatalf("dry run: marked %v, resolved %d", dry.Run.DryRun, len(dry.Resolved))
	}
	if got, _ := mem(e).GetRun(ctx, dry.Run.ID); !got.DryRun {
		t.Fatal("the stored run is not marked as a dry run")
	}
	sp.DryRun, sp.AsOf = false, asOf
	real, err := e.Run(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	jobChanged := false
	for _, d := range real.Drift {
		if d.Kind == "job_changed" && d.Subject == "E5" {
			jobChanged = true
		}
	}
	if !jobChanged {
		t.Fatalf("the real run after a dry run shows no job_changed drift for E5: %+v", real.Drift)
	}
	if len(real.Resolved) != 1 {
		t.Fatalf("the real run resolved %d findings, want E1's one", len(real.Resolved))
	}
}

// disableOnly is a target that can disable and re-read but not end sessions:
// a person must do that step.
type disableOnly struct{ *targettest.Fake }

func (d disableOnly) Capabilities() []targets.Capability {
	return []targets.Capability{targets.CanGet, targets.CanDisable}
}

// Issue 10 item 4: a terminated person's manual step ("end every session at
// the identity provider") stays a finding after the automatic disable is
// verified, until a person records it as done.
func TestManualStepStaysOpenUntilAcknowledged(t *testing.T) {
	e, f := newEngine(t), fakeAccounts()
	ctx := context.Background()
	sp := spec(f, Policy{})
	sp.Targets[0].Target = disableOnly{f}
	sp.AsOf = asOf.Add(-48 * time.Hour)
	first, err := e.Run(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	if enabled(f, "A1") {
		t.Fatal("day 1: A1 not disabled")
	}
	var fp string
	for _, fd := range findKind(first.Findings, TerminatedActive) {
		if fd.AccountID == "A1" {
			fp = fd.Fingerprint
		}
	}
	open := func(res *Result) *Finding {
		for i := range res.Findings {
			if res.Findings[i].Fingerprint == fp {
				return res.Findings[i]
			}
		}
		return nil
	}
	sp.AsOf = asOf.Add(-24 * time.Hour)
	second, err := e.Run(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	got := open(second)
	if got == nil || got.Disposition != ManualRevoke || len(got.Actions) != 1 || got.Actions[0].Op != targets.CanRevokeSessions || got.Actions[0].Auto {
		t.Fatalf("day 2: the disabled account's open manual step is not a finding: %+v", got)
	}
	for _, r := range second.Resolved {
		if r.Fingerprint == fp {
			t.Fatal("day 2 resolved the finding although its manual step is open")
		}
	}
	if _, err := mem(e).AckManualStep(ctx, fp, string(targets.CanRevokeSessions), "", "it-oncall@example.com", asOf.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := mem(e).AckManualStep(ctx, fp, string(targets.CanRevokeSessions), "", "again", asOf); err == nil {
		t.Fatal("a step acknowledged twice: want an error saying it is not open")
	}
	sp.AsOf = asOf
	third, err := e.Run(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	if open(third) != nil {
		t.Fatal("day 3: the acknowledged step is still a finding")
	}
	resolved := false
	for _, r := range third.Resolved {
		resolved = resolved || r.Fingerprint == fp
	}
	if !resolved {
		t.Fatal("day 3: the finding is not resolved once its manual step was acknowledged")
	}
}
