package jira

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/targets"
)

// hostile are values an attacker controls through HR or account data (a
// display name, a username, an upstream error in the evidence), each of
// which Jira's wiki renderer would turn into markup if it reached it.
var hostile = []string{
	"!http://evil.example/pixel.png!",
	"!pixel.png|width=1!",
	"[click here|http://evil.example/login]",
	"[http://evil.example]",
	"[mailto:ceo@example.com]",
	"[~admin]",
	"[~accountid:5b10ac8d82e05b22cc7d4ef5]",
	"{color:red}URGENT{color}",
	"{noformat}",
	"x{NOFORMAT}y",
	"{noformat:title=forged}",
	"{code}rm -rf{code}",
	"{html}<img src=x>{html}",
	"{panel:title=Approved}ok{panel}",
	"{anchor:x}",
	"|cell|cell|",
	"||head||head||",
	`a\\b`,
	`\|`,
	`\`,
	"*bold* _italic_ +under+ -strike- ^sup^ ~sub~ ??cite?? {{mono}}",
	"h1. Approved by the CISO",
	"# step\n* bullet\n----\nbq. quote",
	"line one\nh1. forged heading\r\n* forged bullet",
	"\x1b[2J\x1b[31mred",
	"right\u202eto-left",
	"zero\u200bwidth",
	"tab\there",
	":) (!) (/) (x)",
	"&lt;b&gt; &#42;",
	"-- --- ---- ;)",
}

// macroRe finds a noformat tag as Jira's renderer does (case-insensitive,
// with or without parameters).
var macroRe = regexp.MustCompile(`(?i)\{noformat(?::[^}]*)?\}`)

// markupOf splits rendered wiki text into what Jira interprets (outside
// {noformat}) and the literal blocks.
func markupOf(t *testing.T, what, s string) (markup string, literal []string) {
	t.Helper()
	idx := macroRe.FindAllStringIndex(s, -1)
	if len(idx)%2 != 0 {
		t.Fatalf("%s: unbalanced {noformat} (%d tags):\n%s", what, len(idx), s)
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(idx); i += 2 {
		b.WriteString(s[last:idx[i][0]])
		b.WriteString("{noformat}…{noformat}")
		literal = append(literal, s[idx[i][1]:idx[i+1][0]])
		last = idx[i+1][1]
	}
	b.WriteString(s[last:])
	return b.String(), literal
}

// hostileFinding puts h in every piece of data a ticket shows.
func hostileFinding(h string, i int) reconcile.Finding {
	account := fmt.Sprintf("acct%02d", i)
	f := finding(account, reconcile.ManualRevoke, reconcile.OutcomeFailed)
	f.AccountID = account + h
	f.Fingerprint = reconcile.Fingerprint(f.Kind, f.Target, f.AccountID)
	f.Username = h + "user"
	f.DisplayName = h + "display"
	f.Reason = "reason " + h
	f.Match = "match " + h
	f.Evidence = reconcile.Evidence{{Key: "ev" + h, Value: "value " + h}}
	f.Person.EmployeeID = "E" + h
	f.EmployeeID = "E" + h
	f.Person.Name, f.Person.Email, f.Person.Department, f.Person.JobCode = "name "+h, "mail "+h, "dept "+h, "job "+h
	f.Tier = "tier " + h
	f.Actions = []reconcile.Step{
		{Op: targets.CanRemoveFromGroup, Arg: "cn=" + h, Name: "group " + h, Auto: true},
		{Op: targets.CanRevokeSessions, Manual: "do " + h},
	}
	return f
}

func plainText(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.In(r, unicode.Zl, unicode.Zp) {
			return false
		}
	}
	return true
}

// TestHostileMarkup: whatever the data, the wiki markup Jira interprets
// (everything outside {noformat} blocks) is the same as for plain data, and
// the data is shown, literally and on one line each, inside the blocks
// (issue 11.14). Checked on what is sent: the created tickets, the update
// comment and the close comment, captured as JSON.
func TestHostileMarkup(t *testing.T) {
	ctx := context.Background()
	fake := newFakeJira(t)
	c, _ := newTestClient(t, fake, nil)
	out := NewMemOutbox()

	plain := hostileFinding("plain", 99)
	fs := []reconcile.Finding{plain}
	for i, h := range hostile {
		fs = append(fs, hostileFinding(h, i))
	}
	if sum, err := c.Sync(ctx, result(1, fs), out); err != nil || sum.Created != len(fs) {
		t.Fatalf("%+v %v", sum, err)
	}
	// What Jira would interpret, with the per-finding fingerprint taken out.
	skeleton := func(what, s string, f reconcile.Finding) (string, []string) {
		m, lit := markupOf(t, what, s)
		return strings.ReplaceAll(m, f.Fingerprint, "FP"), lit
	}
	descriptions := map[string]string{}
	for _, r := range fake.requests() {
		if r.Method != "POST" || r.Path != "/rest/api/2/issue" {
			continue
		}
		fields := body(r)["fields"].(map[string]any)
		for _, l := range fields["labels"].([]any) {
			descriptions[strings.TrimPrefix(l.(string), labelPrefix)] = fields["description"].(string)
		}
		if s := fields["summary"].(string); !plainText(s) || strings.Contains(s, "\n") {
			t.Errorf("summary %q holds control characters", s)
		}
	}
	wantMarkup, _ := skeleton("plain", descriptions[plain.Fingerprint], plain)
	for i, h := range hostile {
		f := fs[i+1]
		desc, ok := descriptions[f.Fingerprint]
		if !ok {
			t.Fatalf("no ticket created for %q", h)
		}
		got, lit := skeleton(fmt.Sprintf("%q", h), desc, f)
		if got != wantMarkup {
			t.Errorf("data %q changes the wiki markup of the ticket:\n got %s\nwant %s", h, got, wantMarkup)
			continue
		}
		all := strings.Join(lit, "\n")
		for _, line := range strings.Split(all, "\n") {
			if !plainText(line) {
				t.Errorf("data %q: a literal line holds control characters: %q", h, line)
			}
		}
		// Shown: the value literally, or, where it holds control characters
		// or a noformat tag, every run of plain characters of it.
		for _, part := range plainRuns(h) {
			if !strings.Contains(all, part) {
				t.Errorf("data %q: %q not shown in:\n%s", h, part, all)
			}
		}
	}

	// Run 2: every finding changes (a new decision fact) -> update comments;
	// then run 3 resolves them -> close comments.
	var changed []reconcile.Finding
	for _, f := range fs {
		f.Evidence.Set("last_login", "2025-01-12")
		changed = append(changed, f)
	}
	if sum, err := c.Sync(ctx, result(2, changed), out); err != nil || sum.Updated != len(fs) {
		t.Fatalf("run 2: %+v %v", sum, err)
	}
	fake.requests()
	states := result(3, nil)
	for _, f := range fs {
		states.Resolved = append(states.Resolved, resolvedState(f, out.JiraKey(f.Fingerprint)))
	}
	if sum, err := c.Sync(ctx, states, out); err != nil || sum.Closed != len(fs) {
		t.Fatalf("run 3: %+v %v", sum, err)
	}
	comments := map[string][]string{}
	fake.mu.Lock()
	for _, is := range fake.issues {
		for _, l := range is.Labels {
			comments[strings.TrimPrefix(l, labelPrefix)] = is.Comments
		}
	}
	fake.mu.Unlock()
	want := make([]string, 2)
	for n := range 2 {
		want[n], _ = skeleton("plain comment", comments[plain.Fingerprint][n], plain)
	}
	for i, h := range hostile {
		f := fs[i+1]
		cs := comments[f.Fingerprint]
		if len(cs) != 2 {
			t.Fatalf("%q: comments %q, want an update and a close", h, cs)
		}
		for n, c := range cs {
			if got, _ := skeleton(fmt.Sprintf("comment %d of %q", n, h), c, f); got != want[n] {
				t.Errorf("data %q changes the wiki markup of comment %d:\n got %s\nwant %s", h, n, got, want[n])
			}
		}
	}
}

// plainRuns splits a value at control and format characters and drops any
// run that holds a noformat tag (which must be broken to stay literal).
func plainRuns(h string) []string {
	runs := strings.FieldsFunc(h, func(r rune) bool {
		return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.In(r, unicode.Zl, unicode.Zp)
	})
	var out []string
	for _, r := range runs {
		if !strings.Contains(strings.ToLower(r), "noformat") {
			out = append(out, r)
		}
	}
	return out
}
