package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/accessrecon/accessrecon/targets"
)

// SlackConfig is a Slack sink: an incoming webhook (webhook_url_env or
// webhook_url_file; the URL is the credential), or chat.postMessage with a
// bot token (token_env or token_file, scope chat:write) to a channel.
type SlackConfig struct {
	WebhookURLEnv  string         `yaml:"webhook_url_env"`
	WebhookURLFile string         `yaml:"webhook_url_file"`
	WebhookURL     targets.Secret `yaml:"-"`
	TokenEnv       string         `yaml:"token_env"`
	TokenFile      string         `yaml:"token_file"`
	Token          targets.Secret `yaml:"-"`
	// Channel is the channel ID (C0123456789) chat.postMessage posts to;
	// the bot must be a member of it.
	Channel string `yaml:"channel"`
	// APIURL is the Web API's base (default https://slack.com/api/).
	APIURL string `yaml:"api_url"`
}

func (c *SlackConfig) webhook() bool { return c.WebhookURLEnv != "" || c.WebhookURLFile != "" }

func (c *SlackConfig) secretFields() []targets.SecretField {
	if c.webhook() {
		return []targets.SecretField{{Key: "webhook_url", Env: c.WebhookURLEnv, File: c.WebhookURLFile, Value: &c.WebhookURL}}
	}
	return []targets.SecretField{{Key: "token", Env: c.TokenEnv, File: c.TokenFile, Value: &c.Token}}
}

type slackSender struct {
	cfg SlackConfig
	p   poster
}

func newSlack(c SlackConfig, hc *http.Client) (sender, error) {
	bot := c.TokenEnv != "" || c.TokenFile != ""
	switch {
	case c.webhook() && bot:
		return nil, errors.New("slack: set webhook_url_* or token_* (with channel), not both")
	case c.webhook():
		if c.WebhookURL == "" {
			return nil, errors.New("slack: webhook_url_env or webhook_url_file: not resolved")
		}
		if u, err := url.Parse(c.WebhookURL.Reveal()); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, errors.New("slack: webhook_url: not an http(s) URL")
		}
		if c.Channel != "" {
			return nil, errors.New("slack: channel: an incoming webhook posts to its own channel; channel is for token_*")
		}
		return &slackSender{cfg: c, p: newPoster("slack", hc, c.WebhookURL)}, nil
	case bot:
		if c.Token == "" {
			return nil, errors.New("slack: token_env or token_file: not resolved")
		}
		if c.Channel == "" {
			return nil, errors.New("slack: channel: required with token_* (the channel ID, e.g. C0123456789)")
		}
		if c.APIURL == "" {
			c.APIURL = "https://slack.com/api/"
		}
		if !strings.HasSuffix(c.APIURL, "/") {
			c.APIURL += "/"
		}
		if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("slack: api_url: %q is not an http(s) URL", c.APIURL)
		}
		return &slackSender{cfg: c, p: newPoster("slack", hc, c.Token)}, nil
	}
	return nil, errors.New("slack: webhook_url_env/webhook_url_file or token_env/token_file: required")
}

// slackEscape escapes the three characters Slack reads as control sequences
// in any message text (<!channel>, <@U123>, <http://x|label>), as Slack
// documents. The message is sent with mrkdwn off, so *, _, ~ and ` are
// shown as typed and need no escape (Slack has none for them).
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// SlackText renders an event as Slack message text (mrkdwn off).
func SlackText(ev Event) string {
	var b strings.Builder
	b.WriteString(slackEscape(ev.Title))
	for _, l := range ev.Lines {
		b.WriteString("\n• " + slackEscape(l))
	}
	if ev.More > 0 {
		fmt.Fprintf(&b, "\n…and %d more", ev.More)
	}
	if ev.URL != "" {
		b.WriteString("\nRun: " + slackEscape(ev.URL))
	}
	return b.String()
}

// slackFinal are the chat.postMessage errors that say the same message can
// never succeed: it is dropped. Every other error (ratelimited,
// channel_not_found, invalid_auth…) may pass, by itself or once a person
// fixes the configuration: the message is kept for the next run.
var slackFinal = map[string]bool{"msg_too_long": true, "no_text": true, "too_many_attachments": true, "invalid_arg_name": true,
	"invalid_array_arg": true, "invalid_charset": true, "invalid_form_data": true, "invalid_post_type": true, "missing_post_type": true, "invalid_blocks": true}

func (s *slackSender) send(ctx context.Context, _ string, ev Event) error {
	text := SlackText(ev)
	if s.cfg.webhook() {
		body, err := json.Marshal(map[string]any{"text": text, "mrkdwn": false, "unfurl_links": false, "unfurl_media": false})
		if err != nil {
			return final(err)
		}
		_, err = s.p.post(ctx, s.cfg.WebhookURL.Reveal(), "application/json", body, nil)
		return err
	}
	form := url.Values{"channel": {s.cfg.Channel}, "text": {text}, "mrkdwn": {"false"}, "unfurl_links": {"false"}, "unfurl_media": {"false"}}
	h := http.Header{"Authorization": {"Bearer " + s.cfg.Token.Reveal()}}
	b, err := s.p.post(ctx, s.cfg.APIURL+"chat.postMessage", "application/x-www-form-urlencoded", []byte(form.Encode()), h)
	if err != nil {
		return err
	}
	var r struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("slack: chat.postMessage: unreadable answer: %s", s.p.up.Redactor.Excerpt(b))
	}
	if r.OK {
		return nil
	}
	err = fmt.Errorf("slack: chat.postMessage: %s", clean(r.Error, 100))
	switch {
	case slackFinal[r.Error]:
		return final(err)
	}
	return err // ratelimited, channel_not_found, invalid_auth…: kept for the next run
}
