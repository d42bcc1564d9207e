package reconcile

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

// directoryAccounts are accounts whose IDs are objectGUIDs, as on AD: people
// write usernames, emails or DNs.
func directoryAccounts() *targettest.Fake {
	var as []targets.Account
	for i := 1; i <= 10; i++ {
		as = append(as, targets.Account{ID: "5f1c0a0" + itoa(i) + "-0000-4000-8000-000000000000", Username: "user" + itoa(i),
			Email: "user" + itoa(i) + "@example.com", DN: "CN=User " + itoa(i) + ",OU=Staff,DC=example,DC=com", EmployeeID: "E" + itoa(i), Enabled: true})
	}
	return targettest.NewFake(as...)
}

func exemptionFor(ref string) Exemption {
	return Exemption{Target: "app", AccountID: ref, Owner: "o", Reason: "r", Approver: "ap", Expires: Date{asOf.Add(30 * 24 * time.Hour)}}
}

// Issue 10 item 1: an exemption written the way an administrator writes it
// (username, email, DN, in any case) protects the account in enforce mode.
func TestExemptionByWhatPeopleWrite(t *testing.T) {
	for _, ref := range []string{"user1", "USER1@example.com", "cn=user 1,ou=staff,dc=example,dc=com", "5F1C0A01-0000-4000-8000-000000000000", " user1 "} {
		t.Run(ref, func(t *testing.T) {
			e, f := newEngine(t), directoryAccounts()
			res, err := e.Run(context.Background(), spec(f, Policy{Exemptions: []Exemption{exemptionFor(ref)}}))
			if err != nil {
				t.Fatal(err)
			}
			a, _ := f.Get("5f1c0a01-0000-4000-8000-000000000000")
			if !a.Enabled {
				t.Fatalf("exempted account disabled (exemption %q)", ref)
			}
			if b, _ := f.Get("5f1c0a02-0000-4000-8000-000000000000"); b.Enabled {
				t.Fatal("E2, terminated and not exempted, is still enabled")
			}
			ex := findKind(res.Findings, TerminatedActive)
			if len(ex) != 2 || (ex[0].Disposition != Exempt && ex[1].Disposition != Exempt) {
				t.Fatalf("findings %+v", ex)
			}
		})
	}
}

// A reference that names no account, or several, stops the run before it
// acts: nothing is disabled, and the error names the config key.
func TestReferenceMatchingNothingOrSeveralStopsTheRun(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Policy
		mod  func(f *targettest.Fake)
		want string
	}{
		{name: "exemption matches nothing", p: Policy{Exemptions: []Exemption{exemptionFor("noura.aziz")}},
			want: `policy.exemptions[0].account_id: "noura.aziz" names no account on target app`},
		{name: "exemption written elsewhere matches nothing", p: Policy{Exemptions: []Exemption{func() Exemption {
			e := exemptionFor("canary9")
			e.Key = "drills.canaries[0].accounts.app"
			return e
		}()}},
			want: `drills.canaries[0].accounts.app: "canary9" names no account on target app`},
		{name: "approval matches nothing", p: Policy{PrivilegedApproved: []Approval{{Target: "app", AccountID: "ghost", Approver: "ciso"}}},
			want: `policy.privileged_approved[0].account_id: "ghost" names no account`},
		{name: "exemption matches two", p: Policy{Exemptions: []Exemption{exemptionFor("shared@example.com")}},
			mod: func(f *targettest.Fake) {
				for _, id := range []string{"5f1c0a03-0000-4000-8000-000000000000", "5f1c0a04-0000-4000-8000-000000000000"} {
					a, _ := f.Get(id)
					a.Email = "shared@example.com"
					f.Put(a)
				}
			},
			want: `"shared@example.com" names 2 accounts on target app`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, f := newEngine(t), directoryAccounts()
			if tc.mod != nil {
				tc.mod(f)
			}
			res, err := e.Run(context.Background(), spec(f, tc.p))
			var re *RefError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want a RefError naming %s", err, tc.want)
			}
			if res.Run.Status != StatusFailed || len(res.Actions) != 0 {
				t.Fatalf("status %s, %d actions", res.Run.Status, len(res.Actions))
			}
			for _, id := range []string{"5f1c0a01-0000-4000-8000-000000000000", "5f1c0a02-0000-4000-8000-000000000000"} {
				if a, _ := f.Get(id); !a.Enabled {
					t.Fatalf("%s disabled by a run whose references did not resolve", id)
				}
			}
		})
	}
}

// A privileged approval by email covers the account.
func TestApprovalByEmail(t *testing.T) {
	e, f := newEngine(t), directoryAccounts()
	a, _ := f.Get("5f1c0a05-0000-4000-8000-000000000000")
	a.Privileged = true
	f.Put(a)
	sp := spec(f, Policy{PrivilegedApproved: []Approval{{Target: "app", AccountID: "User5@Example.com", Approver: "ciso", Reason: "domain admin"}}})
	sp.Mode = Report
	res, err := e.Run(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(findKind(res.Findings, PrivilegedUnapproved)); n != 0 {
		t.Fatalf("%d privileged_unapproved findings for an account approved by email", n)
	}
}

// An exemption of an account that may be absent (a drill canary's) names
// none: a warning, not a stop; naming several is still an error.
func TestIfPresentReference(t *testing.T) {
	e := exemptionFor("canary1")
	e.IfPresent, e.Key = true, "drills.canaries[0].accounts.app"
	rc := newRefCheck(&Policy{Exemptions: []Exemption{e}}, "app")
	rc.see(targets.Account{ID: "A1", Username: "someone"})
	if err := rc.err(); err != nil {
		t.Fatalf("absent canary account: %v, want no error", err)
	}
	if got := rc.absent(); len(got) != 1 || !strings.Contains(got[0], `drills.canaries[0].accounts.app: "canary1" names no account`) {
		t.Fatalf("absent = %q", got)
	}
	rc.see(targets.Account{ID: "A2", Username: "canary1"})
	rc.see(targets.Account{ID: "A3", Email: "canary1"})
	if err := rc.err(); err == nil || !strings.Contains(err.Error(), "names 2 accounts") {
		t.Fatalf("two accounts named: %v, want an error", err)
	}
	if got := rc.absent(); len(got) != 0 {
		t.Fatalf("absent = %q after it was seen", got)
	}
}
