package scim

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
	if cfg.BaseURL != "https://api.slack.com/scim/v2" || cfg.Auth != "bearer" || cfg.TokenEnv != "SLACK_SCIM_TOKEN" ||
		cfg.Disable != "delete" || cfg.Filter != `userName ew "@example.com"` || cfg.Timeout != 30*time.Second ||
		cfg.RateLimit != 2 || len(cfg.PrivilegedGroups) != 2 || cfg.EmployeeIDAttribute != EnterpriseEmployeeNumber {
		t.Fatalf("README config decoded as %+v", cfg)
	}
	cfg.Token = "x-token" // the wiring resolves token_env
	if _, err := New(cfg, nil); err == nil {
		t.Error("New accepted a nil logger")
	}
	if _, err := New(cfg, testLogger(t)); err != nil {
		t.Fatalf("README config rejected by New: %v", err)
	}
}
