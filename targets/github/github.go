// Package github is a target for one GitHub organisation: its members (and,
// optionally, its outside collaborators) with their role, their teams as
// groups, the credentials they have authorised for the organisation's SAML
// single sign-on (personal access tokens, SSH keys, OAuth and GitHub App
// tokens) and their link to HR through their SAML identity (the IdP's
// nameId, read with one paged GraphQL query) or a links file.
//
// It uses go-github for REST. Disable removes the person from the
// organisation, which is not reversible (a re-invite is needed and their
// private forks of the organisation's repositories are deleted): it is
// offered only when the config says allow_remove_member: true, and is a
// manual step otherwise. RevokeCredential deletes one SAML SSO credential
// authorization; RemoveFromGroup removes the person from one team.
package github

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v75/github"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/upstream"
)

// Config configures a GitHub organisation target. The keys are the yaml tags.
type Config struct {
	// Org is the organisation's login (as in github.com/ORG).
	Org string `yaml:"org"`
	// BaseURL is the REST API root: https://api.github.com/ (default) or,
	// for GitHub Enterprise Server, https://HOST/api/v3/.
	BaseURL string `yaml:"base_url"`
	// GraphQLURL is the GraphQL endpoint; default: derived from base_url
	// (https://api.github.com/graphql, or https://HOST/api/graphql).
	GraphQLURL string `yaml:"graphql_url"`
	// TokenEnv / TokenFile name where the token is: a GitHub App
	// installation token or a fine-grained personal access token (see the
	// README for the permissions).
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
	// Identity says how members are linked to HR: "saml" (default: the
	// SAML identity's nameId), "links_file" (a CSV login,employee_id,email)
	// or "none".
	Identity string `yaml:"identity"`
	// SAMLNameID says what the IdP puts in the SAML nameId: "email"
	// (default) or "employee_id".
	SAMLNameID string `yaml:"saml_name_id"`
	// LinksFile is the CSV for identity: links_file (relative to the config
	// file's folder): a header line login,employee_id,email then one line
	// per GitHub login.
	LinksFile string `yaml:"links_file"`
	// OutsideCollaborators lists the organisation's outside collaborators
	// too (default false).
	OutsideCollaborators bool `yaml:"include_outside_collaborators"`
	// AllowRemoveMember makes Disable (removal from the organisation)
	// automatic. Default false: removal is a manual step.
	AllowRemoveMember bool `yaml:"allow_remove_member"`
	// PageSize is per_page for REST listings and first for GraphQL (1-100,
	// default 100).
	PageSize int `yaml:"page_size"`
	// Timeout bounds one HTTP request (default 60s).
	Timeout time.Duration `yaml:"timeout"`

	// Token is filled by the wiring from token_env/token_file.
	Token targets.Secret `yaml:"-"`
}

// SecretFields names the token for the wiring.
func (c *Config) SecretFields() []targets.SecretField {
	return []targets.SecretField{{Key: "token", Env: c.TokenEnv, File: c.TokenFile, Value: &c.Token}}
}

// ResolvePaths makes links_file absolute against the config file's folder.
func (c *Config) ResolvePaths(dir string) {
	if c.LinksFile != "" && !filepath.IsAbs(c.LinksFile) {
		c.LinksFile = filepath.Join(dir, c.LinksFile)
	}
}

// Target is one GitHub organisation.
type Target struct {
	cfg    Config
	log    *slog.Logger
	rest   *gh.Client
	http   *upstream.Client
	gqlURL string
	red    *targets.Redactor
	links  map[string]link // lower-case login -> HR link (identity: links_file)
}

type link struct{ EmployeeID, Email string }

// Option adjusts a Target (tests inject the HTTP client).
type Option func(*options)

type options struct{ http *http.Client }

// WithHTTPClient sends every request (REST and GraphQL) through c.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.http = c } }

// New validates cfg and returns the target. It reads links_file (when
// identity is links_file) but does not talk to GitHub.
func New(cfg Config, log *slog.Logger, opts ...Option) (*Target, error) {
	if log == nil {
		return nil, errors.New("github: nil logger")
	}
	var o options
	for _, f := range opts {
		f(&o)
	}
	if cfg.Org == "" {
		return nil, errors.New("github: org: required")
	}
	if cfg.Token == "" {
		return nil, errors.New("github: token: not resolved (set token_env or token_file)")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://api.github.com/"
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("github: base_url: %q is not an http(s) URL", cfg.BaseURL)
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	if cfg.GraphQLURL == "" {
		g := *base
		switch {
		case strings.HasSuffix(g.Path, "/api/v3/"):
			g.Path = strings.TrimSuffix(g.Path, "v3/") + "graphql"
		default:
			g.Path += "graphql"
		}
		cfg.GraphQLURL = g.String()
	}
	if u, err := url.Parse(cfg.GraphQLURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("github: graphql_url: %q is not an http(s) URL", cfg.GraphQLURL)
	}
	switch cfg.Identity {
	case "":
		cfg.Identity = "saml"
	case "saml", "links_file", "none":
	default:
		return nil, fmt.Errorf("github: identity: %q is not saml, links_file or none", cfg.Identity)
	}
	switch cfg.SAMLNameID {
	case "":
		cfg.SAMLNameID = "email"
	case "email", "employee_id":
	default:
		return nil, fmt.Errorf("github: saml_name_id: %q is not email or employee_id", cfg.SAMLNameID)
	}
	if (cfg.Identity == "links_file") != (cfg.LinksFile != "") {
		return nil, errors.New("github: links_file: set it exactly when identity is links_file")
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = 100
	}
	if cfg.PageSize < 1 || cfg.PageSize > 100 {
		return nil, fmt.Errorf("github: page_size: %d is not within 1-100", cfg.PageSize)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("github: timeout: %v is negative", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 60 * time.Second
	}
	t := &Target{cfg: cfg, log: log, gqlURL: cfg.GraphQLURL, red: targets.NewRedactor(cfg.Token)}
	if cfg.Identity == "links_file" {
		if t.links, err = readLinks(cfg.LinksFile); err != nil {
			return nil, fmt.Errorf("github: links_file: %w", err)
		}
	}
	hc := &http.Client{Timeout: cfg.Timeout}
	if o.http != nil {
		c := *o.http
		hc = &c
	}
	hc.Transport = resetTransport{base: hc.Transport}
	t.http = &upstream.Client{
		HTTP:      hc,
		Component: "github",
		Redactor:  t.red,
		Retryable: rateLimited,
	}
	// go-github sends every REST request through t.http (authorisation,
	// retries, redacted errors).
	rc := gh.NewClient(&http.Client{Transport: roundTripper{t}})
	rc.BaseURL = base
	t.rest = rc
	return t, nil
}

// rateLimited marks GitHub's rate-limit answers as retryable: the primary
// limit (403 or 429 with x-ratelimit-remaining: 0) and the secondary one
// (403 or 429 with retry-after). A plain 403 (no permission) is final.
func rateLimited(resp *http.Response, _ []byte) bool {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return false
	}
	return resp.Header.Get("Retry-After") != "" || resp.Header.Get("X-RateLimit-Remaining") == "0"
}

// resetTransport turns GitHub's primary rate-limit answer (403 or 429 with
// x-ratelimit-remaining: 0 and x-ratelimit-reset, the epoch second the quota
// comes back) into a Retry-After, so that upstream.Client waits until the
// reset (capped at its MaxWait) rather than backing off blindly.
type resetTransport struct{ base http.RoundTripper }

func (rt resetTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := rt.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil || (resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests) ||
		resp.Header.Get("Retry-After") != "" || resp.Header.Get("X-RateLimit-Remaining") != "0" {
		return resp, err
	}
	if reset, perr := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); perr == nil {
		wait := max(time.Until(time.Unix(reset, 0)), 0)
		resp.Header.Set("Retry-After", strconv.FormatInt(int64(wait.Seconds())+1, 10))
	}
	return resp, nil
}

// roundTripper adapts upstream.Client (which authorises, retries reads and
// turns a status >= 400 into a redacted *upstream.StatusError) to the
// http.RoundTripper go-github needs.
type roundTripper struct{ t *Target }

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	rt.t.authorize(req)
	return rt.t.http.Do(req)
}

func (t *Target) authorize(req *http.Request) {
	req.Header.Set("Authorization", "Bearer "+t.cfg.Token.Reveal())
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
}

func readLinks(path string) (map[string]link, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	li, ok := col["login"]
	if !ok {
		return nil, fmt.Errorf("%s: no login column (want login,employee_id,email)", path)
	}
	out := map[string]link{}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		login := strings.ToLower(get("login"))
		if li >= len(rec) || login == "" {
			return nil, fmt.Errorf("%s:%d: empty login", path, line)
		}
		if _, dup := out[login]; dup {
			return nil, fmt.Errorf("%s:%d: login %s listed twice", path, line, login)
		}
		out[login] = link{EmployeeID: get("employee_id"), Email: get("email")}
	}
}

// ---- errors ---------------------------------------------------------------

// wrap turns a go-github error into the connector's. An error from
// upstream.Client (a *StatusError, or a *targets.TransientError for a
// throttled or failed request) already names the component, method and path,
// is redacted and carries its classification: it is returned as is, without
// net/http's *url.Error layer. Anything else is redacted here.
func (t *Target) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	var se *upstream.StatusError
	var te *targets.TransientError
	if errors.As(err, &se) || errors.As(err, &te) {
		return unwrapURL(err)
	}
	if ctx := contextErr(err); ctx != nil {
		return fmt.Errorf("github: %s: %w", what, ctx)
	}
	return fmt.Errorf("github: %s: %s", what, t.red.Redact(err.Error()))
}

// unwrapURL drops net/http's *url.Error layer (its text repeats the URL).
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// bypass turns off go-github's own client-side rate-limit check (which
// refuses to send a request after a response said the quota is spent): the
// request then reaches GitHub, and its 403/429 answer is waited for in one
// place, upstream.Client (see resetTransport).
func bypass(ctx context.Context) context.Context {
	return context.WithValue(ctx, gh.BypassRateLimitCheck, true)
}

func contextErr(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	}
	return nil
}

func isNotFound(err error) bool { return errors.Is(err, targets.ErrNotFound) }

// ---- listing --------------------------------------------------------------

// Accounts lists the organisation's members (then its outside
// collaborators, when configured). Before the first member it reads, once
// per listing: the SAML identities (GraphQL, paged), the admins
// (role=admin), every team's members and the credential authorizations;
// then it streams the members page by page.
func (t *Target) Accounts(ctx context.Context) iter.Seq2[targets.Account, error] {
	return func(yield func(targets.Account, error) bool) {
		ctx := bypass(ctx)
		idx, err := t.index(ctx)
		if err != nil {
			yield(targets.Account{}, err)
			return
		}
		for u, err := range pages(t, ctx, "list members", func(o gh.ListOptions) ([]*gh.User, *gh.Response, error) {
			return t.rest.Organizations.ListMembers(ctx, t.cfg.Org, &gh.ListMembersOptions{Role: "all", ListOptions: o})
		}) {
			if err != nil {
				yield(targets.Account{}, err)
				return
			}
			if !yield(t.account(u, idx.admins[u.GetLogin()], idx), nil) {
				return
			}
		}
		if !t.cfg.OutsideCollaborators {
			return
		}
		for u, err := range pages(t, ctx, "list outside collaborators", func(o gh.ListOptions) ([]*gh.User, *gh.Response, error) {
			return t.rest.Organizations.ListOutsideCollaborators(ctx, t.cfg.Org, &gh.ListOutsideCollaboratorsOptions{ListOptions: o})
		}) {
			if err != nil {
				yield(targets.Account{}, err)
				return
			}
			if !yield(t.account(u, false, idx), nil) {
				return
			}
		}
	}
}

// index is what one listing reads before streaming members.
type index struct {
	saml   bool                            // the org has a SAML identity provider
	nameID map[string]string               // login -> SAML nameId
	admins map[string]bool                 // login -> owner
	teams  map[string][]targets.Group      // login -> teams
	creds  map[string][]targets.Credential // login -> SSO credential authorizations
}

func (t *Target) index(ctx context.Context) (*index, error) {
	idx := &index{nameID: map[string]string{}, admins: map[string]bool{}, teams: map[string][]targets.Group{}, creds: map[string][]targets.Credential{}}
	var err error
	if idx.saml, err = t.samlIdentities(ctx, "", func(login, nameID string) { idx.nameID[strings.ToLower(login)] = nameID }); err != nil {
		return nil, err
	}
	for u, err := range pages(t, ctx, "list admins", func(o gh.ListOptions) ([]*gh.User, *gh.Response, error) {
		return t.rest.Organizations.ListMembers(ctx, t.cfg.Org, &gh.ListMembersOptions{Role: "admin", ListOptions: o})
	}) {
		if err != nil {
			return nil, err
		}
		idx.admins[u.GetLogin()] = true
	}
	for team, err := range pages(t, ctx, "list teams", func(o gh.ListOptions) ([]*gh.Team, *gh.Response, error) {
		return t.rest.Teams.ListTeams(ctx, t.cfg.Org, &o)
	}) {
		if err != nil {
			return nil, err
		}
		g := targets.Group{ID: team.GetSlug(), Name: team.GetName()}
		for u, err := range pages(t, ctx, "list members of team "+g.ID, func(o gh.ListOptions) ([]*gh.User, *gh.Response, error) {
			return t.rest.Teams.ListTeamMembersBySlug(ctx, t.cfg.Org, g.ID, &gh.TeamListTeamMembersOptions{Role: "all", ListOptions: o})
		}) {
			if err != nil {
				return nil, err
			}
			idx.teams[u.GetLogin()] = append(idx.teams[u.GetLogin()], g)
		}
	}
	if idx.saml {
		for c, err := range pages(t, ctx, "list credential authorizations", func(o gh.ListOptions) ([]*gh.CredentialAuthorization, *gh.Response, error) {
			return t.rest.Organizations.ListCredentialAuthorizations(ctx, t.cfg.Org, &gh.CredentialAuthorizationsListOptions{ListOptions: o})
		}) {
			if err != nil {
				return nil, err
			}
			login := strings.ToLower(c.GetLogin())
			idx.creds[login] = append(idx.creds[login], credential(c))
		}
	}
	return idx, nil
}

// pages walks a REST listing page by page (per_page = page_size), following
// GitHub's Link header.
func pages[T any](t *Target, ctx context.Context, what string, list func(gh.ListOptions) ([]T, *gh.Response, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		opt := gh.ListOptions{PerPage: t.cfg.PageSize, Page: 1}
		for {
			if err := ctx.Err(); err != nil {
				yield(zero, fmt.Errorf("github: %s: %w", what, err))
				return
			}
			items, resp, err := list(opt)
			if err != nil {
				yield(zero, t.wrap(what, err))
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if resp == nil || resp.NextPage == 0 {
				return
			}
			if resp.NextPage <= opt.Page {
				yield(zero, fmt.Errorf("github: %s: next page %d after page %d: listing would not end", what, resp.NextPage, opt.Page))
				return
			}
			opt.Page = resp.NextPage
		}
	}
}

func (t *Target) account(u *gh.User, admin bool, idx *index) targets.Account {
	login := u.GetLogin()
	key := strings.ToLower(login)
	a := targets.Account{
		ID:          strconv.FormatInt(u.GetID(), 10),
		Username:    login,
		DisplayName: u.GetName(),
		Enabled:     true,
		Privileged:  admin,
		Groups:      idx.teams[login],
		Credentials: idx.creds[key],
	}
	t.link(&a, idx.nameID[key])
	return a
}

// link fills EmployeeID/Email from the configured identity source. A member
// with no identity keeps both empty: reconcile then cannot match them to a
// person and reports them for review, never revoking them on its own.
func (t *Target) link(a *targets.Account, nameID string) {
	switch t.cfg.Identity {
	case "saml":
		if t.cfg.SAMLNameID == "employee_id" {
			a.EmployeeID = nameID
		} else {
			a.Email = nameID
		}
	case "links_file":
		l := t.links[strings.ToLower(a.Username)]
		a.EmployeeID, a.Email = l.EmployeeID, l.Email
	}
}

// credential maps a SAML SSO credential authorization.
func credential(c *gh.CredentialAuthorization) targets.Credential {
	kind := strings.ReplaceAll(strings.ToLower(c.GetCredentialType()), " ", "_")
	cr := targets.Credential{
		ID:      strconv.FormatInt(c.GetCredentialID(), 10),
		Kind:    "github_" + kind,
		Created: c.GetCredentialAuthorizedAt().Time,
		Active:  true,
	}
	if c.CredentialAccessedAt != nil {
		cr.LastUsed = c.CredentialAccessedAt.Time
	}
	return cr
}

// ---- GraphQL: SAML identities ---------------------------------------------

// samlQuery reads the organisation's SAML external identities, 100 at a
// time. Held to GitHub's GraphQL schema by graphql_test.go.
const samlQuery = `query($org: String!, $first: Int!, $cursor: String, $login: String) {
  organization(login: $org) {
    samlIdentityProvider {
      externalIdentities(first: $first, after: $cursor, login: $login) {
        pageInfo { hasNextPage endCursor }
        nodes {
          samlIdentity { nameId }
          user { login }
        }
      }
    }
  }
}`

type samlPage struct {
	Data struct {
		Organization *struct {
			SAMLIdentityProvider *struct {
				ExternalIdentities struct {
					PageInfo struct {
						HasNextPage bool   `json:"hasNextPage"`
						EndCursor   string `json:"endCursor"`
					} `json:"pageInfo"`
					Nodes []struct {
						SAMLIdentity *struct {
							NameID string `json:"nameId"`
						} `json:"samlIdentity"`
						User *struct {
							Login string `json:"login"`
						} `json:"user"`
					} `json:"nodes"`
				} `json:"externalIdentities"`
			} `json:"samlIdentityProvider"`
		} `json:"organization"`
	} `json:"data"`
	Errors []struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"errors"`
}

// samlIdentities calls fn for each SAML identity linked to a GitHub user
// (only login's when login is set) and says whether the organisation has a
// SAML identity provider at all. With identity other than saml it does
// nothing and says false.
func (t *Target) samlIdentities(ctx context.Context, login string, fn func(login, nameID string)) (bool, error) {
	if t.cfg.Identity != "saml" {
		return false, nil
	}
	vars := map[string]any{"org": t.cfg.Org, "first": t.cfg.PageSize}
	if login != "" {
		vars["login"] = login
	}
	for page := 1; ; page++ {
		var p samlPage
		if err := t.graphql(ctx, vars, &p); err != nil {
			return false, err
		}
		if len(p.Errors) > 0 {
			msg := p.Errors[0].Message
			if p.Errors[0].Type != "" {
				msg = p.Errors[0].Type + ": " + msg
			}
			err := fmt.Errorf("github: graphql SAML identities: %s", t.red.Redact(msg))
			if p.Errors[0].Type == "NOT_FOUND" {
				err = fmt.Errorf("%w: %w", err, targets.ErrNotFound)
			} else if p.Errors[0].Type == "FORBIDDEN" {
				err = fmt.Errorf("%w: %w", err, targets.ErrPermission)
			}
			return false, err
		}
		org := p.Data.Organization
		if org == nil {
			return false, fmt.Errorf("github: graphql SAML identities: organization %s not found: %w", t.cfg.Org, targets.ErrNotFound)
		}
		if org.SAMLIdentityProvider == nil {
			return false, nil // no SAML SSO on this organisation
		}
		ei := org.SAMLIdentityProvider.ExternalIdentities
		for _, n := range ei.Nodes {
			if n.User != nil && n.SAMLIdentity != nil && n.SAMLIdentity.NameID != "" {
				fn(n.User.Login, n.SAMLIdentity.NameID)
			}
		}
		if !ei.PageInfo.HasNextPage {
			return true, nil
		}
		if ei.PageInfo.EndCursor == "" || ei.PageInfo.EndCursor == vars["cursor"] {
			return false, fmt.Errorf("github: graphql SAML identities: page %d has no new endCursor: listing would not end", page)
		}
		vars["cursor"] = ei.PageInfo.EndCursor
	}
}

// graphqlAttempts bounds the tries of one GraphQL page (a POST, which
// upstream.Client sends once) when it is throttled.
const graphqlAttempts = 5

func (t *Target) graphql(ctx context.Context, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": samlQuery, "variables": vars})
	if err != nil {
		return fmt.Errorf("github: graphql: %w", err)
	}
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.gqlURL, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("github: graphql: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		t.authorize(req)
		resp, err := t.http.Do(req)
		if err == nil {
			data, rerr := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
			_ = resp.Body.Close()
			if rerr != nil {
				return fmt.Errorf("github: graphql: read body: %w", rerr)
			}
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("github: graphql: decode: %w (%s)", err, t.red.Excerpt(data))
			}
			return nil
		}
		var te *targets.TransientError
		if attempt >= graphqlAttempts || !errors.As(err, &te) || ctx.Err() != nil {
			return fmt.Errorf("github: graphql SAML identities: %w", unwrapURL(err))
		}
		wait := te.RetryAfter
		if wait <= 0 {
			wait = time.Duration(1<<(attempt-1)) * time.Second
		}
		t.log.Warn("github: graphql throttled, retrying", "attempt", attempt, "wait", wait)
		if err := t.sleep(ctx, min(wait, time.Minute)); err != nil {
			return fmt.Errorf("github: graphql SAML identities: %w", err)
		}
	}
}

func (t *Target) sleep(ctx context.Context, d time.Duration) error {
	if t.http.Sleep != nil {
		return t.http.Sleep(ctx, d)
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

// ---- one account ----------------------------------------------------------

// user resolves an account ID (GitHub's numeric user ID, which survives a
// rename) to the user's current login. An ID that is not a GitHub user wraps
// ErrNotFound.
func (t *Target) user(ctx context.Context, id string) (*gh.User, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return nil, fmt.Errorf("github: user %q: not a GitHub user ID: %w", id, targets.ErrNotFound)
	}
	u, _, err := t.rest.Users.GetByID(ctx, n)
	if err != nil {
		return nil, t.wrap("get user "+id, err)
	}
	return u, nil
}

// membership returns the user's org membership, or nil when they are not a
// member (nor invited).
func (t *Target) membership(ctx context.Context, login string) (*gh.Membership, error) {
	m, _, err := t.rest.Organizations.GetOrgMembership(ctx, login, t.cfg.Org)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, t.wrap("get membership of "+login, err)
	}
	return m, nil
}

func (t *Target) isOutsideCollaborator(ctx context.Context, login string) (bool, error) {
	if !t.cfg.OutsideCollaborators {
		return false, nil
	}
	for u, err := range pages(t, ctx, "list outside collaborators", func(o gh.ListOptions) ([]*gh.User, *gh.Response, error) {
		return t.rest.Organizations.ListOutsideCollaborators(ctx, t.cfg.Org, &gh.ListOutsideCollaboratorsOptions{ListOptions: o})
	}) {
		if err != nil {
			return false, err
		}
		if strings.EqualFold(u.GetLogin(), login) {
			return true, nil
		}
	}
	return false, nil
}

// Account re-reads one account by its GitHub user ID. A GitHub user who is
// neither a member nor (when listed) an outside collaborator of the
// organisation is returned with Enabled false: they can no longer get in. An
// ID that is no GitHub user wraps ErrNotFound.
func (t *Target) Account(ctx context.Context, id string) (targets.Account, error) {
	ctx = bypass(ctx)
	u, err := t.user(ctx, id)
	if err != nil {
		return targets.Account{}, err
	}
	login := u.GetLogin()
	a := targets.Account{ID: strconv.FormatInt(u.GetID(), 10), Username: login, DisplayName: u.GetName()}
	m, err := t.membership(ctx, login)
	if err != nil {
		return targets.Account{}, err
	}
	switch {
	case m != nil:
		a.Enabled = m.GetState() == "active"
		a.Privileged = m.GetRole() == "admin"
	default:
		if a.Enabled, err = t.isOutsideCollaborator(ctx, login); err != nil {
			return targets.Account{}, err
		}
	}
	if !a.Enabled {
		return a, nil
	}
	for team, err := range pages(t, ctx, "list teams", func(o gh.ListOptions) ([]*gh.Team, *gh.Response, error) {
		return t.rest.Teams.ListTeams(ctx, t.cfg.Org, &o)
	}) {
		if err != nil {
			return targets.Account{}, err
		}
		_, _, err := t.rest.Teams.GetTeamMembershipBySlug(ctx, t.cfg.Org, team.GetSlug(), login)
		switch {
		case err == nil:
			a.Groups = append(a.Groups, targets.Group{ID: team.GetSlug(), Name: team.GetName()})
		case !isNotFound(err):
			return targets.Account{}, t.wrap("get team membership of "+login, err)
		}
	}
	nameID := ""
	saml, err := t.samlIdentities(ctx, login, func(l, n string) {
		if strings.EqualFold(l, login) {
			nameID = n
		}
	})
	if err != nil {
		return targets.Account{}, err
	}
	t.link(&a, nameID)
	if saml {
		for c, err := range pages(t, ctx, "list credential authorizations of "+login, func(o gh.ListOptions) ([]*gh.CredentialAuthorization, *gh.Response, error) {
			return t.rest.Organizations.ListCredentialAuthorizations(ctx, t.cfg.Org, &gh.CredentialAuthorizationsListOptions{ListOptions: o, Login: login})
		}) {
			if err != nil {
				return targets.Account{}, err
			}
			if strings.EqualFold(c.GetLogin(), login) {
				a.Credentials = append(a.Credentials, credential(c))
			}
		}
	}
	return a, nil
}

// ---- capabilities ---------------------------------------------------------

// ErrRemovalNotAllowed is returned by Disable when the config does not say
// allow_remove_member: true. Capabilities then leaves out disable, so the
// executor makes removal a manual step and never calls Disable.
var ErrRemovalNotAllowed = errors.New("github: removing a member from the organisation is not allowed by the config (allow_remove_member: false): a person must do it")

// Capabilities lists what the config enables: disable (removal from the
// organisation) only with allow_remove_member: true.
func (t *Target) Capabilities() []targets.Capability {
	c := []targets.Capability{targets.CanGet, targets.CanRevokeCredential, targets.CanRemoveFromGroup}
	if t.cfg.AllowRemoveMember {
		c = append(c, targets.CanDisable)
	}
	return c
}

// Disable removes the user from the organisation (DELETE
// /orgs/{org}/memberships/{login}, which also cancels a pending invitation),
// or removes an outside collaborator. Not reversible: only with
// allow_remove_member: true, else it returns ErrRemovalNotAllowed without
// calling GitHub. A user already removed is success; an ID that is no
// GitHub user wraps ErrNotFound.
func (t *Target) Disable(ctx context.Context, a targets.Account) error {
	if !t.cfg.AllowRemoveMember {
		return ErrRemovalNotAllowed
	}
	ctx = bypass(ctx)
	u, err := t.user(ctx, a.ID)
	if err != nil {
		return err
	}
	login := u.GetLogin()
	m, err := t.membership(ctx, login)
	if err != nil {
		return err
	}
	if m != nil {
		_, err := t.rest.Organizations.RemoveOrgMembership(ctx, login, t.cfg.Org)
		if err != nil && !isNotFound(err) {
			return t.wrap("remove "+login+" from the organisation", err)
		}
		return nil
	}
	outside, err := t.isOutsideCollaborator(ctx, login)
	if err != nil || !outside {
		return err // not a member any more: done
	}
	if _, err := t.rest.Organizations.RemoveOutsideCollaborator(ctx, t.cfg.Org, login); err != nil && !isNotFound(err) {
		return t.wrap("remove outside collaborator "+login, err)
	}
	return nil
}

// RevokeCredential deletes one SAML SSO credential authorization (the token
// or key keeps existing on the user's GitHub account but no longer reaches
// this organisation until re-authorised through SSO). An authorization
// already gone is success; an account that is no GitHub user wraps
// ErrNotFound.
func (t *Target) RevokeCredential(ctx context.Context, a targets.Account, c targets.Credential) error {
	ctx = bypass(ctx)
	id, err := strconv.ParseInt(c.ID, 10, 64)
	if err != nil {
		return fmt.Errorf("github: revoke credential %q of %s: not a credential authorization ID: %w", c.ID, a.ID, targets.ErrNotFound)
	}
	_, err = t.rest.Organizations.RemoveCredentialAuthorization(ctx, t.cfg.Org, id)
	if isNotFound(err) {
		if _, uerr := t.user(ctx, a.ID); uerr != nil {
			return uerr
		}
		return nil // already revoked
	}
	return t.wrap("revoke credential authorization "+c.ID, err)
}

// RemoveFromGroup removes the user from one team (g.ID is the team's slug).
// A membership already gone is success; an unknown user or team wraps
// ErrNotFound.
func (t *Target) RemoveFromGroup(ctx context.Context, a targets.Account, g targets.Group) error {
	ctx = bypass(ctx)
	u, err := t.user(ctx, a.ID)
	if err != nil {
		return err
	}
	login := u.GetLogin()
	_, err = t.rest.Teams.RemoveTeamMembershipBySlug(ctx, t.cfg.Org, g.ID, login)
	if isNotFound(err) {
		if _, _, terr := t.rest.Teams.GetTeamBySlug(ctx, t.cfg.Org, g.ID); terr != nil {
			return t.wrap("get team "+g.ID, terr)
		}
		return nil // not (or no longer) a member
	}
	return t.wrap("remove "+login+" from team "+g.ID, err)
}

var (
	_ targets.Target            = (*Target)(nil)
	_ targets.Getter            = (*Target)(nil)
	_ targets.Disabler          = (*Target)(nil)
	_ targets.CredentialRevoker = (*Target)(nil)
	_ targets.GroupRemover      = (*Target)(nil)
	_ targets.Configurable      = (*Target)(nil)
	_ targets.SecretConfig      = (*Config)(nil)
	_ targets.PathConfig        = (*Config)(nil)
)
