package google

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/google/googlefake"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

func testLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// sleeps records the waits the upstream client asked for, without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

func newTarget(t testing.TB, f *googlefake.Fake, mutate func(*Config)) (*Target, *sleeps) {
	t.Helper()
	cfg := Config{
		Key:         targets.Secret(f.KeyJSON),
		Subject:     f.Subject,
		BaseURL:     f.Srv.URL + "/",
		RateLimit:   1e6,
		Concurrency: 4,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	tg, err := New(cfg, testLogger())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s := &sleeps{}
	tg.http.Sleep = s.sleep
	return tg, s
}

var (
	day0 = time.Date(2026, 11, 30, 8, 15, 0, 0, time.UTC)
)

// seed is the small fixture: five users, two groups, tokens and app
// passwords.
func seed(f *googlefake.Fake) (alice, bob, carol, dave, erin *googlefake.User, eng, admins *googlefake.Group) {
	alice = f.AddUser(&googlefake.User{Email: "alice@example.com", FullName: "Alice Archer", IsAdmin: true, LastLogin: day0,
		ExternalIDs: []googlefake.ExtID{{Type: "organization", Value: "E001"}, {Type: "custom", CustomType: "badge", Value: "B-77"}},
		Custom:      map[string]map[string]any{"Employment": {"employeeNumber": "0042", "costCenter": "CC1"}},
		Tokens:      []googlefake.Token{{ClientID: "1234-slack.apps.googleusercontent.com", DisplayText: "Slack", Scopes: []string{"openid", "email"}}},
		ASPs:        []googlefake.ASP{{CodeID: 7, Name: "Thunderbird", Created: day0.AddDate(-1, 0, 0), LastUsed: day0.AddDate(0, -1, 0)}}})
	bob = f.AddUser(&googlefake.User{Email: "bob@example.com", FullName: "Bob Baker", LastLogin: day0.Add(-time.Hour),
		ExternalIDs: []googlefake.ExtID{{Type: "organization", Value: "E002"}},
		Tokens:      []googlefake.Token{{ClientID: "5678-zoom.apps.googleusercontent.com", DisplayText: "Zoom"}}})
	carol = f.AddUser(&googlefake.User{Email: "carol@example.com", FullName: "Carol Cole", Suspended: true, LastLogin: day0.AddDate(0, -2, 0),
		ExternalIDs: []googlefake.ExtID{{Type: "organization", Value: "E003"}}})
	dave = f.AddUser(&googlefake.User{Email: "dave@example.com", FullName: "Dave Dunn", Archived: true,
		ExternalIDs: []googlefake.ExtID{{Type: "organization", Value: "E004"}}})
	erin = f.AddUser(&googlefake.User{Email: "erin@example.com", FullName: "Erin Eve", IsDelegatedAdmin: true})
	eng = f.AddGroup(&googlefake.Group{Email: "eng@example.com", Name: "Engineering", Members: []string{alice.ID, bob.ID, carol.ID}})
	admins = f.AddGroup(&googlefake.Group{Email: "it-admins@example.com", Name: "IT Admins", Members: []string{alice.ID}})
	return
}

func listAll(t testing.TB, tg *Target) ([]targets.Account, error) {
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

func byID(as []targets.Account) map[string]targets.Account {
	m := map[string]targets.Account{}
	for _, a := range as {
		m[a.ID] = a
	}
	return m
}

func TestConformance(t *testing.T) {
	for _, groups := range []string{"members", "per_user"} {
		t.Run(groups, func(t *testing.T) {
			targettest.Run(t, func(t *testing.T) targettest.Fixture {
				f := googlefake.New(t)
				alice, bob, _, _, _, _, _ := seed(f)
				tg, _ := newTarget(t, f, func(c *Config) { c.Groups = groups })
				return targettest.Fixture{Target: tg, Enabled: []string{alice.ID, bob.ID}, MinAccounts: 5}
			})
		})
	}
}

func TestMapping(t *testing.T) {
	f := googlefake.New(t)
	alice, bob, carol, dave, erin, eng, admins := seed(f)
	tg, _ := newTarget(t, f, nil)
	as, err := listAll(t, tg)
	if err != nil {
		t.Fatal(err)
	}
	m := byID(as)
	if len(as) != 5 {
		t.Fatalf("listed %d accounts, want 5", len(as))
	}
	a := m[alice.ID]
	wantGroups := []targets.Group{{ID: eng.ID, Name: "eng@example.com"}, {ID: admins.ID, Name: "it-admins@example.com"}}
	if a.Username != "alice@example.com" || a.Email != "alice@example.com" || a.DisplayName != "Alice Archer" ||
		a.EmployeeID != "E001" || !a.Enabled || !a.Privileged || !a.LoginTracked || !a.LastLogin.Equal(day0) ||
		!a.Created.Equal(time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)) || !slices.Equal(a.Groups, wantGroups) {
		t.Errorf("alice = %+v", a)
	}
	wantCreds := []targets.Credential{
		{ID: "oauth:1234-slack.apps.googleusercontent.com", Kind: "oauth_token", Active: true},
		{ID: "asp:7", Kind: "app_password", Active: true, Created: day0.AddDate(-1, 0, 0), LastUsed: day0.AddDate(0, -1, 0)},
	}
	if !slices.EqualFunc(a.Credentials, wantCreds, func(x, y targets.Credential) bool {
		return x.ID == y.ID && x.Kind == y.Kind && x.Active == y.Active && x.Created.Equal(y.Created) && x.LastUsed.Equal(y.LastUsed)
	}) {
		t.Errorf("alice's credentials = %+v, want %+v", a.Credentials, wantCreds)
	}
	if b := m[bob.ID]; b.Privileged || !b.Enabled || b.EmployeeID != "E002" || len(b.Groups) != 1 || len(b.Credentials) != 1 {
		t.Errorf("bob = %+v", b)
	}
	if c := m[carol.ID]; c.Enabled {
		t.Errorf("suspended carol listed as enabled: %+v", c)
	}
	if d := m[dave.ID]; d.Enabled || !d.LastLogin.IsZero() || !d.LoginTracked {
		t.Errorf("archived dave (never logged in) = %+v", d)
	}
	if e := m[erin.ID]; !e.Privileged || e.EmployeeID != "" || !e.LastLogin.IsZero() || e.Groups != nil {
		t.Errorf("erin (delegated admin, no external ID) = %+v", e)
	}

	// Another employee ID source, group display names, a privileged group.
	tg2, _ := newTarget(t, f, func(c *Config) {
		c.EmployeeID = "customSchemas:Employment.employeeNumber"
		c.GroupName = "name"
		c.PrivilegedGroups = []string{"engineering"}
	})
	as2, err := listAll(t, tg2)
	if err != nil {
		t.Fatal(err)
	}
	m2 := byID(as2)
	if got := m2[alice.ID]; got.EmployeeID != "0042" || got.Groups[0].Name != "Engineering" || got.Groups[0].ID != eng.ID {
		t.Errorf("custom schema / group name: alice = %+v", got)
	}
	if got := m2[bob.ID]; got.EmployeeID != "" || !got.Privileged {
		t.Errorf("bob in a privileged group = %+v", got)
	}
	tg3, _ := newTarget(t, f, func(c *Config) { c.EmployeeID = "externalIds:custom:badge" })
	as3, err := listAll(t, tg3)
	if err != nil {
		t.Fatal(err)
	}
	if got := byID(as3)[alice.ID]; got.EmployeeID != "B-77" {
		t.Errorf("custom external ID: alice = %+v", got)
	}
	// The custom schema is asked for by name and only then.
	for _, x := range f.Exchanges() {
		if x.Path == googlefake.APIPrefix+"users" && x.Query.Get("projection") == "full" {
			t.Errorf("users.list with projection=full: %v", x.Query)
		}
	}
}

// TestPaging: 1,234 users are three pages of users.list (500, 500, 234);
// a group of every user is seven pages of members.list; 205 groups are two
// pages of groups.list.
func TestPaging(t *testing.T) {
	f := googlefake.New(t)
	var all []string
	for i := range 1234 {
		u := f.AddUser(&googlefake.User{Email: fmt.Sprintf("u%04d@example.com", i), ExternalIDs: []googlefake.ExtID{{Type: "organization", Value: fmt.Sprintf("E%04d", i)}}})
		all = append(all, u.ID)
	}
	everyone := f.AddGroup(&googlefake.Group{Email: "everyone@example.com", Name: "Everyone", Members: all})
	for i := range 204 {
		f.AddGroup(&googlefake.Group{Email: fmt.Sprintf("g%03d@example.com", i), Members: []string{all[i]}})
	}
	tg, _ := newTarget(t, f, func(c *Config) { c.Credentials = "skip" })
	as, err := listAll(t, tg)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1234 {
		t.Fatalf("listed %d accounts, want 1234", len(as))
	}
	seen := map[string]bool{}
	for i, a := range as {
		if seen[a.ID] {
			t.Fatalf("%s listed twice", a.ID)
		}
		seen[a.ID] = true
		if a.EmployeeID != fmt.Sprintf("E%04d", i) {
			t.Fatalf("account %d has employee ID %q", i, a.EmployeeID)
		}
		want := 1
		if i < 204 {
			want = 2
		}
		if len(a.Groups) != want || !slices.Contains(a.Groups, targets.Group{ID: everyone.ID, Name: "everyone@example.com"}) {
			t.Fatalf("account %d groups %v", i, a.Groups)
		}
	}
	if n := f.Count("GET users"); n != 3 {
		t.Errorf("users.list calls = %d, want 3", n)
	}
	if n := f.Count("GET groups"); n != 2 {
		t.Errorf("groups.list calls = %d, want 2", n)
	}
	if n := f.Count("GET groups/members"); n != 7+204 {
		t.Errorf("members.list calls = %d, want 211", n)
	}
	for _, x := range f.Exchanges() {
		if x.Path == googlefake.APIPrefix+"users" && (x.Query.Get("maxResults") != "500" || x.Query.Get("customer") != "my_customer") {
			t.Errorf("users.list query %v", x.Query)
		}
	}
}

// TestThrottling: 429 with Retry-After, 503, and Google's 403
// userRateLimitExceeded/quotaExceeded are waited for and retried; the waits
// are the ones asked for (Retry-After) or the backoff.
func TestThrottling(t *testing.T) {
	f := googlefake.New(t)
	_, bob, _, _, _, _, _ := seed(f)
	tg, sl := newTarget(t, f, nil)
	f.SetThrottle("GET users", googlefake.Fault{N: 2, Status: 429, Reason: "rateLimitExceeded", RetryAfter: "7"})
	f.SetThrottle("GET users/tokens", googlefake.Fault{N: 1, Status: 403, Reason: "userRateLimitExceeded"})
	f.SetThrottle("GET groups", googlefake.Fault{N: 1, Status: 503, Reason: "backendError", RetryAfter: "2"})
	f.SetThrottle("GET users/asps", googlefake.Fault{N: 1, Status: 403, Reason: "quotaExceeded"})
	as, err := listAll(t, tg)
	if err != nil {
		t.Fatalf("throttled listing failed: %v", err)
	}
	if len(as) != 5 {
		t.Fatalf("listed %d, want 5", len(as))
	}
	waits := sl.all()
	if len(waits) != 5 || slices.Index(waits, 7*time.Second) < 0 || slices.Index(waits, 2*time.Second) < 0 {
		t.Errorf("waits %v: want 7s twice (Retry-After), 2s once, and two backoffs", waits)
	}
	for _, d := range waits {
		if d <= 0 {
			t.Errorf("a retry without waiting: %v", waits)
		}
	}
	if n := f.Count("GET users"); n != 3 {
		t.Errorf("users.list calls = %d, want 3 (two throttled)", n)
	}

	// A write is sent once; a quota answer comes back transient for the
	// executor to retry, a plain 403 as a permission error.
	f.SetThrottle("PATCH users", googlefake.Fault{N: 1, Status: 403, Reason: "userRateLimitExceeded"})
	err = tg.Disable(t.Context(), targets.Account{ID: bob.ID})
	var te *targets.TransientError
	if !errors.As(err, &te) {
		t.Errorf("disable under quota: %v, want a TransientError", err)
	}
	if f.Count("PATCH users") != 1 || f.User(bob.ID).Suspended {
		t.Errorf("throttled write: %d calls, suspended=%v", f.Count("PATCH users"), f.User(bob.ID).Suspended)
	}
	f.SetThrottle("PATCH users", googlefake.Fault{N: 1, Status: 403, Reason: "forbidden"})
	err = tg.Disable(t.Context(), targets.Account{ID: bob.ID})
	if !errors.Is(err, targets.ErrPermission) || errors.As(err, &te) {
		t.Errorf("disable refused: %v, want ErrPermission, not transient", err)
	}
	if err := tg.Disable(t.Context(), targets.Account{ID: bob.ID}); err != nil || !f.User(bob.ID).Suspended {
		t.Errorf("disable after throttling: %v", err)
	}
}

// TestRetryAfterWaited: with the real clock, a 429 with Retry-After: 1 is
// waited for before the page is asked again.
func TestRetryAfterWaited(t *testing.T) {
	f := googlefake.New(t)
	seed(f)
	tg, _ := newTarget(t, f, func(c *Config) { c.Credentials = "skip"; c.Groups = "none" })
	tg.http.Sleep = nil // the upstream client's own timer
	f.SetThrottle("GET users", googlefake.Fault{N: 1, Status: 429, Reason: "rateLimitExceeded", RetryAfter: "1"})
	start := time.Now()
	as, err := listAll(t, tg)
	if err != nil || len(as) != 5 {
		t.Fatalf("listing: %d, %v", len(as), err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("listing took %v: Retry-After: 1 was not waited for", d)
	}
	if n := f.Count("GET users"); n != 2 {
		t.Errorf("users.list calls = %d, want 2", n)
	}
}

// TestTokenExpiry: the API stops accepting the access token in the middle
// of a listing; the connector fetches a new one and goes on.
func TestTokenExpiry(t *testing.T) {
	f := googlefake.New(t)
	for i := range 1100 {
		f.AddUser(&googlefake.User{Email: fmt.Sprintf("u%04d@example.com", i)})
	}
	f.ExpireAfterPages = 1
	tg, _ := newTarget(t, f, func(c *Config) { c.Credentials = "skip"; c.Groups = "none" })
	as, err := listAll(t, tg)
	if err != nil {
		t.Fatalf("listing across a token expiry: %v", err)
	}
	if len(as) != 1100 {
		t.Fatalf("listed %d, want 1100", len(as))
	}
	f.Mu.Lock()
	calls := f.TokenCalls
	f.Mu.Unlock()
	if calls != 2 {
		t.Errorf("token requests = %d, want 2 (one re-fetch)", calls)
	}
	// A token that expires by its own clock is refreshed too.
	f.Mu.Lock()
	f.TokenExpiresIn = 5 // under oauth2's 10 s expiry margin: stale at once
	f.Mu.Unlock()
	tg2, _ := newTarget(t, f, func(c *Config) { c.Credentials = "skip"; c.Groups = "none" })
	if _, err := listAll(t, tg2); err != nil {
		t.Fatal(err)
	}
	f.Mu.Lock()
	calls = f.TokenCalls
	f.Mu.Unlock()
	if calls != 2+3 { // one per users.list page: each token is stale at once
		t.Errorf("token requests = %d, want 5: expired tokens were reused", calls)
	}
}

// TestDelegationRefused: a token request for scopes not authorized for
// domain-wide delegation is a permission error naming the scopes.
func TestDelegationRefused(t *testing.T) {
	f := googlefake.New(t)
	seed(f)
	f.Authorized = []string{scopeUserReadonly, scopeGroupReadonly}
	tg, _ := newTarget(t, f, nil)
	_, err := listAll(t, tg)
	if !errors.Is(err, targets.ErrPermission) || !strings.Contains(err.Error(), scopeGroupMember) || !strings.Contains(err.Error(), "unauthorized_client") {
		t.Fatalf("listing with unauthorized scopes: %v", err)
	}
	// Read-only asks only for what was granted: it works.
	ro, _ := newTarget(t, f, func(c *Config) { c.ReadOnly = true; c.Credentials = "skip" })
	if as, err := listAll(t, ro); err != nil || len(as) != 5 {
		t.Fatalf("read-only listing: %d, %v", len(as), err)
	}
	if got := targets.Resolve(ro).List(); !slices.Equal(got, []targets.Capability{targets.CanGet}) {
		t.Errorf("read-only capabilities %v", got)
	}
	if got := ro.Scopes(); !slices.Equal(got, []string{scopeUserReadonly, scopeGroupReadonly}) {
		t.Errorf("read-only scopes %v", got)
	}
}

// TestPartialFailure: a users.list page fails for good after the first
// page: the listing yields the first page, then an error, and never ends
// as if complete.
func TestPartialFailure(t *testing.T) {
	f := googlefake.New(t)
	for i := range 1200 {
		f.AddUser(&googlefake.User{Email: fmt.Sprintf("u%04d@example.com", i)})
	}
	f.FailUsersPage, f.FailStatus = 1, 500
	tg, sl := newTarget(t, f, func(c *Config) { c.Credentials = "skip" })
	as, err := listAll(t, tg)
	if err == nil {
		t.Fatal("a listing whose second page failed ended without error")
	}
	if len(as) != 500 {
		t.Errorf("yielded %d accounts before the error, want the first page (500)", len(as))
	}
	if !strings.Contains(err.Error(), "page 2") {
		t.Errorf("error %q does not name the page", err)
	}
	if n := f.Count("GET users"); n != 1+5 {
		t.Errorf("users.list calls = %d, want 6 (page 2 tried five times)", n)
	}
	if n := len(sl.all()); n != 4 {
		t.Errorf("waits = %d, want 4", n)
	}
	var te *targets.TransientError
	if !errors.As(err, &te) {
		t.Errorf("error %v is not transient", err)
	}
}

// TestPartialFailureRetried: a 500 on one page is retried by the upstream
// client; only a page that keeps failing ends the listing.
func TestPartialFailureRetried(t *testing.T) {
	f := googlefake.New(t)
	seed(f)
	tg, sl := newTarget(t, f, nil)
	f.SetThrottle("GET users", googlefake.Fault{N: 100, Status: 503, Reason: "backendError"})
	_, err := listAll(t, tg)
	var te *targets.TransientError
	if err == nil || !errors.As(err, &te) {
		t.Fatalf("listing against a failing server: %v, want a transient error", err)
	}
	if n := len(sl.all()); n != 4 {
		t.Errorf("retries before giving up: %d waits, want 4", n)
	}
}

// TestUserDeletedWhileListing: a user deleted between users.list and the
// listing of their tokens is left out; the listing goes on.
func TestUserDeletedWhileListing(t *testing.T) {
	f := googlefake.New(t)
	alice, bob, _, _, _, _, _ := seed(f)
	f.Vanish = bob.ID
	tg, _ := newTarget(t, f, nil)
	as, err := listAll(t, tg)
	if err != nil {
		t.Fatal(err)
	}
	m := byID(as)
	if _, ok := m[bob.ID]; ok || len(as) != 4 || len(m[alice.ID].Credentials) != 2 {
		t.Fatalf("listing after bob was deleted: %d accounts, bob listed: %v", len(as), ok)
	}
}

// TestCredentialEcho: the server echoes the request's credentials in error
// bodies (API and token endpoint); no error carries the key, any part of
// it, its base64, or the access token.
func TestCredentialEcho(t *testing.T) {
	f := googlefake.New(t)
	_, bob, _, _, _, _, _ := seed(f)
	tg, _ := newTarget(t, f, nil)
	if _, err := listAll(t, tg); err != nil {
		t.Fatal(err)
	}
	f.Echo = "key " + string(f.KeyJSON) + " b64 " + base64.StdEncoding.EncodeToString([]byte("x"+string(f.KeyJSON)))
	f.SetThrottle("PATCH users", googlefake.Fault{N: 1, Status: 403, Reason: "forbidden"})
	errAPI := tg.Disable(t.Context(), targets.Account{ID: bob.ID})
	// A subject the token endpoint refuses (echoing the signed assertion).
	tg2, _ := newTarget(t, f, func(c *Config) { c.Subject = "someone-else@example.com" })
	_, errTok := listAll(t, tg2)

	key, _ := parseKey(targets.Secret(f.KeyJSON))
	secrets := []string{string(f.KeyJSON), key.privateKey, key.privateKeyID}
	secrets = append(secrets, strings.Split(key.privateKey, "\n")[1:4]...)
	f.Mu.Lock()
	for tok := range f.AccessTokens {
		secrets = append(secrets, tok)
	}
	secrets = append(secrets, f.Assertions...)
	f.Mu.Unlock()
	for i, err := range []error{errAPI, errTok} {
		if err == nil {
			t.Fatalf("error %d: nil", i)
		}
		msg := err.Error()
		if !strings.Contains(msg, "REDACTED") {
			t.Errorf("error %d shows no redaction: %s", i, msg)
		}
		for _, s := range secrets {
			for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s))} {
				if len(s) > 8 && strings.Contains(msg, form[:min(len(form), 40)]) {
					t.Errorf("error %d carries a secret (%.12s…): %s", i, s, msg)
				}
			}
		}
	}
	if !errors.Is(errAPI, targets.ErrPermission) || !errors.Is(errTok, targets.ErrPermission) {
		t.Errorf("errors %v / %v: want ErrPermission", errAPI, errTok)
	}
}

// TestActions: what each action sends and changes, idempotence, not-found,
// and that nobody else is touched.
func TestActions(t *testing.T) {
	f := googlefake.New(t)
	alice, bob, carol, dave, erin, eng, _ := seed(f)
	tg, _ := newTarget(t, f, nil)
	ctx := t.Context()
	before := map[string]googlefake.User{}
	for _, u := range []*googlefake.User{bob, carol, dave, erin} {
		before[u.ID] = f.User(u.ID)
	}
	a, err := tg.Account(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := tg.Disable(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := tg.RevokeSessions(ctx, a); err != nil {
		t.Fatal(err)
	}
	for _, c := range a.Credentials {
		for range 2 {
			if err := tg.RevokeCredential(ctx, a, c); err != nil {
				t.Fatalf("revoke %s: %v", c.ID, err)
			}
		}
	}
	for range 2 {
		if err := tg.RemoveFromGroup(ctx, a, targets.Group{ID: eng.ID, Name: "eng@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	got := f.User(alice.ID)
	if !got.Suspended || got.SignOuts != 1 || len(got.Tokens) != 0 || len(got.ASPs) != 0 || slices.Contains(f.Members(eng.ID), alice.ID) {
		t.Errorf("alice after the actions: %+v", got)
	}
	re, err := tg.Account(ctx, alice.ID)
	if err != nil || re.Enabled || len(re.Credentials) != 0 || slices.Contains(re.Groups, targets.Group{ID: eng.ID, Name: "eng@example.com"}) {
		t.Errorf("alice re-read: %+v, %v", re, err)
	}
	for id, b := range before {
		now := f.User(id)
		if now.Version != b.Version || now.Writes != b.Writes || now.SignOuts != b.SignOuts || len(now.Tokens) != len(b.Tokens) {
			t.Errorf("user %s touched: %+v -> %+v", id, b, now)
		}
	}
	if !slices.Contains(f.Members(eng.ID), bob.ID) {
		t.Error("bob lost his group")
	}

	// By the group's email when no ID is known.
	if err := tg.RemoveFromGroup(ctx, targets.Account{ID: bob.ID}, targets.Group{Name: "eng@example.com"}); err != nil || slices.Contains(f.Members(eng.ID), bob.ID) {
		t.Errorf("remove by group email: %v", err)
	}
	// Unknown user, unknown group, unknown credential of an unknown user.
	ghost := targets.Account{ID: "404404404"}
	for name, err := range map[string]error{
		"disable":       tg.Disable(ctx, ghost),
		"sessions":      tg.RevokeSessions(ctx, ghost),
		"credential":    tg.RevokeCredential(ctx, ghost, targets.Credential{ID: "oauth:x"}),
		"group (user)":  tg.RemoveFromGroup(ctx, ghost, targets.Group{ID: eng.ID}),
		"group (group)": tg.RemoveFromGroup(ctx, targets.Account{ID: bob.ID}, targets.Group{ID: "0nosuchgroup"}),
		"get":           func() error { _, err := tg.Account(ctx, ghost.ID); return err }(),
	} {
		if !errors.Is(err, targets.ErrNotFound) {
			t.Errorf("%s of a missing thing: %v, want ErrNotFound", name, err)
		}
	}
	if err := tg.RevokeCredential(ctx, targets.Account{ID: bob.ID}, targets.Credential{ID: "password:1"}); err == nil || errors.Is(err, targets.ErrNotFound) {
		t.Errorf("revoke of a credential of an unknown kind: %v", err)
	}
}

// TestRevokeSessionsDeletesCredentialsWhenSkipped: with credentials: skip,
// RevokeSessions also deletes every token and app password.
func TestRevokeSessionsDeletesCredentialsWhenSkipped(t *testing.T) {
	f := googlefake.New(t)
	alice, bob, _, _, _, _, _ := seed(f)
	tg, _ := newTarget(t, f, func(c *Config) { c.Credentials = "skip" })
	if slices.Contains(targets.Resolve(tg).List(), targets.CanRevokeCredential) {
		t.Error("credentials: skip still offers RevokeCredential")
	}
	as, err := listAll(t, tg)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if len(a.Credentials) != 0 {
			t.Fatalf("credentials listed with credentials: skip: %+v", a)
		}
	}
	if f.Count("GET users/tokens") != 0 {
		t.Error("tokens listed with credentials: skip")
	}
	for range 2 {
		if err := tg.RevokeSessions(t.Context(), targets.Account{ID: alice.ID}); err != nil {
			t.Fatal(err)
		}
	}
	if u := f.User(alice.ID); u.SignOuts != 2 || len(u.Tokens) != 0 || len(u.ASPs) != 0 {
		t.Errorf("alice after RevokeSessions: %+v", u)
	}
	if u := f.User(bob.ID); len(u.Tokens) != 1 || u.SignOuts != 0 {
		t.Errorf("bob touched: %+v", u)
	}
}

func TestNewRejects(t *testing.T) {
	f := googlefake.New(t)
	f.Record = false
	good := Config{Key: targets.Secret(f.KeyJSON), Subject: "admin@example.com"}
	for name, mutate := range map[string]func(*Config){
		"no key":       func(c *Config) { c.Key = "" },
		"not json":     func(c *Config) { c.Key = "not json" },
		"oauth client": func(c *Config) { c.Key = `{"installed":{"client_id":"x"}}` },
		"no subject":   func(c *Config) { c.Subject = "" },
		"employee id":  func(c *Config) { c.EmployeeID = "organizations.costCenter" },
		"schema":       func(c *Config) { c.EmployeeID = "customSchemas:Employment" },
		"groups":       func(c *Config) { c.Groups = "all" },
		"group name":   func(c *Config) { c.GroupName = "id" },
		"credentials":  func(c *Config) { c.Credentials = "revoke" },
		"rate":         func(c *Config) { c.RateLimit = -1 },
		"base url":     func(c *Config) { c.BaseURL = "admin.googleapis.com" },
		"concurrency":  func(c *Config) { c.Concurrency = -2 },
	} {
		cfg := good
		mutate(&cfg)
		_, err := New(cfg, testLogger())
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), f.ClientMail+`"`) {
			t.Errorf("%s: error quotes the key: %v", name, err)
		}
	}
	if _, err := New(good, nil); err == nil {
		t.Error("nil logger accepted")
	}
	tg, err := New(good, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	if got := tg.Scopes(); !slices.Equal(got, []string{scopeUser, scopeUserSecurity, scopeGroupReadonly, scopeGroupMember}) {
		t.Errorf("default scopes %v", got)
	}
	if got := targets.Resolve(tg).List(); len(got) != 5 {
		t.Errorf("default capabilities %v", got)
	}
}
