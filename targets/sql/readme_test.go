package sqltarget

import (
	"slices"
	"testing"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

func TestReadmeConfig(t *testing.T) {
	var cfg Config
	if err := targettest.DecodeStrict(targettest.READMEYAML(t, "README.md", 1)[0], &cfg); err != nil {
		t.Fatalf("README config: %v", err)
	}
	if cfg.Driver != "pgx" || cfg.DSNEnv != "BILLING_APP_DSN" || cfg.MaxOpenConns != 4 || cfg.RevokeCredentialStatement == "" {
		t.Fatalf("README config decoded as %+v", cfg)
	}
	cfg.DSNSecret = "postgres://accessrecon@127.0.0.1:1/billing?sslmode=disable" // the wiring resolves dsn_env
	tg, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("README config rejected by New: %v", err)
	}
	defer tg.Close()
	if got := targets.Resolve(tg).List(); len(got) != 5 || !slices.Contains(got, targets.CanRevokeCredential) {
		t.Fatalf("README config capabilities %v", got)
	}
}
