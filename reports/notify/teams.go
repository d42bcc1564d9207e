package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/accessrecon/accessrecon/targets"
)

// TeamsConfig is a Microsoft Teams sink: the URL of a Teams Workflows flow
// "When a Teams webhook request is received" that posts the card it gets to
// a channel (url_env or url_file: the URL carries its signature, sig=, and
// is the credential).
type TeamsConfig struct {
	URLEnv  string         `yaml:"url_env"`
	URLFile string         `yaml:"url_file"`
	URL     targets.Secret `yaml:"-"`
}

func (c *TeamsConfig) secretFields() []targets.SecretField {
	return []targets.SecretField{{Key: "url", Env: c.URLEnv, File: c.URLFile, Value: &c.URL}}
}

type teamsSender struct {
	cfg TeamsConfig
	p   poster
}

func newTeams(c TeamsConfig, hc *http.Client) (sender, error) {
	if c.URL == "" {
		return nil, errors.New("teams: url_env or url_file: required")
	}
	if u, err := url.Parse(c.URL.Reveal()); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("teams: url: not an http(s) URL")
	}
	return &teamsSender{cfg: c, p: newPoster("teams", hc, c.URL)}, nil
}

// TeamsPayload renders an event as the message a Workflows webhook expects:
// an Adaptive Card (1.4) in a message attachment. Every piece of text is a
// TextRun in a RichTextBlock: Adaptive Cards render a TextRun as plain text,
// never as markdown, so a name like "**x** [y](http://z)" shows as typed.
// The run link is an Action.OpenUrl button.
func TeamsPayload(ev Event) map[string]any {
	run := func(text string, bold bool) map[string]any {
		r := map[string]any{"type": "TextRun", "text": text}
		if bold {
			r["weight"] = "Bolder"
		}
		return r
	}
	block := func(r map[string]any) map[string]any {
		return map[string]any{"type": "RichTextBlock", "inlines": []any{r}}
	}
	body := []any{block(run(ev.Title, true))}
	for _, l := range ev.Lines {
		body = append(body, block(run("• "+l, false)))
	}
	if ev.More > 0 {
		body = append(body, block(run(fmt.Sprintf("…and %d more", ev.More), false)))
	}
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard",
		"version": "1.4",
		"body":    body,
	}
	if ev.URL != "" {
		title := "Open the run"
		if ev.RunID != 0 {
			title = fmt.Sprintf("Open run %d", ev.RunID)
		}
		card["actions"] = []any{map[string]any{"type": "Action.OpenUrl", "title": title, "url": ev.URL}}
	}
	return map[string]any{
		"type": "message",
		"attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"contentUrl":  nil,
			"content":     card,
		}},
	}
}

func (s *teamsSender) send(ctx context.Context, _ string, ev Event) error {
	body, err := json.Marshal(TeamsPayload(ev))
	if err != nil {
		return final(err)
	}
	_, err = s.p.post(ctx, s.cfg.URL.Reveal(), "application/json", body, nil)
	return err
}
