package xlsx

import (
	"fmt"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

var asOf = time.Date(2026, 3, 15, 2, 0, 0, 0, time.UTC)

func tp(t time.Time) *time.Time { return &t }
func bp(b bool) *bool           { return &b }

// sampleResult is a hand-built run: enforce mode, findings of several kinds
// and dispositions, actions, drift, collections and exemptions (one expired).
func sampleResult() *reconcile.Result {
	pol := reconcile.DefaultPolicy()
	eff1 := asOf.Add(-40 * time.Minute)
	eff2 := asOf.Add(-3 * time.Hour)
	eff3 := asOf.Add(-50 * 24 * time.Hour)
	jane := &reconcile.PersonRef{EmployeeID: "00042", Name: "Jane Leaver", Status: sources.Terminated, JobCode: "ENG2"}
	sam := &reconcile.PersonRef{EmployeeID: "00077", Name: "Sam Suspended", Status: sources.Suspended, JobCode: "FIN1"}
	res := &reconcile.Result{
		Run: store.Run{ID: 17, AsOf: asOf, StartedAt: asOf.Add(time.Minute), FinishedAt: asOf.Add(9 * time.Minute),
			Mode: "enforce", Job: "nightly", Scope: "full", Status: reconcile.StatusGuardTripped,
			Guards: []string{"max_revocations: target crm would revoke 12 > 10"},
			Counts: map[string]int{"findings": 6, "disposition:review": 2, "disposition:manual_revoke": 1}},
		Guards:      []reconcile.Guard{{Kind: reconcile.GuardMaxRevocations, Target: "crm", Reason: "target crm would revoke 12 > 10"}},
		Policy:      pol,
		PeopleCount: 1200,
		Findings: []*reconcile.Finding{
			{Fingerprint: "aa01", Kind: reconcile.TerminatedActive, Severity: reconcile.Critical, Target: "ldap", AccountID: "uid=jane,ou=people",
				Username: "jane", EmployeeID: "00042", Person: jane, Disposition: reconcile.AutoRevoke,
				Actions: []reconcile.Step{{Op: targets.CanDisable, Auto: true}, {Op: targets.CanRevokeSessions, Auto: true}},
				Reason:  "terminated 2026-03-14 but enabled", Evidence: reconcile.Evidence{{Key: "hr_status", Value: "terminated"}, {Key: "enabled", Value: "true"}},
				FirstSeen: asOf.Add(-2 * 24 * time.Hour), EffectiveAt: &eff1, Tier: "critical",
				RevokedAt: tp(asOf.Add(-30 * time.Minute)), Elapsed: "10m0s", WithinSLA: bp(true), Outcome: reconcile.OutcomeDone, JiraKey: ""},
			{Fingerprint: "aa02", Kind: reconcile.TerminatedActive, Severity: reconcile.Critical, Target: "crm", AccountID: "u-42",
				Username: "jleaver", EmployeeID: "00042", Person: jane, Disposition: reconcile.AutoRevoke,
				Actions: []reconcile.Step{{Op: targets.CanDisable, Auto: true}},
				Reason:  "terminated but enabled", Evidence: reconcile.Evidence{{Key: "enabled", Value: "true"}},
				FirstSeen: asOf, EffectiveAt: &eff2, Tier: "standard",
				RevokedAt: tp(asOf.Add(-1 * time.Hour)), Elapsed: "2h0m0s", WithinSLA: bp(false), Outcome: reconcile.OutcomeDone},
			{Fingerprint: "aa03", Kind: reconcile.SuspendedActive, Severity: reconcile.High, Target: "legacy", AccountID: "SAM01",
				Username: "sam", EmployeeID: "00077", Person: sam, Disposition: reconcile.ManualRevoke,
				Actions: []reconcile.Step{{Op: targets.CanDisable, Manual: "lock SAM01 in the legacy console"}},
				Reason:  "suspended but enabled; legacy cannot disable", Evidence: reconcile.Evidence{{Key: "enabled", Value: "true"}},
				FirstSeen: asOf.Add(-45 * 24 * time.Hour), EffectiveAt: &eff3, Tier: "low", JiraKey: "SEC-101"},
			{Fingerprint: "aa04", Kind: reconcile.Orphaned, Severity: reconcile.Medium, Target: "crm", AccountID: "u-900",
				Username: "old.contractor", Disposition: reconcile.Review, Reason: "no HR person matches",
				Evidence: reconcile.Evidence{{Key: "email", Value: "old.contractor@example.com"}}, FirstSeen: asOf.Add(-120 * 24 * time.Hour), JiraKey: "SEC-88"},
			{Fingerprint: "aa05", Kind: reconcile.Dormant, Severity: reconcile.Low, Target: "ldap", AccountID: "uid=bob,ou=people",
				Username: "bob", EmployeeID: "00100", Disposition: reconcile.Review, Reason: "no login for 120 days",
				Evidence: reconcile.Evidence{{Key: "last_login", Value: "2025-11-15"}}, FirstSeen: asOf.Add(-10 * 24 * time.Hour)},
			{Fingerprint: "aa06", Kind: reconcile.PrivilegedUnapproved, Severity: reconcile.High, Target: "crm", AccountID: "u-7",
				Username: "svc-admin", Disposition: reconcile.Exempt, Reason: "privileged account without approval",
				Evidence: reconcile.Evidence{{Key: "groups", Value: "admins"}}, FirstSeen: asOf.Add(-5 * 24 * time.Hour),
				Exemption: &reconcile.Exemption{Target: "crm", AccountID: "u-7", Owner: "it-ops", Reason: "break-glass", Approver: "ciso"}},
		},
		Actions: []store.Action{
			{ID: 1, RunID: 17, Fingerprint: "aa01", Target: "ldap", AccountID: "uid=jane,ou=people", Op: "disable", Status: "done", Verified: true,
				Attempts: 1, RequestedAt: asOf.Add(-31 * time.Minute), FinishedAt: asOf.Add(-30 * time.Minute)},
			{ID: 2, RunID: 17, Fingerprint: "aa01", Target: "ldap", AccountID: "uid=jane,ou=people", Op: "revoke_sessions", Status: "done", Verified: true,
				Attempts: 2, RequestedAt: asOf.Add(-31 * time.Minute), FinishedAt: asOf.Add(-30 * time.Minute)},
			{ID: 3, RunID: 17, Fingerprint: "aa02", Target: "crm", AccountID: "u-42", Op: "remove_from_group", Arg: "sales", Status: "failed",
				Attempts: 5, Error: "crm: 503 service unavailable", RequestedAt: asOf.Add(-61 * time.Minute)},
		},
		Drift: []store.DriftRow{
			{Side: "hr", Subject: "00042", Kind: "status_changed", Detail: "active -> terminated"},
			{Side: "target", Target: "ldap", Subject: "uid=new,ou=people", Kind: "created"},
			{Side: "target", Target: "crm", Subject: "u-42", Kind: "groups_added", Detail: "sales"},
		},
		Collections: []store.Collection{
			{RunID: 17, Side: "source", Name: "hr", Type: "csv", Status: "ok", Count: 1200, Duration: 1500 * time.Millisecond},
			{RunID: 17, Side: "target", Name: "crm", Type: "sql", Tier: "standard", Capabilities: "get,disable,remove_from_group", Status: "ok", Count: 950, Enabled: 900, Duration: 3 * time.Second},
			{RunID: 17, Side: "target", Name: "ldap", Type: "ldap", Tier: "critical", Capabilities: "get,disable,revoke_sessions", Status: "ok", Count: 1300, Enabled: 1250, DurationMS: 4200},
			{RunID: 17, Side: "target", Name: "legacy", Type: "csv", Tier: "low", Status: "partial", Error: "line 88: bad row", Count: 40, Enabled: 40},
		},
		Exemptions: []reconcile.Exemption{
			{Target: "crm", AccountID: "u-7", Owner: "it-ops", Reason: "break-glass", Approver: "ciso", Expires: reconcile.Date{Time: time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)}},
			{Target: "ldap", AccountID: "uid=kiosk", Owner: "facilities", Reason: "lobby kiosk", Approver: "cio", Expires: reconcile.Date{Time: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}},
		},
	}
	return res
}

func sampleHolds() []store.Hold {
	return []store.Hold{
		{ID: 1, Target: "crm", AccountID: "u-42", Reason: "legal hold", Until: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), CreatedBy: "alice", CreatedAt: asOf.Add(-24 * time.Hour)},
	}
}

func sampleTrend() []store.Run {
	var runs []store.Run
	for i := range 5 {
		id := int64(16 - i)
		runs = append(runs, store.Run{ID: id, AsOf: asOf.Add(-time.Duration(i+1) * 24 * time.Hour), Status: "completed",
			Counts: map[string]int{"findings": 10 + i, "disposition:review": 2 + i, "disposition:manual_revoke": 1}})
	}
	return runs
}

// bigResult is a report-mode run with n findings (for the benchmark).
func bigResult(n int) *reconcile.Result {
	res := sampleResult()
	res.Run.Mode = "report"
	kinds := reconcile.Kinds
	sevs := []reconcile.Severity{reconcile.Critical, reconcile.High, reconcile.Medium, reconcile.Low}
	disp := []reconcile.Disposition{reconcile.AutoRevoke, reconcile.ManualRevoke, reconcile.Review, reconcile.Exempt}
	res.Findings = make([]*reconcile.Finding, n)
	res.Drift = make([]store.DriftRow, n/2)
	for i := range n {
		f := &reconcile.Finding{}
		res.Findings[i] = f
		f.Fingerprint = fmt.Sprintf("%016x", i)
		f.Kind = kinds[i%len(kinds)]
		f.Severity = sevs[i%4]
		f.Disposition = disp[i%4]
		f.Target = fmt.Sprintf("target%d", i%7)
		f.AccountID = fmt.Sprintf("acct-%07d", i)
		f.Username = fmt.Sprintf("user%d", i)
		f.EmployeeID = fmt.Sprintf("%06d", i)
		f.Person = &reconcile.PersonRef{EmployeeID: f.EmployeeID, Name: fmt.Sprintf("Person %d", i), Status: sources.Terminated, JobCode: "ENG"}
		f.Reason = "terminated in HR but the account is enabled"
		f.Evidence = reconcile.Evidence{{Key: "enabled", Value: "true"}, {Key: "hr_status", Value: "terminated"}, {Key: "last_login", Value: "2026-01-01"}}
		f.FirstSeen = asOf.Add(-time.Duration(i%200) * 24 * time.Hour)
		if f.Disposition == reconcile.AutoRevoke {
			f.Outcome = reconcile.OutcomePlanned
			f.Actions = []reconcile.Step{{Op: targets.CanDisable, Auto: true}}
		}
		if f.Kind == reconcile.TerminatedActive {
			f.EffectiveAt = tp(asOf.Add(-time.Duration(i%48) * time.Hour))
		}
		res.Drift[i/2] = store.DriftRow{Side: "target", Target: f.Target, Subject: f.AccountID, Kind: "created"}
	}
	return res
}
