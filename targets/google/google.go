// Package google is the Google Workspace target: it lists the users of a
// Workspace (or Cloud Identity) account through the Admin SDK Directory API
// (users.list, customer=my_customer, 500 per page), with their direct group
// memberships, their OAuth tokens granted to third-party apps and their
// application-specific passwords, and can suspend a user, sign them out of
// every session, revoke one token or app password, remove them from a group
// and re-read one user.
//
// It authenticates as a service account with domain-wide delegation,
// impersonating the admin named in the configuration (the JWT bearer grant
// of golang.org/x/oauth2/google), asking for the read-only scopes when the
// target is configured read_only. Requests are typed calls over net/http
// through targets/upstream (retries, Retry-After, redacted errors), shaped
// exactly as google.golang.org/api/admin/directory/v1 sends them; the
// README says why that client library is not used.
package google

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/upstream"
)

// DefaultBaseURL is the Admin SDK's root URL.
const DefaultBaseURL = "https://admin.googleapis.com/"

// The OAuth scopes the target asks for (see scopesFor).
const (
	scopeUser          = "https://www.googleapis.com/auth/admin.directory.user"
	scopeUserReadonly  = "https://www.googleapis.com/auth/admin.directory.user.readonly"
	scopeUserSecurity  = "https://www.googleapis.com/auth/admin.directory.user.security"
	scopeGroupReadonly = "https://www.googleapis.com/auth/admin.directory.group.readonly"
	scopeGroupMember   = "https://www.googleapis.com/auth/admin.directory.group.member"
)

const (
	servicePath = "admin/directory/v1/"
	// usersPerPage is users.list's maximum maxResults; groupsPerPage is
	// groups.list's and members.list's.
	usersPerPage  = 500
	groupsPerPage = 200
	// defaultRateLimit stays under the API's default quota of 2,400
	// queries per minute per user (the impersonated admin) per project.
	defaultRateLimit   = 35
	defaultConcurrency = 4
	// credential ID prefixes: "oauth:<clientId>", "asp:<codeId>".
	oauthPrefix = "oauth:"
	aspPrefix   = "asp:"
)

// Config configures a Google Workspace target. The keys are the yaml tags.
type Config struct {
	// KeyEnv / KeyFile name the service account's JSON key (the file
	// downloaded from the Cloud console), resolved by the wiring into Key.
	KeyEnv  string         `yaml:"key_env"`
	KeyFile string         `yaml:"key_file"`
	Key     targets.Secret `yaml:"-"`
	// Subject is the admin the service account impersonates (domain-wide
	// delegation acts as this user, with this user's admin privileges).
	Subject string `yaml:"subject"`
	// Customer is the customer ID whose users are listed (default
	// my_customer: the subject's own account, every domain of it).
	Customer string `yaml:"customer"`
	// ReadOnly asks for read-only scopes and offers no actions (report
	// mode). Listing credentials still needs admin.directory.user.security,
	// which has no read-only form: set credentials: skip for a strictly
	// read-only grant.
	ReadOnly bool `yaml:"read_only"`
	// Scopes replaces the scopes asked for; they must be among those
	// authorized for the client ID in the Admin console.
	Scopes []string `yaml:"scopes"`
	// EmployeeID says where the employee ID is: "externalIds:organization"
	// (default: the external ID of type organization, "Employee ID" in the
	// Admin console), "externalIds:custom:<customType>" (an external ID
	// of type custom with that label), or "customSchemas:<Schema>.<field>"
	// (a custom attribute).
	EmployeeID string `yaml:"employee_id"`
	// Groups is "members" (default: list every group and its members once
	// per listing), "per_user" (groups.list?userKey= for each user) or
	// "none". Either way direct memberships only.
	Groups string `yaml:"groups"`
	// GroupName is the name a group goes by in policies and reports:
	// "email" (default: unique) or "name" (the display name).
	GroupName string `yaml:"group_name"`
	// PrivilegedGroups (group emails or names, case-insensitive) mark their
	// members privileged, besides super and delegated admins.
	PrivilegedGroups []string `yaml:"privileged_groups"`
	// Credentials is "list" (default: each user's OAuth tokens and app
	// passwords are listed as credentials and revoked one by one) or
	// "skip" (not listed; RevokeSessions then deletes them all after
	// signing the user out).
	Credentials string `yaml:"credentials"`
	// RateLimit is the most requests per second (default 35, under the
	// default quota of 2,400 per minute).
	RateLimit float64 `yaml:"rate_limit"`
	// Concurrency is how many per-user or per-group requests run at once
	// while listing (default 4).
	Concurrency int `yaml:"concurrency"`
	// BaseURL is the API root (default https://admin.googleapis.com/).
	BaseURL string `yaml:"base_url"`
	// Timeout bounds one HTTP request (default 60s).
	Timeout time.Duration `yaml:"timeout"`
}

// SecretFields names the service account key for the wiring to resolve.
func (c *Config) SecretFields() []targets.SecretField {
	return []targets.SecretField{{Key: "key", Env: c.KeyEnv, File: c.KeyFile, Value: &c.Key}}
}

// employeeIDSource is a parsed Config.EmployeeID.
type employeeIDSource struct {
	externalType, customType string // externalIds entry
	schema, field            string // customSchemas.<schema>.<field>
}

func parseEmployeeID(s string) (employeeIDSource, error) {
	switch {
	case s == "" || s == "externalIds:organization":
		return employeeIDSource{externalType: "organization"}, nil
	case strings.HasPrefix(s, "externalIds:custom:") && len(s) > len("externalIds:custom:"):
		return employeeIDSource{externalType: "custom", customType: strings.TrimPrefix(s, "externalIds:custom:")}, nil
	case strings.HasPrefix(s, "externalIds:") && !strings.Contains(strings.TrimPrefix(s, "externalIds:"), ":"):
		return employeeIDSource{externalType: strings.TrimPrefix(s, "externalIds:")}, nil
	case strings.HasPrefix(s, "customSchemas:"):
		schema, field, ok := strings.Cut(strings.TrimPrefix(s, "customSchemas:"), ".")
		if ok && schema != "" && field != "" {
			return employeeIDSource{schema: schema, field: field}, nil
		}
	}
	return employeeIDSource{}, fmt.Errorf("%q is not externalIds:<type>, externalIds:custom:<label> or customSchemas:<Schema>.<field>", s)
}

// Target is one Google Workspace account.
type Target struct {
	cfg        Config
	log        *slog.Logger
	base       string
	empID      employeeIDSource
	privileged map[string]bool
	scopes     []string
	http       *upstream.Client
	limiter    *rate.Limiter
	tokens     *tokenCache
	redactor   *targets.Redactor
}

// New validates cfg and returns the target. It sends nothing: the first
// request fetches the access token.
func New(cfg Config, log *slog.Logger) (*Target, error) {
	if log == nil {
		return nil, errors.New("google: nil logger")
	}
	if cfg.Key.Reveal() == "" {
		return nil, errors.New("google: key_env/key_file: the service account key is required")
	}
	if cfg.Subject == "" || !strings.Contains(cfg.Subject, "@") {
		return nil, fmt.Errorf("google: subject: %q is not the email of an admin to impersonate", cfg.Subject)
	}
	if cfg.Customer == "" {
		cfg.Customer = "my_customer"
	}
	empID, err := parseEmployeeID(cfg.EmployeeID)
	if err != nil {
		return nil, fmt.Errorf("google: employee_id: %w", err)
	}
	switch cfg.Groups {
	case "":
		cfg.Groups = "members"
	case "members", "per_user", "none":
	default:
		return nil, fmt.Errorf("google: groups: %q is not members, per_user or none", cfg.Groups)
	}
	switch cfg.GroupName {
	case "":
		cfg.GroupName = "email"
	case "email", "name":
	default:
		return nil, fmt.Errorf("google: group_name: %q is not email or name", cfg.GroupName)
	}
	switch cfg.Credentials {
	case "":
		cfg.Credentials = "list"
	case "list", "skip":
	default:
		return nil, fmt.Errorf("google: credentials: %q is not list or skip", cfg.Credentials)
	}
	if cfg.RateLimit < 0 {
		return nil, fmt.Errorf("google: rate_limit: %v is negative", cfg.RateLimit)
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = defaultRateLimit
	}
	if cfg.Concurrency < 0 {
		return nil, fmt.Errorf("google: concurrency: %d is negative", cfg.Concurrency)
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = defaultConcurrency
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("google: timeout: %v is negative", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("google: base_url: %q is not an http(s) URL", cfg.BaseURL)
	}
	key, err := parseKey(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("google: key: %w", err)
	}
	t := &Target{
		cfg:        cfg,
		log:        log,
		base:       strings.TrimRight(cfg.BaseURL, "/") + "/" + servicePath,
		empID:      empID,
		privileged: map[string]bool{},
		scopes:     cfg.Scopes,
		limiter:    rate.NewLimiter(rate.Limit(cfg.RateLimit), max(1, cfg.Concurrency)),
	}
	if len(t.scopes) == 0 {
		t.scopes = scopesFor(cfg)
	}
	for _, g := range cfg.PrivilegedGroups {
		t.privileged[strings.ToLower(g)] = true
	}
	// Keep a connection per concurrent request (HTTP/1.1; Google's API
	// answers over HTTP/2, one connection for all).
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = cfg.Concurrency + 2
	hc := &http.Client{Timeout: cfg.Timeout, Transport: tr}
	t.redactor = targets.NewRedactor(key.secrets()...)
	if t.tokens, err = newTokenCache(key, cfg.Subject, t.scopes, hc, t.redactor); err != nil {
		return nil, fmt.Errorf("google: key: %w", err)
	}
	t.http = &upstream.Client{
		HTTP:      hc,
		Component: "google",
		Redactor:  t.redactor,
		Retryable: retryable,
	}
	return t, nil
}

// scopesFor is the least set of scopes the configuration needs.
func scopesFor(cfg Config) []string {
	var s []string
	if cfg.ReadOnly {
		s = append(s, scopeUserReadonly)
	} else {
		s = append(s, scopeUser, scopeUserSecurity)
	}
	if cfg.ReadOnly && cfg.Credentials == "list" {
		s = append(s, scopeUserSecurity) // tokens.list and asps.list have no read-only scope
	}
	if cfg.Groups != "none" {
		s = append(s, scopeGroupReadonly)
		if !cfg.ReadOnly {
			s = append(s, scopeGroupMember)
		}
	}
	return s
}

// Scopes are the OAuth scopes the target asks for: the ones to authorize
// for the service account's client ID under domain-wide delegation.
func (t *Target) Scopes() []string { return slices.Clone(t.scopes) }

// Capabilities narrows the actions to what the configuration allows:
// none but Getter when read_only; no group removal without groups; no
// per-credential revocation when credentials are not listed.
func (t *Target) Capabilities() []targets.Capability {
	c := []targets.Capability{targets.CanGet}
	if t.cfg.ReadOnly {
		return c
	}
	c = append(c, targets.CanDisable, targets.CanRevokeSessions)
	if t.cfg.Credentials == "list" {
		c = append(c, targets.CanRevokeCredential)
	}
	if t.cfg.Groups != "none" {
		c = append(c, targets.CanRemoveFromGroup)
	}
	return c
}

// retryable marks Google's quota refusals as retryable (upstream retries
// 429 and 5xx by itself): 403 with reason userRateLimitExceeded,
// rateLimitExceeded or quotaExceeded. A read is then retried with backoff;
// a write comes back as a TransientError for the executor.
func retryable(resp *http.Response, body []byte) bool {
	return resp.StatusCode == http.StatusForbidden && isQuotaReason(errorReason(body))
}

func isQuotaReason(r string) bool {
	switch r {
	case "userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded":
		return true
	}
	return false
}

// errorReason reads errors[0].reason of Google's JSON error body.
func errorReason(body []byte) string {
	var e struct {
		Error struct {
			Errors []struct {
				Reason string `json:"reason"`
			} `json:"errors"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || len(e.Error.Errors) == 0 {
		return ""
	}
	return e.Error.Errors[0].Reason
}

// ---- requests -----------------------------------------------------------

// call sends one request to the Directory API and decodes a JSON answer
// into out (when non-nil). It asks for the access token, waits for the rate
// limiter, and when the token is refused (401: expired or revoked early)
// fetches a new one and sends the request once more: an unauthenticated
// request did nothing, so this is safe for writes too. path is relative to
// admin/directory/v1/ and already escaped.
func (t *Target) call(ctx context.Context, method, path string, q url.Values, body, out any) error {
	if q == nil {
		q = url.Values{}
	}
	// What google.golang.org/api sends on every call.
	q.Set("alt", "json")
	q.Set("prettyPrint", "false")
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("google: %s %s: encode: %w", method, path, err)
		}
	}
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("google: %s %s: %w", method, path, err)
		}
		tok, err := t.tokens.token(ctx)
		if err != nil {
			return err
		}
		if err := t.limiter.Wait(ctx); err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return fmt.Errorf("google: %s %s: %w", method, path, cerr)
			}
			return fmt.Errorf("google: %s %s: rate limiter: %w", method, path, err)
		}
		var rd io.Reader
		if payload != nil {
			rd = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, method, t.base+path+"?"+q.Encode(), rd)
		if err != nil {
			return fmt.Errorf("google: %s %s: %w", method, path, err)
		}
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := t.http.Do(req)
		var se *upstream.StatusError
		if errors.As(err, &se) && se.Code == http.StatusUnauthorized && attempt == 0 {
			t.log.Info("google: access token refused, fetching a new one", "request", method+" "+path)
			t.tokens.invalidate(tok)
			continue
		}
		if err != nil {
			return t.classify(err, tok)
		}
		defer func() {
			// Drain what is left so that the connection is reused.
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			_ = resp.Body.Close()
		}()
		if out == nil {
			return nil
		}
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return fmt.Errorf("google: %s %s: %w", method, path, cerr)
			}
			return targets.Transient(fmt.Errorf("google: %s %s: decode: %w", method, path, err), 0)
		}
		return nil
	}
}

// classify scrubs short-lived credentials from an error's text: the access
// token in use and anything shaped like a Google access token or a signed
// JWT (neither is among the configured secrets the Redactor knows).
func (t *Target) classify(err error, tok string) error {
	var se *upstream.StatusError
	if errors.As(err, &se) {
		se.Excerpt = scrubTokens(se.Excerpt, tok)
	}
	if msg := scrubTokens(err.Error(), tok); msg != err.Error() {
		err = &redactedError{msg: msg, err: err}
	}
	return err
}

var (
	accessTokenRE = regexp.MustCompile(`ya29\.[A-Za-z0-9_.~+/=-]+`)
	// A JWT (or what is left of one after redaction or truncation): it
	// starts with the base64 of `{"`.
	jwtRE = regexp.MustCompile(`eyJ[A-Za-z0-9_.-]+`)
)

// scrubTokens replaces tok, Google access tokens (ya29.…) and JWTs with
// REDACTED.
func scrubTokens(s, tok string) string {
	if tok != "" {
		s = strings.ReplaceAll(s, tok, "REDACTED")
	}
	s = accessTokenRE.ReplaceAllString(s, "REDACTED")
	return jwtRE.ReplaceAllString(s, "REDACTED")
}

// redactedError keeps an error's chain (errors.Is/As) with another text.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func esc(s string) string { return url.PathEscape(s) }

// ---- the listing ----------------------------------------------------------

type apiUser struct {
	ID           string `json:"id"`
	PrimaryEmail string `json:"primaryEmail"`
	Name         struct {
		FullName string `json:"fullName"`
	} `json:"name"`
	Suspended        bool   `json:"suspended"`
	Archived         bool   `json:"archived"`
	IsAdmin          bool   `json:"isAdmin"`
	IsDelegatedAdmin bool   `json:"isDelegatedAdmin"`
	LastLoginTime    string `json:"lastLoginTime"`
	CreationTime     string `json:"creationTime"`
	ExternalIDs      []struct {
		Type       string `json:"type"`
		CustomType string `json:"customType"`
		Value      string `json:"value"`
	} `json:"externalIds"`
	CustomSchemas map[string]map[string]json.RawMessage `json:"customSchemas"`
}

// userFields is the partial-response selection of one user: exactly what
// account() reads.
func (t *Target) userFields() string {
	f := "id,primaryEmail,name/fullName,suspended,archived,isAdmin,isDelegatedAdmin,lastLoginTime,creationTime,externalIds(type,customType,value)"
	if t.empID.schema != "" {
		f += ",customSchemas/" + t.empID.schema
	}
	return f
}

// projection asks for the custom schema holding the employee ID, and for
// no custom fields otherwise (externalIds are in the basic projection).
func (t *Target) projection(q url.Values) {
	if t.empID.schema != "" {
		q.Set("projection", "custom")
		q.Set("customFieldMask", t.empID.schema)
	} else {
		q.Set("projection", "basic")
	}
}

// Accounts lists every user, page by page (500 per page). Each page's
// users get their groups (from the membership index built first, or one
// request each with groups: per_user) and credentials (two requests each)
// with up to concurrency requests at once, then are yielded in order.
func (t *Target) Accounts(ctx context.Context) iter.Seq2[targets.Account, error] {
	return func(yield func(targets.Account, error) bool) {
		var index map[string][]targets.Group
		if t.cfg.Groups == "members" {
			var err error
			if index, err = t.membershipIndex(ctx); err != nil {
				yield(targets.Account{}, fmt.Errorf("google: list groups: %w", err))
				return
			}
		}
		q := url.Values{}
		q.Set("customer", t.cfg.Customer)
		q.Set("maxResults", strconv.Itoa(usersPerPage))
		t.projection(q)
		q.Set("fields", "nextPageToken,users("+t.userFields()+")")
		seenTokens := map[string]bool{}
		for page := 1; ; page++ {
			var resp struct {
				Users         []apiUser `json:"users"`
				NextPageToken string    `json:"nextPageToken"`
			}
			if err := t.call(ctx, http.MethodGet, "users", q, nil, &resp); err != nil {
				yield(targets.Account{}, fmt.Errorf("google: list users (page %d): %w", page, err))
				return
			}
			accounts := make([]targets.Account, len(resp.Users))
			for i, u := range resp.Users {
				a, err := t.account(u)
				if err != nil {
					yield(targets.Account{}, fmt.Errorf("google: list users (page %d): %w", page, err))
					return
				}
				if index != nil {
					a.Groups = index[a.ID]
					a.Privileged = a.Privileged || t.privilegedGroup(a.Groups)
				}
				accounts[i] = a
			}
			gone, err := t.enrich(ctx, accounts)
			if err != nil {
				yield(targets.Account{}, fmt.Errorf("google: list users (page %d): %w", page, err))
				return
			}
			for i, a := range accounts {
				if gone[i] {
					continue
				}
				if !yield(a, nil) {
					return
				}
			}
			if resp.NextPageToken == "" {
				return
			}
			if seenTokens[resp.NextPageToken] {
				yield(targets.Account{}, fmt.Errorf("google: list users: page %d repeats an earlier nextPageToken: listing incomplete", page))
				return
			}
			seenTokens[resp.NextPageToken] = true
			q.Set("pageToken", resp.NextPageToken)
		}
	}
}

// enrich fills the per-user parts of a page (groups with groups: per_user,
// credentials with credentials: list), concurrency requests at a time. A
// user deleted in between (404) is marked gone; any other failure fails the
// page.
func (t *Target) enrich(ctx context.Context, accounts []targets.Account) (gone []bool, err error) {
	gone = make([]bool, len(accounts))
	if t.cfg.Groups != "per_user" && t.cfg.Credentials != "list" {
		return gone, nil
	}
	err = forEach(ctx, t.cfg.Concurrency, len(accounts), func(ctx context.Context, i int) error {
		err := t.enrichOne(ctx, &accounts[i])
		if errors.Is(err, targets.ErrNotFound) {
			gone[i] = true // each i is written by one worker only
			t.log.Debug("google: user deleted while listing", "id", accounts[i].ID)
			return nil
		}
		return err
	})
	return gone, err
}

func (t *Target) enrichOne(ctx context.Context, a *targets.Account) error {
	if t.cfg.Groups == "per_user" {
		gs, err := t.groupsOf(ctx, a.ID)
		if err != nil {
			return err
		}
		slices.SortFunc(gs, func(x, y targets.Group) int { return strings.Compare(x.Name, y.Name) })
		a.Groups = gs
		a.Privileged = a.Privileged || t.privilegedGroup(gs)
	}
	if t.cfg.Credentials == "list" {
		cs, err := t.credentialsOf(ctx, a.ID)
		if err != nil {
			return err
		}
		a.Credentials = cs
	}
	return nil
}

// account maps one user. lastLoginTime 1970-01-01T00:00:00.000Z means
// never.
func (t *Target) account(u apiUser) (targets.Account, error) {
	if u.ID == "" {
		return targets.Account{}, fmt.Errorf("a user without id (%s)", u.PrimaryEmail)
	}
	a := targets.Account{
		ID:           u.ID,
		Username:     u.PrimaryEmail,
		Email:        u.PrimaryEmail,
		DisplayName:  u.Name.FullName,
		Enabled:      !u.Suspended && !u.Archived,
		LoginTracked: true,
		Privileged:   u.IsAdmin || u.IsDelegatedAdmin,
	}
	var err error
	if a.LastLogin, err = parseTime(u.LastLoginTime); err != nil {
		return targets.Account{}, fmt.Errorf("user %s: lastLoginTime: %w", u.ID, err)
	}
	if a.Created, err = parseTime(u.CreationTime); err != nil {
		return targets.Account{}, fmt.Errorf("user %s: creationTime: %w", u.ID, err)
	}
	switch {
	case t.empID.schema != "":
		if raw, ok := u.CustomSchemas[t.empID.schema][t.empID.field]; ok {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				a.EmployeeID = s
			} else {
				a.EmployeeID = strings.TrimSpace(string(raw)) // an INT64 field, say
			}
		}
	default:
		for _, e := range u.ExternalIDs {
			if e.Type == t.empID.externalType && (t.empID.customType == "" || e.CustomType == t.empID.customType) {
				a.EmployeeID = e.Value
				break
			}
		}
	}
	return a, nil
}

// parseTime reads an RFC 3339 time; empty and the Unix epoch are zero.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	if tm.Unix() == 0 {
		return time.Time{}, nil
	}
	return tm.UTC(), nil
}

func (t *Target) privilegedGroup(gs []targets.Group) bool {
	for _, g := range gs {
		if t.privileged[strings.ToLower(g.Name)] {
			return true
		}
	}
	return false
}

type apiGroup struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

func (t *Target) group(g apiGroup) targets.Group {
	if t.cfg.GroupName == "name" && g.Name != "" {
		return targets.Group{ID: g.ID, Name: g.Name}
	}
	return targets.Group{ID: g.ID, Name: g.Email}
}

// listGroups pages through groups.list with q (customer=… or userKey=…).
func (t *Target) listGroups(ctx context.Context, q url.Values, fn func(apiGroup)) error {
	q.Set("maxResults", strconv.Itoa(groupsPerPage))
	q.Set("fields", "nextPageToken,groups(id,email,name)")
	seen := map[string]bool{}
	for {
		var resp struct {
			Groups        []apiGroup `json:"groups"`
			NextPageToken string     `json:"nextPageToken"`
		}
		if err := t.call(ctx, http.MethodGet, "groups", q, nil, &resp); err != nil {
			return err
		}
		for _, g := range resp.Groups {
			fn(g)
		}
		if resp.NextPageToken == "" {
			return nil
		}
		if seen[resp.NextPageToken] {
			return errors.New("groups.list repeats a nextPageToken: listing incomplete")
		}
		seen[resp.NextPageToken] = true
		q.Set("pageToken", resp.NextPageToken)
	}
}

// groupsOf lists one user's direct groups (groups.list?userKey=).
func (t *Target) groupsOf(ctx context.Context, userID string) ([]targets.Group, error) {
	var out []targets.Group
	err := t.listGroups(ctx, url.Values{"userKey": {userID}}, func(g apiGroup) { out = append(out, t.group(g)) })
	return out, err
}

// membershipIndex lists every group of the customer and the user members
// of each (members.list, concurrency groups at a time): user ID → groups.
func (t *Target) membershipIndex(ctx context.Context) (map[string][]targets.Group, error) {
	var groups []apiGroup
	if err := t.listGroups(ctx, url.Values{"customer": {t.cfg.Customer}}, func(g apiGroup) { groups = append(groups, g) }); err != nil {
		return nil, err
	}
	index := map[string][]targets.Group{}
	var mu sync.Mutex
	err := forEach(ctx, t.cfg.Concurrency, len(groups), func(ctx context.Context, i int) error {
		g := t.group(groups[i])
		ids, err := t.userMembers(ctx, groups[i].ID)
		if err != nil {
			return fmt.Errorf("members of %s: %w", g.Name, err)
		}
		mu.Lock()
		for _, id := range ids {
			index[id] = append(index[id], g)
		}
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, gs := range index {
		slices.SortFunc(gs, func(a, b targets.Group) int { return strings.Compare(a.Name, b.Name) })
	}
	return index, nil
}

// userMembers lists the IDs of a group's direct members of type USER
// (nested groups and the customer are members of other types).
func (t *Target) userMembers(ctx context.Context, groupID string) ([]string, error) {
	q := url.Values{}
	q.Set("maxResults", strconv.Itoa(groupsPerPage))
	q.Set("fields", "nextPageToken,members(id,type)")
	var ids []string
	seen := map[string]bool{}
	for {
		var resp struct {
			Members []struct {
				ID   string `json:"id"`
				Type string `json:"type"`
			} `json:"members"`
			NextPageToken string `json:"nextPageToken"`
		}
		if err := t.call(ctx, http.MethodGet, "groups/"+esc(groupID)+"/members", q, nil, &resp); err != nil {
			return nil, err
		}
		for _, m := range resp.Members {
			if m.Type == "USER" && m.ID != "" {
				ids = append(ids, m.ID)
			}
		}
		if resp.NextPageToken == "" {
			return ids, nil
		}
		if seen[resp.NextPageToken] {
			return nil, errors.New("members.list repeats a nextPageToken: listing incomplete")
		}
		seen[resp.NextPageToken] = true
		q.Set("pageToken", resp.NextPageToken)
	}
}

// forEach runs fn(0..n-1), at most workers at once; the first error
// cancels the rest and is returned.
func forEach(ctx context.Context, workers, n int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		next  = make(chan int)
	)
	for range min(workers, n) {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
						cancel()
					}
					mu.Unlock()
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// credentialsOf lists a user's OAuth tokens (tokens.list) and app passwords
// (asps.list).
func (t *Target) credentialsOf(ctx context.Context, userID string) ([]targets.Credential, error) {
	var toks struct {
		Items []struct {
			ClientID    string `json:"clientId"`
			DisplayText string `json:"displayText"`
		} `json:"items"`
	}
	q := url.Values{"fields": {"items(clientId,displayText)"}}
	if err := t.call(ctx, http.MethodGet, "users/"+esc(userID)+"/tokens", q, nil, &toks); err != nil {
		return nil, err
	}
	var asps struct {
		Items []struct {
			CodeID       int64  `json:"codeId"`
			Name         string `json:"name"`
			CreationTime string `json:"creationTime"`
			LastTimeUsed string `json:"lastTimeUsed"`
		} `json:"items"`
	}
	q = url.Values{"fields": {"items(codeId,name,creationTime,lastTimeUsed)"}}
	if err := t.call(ctx, http.MethodGet, "users/"+esc(userID)+"/asps", q, nil, &asps); err != nil {
		return nil, err
	}
	var out []targets.Credential
	for _, tk := range toks.Items {
		out = append(out, targets.Credential{ID: oauthPrefix + tk.ClientID, Kind: "oauth_token", Active: true})
	}
	for _, a := range asps.Items {
		out = append(out, targets.Credential{
			ID: aspPrefix + strconv.FormatInt(a.CodeID, 10), Kind: "app_password", Active: true,
			Created: millis(a.CreationTime), LastUsed: millis(a.LastTimeUsed),
		})
	}
	return out, nil
}

// millis reads an int64 of milliseconds since the epoch sent as a string;
// zero and unreadable values are the zero time.
func millis(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// Account re-reads one user (users.get) with its groups and credentials.
func (t *Target) Account(ctx context.Context, id string) (targets.Account, error) {
	q := url.Values{"fields": {t.userFields()}}
	t.projection(q)
	var u apiUser
	if err := t.call(ctx, http.MethodGet, "users/"+esc(id), q, nil, &u); err != nil {
		return targets.Account{}, fmt.Errorf("google: get user %s: %w", id, err)
	}
	a, err := t.account(u)
	if err != nil {
		return targets.Account{}, fmt.Errorf("google: get user %s: %w", id, err)
	}
	if t.cfg.Groups != "none" {
		gs, err := t.groupsOf(ctx, a.ID)
		if err != nil {
			return targets.Account{}, fmt.Errorf("google: get user %s: groups: %w", id, err)
		}
		slices.SortFunc(gs, func(x, y targets.Group) int { return strings.Compare(x.Name, y.Name) })
		a.Groups = gs
		a.Privileged = a.Privileged || t.privilegedGroup(gs)
	}
	if t.cfg.Credentials == "list" {
		cs, err := t.credentialsOf(ctx, a.ID)
		if err != nil {
			return targets.Account{}, fmt.Errorf("google: get user %s: credentials: %w", id, err)
		}
		a.Credentials = cs
	}
	return a, nil
}

var (
	_ targets.Target       = (*Target)(nil)
	_ targets.Getter       = (*Target)(nil)
	_ targets.Configurable = (*Target)(nil)
	_ targets.SecretConfig = (*Config)(nil)
)
