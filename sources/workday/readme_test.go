package workday

import (
	"strings"
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
