package ldap_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/accessrecon/accessrecon/targets/ldap"
)

// TestREADMEConfig decodes every yaml block of README.md into Config with
// unknown keys rejected, so the documentation cannot drift from the code.
func TestREADMEConfig(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	if len(blocks) != 2 {
		t.Fatalf("README.md has %d yaml blocks, want 2 (AD and OpenLDAP)", len(blocks))
	}
	var cfgs []ldap.Config
	for _, m := range blocks {
		var c ldap.Config
		dec := yaml.NewDecoder(strings.NewReader(m[1]))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("README yaml block does not decode into Config: %v\n%s", err, m[1])
		}
		cfgs = append(cfgs, c)
	}
	ad, ol := cfgs[0], cfgs[1]
	if ad.URL != "ldaps://dc1.corp.example.com:636" || ad.Flavor != "ad" || ad.PageSize != 500 ||
		!ad.NestedGroups || ad.Timeout != 30*time.Second || len(ad.PrivilegedGroups) != 3 ||
		ad.Attributes.LastLogin != "lastLogonTimestamp" || ad.PasswordEnv != "ACCESSRECON_AD_PASSWORD" || ad.StartTLS != nil {
		t.Fatalf("AD example decoded as %+v", ad)
	}
	if ol.Flavor != "openldap" || ol.BaseDN != "ou=people,dc=example,dc=com" || ol.PrivilegedGroups[0] != "admins" {
		t.Fatalf("OpenLDAP example decoded as %+v", ol)
	}
	// The examples are valid configurations (no ca_file check: it names a host path).
	ol.Password, ad.Password = "x", "x" // the wiring resolves password_env
	if _, err := ldap.New(ol, nil); err != nil {
		t.Fatalf("OpenLDAP example rejected by New: %v", err)
	}
	ad.CAFile = ""
	if _, err := ldap.New(ad, nil); err != nil {
		t.Fatalf("AD example rejected by New: %v", err)
	}
}
