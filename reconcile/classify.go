package reconcile

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

// judge holds what classification needs of one target in one run.
type judge struct {
	asOf   time.Time
	policy *Policy
	target string
	tier   string
	caps   targets.Capabilities
	// exemptions and approvals of this target, as written: each names an
	// account by ID, username, email or DN (see Names).
	exemptions []Exemption
	approved   []Approval
	// hrConflicts holds the people (normalised employee IDs) whose HR
	// sources disagree: nothing of theirs is revoked.
	hrConflicts map[string]bool
	// loc is the organisation's zone: HR dates are shown as dates there.
	loc *time.Location
	// people are the run's people, whose PersonRefs the findings share
	// (nil: each finding gets its own).
	people *People
	// dormantReasons holds the texts dormantReason made, by day.
	dormantReasons map[dormantDay]string
	// out holds the findings of the last classify.
	out []Finding
}

func newJudge(asOf time.Time, p *Policy, target, tier string, caps targets.Capabilities) *judge {
	j := &judge{asOf: asOf, policy: p, target: target, tier: tier, caps: caps, loc: time.UTC}
	for _, e := range p.Exemptions {
		if e.Target == target {
			j.exemptions = append(j.exemptions, e)
		}
	}
	for _, a := range p.PrivilegedApproved {
		if a.Target == target {
			j.approved = append(j.approved, a)
		}
	}
	return j
}

// exemption is the exemption that names a, if any.
func (j *judge) exemption(a *targets.Account) (Exemption, bool) {
	for _, e := range j.exemptions {
		if Names(e.AccountID, *a) {
			return e, true
		}
	}
	return Exemption{}, false
}

// isApproved says whether a privileged approval names a.
func (j *judge) isApproved(a *targets.Account) bool {
	return slices.ContainsFunc(j.approved, func(x Approval) bool { return Names(x.AccountID, *a) })
}

// conflicted says whether the HR sources disagree about the person with
// this employee ID (no ID is normalised when none do: this runs per account).
func (j *judge) conflicted(employeeID string) bool {
	return len(j.hrConflicts) > 0 && j.hrConflicts[NormalizeID(employeeID)]
}

// departure says whether HR says the person is gone (terminated, suspended,
// or on leave when policy counts leave), which kind of finding that makes,
// and since when. A termination date in the future is not yet a departure,
// whatever the status column says. One in the past is, whatever it says
// (HR lagging behind its own date), unless a later hire follows it: a
// rehire's old termination date is history, and a rehire recorded ahead
// leaves the status to decide.
func (j *judge) departure(p *PersonRow) (Kind, time.Time, bool) {
	if j.conflicted(p.EmployeeID) {
		return "", time.Time{}, false // an hr_conflict finding says it; nothing is revoked
	}
	switch {
	case ended(p, j.asOf):
		if td := termination(p, j.asOf); !td.IsZero() {
			return TerminatedActive, td, true
		}
		return TerminatedActive, p.StatusEffective, true
	case p.Status == sources.Suspended:
		return SuspendedActive, p.StatusEffective, true
	case p.Status == sources.Leave && j.policy.LeaveIsFinding:
		return SuspendedActive, p.StatusEffective, true
	}
	return "", time.Time{}, false
}

// termination is the termination date of the person's current (or last)
// employment spell: HR's termination date, unless a hire on or after it
// has already started, which makes it the end of an earlier spell (a
// rehire; BambooHR and Workday exports keep the old date). A termination
// and a hire on the same day read as a same-day rehire: the status decides,
// since a wrong revocation is worse than none. Zero when there is none.
func termination(p *PersonRow, asOf time.Time) time.Time {
	td := p.TerminationDate
	if !td.IsZero() && !p.HireDate.IsZero() && !p.HireDate.Before(td) && !p.HireDate.After(asOf) {
		return time.Time{}
	}
	return td
}

// seen is what the run knows of an account beyond its current state.
type seen struct {
	prevDisabled bool // the previous good snapshot has it disabled
	revokedByUs  bool // accessrecon disabled it since the previous snapshot
	// suspendedByUs is accessrecon's latest disable of the account, when it
	// was for a suspension or leave (nil otherwise).
	suspendedByUs *Disablement
}

// verdict is one account's classification in progress: what is known of
// it, and the findings so far.
type verdict struct {
	a *targets.Account
	m Match
	s seen
	// departedKind, effective and departed are j.departure of the matched
	// person (zero without one).
	departedKind Kind
	effective    time.Time
	departed     bool
	out          []Finding
}

// classify returns the findings for one account, rule by rule.
// Fingerprints, first-seen dates and exemptions are applied by the caller.
// The slice is the judge's own, valid until its next classify: a run copies
// the findings into its list (a slice of its own for each account with
// findings was a 384-byte allocation a finding, 70 MB of garbage on a
// 100,000-person day).
func (j *judge) classify(a *targets.Account, m Match, s seen) []Finding {
	v := &verdict{a: a, m: m, s: s, out: j.out[:0]}
	if m.Person != nil {
		v.departedKind, v.effective, v.departed = j.departure(m.Person)
	}
	j.exemptionExpired(v)
	if a.Enabled {
		j.whoseAccount(v)
		j.reenabled(v)
		j.privileged(v)
		j.dormant(v)
	}
	j.returned(v)
	j.credentials(v)
	j.exempt(v)
	j.out = v.out
	return v.out
}

// add completes f with what every finding of the account carries and keeps
// it.
func (j *judge) add(v *verdict, f Finding) {
	a, m := v.a, v.m
	f.Target, f.Tier = j.target, j.tier
	if hasAuto(&f) {
		// Kept only where the executor may need it: it plans and acts on
		// these findings alone, and a step found a person's is never
		// made automatic afterwards.
		f.account = ownAccount(a)
		f.AccountID, f.Username, f.DisplayName = f.account.ID, f.account.Username, f.account.DisplayName
	} else {
		f.AccountID, f.Username, f.DisplayName = a.ID, a.Username, a.DisplayName
		ownStrings(&f.AccountID, &f.Username, &f.DisplayName)
	}
	// What was not seen is left out; the evidence is kept in key order
	// (the order it is written in).
	ev := make(Evidence, 0, len(f.Evidence)+1)
	for _, x := range f.Evidence {
		if x.Value != "" {
			ev = append(ev, x)
		}
	}
	ev.Set("account_enabled", strconv.FormatBool(a.Enabled))
	slices.SortFunc(ev, compareFacts)
	f.Evidence = ev
	if m.Person != nil {
		p := m.Person
		f.EmployeeID = p.EmployeeID
		f.Person = j.people.ref(p)
		f.Match = matchText(m)
	} else if a.EmployeeID != "" {
		f.EmployeeID = a.EmployeeID
	}
	v.out = append(v.out, f)
}

// matchText says how m found the person and how strongly: "email
// (strong)". The texts of the attributes the engine correlates on are
// constants: a run has a finding for every few accounts, and few ways of
// matching.
func matchText(m Match) string {
	var weak, strong string
	switch m.Via {
	case AttrEmployeeID:
		weak, strong = AttrEmployeeID+" (weak)", AttrEmployeeID+" (strong)"
	case AttrEmail:
		weak, strong = AttrEmail+" (weak)", AttrEmail+" (strong)"
	case AttrUsername:
		weak, strong = AttrUsername+" (weak)", AttrUsername+" (strong)"
	case AttrLink:
		weak, strong = AttrLink+" (weak)", AttrLink+" (strong)"
	default:
		if m.Strong {
			return m.Via + " (strong)"
		}
		return m.Via + " (weak)"
	}
	if m.Strong {
		return strong
	}
	return weak
}

// exemptionExpired: an exemption naming the account has expired.
func (j *judge) exemptionExpired(v *verdict) {
	if e, ok := j.exemption(v.a); ok && e.Expired(j.asOf) {
		j.add(v, Finding{Kind: ExemptionExpired, Severity: Medium, Disposition: Review,
			Reason:   fmt.Sprintf("exemption owned by %s (approved by %s: %s) expired on %s; the account is judged normally again", e.Owner, e.Approver, e.Reason, e.Expires.Format("2006-01-02")),
			Evidence: Evidence{{"expired", e.Expires.Format(time.RFC3339)}, {"owner", e.Owner}}})
	}
}

// whoseAccount judges an enabled account by the person it belongs to: no
// clear owner (ambiguous), none at all (orphaned), one HR says is gone
// (terminated or suspended but active), or one whose groups exceed the
// role's baseline (excess access).
func (j *judge) whoseAccount(v *verdict) {
	a, m := v.a, v.m
	switch {
	case len(m.Candidates) > 0 || m.Conflict != "":
		reason := m.Conflict
		if reason == "" {
			reason = fmt.Sprintf("%s matches %d people: %s", m.Via, len(m.Candidates), strings.Join(m.Candidates, ", "))
		}
		j.add(v, Finding{Kind: Ambiguous, Severity: Medium, Disposition: Review, Reason: reason,
			Evidence: Evidence{{"candidates", strings.Join(m.Candidates, ", ")}, {"account_employee_id", a.EmployeeID}, {"account_email", a.Email}}})
	case m.Person == nil:
		sev := Medium
		if a.Privileged {
			sev = High
		}
		j.add(v, Finding{Kind: Orphaned, Severity: sev, Disposition: Review,
			Reason:   "enabled account linked to no person in HR",
			Evidence: Evidence{{"account_employee_id", a.EmployeeID}, {"account_email", a.Email}, {"created", j.day(a.Created)}}})
	case v.departed:
		j.departedActive(v)
	default:
		j.excessAccess(v)
	}
}

// departedActive: the account is enabled but HR says its person is gone.
func (j *judge) departedActive(v *verdict) {
	a, m := v.a, v.m
	sev := Critical
	if v.departedKind == SuspendedActive {
		sev = High
	}
	f := Finding{Kind: v.departedKind, Severity: sev,
		Reason:   fmt.Sprintf("account is enabled but HR says %s is %s", m.Person.EmployeeID, hrState(m.Person, j.asOf, j.loc)),
		Evidence: Evidence{{"hr_status", string(m.Person.Status)}, {"termination_date", j.day(m.Person.TerminationDate)}, {"status_effective", j.day(m.Person.StatusEffective)}, {"hire_date", j.day(m.Person.HireDate)}, {"last_login", j.day(a.LastLogin)}}}
	if !v.effective.IsZero() {
		effective := v.effective
		f.EffectiveAt = &effective
	}
	j.plan(&f, m, a, nil)
	j.add(v, f)
}

// excessAccess: the account has groups outside its person's role baseline;
// those of the previous role are a mover's clear case.
func (j *judge) excessAccess(v *verdict) {
	a, m := v.a, v.m
	excess := j.excess(a, m.Person)
	if len(excess.all) == 0 {
		return
	}
	f := Finding{Kind: ExcessAccess, Severity: Medium,
		Evidence: Evidence{{"job_code", m.Person.JobCode}, {"excess_groups", strings.Join(targets.GroupNames(excess.all), "; ")}, {"previous_job_code", m.Person.PrevJobCode}}}
	if len(excess.mover) > 0 && m.Clear() {
		f.Reason = fmt.Sprintf("after the move from %s to %s the account keeps groups of the old role: %s", m.Person.PrevJobCode, m.Person.JobCode, strings.Join(targets.GroupNames(excess.mover), ", "))
		if other := len(excess.all) - len(excess.mover); other > 0 {
			f.Reason += fmt.Sprintf("; %d more outside the new role's baseline need review", other)
		}
		j.plan(&f, m, a, groupIDs(excess.mover))
	} else {
		f.Disposition = Review
		f.Reason = fmt.Sprintf("groups outside the baseline of role %s: %s", m.Person.JobCode, strings.Join(targets.GroupNames(excess.all), ", "))
	}
	j.add(v, f)
}

// reenabled: an enabled account was disabled (by anyone, or revoked by
// accessrecon) and is enabled again, and is not a returning person's.
func (j *judge) reenabled(v *verdict) {
	s, m := v.s, v.m
	if !(s.prevDisabled || s.revokedByUs) || j.back(m, s, v.departed) {
		return
	}
	f := Finding{Kind: Reenabled, Severity: High, Disposition: Review,
		Reason:   "account was disabled and is enabled again",
		Evidence: Evidence{{"revoked_by_accessrecon", fmt.Sprint(s.revokedByUs)}}}
	if v.departed {
		f.Severity = Critical
		f.Reason = fmt.Sprintf("account was disabled and is enabled again, but HR says %s is %s", m.Person.EmployeeID, hrState(m.Person, j.asOf, j.loc))
		j.plan(&f, m, v.a, nil)
	}
	j.add(v, f)
}

// privileged: an enabled privileged account that policy does not approve.
func (j *judge) privileged(v *verdict) {
	if v.a.Privileged && !j.isApproved(v.a) {
		j.add(v, Finding{Kind: PrivilegedUnapproved, Severity: High, Disposition: Review,
			Reason:   "privileged account not on policy.privileged_approved",
			Evidence: Evidence{{"groups", strings.Join(targets.GroupNames(v.a.Groups), "; ")}}})
	}
}

// dormant: an enabled account, of someone not gone, unused (or never used)
// for longer than policy allows, where the target tracks logins.
func (j *judge) dormant(v *verdict) {
	a := v.a
	if !a.LoginTracked || v.departed {
		return
	}
	limit := j.policy.DormantAfter.D()
	switch {
	case !a.LastLogin.IsZero() && j.asOf.Sub(a.LastLogin) > limit:
		j.add(v, Finding{Kind: Dormant, Severity: Low, Disposition: Review,
			Reason:   j.dormantReason(a.LastLogin, false),
			Evidence: Evidence{{"last_login", a.LastLogin.Format(time.RFC3339)}}})
	case a.LastLogin.IsZero() && !a.Created.IsZero() && j.asOf.Sub(a.Created) > limit:
		j.add(v, Finding{Kind: Dormant, Severity: Low, Disposition: Review,
			Reason:   j.dormantReason(a.Created, true),
			Evidence: Evidence{{"last_login", "never"}, {"created", j.day(a.Created)}}})
	}
}

// dormantReason says why an account is dormant: no login since the day of
// t, or (never) none since it was created then. Most of a target's
// findings are dormant accounts, whose last logins fall on a few hundred
// days: each day's text is made once per target.
func (j *judge) dormantReason(t time.Time, never bool) string {
	y, m, d := t.In(j.loc).Date()
	k := dormantDay{y, m, d, never}
	if r, ok := j.dormantReasons[k]; ok {
		return r
	}
	days := int(j.policy.DormantAfter.D().Hours() / 24)
	r := fmt.Sprintf("no login since %s (limit %d days)", j.day(t), days)
	if never {
		r = fmt.Sprintf("never logged in since it was created on %s (limit %d days)", j.day(t), days)
	}
	if j.dormantReasons == nil {
		j.dormantReasons = map[dormantDay]string{}
	}
	j.dormantReasons[k] = r
	return r
}

// dormantDay is a day in the organisation's zone, and whether it is the
// day an account that never logged in was created.
type dormantDay struct {
	y     int
	m     time.Month
	d     int
	never bool
}

// returned: a disabled account accessrecon disabled for a suspension or
// leave of a person HR says is active again, listed for restoration.
func (j *judge) returned(v *verdict) {
	m := v.m
	if v.a.Enabled || !j.back(m, v.s, v.departed) {
		return
	}
	d := v.s.suspendedByUs
	j.add(v, Finding{Kind: Returned, Severity: Medium, Disposition: Review,
		Reason: fmt.Sprintf("HR says %s is active again; accessrecon disabled this account for a suspension or leave in run %d (%s): restore it if the person should have it back (accessrecon never re-enables on its own)",
			m.Person.EmployeeID, d.RunID, j.day(d.At)),
		Evidence: Evidence{{"disabled_by_run", fmt.Sprint(d.RunID)}, {"disabled_at", stamp(d.At)}, {"disabled_for", d.Fingerprint}, {"hr_status", string(m.Person.Status)}}})
}

// credentials: active credentials keep working on their own, so they are
// checked on disabled accounts too: a terminated person's go, and idle
// ones of anyone else not gone need review.
func (j *judge) credentials(v *verdict) {
	a, m := v.a, v.m
	var departedCreds, idle []string
	for _, c := range a.Credentials {
		if !c.Active {
			continue
		}
		// A terminated person's keys go; a suspension is temporary, and its
		// lifecycle (disable, end sessions) leaves keys for a person to judge.
		if v.departedKind == TerminatedActive && !a.Enabled {
			departedCreds = append(departedCreds, c.ID)
			continue
		}
		last := c.LastUsed
		if last.IsZero() {
			last = c.Created
		}
		if !v.departed && !last.IsZero() && j.asOf.Sub(last) > j.policy.CredentialMaxIdle.D() {
			idle = append(idle, c.ID)
		}
	}
	switch {
	case len(departedCreds) > 0:
		f := Finding{Kind: StaleCredential, Severity: High,
			Reason:   fmt.Sprintf("active credentials of %s, who is %s: %s", m.Person.EmployeeID, hrState(m.Person, j.asOf, j.loc), strings.Join(departedCreds, ", ")),
			Evidence: Evidence{{"credentials", strings.Join(departedCreds, ", ")}}}
		if !v.effective.IsZero() {
			effective := v.effective
			f.EffectiveAt = &effective
		}
		j.plan(&f, m, a, departedCreds)
		j.add(v, f)
	case len(idle) > 0:
		j.add(v, Finding{Kind: StaleCredential, Severity: Medium, Disposition: Review,
			Reason:   fmt.Sprintf("active credentials unused for more than %d days: %s", int(j.policy.CredentialMaxIdle.D().Hours()/24), strings.Join(idle, ", ")),
			Evidence: Evidence{{"credentials", strings.Join(idle, ", ")}}})
	}
}

// exempt: a valid exemption naming the account covers every finding of it;
// nothing of it is done automatically.
func (j *judge) exempt(v *verdict) {
	e, ok := j.exemption(v.a)
	if !ok || e.Expired(j.asOf) {
		return
	}
	for i := range v.out {
		ex := e
		v.out[i].Disposition, v.out[i].Exemption = Exempt, &ex
		for k := range v.out[i].Actions {
			v.out[i].Actions[k].Auto = false
		}
	}
}

// back says whether the account is one accessrecon disabled for a
// suspension or leave of a person HR now says is active again: listed for
// restoration (returned), and its re-enabling is that restoration, not a
// reenabled finding.
func (j *judge) back(m Match, s seen, departed bool) bool {
	return s.suspendedByUs != nil && m.Clear() && !departed && m.Person.Status == sources.Active &&
		!j.conflicted(m.Person.EmployeeID)
}

// plan fills a clear finding's steps from the policy's lifecycle and sets its
// disposition: auto_revoke when accessrecon can do every step and policy
// allows the kind, manual_revoke when a person must do some or all of it,
// review when the match is not clear enough to act on. args restricts
// per-item steps to those groups or credentials.
func (j *judge) plan(f *Finding, m Match, a *targets.Account, args []string) {
	if !m.Clear() {
		f.Disposition = Review
		f.Reason += " (match not strong enough to act on: " + f.matchNote(m) + ")"
		return
	}
	if j.conflicted(m.Person.EmployeeID) {
		f.Disposition = Review
		f.Reason += " (HR sources disagree about " + m.Person.EmployeeID + ": see the hr_conflict finding)"
		return
	}
	allowed := j.policy.autoRevokes(f.Kind)
	who := fmt.Sprintf("%s (ID %s) on %s", nonEmpty(a.Username, a.ID), a.ID, j.target)
	var steps []Step
	for _, op := range j.policy.Lifecycle[f.Kind] {
		switch op {
		case targets.CanDisable:
			steps = append(steps, Step{Op: op, Auto: j.caps.Disabler != nil, Manual: "Disable account " + who})
		case targets.CanRevokeSessions:
			steps = append(steps, Step{Op: op, Auto: j.caps.SessionRevoker != nil, Manual: "End every session and revoke refresh tokens of " + who})
		case targets.CanRevokeCredential:
			for _, c := range a.Credentials {
				if c.Active && (args == nil || slices.Contains(args, c.ID)) {
					steps = append(steps, Step{Op: op, Arg: c.ID, Auto: j.caps.CredentialRevoker != nil,
						Manual: fmt.Sprintf("Revoke %s %s of %s", nonEmpty(c.Kind, "credential"), c.ID, who)})
				}
			}
		case targets.CanRemoveFromGroup:
			for _, g := range a.Groups {
				if args == nil || slices.Contains(args, g.ID) {
					s := Step{Op: op, Arg: g.ID, Auto: j.caps.GroupRemover != nil, Manual: fmt.Sprintf("Remove %s from group %s", who, g.Name)}
					if g.Name != g.ID {
						s.Name = g.Name
					}
					steps = append(steps, s)
				}
			}
		}
	}
	all := len(steps) > 0
	for i := range steps {
		if !allowed {
			steps[i].Auto = false
		}
		all = all && steps[i].Auto
	}
	f.Actions = steps
	if all {
		f.Disposition = AutoRevoke
	} else {
		f.Disposition = ManualRevoke
	}
}

func (f *Finding) matchNote(m Match) string {
	if m.Conflict != "" {
		return m.Conflict
	}
	return "matched by " + m.Via + ", which this target does not trust"
}

type excess struct{ all, mover []targets.Group }

// excess compares the account's groups with the role baseline. Groups of
// the person's previous role that the new role does not allow are the mover's
// clear case; other excess needs review. Without a baseline for the job code
// on this target, nothing is excess.
func (j *judge) excess(a *targets.Account, p *PersonRow) excess {
	var out excess
	allowed, ok := j.policy.Roles[p.JobCode][j.target]
	if !ok {
		return out
	}
	var prev []string
	if p.PrevJobCode != "" {
		prev = j.policy.Roles[p.PrevJobCode][j.target]
	}
	for _, g := range a.Groups {
		if slices.ContainsFunc(allowed, namesGroup(g)) {
			continue
		}
		out.all = append(out.all, g)
		if slices.ContainsFunc(prev, namesGroup(g)) {
			out.mover = append(out.mover, g)
		}
	}
	return out
}

// namesGroup says whether what a person wrote (in a baseline, a privileged
// group list) names g: its name or its ID, case-insensitively.
func namesGroup(g targets.Group) func(string) bool {
	return func(s string) bool { return strings.EqualFold(s, g.Name) || strings.EqualFold(s, g.ID) }
}

func groupIDs(gs []targets.Group) []string {
	ids := make([]string, len(gs))
	for i, g := range gs {
		ids[i] = g.ID
	}
	return ids
}

func hrState(p *PersonRow, asOf time.Time, loc *time.Location) string {
	if td := termination(p, asOf); !td.IsZero() && ended(p, asOf) {
		return "terminated since " + dayIn(td, loc)
	}
	if !p.StatusEffective.IsZero() {
		return string(p.Status) + " since " + dayIn(p.StatusEffective, loc)
	}
	return string(p.Status)
}

// dayIn is t as a date in loc ("" for the zero time).
func dayIn(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02")
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func nonEmpty(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// day is t as a date in the organisation's zone.
func (j *judge) day(t time.Time) string { return dayIn(t, j.loc) }

// ownAccount is a copy of a that shares no memory with what the connector
// handed out. A connector may slice an account's strings out of memory it
// shares with many other accounts (a CSV line, a slab of group lists): a
// finding that kept them to the end of the run would keep all of that
// (at 100,000 people x 10 targets, every account's line and groups, 240 MB).
func ownAccount(a *targets.Account) *targets.Account {
	c := *a
	ss := []*string{&c.ID, &c.Username, &c.Email, &c.DN, &c.EmployeeID, &c.DisplayName}
	if a.Groups != nil {
		c.Groups = slices.Clone(a.Groups)
		for i := range c.Groups {
			ss = append(ss, &c.Groups[i].ID, &c.Groups[i].Name)
		}
	}
	if a.Credentials != nil {
		c.Credentials = slices.Clone(a.Credentials)
		for i := range c.Credentials {
			ss = append(ss, &c.Credentials[i].ID, &c.Credentials[i].Kind)
		}
	}
	ownStrings(ss...)
	return &c
}

// ownStrings points each of ss at a copy of its string, all in one
// allocation of their own (see ownAccount).
func ownStrings(ss ...*string) {
	n := 0
	for _, s := range ss {
		n += len(*s)
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range ss {
		b.WriteString(*s)
		all := b.String() // the bytes written so far; never moved (Grow(n))
		*s = all[len(all)-len(*s):]
	}
}
