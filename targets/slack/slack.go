// Package slack is a target for a Slack workspace (or one workspace of an
// Enterprise Grid organisation). It lists users with slack-go's users.list
// (cursor paging; bots and Slackbot left out; deleted users listed as
// disabled; admins and owners privileged; profile.email as the email), user
// groups as groups (usergroups.list), and, where the plan allows it, each
// user's last activity from team.accessLogs.
//
// Disable deactivates the user through Slack's SCIM API, by a
// targets/scim.Target built from the scim: block of the config (Slack's SCIM
// user IDs are its user IDs); without that block Disable is a manual step.
// RevokeSessions is admin.users.session.reset (Enterprise Grid, scope
// admin.users:write), offered only when the config says the token has that
// scope; otherwise it is a manual step. RemoveFromGroup rewrites the user
// group's member list without the user (usergroups.users.update).
package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/scim"
	"github.com/accessrecon/accessrecon/targets/upstream"
)

// Config configures a Slack target. The keys are the yaml tags.
type Config struct {
	// APIURL is the Web API root (default https://slack.com/api/).
	APIURL string `yaml:"api_url"`
	// TokenEnv / TokenFile name where the token is: a user token (xoxp-) of
	// an admin, or a bot token (xoxb-) with the scopes in the README.
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
	// TeamID is the workspace to list, needed with an org-level (Grid)
	// token; empty for a single workspace.
	TeamID string `yaml:"team_id"`
	// PageSize is users.list's limit (default 200; Slack allows up to 1000).
	PageSize int `yaml:"page_size"`
	// AccessLogs reads team.accessLogs for each user's last activity (needs
	// the admin scope and a paid plan). When false, logins are not tracked
	// and no dormancy conclusion is drawn.
	AccessLogs bool `yaml:"access_logs"`
	// AccessLogsMaxPages bounds the team.accessLogs pages read per listing
	// (newest first; default 100). A user whose last entry is older than
	// the pages read shows no last login.
	AccessLogsMaxPages int `yaml:"access_logs_max_pages"`
	// SessionReset says the token has admin.users:write (Enterprise Grid):
	// RevokeSessions calls admin.users.session.reset. When false, ending a
	// user's sessions is a manual step.
	SessionReset bool `yaml:"session_reset"`
	// SCIM is Slack's SCIM API, used to deactivate users. Empty (no
	// base_url): Disable is a manual step.
	SCIM scim.Config `yaml:"scim"`
	// Timeout bounds one HTTP request (default 60s).
	Timeout time.Duration `yaml:"timeout"`

	// Token is filled by the wiring from token_env/token_file.
	Token targets.Secret `yaml:"-"`
}

// SecretFields names the Web API token and, with a scim: block, its
// secrets (keys prefixed "scim.").
func (c *Config) SecretFields() []targets.SecretField {
	f := []targets.SecretField{{Key: "token", Env: c.TokenEnv, File: c.TokenFile, Value: &c.Token}}
	if c.SCIM.BaseURL != "" {
		for _, s := range c.SCIM.SecretFields() {
			s.Key = "scim." + s.Key
			f = append(f, s)
		}
	}
	return f
}

// Target is one Slack workspace.
type Target struct {
	cfg  Config
	log  *slog.Logger
	api  *slack.Client
	http *upstream.Client
	base string // Web API root, with a trailing slash
	red  *targets.Redactor
	scim *scim.Target // nil: no SCIM, Disable is manual

	mu     sync.Mutex
	groups map[string]slack.UserGroup // id -> user group, from the last read
}

// Option adjusts a Target (tests inject the HTTP client).
type Option func(*options)

type options struct {
	http *http.Client
}

// WithHTTPClient sends every Web API request through c (SCIM requests go
// through the scim: block's own client).
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.http = c } }

// New validates cfg and returns the target; it does not talk to Slack.
func New(cfg Config, log *slog.Logger, opts ...Option) (*Target, error) {
	if log == nil {
		return nil, errors.New("slack: nil logger")
	}
	var o options
	for _, f := range opts {
		f(&o)
	}
	if cfg.Token == "" {
		return nil, errors.New("slack: token: not resolved (set token_env or token_file)")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = "https://slack.com/api/"
	}
	u, err := url.Parse(cfg.APIURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("slack: api_url: %q is not an http(s) URL", cfg.APIURL)
	}
	if !strings.HasSuffix(cfg.APIURL, "/") {
		cfg.APIURL += "/"
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = 200
	}
	if cfg.PageSize < 1 || cfg.PageSize > 1000 {
		return nil, fmt.Errorf("slack: page_size: %d is not within 1-1000", cfg.PageSize)
	}
	if cfg.AccessLogsMaxPages == 0 {
		cfg.AccessLogsMaxPages = 100
	}
	if cfg.AccessLogsMaxPages < 0 {
		return nil, fmt.Errorf("slack: access_logs_max_pages: %d is negative", cfg.AccessLogsMaxPages)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("slack: timeout: %v is negative", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 60 * time.Second
	}
	hc := o.http
	if hc == nil {
		hc = &http.Client{Timeout: cfg.Timeout}
	}
	t := &Target{cfg: cfg, log: log, base: cfg.APIURL, red: targets.NewRedactor(cfg.Token), groups: map[string]slack.UserGroup{}}
	t.http = &upstream.Client{HTTP: hc, Component: "slack", Redactor: t.red}
	t.api = slack.New(cfg.Token.Reveal(), slack.OptionAPIURL(cfg.APIURL), slack.OptionHTTPClient(bearer{t}))
	if cfg.SCIM.BaseURL != "" {
		st, err := scim.New(cfg.SCIM, log.With("via", "slack scim"))
		if err != nil {
			return nil, fmt.Errorf("slack: scim: %w", err)
		}
		t.scim = st
	}
	return t, nil
}

// bearer is the HTTP client slack-go uses: it moves the token slack-go puts
// in the form body into an Authorization: Bearer header (as Slack
// recommends: the token then never sits in a request body), and sends the
// request through upstream.Client (redacted errors, 429/5xx as
// *targets.TransientError with Retry-After).
type bearer struct{ t *Target }

func (b bearer) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		body, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("slack: form body: %w", err)
		}
		form.Del("token")
		for k, v := range form {
			if len(v) == 1 && v[0] == "" {
				delete(form, k) // slack-go sends team_id= when unset
			}
		}
		enc := form.Encode()
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(strings.NewReader(enc))
		req.ContentLength = int64(len(enc))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(enc)), nil }
	}
	q := req.URL.Query()
	if q.Has("token") {
		q.Del("token")
		req.URL.RawQuery = q.Encode()
	}
	req.Header.Set("Authorization", "Bearer "+b.t.cfg.Token.Reveal())
	return b.t.http.Do(req)
}

// ---- errors ---------------------------------------------------------------

// notFound are Slack error codes meaning the user (or group) does not exist.
var notFound = map[string]bool{"user_not_found": true, "users_not_found": true, "no_such_subteam": true, "subteam_not_found": true}

// permission are Slack error codes meaning the token may not do this.
var permission = map[string]bool{
	"not_authed": true, "invalid_auth": true, "account_inactive": true, "token_revoked": true,
	"no_permission": true, "missing_scope": true, "not_allowed_token_type": true, "permission_denied": true,
	"paid_only": true, "feature_not_enabled": true, "not_an_admin": true, "team_access_not_granted": true,
	"ekm_access_denied": true, "org_login_required": true,
}

// wrap classifies an error from slack-go: Slack's "ok": false codes
// (user_not_found → ErrNotFound, missing_scope → ErrPermission, ...), the
// transient and status errors upstream.Client returns (already redacted),
// and anything else redacted here.
func (t *Target) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		code := se.Err
		msg := fmt.Sprintf("slack: %s: %s", what, t.red.Redact(code))
		if se.Needed != "" {
			msg += " (needed scope " + t.red.Redact(se.Needed) + ")"
		}
		switch {
		case notFound[code]:
			return fmt.Errorf("%s: %w", msg, targets.ErrNotFound)
		case permission[code]:
			return fmt.Errorf("%s: %w", msg, targets.ErrPermission)
		case code == "ratelimited" || code == "fatal_error" || code == "request_timeout" || code == "internal_error":
			return targets.Transient(errors.New(msg), 0)
		}
		return errors.New(msg)
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return targets.Transient(fmt.Errorf("slack: %s: rate limited", what), rl.RetryAfter)
	}
	// upstream.Client's errors already name the component, method and
	// path, are redacted and carry their classification.
	var te *targets.TransientError
	var st *upstream.StatusError
	if errors.As(err, &te) || errors.As(err, &st) {
		return err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("slack: %s: %w", what, context.Canceled)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("slack: %s: %w", what, context.DeadlineExceeded)
	}
	return fmt.Errorf("slack: %s: %s", what, t.red.Redact(err.Error()))
}

// readAttempts bounds the tries of one read (slack-go POSTs every method, so
// upstream.Client does not retry them itself) when Slack throttles.
const readAttempts = 5

// read runs one read call, retrying while it is throttled (429 with
// Retry-After, or 5xx), waiting as asked (at most a minute per wait).
func (t *Target) read(ctx context.Context, what string, call func() error) error {
	for attempt := 1; ; attempt++ {
		err := t.wrap(what, call())
		var te *targets.TransientError
		if err == nil || attempt >= readAttempts || !errors.As(err, &te) || ctx.Err() != nil {
			return err
		}
		wait := te.RetryAfter
		if wait <= 0 {
			wait = time.Duration(1<<(attempt-1)) * time.Second
		}
		wait = min(wait, time.Minute)
		t.log.Warn("slack: throttled, retrying", "call", what, "attempt", attempt, "wait", wait)
		if err := t.sleep(ctx, wait); err != nil {
			return fmt.Errorf("slack: %s: %w", what, err)
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

// ---- listing --------------------------------------------------------------

// Accounts lists the workspace's users page by page (users.list with a
// cursor). Before the first page it reads the user groups (one
// usergroups.list call with their members) and, with access_logs, the
// access logs (newest first, at most access_logs_max_pages pages).
func (t *Target) Accounts(ctx context.Context) iter.Seq2[targets.Account, error] {
	return func(yield func(targets.Account, error) bool) {
		groups, err := t.userGroups(ctx)
		if err != nil {
			yield(targets.Account{}, err)
			return
		}
		var last map[string]time.Time
		if t.cfg.AccessLogs {
			if last, err = t.lastLogins(ctx); err != nil {
				yield(targets.Account{}, err)
				return
			}
		}
		opts := []slack.GetUsersOption{slack.GetUsersOptionLimit(t.cfg.PageSize)}
		if t.cfg.TeamID != "" {
			opts = append(opts, slack.GetUsersOptionTeamID(t.cfg.TeamID))
		}
		p := t.api.GetUsersPaginated(opts...)
		seen := map[string]bool{}
		for page := 1; ; page++ {
			prev := p.Cursor
			err := t.read(ctx, "users.list", func() error {
				var err error
				next, err := p.Next(ctx)
				if err == nil {
					p = next
				}
				return err
			})
			if err != nil {
				yield(targets.Account{}, err)
				return
			}
			for _, u := range p.Users {
				if !listable(u) {
					continue
				}
				if seen[u.ID] {
					yield(targets.Account{}, fmt.Errorf("slack: users.list: user %s listed twice (page %d): the cursor went back", u.ID, page))
					return
				}
				seen[u.ID] = true
				if !yield(t.account(u, groups[u.ID], last), nil) {
					return
				}
			}
			if p.Cursor == "" {
				return
			}
			if p.Cursor == prev {
				yield(targets.Account{}, fmt.Errorf("slack: users.list: page %d returned the same cursor: listing would not end", page))
				return
			}
		}
	}
}

// listable leaves out bots, apps and Slackbot: they are not people.
func listable(u slack.User) bool {
	return !u.IsBot && !u.IsAppUser && u.ID != "USLACKBOT"
}

func (t *Target) account(u slack.User, groups []targets.Group, last map[string]time.Time) targets.Account {
	name := u.Profile.RealName
	if name == "" {
		name = u.RealName
	}
	a := targets.Account{
		ID:           u.ID,
		Username:     u.Name,
		Email:        u.Profile.Email,
		DisplayName:  name,
		Enabled:      !u.Deleted,
		Privileged:   u.IsAdmin || u.IsOwner || u.IsPrimaryOwner,
		Groups:       groups,
		LoginTracked: last != nil,
	}
	if last != nil {
		a.LastLogin = last[u.ID]
	}
	return a
}

// userGroups reads every user group with its members (usergroups.list
// include_users) and returns user id -> groups.
func (t *Target) userGroups(ctx context.Context) (map[string][]targets.Group, error) {
	var gs []slack.UserGroup
	opts := []slack.GetUserGroupsOption{slack.GetUserGroupsOptionIncludeUsers(true)}
	if t.cfg.TeamID != "" {
		opts = append(opts, slack.GetUserGroupsOptionTeamID(t.cfg.TeamID))
	}
	err := t.read(ctx, "usergroups.list", func() error {
		var err error
		gs, err = t.api.GetUserGroupsContext(ctx, opts...)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := map[string][]targets.Group{}
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.groups)
	for _, g := range gs {
		t.groups[g.ID] = g
		for _, u := range g.Users {
			out[u] = append(out[u], targets.Group{ID: g.ID, Name: g.Name})
		}
	}
	return out, nil
}

// lastLogins walks team.accessLogs (newest first) and keeps each user's
// latest date_last.
func (t *Target) lastLogins(ctx context.Context) (map[string]time.Time, error) {
	last := map[string]time.Time{}
	params := slack.AccessLogParameters{TeamID: t.cfg.TeamID, Limit: 1000}
	for page := 1; page <= t.cfg.AccessLogsMaxPages; page++ {
		var logins []slack.Login
		var next string
		err := t.read(ctx, "team.accessLogs", func() error {
			var err error
			logins, next, err = t.api.GetAccessLogsContext(ctx, params)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, l := range logins {
			if ts := time.Unix(int64(l.DateLast), 0).UTC(); ts.After(last[l.UserID]) {
				last[l.UserID] = ts
			}
		}
		if next == "" {
			return last, nil
		}
		if next == params.Cursor {
			return nil, fmt.Errorf("slack: team.accessLogs: page %d returned the same cursor: listing would not end", page)
		}
		params.Cursor = next
	}
	t.log.Info("slack: team.accessLogs: stopped at access_logs_max_pages; older last logins are not known", "pages", t.cfg.AccessLogsMaxPages)
	return last, nil
}

// Account re-reads one user (users.info) with their user groups. Logins are
// not tracked on a re-read (the access logs are read per listing).
func (t *Target) Account(ctx context.Context, id string) (targets.Account, error) {
	u, err := t.userInfo(ctx, id)
	if err != nil {
		return targets.Account{}, err
	}
	if !listable(*u) {
		return targets.Account{}, fmt.Errorf("slack: user %s is a bot or an app, not listed: %w", id, targets.ErrNotFound)
	}
	groups, err := t.userGroups(ctx)
	if err != nil {
		return targets.Account{}, err
	}
	return t.account(*u, groups[u.ID], nil), nil
}

func (t *Target) userInfo(ctx context.Context, id string) (*slack.User, error) {
	var u *slack.User
	err := t.read(ctx, "users.info "+id, func() error {
		var err error
		u, err = t.api.GetUserInfoContext(ctx, id)
		return err
	})
	return u, err
}

// ---- capabilities ---------------------------------------------------------

// Capabilities lists what the config enables: disable only with a scim:
// block, revoke_sessions only with session_reset: true.
func (t *Target) Capabilities() []targets.Capability {
	c := []targets.Capability{targets.CanGet, targets.CanRemoveFromGroup}
	if t.scim != nil {
		c = append(c, targets.CanDisable)
	}
	if t.cfg.SessionReset {
		c = append(c, targets.CanRevokeSessions)
	}
	return c
}

// ErrNoSCIM is returned by Disable when the config has no scim: block.
var ErrNoSCIM = errors.New("slack: deactivating a user needs Slack's SCIM API (no scim: block in the config): a person must do it")

// ErrNoSessionReset is returned by RevokeSessions when the config does not
// say session_reset: true.
var ErrNoSessionReset = errors.New("slack: ending a user's sessions needs admin.users.session.reset (Enterprise Grid, scope admin.users:write; session_reset: false in the config): a person must do it")

// Disable deactivates the user through Slack's SCIM API (the scim.Target
// built from the scim: block; Slack's SCIM user ID is the user ID). Slack
// then signs the user out everywhere. A deactivated user stays deactivated
// (success); an unknown user wraps ErrNotFound.
func (t *Target) Disable(ctx context.Context, a targets.Account) error {
	if t.scim == nil {
		return ErrNoSCIM
	}
	if err := t.scim.Disable(ctx, targets.Account{ID: a.ID, Username: a.Username, Email: a.Email}); err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	return nil
}

// RevokeSessions wipes the user's sessions on every device
// (admin.users.session.reset). Only with session_reset: true.
func (t *Target) RevokeSessions(ctx context.Context, a targets.Account) error {
	if !t.cfg.SessionReset {
		return ErrNoSessionReset
	}
	form := url.Values{"user_id": {a.ID}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.base+"admin.users.session.reset", strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("slack: admin.users.session.reset: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := bearer{t}.Do(req)
	if err != nil {
		return t.wrap("admin.users.session.reset "+a.ID, err)
	}
	defer func() { _ = resp.Body.Close() }()
	var r slack.SlackResponse
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return targets.Transient(fmt.Errorf("slack: admin.users.session.reset %s: read body: %w", a.ID, err), 0)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("slack: admin.users.session.reset %s: decode: %w (%s)", a.ID, err, t.red.Excerpt(data))
	}
	if !r.Ok {
		return t.wrap("admin.users.session.reset "+a.ID, slack.SlackErrorResponse{Err: r.Error, Needed: r.Needed, Provided: r.Provided})
	}
	return nil
}

// RemoveFromGroup removes the user from one user group (g.ID is its id):
// it reads the group's members (usergroups.list) and writes them back
// without the user (usergroups.users.update). A user not in the group is
// success; an unknown user or group wraps ErrNotFound. Slack refuses an
// empty member list: removing a group's last member is an error that says
// to disable the group instead.
func (t *Target) RemoveFromGroup(ctx context.Context, a targets.Account, g targets.Group) error {
	if _, err := t.userInfo(ctx, a.ID); err != nil {
		return err
	}
	if _, err := t.userGroups(ctx); err != nil {
		return err
	}
	t.mu.Lock()
	grp, ok := t.groups[g.ID]
	t.mu.Unlock()
	if !ok {
		return fmt.Errorf("slack: user group %s (%s): %w", g.ID, g.Name, targets.ErrNotFound)
	}
	if !slices.Contains(grp.Users, a.ID) {
		return nil
	}
	rest := slices.DeleteFunc(slices.Clone(grp.Users), func(u string) bool { return u == a.ID })
	if len(rest) == 0 {
		return fmt.Errorf("slack: remove %s from user group %s (%s): it is the last member and Slack refuses an empty user group; disable the group (usergroups.disable) instead", a.ID, g.ID, g.Name)
	}
	_, err := t.api.UpdateUserGroupMembersContext(ctx, g.ID, strings.Join(rest, ","))
	return t.wrap("usergroups.users.update "+g.ID, err)
}

var (
	_ targets.Target         = (*Target)(nil)
	_ targets.Getter         = (*Target)(nil)
	_ targets.Disabler       = (*Target)(nil)
	_ targets.SessionRevoker = (*Target)(nil)
	_ targets.GroupRemover   = (*Target)(nil)
	_ targets.Configurable   = (*Target)(nil)
	_ targets.SecretConfig   = (*Config)(nil)
)
