package jira

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
)

// openOp is the ticket a finding that needs a person should have.
func (c *Client) openOp(res *reconcile.Result, f *reconcile.Finding) Op {
	return Op{
		ID:          f.Fingerprint,
		Fingerprint: f.Fingerprint,
		Want:        WantOpen,
		Key:         f.JiraKey,
		Hash:        contentHash(f),
		Summary:     summaryLine(f),
		Description: c.description(res, f),
		Labels:      c.labels(f),
		Priority:    c.cfg.PriorityBySeverity[string(f.Severity)],
		Component:   c.cfg.Component,
		Assignee:    c.cfg.AssigneeByTarget[f.Target],
		RunID:       res.Run.ID,
		Queued:      c.now().UTC(),
	}
}

// contentHash identifies what a ticket says about a finding, leaving out
// what changes every run (run ID, times of the run): a new hash means the
// ticket needs a comment.
func contentHash(f *reconcile.Finding) string {
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

func summaryLine(f *reconcile.Finding) string {
	who := cmp.Or(f.Username, f.AccountID)
	if f.Person != nil && f.Person.Name != "" {
		who += " (" + f.Person.Name + ")"
	}
	s := fmt.Sprintf("[accessrecon] %s: %s on %s", strings.ReplaceAll(string(f.Kind), "_", " "), who, f.Target)
	s = strings.Join(strings.Fields(s), " ") // no newlines in a summary
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

// cell keeps a value from breaking the wiki markup around it.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.NewReplacer("|", "\\|", "{", "\\{", "}", "\\}", "[", "\\[", "]", "\\]").Replace(s)
}

// description is the ticket body in Jira wiki markup.
func (c *Client) description(res *reconcile.Result, f *reconcile.Finding) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("h3. What was found\n")
	w("accessrecon found a *%s* finding on target *%s*, account *%s*", cell(string(f.Kind)), cell(f.Target), cell(f.AccountID))
	if f.Username != "" && f.Username != f.AccountID {
		w(" (%s)", cell(f.Username))
	}
	w(".\n")
	w("* Severity: %s\n* Disposition: %s\n", cell(string(f.Severity)), cell(string(f.Disposition)))
	if f.Outcome != "" {
		w("* Outcome of the automatic revocation: %s\n", cell(f.Outcome))
	}
	w("* Reason: %s\n", cell(f.Reason))
	if !f.FirstSeen.IsZero() {
		w("* First seen: %s\n", f.FirstSeen.UTC().Format(time.RFC3339))
	}
	if f.Match != "" {
		w("* Matched to the person by: %s\n", cell(f.Match))
	}
	if p := f.Person; p != nil {
		w("\nh3. The person (as HR reported them)\n")
		w("* Employee ID: %s\n", cell(p.EmployeeID))
		for _, kv := range [][2]string{{"Name", p.Name}, {"Email", p.Email}, {"HR status", string(p.Status)}, {"Department", p.Department}, {"Job code", p.JobCode}} {
			if kv[1] != "" {
				w("* %s: %s\n", kv[0], cell(kv[1]))
			}
		}
		if p.TerminationDate != nil {
			w("* Termination date: %s\n", p.TerminationDate.UTC().Format("2006-01-02"))
		}
	} else if f.EmployeeID != "" {
		w("* Employee ID: %s\n", cell(f.EmployeeID))
	}
	if len(f.Evidence) > 0 {
		w("\nh3. Evidence\n")
		for _, k := range slices.Sorted(maps.Keys(f.Evidence)) {
			w("* %s: %s\n", cell(k), cell(f.Evidence[k]))
		}
	}
	w("\nh3. What to do\n")
	n := 0
	for _, s := range f.Actions {
		if s.Auto && f.Outcome != reconcile.OutcomeFailed && f.Outcome != reconcile.OutcomeBlocked {
			continue
		}
		n++
		text := s.Manual
		if text == "" {
			text = fmt.Sprintf("%s on %s for account %s", s.Op, f.Target, cmp.Or(f.Username, f.AccountID))
			if s.Arg != "" {
				text += " (" + s.Arg + ")"
			}
			if s.Auto {
				text += " — accessrecon could not complete this step; do it by hand"
			}
		}
		w("# %s\n", cell(text))
	}
	if n == 0 {
		w("Review the finding and decide: revoke the access, or record an exemption (owner, reason, approver, expiry) in the policy.\n")
	}
	if f.EffectiveAt != nil {
		tier := cmp.Or(f.Tier, "standard")
		w("\nh3. Deadline\n")
		if sla, ok := res.Policy.SLA[tier]; ok {
			w("HR's effective date: %s. SLA of tier %s: %s. *Revoke by %s.*\n", f.EffectiveAt.UTC().Format(time.RFC3339), cell(tier),
				sla.D(), f.EffectiveAt.Add(sla.D()).UTC().Format(time.RFC3339))
		} else {
			w("HR's effective date: %s (no SLA configured for tier %s).\n", f.EffectiveAt.UTC().Format(time.RFC3339), cell(tier))
		}
	}
	w("\nh3. Run\n")
	w("Run %d (as of %s)", res.Run.ID, res.Run.AsOf.UTC().Format(time.RFC3339))
	if l := c.runLink(res.Run.ID); l != "" {
		w(": [evidence|%s]", l)
	}
	w(".\nFingerprint %s. accessrecon closes this ticket itself when a later run sees the problem gone.\n", f.Fingerprint)
	return b.String()
}
