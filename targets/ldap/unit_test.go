package ldap

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/accessrecon/accessrecon/targets"
)

func TestGUID(t *testing.T) {
	// Samba printed this pair for the same entry: objectGUID:: (ldapsearch)
	// and "target GUID" in an error message.
	raw, _ := base64.StdEncoding.DecodeString("cLQXuNJr3EG2v8ZyN6Nl+A==")
	const want = "b817b470-6bd2-41dc-b6bf-c67237a365f8"
	if got := formatGUID(raw); got != want {
		t.Fatalf("formatGUID = %s, want %s", got, want)
	}
	back, ok := parseGUID(want)
	if !ok || string(back) != string(raw) {
		t.Fatalf("parseGUID(%s) = %x, %v; want %x", want, back, ok, raw)
	}
	if b, ok := parseGUID(fmt.Sprintf("%x", raw)); !ok || string(b) != string(raw) {
		t.Fatalf("parseGUID(wire hex) = %x, %v", b, ok)
	}
	for _, bad := range []string{"", "accessrecon-no-such-account", "b817b470-6bd2-41dc-b6bf-c67237a365fg", "b817b4706bd241dcb6bfc67237a365f8xx"} {
		if _, ok := parseGUID(bad); ok {
			t.Errorf("parseGUID(%q) accepted", bad)
		}
	}
}

func TestParseTime(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"", time.Time{}},
		{"0", time.Time{}},
		{"9223372036854775807", time.Time{}},
		{"133500000000000000", time.Date(2024, 1, 17, 21, 20, 0, 0, time.UTC)}, // date -u -d @$((13350000000-11644473600))
		{"20240131120000Z", time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC)},
		{"20240131120000.0Z", time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC)},
		{"20240131120000.5+0200", time.Date(2024, 1, 31, 10, 0, 0, 5e8, time.UTC)},
	} {
		got, err := parseTime(c.in)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	if _, err := parseTime("yesterday"); err == nil {
		t.Error("parseTime(yesterday) accepted")
	}
	now := time.Now().UTC().Truncate(100 * time.Nanosecond)
	if got := fromFiletime(toFiletime(now)); !got.Equal(now) {
		t.Errorf("FILETIME round trip: %v -> %v", now, got)
	}
}

func TestConfigValidation(t *testing.T) {
	ok := Config{URL: "ldaps://dc.example.com", BindDN: "cn=svc", Password: "pw", BaseDN: "dc=example,dc=com", Flavor: "ad"}
	f, tr := false, true
	for _, c := range []struct {
		name string
		mod  func(*Config)
		want string // substring of the error; "" means valid
	}{
		{"valid", func(*Config) {}, ""},
		{"no url", func(c *Config) { c.URL = "" }, "ldap: url: required"},
		{"bad scheme", func(c *Config) { c.URL = "http://x" }, "ldap: url:"},
		{"starttls with ldaps", func(c *Config) { c.StartTLS = &tr }, "start_tls"},
		{"no bind dn", func(c *Config) { c.BindDN = "" }, "ldap: bind_dn: required"},
		{"no password", func(c *Config) { c.Password = "" }, "ldap: password_env or password_file: required"},
		{"no base", func(c *Config) { c.BaseDN = "" }, "ldap: base_dn: required"},
		{"no flavor", func(c *Config) { c.Flavor = "" }, "ldap: flavor: required"},
		{"bad flavor", func(c *Config) { c.Flavor = "novell" }, "ldap: flavor:"},
		{"page size", func(c *Config) { c.PageSize = -1 }, "ldap: page_size"},
		{"nested openldap", func(c *Config) { c.Flavor = "openldap"; c.NestedGroups = true }, "ldap: nested_groups"},
		{"disable on ad", func(c *Config) { c.Disable = DisableConfig{"x", "y"} }, "ldap: disable"},
		{"half disable", func(c *Config) { c.Flavor = "generic"; c.Disable = DisableConfig{Attribute: "x"} }, "ldap: disable"},
		{"missing ca", func(c *Config) { c.CAFile = "/nonexistent/ca.pem" }, "ldap: ca_file"},
		{"plain ldap explicitly", func(c *Config) { c.URL = "ldap://x"; c.StartTLS = &f }, ""},
	} {
		cfg := ok
		c.mod(&cfg)
		_, err := New(cfg, nil)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw") && c.name == "unset password env" {
			t.Errorf("error may show the secret: %v", err)
		}
	}

	tg, err := New(ok, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tg.s.PageSize != 500 || tg.s.attrs.ID != "objectGUID" || tg.s.attrs.EmployeeID != "employeeID" ||
		tg.s.employeeFB != "employeeNumber" || tg.s.attrs.LastLogin != "lastLogonTimestamp" || !tg.isPrivileged("CN=Domain Admins,CN=Users,DC=x") {
		t.Fatalf("AD defaults: %+v", tg.s)
	}
	plain := ok
	plain.URL = "ldap://dc.example.com"
	if tg, _ := New(plain, nil); !tg.s.startTLS {
		t.Fatal("ldap:// without start_tls does not default to StartTLS")
	}
	ol := ok
	ol.Flavor = "openldap"
	if tg, _ := New(ol, nil); tg.s.attrs.LastLogin != "" || tg.s.attrs.ID != "entryUUID" || tg.isPrivileged("cn=Domain Admins,ou=g") {
		t.Fatalf("openldap defaults: %+v", tg.s)
	}
}

func TestClassify(t *testing.T) {
	tg := &Target{}
	ctx := t.Context()
	for code, want := range map[uint16]error{
		goldap.LDAPResultInvalidCredentials:       targets.ErrPermission,
		goldap.LDAPResultInsufficientAccessRights: targets.ErrPermission,
	} {
		if err := tg.classify(ctx, goldap.NewError(code, errors.New("x"))); !errors.Is(err, want) {
			t.Errorf("code %d: %v, want %v", code, err, want)
		}
	}
	for _, code := range []uint16{goldap.LDAPResultBusy, goldap.LDAPResultUnavailable, goldap.LDAPResultServerDown, goldap.LDAPResultTimeout, goldap.ErrorNetwork} {
		var te *targets.TransientError
		if err := tg.classify(ctx, goldap.NewError(code, errors.New("x"))); !errors.As(err, &te) {
			t.Errorf("code %d: %v, want transient", code, err)
		}
	}
	var te *targets.TransientError
	if err := tg.classify(ctx, &net.OpError{Op: "dial", Err: errors.New("refused")}); !errors.As(err, &te) {
		t.Errorf("dial error: %v, want transient", err)
	}
	if err := tg.classify(ctx, goldap.NewError(goldap.LDAPResultNoSuchObject, errors.New("x"))); errors.As(err, &te) || errors.Is(err, targets.ErrPermission) {
		t.Errorf("noSuchObject classified as %v", err)
	}
}
