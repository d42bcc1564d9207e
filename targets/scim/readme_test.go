package scim

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// TestREADMEConfig decodes the README's yaml example into Config, rejecting
// unknown keys, so the documentation cannot drift from the code.
func TestREADMEConfig(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```yaml\n")
	if !ok {
		t.Fatal("README.md has no ```yaml block")
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("README.md: unterminated ```yaml block")
	}
	dec := yaml.NewDecoder(bytes.NewReader([]byte(block)))
	dec.KnownFields(true)
	var cfg Config
	if err := dec.Decode(&cfg); err != nil {
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
