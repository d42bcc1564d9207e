package entra

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"os"
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
	if cfg.TenantID == "" || cfg.ClientID == "" || cfg.Auth != AuthCertificate || cfg.CertificateFile != "/etc/accessrecon/entra-app.pem" ||
		cfg.Groups != GroupsMembers || cfg.Username != UsernameUPN || cfg.SkipSignInActivity || cfg.PageSize != 999 ||
		cfg.Timeout != 60*time.Second || cfg.MaxRetryWait != 60*time.Second {
		t.Fatalf("README config decoded as %+v", cfg)
	}
	fields := cfg.SecretFields()
	if len(fields) != 2 || fields[0].Key != "certificate" || fields[0].File != cfg.CertificateFile {
		t.Fatalf("secret fields %+v", fields)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	*fields[0].Value = targets.Secret(certificatePEM(t, key))
	if _, err := New(cfg, nil); err == nil {
		t.Error("New accepted a nil logger")
	}
	if _, err := New(cfg, testLogger(t)); err != nil {
		t.Fatalf("README config rejected by New: %v", err)
	}
}
