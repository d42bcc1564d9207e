package bamboohr

import (
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

func TestREADMEConfig(t *testing.T) {
	var cfg Config
	if err := targettest.DecodeStrict(targettest.READMEYAML(t, "README.md", 1)[0], &cfg); err != nil {
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
