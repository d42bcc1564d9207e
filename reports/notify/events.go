package notify

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/targets"
)

// EventType is what a notification is about.
type EventType string

// The event types, as written in a sink's events: list.
const (
	// EventRevocations is the digest of the revocations a run carried out
	// (and of those that failed): one per run, never one per account.
	EventRevocations EventType = "revocations"
	// EventGuardTripped says a safety rail stopped enforcement (HR shrink,
	// blast radius).
	EventGuardTripped EventType = "guard_tripped"
	// EventSLABreach lists terminations and suspensions past their tier's
	// SLA: revoked late, or still open past the deadline.
	EventSLABreach EventType = "sla_breach"
	// EventRunFailed says a run failed, was cancelled, or finished partial
	// (a source or target could not be read whole).
	EventRunFailed EventType = "run_failed"
	// EventDrill is the result of a termination drill.
	EventDrill EventType = "drill"
)

// EventTypes lists every event type.
var EventTypes = []EventType{EventRevocations, EventGuardTripped, EventSLABreach, EventRunFailed, EventDrill}

// severityRank orders severities, most severe first.
func severityRank(s reconcile.Severity) int {
	switch s {
	case reconcile.Critical:
		return 0
	case reconcile.High:
		return 1
	case reconcile.Medium:
		return 2
	case reconcile.Low:
		return 3
	}
	return 4
}

// Subject is a person and account an event is about, for machine readers
// (the generic webhook's JSON).
type Subject struct {
	EmployeeID string `json:"employee_id,omitempty"`
	Name       string `json:"name,omitempty"`
	Target     string `json:"target,omitempty"`
	AccountID  string `json:"account_id,omitempty"`
	Username   string `json:"username,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Outcome    string `json:"outcome,omitempty"`
}

// Event is one thing worth telling people, derived from a finished run or a
// drill. Its text is plain (no markup) and already printable: each sink
// escapes it for its own format when it renders the message.
type Event struct {
	// Key identifies the event across runs: "run-42/revocations",
	// "drill-7". A notification's ID is its sink's name and this key.
	Key      string             `json:"key"`
	Type     EventType          `json:"type"`
	Severity reconcile.Severity `json:"severity"`
	RunID    int64              `json:"run_id,omitempty"`
	// At is when the run (or drill) finished.
	At time.Time `json:"at"`
	// Title is the one-line summary; Lines the items under it (at most
	// Config.MaxItems); More how many items were left out.
	Title string   `json:"title"`
	Lines []string `json:"lines,omitempty"`
	More  int      `json:"more,omitempty"`
	// URL links to the run's evidence ("" when run_url is not configured).
	URL string `json:"url,omitempty"`
	// Subjects are the people and accounts concerned (at most
	// Config.MaxItems, like Lines).
	Subjects []Subject `json:"subjects,omitempty"`
}

// sanitized returns the event with its text made printable again: events
// also come back from the Outbox and from callers of SendEvents.
func (ev Event) sanitized() Event {
	ev.Title = clean(ev.Title, 2*lineLen)
	lines := make([]string, len(ev.Lines))
	for i, l := range ev.Lines {
		lines[i] = clean(l, lineLen)
	}
	ev.Lines = lines
	ev.URL = clean(ev.URL, 2000)
	return ev
}

// lineLen bounds one line of a message, in bytes.
const lineLen = 240

// clean makes text fit for a message line: one line, control characters
// escaped (targets.Printable), cut at limit bytes.
func clean(s string, limit int) string { return targets.Printable(s, limit) }

// who names a person the way messages do: "Jane Doe (E1001)", or the
// account when the person is unknown.
func who(f *reconcile.Finding) string {
	id := f.EmployeeID
	name := ""
	if f.Person != nil {
		id = cmp.Or(f.Person.EmployeeID, id)
		name = f.Person.Name
	}
	switch {
	case name != "" && id != "":
		return clean(name, 160) + " (" + clean(id, 40) + ")"
	case id != "":
		return "employee " + clean(id, 40)
	case name != "":
		return clean(name, 160)
	}
	return "account " + clean(f.Target, 40) + "/" + clean(cmp.Or(f.Username, f.AccountID), 60)
}

func account(f *reconcile.Finding) string {
	a := cmp.Or(f.Username, f.AccountID)
	return clean(f.Target, 40) + " " + clean(a, 80)
}

func subject(f *reconcile.Finding) Subject {
	s := Subject{EmployeeID: f.EmployeeID, Target: f.Target, AccountID: f.AccountID, Username: f.Username, Kind: string(f.Kind), Outcome: string(f.Outcome)}
	if f.Person != nil {
		s.EmployeeID = cmp.Or(f.Person.EmployeeID, s.EmployeeID)
		s.Name = f.Person.Name
	}
	return s
}

// runLink is the run's URL: the prefix with {run} replaced, or the run ID
// appended.
func runLink(prefix string, runID int64) string {
	if prefix == "" || runID == 0 {
		return ""
	}
	id := strconv.FormatInt(runID, 10)
	if strings.Contains(prefix, "{run}") {
		return strings.ReplaceAll(prefix, "{run}", id)
	}
	return prefix + id
}

// Events derives the events of a finished run: at most one of each type.
// A run that failed before judging anything yields only run_failed.
func (n *Notifier) Events(res *reconcile.Result) []Event {
	return deriveEvents(res, n.cfg.RunURL, n.cfg.MaxItems)
}

func deriveEvents(res *reconcile.Result, runURL string, maxItems int) []Event {
	if res == nil {
		return nil
	}
	base := Event{RunID: res.Run.ID, At: cmp.Or(res.Run.FinishedAt, res.Run.AsOf).UTC(), URL: runLink(runURL, res.Run.ID)}
	key := func(t EventType) string { return fmt.Sprintf("run-%d/%s", res.Run.ID, t) }
	var out []Event
	if ev, ok := revocationsEvent(res, maxItems); ok {
		ev.Key, ev.RunID, ev.At, ev.URL = key(ev.Type), base.RunID, base.At, base.URL
		out = append(out, ev)
	}
	if len(res.Run.Guards) > 0 {
		ev := base
		ev.Key, ev.Type, ev.Severity = key(EventGuardTripped), EventGuardTripped, reconcile.Critical
		ev.Title = fmt.Sprintf("accessrecon run %d: a safety rail stopped enforcement (%d)", res.Run.ID, len(res.Run.Guards))
		for i, g := range res.Run.Guards {
			if i == maxItems {
				ev.More = len(res.Run.Guards) - i
				break
			}
			ev.Lines = append(ev.Lines, clean(g, lineLen))
		}
		out = append(out, ev)
	}
	if br := SLABreaches(res); len(br) > 0 {
		ev := base
		ev.Key, ev.Type, ev.Severity = key(EventSLABreach), EventSLABreach, reconcile.High
		open := 0
		for _, b := range br {
			if b.Open {
				open++
			}
			if b.Tier == "critical" {
				ev.Severity = reconcile.Critical
			}
		}
		ev.Title = fmt.Sprintf("accessrecon run %d: %d revocations past their SLA (%d still open)", res.Run.ID, len(br), open)
		for i, b := range br {
			if i == maxItems {
				ev.More = len(br) - i
				break
			}
			state := fmt.Sprintf("revoked after %s", b.Elapsed.Round(time.Minute))
			if b.Open {
				state = fmt.Sprintf("still enabled after %s", b.Elapsed.Round(time.Minute))
			}
			ev.Lines = append(ev.Lines, clean(fmt.Sprintf("%s: %s, %s, %s (tier %s, SLA %s)", who(b.Finding), account(b.Finding), b.Finding.Kind, state, b.Tier, b.Allowed), lineLen))
			ev.Subjects = append(ev.Subjects, subject(b.Finding))
		}
		out = append(out, ev)
	}
	switch res.Run.Status {
	case reconcile.StatusFailed, reconcile.StatusCancelled, reconcile.StatusPartial:
		ev := base
		ev.Key, ev.Type, ev.Severity = key(EventRunFailed), EventRunFailed, reconcile.Critical
		if res.Run.Status != reconcile.StatusFailed {
			ev.Severity = reconcile.High
		}
		ev.Title = fmt.Sprintf("accessrecon run %d %s", res.Run.ID, res.Run.Status)
		if res.Run.Job != "" {
			ev.Title += " (job " + clean(res.Run.Job, 60) + ")"
		}
		var lines []string
		for _, c := range res.Collections {
			if c.Status == "ok" {
				continue
			}
			lines = append(lines, clean(fmt.Sprintf("%s %s: %s after %d records: %s", c.Side, c.Name, c.Status, c.Count, c.Error), lineLen))
		}
		if len(lines) == 0 && res.Run.Error != "" {
			lines = append(lines, clean(res.Run.Error, lineLen))
		}
		for i, l := range lines {
			if i == maxItems {
				ev.More = len(lines) - i
				break
			}
			ev.Lines = append(ev.Lines, l)
		}
		out = append(out, ev)
	}
	return out
}

// revocationsEvent is the run's digest of revocations done and failed,
// grouped by person.
func revocationsEvent(res *reconcile.Result, maxItems int) (Event, bool) {
	type person struct {
		who      string
		accounts []string
		failed   int
		subjects []Subject
	}
	var order []string
	people := map[string]*person{}
	done, failed := 0, 0
	for _, f := range res.Findings {
		if f.Disposition != reconcile.AutoRevoke || (f.Outcome != reconcile.OutcomeDone && f.Outcome != reconcile.OutcomeFailed) {
			continue
		}
		w := who(f)
		p := people[w]
		if p == nil {
			p = &person{who: w}
			people[w] = p
			order = append(order, w)
		}
		a := account(f)
		if f.Outcome == reconcile.OutcomeFailed {
			failed++
			p.failed++
			a += " (FAILED)"
		} else {
			done++
		}
		if !slices.Contains(p.accounts, a) {
			p.accounts = append(p.accounts, a)
		}
		p.subjects = append(p.subjects, subject(f))
	}
	if done+failed == 0 {
		return Event{}, false
	}
	ev := Event{Type: EventRevocations, Severity: reconcile.Low}
	ev.Title = fmt.Sprintf("accessrecon run %d revoked access of %d people (%d accounts)", res.Run.ID, len(order), done)
	if failed > 0 {
		ev.Severity = reconcile.High
		ev.Title += fmt.Sprintf("; %d revocations FAILED and need a person", failed)
	}
	// People with a failure first, then in the order the findings came
	// (severity first).
	slices.SortStableFunc(order, func(a, b string) int { return cmp.Compare(people[b].failed, people[a].failed) })
	for i, w := range order {
		if i == maxItems {
			ev.More = len(order) - i
			break
		}
		p := people[w]
		ev.Lines = append(ev.Lines, clean(p.who+": "+strings.Join(p.accounts, ", "), lineLen))
		ev.Subjects = append(ev.Subjects, p.subjects...)
	}
	return ev, true
}

// SLABreach is a termination or suspension whose revocation is past its
// tier's SLA.
type SLABreach struct {
	Finding *reconcile.Finding
	Tier    string
	Allowed time.Duration
	// Elapsed is from HR's effective time to the revocation, or to the run's
	// as-of time when the account is still enabled (Open).
	Elapsed time.Duration
	Open    bool
}

// SLABreaches computes, from a finished run's Result alone, the
// terminations and suspensions past their tier's SLA. reconcile has no SLA
// helper of its own yet: it sets Finding.WithinSLA on the revocations it
// carries out, and this function adds the open ones, judged the way
// reconcile's executor judges revocations (HR's effective time plus
// Policy.SLA of the finding's tier, "standard" when unset) at the run's
// as-of time. Exempt findings and findings without an effective time are
// not on the clock. When reconcile grows a helper, this should call it.
func SLABreaches(res *reconcile.Result) []SLABreach {
	var out []SLABreach
	for _, f := range res.Findings {
		if f.Kind != reconcile.TerminatedActive && f.Kind != reconcile.SuspendedActive {
			continue
		}
		if f.EffectiveAt == nil || f.Disposition == reconcile.Exempt {
			continue
		}
		tier := cmp.Or(f.Tier, "standard")
		allowed, ok := res.Policy.SLA[tier]
		if !ok {
			continue
		}
		b := SLABreach{Finding: f, Tier: tier, Allowed: allowed.D()}
		switch {
		case f.WithinSLA != nil:
			if *f.WithinSLA {
				continue
			}
			if f.RevokedAt != nil {
				b.Elapsed = f.RevokedAt.Sub(*f.EffectiveAt)
			}
		case f.RevokedAt != nil:
			continue
		default:
			b.Elapsed, b.Open = res.Run.AsOf.Sub(*f.EffectiveAt), true
			if b.Elapsed <= b.Allowed {
				continue
			}
		}
		out = append(out, b)
	}
	return out
}

// DrillResult is the outcome of one termination drill (accessrecon drill),
// filled in by the drill command and sent with Notifier.SendDrill.
type DrillResult struct {
	// ID is the drill's record ID in the store.
	ID string `json:"id"`
	// Scenario is terminate, suspend or move.
	Scenario string `json:"scenario"`
	// By is who ran it ("schedule" for serve's cron).
	By         string        `json:"by"`
	RunID      int64         `json:"run_id,omitempty"`
	StartedAt  time.Time     `json:"started_at"`
	FinishedAt time.Time     `json:"finished_at"`
	Targets    []DrillTarget `json:"targets"`
}

// DrillTarget is one target's part of a drill.
type DrillTarget struct {
	Target string `json:"target"`
	Tier   string `json:"tier"`
	// Canary is the canary account exercised (its username or ID).
	Canary string `json:"canary"`
	// Elapsed is from the injected HR event to the verified revocation (0
	// when it never was).
	Elapsed time.Duration `json:"elapsed"`
	SLA     time.Duration `json:"sla"`
	Passed  bool          `json:"passed"`
	// Restored says whether the canary was put back afterwards.
	Restored bool `json:"restored"`
	// Error says what went wrong, when something did.
	Error string `json:"error,omitempty"`
}

// Passed says whether every target passed.
func (d DrillResult) Passed() bool {
	for _, t := range d.Targets {
		if !t.Passed {
			return false
		}
	}
	return len(d.Targets) > 0
}

// DrillEvent is the drill_result event of a drill.
func (n *Notifier) DrillEvent(d DrillResult) Event {
	return drillEvent(d, n.cfg.RunURL, n.cfg.MaxItems)
}

func drillEvent(d DrillResult, runURL string, maxItems int) Event {
	key := d.ID
	if key == "" {
		key = strconv.FormatInt(d.FinishedAt.Unix(), 10)
	}
	ev := Event{Key: "drill-" + clean(key, 60), Type: EventDrill, Severity: reconcile.Low, RunID: d.RunID, At: d.FinishedAt.UTC(), URL: runLink(runURL, d.RunID)}
	failed, unrestored := 0, 0
	for _, t := range d.Targets {
		if !t.Passed {
			failed++
		}
		if !t.Restored {
			unrestored++
		}
	}
	verdict := "PASSED"
	if !d.Passed() {
		verdict, ev.Severity = "FAILED", reconcile.High
	}
	ev.Title = fmt.Sprintf("accessrecon %s drill %s: %d of %d targets within SLA", clean(d.Scenario, 20), verdict, len(d.Targets)-failed, len(d.Targets))
	if d.By != "" {
		ev.Title += " (run by " + clean(d.By, 60) + ")"
	}
	if unrestored > 0 {
		ev.Title += fmt.Sprintf("; %d canaries not restored", unrestored)
	}
	for i, t := range d.Targets {
		if i == maxItems {
			ev.More = len(d.Targets) - i
			break
		}
		res := "pass"
		if !t.Passed {
			res = "FAIL"
		}
		took := "not revoked"
		if t.Elapsed > 0 {
			unit := time.Second
			if t.Elapsed < time.Second { // a drill often takes less: never "revoked in 0s"
				unit = time.Millisecond
			}
			took = "revoked in " + t.Elapsed.Round(unit).String()
		}
		l := fmt.Sprintf("%s %s (tier %s): %s, SLA %s: %s", t.Target, t.Canary, cmp.Or(t.Tier, "standard"), took, t.SLA, res)
		if !t.Restored {
			l += ", not restored"
		}
		if t.Error != "" {
			l += ": " + t.Error
		}
		ev.Lines = append(ev.Lines, clean(l, lineLen))
		ev.Subjects = append(ev.Subjects, Subject{Target: t.Target, Username: t.Canary, Kind: "canary", Outcome: res})
	}
	return ev
}
