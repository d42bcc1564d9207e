package xlsx

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// Leavers: one row per person HR says is gone (terminated or suspended),
// across every target, for one run or a period.

// HREvents answers when an HR webhook first named a person: the SLA clock
// starts then when it came before HR's effective time (as `accessrecon
// sla` counts it). *store.Store implements it.
type HREvents interface {
	FirstHREvent(ctx context.Context, employeeID string, from, to time.Time) (time.Time, error)
}

// webhookLookback bounds how long before a revocation a webhook receipt
// still starts its clock (as cmd/accessrecon's sla).
const webhookLookback = 30 * 24 * time.Hour

// leaverAccount is one account of a leaver on one target, as the latest
// finding about it (in the run or the period) left it.
type leaverAccount struct {
	target, accountID, username, tier string
	fingerprint                       string
	kind                              reconcile.Kind
	// effective is HR's effective time.
	effective time.Time
	// manual are the steps a person must do; acked says when each was
	// acknowledged done (accessrecon ack, by op and arg), and by whom.
	manual []manualStep
	acked  map[[2]string]store.Action
	// start and allowed are the account's SLA clock (reconcile's
	// Policy.Clock): HR's effective time, or the webhook when that came
	// first (zero: unknown), and the tier's SLA.
	start   time.Time
	allowed time.Duration
	// revokedAt is when the account's access was all gone: every
	// automatic step done and verified, and every person's step
	// acknowledged (zero: not yet).
	revokedAt time.Time
	// autoRevoked is accessrecon's verified revocation (the executor's
	// Finding.RevokedAt: its automatic steps). recorded is the revocation
	// the store records: the automatic steps verified and every person's
	// step acknowledged (revokedAt without what a later run merely saw),
	// and slaStart its clock's start: what `accessrecon sla` counts.
	autoRevoked, recorded, slaStart time.Time
	hasAuto                         bool
	// disposition and outcome are the latest finding's: with manual and
	// exemption, what open says.
	disposition reconcile.Disposition
	outcome     reconcile.Outcome
	// ackedBy is who acknowledged the last manual step, when a person's
	// acknowledgement revoked the account.
	ackedBy string
	// lastSeen is the as-of time of the run of the account's latest
	// finding; seenGone, when the account was revoked outside accessrecon,
	// the as-of time of the run that saw it no longer enabled (its
	// finding resolved): revokedAt is then that time, an upper bound.
	lastSeen, seenGone time.Time
	exemption          *reconcile.Exemption
}

func (a *leaverAccount) exempt() bool { return a.exemption != nil && a.revokedAt.IsZero() }

// manualStep is a step a person must do: its op and argument, which an
// acknowledgement names, and the finding's words for it.
type manualStep struct{ op, arg, text string }

func (m manualStep) key() [2]string { return [2]string{m.op, m.arg} }

// open says what is still to be done about an account not revoked. It is
// worded when the row is written, not kept from the start: the words name
// the account, and each account's were a string of its own (53 MB for the
// 385,000 leaver accounts of a million people, held until the workbook was
// saved; the steps' words, shared with the findings, cost 16 bytes a step:
// 21 MB less in all).
func (a *leaverAccount) open() string {
	if a.disposition == reconcile.Exempt {
		if e := a.exemption; e != nil {
			return fmt.Sprintf("exempt until %s: %s (owner %s, approved by %s)", e.Expires.Format("2006-01-02"), e.Reason, e.Owner, e.Approver)
		}
		return "exempt"
	}
	switch {
	case a.outcome == reconcile.OutcomeFailed:
		return "revocation failed; retried next run"
	case a.outcome == reconcile.OutcomeBlocked:
		return "blocked by a guard or hold"
	case len(a.manual) > 0:
		texts := make([]string, len(a.manual))
		for i, m := range a.manual {
			texts[i] = m.text
		}
		return "manual step open: " + strings.Join(texts, "; ")
	case a.outcome == reconcile.OutcomePlanned:
		return "planned (report mode)"
	}
	return "open"
}

// leaver is one person HR says is gone.
type leaver struct {
	employeeID, name, status string
	effective                time.Time
	accounts                 []*leaverAccount
}

// start is the person's SLA clock: the earliest start of their accounts.
func (l *leaver) start() time.Time {
	var s time.Time
	for _, a := range l.accounts {
		if !a.start.IsZero() && (s.IsZero() || a.start.Before(s)) {
			s = a.start
		}
	}
	return s
}

// Leaver statuses.
const (
	leaverMet      = "met"
	leaverBreached = "breached"
	leaverOpen     = "open"
	leaverExempt   = "exempt"
	leaverUnknown  = "no effective time"
)

// tierState is a leaver's standing in one tier: the last revocation of the
// tier's accounts (zero while one is not revoked), and the verdict.
type tierState struct {
	tier        string
	allowed     time.Duration
	lastRevoked time.Time
	revoked     bool // every non-exempt account of the tier revoked
	status      string
}

// tiers judges the leaver per tier at asOf (the time open accounts are
// measured to), in tier order.
func (l *leaver) tiers(asOf time.Time) []tierState {
	start := l.start()
	var out []tierState
	for _, a := range l.accounts {
		if a.exempt() {
			continue
		}
		i := slices.IndexFunc(out, func(t tierState) bool { return t.tier == a.tier })
		if i < 0 {
			out = append(out, tierState{tier: a.tier, allowed: a.allowed, revoked: true})
			i = len(out) - 1
		}
		t := &out[i]
		if a.revokedAt.IsZero() {
			t.revoked = false
		} else if a.revokedAt.After(t.lastRevoked) {
			t.lastRevoked = a.revokedAt
		}
	}
	for i := range out {
		t := &out[i]
		switch {
		case start.IsZero():
			t.status = leaverUnknown
		case t.revoked && t.lastRevoked.Sub(start) <= t.allowed:
			t.status = leaverMet
		case t.revoked, asOf.Sub(start) > t.allowed:
			t.status = leaverBreached
		default:
			t.status = leaverOpen
		}
		if !t.revoked {
			t.lastRevoked = time.Time{}
		}
	}
	slices.SortFunc(out, func(a, b tierState) int {
		return cmp.Or(cmp.Compare(a.allowed, b.allowed), cmp.Compare(a.tier, b.tier))
	})
	return out
}

// verdict is the leaver's overall status: breached when any tier is,
// open while any is, met when every tier is; exempt when every account is
// covered by an exemption.
func verdict(ts []tierState) string {
	if len(ts) == 0 {
		return leaverExempt
	}
	out := leaverMet
	for _, t := range ts {
		switch {
		case t.status == leaverBreached:
			return leaverBreached
		case t.status == leaverUnknown:
			out = leaverUnknown
		case t.status == leaverOpen && out == leaverMet:
			out = leaverOpen
		}
	}
	return out
}

// fullyRevoked is the time the leaver's last non-exempt account was
// revoked (zero while one is open or none is to be revoked).
func fullyRevoked(ts []tierState) time.Time {
	var last time.Time
	for _, t := range ts {
		if !t.revoked {
			return time.Time{}
		}
		if t.lastRevoked.After(last) {
			last = t.lastRevoked
		}
	}
	return last
}

// leaverSet gathers leavers from findings, oldest run first: the latest
// finding of an account decides its state.
type leaverSet struct {
	policy *reconcile.Policy
	people map[string]*leaver
	byAcct map[[2]string]*leaverAccount
}

func newLeaverSet(p *reconcile.Policy) *leaverSet {
	return &leaverSet{policy: p, people: map[string]*leaver{}, byAcct: map[[2]string]*leaverAccount{}}
}

func isLeaverFinding(f *reconcile.Finding) bool {
	return f.Kind == reconcile.TerminatedActive || f.Kind == reconcile.SuspendedActive
}

// add takes one terminated_active or suspended_active finding of the run
// as of asOf.
func (s *leaverSet) add(f *reconcile.Finding, asOf time.Time) {
	id, name, status, _ := person(f)
	key := strings.ToUpper(strings.TrimSpace(id))
	if key == "" {
		key = "account:" + f.Target + "\x00" + f.AccountID
	}
	l := s.people[key]
	if l == nil {
		l = &leaver{employeeID: id}
		s.people[key] = l
	}
	l.name, l.status = cmp.Or(name, l.name), cmp.Or(status, l.status)
	if e := f.EffectiveAt; e != nil && (l.effective.IsZero() || e.Before(l.effective)) {
		l.effective = e.UTC()
	}
	ak := [2]string{f.Target, f.AccountID}
	a := s.byAcct[ak]
	if a == nil {
		a = &leaverAccount{target: f.Target, accountID: f.AccountID}
		s.byAcct[ak] = a
		l.accounts = append(l.accounts, a)
	}
	a.username = cmp.Or(f.Username, a.username)
	a.tier, a.kind, a.fingerprint = string(reconcile.TierOf(f.Tier)), f.Kind, f.Fingerprint
	a.effective = time.Time{}
	if f.EffectiveAt != nil {
		a.effective = f.EffectiveAt.UTC()
	}
	a.revokedAt, a.exemption, a.manual, a.acked, a.lastSeen, a.hasAuto = time.Time{}, nil, nil, nil, asOf.UTC(), false
	a.disposition, a.outcome = f.Disposition, f.Outcome
	for _, st := range f.Actions {
		if st.Auto {
			a.hasAuto = true
		} else {
			a.manual = append(a.manual, manualStep{string(st.Op), st.Arg, cmp.Or(st.Manual, string(st.Op))})
		}
	}
	if f.RevokedAt != nil {
		// The automatic steps are done and verified; a person's steps
		// beside them stay open until acknowledged.
		a.autoRevoked = f.RevokedAt.UTC()
		if len(a.manual) == 0 {
			a.revokedAt = a.autoRevoked
			return
		}
	}
	if f.Disposition == reconcile.Exempt && f.Exemption != nil {
		e := *f.Exemption
		a.exemption = &e
	}
}

// ack takes an action of the period: a manual step a person acknowledged
// done (accessrecon ack) after the run that opened it.
func (s *leaverSet) ack(act store.Action) {
	if act.Status != store.ActionAcknowledged || !act.Verified {
		return
	}
	a := s.byAcct[[2]string{act.Target, act.AccountID}]
	if a == nil || a.fingerprint != act.Fingerprint {
		return
	}
	if a.acked == nil {
		a.acked = map[[2]string]store.Action{}
	}
	k := [2]string{act.Op, act.Arg}
	if old, ok := a.acked[k]; !ok || act.FinishedAt.After(old.FinishedAt) {
		a.acked[k] = act
	}
}

// resolved takes the life of the leavers' fingerprints across runs (nil:
// none known): an account still open in its latest finding whose problem a
// later run resolved (the account seen disabled or gone) up to `to` was
// revoked outside accessrecon by then.
func (s *leaverSet) resolved(states map[string]store.FindingState, to time.Time) {
	for _, a := range s.byAcct {
		st, ok := states[a.fingerprint]
		if !ok || !a.revokedAt.IsZero() || a.exemption != nil || !st.Resolved || !st.ResolvedAt.After(a.lastSeen) || st.ResolvedAt.After(to) {
			continue
		}
		a.seenGone = st.ResolvedAt.UTC()
	}
}

// fingerprints lists the fingerprints of the leavers' accounts.
func (s *leaverSet) fingerprints() []string {
	out := make([]string, 0, len(s.byAcct))
	for _, a := range s.byAcct {
		out = append(out, a.fingerprint)
	}
	return out
}

// finish settles every account once the findings (and acknowledgements)
// are in: an account whose manual steps were all acknowledged is revoked
// when the last was; one seen no longer enabled by a later run (and not
// acknowledged) is revoked by that run's time; a revoked account's clock starts at the first HR
// webhook about the person when that came first (as `accessrecon sla`,
// ev nil: no webhooks); each clock is reconcile's Policy.Clock.
func (s *leaverSet) finish(ctx context.Context, ev HREvents) error {
	for _, l := range s.people {
		for _, a := range l.accounts {
			if a.revokedAt.IsZero() && len(a.manual) > 0 && len(a.acked) > 0 && (!a.hasAuto || !a.autoRevoked.IsZero()) {
				var last store.Action
				done := true
				for _, m := range a.manual {
					act, ok := a.acked[m.key()]
					done = done && ok
					if ok && act.FinishedAt.After(last.FinishedAt) {
						last = act
					}
				}
				if done {
					a.revokedAt = last.FinishedAt.UTC()
					if a.autoRevoked.After(a.revokedAt) {
						a.revokedAt = a.autoRevoked
					}
					a.ackedBy = strings.TrimPrefix(last.Error, "done by ")
				}
			}
			a.recorded = a.revokedAt
			if a.revokedAt.IsZero() && !a.seenGone.IsZero() {
				a.revokedAt = a.seenGone
			}
			var err error
			if a.start, a.allowed, err = s.clock(ctx, ev, l.employeeID, a, a.revokedAt); err != nil {
				return err
			}
			if a.slaStart, _, err = s.clock(ctx, ev, l.employeeID, a, a.recorded); err != nil {
				return err
			}
		}
	}
	return nil
}

// clock is the start and allowed time of an account's SLA clock
// (reconcile's Policy.Clock) for a revocation at revoked (zero: open): HR's
// effective time, or the first HR webhook about the person in the 30 days
// before the revocation when that came first (as `accessrecon sla`).
func (s *leaverSet) clock(ctx context.Context, ev HREvents, employeeID string, a *leaverAccount, revoked time.Time) (time.Time, time.Duration, error) {
	var hook time.Time
	if ev != nil && employeeID != "" && !revoked.IsZero() {
		var err error
		if hook, err = ev.FirstHREvent(ctx, employeeID, revoked.Add(-webhookLookback), revoked); err != nil {
			return time.Time{}, 0, err
		}
	}
	f := reconcile.Finding{Kind: a.kind, Tier: a.tier}
	if !a.effective.IsZero() {
		f.EffectiveAt = &a.effective
	}
	if !revoked.IsZero() {
		f.RevokedAt = &revoked
	}
	if c, ok := s.policy.Clock(&f, time.Time{}, hook); ok {
		return c.Start, c.Allowed, nil
	}
	return a.effective, s.policy.SLAFor(reconcile.TierOf(a.tier)), nil
}

// sorted lists the leavers by effective time, then employee ID.
func (s *leaverSet) sorted() []*leaver {
	out := make([]*leaver, 0, len(s.people))
	for _, l := range s.people {
		slices.SortFunc(l.accounts, func(a, b *leaverAccount) int {
			return cmp.Or(cmp.Compare(a.target, b.target), cmp.Compare(a.accountID, b.accountID))
		})
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b *leaver) int {
		return cmp.Or(a.effective.Compare(b.effective), cmp.Compare(a.employeeID, b.employeeID))
	})
	return out
}

// slaShare counts leavers (or revocations) within SLA.
type slaShare struct {
	tier                                 string
	allowed                              time.Duration
	leavers, revoked, within, open, late int
	// accounts: revocations counted per account, as `accessrecon sla`:
	// automatic steps verified and every person's step acknowledged, not
	// accounts a later run merely saw revoked outside accessrecon.
	accounts, accountsWithin int
}

func (s slaShare) share() any {
	if s.revoked == 0 {
		return nil
	}
	return float64(s.within) / float64(s.revoked)
}

func (s slaShare) accountShare() any {
	if s.accounts == 0 {
		return nil
	}
	return float64(s.accountsWithin) / float64(s.accounts)
}

// shares counts, per tier and overall (tier ""), the leavers fully revoked
// and within SLA, the open ones and the open ones past SLA, and the
// revocations per account.
func shares(ls []*leaver, asOf time.Time) []slaShare {
	var out []slaShare
	get := func(tier string, allowed time.Duration) *slaShare {
		i := slices.IndexFunc(out, func(s slaShare) bool { return s.tier == tier })
		if i < 0 {
			out = append(out, slaShare{tier: tier, allowed: allowed})
			i = len(out) - 1
		}
		return &out[i]
	}
	all := slaShare{}
	for _, l := range ls {
		ts := l.tiers(asOf)
		if len(ts) == 0 || ts[0].status == leaverUnknown {
			continue
		}
		for _, t := range ts {
			s := get(t.tier, t.allowed)
			s.leavers++
			switch {
			case t.revoked:
				s.revoked++
				if t.status == leaverMet {
					s.within++
				}
			case t.status == leaverBreached:
				s.open++
				s.late++
			default:
				s.open++
			}
		}
		all.leavers++
		switch v := verdict(ts); {
		case !fullyRevoked(ts).IsZero():
			all.revoked++
			if v == leaverMet {
				all.within++
			}
		case v == leaverBreached:
			all.open++
			all.late++
		default:
			all.open++
		}
		for _, a := range l.accounts {
			// accessrecon sla counts the revocations the store records:
			// automatic steps verified and people's steps acknowledged,
			// not accounts a later run merely saw disabled.
			if a.recorded.IsZero() || a.slaStart.IsZero() {
				continue
			}
			s := get(a.tier, a.allowed)
			within := max(a.recorded.Sub(a.slaStart), 0) <= a.allowed
			s.accounts++
			all.accounts++
			if within {
				s.accountsWithin++
				all.accountsWithin++
			}
		}
	}
	slices.SortFunc(out, func(a, b slaShare) int { return cmp.Or(cmp.Compare(a.allowed, b.allowed), cmp.Compare(a.tier, b.tier)) })
	return append(out, all)
}

// local is t's wall-clock time in loc, as a zone-less spreadsheet date.
func local(t time.Time, loc *time.Location) time.Time {
	if t.IsZero() {
		return t
	}
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// leaversSheet writes the Leavers sheet: one row per leaver, then the
// shares within SLA per tier and overall. asOf is when open accounts are
// measured to.
func (w *writer) leaversSheet(sheet string, ls []*leaver, asOf time.Time, loc *time.Location) error {
	zone := loc.String()
	cols := []column{{"Employee ID", 11}, {"Name", 18}, {"HR status", 11}, {"Effective (" + zone + ")", 16}, {"Accounts (target: account, revoked or what is open)", 58},
		{"Fully revoked (" + zone + ")", 16}, {"Time to full revocation", 13}, {"Hours", 8}, {"Tier SLA", 18}, {"Status", 10}}
	cells := make([]any, len(cols))
	return w.table(sheet, cols, len(ls), func(emit func([]any) error) error {
		for _, l := range ls {
			ts := l.tiers(asOf)
			var accts []string
			for _, a := range l.accounts {
				who := a.accountID
				if a.username != "" && a.username != a.accountID {
					who = a.username + " (" + a.accountID + ")"
				}
				var state string
				if a.revokedAt.IsZero() {
					state = a.open()
				}
				if !a.autoRevoked.IsZero() && a.revokedAt.IsZero() {
					state = "disabled " + local(a.autoRevoked, loc).Format("2006-01-02 15:04") + "; " + state
				}
				if !a.revokedAt.IsZero() {
					state = "revoked " + local(a.revokedAt, loc).Format("2006-01-02 15:04")
					switch {
					case a.ackedBy != "":
						state = "done by " + a.ackedBy + " (acknowledged) " + local(a.revokedAt, loc).Format("2006-01-02 15:04")
					case !a.seenGone.IsZero():
						state = "revoked outside accessrecon: seen disabled by the run as of " + local(a.revokedAt, loc).Format("2006-01-02 15:04")
					}
					if !a.start.IsZero() {
						state += " (" + duration(a.revokedAt.Sub(a.start)) + ")"
					}
				}
				accts = append(accts, fmt.Sprintf("%s [%s]: %s: %s", a.target, a.tier, who, state))
			}
			var slas []string
			for _, t := range ts {
				slas = append(slas, t.tier+" "+duration(t.allowed))
			}
			full, start := fullyRevoked(ts), l.start()
			var took, hours any
			switch {
			case !full.IsZero() && !start.IsZero():
				took, hours = duration(full.Sub(start)), excelize.Cell{StyleID: w.decimal, Value: full.Sub(start).Hours()}
			case len(ts) > 0 && !start.IsZero():
				took = duration(asOf.Sub(start)) + " so far"
			}
			cells = append(cells[:0], l.employeeID, l.name, l.status, dateCell(local(l.effective, loc), w.dateTime), strings.Join(accts, "\n"),
				dateCell(local(full, loc), w.dateTime), took, hours, strings.Join(slas, ", "), verdict(ts))
			if err := emit(cells); err != nil {
				return err
			}
		}
		if len(ls) == 0 {
			return nil
		}
		// The shares within SLA, below the table.
		blank := make([]any, len(cols))
		if err := emit(blank); err != nil {
			return err
		}
		head := make([]any, 0, len(cols))
		for _, t := range []string{"Tier", "Tier SLA", "Leavers", "Fully revoked", "Within SLA", "Share within SLA", "Still open", "Late",
			"Accounts in SLA", "Share"} {
			head = append(head, excelize.Cell{StyleID: w.header, Value: t})
		}
		if err := emit(head); err != nil {
			return err
		}
		for _, s := range shares(ls, asOf) {
			label, allowed := s.tier, any(duration(s.allowed))
			if s.tier == "" {
				label, allowed = "overall", "every tier"
			}
			row := []any{label, allowed, excelize.Cell{StyleID: w.integer, Value: s.leavers}, excelize.Cell{StyleID: w.integer, Value: s.revoked},
				excelize.Cell{StyleID: w.integer, Value: s.within}, percentCell(s.share(), w.percent), excelize.Cell{StyleID: w.integer, Value: s.open},
				excelize.Cell{StyleID: w.integer, Value: s.late}, fmt.Sprintf("%d of %d", s.accountsWithin, s.accounts), percentCell(s.accountShare(), w.percent)}
			if err := emit(row); err != nil {
				return err
			}
		}
		return nil
	})
}

func percentCell(v any, style int) any {
	if v == nil {
		return "n/a"
	}
	return excelize.Cell{StyleID: style, Value: v}
}
