package xlsx

import (
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
)

// What is open about a leaver's account not revoked is worded from its
// latest finding, when the row is written: each state of the finding has
// its words, a person's steps in the finding's words (their op when it
// has none), and a later finding's state replaces an earlier one's.
func TestLeaverAccountOpen(t *testing.T) {
	asOf := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	ex := &reconcile.Exemption{Target: "crm", AccountID: "u-1", Owner: "it-ops", Reason: "break-glass", Approver: "ciso",
		Expires: reconcile.Date{Time: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)}}
	disable := reconcile.Step{Op: "disable", Manual: "Disable account u-1 on crm"}
	sessions := reconcile.Step{Op: "revoke_sessions"} // no words of its own
	auto := reconcile.Step{Op: "disable", Auto: true}
	for _, c := range []struct {
		name string
		f    reconcile.Finding
		want string
	}{
		{"exempt", reconcile.Finding{Disposition: reconcile.Exempt, Exemption: ex, Actions: []reconcile.Step{disable}},
			"exempt until 2026-12-31: break-glass (owner it-ops, approved by ciso)"},
		{"exempt without its exemption", reconcile.Finding{Disposition: reconcile.Exempt}, "exempt"},
		{"failed", reconcile.Finding{Disposition: reconcile.AutoRevoke, Outcome: reconcile.OutcomeFailed, Actions: []reconcile.Step{auto}},
			"revocation failed; retried next run"},
		{"blocked", reconcile.Finding{Disposition: reconcile.AutoRevoke, Outcome: reconcile.OutcomeBlocked, Actions: []reconcile.Step{auto, disable}},
			"blocked by a guard or hold"},
		{"a person's steps", reconcile.Finding{Disposition: reconcile.ManualRevoke, Actions: []reconcile.Step{auto, disable, sessions}},
			"manual step open: Disable account u-1 on crm; revoke_sessions"},
		{"planned", reconcile.Finding{Disposition: reconcile.AutoRevoke, Outcome: reconcile.OutcomePlanned, Actions: []reconcile.Step{auto}},
			"planned (report mode)"},
		{"nothing planned", reconcile.Finding{Disposition: reconcile.AutoRevoke, Actions: []reconcile.Step{auto}}, "open"},
	} {
		s := newLeaverSet(&reconcile.Policy{})
		first := reconcile.Finding{Kind: reconcile.TerminatedActive, Target: "crm", AccountID: "u-1", EmployeeID: "E1",
			Disposition: reconcile.ManualRevoke, Outcome: reconcile.OutcomeFailed, Actions: []reconcile.Step{disable}}
		s.add(&first, asOf.Add(-24*time.Hour))
		f := c.f
		f.Kind, f.Target, f.AccountID, f.EmployeeID = reconcile.TerminatedActive, "crm", "u-1", "E1"
		s.add(&f, asOf)
		a := s.byAcct[[2]string{"crm", "u-1"}]
		if got := a.open(); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
