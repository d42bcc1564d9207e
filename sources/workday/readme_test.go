package workday

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/sources"
	"go.yaml.in/yaml/v3"
)

func TestREADMEConfig(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "```yaml\n")
	if !ok {
		t.Fatal("README.md has no ```yaml block")
	}
	block, _, ok := strings.Cut(after, "```")
	if !ok {
		t.Fatal("unterminated ```yaml block")
	}
	var cfg Config
	dec := yaml.NewDecoder(strings.NewReader(block))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("README config: %v", err)
	}
	if !strings.HasSuffix(cfg.URL, "/accessrecon_workers") || cfg.UserEnv != "WORKDAY_ISU_USER" || cfg.Format != "json" ||
		cfg.Fields.Email != "Email_group.Email_Address" || cfg.StatusMap["Garden Leave"] != sources.Leave || cfg.Timeout != 15*time.Minute {
		t.Errorf("README config decoded as %+v", cfg)
	}
	cfg.User, cfg.Password = "u", "p123" // the wiring resolves user_env, password_env
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New(README config): %v", err)
	}
	if !strings.HasSuffix(s.url, "?format=json") {
		t.Errorf("url %s", s.url)
	}
}
