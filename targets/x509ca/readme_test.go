package x509ca_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/accessrecon/accessrecon/targets/x509ca"
)

// TestREADMEConfig decodes the README's yaml block into Config with unknown
// keys rejected, so the documentation cannot drift from the code.
func TestREADMEConfig(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	if len(blocks) != 1 {
		t.Fatalf("README.md has %d yaml blocks, want 1", len(blocks))
	}
	var c x509ca.Config
	dec := yaml.NewDecoder(strings.NewReader(blocks[0][1]))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("README yaml block does not decode into Config: %v", err)
	}
	if c.Index != "/etc/openvpn/easy-rsa/pki/index.txt" || c.EmployeeIDAttribute != "serialNumber" || len(c.RevokeCommand) != 11 ||
		c.RevokeCommand[8] != "{cert}" || c.GenCRLCommand[len(c.GenCRLCommand)-1] != "pki/crl.pem" || c.Env["EASYRSA_PKI"] != "/etc/openvpn/easy-rsa/pki" ||
		c.CAPassphraseEnv != "VPN_CA_PASSPHRASE" || c.Timeout != 60*time.Second {
		t.Fatalf("README example decoded as %+v", c)
	}
	// The example is a valid configuration once its index exists.
	dir := t.TempDir()
	c.ResolvePaths(dir)
	c.Index = dir + "/index.txt"
	if err := os.WriteFile(c.Index, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := x509ca.New(c, nil); err != nil {
		t.Fatalf("README example rejected by New: %v", err)
	}
}
