package okta

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/accessrecon/accessrecon/targets"
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
	if cfg.OrgURL != "https://example.okta.com" || cfg.Auth != "oauth" || cfg.ClientID == "" ||
		cfg.PrivateKeyFile != "/etc/accessrecon/okta-service-app.pem" || !slices.Equal(cfg.Scopes, DefaultScopes) ||
		cfg.Disable != "suspend" || cfg.APITokens == nil || !*cfg.APITokens || cfg.Timeout != 60*time.Second ||
		cfg.EmployeeIDAttribute != "employeeNumber" || len(cfg.PrivilegedGroups) != 2 || cfg.PageSize != 200 {
		t.Fatalf("README config decoded as %+v", cfg)
	}
	// The wiring resolves private_key_file into PrivateKey; token is optional.
	fields := cfg.SecretFields()
	if len(fields) != 2 || fields[0].Key != "token" || !fields[0].Optional || fields[1].Key != "private_key" ||
		fields[1].Optional || fields[1].File != cfg.PrivateKeyFile {
		t.Fatalf("secret fields %+v", fields)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	*fields[1].Value = targets.Secret(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if _, err := New(cfg, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("README config rejected by New: %v", err)
	}
}
