package github

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
