// Package jira turns the exceptions of a finished reconciliation run into
// Jira tickets for IT: one ticket per finding fingerprint that needs a person
// (manual_revoke, review, and auto_revoke findings whose revocation failed),
// never a duplicate, commented when the evidence changes, closed when a later
// run sees the problem gone and reopened when it returns.
//
// Tickets are found again through the label accessrecon-<fingerprint>, so the
// label search — not local state — is the truth about which ticket tracks a
// problem: losing the local store never creates a duplicate. The hash of the
// content last sent is kept in the ticket's label set too
// (accessrecon-h-<hash>), so an unchanged finding costs nothing but its share
// of the batched label search.
//
// Work that could not be sent (Jira down, throttled beyond the retry budget)
// stays in an Outbox and is sent by the next Sync: a Jira outage never fails a
// run.
package jira

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	gojira "github.com/andygrunwald/go-jira"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/upstream"
)

// Config is the reports.jira section of schedule.yaml.
type Config struct {
	// URL is the Jira base URL, e.g. https://example.atlassian.net.
	URL string `yaml:"url"`
	// Project is the project key tickets are created in.
	Project string `yaml:"project"`
	// IssueType of new tickets (default Task).
	IssueType string `yaml:"issue_type"`
	// UserEnv names the environment variable holding the user (Cloud: the
	// account's email) for basic auth.
	UserEnv string `yaml:"user_env"`
	// TokenEnv or TokenFile holds the API token (basic) or personal access
	// token (pat).
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
	// User and Token are filled in by the wiring from the keys above (tests
	// set them directly).
	User  targets.Secret `yaml:"-"`
	Token targets.Secret `yaml:"-"`
	// Auth is basic (Cloud: email + API token, the default) or pat (Data
	// Center personal access token, sent as a bearer token).
	Auth string `yaml:"auth"`
	// DoneTransition is the name of the transition that closes a ticket
	// (default Done); ReopenTransition the one that reopens it (default
	// Reopen). When a closed ticket cannot be reopened, a new one is created
	// and linked to it ("relates to").
	DoneTransition   string `yaml:"done_transition"`
	ReopenTransition string `yaml:"reopen_transition"`
	// Labels are added to every ticket besides accessrecon's own.
	Labels []string `yaml:"labels"`
	// PriorityBySeverity maps a finding severity (critical, high, medium,
	// low) to a Jira priority name; unmapped severities get the project's
	// default priority.
	PriorityBySeverity map[string]string `yaml:"priority_by_severity"`
	// Component, when set, is put on every ticket.
	Component string `yaml:"component"`
	// AssigneeByTarget maps a target name to the assignee: an account ID on
	// Cloud (search_api jql), a user name on Server/Data Center (legacy).
	AssigneeByTarget map[string]string `yaml:"assignee_by_target"`
	// SearchAPI is jql (GET /rest/api/2/search/jql, Jira Cloud, the default)
	// or legacy (GET /rest/api/2/search, Server/Data Center).
	SearchAPI string `yaml:"search_api"`
	// RunURL, when set, is the prefix of a link to the run's evidence; the
	// run ID is appended (or replaces {run} when the prefix contains it).
	RunURL string `yaml:"run_url"`
	// Timeout bounds each HTTP request (default 30s).
	Timeout time.Duration `yaml:"timeout"`
	// MaxRetries bounds the retries of a throttled (429) or failing (5xx)
	// search, or of a write refused with 429 (default 3); MaxRetryWait caps
	// one wait, whatever Retry-After asks (default 1m).
	MaxRetries   int           `yaml:"max_retries"`
	MaxRetryWait time.Duration `yaml:"max_retry_wait"`
}

// Client files and maintains tickets in one Jira project.
type Client struct {
	cfg Config
	api *gojira.Client
	log *slog.Logger
	// http sends every request go-jira makes (auth, retries, redacted
	// errors); tests replace its Sleep.
	http *upstream.Client
	// now is the wall clock for Op.Queued.
	now func() time.Time
	// redactor scrubs the credentials from Jira's error text.
	redactor *targets.Redactor
}

// SecretFields asks the wiring for the token and, with basic auth, the user.
func (c *Config) SecretFields() []targets.SecretField {
	f := []targets.SecretField{{Key: "token", Env: c.TokenEnv, File: c.TokenFile, Value: &c.Token}}
	if c.UserEnv != "" {
		f = append(f, targets.SecretField{Key: "user", Env: c.UserEnv, Value: &c.User})
	}
	return f
}

// The search APIs and auth schemes.
const (
	SearchJQL    = "jql"
	SearchLegacy = "legacy"
	AuthBasic    = "basic"
	AuthPAT      = "pat"
)

// New validates the configuration, resolves the credentials and returns a
// client. It sends nothing.
func New(cfg Config, log *slog.Logger) (*Client, error) {
	if log == nil {
		return nil, errors.New("jira: nil logger")
	}
	cfg.IssueType = cmp.Or(cfg.IssueType, "Task")
	cfg.Auth = cmp.Or(cfg.Auth, AuthBasic)
	cfg.SearchAPI = cmp.Or(cfg.SearchAPI, SearchJQL)
	cfg.DoneTransition = cmp.Or(cfg.DoneTransition, "Done")
	cfg.ReopenTransition = cmp.Or(cfg.ReopenTransition, "Reopen")
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 3
	}
	if cfg.MaxRetryWait == 0 {
		cfg.MaxRetryWait = time.Minute
	}
	if cfg.URL == "" {
		return nil, errors.New("jira: url: required")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("jira: url: %q is not an http(s) URL", cfg.URL)
	}
	if cfg.Project == "" {
		return nil, errors.New("jira: project: required")
	}
	if strings.ContainsAny(cfg.Project, "\" ") {
		return nil, fmt.Errorf("jira: project: %q is not a project key", cfg.Project)
	}
	if cfg.SearchAPI != SearchJQL && cfg.SearchAPI != SearchLegacy {
		return nil, fmt.Errorf("jira: search_api: %q is not jql or legacy", cfg.SearchAPI)
	}
	if cfg.Timeout < 0 || cfg.MaxRetries < 0 || cfg.MaxRetryWait < 0 {
		return nil, errors.New("jira: timeout, max_retries and max_retry_wait must not be negative")
	}
	for i, l := range cfg.Labels {
		if l == "" || strings.ContainsAny(l, " \t\n") {
			return nil, fmt.Errorf("jira: labels[%d]: %q: a label has no spaces", i, l)
		}
	}
	for sev := range cfg.PriorityBySeverity {
		switch reconcile.Severity(sev) {
		case reconcile.Critical, reconcile.High, reconcile.Medium, reconcile.Low:
		default:
			return nil, fmt.Errorf("jira: priority_by_severity: unknown severity %q", sev)
		}
	}
	if cfg.TokenEnv != "" && cfg.TokenFile != "" {
		return nil, errors.New("jira: token_env and token_file: set only one")
	}
	token := cfg.Token
	if token == "" {
		return nil, errors.New("jira: token_env or token_file: required")
	}
	base := &http.Transport{Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: cfg.Timeout, TLSHandshakeTimeout: cfg.Timeout}
	var rt http.RoundTripper
	switch cfg.Auth {
	case AuthBasic:
		if cfg.UserEnv == "" {
			return nil, errors.New("jira: user_env: required with auth basic")
		}
		user := cfg.User
		if user == "" {
			return nil, errors.New("jira: user_env: not resolved")
		}
		rt = &gojira.BasicAuthTransport{Username: user.Reveal(), Password: token.Reveal(), Transport: base}
	case AuthPAT:
		rt = &gojira.PATAuthTransport{Token: token.Reveal(), Transport: base}
	default:
		return nil, fmt.Errorf("jira: auth: %q is not basic or pat", cfg.Auth)
	}
	log = log.With("report", "jira", "project", cfg.Project)
	red := targets.NewRedactor(token, cfg.User+":"+token)
	up := &upstream.Client{
		// Timeout bounds each attempt, not the waits between them.
		HTTP:     &http.Client{Transport: rt, Timeout: cfg.Timeout},
		Redactor: red,
		Retries:  cfg.MaxRetries,
		MaxWait:  cfg.MaxRetryWait,
		// A write refused with 429 was not processed: sending it again
		// cannot duplicate a ticket. After a 5xx it may have been, so it
		// goes to the Outbox, whose next Sync searches before it writes.
		Resend: func(_ *http.Request, code int) bool { return code == http.StatusTooManyRequests },
		Log:    log,
	}
	api, err := gojira.NewClient(&http.Client{Transport: retrying{up}}, cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("jira: url: %w", err)
	}
	return &Client{cfg: cfg, api: api, log: log, http: up, now: time.Now, redactor: red}, nil
}

// retrying adapts upstream.Client (retries with Retry-After and backoff, a
// status >= 400 turned into a redacted *upstream.StatusError) to the
// http.RoundTripper go-jira's *http.Client needs.
type retrying struct{ c *upstream.Client }

func (rt retrying) RoundTrip(req *http.Request) (*http.Response, error) { return rt.c.Do(req) }

// errUnavailable marks a request that failed transiently after every retry.
var errUnavailable = errors.New("jira unavailable")

// ErrDeferred is wrapped by Sync's error when work was left in the Outbox for
// the next run because Jira was unavailable. It is not a reason to fail a
// run.
var ErrDeferred = errors.New("jira: work deferred to the next run")

// call runs one API request; the HTTP client under go-jira has retried 429,
// 5xx and network failures of reads (and 429 of writes) with Retry-After
// honoured (capped at MaxRetryWait) up to MaxRetries times. A request that
// still fails transiently returns an error wrapping errUnavailable.
func (c *Client) call(ctx context.Context, what string, fn func() (*gojira.Response, error)) error {
	resp, err := fn()
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("jira: %s: %w", what, ctx.Err())
	}
	// The status error, not go-jira's url.Error around it (which repeats
	// the URL); redacted again, cut short, in case go-jira's own text (a
	// decoding error) echoes the request.
	text := err.Error()
	var se *upstream.StatusError
	if errors.As(err, &se) {
		text = se.Error()
	}
	msg := c.redactor.Excerpt([]byte(text))
	var te *targets.TransientError
	if errors.As(err, &te) {
		return fmt.Errorf("jira: %s: %w: %s", what, errUnavailable, msg)
	}
	return fmt.Errorf("jira: %s: %s", what, msg)
}

// ticket is what a label search tells about an existing ticket.
type ticket struct {
	ID, Key string
	Labels  []string
	Done    bool // status category done
	Status  string
}

func (t ticket) hash() string {
	for _, l := range t.Labels {
		if h, ok := strings.CutPrefix(l, hashLabelPrefix); ok {
			return h
		}
	}
	return ""
}

// numericID orders tickets by creation: a later ticket has a larger ID.
func (t ticket) numericID() int64 {
	n, _ := strconv.ParseInt(t.ID, 10, 64)
	return n
}

const (
	labelPrefix     = "accessrecon-"
	hashLabelPrefix = "accessrecon-h-"
	searchChunk     = 50
)

// FingerprintLabel is the label that finds a fingerprint's ticket again.
func FingerprintLabel(fp string) string { return labelPrefix + fp }

// search finds the tickets of the given fingerprints with batched label
// searches (50 labels a query), and returns, per fingerprint, the ticket
// that tracks it: the open one if any, else the newest.
func (c *Client) search(ctx context.Context, fps []string) (map[string]ticket, error) {
	out := map[string]ticket{}
	for chunk := range slices.Chunk(fps, searchChunk) {
		quoted := make([]string, len(chunk))
		want := map[string]string{}
		for i, fp := range chunk {
			quoted[i] = strconv.Quote(FingerprintLabel(fp))
			want[FingerprintLabel(fp)] = fp
		}
		jql := fmt.Sprintf("project = %q AND labels in (%s) ORDER BY created ASC", c.cfg.Project, strings.Join(quoted, ", "))
		err := c.searchJQL(ctx, jql, func(is gojira.Issue) {
			t := ticket{ID: is.ID, Key: is.Key}
			if is.Fields != nil {
				t.Labels = is.Fields.Labels
				if is.Fields.Status != nil {
					t.Status = is.Fields.Status.Name
					t.Done = is.Fields.Status.StatusCategory.Key == gojira.StatusCategoryComplete
				}
			}
			for _, l := range t.Labels {
				fp, ok := want[l]
				if !ok {
					continue
				}
				old, seen := out[fp]
				if !seen || (old.Done && !t.Done) || (old.Done == t.Done && t.numericID() > old.numericID()) {
					out[fp] = t
				}
			}
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// searchJQL pages through one query with the configured search API.
func (c *Client) searchJQL(ctx context.Context, jql string, yield func(gojira.Issue)) error {
	fields := []string{"labels", "status"}
	if c.cfg.SearchAPI == SearchLegacy {
		start := 0
		for {
			var page []gojira.Issue
			var total int
			err := c.call(ctx, "search", func() (*gojira.Response, error) {
				is, resp, err := c.api.Issue.SearchWithContext(ctx, jql, &gojira.SearchOptions{StartAt: start, MaxResults: 100, Fields: fields})
				page = is
				if resp != nil {
					total = resp.Total
				}
				return resp, err
			})
			if err != nil {
				return err
			}
			for _, is := range page {
				yield(is)
			}
			start += len(page)
			if len(page) == 0 || start >= total {
				return nil
			}
		}
	}
	token := ""
	for {
		var page []gojira.Issue
		var next string
		var last bool
		err := c.call(ctx, "search", func() (*gojira.Response, error) {
			is, resp, err := c.api.Issue.SearchV2JQLWithContext(ctx, jql, &gojira.SearchOptionsV2{NextPageToken: token, MaxResults: 100, Fields: fields})
			page = is
			if resp != nil {
				next, last = resp.NextPageToken, resp.IsLast
			}
			return resp, err
		})
		if err != nil {
			return err
		}
		for _, is := range page {
			if is.Key == "" {
				return errors.New("jira: search: issue without key in the answer")
			}
			yield(is)
		}
		if next == "" || last {
			return nil
		}
		token = next
	}
}
