package bamboohr

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
	if cfg.Company != "acme" || cfg.APIKeyEnv != "BAMBOOHR_API_KEY" || cfg.Fields.Status != "employmentHistoryStatus" ||
		cfg.StatusMap["Leave of Absence"] != sources.Leave || cfg.Timeout != 5*time.Minute || cfg.MaxTries != 5 {
		t.Errorf("README config decoded as %+v", cfg)
	}
	cfg.APIKey = "k123" // the wiring resolves api_key_env
	if _, err := New(cfg, nil); err != nil {
		t.Errorf("New(README config): %v", err)
	}
}
