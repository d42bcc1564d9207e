package slack

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/scim"
	"github.com/accessrecon/accessrecon/targets/slack/slackfake"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type env struct {
	fake   *slackfake.Slack
	target *Target
	sleeps []time.Duration
	mu     sync.Mutex
}

// newEnv starts a seeded fake behind the package's Prism (the Web API) and
// on a plain listener (SCIM), and a target over both. edit may change the
// config (the token and URLs are set).
func newEnv(t *testing.T, edit func(*Config), seedFn func(*slackfake.Slack)) *env {
	t.Helper()
	f := slackfake.New(testToken, testSCIMToken)
	if seedFn == nil {
		seed(f, time.Now())
	} else {
		seedFn(f)
	}
	base, client := proxy.Use(t, f)
	scimSrv := httptest.NewServer(f.SCIMHandler())
	t.Cleanup(scimSrv.Close)
	cfg := Config{
		APIURL:     base + "/",
		Token:      testToken,
		PageSize:   3,
		AccessLogs: true,
		SCIM: scim.Config{
			BaseURL: scimSrv.URL + "/scim/v2", Auth: "bearer", Disable: "delete", TokenEnv: "ACCESSRECON_TEST_SLACK_SCIM_TOKEN", Token: testSCIMToken,
		},
	}
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

func byID(as []targets.Account) map[string]targets.Account {
	m := map[string]targets.Account{}
	for _, a := range as {
		m[a.ID] = a
	}
	return m
}

func TestConformance(t *testing.T) {
	targettest.Run(t, func(t *testing.T) targettest.Fixture {
		e := newEnv(t, func(c *Config) { c.SessionReset = true }, func(f *slackfake.Slack) {
			seed(f, time.Now())
			f.ResetAllowed = true
		})
		return targettest.Fixture{Target: e.target, Enabled: []string{"U00000001", "U00000002"}, MinAccounts: 6}
	})
}

func TestListingMapsUsers(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	e := newEnv(t, nil, func(f *slackfake.Slack) { seed(f, now) })
	as := listAll(t, e.target)
	got := byID(as)
	if len(as) != 6 {
		t.Fatalf("listed %d accounts, want 6 (bot and Slackbot left out): %v", len(as), slices.Collect(func(y func(string) bool) {
			for _, a := range as {
				y(a.ID)
			}
		}))
	}
	for _, id := range []string{"U00000006", "USLACKBOT"} {
		if _, ok := got[id]; ok {
			t.Errorf("%s (a bot) listed", id)
		}
	}
	a := got["U00000001"]
	if a.Username != "amira" || a.Email != "amira@example.com" || a.DisplayName != "Amira Haddad" || !a.Enabled || a.Privileged {
		t.Errorf("U00000001 = %+v", a)
	}
	if !a.LoginTracked || !a.LastLogin.Equal(now.Add(-24*time.Hour)) {
		t.Errorf("U00000001 last login %v (tracked %v), want %v: the latest access log entry", a.LastLogin, a.LoginTracked, now.Add(-24*time.Hour))
	}
	if want := []targets.Group{{ID: "S00000001", Name: "Engineering"}, {ID: "S00000002", Name: "On-call"}}; !slices.Equal(a.Groups, want) {
		t.Errorf("U00000001 groups %v, want %v", a.Groups, want)
	}
	if g := got["U00000003"]; !g.Privileged {
		t.Error("admin U00000003 not privileged")
	}
	if g := got["U00000004"]; !g.Privileged {
		t.Error("primary owner U00000004 not privileged")
	}
	if g := got["W00000007"]; !g.Privileged {
		t.Error("owner W00000007 not privileged")
	}
	if g := got["U00000005"]; g.Enabled {
		t.Error("deleted user U00000005 listed as enabled")
	}
	if g := got["U00000005"]; !g.LoginTracked || !g.LastLogin.IsZero() {
		t.Errorf("U00000005 has no access log entry: want tracked and never, got %v %v", g.LoginTracked, g.LastLogin)
	}
}

func TestNoAccessLogsMeansLoginsUntracked(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.AccessLogs = false }, nil)
	for _, a := range listAll(t, e.target) {
		if a.LoginTracked || !a.LastLogin.IsZero() {
			t.Fatalf("%s: logins tracked without access_logs: %+v", a.ID, a)
		}
	}
	if n := e.fake.Count("team.accessLogs"); n != 0 {
		t.Fatalf("team.accessLogs called %d times with access_logs: false", n)
	}
}

func TestPagingAcrossPages(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.PageSize = 2 }, func(f *slackfake.Slack) {
		for i := range 9 {
			f.AddUser(slackfake.User{ID: fmt.Sprintf("U1%08d", i), Name: fmt.Sprintf("user%d", i), Email: fmt.Sprintf("user%d@example.com", i), RealName: "User"})
		}
		for i := range 5 {
			f.AddLogin(fmt.Sprintf("U1%08d", i), time.Now().Add(-time.Duration(i)*time.Hour))
		}
	})
	e.target.cfg.AccessLogs = true
	as := listAll(t, e.target)
	if len(as) != 9 {
		t.Fatalf("listed %d, want 9", len(as))
	}
	if n := e.fake.Count("users.list"); n != 5 {
		t.Fatalf("users.list called %d times, want 5 pages of 2", n)
	}
}

func TestThrottlingIsWaitedFor(t *testing.T) {
	e := newEnv(t, nil, nil)
	var mu sync.Mutex
	throttled := 0
	e.fake.Fail = func(w http.ResponseWriter, r *http.Request, method string) bool {
		mu.Lock()
		defer mu.Unlock()
		if method == "users.list" && throttled < 2 {
			throttled++
			// Slack's answer: 429 with Retry-After.
			w.Header().Set("Retry-After", "7")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"ok":false,"error":"ratelimited"}`)
			return true
		}
		return false
	}
	as := listAll(t, e.target)
	if len(as) != 6 {
		t.Fatalf("listed %d after throttling, want 6", len(as))
	}
	if !slices.Equal(e.sleeps, []time.Duration{7 * time.Second, 7 * time.Second}) {
		t.Fatalf("waits %v, want two of 7s (Retry-After)", e.sleeps)
	}
}

func TestCredentialEchoIsRedacted(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.fake.Fail = func(w http.ResponseWriter, r *http.Request, method string) bool {
		if method != "usergroups.list" {
			return false
		}
		w.WriteHeader(http.StatusBadRequest)
		auth := r.Header.Get("Authorization")
		_, _ = fmt.Fprintf(w, "bad request: header %q token=%s b64=%s", auth, testToken, base64.StdEncoding.EncodeToString([]byte("token:"+testToken)))
		return true
	}
	var err error
	for _, e := range e.target.Accounts(t.Context()) {
		err = e
	}
	if err == nil {
		t.Fatal("listing succeeded against an error")
	}
	msg := err.Error()
	for _, leak := range []string{testToken, "SECRETWEBTOKEN", base64.StdEncoding.EncodeToString([]byte("token:" + testToken))} {
		if strings.Contains(msg, leak) {
			t.Fatalf("error carries the token (%q): %s", leak, msg)
		}
	}
}

func TestDisableDeactivatesThroughSCIM(t *testing.T) {
	e := newEnv(t, nil, nil)
	a := byID(listAll(t, e.target))["U00000002"]
	if err := e.target.Disable(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	if !e.fake.Deleted("U00000002") {
		t.Fatal("user not deactivated in the fake")
	}
	if got := byID(listAll(t, e.target))["U00000002"]; got.Enabled {
		t.Fatal("second listing shows U00000002 enabled")
	}
	if err := e.target.Disable(t.Context(), targets.Account{ID: "U99999999"}); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("disable of an unknown user: %v, want ErrNotFound", err)
	}
}

func TestWithoutSCIMDisableIsManual(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SCIM = scim.Config{} }, nil)
	caps := targets.Resolve(e.target)
	if caps.Disabler != nil {
		t.Fatal("disable offered without a scim: block")
	}
	before := e.fake.Calls.Load()
	if err := e.target.Disable(t.Context(), targets.Account{ID: "U00000001"}); !errors.Is(err, ErrNoSCIM) {
		t.Fatalf("Disable without SCIM: %v", err)
	}
	if e.fake.Calls.Load() != before {
		t.Fatal("Disable without SCIM called Slack")
	}
}

func TestSessionResetWithoutScopeIsManual(t *testing.T) {
	e := newEnv(t, nil, nil) // session_reset: false
	if targets.Resolve(e.target).SessionRevoker != nil {
		t.Fatal("revoke_sessions offered without session_reset: true")
	}
	if err := e.target.RevokeSessions(t.Context(), targets.Account{ID: "U00000001"}); !errors.Is(err, ErrNoSessionReset) {
		t.Fatalf("RevokeSessions without the scope: %v", err)
	}
	if n := e.fake.Count("admin.users.session.reset"); n != 0 {
		t.Fatalf("admin.users.session.reset called %d times", n)
	}
	// Configured, but the token lacks the scope: a permission error.
	e2 := newEnv(t, func(c *Config) { c.SessionReset = true }, nil)
	err := e2.target.RevokeSessions(t.Context(), targets.Account{ID: "U00000001"})
	if !errors.Is(err, targets.ErrPermission) || !strings.Contains(err.Error(), "admin.users:write") {
		t.Fatalf("RevokeSessions with a token lacking the scope: %v, want ErrPermission naming admin.users:write", err)
	}
}

func TestSessionReset(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SessionReset = true }, func(f *slackfake.Slack) { seed(f, time.Now()); f.ResetAllowed = true })
	if err := e.target.RevokeSessions(t.Context(), targets.Account{ID: "U00000001"}); err != nil {
		t.Fatal(err)
	}
	if e.fake.Resets["U00000001"] != 1 {
		t.Fatalf("resets %v", e.fake.Resets)
	}
	if err := e.target.RevokeSessions(t.Context(), targets.Account{ID: "U99999999"}); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("reset of an unknown user: %v, want ErrNotFound", err)
	}
}

func TestRemoveFromGroup(t *testing.T) {
	e := newEnv(t, nil, nil)
	a := byID(listAll(t, e.target))["U00000002"]
	g := targets.Group{ID: "S00000001", Name: "Engineering"}
	for range 2 {
		if err := e.target.RemoveFromGroup(t.Context(), a, g); err != nil {
			t.Fatal(err)
		}
	}
	if got := byID(listAll(t, e.target)); slices.Contains(got["U00000002"].Groups, g) || !slices.Contains(got["U00000001"].Groups, g) {
		t.Fatalf("after removal: U00000002 %v, U00000001 %v", got["U00000002"].Groups, got["U00000001"].Groups)
	}
	if n := e.fake.Count("usergroups.users.update"); n != 1 {
		t.Fatalf("usergroups.users.update called %d times, want 1 (the second removal has nothing to do)", n)
	}
	// The last member: Slack refuses an empty group.
	last := byID(listAll(t, e.target))["U00000001"]
	err := e.target.RemoveFromGroup(t.Context(), last, targets.Group{ID: "S00000002", Name: "On-call"})
	if err == nil || !strings.Contains(err.Error(), "usergroups.disable") {
		t.Fatalf("removing the last member: %v", err)
	}
	if err := e.target.RemoveFromGroup(t.Context(), a, targets.Group{ID: "S99999999", Name: "Gone"}); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("removal from an unknown group: %v, want ErrNotFound", err)
	}
}

// A listing that fails part-way (users.list page 2 keeps failing) ends with
// an error after the accounts already yielded: it never looks complete.
func TestFailureMidListing(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.fake.Fail = func(w http.ResponseWriter, r *http.Request, method string) bool {
		if method == "users.list" && r.FormValue("cursor") != "" {
			w.WriteHeader(http.StatusServiceUnavailable)
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
	if n != 3 || !errors.As(err, &te) {
		t.Fatalf("yielded %d accounts then %v, want 3 then a transient error", n, err)
	}
	if len(e.sleeps) != 4 {
		t.Fatalf("waits %v, want 4 retries of the failing page", e.sleeps)
	}
}

// An expired or revoked token is a permission error at once, not retried.
func TestExpiredToken(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.fake.Token = "xoxp-a-newer-token"
	var err error
	for _, e := range e.target.Accounts(t.Context()) {
		err = e
	}
	if !errors.Is(err, targets.ErrPermission) || !strings.Contains(err.Error(), "invalid_auth") || len(e.sleeps) != 0 {
		t.Fatalf("listing with a stale token: %v (waits %v), want ErrPermission (invalid_auth) at once", err, e.sleeps)
	}
}
