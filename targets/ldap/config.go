package ldap

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/targets"
)

// Flavor names the kind of directory server: it chooses attribute defaults
// and what Disable does.
const (
	FlavorAD       = "ad"
	FlavorOpenLDAP = "openldap"
	FlavorGeneric  = "generic"
)

// Config is the `ldap` target's configuration (YAML keys in snake_case).
type Config struct {
	// URL is ldaps://host[:port] or ldap://host[:port]. A plain ldap:// URL
	// upgrades with StartTLS unless start_tls is explicitly false.
	URL string `yaml:"url"`
	// StartTLS applies to ldap:// URLs only; nil means true.
	StartTLS *bool `yaml:"start_tls"`
	// BindDN is the service account; its password comes from the environment
	// variable named by PasswordEnv (or the file PasswordFile).
	BindDN       string `yaml:"bind_dn"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	// Password is the bind password, filled in by the wiring from
	// password_env or password_file (tests set it directly).
	Password targets.Secret `yaml:"-"`
	// CAFile is a PEM bundle trusted in addition to the system pool.
	CAFile             string `yaml:"ca_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	// BaseDN is where users are searched (subtree).
	BaseDN string `yaml:"base_dn"`
	// UserFilter selects user entries; the default depends on Flavor.
	UserFilter string `yaml:"user_filter"`
	// PageSize of the paged results control (default 500; AD caps at 1000).
	PageSize int `yaml:"page_size"`
	// Flavor is ad, openldap or generic.
	Flavor string `yaml:"flavor"`
	// Attributes maps account fields to LDAP attributes; empty fields take
	// the flavor's default.
	Attributes Attributes `yaml:"attributes"`
	// PrivilegedGroups are group DNs or CNs (case-insensitive) whose members
	// are privileged. AD default: the built-in administrative groups.
	PrivilegedGroups []string `yaml:"privileged_groups"`
	// NestedGroups (AD) expands group membership transitively.
	NestedGroups bool `yaml:"nested_groups"`
	// GroupSearch finds groups by searching groupOfNames/groupOfUniqueNames
	// entries with member=<user DN> instead of reading memberOf.
	GroupSearch bool `yaml:"group_search"`
	// GroupBaseDN is where group_search and nested_groups look for groups
	// (default base_dn).
	GroupBaseDN string `yaml:"group_base_dn"`
	// Disable says how flavor generic disables an account: replace
	// Attribute with Value. Without it a generic target cannot disable.
	Disable DisableConfig `yaml:"disable"`
	// Timeout bounds each LDAP request and the dial (default 30s).
	Timeout time.Duration `yaml:"timeout"`
}

// Attributes maps Account fields to LDAP attribute names.
type Attributes struct {
	ID          string `yaml:"id"`
	EmployeeID  string `yaml:"employee_id"`
	Email       string `yaml:"email"`
	Username    string `yaml:"username"`
	DisplayName string `yaml:"display_name"`
	LastLogin   string `yaml:"last_login"`
	Created     string `yaml:"created"`
}

// DisableConfig is the generic flavor's disable action.
type DisableConfig struct {
	Attribute string `yaml:"attribute"`
	Value     string `yaml:"value"`
}

// adPrivilegedGroups are the AD groups whose members administer the domain.
var adPrivilegedGroups = []string{
	"Domain Admins", "Enterprise Admins", "Schema Admins",
	"Administrators", "Account Operators", "Backup Operators",
}

// settings is a validated Config with defaults applied.
type settings struct {
	Config
	password   targets.Secret
	tls        *tls.Config
	startTLS   bool
	attrs      Attributes
	employeeFB string // AD: employeeNumber when employeeID is empty
	privileged map[string]bool
}

// SecretFields asks the wiring for the bind password.
func (c *Config) SecretFields() []targets.SecretField {
	return []targets.SecretField{{Key: "password", Env: c.PasswordEnv, File: c.PasswordFile, Value: &c.Password}}
}

// ResolvePaths makes ca_file relative to the configuration file's directory.
func (c *Config) ResolvePaths(dir string) {
	if c.CAFile != "" && !filepath.IsAbs(c.CAFile) {
		c.CAFile = filepath.Join(dir, c.CAFile)
	}
}

func (c Config) resolve() (*settings, error) {
	s := &settings{Config: c}
	if c.URL == "" {
		return nil, errors.New("ldap: url: required")
	}
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("ldap: url: %q is not an ldap:// or ldaps:// URL", c.URL)
	}
	switch u.Scheme {
	case "ldaps":
		if c.StartTLS != nil && *c.StartTLS {
			return nil, errors.New("ldap: start_tls: not used with ldaps://")
		}
	case "ldap":
		s.startTLS = c.StartTLS == nil || *c.StartTLS
	default:
		return nil, fmt.Errorf("ldap: url: scheme %q: want ldap or ldaps", u.Scheme)
	}
	if c.BindDN == "" {
		return nil, errors.New("ldap: bind_dn: required")
	}
	if s.password = c.Password; s.password == "" {
		return nil, errors.New("ldap: password_env or password_file: required")
	}
	if c.BaseDN == "" {
		return nil, errors.New("ldap: base_dn: required")
	}
	if s.GroupBaseDN == "" {
		s.GroupBaseDN = c.BaseDN
	}
	if s.PageSize == 0 {
		s.PageSize = 500
	}
	if s.PageSize < 1 || s.PageSize > 100000 {
		return nil, fmt.Errorf("ldap: page_size: %d out of range 1..100000", c.PageSize)
	}
	if s.Timeout == 0 {
		s.Timeout = 30 * time.Second
	}
	if s.Timeout < 0 {
		return nil, fmt.Errorf("ldap: timeout: %s is negative", c.Timeout)
	}
	if c.Flavor == "" {
		return nil, errors.New("ldap: flavor: required (ad, openldap or generic)")
	}
	if err := s.applyFlavor(); err != nil {
		return nil, err
	}
	if (c.Disable.Attribute == "") != (c.Disable.Value == "") {
		return nil, errors.New("ldap: disable: attribute and value go together")
	}
	if c.Disable.Attribute != "" && c.Flavor != FlavorGeneric {
		return nil, fmt.Errorf("ldap: disable: only for flavor generic (flavor %s disables natively)", c.Flavor)
	}
	s.privileged = map[string]bool{}
	for _, g := range s.PrivilegedGroups {
		s.privileged[strings.ToLower(strings.TrimSpace(g))] = true
	}
	if s.tls, err = tlsConfig(c, u.Hostname()); err != nil {
		return nil, err
	}
	return s, nil
}

// applyFlavor fills in the attributes, user filter and privileged groups
// the flavor implies where the configuration leaves them unset.
func (s *settings) applyFlavor() error {
	a := s.Attributes
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	switch s.Flavor {
	case FlavorAD:
		if a.EmployeeID == "" {
			s.employeeFB = "employeeNumber"
		}
		def(&a.ID, "objectGUID")
		def(&a.EmployeeID, "employeeID")
		def(&a.Email, "mail")
		def(&a.Username, "sAMAccountName")
		def(&a.DisplayName, "displayName")
		def(&a.LastLogin, "lastLogonTimestamp")
		def(&a.Created, "whenCreated")
		def(&s.UserFilter, "(&(objectCategory=person)(objectClass=user))")
		if s.PrivilegedGroups == nil {
			s.PrivilegedGroups = adPrivilegedGroups
		}
	case FlavorOpenLDAP, FlavorGeneric:
		def(&a.ID, "entryUUID")
		def(&a.EmployeeID, "employeeNumber")
		def(&a.Email, "mail")
		def(&a.Username, "uid")
		def(&a.DisplayName, "displayName")
		def(&a.Created, "createTimestamp")
		def(&s.UserFilter, "(objectClass=inetOrgPerson)")
		if s.NestedGroups {
			return errors.New("ldap: nested_groups: only supported with flavor ad")
		}
	default:
		return fmt.Errorf("ldap: flavor: %q: want ad, openldap or generic", s.Flavor)
	}
	s.attrs = a
	return nil
}

// tlsConfig is the TLS configuration for host: the system roots plus
// ca_file's, verification off only on explicit opt-in.
func tlsConfig(c Config, host string) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: host, InsecureSkipVerify: c.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // off by default, an explicit opt-in
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ldap: ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ldap: ca_file: %s holds no PEM certificate", c.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
