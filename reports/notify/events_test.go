package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

func byType(evs []Event) map[EventType]Event {
	m := map[EventType]Event{}
	for _, e := range evs {
		m[e.Type] = e
	}
	return m
}

func TestRevocationsDigestIsOnePerRunGroupedByPerson(t *testing.T) {
	res := result(42, reconcile.StatusCompleted,
		revoked(finding("ldap", "jdoe", "E1001", "Jane Doe", reconcile.AutoRevoke, ""), 10*time.Minute),
		revoked(finding("slack", "U0JDOE", "E1001", "Jane Doe", reconcile.AutoRevoke, ""), 12*time.Minute),
		revoked(finding("ldap", "bsmith", "E1002", "Bob Smith", reconcile.AutoRevoke, ""), 10*time.Minute),
		finding("github", "bsmith-gh", "E1002", "Bob Smith", reconcile.AutoRevoke, reconcile.OutcomeFailed),
		finding("sql", "cwu", "E1003", "Carol Wu", reconcile.ManualRevoke, ""),      // a person's job: not in the digest
		finding("sql", "dlee", "E1004", "Dan Lee", reconcile.AutoRevoke, "planned"), // report mode: nothing done
	)
	evs := deriveEvents(res, "https://ar.example.com/runs/{run}/evidence", 10)
	got := byType(evs)
	ev, ok := got[EventRevocations]
	if !ok {
		t.Fatalf("no revocations event in %+v", evs)
	}
	n := 0
	for _, e := range evs {
		if e.Type == EventRevocations {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d revocation events, want one digest", n)
	}
	if ev.Key != "run-42/revocations" || ev.URL != "https://ar.example.com/runs/42/evidence" || ev.RunID != 42 {
		t.Errorf("key/url/run = %q %q %d", ev.Key, ev.URL, ev.RunID)
	}
	if ev.Severity != reconcile.High {
		t.Errorf("severity %s with a failed revocation, want high", ev.Severity)
	}
	wantTitle := "accessrecon run 42 revoked access of 2 people (3 accounts); 1 revocations FAILED and need a person"
	if ev.Title != wantTitle {
		t.Errorf("title\n got %q\nwant %q", ev.Title, wantTitle)
	}
	want := []string{
		"Bob Smith (E1002): ldap bsmith, github bsmith-gh (FAILED)",
		"Jane Doe (E1001): ldap jdoe, slack U0JDOE",
	}
	if strings.Join(ev.Lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines\n got %q\nwant %q", ev.Lines, want)
	}
	if len(ev.Subjects) != 4 || ev.Subjects[0].Name != "Bob Smith" {
		t.Errorf("subjects %+v", ev.Subjects)
	}

	// Without failures it is low; nothing done, no digest.
	res = result(43, reconcile.StatusCompleted, revoked(finding("ldap", "jdoe", "E1001", "Jane Doe", reconcile.AutoRevoke, ""), time.Minute))
	if ev := byType(deriveEvents(res, "", 10))[EventRevocations]; ev.Severity != reconcile.Low || ev.URL != "" {
		t.Errorf("clean digest: %+v", ev)
	}
	res = result(44, reconcile.StatusCompleted, finding("sql", "cwu", "E1003", "Carol Wu", reconcile.ManualRevoke, ""))
	if _, ok := byType(deriveEvents(res, "", 10))[EventRevocations]; ok {
		t.Error("a digest for a run that revoked nothing")
	}
}

func TestDigestCountsWhatItLeavesOut(t *testing.T) {
	var fs []reconcile.Finding
	for i := range 15 {
		id := string(rune('a' + i))
		fs = append(fs, revoked(finding("ldap", "u"+id, "E"+id, "Person "+id, reconcile.AutoRevoke, ""), time.Minute))
	}
	ev := byType(deriveEvents(result(7, reconcile.StatusCompleted, fs...), "", 4))[EventRevocations]
	if len(ev.Lines) != 4 || ev.More != 11 {
		t.Fatalf("lines %d more %d, want 4 and 11", len(ev.Lines), ev.More)
	}
	if !strings.Contains(SlackText(ev), "…and 11 more") || !strings.Contains(EmailBody(ev), "…and 11 more") {
		t.Error("the count of what was left out is not in the messages")
	}
}

func TestSLABreaches(t *testing.T) {
	late := revoked(finding("ldap", "late", "E1", "Late Revoked", reconcile.AutoRevoke, ""), 90*time.Minute)
	onTime := revoked(finding("ldap", "ontime", "E2", "On Time", reconcile.AutoRevoke, ""), 20*time.Minute)
	openLate := finding("sql", "open", "E3", "Still Open", reconcile.ManualRevoke, "")
	eff := asOf.Add(-5 * time.Hour)
	openLate.EffectiveAt = &eff
	openFresh := finding("sql", "fresh", "E4", "Just Left", reconcile.ManualRevoke, "") // 30 min of 1h
	exempt := openLate
	exempt.Username, exempt.Disposition = "exempt", reconcile.Exempt
	critical := finding("entra", "crit", "E5", "Critical Tier", reconcile.ManualRevoke, "") // 30 min of 15 min
	critical.Tier = "critical"
	res := result(9, reconcile.StatusCompleted, late, onTime, openLate, openFresh, exempt, critical)

	br := SLABreaches(res)
	var got []string
	for _, b := range br {
		got = append(got, b.Finding.Username)
	}
	if strings.Join(got, ",") != "late,open,crit" {
		t.Fatalf("breaches %v, want late,open,crit", got)
	}
	if br[0].Open || br[0].Elapsed != 90*time.Minute || br[0].Allowed != time.Hour {
		t.Errorf("late: %+v", br[0])
	}
	if !br[1].Open || br[1].Elapsed != 5*time.Hour {
		t.Errorf("open: %+v", br[1])
	}
	ev := byType(deriveEvents(res, "", 10))[EventSLABreach]
	if ev.Severity != reconcile.Critical {
		t.Errorf("severity %s with a critical-tier breach, want critical", ev.Severity)
	}
	if ev.Title != "accessrecon run 9: 3 revocations past their SLA (2 still open)" {
		t.Errorf("title %q", ev.Title)
	}
	if ev.Lines[1] != "Still Open (E3): sql open, terminated_active, still enabled after 5h0m0s (tier standard, SLA 1h0m0s)" {
		t.Errorf("line %q", ev.Lines[1])
	}
}

func TestGuardAndRunFailedEvents(t *testing.T) {
	res := result(11, reconcile.StatusGuardTripped)
	res.Run.Guards = []string{"hr_shrink: HR has 50 people, the last good run had 100 (-50.0%, limit 20%): enforcement stopped"}
	evs := byType(deriveEvents(res, "https://ar.example.com/runs/", 10))
	g, ok := evs[EventGuardTripped]
	if !ok || g.Severity != reconcile.Critical || len(g.Lines) != 1 || !strings.HasPrefix(g.Lines[0], "hr_shrink:") || g.URL != "https://ar.example.com/runs/11" {
		t.Errorf("guard event %+v", g)
	}
	if _, ok := evs[EventRunFailed]; ok {
		t.Error("a guard-tripped run is not a failed run")
	}

	res = result(12, reconcile.StatusPartial)
	res.Collections = []store.Collection{{Side: "target", Name: "okta", Status: "partial", Count: 300, Error: "okta: GET /api/v1/users: HTTP 503"}, {Side: "target", Name: "ldap", Status: "ok"}}
	f := byType(deriveEvents(res, "", 10))[EventRunFailed]
	if f.Severity != reconcile.High || f.Title != "accessrecon run 12 partial (job nightly)" ||
		len(f.Lines) != 1 || f.Lines[0] != "target okta: partial after 300 records: okta: GET /api/v1/users: HTTP 503" {
		t.Errorf("partial event %+v", f)
	}
	res = result(13, reconcile.StatusFailed)
	res.Run.Error = "source workday: HTTP 401"
	f = byType(deriveEvents(res, "", 10))[EventRunFailed]
	if f.Severity != reconcile.Critical || len(f.Lines) != 1 || f.Lines[0] != "source workday: HTTP 401" {
		t.Errorf("failed event %+v", f)
	}
	if evs := deriveEvents(result(14, reconcile.StatusCompleted), "", 10); len(evs) != 0 {
		t.Errorf("a quiet completed run yields %+v", evs)
	}
}

func TestDrillEvent(t *testing.T) {
	d := DrillResult{ID: "7", Scenario: "terminate", By: "Nora Admin", RunID: 50, FinishedAt: asOf, Targets: []DrillTarget{
		{Target: "ldap", Tier: "critical", Canary: "canary1", Elapsed: 40 * time.Second, SLA: 15 * time.Minute, Passed: true, Restored: true},
		{Target: "sql", Tier: "standard", Canary: "canary1", Elapsed: 0, SLA: time.Hour, Passed: false, Restored: false, Error: "disable: HTTP 429"},
	}}
	if d.Passed() {
		t.Fatal("a drill with a failed target passed")
	}
	ev := drillEvent(d, "https://ar.example.com/runs/", 10)
	if ev.Type != EventDrill || ev.Severity != reconcile.High || ev.Key != "drill-7" || ev.URL != "https://ar.example.com/runs/50" {
		t.Errorf("drill event %+v", ev)
	}
	if ev.Title != "accessrecon terminate drill FAILED: 1 of 2 targets within SLA (run by Nora Admin); 1 canaries not restored" {
		t.Errorf("title %q", ev.Title)
	}
	if ev.Lines[1] != "sql canary1 (tier standard): not revoked, SLA 1h0m0s: FAIL, not restored: disable: HTTP 429" {
		t.Errorf("line %q", ev.Lines[1])
	}
	d.Targets = d.Targets[:1]
	if ev := drillEvent(d, "", 10); !d.Passed() || ev.Severity != reconcile.Low || !strings.Contains(ev.Title, "PASSED: 1 of 1") {
		t.Errorf("passing drill %+v", ev)
	}
	if (DrillResult{}).Passed() {
		t.Error("a drill of no targets passed")
	}
}

func TestSinkFilters(t *testing.T) {
	s := Sink{Events: []EventType{EventGuardTripped, EventSLABreach}, MinSeverity: reconcile.High}
	cases := []struct {
		ev   Event
		want bool
	}{
		{Event{Type: EventGuardTripped, Severity: reconcile.Critical}, true},
		{Event{Type: EventSLABreach, Severity: reconcile.High}, true},
		{Event{Type: EventSLABreach, Severity: reconcile.Medium}, false},
		{Event{Type: EventRevocations, Severity: reconcile.Critical}, false},
	}
	for _, c := range cases {
		if got := s.Wants(c.ev); got != c.want {
			t.Errorf("Wants(%s %s) = %v", c.ev.Type, c.ev.Severity, got)
		}
	}
	all := Sink{}
	if !all.Wants(Event{Type: EventDrill, Severity: reconcile.Low}) {
		t.Error("a sink without filters refuses a low drill event")
	}
}
