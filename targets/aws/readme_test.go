package aws

import (
	"os"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets/targettest"
)

// TestREADMEConfig decodes the README's yaml example into Config, rejecting
// unknown keys, so the documentation cannot drift from the code, and checks
// that New accepts it.
func TestREADMEConfig(t *testing.T) {
	var cfg Config
	if err := targettest.DecodeStrict(targettest.READMEYAML(t, "README.md", 1)[0], &cfg); err != nil {
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
