package github

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
	if cfg.Org != "acme" || cfg.BaseURL != "https://api.github.com/" || cfg.TokenEnv != "GITHUB_TOKEN" ||
		cfg.Identity != "saml" || cfg.SAMLNameID != "email" || !cfg.OutsideCollaborators || cfg.AllowRemoveMember ||
		cfg.PageSize != 100 || cfg.Timeout != 60*time.Second {
		t.Fatalf("README config decoded as %+v", cfg)
	}
	if f := cfg.SecretFields(); len(f) != 1 || f[0].Env != "GITHUB_TOKEN" || f[0].Value != &cfg.Token {
		t.Fatalf("secret fields %+v", f)
	}
	cfg.Token = "resolved-by-the-wiring"
	if _, err := New(cfg, nil); err == nil {
		t.Error("New accepted a nil logger")
	}
	tg, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatalf("README config rejected by New: %v", err)
	}
	if tg.gqlURL != "https://api.github.com/graphql" {
		t.Fatalf("graphql URL %q", tg.gqlURL)
	}
	links := Config{LinksFile: "links.csv"}
	links.ResolvePaths("/etc/accessrecon")
	if links.LinksFile != "/etc/accessrecon/links.csv" {
		t.Fatalf("ResolvePaths: %q", links.LinksFile)
	}
}
