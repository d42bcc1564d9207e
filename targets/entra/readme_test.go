package entra

import (
	"crypto/rand"
	"crypto/rsa"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

// TestREADMEConfig decodes the README's yaml example into Config, rejecting
// unknown keys, so the documentation cannot drift from the code.
func TestREADMEConfig(t *testing.T) {
	var cfg Config
	if err := targettest.DecodeStrict(targettest.READMEYAML(t, "README.md", 1)[0], &cfg); err != nil {
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
