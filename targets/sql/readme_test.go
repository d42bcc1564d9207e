package sqltarget

import (
	"bytes"
	"os"
	"regexp"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/accessrecon/accessrecon/targets"
)

func TestReadmeConfig(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("README.md has no ```yaml block")
	}
	dec := yaml.NewDecoder(bytes.NewReader(m[1]))
	dec.KnownFields(true)
	var cfg Config
	if err := dec.Decode(&cfg); err != nil {
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
