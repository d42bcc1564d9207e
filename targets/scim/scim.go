// Package scim is a generic SCIM 2.0 (RFC 7643/7644) target: it lists
// /Users page by page (startIndex/count), maps each user to a
// targets.Account, and can re-read one user, disable one (PATCH active=false,
// or PUT, or DELETE for servers such as Slack's that deactivate on DELETE) and
// remove one from a group (PATCH the Group's members).
//
// Reading is lenient, because real SCIM servers are: booleans sent as
// strings ("False"), numbers sent as strings, a missing itemsPerPage, a
// missing Resources when totalResults is 0, pages shorter than asked for, and
// both application/scim+json and application/json. Errors carry the SCIM
// error body (status, scimType, detail).
package scim

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/upstream"
)

// EnterpriseEmployeeNumber is the default employee_id_attribute.
const EnterpriseEmployeeNumber = enterpriseURN + ":employeeNumber"

const (
	enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	patchOpURN    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	mediaType     = "application/scim+json"
	// listAttempts bounds the tries of one listing page that is throttled.
	listAttempts = 5
	// maxRetryWait caps one wait between listing retries, whatever
	// Retry-After says.
	maxRetryWait = 2 * time.Minute
)

// Config configures a SCIM target. The keys are the yaml tags.
type Config struct {
	// BaseURL is the SCIM base, e.g. https://api.slack.com/scim/v2 (the
	// resource paths /Users and /Groups are appended).
	BaseURL string `yaml:"base_url"`
	// Auth is "bearer" (token_env/token_file) or "basic"
	// (user_env + password_env/password_file).
	Auth         string `yaml:"auth"`
	TokenEnv     string `yaml:"token_env"`
	TokenFile    string `yaml:"token_file"`
	UserEnv      string `yaml:"user_env"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	// Token, User and Password are the values, filled in by the wiring from
	// the keys above (tests set them directly).
	Token    targets.Secret `yaml:"-"`
	User     targets.Secret `yaml:"-"`
	Password targets.Secret `yaml:"-"`
	// PageSize is the count asked for per page (default 100).
	PageSize int `yaml:"page_size"`
	// EmployeeIDAttribute names the attribute holding the employee ID: a
	// URN-qualified extension attribute (default: the enterprise extension's
	// employeeNumber, falling back to externalId when the user has no
	// enterprise extension), or a core attribute such as externalId or
	// name.formatted.
	EmployeeIDAttribute string `yaml:"employee_id_attribute"`
	// Disable is "patch" (default: PATCH active=false), "put" (GET the user,
	// set active=false, PUT it back) or "delete" (DELETE /Users/{id}: only for
	// servers that deactivate on DELETE, such as Slack's).
	Disable string `yaml:"disable"`
	// Filter is an optional SCIM filter for the listing,
	// e.g. userName ew "@example.com".
	Filter string `yaml:"filter"`
	// Groups is "attribute" (default: read each user's groups attribute) or
	// "members" (walk /Groups member lists once per listing).
	Groups string `yaml:"groups"`
	// PrivilegedGroups are group display names (case-insensitive) whose
	// members are marked Privileged.
	PrivilegedGroups []string `yaml:"privileged_groups"`
	// RateLimit is the most requests per second sent (0: unlimited).
	RateLimit float64 `yaml:"rate_limit"`
	// Timeout bounds one HTTP request (default 30s).
	Timeout time.Duration `yaml:"timeout"`
}

// SecretFields lists the secrets the auth method needs.
func (c *Config) SecretFields() []targets.SecretField {
	switch c.Auth {
	case "bearer":
		return []targets.SecretField{{Key: "token", Env: c.TokenEnv, File: c.TokenFile, Value: &c.Token}}
	case "basic":
		return []targets.SecretField{{Key: "user", Env: c.UserEnv, Value: &c.User},
			{Key: "password", Env: c.PasswordEnv, File: c.PasswordFile, Value: &c.Password}}
	}
	return nil
}

// Target is a SCIM 2.0 service provider.
type Target struct {
	cfg        Config
	log        *slog.Logger
	base       string
	client     *http.Client
	limiter    *rate.Limiter
	authorize  func(*http.Request)
	redactor   *targets.Redactor
	privileged map[string]bool

	// sleep waits between listing retries (nil: a timer); tests replace it.
	sleep func(ctx context.Context, d time.Duration) error

	mu       sync.Mutex
	groupIDs map[string]string // group display name -> id, learned while listing
}

// New validates cfg, resolves its secrets and returns the target.
func New(cfg Config, log *slog.Logger) (*Target, error) {
	if log == nil {
		return nil, errors.New("scim: nil logger")
	}
	if cfg.BaseURL == "" {
		return nil, errors.New("scim: base_url: required")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("scim: base_url: %q is not an http(s) URL", cfg.BaseURL)
	}
	t := &Target{
		log:      log,
		base:     strings.TrimRight(cfg.BaseURL, "/"),
		groupIDs: map[string]string{},
	}
	switch cfg.Auth {
	case "bearer":
		tok := cfg.Token
		if tok == "" {
			return nil, errors.New("scim: token_env/token_file: required with auth: bearer")
		}
		t.redactor = targets.NewRedactor(tok)
		t.authorize = func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok.Reveal()) }
	case "basic":
		user, pass := cfg.User, cfg.Password
		if user == "" {
			return nil, errors.New("scim: user_env: required with auth: basic")
		}
		if pass == "" {
			return nil, errors.New("scim: password_env/password_file: required with auth: basic")
		}
		t.redactor = targets.NewRedactor(pass, user+":"+pass)
		t.authorize = func(r *http.Request) { r.SetBasicAuth(user.Reveal(), pass.Reveal()) }
	case "":
		return nil, errors.New("scim: auth: required (bearer or basic)")
	default:
		return nil, fmt.Errorf("scim: auth: %q is not bearer or basic", cfg.Auth)
	}
	if cfg.PageSize < 0 {
		return nil, fmt.Errorf("scim: page_size: %d is negative", cfg.PageSize)
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = 100
	}
	if cfg.EmployeeIDAttribute == "" {
		cfg.EmployeeIDAttribute = EnterpriseEmployeeNumber
	}
	switch cfg.Disable {
	case "":
		cfg.Disable = "patch"
	case "patch", "put", "delete":
	default:
		return nil, fmt.Errorf("scim: disable: %q is not patch, put or delete", cfg.Disable)
	}
	switch cfg.Groups {
	case "":
		cfg.Groups = "attribute"
	case "attribute", "members":
	default:
		return nil, fmt.Errorf("scim: groups: %q is not attribute or members", cfg.Groups)
	}
	if cfg.RateLimit < 0 {
		return nil, fmt.Errorf("scim: rate_limit: %v is negative", cfg.RateLimit)
	}
	if cfg.RateLimit > 0 {
		t.limiter = rate.NewLimiter(rate.Limit(cfg.RateLimit), 1)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("scim: timeout: %v is negative", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	t.privileged = map[string]bool{}
	for _, g := range cfg.PrivilegedGroups {
		t.privileged[strings.ToLower(g)] = true
	}
	t.client = &http.Client{Timeout: cfg.Timeout}
	t.cfg = cfg
	return t, nil
}

// ---- lenient JSON -------------------------------------------------------

// flexBool reads true/false, "true"/"False" (any case) and 0/1.
type flexBool struct {
	Set, V bool
}

func (b *flexBool) UnmarshalJSON(p []byte) error {
	s := strings.ToLower(strings.Trim(strings.TrimSpace(string(p)), `"`))
	switch s {
	case "true", "1":
		*b = flexBool{true, true}
	case "false", "0":
		*b = flexBool{true, false}
	case "null", "":
		*b = flexBool{}
	default:
		return fmt.Errorf("not a boolean: %s", p)
	}
	return nil
}

// flexInt reads 5 and "5".
type flexInt struct {
	Set bool
	V   int
}

func (n *flexInt) UnmarshalJSON(p []byte) error {
	s := strings.Trim(strings.TrimSpace(string(p)), `"`)
	if s == "null" || s == "" {
		*n = flexInt{}
		return nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("not an integer: %s", p)
	}
	*n = flexInt{true, v}
	return nil
}

type listResponse struct {
	TotalResults flexInt           `json:"totalResults"`
	Resources    []json.RawMessage `json:"Resources"`
}

type multiValue struct {
	Value   string   `json:"value"`
	Display string   `json:"display"`
	Type    string   `json:"type"`
	Primary flexBool `json:"primary"`
}

type user struct {
	ID          string `json:"id"`
	ExternalID  string `json:"externalId"`
	UserName    string `json:"userName"`
	DisplayName string `json:"displayName"`
	Name        struct {
		Formatted string `json:"formatted"`
	} `json:"name"`
	Active     flexBool     `json:"active"`
	Emails     []multiValue `json:"emails"`
	Groups     []multiValue `json:"groups"`
	Enterprise *struct {
		EmployeeNumber string `json:"employeeNumber"`
	} `json:"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`
	Meta struct {
		Created string `json:"created"`
	} `json:"meta"`
}

type group struct {
	ID          string       `json:"id"`
	DisplayName string       `json:"displayName"`
	Members     []multiValue `json:"members"`
}

// scimError is the SCIM error schema (urn:ietf:params:scim:api:messages:2.0:Error).
type scimError struct {
	Status   flexInt `json:"status"`
	ScimType string  `json:"scimType"`
	Detail   string  `json:"detail"`
}

// httpError is a non-2xx response. It unwraps to ErrNotFound (404) or
// ErrPermission (401, 403).
type httpError struct {
	Status   int
	ScimType string
	Detail   string
}

func (e *httpError) Error() string {
	s := fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	if e.ScimType != "" {
		s += " (scimType " + e.ScimType + ")"
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *httpError) Unwrap() error {
	switch e.Status {
	case http.StatusNotFound:
		return targets.ErrNotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		return targets.ErrPermission
	}
	return nil
}

// ---- HTTP ---------------------------------------------------------------

// do sends one request and decodes a 2xx JSON body into out (when out is
// non-nil and there is a body). Errors name the method and path and are
// classified: 404 wraps ErrNotFound, 401/403 ErrPermission, 429/5xx and
// network failures are *targets.TransientError, a cancelled ctx wraps
// ctx.Err(). The error carries no "scim:" prefix; callers add it.
func (t *Target) do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	what := method + " " + path
	if len(q) > 0 {
		what += "?" + q.Encode()
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if t.limiter != nil {
		if err := t.limiter.Wait(ctx); err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return fmt.Errorf("%s: %w", what, cerr)
			}
			return fmt.Errorf("%s: rate limiter: %w", what, err)
		}
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s: encode: %w", what, err)
		}
		rd = bytes.NewReader(b)
	}
	u := t.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	req.Header.Set("Accept", mediaType+", application/json")
	if body != nil {
		req.Header.Set("Content-Type", mediaType)
	}
	t.authorize(req)
	resp, err := t.client.Do(req)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("%s: %w", what, cerr)
		}
		// url.Error carries the URL, never the Authorization header.
		return targets.Transient(fmt.Errorf("%s: %w", what, err), 0)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("%s: %w", what, cerr)
		}
		return targets.Transient(fmt.Errorf("%s: read body: %w", what, err), 0)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		he := &httpError{Status: resp.StatusCode}
		var se scimError
		// Upstream text may echo the credentials: redacted, cut short.
		if json.Unmarshal(data, &se) == nil && (se.Detail != "" || se.ScimType != "") {
			he.ScimType, he.Detail = t.redactor.Excerpt([]byte(se.ScimType)), t.redactor.Excerpt([]byte(se.Detail))
		} else {
			he.Detail = t.redactor.Excerpt(data)
		}
		err := fmt.Errorf("%s: %w", what, he)
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return targets.Transient(err, retryAfterOrZero(resp.Header.Get("Retry-After")))
		}
		return err
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: decode %s response: %w", what, resp.Header.Get("Content-Type"), err)
	}
	return nil
}

func retryAfterOrZero(h string) time.Duration {
	d, _ := targets.ParseRetryAfter(h, time.Now())
	return d
}

// getPage GETs one listing page, retrying it (at most listAttempts tries)
// with the shared policy (targets/upstream.Retry): throttled or failing
// (429, 5xx, network errors), waiting Retry-After or 1 s, 2 s, 4 s...
func (t *Target) getPage(ctx context.Context, path string, q url.Values, out *listResponse) error {
	r := upstream.Retry{Retries: listAttempts - 1, MaxWait: maxRetryWait, Sleep: t.sleep, Log: t.log.With("path", path)}
	return r.Do(ctx, func(int) error {
		*out = listResponse{}
		return t.do(ctx, http.MethodGet, path, q, nil, out)
	})
}

// walk pages through a listing endpoint, calling fn for each resource until
// fn returns false. It advances startIndex by the number of resources
// actually received, stops at totalResults (an empty page before it is an
// error: the listing would look complete when it is not), and fails on
// a server that returns the same page again or far more resources than it
// announced (a listing that would never end).
func (t *Target) walk(ctx context.Context, path string, q url.Values, fn func(json.RawMessage) (bool, error)) error {
	if q == nil {
		q = url.Values{}
	}
	start, seen, firstTotal := 1, 0, -1
	var prevFirst, prevLast json.RawMessage
	for page := 1; ; page++ {
		q.Set("startIndex", strconv.Itoa(start))
		q.Set("count", strconv.Itoa(t.cfg.PageSize))
		var lr listResponse
		if err := t.getPage(ctx, path, q, &lr); err != nil {
			return err
		}
		n := len(lr.Resources)
		if lr.TotalResults.Set && firstTotal < 0 {
			firstTotal = lr.TotalResults.V
		}
		if n == 0 {
			if lr.TotalResults.Set && seen < lr.TotalResults.V {
				// Unknown is not absent: a listing that stops short must not
				// look complete, or the missing accounts would vanish.
				return fmt.Errorf("GET %s: empty page at startIndex=%d after %d of totalResults=%d resources: listing incomplete", path, start, seen, lr.TotalResults.V)
			}
			return nil
		}
		first, last := lr.Resources[0], lr.Resources[n-1]
		if page > 1 && bytes.Equal(first, prevFirst) && bytes.Equal(last, prevLast) {
			return fmt.Errorf("GET %s: startIndex=%d returned the same page as the previous request (does the server ignore startIndex?)", path, start)
		}
		prevFirst, prevLast = first, last
		for _, r := range lr.Resources {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("GET %s: %w", path, err)
			}
			more, err := fn(r)
			if err != nil || !more {
				return err
			}
		}
		seen += n
		start += n
		if firstTotal >= 0 && seen > 2*firstTotal+2*t.cfg.PageSize {
			return fmt.Errorf("GET %s: server returned %d resources after announcing totalResults=%d: giving up", path, seen, firstTotal)
		}
		if lr.TotalResults.Set && start > lr.TotalResults.V {
			return nil
		}
	}
}

// ---- reading ------------------------------------------------------------

// Accounts lists every user matching the configured filter.
func (t *Target) Accounts(ctx context.Context) iter.Seq2[targets.Account, error] {
	return func(yield func(targets.Account, error) bool) {
		var members map[string][]targets.Group
		if t.cfg.Groups == "members" {
			var err error
			if members, err = t.memberships(ctx, "", false); err != nil {
				yield(targets.Account{}, fmt.Errorf("scim: list groups: %w", err))
				return
			}
		}
		q := url.Values{}
		if t.cfg.Filter != "" {
			q.Set("filter", t.cfg.Filter)
		}
		err := t.walk(ctx, "/Users", q, func(raw json.RawMessage) (bool, error) {
			a, err := t.account(raw, members)
			if err != nil {
				return false, err
			}
			return yield(a, nil), nil
		})
		if err != nil {
			yield(targets.Account{}, fmt.Errorf("scim: list users: %w", err))
		}
	}
}

// memberships walks /Groups and returns user id -> group display names. With
// only != "", it keeps the memberships of that one user, asking the server to
// filter on members.value when filter is set.
func (t *Target) memberships(ctx context.Context, only string, filter bool) (map[string][]targets.Group, error) {
	out := map[string][]targets.Group{}
	q := url.Values{"attributes": {"displayName,members"}}
	if only != "" && filter {
		q.Set("filter", "members.value eq "+quote(only))
	}
	err := t.walk(ctx, "/Groups", q, func(raw json.RawMessage) (bool, error) {
		var g group
		if err := json.Unmarshal(raw, &g); err != nil {
			return false, fmt.Errorf("decode group: %w", err)
		}
		name := g.DisplayName
		if name == "" {
			name = g.ID
		}
		t.learnGroup(name, g.ID)
		for _, m := range g.Members {
			if m.Value == "" || (m.Type != "" && !strings.EqualFold(m.Type, "User")) {
				continue // nested groups are not expanded
			}
			if only != "" && m.Value != only {
				continue
			}
			out[m.Value] = append(out[m.Value], targets.Group{ID: cmp.Or(g.ID, name), Name: name})
		}
		return true, nil
	})
	return out, err
}

func (t *Target) learnGroup(name, id string) {
	if name == "" || id == "" {
		return
	}
	t.mu.Lock()
	t.groupIDs[name] = id
	t.mu.Unlock()
}

// account maps one SCIM user to an Account. members is nil in groups:
// attribute mode.
func (t *Target) account(raw json.RawMessage, members map[string][]targets.Group) (targets.Account, error) {
	var u user
	if err := json.Unmarshal(raw, &u); err != nil {
		return targets.Account{}, fmt.Errorf("decode user: %w", err)
	}
	if u.ID == "" {
		return targets.Account{}, fmt.Errorf("user %q has no id", u.UserName)
	}
	a := targets.Account{
		ID:          u.ID,
		Username:    u.UserName,
		DisplayName: u.DisplayName,
		Enabled:     !u.Active.Set || u.Active.V,
	}
	if a.DisplayName == "" {
		a.DisplayName = u.Name.Formatted
	}
	for _, e := range u.Emails {
		if e.Primary.V {
			a.Email = e.Value
			break
		}
	}
	if a.Email == "" && len(u.Emails) > 0 {
		a.Email = u.Emails[0].Value
	}
	if c, err := time.Parse(time.RFC3339Nano, u.Meta.Created); err == nil {
		a.Created = c
	}
	switch attr := t.cfg.EmployeeIDAttribute; {
	case strings.EqualFold(attr, EnterpriseEmployeeNumber):
		if u.Enterprise != nil {
			a.EmployeeID = u.Enterprise.EmployeeNumber
		} else {
			a.EmployeeID = u.ExternalID
		}
	case strings.EqualFold(attr, "externalId"):
		a.EmployeeID = u.ExternalID
	default:
		v, err := attribute(raw, attr)
		if err != nil {
			return targets.Account{}, fmt.Errorf("user %s: %w", u.ID, err)
		}
		a.EmployeeID = v
	}
	if members != nil {
		a.Groups = members[u.ID]
	} else {
		for _, g := range u.Groups {
			name := g.Display
			if name == "" {
				name = g.Value
			}
			if name == "" {
				continue
			}
			t.learnGroup(name, g.Value)
			a.Groups = append(a.Groups, targets.Group{ID: cmp.Or(g.Value, name), Name: name})
		}
	}
	for _, g := range a.Groups {
		if t.privileged[strings.ToLower(g.Name)] {
			a.Privileged = true
		}
	}
	return a, nil
}

// attribute reads a string attribute named as in a SCIM filter: "a.b" for
// core attributes, "urn:...:Schema:a.b" for an extension's. Names match
// case-insensitively, as SCIM attribute names do.
func attribute(raw json.RawMessage, name string) (string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", err
	}
	path := name
	if strings.HasPrefix(strings.ToLower(name), "urn:") {
		i := strings.LastIndex(name, ":")
		ext, ok := lookup(obj, name[:i])
		if !ok {
			return "", nil
		}
		obj = nil
		if err := json.Unmarshal(ext, &obj); err != nil {
			return "", fmt.Errorf("%s: %w", name[:i], err)
		}
		path = name[i+1:]
	}
	parts := strings.Split(path, ".")
	for i, p := range parts {
		v, ok := lookup(obj, p)
		if !ok || string(v) == "null" {
			return "", nil
		}
		if i == len(parts)-1 {
			var s string
			if json.Unmarshal(v, &s) == nil {
				return s, nil
			}
			return strings.TrimSpace(string(v)), nil // a number, say
		}
		obj = nil
		if err := json.Unmarshal(v, &obj); err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
	}
	return "", nil
}

func lookup(obj map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	if v, ok := obj[key]; ok {
		return v, true
	}
	for k, v := range obj {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// quote renders s as a SCIM filter string literal (a JSON string).
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func userPath(id string) string { return "/Users/" + url.PathEscape(id) }

// Account re-reads one user (GET /Users/{id}).
func (t *Target) Account(ctx context.Context, id string) (targets.Account, error) {
	var raw json.RawMessage
	if err := t.do(ctx, http.MethodGet, userPath(id), nil, nil, &raw); err != nil {
		return targets.Account{}, fmt.Errorf("scim: get user %s: %w", id, err)
	}
	var members map[string][]targets.Group
	if t.cfg.Groups == "members" {
		var err error
		members, err = t.memberships(ctx, id, true)
		var he *httpError
		if errors.As(err, &he) && (he.Status == http.StatusBadRequest || he.Status == http.StatusNotImplemented) {
			// No filter on members.value here: walk every group instead.
			members, err = t.memberships(ctx, id, false)
		}
		if err != nil {
			return targets.Account{}, fmt.Errorf("scim: get user %s: groups: %w", id, err)
		}
	}
	a, err := t.account(raw, members)
	if err != nil {
		return targets.Account{}, fmt.Errorf("scim: get user %s: %w", id, err)
	}
	return a, nil
}

// ---- capabilities -------------------------------------------------------

// Disable deactivates the user: PATCH active=false (disable: patch), GET +
// PUT with active=false (disable: put), or DELETE (disable: delete, for
// servers that deactivate on DELETE). An unknown user wraps ErrNotFound;
// disabling a disabled user succeeds.
func (t *Target) Disable(ctx context.Context, a targets.Account) error {
	path := userPath(a.ID)
	var err error
	switch t.cfg.Disable {
	case "patch":
		op := map[string]any{
			"schemas":    []string{patchOpURN},
			"Operations": []map[string]any{{"op": "replace", "path": "active", "value": false}},
		}
		err = t.do(ctx, http.MethodPatch, path, nil, op, nil)
	case "put":
		err = t.disableByPut(ctx, path)
	case "delete":
		err = t.disableByDelete(ctx, path)
	}
	if err != nil {
		return fmt.Errorf("scim: disable user %s: %w", a.ID, err)
	}
	return nil
}

func (t *Target) disableByPut(ctx context.Context, path string) error {
	var obj map[string]json.RawMessage
	if err := t.do(ctx, http.MethodGet, path, nil, nil, &obj); err != nil {
		return err
	}
	if v, ok := lookup(obj, "active"); ok {
		var b flexBool
		if json.Unmarshal(v, &b) == nil && b.Set && !b.V {
			return nil // already inactive: no write
		}
	}
	for k := range obj {
		if strings.EqualFold(k, "active") {
			delete(obj, k)
		}
	}
	obj["active"] = json.RawMessage("false")
	return t.do(ctx, http.MethodPut, path, nil, obj, nil)
}

func (t *Target) disableByDelete(ctx context.Context, path string) error {
	var u struct {
		Active flexBool `json:"active"`
	}
	if err := t.do(ctx, http.MethodGet, path, nil, nil, &u); err != nil {
		return err
	}
	if u.Active.Set && !u.Active.V {
		return nil // already deactivated
	}
	return t.do(ctx, http.MethodDelete, path, nil, nil, nil)
}

// RemoveFromGroup removes the user from group g (g.ID is the group's id as
// the listing gave it) by PATCHing the group's members. A group known only
// by name (an ID equal to its name) is resolved with
// GET /Groups?filter=displayName eq "...", or else from the last listing. An
// unknown user or group wraps ErrNotFound; removing a membership that is
// already gone succeeds.
func (t *Target) RemoveFromGroup(ctx context.Context, a targets.Account, g targets.Group) error {
	name := cmp.Or(g.Name, g.ID)
	if err := t.do(ctx, http.MethodGet, userPath(a.ID), url.Values{"attributes": {"id"}}, nil, nil); err != nil {
		return fmt.Errorf("scim: remove user %s from group %q: %w", a.ID, name, err)
	}
	gid := g.ID
	var err error
	if gid == "" || gid == g.Name {
		if gid, err = t.groupID(ctx, name); err != nil {
			return fmt.Errorf("scim: remove user %s from group %q: %w", a.ID, name, err)
		}
	}
	op := map[string]any{
		"schemas": []string{patchOpURN},
		"Operations": []map[string]any{{
			"op":   "remove",
			"path": "members[value eq " + quote(a.ID) + "]",
		}},
	}
	err = t.do(ctx, http.MethodPatch, "/Groups/"+url.PathEscape(gid), nil, op, nil)
	var he *httpError
	if errors.As(err, &he) && he.Status == http.StatusBadRequest && strings.EqualFold(he.ScimType, "noTarget") {
		err = nil // the filter matched no member: already removed
	}
	if err != nil {
		return fmt.Errorf("scim: remove user %s from group %q (%s): %w", a.ID, name, gid, err)
	}
	return nil
}

// groupID resolves a group display name to its id.
func (t *Target) groupID(ctx context.Context, name string) (string, error) {
	q := url.Values{"filter": {"displayName eq " + quote(name)}, "attributes": {"displayName"}}
	var lr listResponse
	ferr := t.do(ctx, http.MethodGet, "/Groups", q, nil, &lr)
	if ferr == nil {
		var ids []string
		for _, r := range lr.Resources {
			var g group
			if err := json.Unmarshal(r, &g); err != nil {
				return "", fmt.Errorf("decode group: %w", err)
			}
			if g.ID != "" && (g.DisplayName == "" || strings.EqualFold(g.DisplayName, name)) {
				ids = append(ids, g.ID)
			}
		}
		switch len(ids) {
		case 1:
			t.learnGroup(name, ids[0])
			return ids[0], nil
		case 0:
		default:
			return "", fmt.Errorf("%d groups are named %q", len(ids), name)
		}
	} else if errors.Is(ferr, targets.ErrPermission) || errors.As(ferr, new(*targets.TransientError)) || ctx.Err() != nil {
		return "", ferr
	}
	t.mu.Lock()
	id, ok := t.groupIDs[name]
	t.mu.Unlock()
	if ok {
		return id, nil
	}
	if ferr != nil {
		return "", fmt.Errorf("group not resolvable (filter failed: %w; not seen in a listing either)", ferr)
	}
	return "", fmt.Errorf("group: %w", targets.ErrNotFound)
}

var (
	_ targets.Target       = (*Target)(nil)
	_ targets.Getter       = (*Target)(nil)
	_ targets.Disabler     = (*Target)(nil)
	_ targets.GroupRemover = (*Target)(nil)
)
