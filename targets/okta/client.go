package okta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/upstream"
)

// authorizer puts credentials on a request. authorize returns a handle of
// what it used; invalidate(handle) drops a credential the server refused and
// reports whether retrying with a fresh one may help.
type authorizer interface {
	authorize(ctx context.Context, r *http.Request) (used string, err error)
	invalidate(used string) bool
	// secrets are every credential value that may appear in upstream text,
	// and a generation that changes when they do.
	secrets() (gen int, s []targets.Secret)
}

// ssws is Authorization: SSWS <API token>.
type ssws struct{ token targets.Secret }

func (a ssws) authorize(_ context.Context, r *http.Request) (string, error) {
	r.Header.Set("Authorization", "SSWS "+a.token.Reveal())
	return "", nil
}
func (ssws) invalidate(string) bool             { return false }
func (a ssws) secrets() (int, []targets.Secret) { return 0, []targets.Secret{a.token} }

// apiClient sends Management API requests: credentials, Okta's rate-limit
// headers, retries and error text (through upstream.Client), paging.
type apiClient struct {
	base  *url.URL
	auth  authorizer
	http  *http.Client // wrapped with the rate-limit transport
	log   *slog.Logger
	sleep func(ctx context.Context, d time.Duration) error
	now   func() time.Time

	mu     sync.Mutex
	gen    int
	client *upstream.Client
}

func newAPIClient(base *url.URL, auth authorizer, d deps, log *slog.Logger) *apiClient {
	hc := *d.http
	inner := hc.Transport
	if inner == nil {
		inner = http.DefaultTransport
	}
	hc.Transport = &rateTransport{base: inner, now: d.now, sleep: d.sleep, log: log, buckets: map[string]*bucket{}}
	return &apiClient{base: base, auth: auth, http: &hc, log: log, sleep: d.sleep, now: d.now, gen: -1}
}

// upstream returns the upstream client whose redactor knows every current
// credential (an OAuth access token changes every hour).
func (c *apiClient) upstream() *upstream.Client {
	gen, secrets := c.auth.secrets()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client == nil || gen != c.gen {
		c.client = &upstream.Client{
			HTTP:      c.http,
			Component: "", // callers prefix "okta: <what they did>: "
			Redactor:  targets.NewRedactor(secrets...),
			Sleep:     c.sleep,
			Now:       c.now,
		}
		c.gen = gen
	}
	return c.client
}

// redact scrubs text (a decoding error quoting a body, say) of credentials.
func (c *apiClient) redact(s string) string { return c.upstream().Redactor.Redact(s) }

// do sends one request to u (absolute, on the org) and returns the response
// of a 2xx answer; the caller closes its body. A 401 to an OAuth access token
// drops the token and retries once with a fresh one (it expired early or was
// revoked).
func (c *apiClient) do(ctx context.Context, method string, u *url.URL) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		used, err := c.auth.authorize(ctx, req)
		if err != nil {
			return nil, err
		}
		resp, err := c.upstream().Do(req)
		var se *upstream.StatusError
		if err != nil && attempt == 0 && errors.As(err, &se) && se.Code == http.StatusUnauthorized && c.auth.invalidate(used) {
			c.log.Info("okta: access token refused, fetching a new one", "path", u.Path)
			continue
		}
		return resp, err
	}
}

// url builds an org URL from a path and query.
func (c *apiClient) url(path string, q url.Values) *url.URL {
	u := *c.base
	u.Path = path
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return &u
}

// send performs a write (or a read whose body is not needed) and drains the answer.
func (c *apiClient) send(ctx context.Context, method, path string, q url.Values) error {
	resp, err := c.do(ctx, method, c.url(path, q))
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.Body.Close()
}

// get GETs u and decodes its JSON body into out; it returns the Link
// rel="next" URL, nil on the last page.
func (c *apiClient) get(ctx context.Context, u *url.URL, out any) (*url.URL, error) {
	resp, err := c.do(ctx, http.MethodGet, u)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, fmt.Errorf("GET %s: %w", u.Path, cerr)
		}
		return nil, fmt.Errorf("GET %s: decode response: %s", u.Path, c.redact(err.Error()))
	}
	return c.next(resp.Header.Values("Link"), u)
}

// next finds rel="next" in Link headers. A next link must stay on the org:
// the credentials go wherever it points.
func (c *apiClient) next(links []string, from *url.URL) (*url.URL, error) {
	for _, h := range links {
		for _, l := range splitLinks(h) {
			target, params, ok := strings.Cut(l, ";")
			if !ok {
				continue
			}
			isNext := false
			for _, p := range strings.Split(params, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "rel") && strings.EqualFold(strings.Trim(v, `"`), "next") {
					isNext = true
				}
			}
			if !isNext {
				continue
			}
			return c.sameOrg(strings.Trim(strings.TrimSpace(target), "<>"), from)
		}
	}
	return nil, nil
}

// sameOrg parses a next link and checks it points at the org.
func (c *apiClient) sameOrg(href string, from *url.URL) (*url.URL, error) {
	n, err := from.Parse(href)
	if err != nil {
		return nil, fmt.Errorf("GET %s: next link %q: %w", from.Path, href, err)
	}
	if n.Scheme != c.base.Scheme || n.Host != c.base.Host {
		return nil, fmt.Errorf("GET %s: next link leads off the org (%s://%s): refusing to send credentials there", from.Path, n.Scheme, n.Host)
	}
	return n, nil
}

// splitLinks splits a Link header value on the commas between links (a
// comma inside <…> belongs to the URL).
func splitLinks(h string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range h {
		switch r {
		case '<':
			depth++
		case '>':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, h[start:i])
				start = i + 1
			}
		}
	}
	return append(out, h[start:])
}

// ---- rate limits ----------------------------------------------------------

// rateTransport reads Okta's X-Rate-Limit-Limit/-Remaining/-Reset on every
// response, per endpoint, and before the next request to that endpoint waits
// when the budget is spent (until the reset) or nearly spent (spreading the
// rest over the window), so that a listing slows down instead of hitting
// 429. A 429 without Retry-After gets one from X-Rate-Limit-Reset, so the
// upstream client's retry waits for the window to reset.
type rateTransport struct {
	base  http.RoundTripper
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	log   *slog.Logger

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	limit, remaining int
	reset            time.Time
}

// reserve is the share of a window's budget kept for others (other runs,
// other integrations using the same token): below it, requests are spread.
const reserve = 10 // percent

// resetMargin is added to Okta's reset time against clock skew.
const resetMargin = time.Second

// maxPace caps one wait before a request.
const maxPace = 65 * time.Second

func (t *rateTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	key := bucketKey(r.Method, r.URL.Path)
	if wait := t.pace(key); wait > 0 {
		t.log.Debug("okta: rate limit nearly spent, waiting", "endpoint", key, "wait", wait)
		if err := t.sleep(r.Context(), wait); err != nil {
			return nil, err
		}
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	t.record(key, resp)
	return resp, nil
}

// pace returns how long to wait before a request to key, and counts it.
func (t *rateTransport) pace(key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buckets[key]
	if b == nil || b.limit <= 0 {
		return 0
	}
	now := t.now()
	left := b.reset.Add(resetMargin).Sub(now)
	if left <= 0 {
		return 0 // a new window
	}
	var wait time.Duration
	switch {
	case b.remaining <= 0:
		wait = left
	case b.remaining*100 < b.limit*reserve:
		wait = left / time.Duration(b.remaining+1)
	}
	b.remaining--
	return min(wait, maxPace)
}

func (t *rateTransport) record(key string, resp *http.Response) {
	limit, err1 := strconv.Atoi(resp.Header.Get("X-Rate-Limit-Limit"))
	remaining, err2 := strconv.Atoi(resp.Header.Get("X-Rate-Limit-Remaining"))
	reset, err3 := strconv.ParseInt(resp.Header.Get("X-Rate-Limit-Reset"), 10, 64)
	if err3 == nil && resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
		wait := time.Unix(reset, 0).Add(resetMargin).Sub(t.now())
		resp.Header.Set("Retry-After", strconv.Itoa(max(1, int((wait+time.Second-1)/time.Second))))
	}
	if err1 != nil || err2 != nil || err3 != nil {
		return
	}
	t.mu.Lock()
	t.buckets[key] = &bucket{limit: limit, remaining: remaining, reset: time.Unix(reset, 0)}
	t.mu.Unlock()
}

// pathWords are the fixed segments of the routes used; any other segment is
// an ID, so /api/v1/users/00u1/groups and /api/v1/users/00u2/groups share a
// bucket as they do at Okta.
var pathWords = map[string]bool{
	"api": true, "v1": true, "users": true, "groups": true, "roles": true, "lifecycle": true,
	"suspend": true, "deactivate": true, "sessions": true, "grants": true, "iam": true,
	"assignees": true, "api-tokens": true,
}

func bucketKey(method, path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for i, p := range parts {
		if !pathWords[p] {
			parts[i] = "*"
		}
	}
	return method + " /" + strings.Join(parts, "/")
}
