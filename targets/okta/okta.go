// Package okta is the Okta target: it lists an Okta org's users through the
// Management API (every status, DEPROVISIONED included), with their groups,
// admin roles and API tokens, and can suspend (or, when configured,
// deactivate) a user, end their sessions and OAuth tokens, revoke their API
// tokens and remove them from Okta-mastered groups.
//
// It authenticates with an SSWS API token or as an OAuth 2.0 service app
// (client_credentials with private_key_jwt), and talks to the API over
// net/http through targets/upstream, reading Okta's X-Rate-Limit-* headers
// to slow down before a 429. The request shapes come from Okta's own OpenAPI
// description (testdata/management-minimal.yaml), which the tests hold both
// the connector and their fake to.
package okta

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/targets"
)

// Config configures an Okta target. The keys are the yaml tags.
type Config struct {
	// OrgURL is the org's base URL, e.g. https://example.okta.com.
	OrgURL string `yaml:"org_url"`
	// Auth is "api_token" (default: Authorization: SSWS, token_env/token_file)
	// or "oauth" (a service app: client_id + private_key_env/private_key_file).
	Auth      string `yaml:"auth"`
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
	// ClientID is the OAuth service app's client ID (auth: oauth).
	ClientID string `yaml:"client_id"`
	// PrivateKeyEnv/PrivateKeyFile hold the app's RSA private key, PEM
	// (PKCS#1 or PKCS#8), whose public key is registered on the app.
	PrivateKeyEnv  string `yaml:"private_key_env"`
	PrivateKeyFile string `yaml:"private_key_file"`
	// KeyID is the key's kid as registered on the app (optional: Okta tries
	// every key of the app when it is absent).
	KeyID string `yaml:"key_id"`
	// Scopes asked for (auth: oauth). Default: every scope the target can use
	// (DefaultScopes). Leave the manage scopes out for a read-only target: its
	// actions then become manual steps.
	Scopes []string `yaml:"scopes"`
	// TokenURL is the token endpoint (default {org_url}/oauth2/v1/token, the
	// org authorization server, the only one that issues okta.* scopes).
	TokenURL string `yaml:"token_url"`
	// Search, or Filter, narrows the listing (Okta's search and filter
	// expressions). Default: a filter naming every status, so that
	// DEPROVISIONED users are listed too (Okta leaves them out of an
	// unfiltered listing). A search is served from an eventually consistent
	// index; the default filter is not.
	Search string `yaml:"search"`
	Filter string `yaml:"filter"`
	// EmployeeIDAttribute is the profile attribute holding the employee ID
	// (default employeeNumber).
	EmployeeIDAttribute string `yaml:"employee_id_attribute"`
	// Disable is "suspend" (default: reversible, keeps app assignments) or
	// "deactivate" (irreversible: deprovisions every app assignment).
	Disable string `yaml:"disable"`
	// APITokens lists the API tokens owned by each user as its credentials
	// (default true; needs okta.apiTokens.read, and a super admin for SSWS).
	APITokens *bool `yaml:"api_tokens"`
	// PrivilegedGroups are group names (case-insensitive) whose members are
	// marked Privileged, besides every holder of an Okta admin role: groups
	// that grant admin rights in apps (AWS-Admins, say).
	PrivilegedGroups []string `yaml:"privileged_groups"`
	// PageSize is the limit asked for per page (default 200, Okta's maximum
	// for users).
	PageSize int `yaml:"page_size"`
	// Timeout bounds one HTTP request (default 60s).
	Timeout time.Duration `yaml:"timeout"`

	// Token and PrivateKey are filled by the wiring from the *_env/*_file keys.
	Token      targets.Secret `yaml:"-"`
	PrivateKey targets.Secret `yaml:"-"`
}

// SecretFields names the secrets the wiring resolves before New.
func (c *Config) SecretFields() []targets.SecretField {
	oauth := c.Auth == "oauth"
	return []targets.SecretField{
		{Key: "token", Env: c.TokenEnv, File: c.TokenFile, Value: &c.Token, Optional: oauth},
		{Key: "private_key", Env: c.PrivateKeyEnv, File: c.PrivateKeyFile, Value: &c.PrivateKey, Optional: !oauth},
	}
}

// DefaultScopes are the OAuth scopes asked for when Config.Scopes is empty.
var DefaultScopes = []string{
	"okta.users.read", "okta.groups.read", "okta.roles.read", "okta.apiTokens.read",
	"okta.users.manage", "okta.groups.manage", "okta.apiTokens.manage",
}

// The statuses in which a user can sign in (or is about to: PROVISIONED has
// an activation link out).
var enabledStatus = map[string]bool{
	"ACTIVE": true, "PASSWORD_EXPIRED": true, "LOCKED_OUT": true, "RECOVERY": true, "PROVISIONED": true,
}

// allStatuses is every user status; the default filter names them all.
var allStatuses = []string{"STAGED", "PROVISIONED", "ACTIVE", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT", "SUSPENDED", "DEPROVISIONED"}

// Target is an Okta org.
type Target struct {
	cfg    Config
	log    *slog.Logger
	base   *url.URL
	api    *apiClient
	scopes []string        // granted scopes asked for (oauth), nil for SSWS
	priv   map[string]bool // privileged_groups, lower case
}

// deps are what tests replace: the HTTP client and the clock.
type deps struct {
	http  *http.Client
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// New validates cfg and returns the target. It does not contact Okta: an
// OAuth token is fetched on first use.
func New(cfg Config, log *slog.Logger) (*Target, error) {
	return newTarget(cfg, log, deps{})
}

func newTarget(cfg Config, log *slog.Logger, d deps) (*Target, error) {
	if log == nil {
		return nil, errors.New("okta: nil logger")
	}
	if cfg.OrgURL == "" {
		return nil, errors.New("okta: org_url: required (https://<your org>.okta.com)")
	}
	base, err := url.Parse(strings.TrimRight(cfg.OrgURL, "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" || (base.Path != "" && base.Path != "/") {
		return nil, fmt.Errorf("okta: org_url: %q is not an org URL such as https://example.okta.com", cfg.OrgURL)
	}
	base.Path = ""
	if cfg.EmployeeIDAttribute == "" {
		cfg.EmployeeIDAttribute = "employeeNumber"
	}
	cfg.EmployeeIDAttribute = strings.TrimPrefix(cfg.EmployeeIDAttribute, "profile.")
	switch cfg.Disable {
	case "":
		cfg.Disable = "suspend"
	case "suspend", "deactivate":
	default:
		return nil, fmt.Errorf("okta: disable: %q is not suspend or deactivate", cfg.Disable)
	}
	if cfg.Search != "" && cfg.Filter != "" {
		return nil, errors.New("okta: search and filter: set at most one")
	}
	if cfg.APITokens == nil {
		on := true
		cfg.APITokens = &on
	}
	if cfg.PageSize < 0 || cfg.PageSize > 200 {
		return nil, fmt.Errorf("okta: page_size: %d is not between 1 and 200", cfg.PageSize)
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = 200
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("okta: timeout: %v is negative", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 60 * time.Second
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.sleep == nil {
		d.sleep = sleepCtx
	}
	if d.http == nil {
		d.http = &http.Client{Timeout: cfg.Timeout}
	}
	t := &Target{cfg: cfg, log: log, base: base, priv: map[string]bool{}}
	for _, g := range cfg.PrivilegedGroups {
		t.priv[strings.ToLower(strings.TrimSpace(g))] = true
	}
	var auth authorizer
	switch cfg.Auth {
	case "", "api_token":
		t.cfg.Auth = "api_token"
		if cfg.Token.Reveal() == "" {
			return nil, errors.New("okta: token_env/token_file: no API token (auth: api_token)")
		}
		auth = ssws{token: cfg.Token}
	case "oauth":
		if cfg.ClientID == "" {
			return nil, errors.New("okta: client_id: required with auth: oauth")
		}
		if cfg.PrivateKey.Reveal() == "" {
			return nil, errors.New("okta: private_key_env/private_key_file: no private key (auth: oauth)")
		}
		key, err := parseRSAKey(cfg.PrivateKey.Reveal())
		if err != nil {
			return nil, fmt.Errorf("okta: private_key: %w", err)
		}
		scopes := cfg.Scopes
		if len(scopes) == 0 {
			scopes = DefaultScopes
		}
		t.scopes = slices.Clone(scopes)
		tokenURL := cfg.TokenURL
		if tokenURL == "" {
			tokenURL = base.String() + "/oauth2/v1/token"
		}
		if u, err := url.Parse(tokenURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("okta: token_url: %q is not an http(s) URL", tokenURL)
		}
		auth = &oauthSource{
			clientID: cfg.ClientID, keyID: cfg.KeyID, key: key, tokenURL: tokenURL,
			scopes: strings.Join(scopes, " "), now: d.now, http: d.http,
			staticSecrets: []targets.Secret{cfg.PrivateKey},
		}
	default:
		return nil, fmt.Errorf("okta: auth: %q is not api_token or oauth", cfg.Auth)
	}
	t.api = newAPIClient(base, auth, d, log)
	return t, nil
}

// Capabilities lists what this configuration can do: with OAuth, the scopes
// asked for decide (no okta.users.manage: no disable, no session revocation).
func (t *Target) Capabilities() []targets.Capability {
	has := func(s string) bool { return t.scopes == nil || slices.Contains(t.scopes, s) }
	caps := []targets.Capability{targets.CanGet}
	if has("okta.users.manage") {
		caps = append(caps, targets.CanDisable, targets.CanRevokeSessions)
	}
	if *t.cfg.APITokens && has("okta.apiTokens.manage") {
		caps = append(caps, targets.CanRevokeCredential)
	}
	if has("okta.groups.manage") {
		caps = append(caps, targets.CanRemoveFromGroup)
	}
	return caps
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

var (
	_ targets.Target            = (*Target)(nil)
	_ targets.Getter            = (*Target)(nil)
	_ targets.Disabler          = (*Target)(nil)
	_ targets.SessionRevoker    = (*Target)(nil)
	_ targets.CredentialRevoker = (*Target)(nil)
	_ targets.GroupRemover      = (*Target)(nil)
	_ targets.Configurable      = (*Target)(nil)
	_ targets.SecretConfig      = (*Config)(nil)
)
