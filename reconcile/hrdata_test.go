// Tests of HR data as it really is (issue 18): rehires, one person in two
// sources, local dates, people coming back.

package reconcile

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/sources"
	csvsource "github.com/accessrecon/accessrecon/sources/csv"
	"github.com/accessrecon/accessrecon/sources/workday"
	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

func hrDate(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// A termination date earlier than the latest hire date is history; the
// "termination date passed, status still active" rule (HR lagging) applies
// only when no later hire follows it. asOf is 2026-11-25.
func TestRehire(t *testing.T) {
	person := func(status sources.Status, hire, term, eff string) *PersonRow {
		p := &PersonRow{Person: sources.Person{EmployeeID: "E1", Email: "e1@x", Status: status}}
		if hire != "" {
			p.HireDate = hrDate(hire)
		}
		if term != "" {
			p.TerminationDate = hrDate(term)
		}
		if eff != "" {
			p.StatusEffective = hrDate(eff)
		}
		return p
	}
	acct := targets.Account{ID: "A1", Username: "u1", EmployeeID: "E1", Enabled: true}
	tests := []struct {
		name      string
		p         *PersonRow
		want      []kd
		effective string // the finding's EffectiveAt, when there is one
		notReason string // the reason must not say this
	}{
		{name: "rehired: old termination date kept in the record", p: person(sources.Active, "2026-11-01", "2026-06-30", ""), want: []kd{}},
		{name: "rehired on leave: old termination date is history", p: person(sources.Leave, "2026-11-01", "2026-06-30", ""), want: []kd{}},
		{name: "HR lagging, no later hire: clear case", p: person(sources.Active, "2019-03-01", "2026-11-20", ""),
			want: []kd{{TerminatedActive, AutoRevoke}}, effective: "2026-11-20"},
		{name: "HR lagging, no hire date: clear case", p: person(sources.Active, "", "2026-11-20", ""),
			want: []kd{{TerminatedActive, AutoRevoke}}, effective: "2026-11-20"},
		{name: "termination recorded two weeks ahead: not acted on early", p: person(sources.Active, "2019-03-01", "2026-12-09", ""), want: []kd{}},
		{name: "terminated status, termination two weeks ahead: not acted on early", p: person(sources.Terminated, "2019-03-01", "2026-12-09", ""), want: []kd{}},
		{name: "rehire recorded ahead, status still active: no later-hire-free termination", p: person(sources.Active, "2026-12-15", "2026-06-30", ""), want: []kd{}},
		{name: "rehire recorded ahead, status terminated: terminated since the old date", p: person(sources.Terminated, "2026-12-15", "2026-06-30", ""),
			want: []kd{{TerminatedActive, AutoRevoke}}, effective: "2026-06-30"},
		{name: "rehired, terminated again without a new date: status decides", p: person(sources.Terminated, "2026-11-01", "2026-06-30", "2026-11-20"),
			want: []kd{{TerminatedActive, AutoRevoke}}, effective: "2026-11-20", notReason: "2026-06-30"},
		{name: "termination and hire on the same day, status active: a same-day rehire", p: person(sources.Active, "2026-11-01", "2026-11-01", ""), want: []kd{}},
		{name: "termination and hire on the same day, status terminated: terminated", p: person(sources.Terminated, "2026-11-01", "2026-11-01", "2026-11-01"),
			want: []kd{{TerminatedActive, AutoRevoke}}, effective: "2026-11-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newJudge(asOf, validPolicy(t, Policy{}), "app", "standard", allCaps())
			got := j.classify(&acct, Match{Person: tt.p, Via: AttrEmployeeID, Strong: true}, seen{})
			if !slices.Equal(kinds(got), tt.want) {
				t.Fatalf("findings = %v, want %v\n%+v", kinds(got), tt.want, got)
			}
			for _, f := range got {
				if tt.effective != "" && (f.EffectiveAt == nil || !f.EffectiveAt.Equal(hrDate(tt.effective))) {
					t.Errorf("effective_at %v, want %s", f.EffectiveAt, tt.effective)
				}
				if tt.notReason != "" && strings.Contains(f.Reason, tt.notReason) {
					t.Errorf("reason %q names the old termination date %s", f.Reason, tt.notReason)
				}
			}
		})
	}
}

// A termination is a departure from the instant it takes effect (serve
// runs a leaver's job at that instant), whatever the status says, and not
// a moment before.
func TestTerminationFromItsInstant(t *testing.T) {
	td := hrDate("2026-11-25")
	acct := targets.Account{ID: "A1", Username: "u1", EmployeeID: "E1", Enabled: true}
	for _, st := range []sources.Status{sources.Active, sources.Terminated} {
		p := &PersonRow{Person: sources.Person{EmployeeID: "E1", Status: st, HireDate: hrDate("2019-03-01"), TerminationDate: td}}
		for _, c := range []struct {
			at   time.Time
			want []kd
		}{{td, []kd{{TerminatedActive, AutoRevoke}}}, {td.Add(-time.Nanosecond), []kd{}}} {
			got := newJudge(c.at, validPolicy(t, Policy{}), "app", "standard", allCaps()).classify(&acct, Match{Person: p, Via: AttrEmployeeID, Strong: true}, seen{})
			if !slices.Equal(kinds(got), c.want) {
				t.Errorf("status %s, as of %s: findings %v, want %v", st, c.at.Format(time.RFC3339Nano), kinds(got), c.want)
			}
		}
	}
}

// An address reused by a new hire: an app account known only by that
// address matches both the leaver and the new hire, and is never revoked.
func TestAddressReusedByNewHire(t *testing.T) {
	leaver := &PersonRow{Person: sources.Person{EmployeeID: "E1", Email: "sam@x.com", Status: sources.Terminated, TerminationDate: hrDate("2026-05-31")}}
	hire := &PersonRow{Person: sources.Person{EmployeeID: "E9", Email: "sam@x.com", Status: sources.Active, HireDate: hrDate("2026-11-01")}}
	people := NewPeople([]*PersonRow{leaver, hire})
	c := Correlation{Target: "app"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	a := targets.Account{ID: "A7", Username: "sam", Email: "SAM@x.com", Enabled: true}
	m := people.Correlate(&c, a)
	got := newJudge(asOf, validPolicy(t, Policy{}), "app", "standard", allCaps()).classify(&a, m, seen{})
	if want := []kd{{Ambiguous, Review}}; !slices.Equal(kinds(got), want) {
		t.Fatalf("findings = %v, want %v\n%+v", kinds(got), want, got)
	}
	if len(got[0].Actions) != 0 {
		t.Fatalf("an ambiguous account has steps: %+v", got[0].Actions)
	}
}

// One person in two HR sources is resolved per person: priority, then a
// conversion (the current spell started last, the other has ended); a
// genuine conflict is that person's review finding, never a revocation.
func TestResolvePerson(t *testing.T) {
	rec := func(src string, prio int, status sources.Status, hire, term string) hrRecord {
		p := &PersonRow{Person: sources.Person{EmployeeID: "E7", Status: status}}
		if hire != "" {
			p.HireDate = hrDate(hire)
		}
		if term != "" {
			p.TerminationDate = hrDate(term)
		}
		return hrRecord{source: src, priority: prio, row: p}
	}
	tests := []struct {
		name       string
		recs       []hrRecord
		winner     string
		rule       string
		wantStatus sources.Status // the status the run uses
	}{
		{"contractor converted to employee", []hrRecord{
			rec("employees", 0, sources.Active, "2026-11-01", ""),
			rec("contractors", 0, sources.Terminated, "2025-02-01", "2026-10-31")}, "employees", RuleConversion, sources.Active},
		{"conversion, the ended record listed first", []hrRecord{
			rec("contractors", 0, sources.Terminated, "2025-02-01", "2026-10-31"),
			rec("employees", 0, sources.Active, "2026-11-01", "")}, "employees", RuleConversion, sources.Active},
		{"conversion the other way: employee became a contractor", []hrRecord{
			rec("employees", 0, sources.Active, "2020-01-01", "2026-10-31"),
			rec("contractors", 0, sources.Active, "2026-11-01", "")}, "contractors", RuleConversion, sources.Active},
		{"both current, different statuses: conflict", []hrRecord{
			rec("employees", 0, sources.Active, "2024-01-01", ""),
			rec("contractors", 0, sources.Suspended, "2025-06-01", "")}, "", RuleConflict, ""},
		{"ended record started after the current one: conflict", []hrRecord{
			rec("employees", 0, sources.Active, "2020-01-01", ""),
			rec("contractors", 0, sources.Terminated, "2026-03-01", "2026-09-30")}, "", RuleConflict, ""},
		{"no hire dates: order unknown, conflict", []hrRecord{
			rec("employees", 0, sources.Active, "", ""),
			rec("contractors", 0, sources.Terminated, "", "2026-10-31")}, "", RuleConflict, ""},
		{"the ended record's hire date unknown: order unknown, conflict", []hrRecord{
			rec("employees", 0, sources.Active, "2026-11-01", ""),
			rec("contractors", 0, sources.Terminated, "", "2026-10-31")}, "", RuleConflict, ""},
		{"both spells started the same day, one ended: a conversion", []hrRecord{
			rec("employees", 0, sources.Active, "2026-11-01", ""),
			rec("contractors", 0, sources.Terminated, "2026-11-01", "2026-11-02")}, "employees", RuleConversion, sources.Active},
		{"the ended spell started a day after the current one: conflict", []hrRecord{
			rec("employees", 0, sources.Active, "2026-11-01", ""),
			rec("contractors", 0, sources.Terminated, "2026-11-02", "2026-11-20")}, "", RuleConflict, ""},
		{"priority wins over everything", []hrRecord{
			rec("legacy", 0, sources.Active, "2015-01-01", ""),
			rec("workday", 10, sources.Terminated, "2015-01-01", "2026-11-20")}, "workday", RulePriority, sources.Terminated},
		{"same status: the spell that started last", []hrRecord{
			rec("a", 0, sources.Active, "2019-01-01", ""),
			rec("b", 0, sources.Active, "2026-11-01", "")}, "b", RuleSameStatus, sources.Active},
		{"all ended", []hrRecord{
			rec("a", 0, sources.Terminated, "2019-01-01", "2024-01-31"),
			rec("b", 0, sources.Terminated, "2025-01-01", "2026-10-31")}, "b", RuleAllEnded, sources.Terminated},
		{"conversion recorded ahead: the contractor's termination is still to come", []hrRecord{
			rec("employees", 0, sources.Active, "2026-12-01", ""),
			rec("contractors", 0, sources.Terminated, "2025-02-01", "2026-11-30")}, "employees", RuleSameStatus, sources.Active},
		{"termination ahead is still current: conflict with a suspension", []hrRecord{
			rec("a", 0, sources.Active, "2019-01-01", "2026-12-31"),
			rec("b", 0, sources.Suspended, "2019-01-01", "")}, "", RuleConflict, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, r := resolvePerson(tt.recs, asOf, time.UTC)
			if r.Winner != tt.winner || r.Rule != tt.rule || r.EmployeeID != "E7" || len(r.Records) != len(tt.recs) || r.Reason == "" {
				t.Fatalf("resolution %+v, want winner %q rule %s", r, tt.winner, tt.rule)
			}
			if w == nil {
				t.Fatal("no record kept")
			}
			if tt.wantStatus != "" && w.row.Status != tt.wantStatus {
				t.Fatalf("kept status %s, want %s", w.row.Status, tt.wantStatus)
			}
			if tt.winner != "" && w.source != tt.winner {
				t.Fatalf("kept %s's record, resolution says %s", w.source, tt.winner)
			}
		})
	}
}

// A person whose sources conflict is never revoked, whatever the kept
// record says; everyone else is judged as usual.
func TestHRConflictRevokesNothingOfThatPerson(t *testing.T) {
	susp := &PersonRow{Person: sources.Person{EmployeeID: "E7", Status: sources.Suspended}, PrevJobCode: "SALES"}
	susp.JobCode = "ENG"
	j := newJudge(asOf, validPolicy(t, Policy{Roles: map[string]map[string][]string{"ENG": {"app": {"eng"}}, "SALES": {"app": {"sales"}}}}), "app", "standard", allCaps())
	j.hrConflicts = map[string]bool{"e7": true}
	a := targets.Account{ID: "A7", EmployeeID: "e7", Enabled: true, Groups: targets.NamedGroups("eng", "sales"),
		Credentials: []targets.Credential{{ID: "k1", Active: true, LastUsed: daysAgo(1)}}}
	got := j.classify(&a, Match{Person: susp, Via: AttrEmployeeID, Strong: true}, seen{revokedByUs: true})
	for _, f := range got {
		if f.Disposition != Review {
			t.Errorf("%s on a person whose HR sources conflict: %s, want review", f.Kind, f.Disposition)
		}
		if f.Kind == SuspendedActive || f.Kind == TerminatedActive {
			t.Errorf("a departure concluded from a conflicting record: %+v", f)
		}
	}
	if len(got) == 0 {
		t.Fatal("no finding: the mover and reenabled findings should still be reported (for review)")
	}
}

// A person accessrecon disabled for a suspension or leave who is active
// again: the accounts accessrecon disabled are listed for IT (returned,
// review, with the run that disabled them), and never re-enabled.
func TestReturnedTable(t *testing.T) {
	person := func(st sources.Status) *PersonRow {
		return &PersonRow{Person: sources.Person{EmployeeID: "E1", Status: st}}
	}
	ours := &Disablement{AccountID: "A1", Fingerprint: Fingerprint(SuspendedActive, "app", "A1"), RunID: 12, At: daysAgo(20)}
	disabled := targets.Account{ID: "A1", EmployeeID: "E1", Enabled: false}
	enabledAcct := targets.Account{ID: "A1", EmployeeID: "E1", Enabled: true}
	strong := func(p *PersonRow) Match { return Match{Person: p, Via: AttrEmployeeID, Strong: true} }
	tests := []struct {
		name      string
		a         targets.Account
		m         Match
		s         seen
		conflicts map[string]bool
		want      []kd
	}{
		{"active again, disabled by us for a suspension", disabled, strong(person(sources.Active)), seen{suspendedByUs: ours}, nil, []kd{{Returned, Review}}},
		{"still suspended", disabled, strong(person(sources.Suspended)), seen{suspendedByUs: ours}, nil, []kd{}},
		{"on leave (not active yet)", disabled, strong(person(sources.Leave)), seen{suspendedByUs: ours}, nil, []kd{}},
		{"terminated since", disabled, strong(person(sources.Terminated)), seen{suspendedByUs: ours}, nil, []kd{}},
		{"disabled by someone else", disabled, strong(person(sources.Active)), seen{}, nil, []kd{}},
		{"weak match: not for restoration", disabled, Match{Person: person(sources.Active), Via: AttrEmail}, seen{suspendedByUs: ours}, nil, []kd{}},
		{"HR sources disagree", disabled, strong(person(sources.Active)), seen{suspendedByUs: ours}, map[string]bool{"e1": true}, []kd{}},
		{"restored by IT: neither returned nor reenabled", enabledAcct, strong(person(sources.Active)),
			seen{prevDisabled: true, suspendedByUs: ours}, nil, []kd{}},
		{"re-enabled while still suspended: reenabled", enabledAcct, strong(person(sources.Suspended)),
			seen{prevDisabled: true, suspendedByUs: ours}, nil, []kd{{Reenabled, AutoRevoke}, {SuspendedActive, AutoRevoke}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newJudge(asOf, validPolicy(t, Policy{}), "app", "standard", allCaps())
			j.hrConflicts = tt.conflicts
			got := j.classify(&tt.a, tt.m, tt.s)
			if !slices.Equal(kinds(got), tt.want) {
				t.Fatalf("findings = %v, want %v\n%+v", kinds(got), tt.want, got)
			}
			for _, f := range got {
				if f.Kind != Returned {
					continue
				}
				if len(f.Actions) != 0 || f.Evidence.Get("disabled_by_run") != "12" || !strings.Contains(f.Reason, "run 12") {
					t.Errorf("returned finding %+v: want no steps and run 12 named", f)
				}
			}
		})
	}
}

// End to end: suspended on day 1 (accessrecon disables the account), active
// again on day 2 (a returned finding names the day-1 run; the account stays
// disabled), restored by IT on day 3 (nothing to report).
func TestReturnedAcrossRuns(t *testing.T) {
	e, f := newEngine(t), fakeAccounts()
	ctx := context.Background()
	people := hr()
	people[4].Status = sources.Suspended // E5
	sp := spec(f, Policy{})
	sp.Sources[0].Source = people
	sp.AsOf = asOf.Add(-48 * time.Hour)
	day1, err := e.Run(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	if enabled(f, "A5") {
		t.Fatal("day 1: the suspended person's account A5 was not disabled")
	}

	back := hr()
	sp.Sources[0].Source = back
	sp.AsOf = asOf.Add(-24 * time.Hour)
	res, err := e.Run(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	got := findKind(res.Findings, Returned)
	if len(got) != 1 || got[0].AccountID != "A5" || got[0].Disposition != Review || got[0].EmployeeID != "E5" {
		t.Fatalf("day 2: returned findings %+v, want one for A5 (E5), review", got)
	}
	if got[0].Evidence.Get("disabled_by_run") != fmt.Sprint(day1.Run.ID) {
		t.Fatalf("day 2: returned names run %q, want %d", got[0].Evidence.Get("disabled_by_run"), day1.Run.ID)
	}
	if enabled(f, "A5") {
		t.Fatal("day 2: accessrecon re-enabled A5 itself")
	}

	a, _ := f.Get("A5")
	a.Enabled = true
	f.Put(a)
	sp.AsOf = asOf
	res, err = e.Run(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range res.Findings {
		if x.AccountID == "A5" {
			t.Errorf("day 3, after IT restored A5: finding %s %s", x.Kind, x.Reason)
		}
	}
	if !slices.ContainsFunc(res.Resolved, func(st FindingState) bool { return st.Kind == string(Returned) && st.AccountID == "A5" }) {
		t.Errorf("day 3: the returned finding of A5 is not resolved: %+v", res.Resolved)
	}
}

// HR dates are local: for an organisation in Asia/Riyadh, a termination
// effective 2026-11-25 is due from 2026-11-24T21:00Z, its SLA clock starts
// then, findings show it as 2026-11-25, and the result names the zone.
func TestLocalDates(t *testing.T) {
	riyadh, err := time.LoadLocation("Asia/Riyadh")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	path := filepath.Join(t.TempDir(), "hr.csv")
	if err := os.WriteFile(path, []byte("employee_id,status,termination_date\nE1,active,2026-11-25\nE2,active,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	effective := time.Date(2026, 11, 24, 21, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		asOf time.Time
		due  bool
	}{
		{"an hour before midnight in Riyadh: not due", effective.Add(-time.Hour), false},
		{"half an hour after midnight in Riyadh: due", effective.Add(30 * time.Minute), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := csvsource.New(csvsource.Config{Path: path, Location: riyadh}, nil)
			if err != nil {
				t.Fatal(err)
			}
			f := targettest.NewFake(targets.Account{ID: "A1", EmployeeID: "E1", Enabled: true}, targets.Account{ID: "A2", EmployeeID: "E2", Enabled: true})
			res, err := newEngine(t).Run(context.Background(), RunSpec{AsOf: tt.asOf, Mode: Report, Location: riyadh,
				Sources: []SourceSpec{{Name: "hr", Type: "csv", Source: src}}, Targets: []TargetSpec{{Name: "app", Type: "fake", Target: f}}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Timezone != "Asia/Riyadh" {
				t.Errorf("result's time zone %q, want Asia/Riyadh", res.Timezone)
			}
			got := findKind(res.Findings, TerminatedActive)
			if !tt.due {
				if len(got) != 0 {
					t.Fatalf("acted early: %+v", got)
				}
				return
			}
			if len(got) != 1 || got[0].AccountID != "A1" {
				t.Fatalf("terminated_active findings %+v, want one for A1", got)
			}
			if got[0].EffectiveAt == nil || !got[0].EffectiveAt.Equal(effective) {
				t.Errorf("SLA clock starts at %v, want %v", got[0].EffectiveAt, effective)
			}
			if !strings.Contains(got[0].Reason, "terminated since 2026-11-25") || got[0].Evidence.Get("termination_date") != "2026-11-25" {
				t.Errorf("reason %q, evidence %v: want the local date 2026-11-25", got[0].Reason, got[0].Evidence)
			}
		})
	}
}

// An hr_conflict is one problem per person: seen again it keeps its first
// date, and it is resolved once HR settles it (or a priority decides).
func TestHRConflictLifecycle(t *testing.T) {
	e, f := newEngine(t), fakeAccounts()
	ctx := context.Background()
	contractors := sliceSource{{EmployeeID: "E5", Status: sources.Suspended, HireDate: daysAgo(100)}}
	sp := spec(f, Policy{})
	sp.Sources = append(sp.Sources, SourceSpec{Name: "contractors", Type: "test", Source: contractors})
	for i, at := range []time.Time{asOf.Add(-48 * time.Hour), asOf.Add(-24 * time.Hour)} {
		sp.AsOf = at
		res, err := e.Run(ctx, sp)
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		got := findKind(res.Findings, HRConflict)
		if len(got) != 1 || got[0].AccountID != "E5" || got[0].Target != HRTarget || got[0].Disposition != Review || !got[0].FirstSeen.Equal(asOf.Add(-48*time.Hour)) {
			t.Fatalf("run %d: hr_conflict findings %+v", i+1, got)
		}
		if !enabled(f, "A5") || enabled(f, "A1") {
			t.Fatalf("run %d: A5 (conflict) enabled %v, A1 (leaver) enabled %v; want true, false", i+1, enabled(f, "A5"), enabled(f, "A1"))
		}
	}
	sp.Sources[1].Priority = 1 // HR says the contractors' record is right
	sp.AsOf = asOf
	res, err := e.Run(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	if len(findKind(res.Findings, HRConflict)) != 0 || !slices.ContainsFunc(res.Resolved, func(st FindingState) bool { return st.Kind == string(HRConflict) && st.AccountID == "E5" }) {
		t.Fatalf("after a priority settled it: findings %v, resolved %+v", resKinds(res.Findings), res.Resolved)
	}
	if len(res.HRResolutions) != 1 || res.HRResolutions[0].Winner != "contractors" || res.HRResolutions[0].Rule != RulePriority {
		t.Fatalf("resolutions %+v", res.HRResolutions)
	}
	if enabled(f, "A5") {
		t.Fatal("the suspension that won by priority was not acted on")
	}
}

// Configuring a timezone moves every HR date's instant (midnight UTC becomes
// local midnight): that is not a termination date HR changed.
func TestTimezoneConfiguredIsNotHRDrift(t *testing.T) {
	riyadh, err := time.LoadLocation("Asia/Riyadh")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	path := filepath.Join(t.TempDir(), "hr.csv")
	write := func(body string) {
		if err := os.WriteFile(path, []byte("employee_id,status,termination_date\n"+body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := newEngine(t)
	run := func(at time.Time, loc *time.Location) *Result {
		src, err := csvsource.New(csvsource.Config{Path: path, Location: loc}, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.Run(context.Background(), RunSpec{AsOf: at, Mode: Report, Location: loc,
			Sources: []SourceSpec{{Name: "hr", Type: "csv", Source: src}}, Targets: []TargetSpec{{Name: "app", Type: "fake", Target: targettest.NewFake()}}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	changed := func(res *Result) []string {
		var out []string
		for _, d := range res.Drift {
			if d.Kind == "termination_date_changed" {
				out = append(out, d.Subject+": "+d.Detail)
			}
		}
		return out
	}
	write("E1,active,2026-12-31\nE2,active,2026-12-15\n")
	run(asOf.Add(-48*time.Hour), nil)
	write("E1,active,2026-12-31\nE2,active,2027-01-15\n")
	if got := changed(run(asOf.Add(-24*time.Hour), riyadh)); !slices.Equal(got, []string{"E2: 2026-12-15 -> 2027-01-15"}) {
		t.Fatalf("first run in Asia/Riyadh: termination_date_changed %q, want only E2's real change", got)
	}
	if got := changed(run(asOf, riyadh)); len(got) != 0 {
		t.Fatalf("second run in Asia/Riyadh: %q", got)
	}
}

// Workday reports a rehire as BambooHR does: Hire_Date is the latest hire,
// Termination_Date the end of the earlier spell. Read through the Workday
// source, the rehire keeps access and HR lagging without a later hire is
// still a clear case.
func TestRehireFromWorkday(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"Report_Entry":[
			{"Employee_ID":"W1","Worker_Status":"Active","Hire_Date":"2026-11-01-08:00","Termination_Date":"2026-06-30-08:00"},
			{"Employee_ID":"W2","Worker_Status":"Active","Hire_Date":"2018-02-01-08:00","Termination_Date":"2026-11-20-08:00"},
			{"Employee_ID":"W3","Worker_Status":"Active","Hire_Date":"2018-02-01-08:00","Termination_Date":"2026-12-09-08:00"}]}`)
	}))
	defer srv.Close()
	src, err := workday.New(workday.Config{URL: srv.URL + "/ccx/service/customreport2/t/isu/All_Workers", User: "isu", Password: "pw"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := targettest.NewFake(targets.Account{ID: "A1", EmployeeID: "W1", Enabled: true}, targets.Account{ID: "A2", EmployeeID: "W2", Enabled: true},
		targets.Account{ID: "A3", EmployeeID: "W3", Enabled: true})
	res, err := newEngine(t).Run(context.Background(), RunSpec{AsOf: asOf, Mode: Report,
		Sources: []SourceSpec{{Name: "workday", Type: "workday", Source: src}}, Targets: []TargetSpec{{Name: "app", Type: "fake", Target: f}}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range res.Findings {
		got = append(got, string(x.Kind)+" "+x.AccountID)
	}
	if want := []string{"terminated_active A2"}; !slices.Equal(got, want) {
		t.Fatalf("findings %q, want %q (W1 rehired, W2 HR lagging, W3 leaving ahead)", got, want)
	}
}

// A role change the source reports itself (a drill's canary, whom no
// previous snapshot holds) is a mover's clear case: the old role's groups
// go, the new role's stay. A person whose source reports nothing is
// still learnt from the snapshots, as before.
func TestRoleChangeReportedBySource(t *testing.T) {
	roles := map[string]map[string][]string{"ENG": {"app": {"eng"}}, "SALES": {"app": {"sales"}}}
	groups := func(f *targettest.Fake, id string) string {
		a, _ := f.Get(id)
		return strings.Join(targets.GroupNames(a.Groups), ",")
	}
	t.Run("reported, no previous snapshot", func(t *testing.T) {
		e := newEngine(t)
		f := targettest.NewFake(targets.Account{ID: "A1", EmployeeID: "E1", Enabled: true, Groups: targets.NamedGroups("eng", "sales")})
		changed := asOf.Add(-time.Hour)
		sp := spec(f, Policy{Roles: roles})
		sp.Sources[0].Source = sliceSource{{EmployeeID: "E1", Status: sources.Active, JobCode: "ENG",
			RoleChange: sources.RoleChange{PrevJobCode: "SALES", At: changed}}}
		res, err := e.Run(context.Background(), sp)
		if err != nil {
			t.Fatal(err)
		}
		fs := findKind(res.Findings, ExcessAccess)
		if len(fs) != 1 || fs[0].Disposition != AutoRevoke || fs[0].Evidence.Get("previous_job_code") != "SALES" {
			t.Fatalf("excess_access findings %+v, want one auto_revoke of a move from SALES", fs)
		}
		if got := groups(f, "A1"); got != "eng" {
			t.Fatalf("groups after the run %q, want eng (sales, the old role's, removed)", got)
		}
		var row PersonRow
		for p, err := range mem(e).People(context.Background(), res.Run.ID) {
			if err != nil {
				t.Fatal(err)
			}
			row = p
		}
		if row.PrevJobCode != "SALES" || !row.JobChangedAt.Equal(changed) {
			t.Fatalf("snapshot row %+v, want the reported change kept", row)
		}
	})
	t.Run("not reported: learnt from the snapshots as before", func(t *testing.T) {
		e := newEngine(t)
		f := targettest.NewFake(targets.Account{ID: "A1", EmployeeID: "E1", Enabled: true, Groups: targets.NamedGroups("eng", "sales")})
		sp := spec(f, Policy{Roles: roles})
		sp.Sources[0].Source = sliceSource{{EmployeeID: "E1", Status: sources.Active, JobCode: "SALES"}}
		sp.AsOf = asOf.Add(-24 * time.Hour)
		res, err := e.Run(context.Background(), sp)
		if err != nil {
			t.Fatal(err)
		}
		if fs := findKind(res.Findings, ExcessAccess); len(fs) != 1 || fs[0].Disposition != Review || groups(f, "A1") != "eng,sales" {
			t.Fatalf("first run: %+v, groups %q: want eng for review, nothing removed", fs, groups(f, "A1"))
		}
		sp.Sources[0].Source = sliceSource{{EmployeeID: "E1", Status: sources.Active, JobCode: "ENG"}}
		sp.AsOf = asOf
		res, err = e.Run(context.Background(), sp)
		if err != nil {
			t.Fatal(err)
		}
		if fs := findKind(res.Findings, ExcessAccess); len(fs) != 1 || fs[0].Disposition != AutoRevoke || groups(f, "A1") != "eng" {
			t.Fatalf("after the move: %+v, groups %q: want sales removed", fs, groups(f, "A1"))
		}
	})
	t.Run("learnt from the snapshots by the record of a second source that wins", func(t *testing.T) {
		e := newEngine(t)
		f := targettest.NewFake(targets.Account{ID: "A1", EmployeeID: "E1", Enabled: true, Groups: targets.NamedGroups("eng", "sales")})
		sp := spec(f, Policy{Roles: roles})
		sp.Sources[0].Source = sliceSource{{EmployeeID: "E1", Status: sources.Active, JobCode: "SALES"}}
		sp.AsOf = asOf.Add(-24 * time.Hour)
		if _, err := e.Run(context.Background(), sp); err != nil {
			t.Fatal(err)
		}
		// The payroll export, which wins, has the move; the first source
		// has not caught up.
		sp.Sources = append(sp.Sources, SourceSpec{Name: "payroll", Type: "csv", Priority: 2,
			Source: sliceSource{{EmployeeID: "E1", Status: sources.Active, JobCode: "ENG"}}})
		sp.AsOf = asOf
		res, err := e.Run(context.Background(), sp)
		if err != nil {
			t.Fatal(err)
		}
		if fs := findKind(res.Findings, ExcessAccess); len(fs) != 1 || fs[0].Disposition != AutoRevoke || fs[0].Evidence.Get("previous_job_code") != "SALES" {
			t.Fatalf("after the move: %+v, want one auto_revoke of a move from SALES", fs)
		}
		for p, err := range mem(e).People(context.Background(), res.Run.ID) {
			if err != nil {
				t.Fatal(err)
			}
			if p.JobCode != "ENG" || p.PrevJobCode != "SALES" || !p.JobChangedAt.Equal(asOf) {
				t.Fatalf("snapshot row %+v, want ENG, moved from SALES at the run", p)
			}
		}
	})
}
