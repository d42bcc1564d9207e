package google

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/google/googlefake"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

// TestREADMEConfig decodes the README's yaml example into Config, rejecting
// unknown keys, so the documentation cannot drift from the code; and checks
// that the scopes the README lists are the ones the target asks for.
func TestREADMEConfig(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var cfg Config
	if err := targettest.DecodeStrict(targettest.READMEYAML(t, "README.md", 1)[0], &cfg); err != nil {
		t.Fatalf("README config: %v", err)
	}
	if cfg.KeyFile != "/etc/accessrecon/google-sa.json" || cfg.Subject != "accessrecon-admin@example.com" || cfg.Customer != "my_customer" ||
		cfg.EmployeeID != "externalIds:organization" || cfg.Groups != "members" || cfg.GroupName != "email" ||
		!slices.Equal(cfg.PrivilegedGroups, []string{"it-admins@example.com"}) || cfg.Credentials != "list" ||
		cfg.RateLimit != 35 || cfg.Concurrency != 4 || cfg.Timeout != 60*time.Second || cfg.ReadOnly {
		t.Fatalf("README config decoded as %+v", cfg)
	}
	fields := cfg.SecretFields()
	if len(fields) != 1 || fields[0].File != cfg.KeyFile || fields[0].Value != &cfg.Key {
		t.Fatalf("SecretFields = %+v", fields)
	}
	f := googlefake.New(t)
	f.Record = false
	*fields[0].Value = targets.Secret(f.KeyJSON) // what the wiring does
	if _, err := New(cfg, nil); err == nil {
		t.Error("New accepted a nil logger")
	}
	tg, err := New(cfg, testLogger())
	if err != nil {
		t.Fatalf("README config rejected by New: %v", err)
	}
	// Every scope the target asks for, in any mode, is in the README.
	for _, c := range []Config{cfg, {ReadOnly: true, Credentials: "skip", Groups: "members"}, {ReadOnly: true, Credentials: "list", Groups: "members"}} {
		for _, s := range scopesFor(c) {
			if !strings.Contains(string(b), "`"+s+"`") {
				t.Errorf("README does not list scope %s", s)
			}
		}
	}
	if got := tg.Scopes(); len(got) != 4 {
		t.Errorf("scopes of the README config: %v", got)
	}
}
