package aws

import (
	"bytes"
	"os"
	"regexp"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// TestREADMEConfig decodes the README's yaml example into Config, rejecting
// unknown keys, so the documentation cannot drift from the code, and checks
// that New accepts it.
func TestREADMEConfig(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(b, -1)
	if len(blocks) != 1 {
		t.Fatalf("README.md has %d yaml blocks, want 1", len(blocks))
	}
	dec := yaml.NewDecoder(bytes.NewReader(blocks[0][1]))
	dec.KnownFields(true)
	var cfg Config
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("README config: %v", err)
	}
	if cfg.Profile != "security-audit" || cfg.Region != "us-east-1" || cfg.AssumeRoleARN != "arn:aws:iam::123456789012:role/accessrecon" ||
		cfg.ExternalID != "accessrecon-prod" || cfg.TagEmployeeID != "EmployeeID" || cfg.TagEmail != "Email" || cfg.Listing != ListingBulk ||
		cfg.ReportWait != 2*time.Minute || cfg.AllowGroupRemoval == nil || *cfg.AllowGroupRemoval || cfg.PageSize != 1000 ||
		cfg.Concurrency != 4 || !cfg.RevokeSessions || cfg.MaxAttempts != 8 || cfg.MaxBackoff != 20*time.Second {
		t.Fatalf("README config decoded as %+v", cfg)
	}
	// New must accept it. The SDK reads the named profile at New: give it a
	// shared config file that has it.
	dir := t.TempDir()
	conf := dir + "/config"
	if err := os.WriteFile(conf, []byte("[profile security-audit]\nregion = us-east-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	isolateAWSEnv(t)
	t.Setenv("AWS_CONFIG_FILE", conf)
	tg, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatalf("README config rejected by New: %v", err)
	}
	for _, c := range tg.Capabilities() {
		if c == "remove_from_group" {
			t.Error("allow_group_removal: false still offers remove_from_group")
		}
	}
}
