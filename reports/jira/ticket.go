package jira

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/accessrecon/accessrecon/reconcile"
)

// openOp is the ticket a finding that needs a person should have.
func (c *Client) openOp(res *reconcile.Result, f *reconcile.Finding, nm names) Op {
	return Op{
		ID:          f.Fingerprint,
		Fingerprint: f.Fingerprint,
		Want:        WantOpen,
		Key:         f.JiraKey,
		Hash:        contentHash(f),
		LegacyHash:  legacyContentHash(f),
		Summary:     summaryLine(f, nm),
		Description: c.description(res, f, nm),
		Labels:      c.labels(f),
		Priority:    c.cfg.PriorityBySeverity[string(f.Severity)],
		Component:   c.cfg.Component,
		Assignee:    c.cfg.AssigneeByTarget[f.Target],
		RunID:       res.Run.ID,
		Queued:      c.now().UTC(),
	}
}

// contentHash identifies the facts a ticket states that change the
// decision: kind, severity, disposition, outcome, the person's HR status,
// the account's groups and last login date (in the evidence), the steps and
// whether each is automatic. A new hash means the ticket needs a comment.
// It leaves out the reason's prose, which counts days ("no login for 199
// days") and would comment every dormant ticket every day, and what changes
// every run (run ID and times).
func contentHash(f *reconcile.Finding) string {
	steps := make([]string, len(f.Actions))
	for i, s := range f.Actions {
		steps[i] = fmt.Sprintf("%s|%s|%s|%t|%s", s.Op, s.Arg, s.Name, s.Auto, s.Manual)
	}
	evidence := make(map[string]string, len(f.Evidence))
	for _, x := range f.Evidence {
		evidence[x.Key] = dayOf(x.Value)
	}
	var person any
	if p := f.Person; p != nil {
		var term string
		if p.TerminationDate != nil {
			term = p.TerminationDate.UTC().Format(time.DateOnly)
		}
		person = []string{p.EmployeeID, string(p.Status), term, p.JobCode}
	}
	var effective string
	if f.EffectiveAt != nil {
		effective = f.EffectiveAt.UTC().Format(time.RFC3339)
	}
	b, _ := json.Marshal(map[string]any{
		"kind": f.Kind, "severity": f.Severity, "disposition": f.Disposition, "outcome": f.Outcome,
		"evidence": evidence, "steps": steps, "person": person, "employee_id": f.EmployeeID,
		"effective_at": effective, "tier": f.Tier, "username": f.Username, "display_name": f.DisplayName,
	})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:6])
}

// legacyContentHash is the content hash of accessrecon before the hash
// left out the reason (which counts days). A ticket still labelled with it
// whose finding is unchanged gets the new label without a comment (see
// Relabel); it can go once no open ticket carries an old hash.
func legacyContentHash(f *reconcile.Finding) string {
	var manual []string
	for _, s := range f.Actions {
		manual = append(manual, fmt.Sprintf("%s|%s|%t|%s", s.Op, s.Arg, s.Auto, s.Manual))
	}
	var person any
	if f.Person != nil {
		person = f.Person
	}
	b, _ := json.Marshal(map[string]any{
		"kind": f.Kind, "severity": f.Severity, "disposition": f.Disposition, "reason": f.Reason,
		"evidence": f.Evidence, "steps": manual, "person": person, "outcome": f.Outcome,
		"effective_at": f.EffectiveAt, "tier": f.Tier, "username": f.Username,
	})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:6])
}

// dayOf turns a time (RFC 3339) into its UTC date: a last login is a fact
// by the day.
func dayOf(v string) string {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC().Format(time.DateOnly)
	}
	return v
}

// summaryLine is the ticket's summary: plain text (Jira renders no markup
// there), one line, no control characters.
func summaryLine(f *reconcile.Finding, nm names) string {
	username, display := nm.of(f)
	who := cmp.Or(username, f.AccountID)
	switch {
	case f.Person != nil && f.Person.Name != "":
		who += " (" + f.Person.Name + ")"
	case display != "" && display != who:
		who += " (" + display + ")"
	}
	s := fmt.Sprintf("[accessrecon] %s: %s on %s", strings.ReplaceAll(string(f.Kind), "_", " "), who, f.Target)
	s = strings.Join(strings.Fields(printable(s)), " ") // no newlines in a summary
	if len(s) > 250 {
		cut := 250
		for cut > 0 && !utf8Start(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

func (c *Client) labels(f *reconcile.Finding) []string {
	ls := []string{"accessrecon", FingerprintLabel(f.Fingerprint), string(f.Kind), hashLabelPrefix + contentHash(f)}
	for _, l := range c.cfg.Labels {
		if !slices.Contains(ls, l) {
			ls = append(ls, l)
		}
	}
	return ls
}

// runLink is the link to a run's evidence, or "".
func (c *Client) runLink(runID int64) string {
	if c.cfg.RunURL == "" {
		return ""
	}
	id := strconv.FormatInt(runID, 10)
	if strings.Contains(c.cfg.RunURL, "{run}") {
		return strings.ReplaceAll(c.cfg.RunURL, "{run}", id)
	}
	return c.cfg.RunURL + id
}

// literal makes a value safe inside a {noformat} block, where Jira
// interprets nothing but the closing tag: control and format characters
// (line breaks, escape sequences, bidi overrides, zero-width characters) are
// shown escaped, so one value is one line and cannot forge another, and a
// noformat tag in the value is broken so the block cannot be closed early.
func literal(s string) string {
	return noformatTag.ReplaceAllStringFunc(printable(s), func(m string) string { return "{ " + m[1:] })
}

// printable shows control and format characters escaped (\n, \x1b, \u202e)
// and a tab as a space.
func printable(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t':
			b.WriteByte(' ')
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.In(r, unicode.Zl, unicode.Zp) || r == utf8.RuneError:
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// noformatTag is what Jira's renderer takes for the end of a noformat block.
var noformatTag = regexp.MustCompile(`(?i)\{noformat`)

// block is a {noformat} block of label: value lines, the values literal.
// Every piece of data in a ticket is in such a block: nothing of it is
// taken for wiki markup (images, links, mentions, macros, tables, effects).
type block struct {
	lines [][2]string
	width int
}

func (k *block) add(label, value string) {
	k.lines = append(k.lines, [2]string{label, value})
	k.width = max(k.width, utf8.RuneCountInString(label))
}

// addIf adds the line when the value is not empty.
func (k *block) addIf(label, value string) {
	if value != "" {
		k.add(label, value)
	}
}

func (k *block) String() string {
	if len(k.lines) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("{noformat}\n")
	for _, l := range k.lines {
		if l[0] == "" {
			b.WriteString(literal(l[1]))
		} else {
			fmt.Fprintf(&b, "%-*s %s", k.width+1, literal(l[0])+":", literal(l[1]))
		}
		b.WriteByte('\n')
	}
	b.WriteString("{noformat}\n")
	return b.String()
}

// names are the username and display name of each account in a run, so a
// finding the engine built without them (revocation_failed) still shows
// them.
type names map[[2]string][2]string

func accountNames(res *reconcile.Result) names {
	n := names{}
	for _, f := range res.Findings {
		k := [2]string{f.Target, f.AccountID}
		old := n[k]
		n[k] = [2]string{cmp.Or(old[0], f.Username), cmp.Or(old[1], f.DisplayName)}
	}
	return n
}

func (n names) of(f *reconcile.Finding) (username, display string) {
	known := n[[2]string{f.Target, f.AccountID}]
	return cmp.Or(f.Username, known[0]), cmp.Or(f.DisplayName, known[1])
}

// description is the ticket body in Jira wiki markup. The markup is
// accessrecon's own; every value from HR, a target or the configuration
// is inside a {noformat} block (see block).
func (c *Client) description(res *reconcile.Result, f *reconcile.Finding, nm names) string {
	var b strings.Builder
	w := func(s string) { b.WriteString(s) }
	username, display := nm.of(f)
	w("h3. What was found\n")
	found := &block{}
	found.add("Kind", string(f.Kind))
	found.add("Target", f.Target)
	found.add("Account ID", f.AccountID)
	found.addIf("Username", username)
	found.addIf("Display name", display)
	found.add("Severity", string(f.Severity))
	found.add("Disposition", string(f.Disposition))
	found.addIf("Outcome", string(f.Outcome))
	found.add("Reason", f.Reason)
	if !f.FirstSeen.IsZero() {
		found.add("First seen", f.FirstSeen.UTC().Format(time.RFC3339))
	}
	found.addIf("Matched by", f.Match)
	w(found.String())

	person := &block{}
	if p := f.Person; p != nil {
		person.add("Employee ID", p.EmployeeID)
		person.addIf("Name", p.Name)
		person.addIf("Email", p.Email)
		person.addIf("HR status", string(p.Status))
		person.addIf("Department", p.Department)
		person.addIf("Job code", p.JobCode)
		if p.TerminationDate != nil {
			person.add("Termination date", p.TerminationDate.UTC().Format("2006-01-02"))
		}
	} else if f.EmployeeID != "" {
		person.add("Employee ID", f.EmployeeID)
	}
	if len(person.lines) > 0 {
		w("\nh3. The person (as HR reported them)\n")
		w(person.String())
	}
	if len(f.Evidence) > 0 {
		w("\nh3. Evidence\n")
		ev := &block{}
		for _, x := range f.Evidence.Sorted() {
			ev.add(x.Key, x.Value)
		}
		w(ev.String())
	}
	w("\nh3. What to do\n")
	todo := &block{}
	// Automatic steps are a person's when they did not happen: the
	// finding's outcome says so, or the finding is the failure itself.
	byHand := f.Outcome == reconcile.OutcomeFailed || f.Outcome == reconcile.OutcomeBlocked || f.Kind == reconcile.RevocationFailed
	for _, s := range f.Actions {
		if s.Auto && !byHand {
			continue
		}
		text := s.Manual
		if text == "" {
			text = fmt.Sprintf("%s on %s for account %s", s.Op, f.Target, cmp.Or(username, f.AccountID))
			switch {
			case s.Name != "" && s.Arg != "" && s.Name != s.Arg:
				text += ": " + s.Name + " (" + s.Arg + ")"
			case s.Arg != "":
				text += ": " + s.Arg
			}
			if s.Auto {
				text += " (accessrecon could not complete this step; do it by hand)"
			}
		}
		todo.add("", strconv.Itoa(len(todo.lines)+1)+". "+text)
	}
	if len(todo.lines) == 0 {
		w("Review the finding and decide: revoke the access, or record an exemption (owner, reason, approver, expiry) in the policy.\n")
	} else {
		w(todo.String())
	}
	if f.EffectiveAt != nil {
		tier := cmp.Or(f.Tier, "standard")
		w("\nh3. Deadline\n")
		dl := &block{}
		dl.add("HR's effective date", f.EffectiveAt.UTC().Format(time.RFC3339))
		dl.add("Tier", tier)
		if sla, ok := res.Policy.SLA[tier]; ok {
			dl.add("SLA", sla.D().String())
			w(dl.String())
			w("*Revoke by " + f.EffectiveAt.Add(sla.D()).UTC().Format(time.RFC3339) + ".*\n")
		} else {
			dl.add("SLA", "none configured for this tier")
			w(dl.String())
		}
	}
	w("\nh3. Run\n")
	fmt.Fprintf(&b, "Run %d (as of %s)", res.Run.ID, res.Run.AsOf.UTC().Format(time.RFC3339))
	if l := c.runLink(res.Run.ID); l != "" {
		w(": [evidence|" + l + "]")
	}
	fmt.Fprintf(&b, ".\nFingerprint %s. accessrecon closes this ticket itself when a later run sees the problem gone.\n", f.Fingerprint)
	return b.String()
}
