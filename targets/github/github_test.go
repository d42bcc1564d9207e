package github

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/github/githubfake"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

func testLogger(testing.TB) *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type env struct {
	fake   *githubfake.GitHub
	target *Target
	mu     sync.Mutex
	sleeps []time.Duration
}

// newEnv starts a seeded fake behind the package's Prism and a target over
// it; edit may change the config (org, token and URLs are set).
func newEnv(t *testing.T, edit func(*Config), seedFn func(*githubfake.GitHub)) *env {
	t.Helper()
	f := githubfake.New(testOrg, testToken)
	if seedFn == nil {
		seed(f, time.Now())
	} else {
		seedFn(f)
	}
	base, client := useProxy(t, f)
	// GraphQL is not in the REST description: it goes to the fake directly
	// (held to GitHub's GraphQL schema by graphql_test.go).
	gql := newDirect(t, f)
	cfg := Config{Org: testOrg, BaseURL: base + "/", GraphQLURL: gql + "/graphql", Token: testToken, PageSize: 2,
		OutsideCollaborators: true}
	if edit != nil {
		edit(&cfg)
	}
	tg, err := New(cfg, testLogger(t), WithHTTPClient(client))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{fake: f, target: tg}
	tg.http.Sleep = func(ctx context.Context, d time.Duration) error {
		e.mu.Lock()
		e.sleeps = append(e.sleeps, d)
		e.mu.Unlock()
		return ctx.Err()
	}
	return e
}

func listAll(t *testing.T, tg targets.Target) []targets.Account {
	t.Helper()
	var out []targets.Account
	for a, err := range tg.Accounts(t.Context()) {
		if err != nil {
			t.Fatalf("listing: %v", err)
		}
		out = append(out, a)
	}
	return out
}

func byLogin(as []targets.Account) map[string]targets.Account {
	m := map[string]targets.Account{}
	for _, a := range as {
		m[a.Username] = a
	}
	return m
}

func TestConformance(t *testing.T) {
	targettest.Run(t, func(t *testing.T) targettest.Fixture {
		e := newEnv(t, func(c *Config) { c.AllowRemoveMember = true }, nil)
		return targettest.Fixture{Target: e.target, Enabled: []string{"101", "102"}, MinAccounts: 5}
	})
}

func TestListingMapsMembers(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	e := newEnv(t, nil, func(f *githubfake.GitHub) { seed(f, now) })
	got := byLogin(listAll(t, e.target))
	if len(got) != 5 {
		t.Fatalf("listed %v, want amira, bilal, carmen, nosaml, outsider (not the invited user, not a stranger)", slices.Sorted(func(y func(string) bool) {
			for l := range got {
				y(l)
			}
		}))
	}
	a := got["amira"]
	if a.ID != "101" || a.Email != "amira@example.com" || a.EmployeeID != "" || !a.Enabled || a.Privileged || a.LoginTracked {
		t.Errorf("amira = %+v", a)
	}
	if want := []targets.Group{{ID: "engineering", Name: "Engineering"}, {ID: "on-call", Name: "On-call"}}; !slices.Equal(a.Groups, want) {
		t.Errorf("amira's teams %v, want %v", a.Groups, want)
	}
	if len(a.Credentials) != 2 {
		t.Fatalf("amira's credentials %+v, want 2", a.Credentials)
	}
	pat, ssh := a.Credentials[0], a.Credentials[1]
	if pat.Kind != "github_personal_access_token" || !pat.LastUsed.IsZero() || !pat.Active || !pat.Created.Equal(now.Add(-400*24*time.Hour)) {
		t.Errorf("never-used PAT = %+v", pat)
	}
	if ssh.Kind != "github_ssh_key" || !ssh.LastUsed.Equal(now.Add(-24*time.Hour)) {
		t.Errorf("SSH key used yesterday = %+v", ssh)
	}
	if !got["carmen"].Privileged {
		t.Error("owner carmen not privileged")
	}
	// A member without a SAML identity is listed with nothing to match a
	// person by: reconcile reports them for review, never revokes them.
	if n := got["nosaml"]; n.Email != "" || n.EmployeeID != "" || !n.Enabled {
		t.Errorf("nosaml = %+v, want enabled with no email and no employee ID", n)
	}
	if o := got["outsider"]; !o.Enabled || o.Privileged || len(o.Groups) != 0 {
		t.Errorf("outsider = %+v", o)
	}
}

func TestSAMLNameIDAsEmployeeID(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SAMLNameID = "employee_id" }, func(f *githubfake.GitHub) {
		f.AddMember(101, "amira", "member", "E00101")
	})
	a := byLogin(listAll(t, e.target))["amira"]
	if a.EmployeeID != "E00101" || a.Email != "" {
		t.Fatalf("amira = %+v", a)
	}
}

func TestLinksFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "links.csv")
	if err := os.WriteFile(path, []byte("login,employee_id,email\nAmira,E00101,amira@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *Config) { c.Identity, c.LinksFile = "links_file", path }, nil)
	got := byLogin(listAll(t, e.target))
	if a := got["amira"]; a.EmployeeID != "E00101" || a.Email != "amira@example.com" {
		t.Fatalf("amira = %+v", a)
	}
	if b := got["bilal"]; b.EmployeeID != "" || b.Email != "" {
		t.Fatalf("bilal (not in the links file) = %+v", b)
	}
	if n := e.fake.GraphQL.Load(); n != 0 {
		t.Fatalf("GraphQL called %d times with identity: links_file", n)
	}
	dup := filepath.Join(t.TempDir(), "dup.csv")
	_ = os.WriteFile(dup, []byte("login,employee_id\namira,1\nAMIRA,2\n"), 0o600)
	if _, err := New(Config{Org: "acme", Token: "x", Identity: "links_file", LinksFile: dup}, testLogger(t)); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("a login listed twice: %v", err)
	}
}

func TestOrganisationWithoutSAML(t *testing.T) {
	e := newEnv(t, nil, func(f *githubfake.GitHub) { seed(f, time.Now()); f.SAML = false })
	before := e.fake.Calls.Load()
	for _, a := range listAll(t, e.target) {
		if a.Email != "" || len(a.Credentials) != 0 {
			t.Fatalf("%s linked or with credentials without SAML SSO: %+v", a.Username, a)
		}
	}
	if e.fake.Calls.Load() == before {
		t.Fatal("no calls")
	}
}

func TestPagingAcrossPages(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.OutsideCollaborators = false }, func(f *githubfake.GitHub) {
		for i := range 7 {
			f.AddMember(int64(300+i), fmt.Sprintf("user%d", i), "member", fmt.Sprintf("user%d@example.com", i))
		}
	})
	var pages []string
	var mu sync.Mutex
	e.fake.Fail = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/orgs/acme/members" && r.URL.Query().Get("role") == "all" {
			mu.Lock()
			pages = append(pages, r.URL.Query().Get("page"))
			mu.Unlock()
		}
		return false
	}
	got := byLogin(listAll(t, e.target))
	if len(got) != 7 || got["user6"].Email != "user6@example.com" {
		t.Fatalf("listed %d: %v", len(got), got)
	}
	if !slices.Equal(pages, []string{"1", "2", "3", "4"}) {
		t.Fatalf("member pages asked %v, want 1-4 (7 members, 2 per page)", pages)
	}
	if n := e.fake.GraphQL.Load(); n != 4 {
		t.Fatalf("GraphQL pages %d, want 4 (7 identities, 2 per page)", n)
	}
}

func TestThrottlingIsWaitedFor(t *testing.T) {
	e := newEnv(t, nil, nil)
	var mu sync.Mutex
	n := 0
	e.fake.Fail = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/orgs/acme/members" || r.URL.Query().Get("role") != "all" {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		n++
		switch n {
		case 1: // secondary rate limit
			w.Header().Set("Retry-After", "7")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest"}`)
			return true
		case 2:
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		case 3: // primary rate limit: wait until the reset
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(5*time.Second).Unix(), 10))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"message":"API rate limit exceeded for installation ID 1.","documentation_url":"https://docs.github.com/rest"}`)
			return true
		}
		return false
	}
	if got := listAll(t, e.target); len(got) != 5 {
		t.Fatalf("listed %d after throttling, want 5", len(got))
	}
	if len(e.sleeps) != 3 || e.sleeps[0] != 7*time.Second || e.sleeps[1] != 3*time.Second ||
		e.sleeps[2] < 4*time.Second || e.sleeps[2] > 7*time.Second {
		t.Fatalf("waits %v, want 7s and 3s (retry-after) then about 5s (until x-ratelimit-reset)", e.sleeps)
	}
}

func TestPlainForbiddenIsNotRetried(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.fake.Fail = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/orgs/acme/teams" {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest"}`)
		return true
	}
	var err error
	for _, e := range e.target.Accounts(t.Context()) {
		err = e
	}
	if !errors.Is(err, targets.ErrPermission) || len(e.sleeps) != 0 {
		t.Fatalf("403 without rate-limit headers: %v after waits %v, want ErrPermission at once", err, e.sleeps)
	}
}

func TestCredentialEchoIsRedacted(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.fake.Fail = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/orgs/acme/teams" {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintf(w, `{"message":"bad token %s (%s) basic %s"}`, r.Header.Get("Authorization"), testToken,
			base64.StdEncoding.EncodeToString([]byte("x-access-token:"+testToken)))
		return true
	}
	var err error
	for _, e := range e.target.Accounts(t.Context()) {
		err = e
	}
	if err == nil {
		t.Fatal("listing succeeded against an error")
	}
	for _, leak := range []string{testToken, "SECRETTOKEN", base64.StdEncoding.EncodeToString([]byte("x-access-token:" + testToken))} {
		if strings.Contains(err.Error(), leak) {
			t.Fatalf("error carries the token (%q): %v", leak, err)
		}
	}
}

// A removal the config does not allow is not offered: the executor makes it
// a manual step, and Disable sends nothing.
func TestRemovalNotAllowedIsManual(t *testing.T) {
	e := newEnv(t, nil, nil) // allow_remove_member: false
	caps := targets.Resolve(e.target)
	if caps.Disabler != nil {
		t.Fatal("disable (removal from the organisation) offered without allow_remove_member")
	}
	if caps.CredentialRevoker == nil || caps.GroupRemover == nil || caps.Getter == nil {
		t.Fatalf("capabilities %v", caps.List())
	}
	before := e.fake.Calls.Load()
	if err := e.target.Disable(t.Context(), targets.Account{ID: "101", Username: "amira"}); !errors.Is(err, ErrRemovalNotAllowed) {
		t.Fatalf("Disable: %v", err)
	}
	if e.fake.Calls.Load() != before || !e.fake.IsMember("amira") {
		t.Fatal("Disable talked to GitHub or removed the member although not allowed")
	}
}

func TestRemovalWhenAllowed(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.AllowRemoveMember = true }, nil)
	got := byLogin(listAll(t, e.target))
	for _, login := range []string{"amira", "outsider"} {
		if err := e.target.Disable(t.Context(), got[login]); err != nil {
			t.Fatalf("remove %s: %v", login, err)
		}
	}
	after := byLogin(listAll(t, e.target))
	if _, ok := after["amira"]; ok {
		t.Fatal("amira still listed after removal")
	}
	if _, ok := after["outsider"]; ok {
		t.Fatal("outside collaborator still listed after removal")
	}
	if len(after) != 3 {
		t.Fatalf("%d left, want 3: nobody else touched", len(after))
	}
}

func TestRevokeCredentialAndRemoveFromTeam(t *testing.T) {
	e := newEnv(t, nil, nil)
	a := byLogin(listAll(t, e.target))["amira"]
	if err := e.target.RevokeCredential(t.Context(), a, a.Credentials[0]); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.CredCount("amira"); n != 1 {
		t.Fatalf("amira has %d credential authorizations, want 1", n)
	}
	if err := e.target.RevokeCredential(t.Context(), targets.Account{ID: "999999"}, targets.Credential{ID: "1"}); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("revoke for an unknown user: %v, want ErrNotFound", err)
	}
	if err := e.target.RemoveFromGroup(t.Context(), a, targets.Group{ID: "no-such-team", Name: "Gone"}); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("removal from an unknown team: %v, want ErrNotFound", err)
	}
	b := byLogin(listAll(t, e.target))["bilal"]
	if err := e.target.RemoveFromGroup(t.Context(), b, targets.Group{ID: "on-call", Name: "On-call"}); err != nil {
		t.Fatalf("removal from a team bilal is not in: %v, want success", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, c := range []Config{
		{Token: "x"},
		{Org: "acme"},
		{Org: "acme", Token: "x", BaseURL: "ftp://x"},
		{Org: "acme", Token: "x", Identity: "ldap"},
		{Org: "acme", Token: "x", SAMLNameID: "upn"},
		{Org: "acme", Token: "x", Identity: "links_file"},
		{Org: "acme", Token: "x", PageSize: 101},
	} {
		if _, err := New(c, testLogger(t)); err == nil {
			t.Errorf("New accepted %+v", c)
		}
	}
	tg, err := New(Config{Org: "acme", Token: "x", BaseURL: "https://ghe.example.com/api/v3/"}, testLogger(t))
	if err != nil || tg.gqlURL != "https://ghe.example.com/api/graphql" {
		t.Fatalf("GHES graphql URL %q (%v)", tg.gqlURL, err)
	}
}

// newDirect serves h on its own loopback listener (no proxy).
func newDirect(t *testing.T, h http.Handler) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

// A listing that fails part-way (members page 2 keeps failing) ends with an
// error after the accounts already yielded: it never looks complete.
func TestFailureMidListing(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.OutsideCollaborators = false }, nil)
	e.fake.Fail = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/orgs/acme/members" && r.URL.Query().Get("role") == "all" && r.URL.Query().Get("page") == "2" {
			w.WriteHeader(http.StatusBadGateway)
			return true
		}
		return false
	}
	n := 0
	var err error
	for _, e := range e.target.Accounts(t.Context()) {
		if e != nil {
			err = e
			break
		}
		n++
	}
	var te *targets.TransientError
	if n != 2 || !errors.As(err, &te) {
		t.Fatalf("yielded %d accounts then %v, want 2 then a transient error", n, err)
	}
	if len(e.sleeps) != 4 {
		t.Fatalf("waits %v, want 4 retries of the failing page", e.sleeps)
	}
}

// An expired or revoked token is a permission error at once, not retried.
func TestExpiredToken(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.fake.Token = "ghs_a-newer-installation-token"
	var err error
	for _, e := range e.target.Accounts(t.Context()) {
		err = e
	}
	if !errors.Is(err, targets.ErrPermission) || len(e.sleeps) != 0 {
		t.Fatalf("listing with a stale token: %v (waits %v), want ErrPermission at once", err, e.sleeps)
	}
}
