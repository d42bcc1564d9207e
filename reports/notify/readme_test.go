package notify

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/targets"
)

func readmeConfig(t *testing.T) Config {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("README.md has no ```yaml block")
	}
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(m[1]))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("README config: %v", err)
	}
	return cfg
}

func TestReadmeConfig(t *testing.T) {
	cfg := readmeConfig(t)
	if cfg.RunURL != "https://accessrecon.example.com/runs/" || cfg.MaxItems != 10 || cfg.MaxAge != 168*time.Hour || cfg.Timeout != 30*time.Second || len(cfg.Sinks) != 5 {
		t.Fatalf("decoded %+v", cfg)
	}
	s := cfg.Sinks
	if s[0].Slack == nil || s[0].Slack.WebhookURLEnv != "SLACK_WEBHOOK_URL" || len(s[0].Events) != 4 ||
		s[1].Slack == nil || s[1].Slack.Channel != "C0123456789" || s[1].MinSeverity != reconcile.High ||
		s[2].Teams == nil || s[2].Teams.URLFile != "/run/secrets/teams-workflow-url" ||
		s[3].Email == nil || s[3].Email.TLS != TLSStartTLS || len(s[3].Email.To) != 2 || s[3].Email.PasswordEnv != "SMTP_PASSWORD" ||
		s[4].Webhook == nil || s[4].Webhook.SecretEnv != "ACCESSRECON_WEBHOOK_SECRET" {
		t.Fatalf("sinks decoded as %+v", s)
	}
	// Resolved as the wiring would, the example is a valid configuration.
	var keys []string
	for _, f := range cfg.SecretFields() {
		keys = append(keys, f.Key)
		*f.Value = targets.Secret("https://hooks.example.com/secret-value-" + f.Key)
	}
	if strings.Join(keys, " ") != "sinks.it-slack.webhook_url sinks.security-slack.token sinks.hr-teams.url sinks.compliance-mail.password sinks.siem.secret" {
		t.Errorf("secret keys %q", keys)
	}
	if _, err := New(cfg, quiet()); err != nil {
		t.Fatalf("README config: %v", err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	hook := &SlackConfig{WebhookURLEnv: "X", WebhookURL: "https://hooks.slack.com/services/T/B/x"}
	cases := map[string]Config{
		"sinks.a: set exactly one":        {Sinks: []Sink{{Name: "a"}}},
		"name used twice":                 {Sinks: []Sink{{Name: "a", Slack: hook}, {Name: "a", Slack: hook}}},
		`unknown event "revocation"`:      {Sinks: []Sink{{Name: "a", Slack: hook, Events: []EventType{"revocation"}}}},
		`min_severity: "urgent"`:          {Sinks: []Sink{{Name: "a", Slack: hook, MinSeverity: "urgent"}}},
		"must be set, without spaces":     {Sinks: []Sink{{Name: "a/b", Slack: hook}}},
		"channel: required with token_*":  {Sinks: []Sink{{Name: "a", Slack: &SlackConfig{TokenEnv: "T", Token: "xoxb-1234"}}}},
		"not both":                        {Sinks: []Sink{{Name: "a", Slack: &SlackConfig{TokenEnv: "T", WebhookURLEnv: "W"}}}},
		"webhook_url_file: not resolved":  {Sinks: []Sink{{Name: "a", Slack: &SlackConfig{WebhookURLEnv: "W"}}}},
		"at least 16 characters":          {Sinks: []Sink{{Name: "a", Webhook: &WebhookConfig{URL: "https://x.example.com", Secret: "short"}}}},
		"no username or password without": {Sinks: []Sink{{Name: "a", Email: &EmailConfig{Host: "h", TLS: TLSNone, Username: "u", Password: "p"}}}},
		"set both or neither":             {Sinks: []Sink{{Name: "a", Email: &EmailConfig{Host: "h", Username: "u"}}}},
		"email: to: at least one":         {Sinks: []Sink{{Name: "a", Email: &EmailConfig{Host: "h", From: "a@example.com"}}}},
		"run_url":                         {RunURL: "accessrecon.example.com/runs"},
	}
	for want, cfg := range cases {
		_, err := New(cfg, quiet())
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v", want, err)
		}
		if err != nil && strings.Contains(err.Error(), "hooks.slack.com") {
			t.Errorf("the error names a secret URL: %v", err)
		}
	}
}
