// Package entra is the Microsoft Entra ID (Azure AD) target, through
// Microsoft Graph v1.0 with typed requests over net/http (no Graph SDK; see
// the README for the measurement behind that choice).
//
// It signs in as an application (app-only): a client secret, a certificate,
// or workload identity federation (a Kubernetes service account token read
// from a file), with tokens from azidentity. It lists /users page by page
// ($top=999, following @odata.nextLink) with exactly the properties it maps,
// reads group memberships (group display name for people, object ID for
// actions) and active directory role assignments (privileged), and can
// re-read a user, disable one (accountEnabled=false), revoke its sign-in
// sessions and remove it from a group.
//
// Users synchronised from on-premises Active Directory and groups whose
// membership Graph cannot edit (dynamic, role-assignable, synchronised) are
// not changed: the capability returns a *ManualStepError naming what a person
// must do instead, without sending the write.
package entra

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/upstream"
)

// Defaults.
const (
	DefaultAuthorityHost = "https://login.microsoftonline.com/"
	DefaultGraphURL      = "https://graph.microsoft.com"
	// DefaultPageSize is Graph's largest $top for /users and members.
	DefaultPageSize = 999
)

// Auth methods.
const (
	AuthClientSecret     = "client_secret"
	AuthCertificate      = "certificate"
	AuthWorkloadIdentity = "workload_identity"
)

// Group membership sources.
const (
	// GroupsMembers walks every group's members once per listing.
	GroupsMembers = "members"
	// GroupsMemberOf asks each user's memberOf (one request per user).
	GroupsMemberOf = "member_of"
)

// Username sources.
const (
	UsernameUPN            = "user_principal_name"
	UsernameSamAccountName = "on_premises_sam_account_name"
)

// Config configures an Entra ID target. The keys are the yaml tags.
type Config struct {
	// TenantID is the directory (tenant) ID or a verified domain.
	TenantID string `yaml:"tenant_id"`
	// ClientID is the application (client) ID of the app registration.
	ClientID string `yaml:"client_id"`
	// Auth is client_secret (default), certificate or workload_identity.
	Auth string `yaml:"auth"`
	// The client secret (auth: client_secret).
	ClientSecretEnv  string `yaml:"client_secret_env"`
	ClientSecretFile string `yaml:"client_secret_file"`
	// The certificate with its private key, PEM or PKCS#12 (auth:
	// certificate), and the PKCS#12 password if any.
	CertificateEnv          string `yaml:"certificate_env"`
	CertificateFile         string `yaml:"certificate_file"`
	CertificatePasswordEnv  string `yaml:"certificate_password_env"`
	CertificatePasswordFile string `yaml:"certificate_password_file"`
	// FederatedTokenFile is the projected service account token (auth:
	// workload_identity), e.g. /var/run/secrets/azure/tokens/azure-identity-token.
	// It is re-read for every token: Kubernetes rotates it.
	FederatedTokenFile string `yaml:"federated_token_file"`
	// AuthorityHost is the Entra sign-in endpoint (sovereign clouds:
	// https://login.microsoftonline.us/, https://login.chinacloudapi.cn/).
	AuthorityHost string `yaml:"authority_host"`
	// GraphURL is the Graph endpoint without the version
	// (https://graph.microsoft.us, https://microsoftgraph.chinacloudapi.cn).
	GraphURL string `yaml:"graph_url"`
	// CAFile adds a PEM bundle to the system roots (a TLS-inspecting proxy).
	CAFile string `yaml:"ca_file"`
	// Groups is members (default: each group's members once per listing) or
	// member_of (each user's memberOf: one request per user).
	Groups string `yaml:"groups"`
	// Username is the account's username: user_principal_name (default) or
	// on_premises_sam_account_name (the AD logon name of synchronised users,
	// falling back to the UPN for cloud-only users).
	Username string `yaml:"username"`
	// SkipSignInActivity lists without signInActivity (tenants without
	// Entra ID P1/P2 or without AuditLog.Read.All): logins are not tracked.
	SkipSignInActivity bool `yaml:"skip_sign_in_activity"`
	// PageSize is $top for listings (1–999, default 999).
	PageSize int `yaml:"page_size"`
	// Timeout bounds one HTTP request (default 60s).
	Timeout time.Duration `yaml:"timeout"`
	// MaxRetryWait caps one wait before retrying a throttled read, whatever
	// Retry-After says (default 60s).
	MaxRetryWait time.Duration `yaml:"max_retry_wait"`

	// tokenRetries overrides azcore's retries of token requests (tests:
	// -1 disables them; 0 keeps azcore's default of 3 with backoff).
	tokenRetries int32

	clientSecret        targets.Secret
	certificate         targets.Secret
	certificatePassword targets.Secret
}

// SecretFields names the secrets the configured auth method needs.
func (c *Config) SecretFields() []targets.SecretField {
	switch c.Auth {
	case AuthClientSecret, "":
		return []targets.SecretField{{Key: "client_secret", Env: c.ClientSecretEnv, File: c.ClientSecretFile, Value: &c.clientSecret}}
	case AuthCertificate:
		return []targets.SecretField{
			{Key: "certificate", Env: c.CertificateEnv, File: c.CertificateFile, Value: &c.certificate},
			{Key: "certificate_password", Env: c.CertificatePasswordEnv, File: c.CertificatePasswordFile, Value: &c.certificatePassword, Optional: true},
		}
	}
	return nil
}

// ResolvePaths makes ca_file and federated_token_file relative to dir.
func (c *Config) ResolvePaths(dir string) {
	for _, p := range []*string{&c.CAFile, &c.FederatedTokenFile} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}

// Target is one Entra ID tenant.
type Target struct {
	cfg    Config
	log    *slog.Logger
	graph  *url.URL // https://graph.microsoft.com/v1.0
	client upstream.Client
	tokens *tokenSource
}

// New validates cfg and builds the target. It does not contact Entra: the
// first token is requested by the first call.
func New(cfg Config, log *slog.Logger) (*Target, error) {
	if log == nil {
		return nil, errors.New("entra: nil logger")
	}
	if cfg.TenantID == "" {
		return nil, errors.New("entra: tenant_id: required")
	}
	if cfg.ClientID == "" {
		return nil, errors.New("entra: client_id: required")
	}
	if cfg.AuthorityHost == "" {
		cfg.AuthorityHost = DefaultAuthorityHost
	}
	if u, err := url.Parse(cfg.AuthorityHost); err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("entra: authority_host: %q is not an https URL", cfg.AuthorityHost)
	}
	if cfg.GraphURL == "" {
		cfg.GraphURL = DefaultGraphURL
	}
	gu, err := url.Parse(strings.TrimRight(cfg.GraphURL, "/"))
	if err != nil || gu.Scheme != "https" || gu.Host == "" || (gu.Path != "" && gu.Path != "/") {
		return nil, fmt.Errorf("entra: graph_url: %q is not an https URL without a path (the version /v1.0 is added)", cfg.GraphURL)
	}
	scope := gu.Scheme + "://" + gu.Host + "/.default"
	gu.Path = "/v1.0"
	switch cfg.Groups {
	case "":
		cfg.Groups = GroupsMembers
	case GroupsMembers, GroupsMemberOf:
	default:
		return nil, fmt.Errorf("entra: groups: %q is not members or member_of", cfg.Groups)
	}
	switch cfg.Username {
	case "":
		cfg.Username = UsernameUPN
	case UsernameUPN, UsernameSamAccountName:
	default:
		return nil, fmt.Errorf("entra: username: %q is not user_principal_name or on_premises_sam_account_name", cfg.Username)
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.PageSize < 1 || cfg.PageSize > 999 {
		return nil, fmt.Errorf("entra: page_size: %d is not between 1 and 999", cfg.PageSize)
	}
	if cfg.Timeout < 0 || cfg.MaxRetryWait < 0 {
		return nil, errors.New("entra: timeout and max_retry_wait must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 60 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("entra: ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("entra: ca_file %s: no PEM certificate in it", cfg.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	httpClient := &http.Client{Transport: tr, Timeout: cfg.Timeout}

	newCred, secrets, err := credentialFactory(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	t := &Target{
		cfg:   cfg,
		log:   log,
		graph: gu,
		client: upstream.Client{
			HTTP:    httpClient,
			MaxWait: cfg.MaxRetryWait,
			// No Component: every error is wrapped with "entra: <what>".
		},
		tokens: &tokenSource{newCred: newCred, scope: scope, secrets: secrets},
	}
	t.client.Redactor = targets.NewRedactor(secrets...)
	return t, nil
}

// credentialFactory returns a function that builds a fresh credential (a
// fresh token cache: used again when Graph rejects a cached token), and the
// configured secrets for redaction.
func credentialFactory(cfg Config, hc *http.Client) (func() (azcore.TokenCredential, error), []targets.Secret, error) {
	opts := azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: cfg.AuthorityHost},
		Transport: hc,
		Retry:     policy.RetryOptions{MaxRetries: cfg.tokenRetries},
	}
	switch cfg.Auth {
	case AuthClientSecret, "":
		if cfg.clientSecret.Reveal() == "" {
			return nil, nil, errors.New("entra: client_secret_env/client_secret_file: no client secret (auth: client_secret)")
		}
		secret := cfg.clientSecret
		return func() (azcore.TokenCredential, error) {
			return azidentity.NewClientSecretCredential(cfg.TenantID, cfg.ClientID, secret.Reveal(),
				&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
		}, []targets.Secret{secret}, nil
	case AuthCertificate:
		if cfg.certificate.Reveal() == "" {
			return nil, nil, errors.New("entra: certificate_env/certificate_file: no certificate (auth: certificate)")
		}
		certs, key, err := azidentity.ParseCertificates([]byte(cfg.certificate.Reveal()), []byte(cfg.certificatePassword.Reveal()))
		if err != nil {
			// The parser's message names no key material.
			return nil, nil, fmt.Errorf("entra: certificate: %w", err)
		}
		return func() (azcore.TokenCredential, error) {
			return azidentity.NewClientCertificateCredential(cfg.TenantID, cfg.ClientID, certs, crypto.PrivateKey(key),
				&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true, SendCertificateChain: true})
		}, []targets.Secret{cfg.certificate, cfg.certificatePassword}, nil
	case AuthWorkloadIdentity:
		if cfg.FederatedTokenFile == "" {
			return nil, nil, errors.New("entra: federated_token_file: required with auth: workload_identity")
		}
		return func() (azcore.TokenCredential, error) {
			// TenantID, ClientID and TokenFilePath are always set, so
			// azidentity never falls back to the AZURE_* environment.
			return azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
				ClientOptions: opts, ClientID: cfg.ClientID, TenantID: cfg.TenantID,
				TokenFilePath: cfg.FederatedTokenFile, DisableInstanceDiscovery: true,
			})
		}, nil, nil
	}
	return nil, nil, fmt.Errorf("entra: auth: %q is not client_secret, certificate or workload_identity", cfg.Auth)
}

// ErrManualStep is wrapped by a *ManualStepError.
var ErrManualStep = errors.New("manual step")

// ManualStepError says that Graph cannot (or must not) make this change and
// what a person must do instead. Nothing was sent.
type ManualStepError struct {
	Action string // "disable", "remove from group"
	Object string // the user or group, named
	Reason string
	Step   string // what to do instead
}

func (e *ManualStepError) Error() string {
	return fmt.Sprintf("entra: %s %s: manual step: %s; %s", e.Action, e.Object, e.Reason, e.Step)
}

func (e *ManualStepError) Unwrap() error { return ErrManualStep }

// tokenSource hands out Graph access tokens. A token Graph rejects (401) is
// dropped with its credential, and the next call builds a new credential,
// whose empty cache makes azidentity ask Entra for a new token.
type tokenSource struct {
	newCred func() (azcore.TokenCredential, error)
	scope   string
	secrets []targets.Secret

	mu   sync.Mutex
	cred azcore.TokenCredential
	gen  int
	// redact knows the configured secrets and the current token.
	redact *targets.Redactor
	token  string
}
