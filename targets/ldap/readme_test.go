package ldap_test

import (
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets/ldap"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

// TestREADMEConfig decodes every yaml block of README.md into Config with
// unknown keys rejected, so the documentation cannot drift from the code.
func TestREADMEConfig(t *testing.T) {
	var cfgs []ldap.Config
	for _, block := range targettest.READMEYAML(t, "README.md", 2) { // AD and OpenLDAP
		var c ldap.Config
		if err := targettest.DecodeStrict(block, &c); err != nil {
			t.Fatalf("README yaml block does not decode into Config: %v\n%s", err, block)
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
