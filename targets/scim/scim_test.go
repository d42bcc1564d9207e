package scim

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

// fakeTarget returns a Target over the fake, with retry waits recorded
// instead of slept.
func fakeTarget(t *testing.T, f *fakeSCIM, base string, mod func(*Config)) (*Target, *[]time.Duration) {
	t.Helper()
	cfg := Config{BaseURL: base + "/scim/v2/", Auth: "bearer", Token: targets.Secret(f.token), PageSize: 3}
	if mod != nil {
		mod(&cfg)
	}
	tg, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	waits := &[]time.Duration{}
	tg.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		*waits = append(*waits, d)
		mu.Unlock()
		return ctx.Err()
	}
	return tg, waits
}

func collect(t *testing.T, tg *Target) ([]targets.Account, error) {
	t.Helper()
	var out []targets.Account
	for a, err := range tg.Accounts(t.Context()) {
		if err != nil {
			return out, err
		}
		out = append(out, a)
	}
	return out, nil
}

func TestConformanceFake(t *testing.T) {
	for _, mode := range []string{"patch", "put", "delete"} {
		t.Run(mode, func(t *testing.T) {
			targettest.Run(t, func(t *testing.T) targettest.Fixture {
				f, srv := newFake(t, &fakeSCIM{lenient: true, maxPage: 2, deleteMeans: "deactivate"})
				f.seedUsers(7)
				tg, _ := fakeTarget(t, f, srv.URL, func(c *Config) { c.Disable = mode })
				return targettest.Fixture{Target: tg, Enabled: []string{"id-1", "id-2"}, MinAccounts: 7}
			})
		})
	}
}

func TestLenientReading(t *testing.T) {
	f, srv := newFake(t, &fakeSCIM{lenient: true, maxPage: 2})
	f.seedUsers(5)
	f.users[1]["active"] = false // rendered "False"
	delete(f.users[2], "active") // absent: enabled
	delete(f.users[3], enterpriseURN)
	f.users[3]["externalId"] = "X-4"
	f.users[3]["name"] = map[string]any{"formatted": "Four Formatted"}
	f.users[3]["emails"] = []any{map[string]any{"value": "other@example.com"}, map[string]any{"value": "four@example.com", "primary": "True"}}
	f.users[4]["displayName"] = "Five"
	f.users[4]["emails"] = []any{map[string]any{"value": "first@example.com"}, map[string]any{"value": "second@example.com"}}
	tg, _ := fakeTarget(t, f, srv.URL, func(c *Config) { c.PrivilegedGroups = []string{"Admins"} })
	got, err := collect(t, tg)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("listed %d accounts, want 5", len(got))
	}
	want := []struct {
		id, emp, email, display string
		enabled, priv           bool
	}{
		{"id-1", "N-1", "u1@example.com", "", true, true},
		{"id-2", "N-2", "u2@example.com", "", false, false},
		{"id-3", "N-3", "u3@example.com", "", true, false},
		{"id-4", "X-4", "four@example.com", "Four Formatted", true, false},
		{"id-5", "N-5", "first@example.com", "Five", true, false},
	}
	for i, w := range want {
		a := got[i]
		if a.ID != w.id || a.EmployeeID != w.emp || a.Email != w.email || a.DisplayName != w.display ||
			a.Enabled != w.enabled || a.Privileged != w.priv || a.LoginTracked || !a.LastLogin.IsZero() {
			t.Errorf("account %d = %+v, want %+v", i, a, w)
		}
		if !a.Created.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
			t.Errorf("%s created %v", a.ID, a.Created)
		}
	}
	if !slices.Equal(targets.GroupNames(got[0].Groups), []string{"staff", "admins"}) || !slices.Equal(targets.GroupNames(got[1].Groups), []string{"staff"}) {
		t.Errorf("groups %v / %v", got[0].Groups, got[1].Groups)
	}
	// Pages of 2 although 3 were asked for: startIndex advances by what came.
	var starts []string
	for _, r := range f.reqs() {
		if i := strings.Index(r, "startIndex="); i >= 0 {
			starts = append(starts, strings.SplitN(r[i+len("startIndex="):], "&", 2)[0])
		}
	}
	if !slices.Equal(starts, []string{"1", "3", "5"}) {
		t.Errorf("startIndex sequence %v, want [1 3 5]", starts)
	}
}

func TestEmployeeIDAttribute(t *testing.T) {
	f, srv := newFake(t, &fakeSCIM{})
	f.seedUsers(2)
	f.users[0]["externalId"] = "EXT-1"
	f.users[0]["name"] = map[string]any{"familyName": "Doe"}
	f.users[0][enterpriseURN].(map[string]any)["costCenter"] = 4711
	for attr, want := range map[string]string{
		"externalId":                  "EXT-1",
		"name.familyName":             "Doe",
		"NAME.FAMILYNAME":             "Doe",
		enterpriseURN + ":costCenter": "4711",
		EnterpriseEmployeeNumber:      "N-1",
	} {
		tg, _ := fakeTarget(t, f, srv.URL, func(c *Config) { c.EmployeeIDAttribute = attr })
		a, err := tg.Account(t.Context(), "id-1")
		if err != nil {
			t.Fatal(err)
		}
		if a.EmployeeID != want {
			t.Errorf("employee_id_attribute %s: got %q, want %q", attr, a.EmployeeID, want)
		}
	}
}

func TestEmptyListingWithoutResources(t *testing.T) {
	f, srv := newFake(t, &fakeSCIM{lenient: true})
	tg, _ := fakeTarget(t, f, srv.URL, nil)
	got, err := collect(t, tg)
	if err != nil || len(got) != 0 {
		t.Fatalf("empty listing: %d accounts, %v", len(got), err)
	}
}

func TestGroupsFromMembers(t *testing.T) {
	f, srv := newFake(t, &fakeSCIM{maxPage: 1})
	f.seedUsers(3)
	for _, u := range f.users {
		delete(u, "groups")
	}
	tg, _ := fakeTarget(t, f, srv.URL, func(c *Config) { c.Groups = "members"; c.PrivilegedGroups = []string{"admins"} })
	got, err := collect(t, tg)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !slices.Equal(targets.GroupNames(got[0].Groups), []string{"staff", "admins"}) || !got[0].Privileged ||
		!slices.Equal(targets.GroupNames(got[2].Groups), []string{"staff"}) || got[2].Privileged {
		t.Fatalf("accounts %+v", got)
	}
	// The fake rejects the members.value filter: Account walks every group.
	a, err := tg.Account(t.Context(), "id-1")
	if err != nil || !slices.Equal(targets.GroupNames(a.Groups), []string{"staff", "admins"}) || !a.Privileged {
		t.Errorf("Account in members mode on a server without member filters: %+v, %v", a, err)
	}
}

func TestThrottledListingRetries(t *testing.T) {
	f, srv := newFake(t, &fakeSCIM{})
	f.seedUsers(4)
	tg, waits := fakeTarget(t, f, srv.URL, nil)
	f.mu.Lock()
	f.throttle = 2
	f.mu.Unlock()
	got, err := collect(t, tg)
	if err != nil || len(got) != 4 {
		t.Fatalf("listing after throttling: %d accounts, %v", len(got), err)
	}
	if !slices.Equal(*waits, []time.Duration{time.Second, time.Second}) {
		t.Errorf("waits %v, want two of 1s (Retry-After)", *waits)
	}

	f.mu.Lock()
	f.throttle = 100
	f.mu.Unlock()
	*waits = nil
	_, err = collect(t, tg)
	var te *targets.TransientError
	if !errors.As(err, &te) || te.RetryAfter != time.Second {
		t.Fatalf("listing throttled for good: %v, want a TransientError with RetryAfter 1s", err)
	}
	if len(*waits) != listAttempts-1 {
		t.Errorf("%d waits, want %d", len(*waits), listAttempts-1)
	}
}

// A listing page answered 500 is retried like any transient failure (the
// shared policy of targets/upstream), with backoff when no Retry-After.
func TestFailingListingPageRetried(t *testing.T) {
	f := &fakeSCIM{token: "s3cr3t-token"}
	f.seedUsers(2)
	var failed atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failed.Add(1) == 1 {
			http.Error(w, "oops", http.StatusInternalServerError)
			return
		}
		f.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	tg, waits := fakeTarget(t, f, srv.URL, nil)
	got, err := collect(t, tg)
	if err != nil || len(got) != 2 || !slices.Equal(*waits, []time.Duration{time.Second}) {
		t.Fatalf("%d accounts, err %v, waits %v", len(got), err, *waits)
	}
}

func TestThrottledListingRealSleep(t *testing.T) {
	f, srv := newFake(t, &fakeSCIM{throttle: 1})
	f.seedUsers(1)
	tg, _ := fakeTarget(t, f, srv.URL, nil)
	tg.sleep = nil // the real timer
	start := time.Now()
	got, err := collect(t, tg)
	if err != nil || len(got) != 1 {
		t.Fatalf("%d accounts, %v", len(got), err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("listing retried after %v, before Retry-After (1s)", d)
	}
	// A cancelled wait ends the listing with the context's error.
	f.mu.Lock()
	f.throttle = 1
	f.mu.Unlock()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	var last error
	for _, err := range tg.Accounts(ctx) {
		last = err
	}
	if !errors.Is(last, context.DeadlineExceeded) {
		t.Errorf("listing cancelled while waiting: %v", last)
	}
}

func TestCapabilityThrottledIsTransient(t *testing.T) {
	f, srv := newFake(t, &fakeSCIM{})
	f.seedUsers(2)
	tg, waits := fakeTarget(t, f, srv.URL, nil)
	f.mu.Lock()
	f.throttle = 1
	f.mu.Unlock()
	err := tg.Disable(t.Context(), targets.Account{ID: "id-1"})
	var te *targets.TransientError
	if !errors.As(err, &te) || te.RetryAfter != time.Second || !strings.Contains(err.Error(), "slow down") {
		t.Fatalf("throttled disable: %v, want TransientError, RetryAfter 1s, SCIM detail", err)
	}
	if len(*waits) != 0 {
		t.Errorf("capability waited %v: the executor retries, not the connector", *waits)
	}
	if err := tg.Disable(t.Context(), targets.Account{ID: "id-1"}); err != nil {
		t.Fatal(err)
	}
}

func TestUnauthorizedNeverLeaksToken(t *testing.T) {
	f, srv := newFake(t, &fakeSCIM{})
	f.seedUsers(1)
	var logs bytes.Buffer
	tg, err := New(Config{BaseURL: srv.URL, Auth: "bearer", Token: "wrong-token-value"}, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	_, lerr := collect(t, tg)
	derr := tg.Disable(t.Context(), targets.Account{ID: "id-1"})
	_, gerr := tg.Account(t.Context(), "id-1")
	for _, err := range []error{lerr, derr, gerr} {
		if !errors.Is(err, targets.ErrPermission) || !strings.Contains(err.Error(), "invalid token") {
			t.Errorf("got %v, want ErrPermission with the SCIM detail", err)
		}
		if err != nil && strings.Contains(err.Error(), "wrong-token-value") {
			t.Errorf("error leaks the token: %v", err)
		}
	}
	if strings.Contains(logs.String(), "wrong-token-value") || strings.Contains(fmt.Sprintf("%+v", tg.cfg), "wrong-token-value") {
		t.Error("token leaked into logs or config")
	}
}

func TestErrorBodyInError(t *testing.T) {
	f, srv := newFake(t, &fakeSCIM{patchError: true})
	f.seedUsers(1)
	tg, _ := fakeTarget(t, f, srv.URL, nil)
	err := tg.Disable(t.Context(), targets.Account{ID: "id-1"})
	if err == nil || !strings.Contains(err.Error(), "invalidValue") || !strings.Contains(err.Error(), "active is immutable here") ||
		!strings.Contains(err.Error(), "400") || !strings.HasPrefix(err.Error(), "scim: ") {
		t.Fatalf("error %v lacks the SCIM error body", err)
	}
	if errors.As(err, new(*targets.TransientError)) || errors.Is(err, targets.ErrNotFound) {
		t.Errorf("a 400 is neither transient nor not-found: %v", err)
	}
	if err := tg.Disable(t.Context(), targets.Account{ID: "nobody"}); !errors.Is(err, targets.ErrNotFound) ||
		!strings.Contains(err.Error(), "Resource nobody not found") {
		t.Errorf("disable missing: %v", err)
	}
}

func TestSamePageForeverStops(t *testing.T) {
	for name, fake := range map[string]*fakeSCIM{
		"ignores startIndex":                  {samePage: true, fakeTotal: 1_000_000},
		"announces too few, then keeps going": {samePage: false, fakeTotal: 2},
	} {
		t.Run(name, func(t *testing.T) {
			f, srv := newFake(t, fake)
			f.seedUsers(4)
			if name != "ignores startIndex" {
				// totalResults 2 but the server has 4: the listing stops at
				// the announced total, which is fine (no loop).
				tg, _ := fakeTarget(t, f, srv.URL, func(c *Config) { c.PageSize = 1 })
				got, err := collect(t, tg)
				if err != nil || len(got) != 2 {
					t.Fatalf("%d accounts, %v", len(got), err)
				}
				return
			}
			tg, _ := fakeTarget(t, f, srv.URL, func(c *Config) { c.PageSize = 2 })
			done := make(chan error, 1)
			go func() {
				var last error
				for _, err := range tg.Accounts(t.Context()) {
					last = err
				}
				done <- last
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "same page") {
					t.Fatalf("listing ended with %v, want a same-page error", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("listing of a server that repeats its first page did not stop")
			}
			if n := len(f.reqs()); n != 2 {
				t.Errorf("%d requests, want 2 (the repeat is detected on the second page)", n)
			}
		})
	}
}

func TestDisableModesOnTheWire(t *testing.T) {
	t.Run("patch", func(t *testing.T) {
		f, srv := newFake(t, &fakeSCIM{})
		f.seedUsers(1)
		tg, _ := fakeTarget(t, f, srv.URL, nil)
		if err := tg.Disable(t.Context(), targets.Account{ID: "id-1"}); err != nil {
			t.Fatal(err)
		}
		if got := f.reqs(); !slices.Equal(got, []string{"PATCH /scim/v2/Users/id-1"}) {
			t.Errorf("requests %v", got)
		}
	})
	t.Run("put", func(t *testing.T) {
		f, srv := newFake(t, &fakeSCIM{lenient: true})
		f.seedUsers(1)
		tg, _ := fakeTarget(t, f, srv.URL, func(c *Config) { c.Disable = "put" })
		for range 2 {
			if err := tg.Disable(t.Context(), targets.Account{ID: "id-1"}); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.reqs(); !slices.Equal(got, []string{"GET /scim/v2/Users/id-1", "PUT /scim/v2/Users/id-1", "GET /scim/v2/Users/id-1"}) {
			t.Errorf("requests %v (the second call must not write)", got)
		}
		u := f.users[0]
		if u["active"] != false || u["userName"] != "u1" || u[enterpriseURN] == nil {
			t.Errorf("user after PUT %v: attributes lost", u)
		}
	})
	t.Run("delete", func(t *testing.T) {
		f, srv := newFake(t, &fakeSCIM{deleteMeans: "deactivate"})
		f.seedUsers(1)
		tg, _ := fakeTarget(t, f, srv.URL, func(c *Config) { c.Disable = "delete" })
		for range 2 {
			if err := tg.Disable(t.Context(), targets.Account{ID: "id-1"}); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.reqs(); !slices.Equal(got, []string{"GET /scim/v2/Users/id-1", "DELETE /scim/v2/Users/id-1", "GET /scim/v2/Users/id-1"}) {
			t.Errorf("requests %v", got)
		}
		a, err := tg.Account(t.Context(), "id-1")
		if err != nil || a.Enabled {
			t.Errorf("after DELETE: %+v, %v", a, err)
		}
	})
}

func TestRemoveFromGroupFake(t *testing.T) {
	f, srv := newFake(t, &fakeSCIM{})
	f.seedUsers(2)
	tg, _ := fakeTarget(t, f, srv.URL, nil)
	a := targets.Account{ID: "id-1"}
	for range 2 { // the second call meets noTarget: already removed
		if err := tg.RemoveFromGroup(t.Context(), a, targets.Group{ID: "admins", Name: "admins"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.groupsOf("id-1"); len(got) != 1 {
		t.Errorf("groups after removal: %v", got)
	}
	if err := tg.RemoveFromGroup(t.Context(), a, targets.Group{ID: "nope", Name: "nope"}); !errors.Is(err, targets.ErrNotFound) {
		t.Errorf("missing group: %v", err)
	}
	want := `PATCH /scim/v2/Groups/g-admins`
	if !slices.Contains(f.reqs(), want) {
		t.Errorf("requests %v lack %s", f.reqs(), want)
	}
}

func TestNewValidation(t *testing.T) {
	ok := Config{BaseURL: "https://scim.example.com/v2", Auth: "bearer", Token: "x-token"}
	for name, c := range map[string]struct {
		mod  func(*Config)
		want string
	}{
		"no url":     {func(c *Config) { c.BaseURL = "" }, "base_url: required"},
		"bad url":    {func(c *Config) { c.BaseURL = "ftp://x" }, "base_url"},
		"no auth":    {func(c *Config) { c.Auth = "" }, "auth: required"},
		"bad auth":   {func(c *Config) { c.Auth = "oauth" }, "auth"},
		"no token":   {func(c *Config) { c.Token = "" }, "token_env/token_file: required"},
		"basic":      {func(c *Config) { c.Auth = "basic" }, "user_env: required"},
		"disable":    {func(c *Config) { c.Disable = "remove" }, "disable"},
		"groups":     {func(c *Config) { c.Groups = "both" }, "groups"},
		"page size":  {func(c *Config) { c.PageSize = -1 }, "page_size"},
		"rate limit": {func(c *Config) { c.RateLimit = -1 }, "rate_limit"},
		"timeout":    {func(c *Config) { c.Timeout = -time.Second }, "timeout"},
	} {
		cfg := ok
		c.mod(&cfg)
		_, err := New(cfg, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "scim: ") {
			t.Errorf("%s: %v, want an error naming %q", name, err, c.want)
		}
	}
	tg, err := New(ok, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if tg.cfg.PageSize != 100 || tg.cfg.Disable != "patch" || tg.cfg.Groups != "attribute" ||
		tg.cfg.EmployeeIDAttribute != EnterpriseEmployeeNumber || tg.cfg.Timeout != 30*time.Second || tg.limiter != nil {
		t.Errorf("defaults: %+v", tg.cfg)
	}
}

func TestRateLimit(t *testing.T) {
	f, srv := newFake(t, &fakeSCIM{})
	f.seedUsers(6)
	tg, _ := fakeTarget(t, f, srv.URL, func(c *Config) { c.RateLimit = 20; c.PageSize = 1 })
	start := time.Now()
	if got, err := collect(t, tg); err != nil || len(got) != 6 {
		t.Fatalf("%d, %v", len(got), err)
	}
	// 6 requests at 20/s with a burst of 1: at least 5 intervals of 50ms.
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("6 requests took %v at rate_limit 20/s", d)
	}
}

// A server that announces more users than it then returns must not produce
// a listing that looks complete: the missing accounts would look deleted.
func TestShortListingIsAnError(t *testing.T) {
	f, srv := newFake(t, &fakeSCIM{fakeTotal: 10})
	f.seedUsers(4)
	tg, _ := fakeTarget(t, f, srv.URL, func(c *Config) { c.PageSize = 2 })
	got, err := collect(t, tg)
	if err == nil || !strings.Contains(err.Error(), "listing incomplete") {
		t.Fatalf("listing of 4 users announced as 10 ended with %v after %d accounts, want an incomplete-listing error", err, len(got))
	}
}

// TestEchoedCredentialsRedacted: a server that reflects the Authorization
// header (and the raw credentials) in its error bodies must not get them
// into the connector's errors (issue 11 item 6).
func TestEchoedCredentialsRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		w.Header().Set("Content-Type", "application/scim+json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = fmt.Fprintf(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"403","detail":"denied for %s (user %s, password %s)"}`,
			r.Header.Get("Authorization"), user, pass)
	}))
	defer srv.Close()
	for _, cfg := range []Config{
		{BaseURL: srv.URL, Auth: "bearer", Token: "bearer-tok-0123456789"},
		{BaseURL: srv.URL, Auth: "basic", User: "scim-admin", Password: "pa55-w0rd-secret"},
	} {
		tg, err := New(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		_, lerr := collect(t, tg)
		derr := tg.Disable(t.Context(), targets.Account{ID: "id-1"})
		for _, err := range []error{lerr, derr} {
			msg := err.Error()
			basic := base64.StdEncoding.EncodeToString([]byte(cfg.User.Reveal() + ":" + cfg.Password.Reveal()))
			for _, leak := range []string{"bearer-tok-0123456789", "pa55-w0rd-secret", basic} {
				if strings.Contains(msg, leak) {
					t.Fatalf("%s auth: error leaks %q: %s", cfg.Auth, leak, msg)
				}
			}
			if !strings.Contains(msg, "REDACTED") || !errors.Is(err, targets.ErrPermission) {
				t.Fatalf("%s auth: %v", cfg.Auth, err)
			}
		}
	}
}
