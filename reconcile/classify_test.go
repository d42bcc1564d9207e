package reconcile

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

var asOf = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func daysAgo(n int) time.Time { return asOf.Add(-time.Duration(n) * 24 * time.Hour) }

func validPolicy(t testing.TB, p Policy) *Policy {
	t.Helper()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return &p
}

func allCaps() targets.Capabilities { return targets.Resolve(targettest.NewFake()) }

type kd struct {
	Kind        Kind
	Disposition Disposition
}

func kinds(fs []Finding) []kd {
	out := make([]kd, len(fs))
	for i, f := range fs {
		out[i] = kd{f.Kind, f.Disposition}
	}
	slices.SortFunc(out, func(a, b kd) int { return strings.Compare(string(a.Kind), string(b.Kind)) })
	return out
}

// resKinds is kinds of a run's findings.
func resKinds(fs []*Finding) []kd {
	vs := make([]Finding, len(fs))
	for i, f := range fs {
		vs[i] = *f
	}
	return kinds(vs)
}

func TestClassify(t *testing.T) {
	active := func() *PersonRow {
		return &PersonRow{Person: sources.Person{EmployeeID: "E1", Email: "e1@x", Status: sources.Active, JobCode: "ENG"}}
	}
	with := func(f func(p *PersonRow)) *PersonRow { p := active(); f(p); return p }
	strong := func(p *PersonRow) Match { return Match{Person: p, Via: AttrEmployeeID, Strong: true} }
	acct := func() targets.Account {
		return targets.Account{ID: "A1", Username: "u1", EmployeeID: "E1", Enabled: true, LoginTracked: true, LastLogin: daysAgo(1), Created: daysAgo(400)}
	}
	acctWith := func(f func(a *targets.Account)) targets.Account { a := acct(); f(&a); return a }
	roles := map[string]map[string][]string{
		"ENG":   {"app": {"eng", "all"}},
		"SALES": {"app": {"sales", "all"}},
	}
	exp := func(days int) Exemption {
		return Exemption{Target: "app", AccountID: "A1", Owner: "o", Reason: "r", Approver: "ap", Expires: Date{asOf.Add(time.Duration(days) * 24 * time.Hour)}}
	}
	fake := targettest.NewFake()
	tests := []struct {
		name   string
		policy Policy
		caps   *targets.Capabilities
		a      targets.Account
		m      Match
		s      seen
		want   []kd
		check  func(t *testing.T, fs []Finding)
	}{
		{name: "active ok", a: acct(), m: strong(active()), want: []kd{}},
		{name: "terminated status", a: acct(), m: strong(with(func(p *PersonRow) { p.Status = sources.Terminated })),
			want: []kd{{TerminatedActive, AutoRevoke}}},
		{name: "past termination date, status active", a: acct(), m: strong(with(func(p *PersonRow) { p.TerminationDate = daysAgo(2) })),
			want: []kd{{TerminatedActive, AutoRevoke}}},
		{name: "future termination date is not a finding", a: acct(), m: strong(with(func(p *PersonRow) {
			p.TerminationDate = asOf.Add(48 * time.Hour)
		})), want: []kd{}},
		{name: "future termination, status terminated is not a finding", a: acct(), m: strong(with(func(p *PersonRow) {
			p.Status, p.TerminationDate = sources.Terminated, asOf.Add(48*time.Hour)
		})), want: []kd{}},
		{name: "suspended", a: acct(), m: strong(with(func(p *PersonRow) { p.Status = sources.Suspended })),
			want: []kd{{SuspendedActive, AutoRevoke}}},
		{name: "leave default", a: acct(), m: strong(with(func(p *PersonRow) { p.Status = sources.Leave })), want: []kd{}},
		{name: "leave is finding", policy: Policy{LeaveIsFinding: true}, a: acct(), m: strong(with(func(p *PersonRow) { p.Status = sources.Leave })),
			want: []kd{{SuspendedActive, AutoRevoke}}},
		{name: "orphaned", a: acct(), m: Match{}, want: []kd{{Orphaned, Review}}},
		{name: "disabled orphan is fine", a: acctWith(func(a *targets.Account) { a.Enabled = false }), m: Match{}, want: []kd{}},
		{name: "ambiguous", a: acct(), m: Match{Via: AttrEmail, Candidates: []string{"E1", "E2"}}, want: []kd{{Ambiguous, Review}}},
		{name: "conflict", a: acct(), m: Match{Person: active(), Via: AttrEmail, Conflict: "x"}, want: []kd{{Ambiguous, Review}}},
		{name: "excess without move -> review", policy: Policy{Roles: roles}, a: acctWith(func(a *targets.Account) { a.Groups = targets.NamedGroups("eng", "admin") }),
			m: strong(active()), want: []kd{{ExcessAccess, Review}}},
		{name: "mover -> auto", policy: Policy{Roles: roles}, a: acctWith(func(a *targets.Account) { a.Groups = targets.NamedGroups("eng", "sales", "all") }),
			m: strong(with(func(p *PersonRow) { p.PrevJobCode = "SALES" })), want: []kd{{ExcessAccess, AutoRevoke}}},
		{name: "mover, remover missing -> manual", policy: Policy{Roles: roles}, caps: &targets.Capabilities{Disabler: fake},
			a: acctWith(func(a *targets.Account) { a.Groups = targets.NamedGroups("eng", "sales") }),
			m: strong(with(func(p *PersonRow) { p.PrevJobCode = "SALES" })), want: []kd{{ExcessAccess, ManualRevoke}}},
		{name: "mover, weak match -> review", policy: Policy{Roles: roles}, a: acctWith(func(a *targets.Account) { a.Groups = targets.NamedGroups("eng", "sales") }),
			m: Match{Person: with(func(p *PersonRow) { p.PrevJobCode = "SALES" }), Via: AttrEmail}, want: []kd{{ExcessAccess, Review}}},
		// Issue 10: LDAP groups are DNs; a baseline names them as people do
		// (CN), in any case, and a mover's removal carries the DN.
		{name: "directory groups: baseline by name, no excess", policy: Policy{Roles: roles}, a: acctWith(func(a *targets.Account) {
			a.Groups = []targets.Group{{ID: "CN=Eng,OU=Groups,DC=x", Name: "ENG"}, {ID: "CN=All,OU=Groups,DC=x", Name: "all"}}
		}), m: strong(active()), want: []kd{}},
		{name: "directory groups: mover by name", policy: Policy{Roles: roles}, a: acctWith(func(a *targets.Account) {
			a.Groups = []targets.Group{{ID: "CN=Eng,OU=Groups,DC=x", Name: "eng"}, {ID: "CN=Sales,OU=Groups,DC=x", Name: "Sales"}}
		}), m: strong(with(func(p *PersonRow) { p.PrevJobCode = "SALES" })), want: []kd{{ExcessAccess, AutoRevoke}},
			check: func(t *testing.T, fs []Finding) {
				if len(fs[0].Actions) != 1 || fs[0].Actions[0].Arg != "CN=Sales,OU=Groups,DC=x" || fs[0].Actions[0].Name != "Sales" ||
					!strings.Contains(fs[0].Reason, "Sales") || strings.Contains(fs[0].Reason, "CN=") {
					t.Fatalf("mover step %+v, reason %q", fs[0].Actions, fs[0].Reason)
				}
			}},
		{name: "privileged unapproved", a: acctWith(func(a *targets.Account) { a.Privileged = true }), m: strong(active()),
			want: []kd{{PrivilegedUnapproved, Review}}},
		{name: "privileged approved", policy: Policy{PrivilegedApproved: []Approval{{Target: "app", AccountID: "A1"}}},
			a: acctWith(func(a *targets.Account) { a.Privileged = true }), m: strong(active()), want: []kd{}},
		{name: "dormant", a: acctWith(func(a *targets.Account) { a.LastLogin = daysAgo(91) }), m: strong(active()), want: []kd{{Dormant, Review}}},
		{name: "not yet dormant", a: acctWith(func(a *targets.Account) { a.LastLogin = daysAgo(89) }), m: strong(active()), want: []kd{}},
		{name: "never logged in, old", a: acctWith(func(a *targets.Account) { a.LastLogin = time.Time{} }), m: strong(active()), want: []kd{{Dormant, Review}}},
		{name: "never logged in, new", a: acctWith(func(a *targets.Account) { a.LastLogin, a.Created = time.Time{}, daysAgo(3) }), m: strong(active()), want: []kd{}},
		{name: "login not tracked", a: acctWith(func(a *targets.Account) { a.LastLogin, a.LoginTracked = time.Time{}, false }), m: strong(active()), want: []kd{}},
		{name: "stale credential of departed on disabled account",
			a: acctWith(func(a *targets.Account) {
				a.Enabled = false
				a.Credentials = []targets.Credential{{ID: "k1", Active: true, LastUsed: daysAgo(1)}, {ID: "k2", Active: false}}
			}),
			m: strong(with(func(p *PersonRow) { p.Status = sources.Terminated })), want: []kd{{StaleCredential, AutoRevoke}}},
		{name: "recent credential of a suspended person on a disabled account: left to its lifecycle",
			a: acctWith(func(a *targets.Account) {
				a.Enabled = false
				a.Credentials = []targets.Credential{{ID: "k1", Active: true, LastUsed: daysAgo(1)}}
			}),
			m: strong(with(func(p *PersonRow) { p.Status = sources.Suspended })), want: []kd{}},
		{name: "idle credential", a: acctWith(func(a *targets.Account) {
			a.Credentials = []targets.Credential{{ID: "k1", Active: true, LastUsed: daysAgo(181)}, {ID: "k2", Active: true, LastUsed: daysAgo(2)}}
		}), m: strong(active()), want: []kd{{StaleCredential, Review}}},
		{name: "reenabled (prev disabled)", a: acct(), m: strong(active()), s: seen{prevDisabled: true}, want: []kd{{Reenabled, Review}}},
		{name: "reenabled (revoked by us), departed", a: acct(), m: strong(with(func(p *PersonRow) { p.Status = sources.Terminated })),
			s: seen{revokedByUs: true}, want: []kd{{Reenabled, AutoRevoke}, {TerminatedActive, AutoRevoke}}},
		{name: "valid exemption", policy: Policy{Exemptions: []Exemption{exp(10)}}, a: acct(),
			m: strong(with(func(p *PersonRow) { p.Status = sources.Terminated })), want: []kd{{TerminatedActive, Exempt}}},
		{name: "expired exemption", policy: Policy{Exemptions: []Exemption{exp(-1)}}, a: acct(),
			m: strong(with(func(p *PersonRow) { p.Status = sources.Terminated })), want: []kd{{ExemptionExpired, Review}, {TerminatedActive, AutoRevoke}}},
		{name: "capability missing -> manual", caps: &targets.Capabilities{Disabler: fake}, a: acct(),
			m: strong(with(func(p *PersonRow) { p.Status = sources.Terminated })), want: []kd{{TerminatedActive, ManualRevoke}}},
		{name: "kind not in auto_revoke -> manual", policy: Policy{AutoRevoke: []Kind{ExcessAccess}}, a: acct(),
			m: strong(with(func(p *PersonRow) { p.Status = sources.Terminated })), want: []kd{{TerminatedActive, ManualRevoke}}},
		{name: "weak match -> review", a: acct(), m: Match{Person: with(func(p *PersonRow) { p.Status = sources.Terminated }), Via: AttrEmail},
			want: []kd{{TerminatedActive, Review}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			caps := allCaps()
			if tt.caps != nil {
				caps = *tt.caps
			}
			j := newJudge(asOf, validPolicy(t, tt.policy), "app", "standard", caps)
			got := j.classify(&tt.a, tt.m, tt.s)
			if !slices.Equal(kinds(got), tt.want) {
				t.Fatalf("findings = %v, want %v\n%+v", kinds(got), tt.want, got)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
			for _, f := range got {
				if f.Target != "app" || f.AccountID != tt.a.ID || f.Reason == "" {
					t.Errorf("finding lacks target/account/reason: %+v", f)
				}
				if f.Disposition == AutoRevoke && !slices.ContainsFunc(f.Actions, func(s Step) bool { return s.Auto }) {
					t.Errorf("auto_revoke without an automatic step: %+v", f)
				}
				if f.Disposition == ManualRevoke && !slices.ContainsFunc(f.Actions, func(s Step) bool { return !s.Auto && s.Manual != "" }) {
					t.Errorf("manual_revoke without a manual instruction: %+v", f)
				}
			}
		})
	}
}

func TestClassifyPlans(t *testing.T) {
	p := validPolicy(t, Policy{})
	term := &PersonRow{Person: sources.Person{EmployeeID: "E1", Status: sources.Terminated}}
	a := targets.Account{ID: "A1", Enabled: true, Credentials: []targets.Credential{{ID: "k1", Active: true}, {ID: "k0"}}}
	fs := newJudge(asOf, p, "app", "", allCaps()).classify(&a, Match{Person: term, Via: AttrEmployeeID, Strong: true}, seen{})
	if len(fs) != 1 {
		t.Fatalf("got %d findings", len(fs))
	}
	var ops []string
	for _, s := range fs[0].Actions {
		ops = append(ops, string(s.Op)+":"+s.Arg)
	}
	want := []string{"disable:", "revoke_sessions:", "revoke_credential:k1"}
	if !slices.Equal(ops, want) {
		t.Fatalf("steps = %v, want %v", ops, want)
	}
	// The mover plan removes only the old role's groups.
	p2 := validPolicy(t, Policy{Roles: map[string]map[string][]string{"ENG": {"app": {"eng"}}, "SALES": {"app": {"sales"}}}})
	mover := &PersonRow{Person: sources.Person{EmployeeID: "E1", Status: sources.Active, JobCode: "ENG"}, PrevJobCode: "SALES"}
	a2 := targets.Account{ID: "A1", Enabled: true, Groups: targets.NamedGroups("eng", "sales", "admin")}
	fs = newJudge(asOf, p2, "app", "", allCaps()).classify(&a2, Match{Person: mover, Via: AttrEmployeeID, Strong: true}, seen{})
	if len(fs) != 1 || len(fs[0].Actions) != 1 || fs[0].Actions[0].Arg != "sales" || fs[0].Disposition != AutoRevoke {
		t.Fatalf("mover finding = %+v", fs)
	}
}

// People read reports by name: every finding carries the account's username
// and display name beside its ID (issue 10.7).
func TestClassifyCarriesNames(t *testing.T) {
	p := validPolicy(t, Policy{})
	a := targets.Account{ID: "0f8fad5b-d9cb-469f-a165-70867728950e", Username: "noura.aziz", DisplayName: "Noura Aziz", Enabled: true}
	fs := newJudge(asOf, p, "ad", "", allCaps()).classify(&a, Match{}, seen{})
	if len(fs) != 1 || fs[0].Kind != Orphaned {
		t.Fatalf("findings %+v, want one orphaned", fs)
	}
	if fs[0].Username != "noura.aziz" || fs[0].DisplayName != "Noura Aziz" {
		t.Fatalf("username %q, display name %q; want noura.aziz, Noura Aziz", fs[0].Username, fs[0].DisplayName)
	}
}

// What was not seen is left out of a finding's evidence: a suspended
// person's account whose HR record has no dates, and which never logged
// in, has no empty dates in its evidence, only what is known.
func TestEvidenceLeavesOutWhatWasNotSeen(t *testing.T) {
	person := &PersonRow{Person: sources.Person{EmployeeID: "E1", Status: sources.Suspended}}
	a := targets.Account{ID: "A1", EmployeeID: "E1", Enabled: true}
	fs := newJudge(asOf, validPolicy(t, Policy{}), "app", "", allCaps()).classify(&a, Match{Person: person, Via: AttrEmployeeID, Strong: true}, seen{})
	if len(fs) != 1 || fs[0].Kind != SuspendedActive {
		t.Fatalf("findings %+v, want one suspended_active", fs)
	}
	ev := fs[0].Evidence
	for _, x := range ev {
		if x.Value == "" {
			t.Errorf("evidence %s is empty: %v", x.Key, ev)
		}
	}
	if ev.Get("hr_status") != string(sources.Suspended) || ev.Get("account_enabled") != "true" {
		t.Errorf("evidence %v, want hr_status and account_enabled", ev)
	}
}

// Dormant is an account unused for longer than policy allows (90 days by
// default): not one unused for exactly that long, and never the account of
// someone HR says is gone, which is a departure instead.
func TestDormantLimitAndDeparture(t *testing.T) {
	active := &PersonRow{Person: sources.Person{EmployeeID: "E1", Status: sources.Active}}
	gone := &PersonRow{Person: sources.Person{EmployeeID: "E1", Status: sources.Terminated}}
	limit := 90 * 24 * time.Hour
	for _, c := range []struct {
		p    *PersonRow
		idle time.Duration
		want Kind
	}{{active, limit, ""}, {active, limit + time.Second, Dormant}, {gone, 2 * limit, TerminatedActive}} {
		a := targets.Account{ID: "A1", EmployeeID: "E1", Enabled: true, LoginTracked: true, LastLogin: asOf.Add(-c.idle), Created: daysAgo(400)}
		fs := newJudge(asOf, validPolicy(t, Policy{}), "app", "", allCaps()).classify(&a, Match{Person: c.p, Via: AttrEmployeeID, Strong: true}, seen{})
		var got []Kind
		for _, f := range fs {
			got = append(got, f.Kind)
		}
		var want []Kind
		if c.want != "" {
			want = []Kind{c.want}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s, idle %v: findings %v, want %v", c.p.Status, c.idle, got, want)
		}
	}
}

// A match the account contradicts (its own employee ID names someone else)
// is never acted on, even for a departed person's account someone enabled
// again: every finding of it is for a person to review.
func TestContradictedMatchNeverActedOn(t *testing.T) {
	gone := &PersonRow{Person: sources.Person{EmployeeID: "E1", Email: "e1@x", Status: sources.Terminated, TerminationDate: daysAgo(10)}}
	a := targets.Account{ID: "A1", EmployeeID: "E9", Email: "e1@x", Enabled: true}
	m := Match{Person: gone, Via: AttrEmail, Strong: true, Conflict: "account's employee ID E9 contradicts employee E1 found by email"}
	fs := newJudge(asOf, validPolicy(t, Policy{}), "app", "", allCaps()).classify(&a, m, seen{prevDisabled: true})
	if len(fs) == 0 {
		t.Fatal("no finding")
	}
	for _, f := range fs {
		if f.Disposition != Review || slices.ContainsFunc(f.Actions, func(s Step) bool { return s.Auto }) {
			t.Errorf("%s: %s with steps %+v, want review and nothing automatic", f.Kind, f.Disposition, f.Actions)
		}
	}
}

// TestDormantFindingSameEveryDay: a dormant account unchanged from one day to
// the next gives the same finding (reason and evidence name dates, not day
// counts), so the store keeps one body for it and Jira is not commented.
func TestDormantFindingSameEveryDay(t *testing.T) {
	person := &PersonRow{Person: sources.Person{EmployeeID: "E1", Status: sources.Active}}
	for _, a := range []targets.Account{
		{ID: "A1", EmployeeID: "E1", Enabled: true, LoginTracked: true, LastLogin: daysAgo(120), Created: daysAgo(400)},
		{ID: "A2", EmployeeID: "E1", Enabled: true, LoginTracked: true, Created: daysAgo(200)},
	} {
		var got [2]Finding
		for d := range got {
			j := newJudge(asOf.AddDate(0, 0, d), validPolicy(t, Policy{}), "app", "standard", allCaps())
			fs := j.classify(&a, Match{Person: person, Via: AttrEmployeeID, Strong: true}, seen{})
			if len(fs) != 1 || fs[0].Kind != Dormant {
				t.Fatalf("day %d: findings %+v, want one dormant", d, fs)
			}
			got[d] = fs[0]
		}
		if got[0].Reason != got[1].Reason || !maps.Equal(got[0].Evidence.Map(), got[1].Evidence.Map()) {
			t.Errorf("the dormant finding changed overnight: %q %v, then %q %v", got[0].Reason, got[0].Evidence, got[1].Reason, got[1].Evidence)
		}
		if !strings.Contains(got[0].Reason, "limit 90 days") || !strings.Contains(got[0].Reason, dayIn(asOf.AddDate(0, 0, -120), time.UTC)[:4]) {
			t.Errorf("reason %q: want the date and the limit", got[0].Reason)
		}
	}
}

// One judge's dormant reasons, made once per day, each name the account's
// own day in the organisation's zone (two instants of one UTC date fall on
// two days in Riyadh) and say whether the account never logged in.
func TestDormantReasonsByDay(t *testing.T) {
	riyadh := time.FixedZone("AST", 3*3600)
	j := newJudge(asOf, validPolicy(t, Policy{}), "app", "standard", allCaps())
	j.loc = riyadh
	person := &PersonRow{Person: sources.Person{EmployeeID: "E1", Status: sources.Active}}
	early, late := time.Date(2026, 6, 25, 4, 0, 0, 0, time.UTC), time.Date(2026, 6, 25, 22, 30, 0, 0, time.UTC)
	for i, c := range []struct {
		a    targets.Account
		want string
	}{
		{targets.Account{LastLogin: early}, "no login since 2026-06-25 (limit 90 days)"},
		{targets.Account{LastLogin: late}, "no login since 2026-06-26 (limit 90 days)"},
		{targets.Account{Created: early}, "never logged in since it was created on 2026-06-25 (limit 90 days)"},
		{targets.Account{LastLogin: early.Add(time.Hour)}, "no login since 2026-06-25 (limit 90 days)"},
		{targets.Account{Created: late}, "never logged in since it was created on 2026-06-26 (limit 90 days)"},
		{targets.Account{LastLogin: late.Add(-time.Hour)}, "no login since 2026-06-26 (limit 90 days)"},
	} {
		c.a.ID, c.a.EmployeeID, c.a.Enabled, c.a.LoginTracked = fmt.Sprint("A", i), "E1", true, true
		fs := j.classify(&c.a, Match{Person: person, Via: AttrEmployeeID, Strong: true}, seen{})
		if len(fs) != 1 || fs[0].Reason != c.want {
			t.Errorf("account %d: findings %+v, want one of reason %q", i, fs, c.want)
		}
	}
}

// A finding kept to the end of the run holds no memory of the connector's:
// a CSV connector slices every account's strings out of its line and its
// groups out of a slab shared by hundreds of accounts, and a finding that
// kept them held all of those (issue 13: 240 MB at 100,000 people).
func TestFindingsOwnTheirStrings(t *testing.T) {
	line := "A1,alice,alice@x,E1,Alice A,eng,sales,k1,access_key,A2,bob,Bob B,cn=a1"
	within := func(s string) bool {
		if s == "" {
			return false
		}
		p, lo := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(line)))
		return p >= lo && p < lo+uintptr(len(line))
	}
	field := func(s string) string { i := strings.Index(line, s); return line[i : i+len(s)] }
	p := validPolicy(t, Policy{})
	term := &PersonRow{Person: sources.Person{EmployeeID: "E1", Status: sources.Terminated}}
	a := targets.Account{ID: field("A1"), Username: field("alice"), Email: field("alice@x"), EmployeeID: field("E1"), DisplayName: field("Alice A"),
		DN: field("cn=a1"), Enabled: true, Groups: []targets.Group{{ID: field("eng"), Name: field("eng")}, {ID: field("sales"), Name: field("sales")}},
		Credentials: []targets.Credential{{ID: field("k1"), Kind: field("access_key"), Active: true}}}
	orphan := targets.Account{ID: field("A2"), Username: field("bob"), DisplayName: field("Bob B"), Enabled: true}
	fs := newJudge(asOf, p, "app", "", allCaps()).classify(&a, Match{Person: term, Via: AttrEmployeeID, Strong: true}, seen{})
	fs = append(fs, newJudge(asOf, p, "app", "", allCaps()).classify(&orphan, Match{}, seen{})...)
	if len(fs) != 2 || fs[0].account == nil || fs[1].account != nil {
		t.Fatalf("findings %+v: want a terminated one with its account and an orphaned one without", fs)
	}
	for _, f := range fs {
		strs := []string{f.AccountID, f.Username, f.DisplayName}
		if c := f.account; c != nil {
			if !reflect.DeepEqual(*c, a) {
				t.Errorf("kept account %+v, want %+v", *c, a)
			}
			strs = append(strs, c.ID, c.Username, c.Email, c.EmployeeID, c.DisplayName, c.DN)
			for _, g := range c.Groups {
				strs = append(strs, g.ID, g.Name)
			}
			for _, cr := range c.Credentials {
				strs = append(strs, cr.ID, cr.Kind)
			}
		}
		for _, s := range strs {
			if within(s) {
				t.Errorf("finding %s: %q shares the connector's memory", f.Kind, s)
			}
		}
	}
	if fs[1].AccountID != "A2" || fs[1].Username != "bob" || fs[1].DisplayName != "Bob B" {
		t.Errorf("orphan finding names %q %q %q", fs[1].AccountID, fs[1].Username, fs[1].DisplayName)
	}
	// Steps that are all a person's (a target that cannot revoke, or a
	// kind the policy does not revoke automatically): the executor never
	// plans them, and the finding keeps no copy of the account.
	noAuto := validPolicy(t, Policy{AutoRevoke: []Kind{Dormant}})
	for _, c := range []struct {
		name   string
		policy *Policy
		caps   targets.Capabilities
	}{{"a target without capabilities", p, targets.Capabilities{}}, {"a kind not revoked automatically", noAuto, allCaps()}} {
		fs := newJudge(asOf, c.policy, "app", "", c.caps).classify(&a, Match{Person: term, Via: AttrEmployeeID, Strong: true}, seen{})
		if len(fs) != 1 || fs[0].Disposition != ManualRevoke || len(fs[0].Actions) == 0 || fs[0].account != nil {
			t.Fatalf("%s: findings %+v, want one manual_revoke with steps and no copy of the account", c.name, fs)
		}
		if f := fs[0]; f.AccountID != "A1" || f.Username != "alice" || f.DisplayName != "Alice A" || within(f.AccountID) || within(f.Username) || within(f.DisplayName) {
			t.Errorf("%s: the finding names %q %q %q (its own strings: %v)", c.name, f.AccountID, f.Username, f.DisplayName,
				!within(f.AccountID) && !within(f.Username) && !within(f.DisplayName))
		}
	}
}

// A finding's Match says the attribute and the strength; for the
// attributes the engine correlates on the text is a constant (no
// allocation per finding), and any other attribute is said the same way.
func TestMatchText(t *testing.T) {
	for _, via := range []string{AttrEmployeeID, AttrEmail, AttrUsername, AttrLink, "upn"} {
		for _, strong := range []bool{false, true} {
			want := via + " (weak)"
			if strong {
				want = via + " (strong)"
			}
			m := Match{Via: via, Strong: strong}
			if got := matchText(m); got != want {
				t.Errorf("matchText(%s, strong %v) = %q, want %q", via, strong, got, want)
			}
			if via == "upn" {
				continue
			}
			kept := make([]string, 1) // the text is kept, as a finding keeps it
			if n := testing.AllocsPerRun(100, func() { kept[0] = matchText(m) }); n != 0 {
				t.Errorf("matchText(%s, strong %v) allocates %v times", via, strong, n)
			}
		}
	}
}

// BenchmarkClassify judges a target's worth of accounts of one person
// each, a third of them dormant and a tenth of their people terminated
// (about the mix of the generated 100,000-person day), as a run's stream
// does: each account's findings copied into the target's list.
func BenchmarkClassify(b *testing.B) {
	const n = 10000
	rows := make([]*PersonRow, n)
	accounts := make([]targets.Account, n)
	for i := range n {
		rows[i] = &PersonRow{Person: sources.Person{EmployeeID: fmt.Sprintf("E%05d", i), Email: fmt.Sprintf("u%05d@example.com", i),
			FirstName: "Given", LastName: fmt.Sprint("Family", i), Status: sources.Active, JobCode: "OPS", Department: "Dept1"}}
		if i%10 == 0 {
			rows[i].Status, rows[i].TerminationDate = sources.Terminated, asOf.AddDate(0, 0, -7)
		}
		accounts[i] = targets.Account{ID: fmt.Sprintf("app-%05d", i), Username: fmt.Sprintf("user%05d", i), EmployeeID: rows[i].EmployeeID,
			DisplayName: fmt.Sprint("User ", i), Enabled: true, LoginTracked: true, LastLogin: asOf.AddDate(0, 0, -1-i%300), Created: asOf.AddDate(-1, 0, 0)}
	}
	people := NewPeople(rows)
	policy := validPolicy(b, Policy{})
	b.ReportAllocs()
	for b.Loop() {
		j := newJudge(asOf, policy, "app", "standard", allCaps())
		j.people = people
		var l findingList
		for i := range accounts {
			l.add(j.classify(&accounts[i], Match{Person: rows[i], Via: AttrEmployeeID, Strong: true}, seen{})...)
		}
		if l.Len() < n/3 {
			b.Fatalf("%d findings of %d accounts", l.Len(), n)
		}
	}
}
