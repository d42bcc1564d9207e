package slack

import (
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets/targettest"
)

// TestREADMEConfig decodes the README's yaml example into Config, rejecting
// unknown keys, so the documentation cannot drift from the code.
func TestREADMEConfig(t *testing.T) {
	var cfg Config
	if err := targettest.DecodeStrict(targettest.READMEYAML(t, "README.md", 1)[0], &cfg); err != nil {
		t.Fatalf("README config: %v", err)
	}
	if cfg.APIURL != "https://slack.com/api/" || cfg.TokenEnv != "SLACK_TOKEN" || cfg.PageSize != 200 || !cfg.AccessLogs ||
		cfg.AccessLogsMaxPages != 100 || cfg.SessionReset || cfg.Timeout != 60*time.Second ||
		cfg.SCIM.BaseURL != "https://api.slack.com/scim/v2" || cfg.SCIM.Disable != "delete" || cfg.SCIM.TokenEnv != "SLACK_SCIM_TOKEN" {
		t.Fatalf("README config decoded as %+v", cfg)
	}
	if f := cfg.SecretFields(); len(f) < 1 || f[0].Env != "SLACK_TOKEN" || f[0].Value != &cfg.Token {
		t.Fatalf("secret fields %+v", f)
	}
	cfg.Token = "resolved-by-the-wiring"
	cfg.SCIM.Token = "resolved-by-the-wiring-too"
	if _, err := New(cfg, nil); err == nil {
		t.Error("New accepted a nil logger")
	}
	tg, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatalf("README config rejected by New: %v", err)
	}
	if caps := tg.Capabilities(); len(caps) != 3 {
		t.Fatalf("capabilities %v, want get, remove_from_group, disable (no revoke_sessions without session_reset)", caps)
	}
}
