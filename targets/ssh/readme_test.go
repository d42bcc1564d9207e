package sshtarget_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	sshtarget "github.com/accessrecon/accessrecon/targets/ssh"
)

// TestREADMEConfig decodes the README's yaml block into Config with unknown
// keys rejected, so the documentation cannot drift from the code.
func TestREADMEConfig(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	if len(blocks) != 1 {
		t.Fatalf("README.md has %d yaml blocks, want 1", len(blocks))
	}
	var c sshtarget.Config
	dec := yaml.NewDecoder(strings.NewReader(blocks[0][1]))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("README yaml block does not decode into Config: %v", err)
	}
	if len(c.Hosts) != 2 || c.Hosts[1].Name != "build-01" || c.User != "root" || c.KnownHosts != "/etc/accessrecon/ssh/known_hosts" ||
		len(c.AuthorizedKeysFiles) != 3 || c.KeyRegistry != "ssh-keys.csv" || c.MinUID == nil || *c.MinUID != 1000 ||
		c.LockAccounts || c.Backup == nil || !*c.Backup || c.Timeout != 30*time.Second || c.Concurrency != 4 || c.EmailDomains[0] != "example.com" {
		t.Fatalf("README example decoded as %+v", c)
	}
	c.ResolvePaths("/etc/accessrecon")
	if c.KeyRegistry != "/etc/accessrecon/ssh-keys.csv" || c.KnownHosts != "/etc/accessrecon/ssh/known_hosts" {
		t.Fatalf("ResolvePaths: %q %q", c.KeyRegistry, c.KnownHosts)
	}
}
