package notify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/accessrecon/accessrecon/reconcile"
)

// hostileEvent is a digest about a person whose HR name is hostile.
func hostileEvent(t *testing.T) Event {
	t.Helper()
	f := revoked(finding("ldap", "mallory<@U999>", "E6<6>6", hostile, reconcile.AutoRevoke, ""), time.Minute)
	ev := byType(deriveEvents(result(5, reconcile.StatusCompleted, f), "https://ar.example.com/runs/?run={run}&view=full", 10))[EventRevocations]
	if len(ev.Lines) != 1 {
		t.Fatalf("lines %q", ev.Lines)
	}
	return ev.sanitized()
}

func noControl(t *testing.T, where, s string, allowNewline bool) {
	t.Helper()
	for _, r := range s {
		if r == '\n' && allowNewline {
			continue
		}
		if unicode.IsControl(r) || r == '\u202e' {
			t.Errorf("%s holds control character %U: %q", where, r, s)
		}
	}
}

func TestHostileNamesInEvents(t *testing.T) {
	ev := hostileEvent(t)
	// One line per person: the name's newline cannot forge a line.
	noControl(t, "line", ev.Lines[0], false)
	if !strings.Contains(ev.Lines[0], `\x1b[31m Injected: line\u202e (E6<6>6)`) {
		t.Errorf("the escape, newline and bidi override are not shown escaped on one line: %q", ev.Lines[0])
	}
}

func TestSlackTextEscapes(t *testing.T) {
	txt := SlackText(hostileEvent(t))
	noControl(t, "slack text", txt, true)
	// Slack reads <…> as mentions and links: none may survive, and every
	// & must be ours.
	if strings.ContainsAny(txt, "<>") {
		t.Errorf("raw < or > in Slack text: %q", txt)
	}
	for i := 0; i < len(txt); i++ {
		if txt[i] == '&' && !strings.HasPrefix(txt[i:], "&amp;") && !strings.HasPrefix(txt[i:], "&lt;") && !strings.HasPrefix(txt[i:], "&gt;") {
			t.Errorf("unescaped & at %d: %q", i, txt[i:])
		}
	}
	for _, want := range []string{"&lt;!channel&gt; *Mal* _lory_ `rm` ~x~ [click](http://evil.example) &lt;b&gt;&amp;amp;&lt;/b&gt;",
		"(E6&lt;6&gt;6): ldap mallory&lt;@U999&gt;", "\nRun: https://ar.example.com/runs/?run=5&amp;view=full"} {
		if !strings.Contains(txt, want) {
			t.Errorf("Slack text lacks %q:\n%s", want, txt)
		}
	}
	if n := strings.Count(txt, "\n"); n != 2 {
		t.Errorf("%d newlines, want title, one line, link:\n%s", n, txt)
	}
}

func TestTeamsPayloadIsPlainTextRuns(t *testing.T) {
	ev := hostileEvent(t)
	b, err := json.Marshal(TeamsPayload(ev))
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string `json:"contentType"`
			Content     struct {
				Type    string `json:"type"`
				Version string `json:"version"`
				Body    []struct {
					Type    string `json:"type"`
					Text    string `json:"text"`
					Inlines []struct {
						Type string `json:"type"`
						Text string `json:"text"`
					} `json:"inlines"`
				} `json:"body"`
				Actions []struct {
					Type, Title, URL string
				} `json:"actions"`
			} `json:"content"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	c := p.Attachments[0].Content
	if p.Type != "message" || p.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" || c.Type != "AdaptiveCard" {
		t.Fatalf("payload %s", b)
	}
	// No TextBlock (markdown) anywhere: every text is a TextRun.
	var texts []string
	for _, blk := range c.Body {
		if blk.Type != "RichTextBlock" || blk.Text != "" {
			t.Errorf("block %+v is not a RichTextBlock of text runs", blk)
		}
		for _, in := range blk.Inlines {
			if in.Type != "TextRun" {
				t.Errorf("inline %+v", in)
			}
			noControl(t, "teams text run", in.Text, false)
			texts = append(texts, in.Text)
		}
	}
	if len(texts) != 2 || !strings.HasPrefix(texts[1], "• "+"<!channel> *Mal* _lory_ `rm` ~x~ [click](http://evil.example) <b>&amp;</b>") {
		t.Errorf("text runs %q", texts)
	}
	if len(c.Actions) != 1 || c.Actions[0].Type != "Action.OpenUrl" || c.Actions[0].URL != "https://ar.example.com/runs/?run=5&view=full" || c.Actions[0].Title != "Open run 5" {
		t.Errorf("actions %+v", c.Actions)
	}
}

func TestEmailMessageHeadersCannotBeInjected(t *testing.T) {
	ev := hostileEvent(t)
	ev.Title = "run 5\r\nBcc: victim@example.com\r\n\r\nforged body " + hostile
	s, err := newEmail(EmailConfig{Host: "127.0.0.1", From: "accessrecon <ar@example.com>", To: []string{"it@example.com"}}, time.Second, func() time.Time { return asOf })
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.(*emailSender).message("mail/run-5/revocations", ev.sanitized())
	if err != nil {
		t.Fatal(err)
	}
	head, _, ok := strings.Cut(string(msg), "\r\n\r\n")
	if !ok {
		t.Fatal("no header/body separator")
	}
	for _, l := range strings.Split(head, "\r\n") {
		k, _, _ := strings.Cut(l, ":")
		if strings.EqualFold(k, "bcc") {
			t.Errorf("forged header line %q", l)
		}
	}
	noControl(t, "email header", strings.ReplaceAll(head, "\r\n", ""), false)
}
