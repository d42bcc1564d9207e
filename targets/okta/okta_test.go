package okta

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/okta/oktafake"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

const testToken = "00aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789-sswsSECRET"

// org is a seeded fake with the ids of its people.
type org struct {
	f                                          *oktafake.Okta
	alice, bob, carol, dave, erin, frank, gina string
	eng, sales, helpdesk                       string // groups
	aliceToken                                 string
}

// seed fills f: alice and bob ACTIVE in Engineering (OKTA_GROUP), bob also in
// Sales (APP_GROUP, imported from AD); alice is a super admin and owns an API
// token; carol SUSPENDED, dave DEPROVISIONED, erin STAGED, frank LOCKED_OUT;
// gina in Helpdesk Admins, a group holding an admin role; everyone in
// Everyone (BUILT_IN).
func seed(f *oktafake.Okta) *org {
	o := &org{f: f}
	o.alice = f.AddUser("alice", "E001", "ACTIVE")
	o.bob = f.AddUser("bob", "E002", "ACTIVE")
	o.carol = f.AddUser("carol", "E003", "SUSPENDED")
	o.dave = f.AddUser("dave", "E004", "DEPROVISIONED")
	o.erin = f.AddUser("erin", "E005", "STAGED")
	o.frank = f.AddUser("frank", "E006", "LOCKED_OUT")
	o.gina = f.AddUser("gina", "E007", "ACTIVE")
	o.eng = f.AddGroup("Engineering", "OKTA_GROUP", false, o.alice, o.bob)
	o.sales = f.AddGroup("Sales", "APP_GROUP", false, o.bob)
	o.helpdesk = f.AddGroup("Helpdesk Admins", "OKTA_GROUP", true, o.gina)
	f.AddGroup("Everyone", "BUILT_IN", false, o.alice, o.bob, o.carol, o.dave, o.erin, o.frank, o.gina)
	f.AddGroup("Empty", "OKTA_GROUP", false)
	f.Roles[o.alice] = []string{"SUPER_ADMIN"}
	o.aliceToken = f.AddAPIToken(o.alice, "alice-automation")
	for _, id := range []string{o.alice, o.bob} {
		u := f.ByID[id]
		u.Sessions, u.OAuthTokens, u.Grants = 2, 3, 1
	}
	return o
}

// sleeper is the connector's clock in tests: each sleep is recorded and
// advances the fake's clock instead of passing real time.
type sleeper struct {
	f     *oktafake.Okta
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	s.f.Advance(d)
	return nil
}

func (s *sleeper) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.waits)
}

// viaPrism returns a target talking to f through the package's Prism.
func viaPrism(t testing.TB, f *oktafake.Okta, mod func(*Config)) (*Target, *sleeper) {
	t.Helper()
	base, client := prism.Use(t, f)
	return newTestTarget(t, f, base, client, mod)
}

func newTestTarget(t testing.TB, f *oktafake.Okta, base string, client *http.Client, mod func(*Config)) (*Target, *sleeper) {
	t.Helper()
	f.SSWS = testToken
	cfg := Config{OrgURL: base, Token: testToken}
	if mod != nil {
		mod(&cfg)
	}
	s := &sleeper{f: f}
	d := deps{http: client, now: f.Now, sleep: s.sleep}
	tg, err := newTarget(cfg, slog.New(slog.DiscardHandler), d)
	if err != nil {
		t.Fatal(err)
	}
	return tg, s
}

// oauthApp registers a service app on f (its token endpoint served directly,
// not through Prism: it is not part of the Management API description) and
// returns a config modifier that makes a target use it.
func oauthApp(t testing.TB, f *oktafake.Okta, scopes ...string) func(*Config) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	direct := httptest.NewServer(f)
	t.Cleanup(direct.Close)
	f.Mu.Lock()
	f.Clients["0oaSERVICEAPP"] = &key.PublicKey
	f.ClientScope["0oaSERVICEAPP"] = DefaultScopes
	f.TokenURL = direct.URL + "/oauth2/v1/token"
	f.Mu.Unlock()
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return func(c *Config) {
		c.Auth, c.Token = "oauth", ""
		c.ClientID = "0oaSERVICEAPP"
		c.PrivateKey = targets.Secret(pemKey)
		c.TokenURL = direct.URL + "/oauth2/v1/token"
		c.Scopes = scopes
	}
}

func collect(t testing.TB, tg *Target) ([]targets.Account, error) {
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

func mustCollect(t testing.TB, tg *Target) map[string]targets.Account {
	t.Helper()
	as, err := collect(t, tg)
	if err != nil {
		t.Fatalf("listing: %v", err)
	}
	m := map[string]targets.Account{}
	for _, a := range as {
		if _, dup := m[a.ID]; dup {
			t.Fatalf("%s listed twice", a.ID)
		}
		m[a.ID] = a
	}
	return m
}

func groupNames(gs []targets.Group) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Name)
	}
	return out
}

func TestConformance(t *testing.T) {
	for _, mode := range []struct {
		name string
		mod  func(t *testing.T, f *oktafake.Okta) func(*Config)
	}{
		{"ssws-suspend", func(*testing.T, *oktafake.Okta) func(*Config) { return nil }},
		{"oauth-deactivate", func(t *testing.T, f *oktafake.Okta) func(*Config) {
			app := oauthApp(t, f)
			return func(c *Config) { app(c); c.Disable = "deactivate" }
		}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			targettest.Run(t, func(t *testing.T) targettest.Fixture {
				f := oktafake.New()
				o := seed(f)
				tg, _ := viaPrism(t, f, mode.mod(t, f))
				return targettest.Fixture{Target: tg, Enabled: []string{o.alice, o.bob}, MinAccounts: 7}
			})
		})
	}
}

func TestListing(t *testing.T) {
	f := oktafake.New()
	o := seed(f)
	f.ByID[o.gina].Profile["employeeNumber"] = "E007"
	f.ByID[o.gina].Profile["displayName"] = "Gina G."
	f.ByID[o.erin].LastLogin = time.Time{}
	tg, _ := viaPrism(t, f, nil)
	got := mustCollect(t, tg)
	if len(got) != 7 {
		t.Fatalf("listed %d users, want 7 (DEPROVISIONED included)", len(got))
	}
	want := map[string]bool{o.alice: true, o.bob: true, o.carol: false, o.dave: false, o.erin: false, o.frank: true, o.gina: true}
	for id, enabled := range want {
		if got[id].Enabled != enabled {
			t.Errorf("%s (%s) enabled = %v, want %v", id, f.ByID[id].Status, got[id].Enabled, enabled)
		}
	}
	a := got[o.alice]
	if a.Username != "alice@example.com" || a.Email != "alice@example.com" || a.EmployeeID != "E001" ||
		a.DisplayName != "First alice" || !a.LoginTracked || !a.LastLogin.Equal(oktafake.Epoch.Add(-48*time.Hour)) ||
		!a.Created.Equal(oktafake.Epoch.Add(-400*24*time.Hour)) || !a.Privileged {
		t.Errorf("alice = %+v", a)
	}
	if !slices.Equal(a.Groups, []targets.Group{{ID: o.eng, Name: "Engineering"}}) {
		t.Errorf("alice's groups = %+v (Everyone is left out)", a.Groups)
	}
	if len(a.Credentials) != 1 || a.Credentials[0].ID != o.aliceToken || a.Credentials[0].Kind != "api_token" || !a.Credentials[0].Active ||
		!a.Credentials[0].Created.Equal(oktafake.Epoch.Add(-90*24*time.Hour)) || !a.Credentials[0].LastUsed.Equal(oktafake.Epoch.Add(-3*24*time.Hour)) {
		t.Errorf("alice's credentials = %+v", a.Credentials)
	}
	if b := got[o.bob]; b.Privileged || !slices.Equal(groupNames(b.Groups), []string{"Engineering", "Sales"}) || len(b.Credentials) != 0 {
		t.Errorf("bob = %+v", b)
	}
	if g := got[o.gina]; !g.Privileged || g.DisplayName != "Gina G." {
		t.Errorf("gina (member of an admin group) = %+v", g)
	}
	if e := got[o.erin]; !e.LoginTracked || !e.LastLogin.IsZero() {
		t.Errorf("erin never logged in: %+v", e)
	}
	// The listing asked with the filter naming every status: unfiltered, Okta
	// leaves DEPROVISIONED users out.
	if n := f.Count(`GET /api/v1/users?filter=status+eq+%22STAGED%22+or+`); n != 1 {
		t.Errorf("listing requests with the all-status filter: %d\n%s", n, strings.Join(f.RequestLog(), "\n"))
	}
	// The Getter agrees with the listing.
	for id, listed := range got {
		one, err := tg.Account(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if one.Enabled != listed.Enabled || one.Privileged != listed.Privileged || !slices.Equal(one.Groups, listed.Groups) ||
			len(one.Credentials) != len(listed.Credentials) || one.EmployeeID != listed.EmployeeID || !one.LastLogin.Equal(listed.LastLogin) {
			t.Errorf("Account(%s) = %+v\nlisting gave %+v", id, one, listed)
		}
	}
}

func TestPrivilegedGroups(t *testing.T) {
	f := oktafake.New()
	o := seed(f)
	tg, _ := viaPrism(t, f, func(c *Config) { c.PrivilegedGroups = []string{"sales"} })
	got := mustCollect(t, tg)
	if !got[o.bob].Privileged || got[o.carol].Privileged {
		t.Fatalf("bob (in Sales) %+v, carol %+v", got[o.bob], got[o.carol])
	}
	if one, err := tg.Account(t.Context(), o.bob); err != nil || !one.Privileged {
		t.Fatalf("Account(bob) = %+v, %v", one, err)
	}
}

func TestListingSearchAndEmployeeAttribute(t *testing.T) {
	f := oktafake.New()
	o := seed(f)
	f.ByID[o.bob].Profile["employeeId"] = "X-2"
	tg, _ := viaPrism(t, f, func(c *Config) {
		c.Search = `profile.login eq "bob@example.com" or profile.login eq "dave@example.com"`
		c.EmployeeIDAttribute = "profile.employeeId"
	})
	got := mustCollect(t, tg)
	if len(got) != 2 || got[o.bob].EmployeeID != "X-2" || got[o.dave].ID == "" {
		t.Fatalf("search listing = %+v", got)
	}
	if f.Count("GET /api/v1/users?limit=200&search=") != 1 {
		t.Errorf("no search request:\n%s", strings.Join(f.RequestLog(), "\n"))
	}
}

// The fake behind Prism cannot drift: a response leaving Okta's description
// fails the listing.
func TestProxyCatchesFakeDrift(t *testing.T) {
	f := oktafake.New()
	o := seed(f)
	f.ByID[o.bob].Status = "BOGUS"
	tg, _ := viaPrism(t, f, nil)
	_, err := collect(t, tg)
	if err == nil || !strings.Contains(err.Error(), "VIOLATIONS") || !strings.Contains(err.Error(), "status") {
		t.Fatalf("want a VIOLATIONS error naming status, got %v", err)
	}
}

func TestPagingAcrossPages(t *testing.T) {
	f := oktafake.New()
	var ids []string
	for i := range 130 {
		ids = append(ids, f.AddUser(fmt.Sprintf("u%03d", i), fmt.Sprintf("E%03d", i), "ACTIVE"))
	}
	g := f.AddGroup("Big", "OKTA_GROUP", false, ids[:90]...)
	for _, id := range ids[:120] {
		f.Roles[id] = []string{"READ_ONLY_ADMIN"}
	}
	tg, _ := viaPrism(t, f, func(c *Config) { c.PageSize = 40 })
	got := mustCollect(t, tg)
	if len(got) != 130 {
		t.Fatalf("listed %d users over pages, want 130", len(got))
	}
	for i, id := range ids {
		a := got[id]
		if inBig := len(a.Groups) == 1 && a.Groups[0].ID == g; inBig != (i < 90) {
			t.Errorf("%s groups %+v", id, a.Groups)
		}
		if a.Privileged != (i < 120) {
			t.Errorf("%s privileged = %v", id, a.Privileged)
		}
	}
	if n := f.Count("GET /api/v1/users?"); n != 4 {
		t.Errorf("user pages requested: %d, want 4 (130 users by 40)", n)
	}
	if n := f.Count("GET /api/v1/groups/" + g + "/users"); n != 3 {
		t.Errorf("member pages requested: %d, want 3 (90 members by 40)", n)
	}
	if n := f.Count("GET /api/v1/iam/assignees/users"); n != 2 {
		t.Errorf("role holder pages requested: %d, want 2 (120 holders by 100)", n)
	}
}

func TestThrottledPageWaitsRetryAfter(t *testing.T) {
	f := oktafake.New()
	seed(f)
	f.Inject(&oktafake.Fault{Method: "GET", Path: "/api/v1/users", Status: 429, Header: map[string]string{"Retry-After": "7"},
		Body: `{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests.","errorLink":"E0000047","errorId":"x","errorCauses":[]}`})
	tg, s := viaPrism(t, f, nil)
	got := mustCollect(t, tg)
	if len(got) != 7 {
		t.Fatalf("listed %d after a 429, want 7", len(got))
	}
	if w := s.recorded(); !slices.Contains(w, 7*time.Second) {
		t.Fatalf("waits %v: the Retry-After of 7s was not waited for", w)
	}
}

// Okta's 429 carries X-Rate-Limit-Reset, usually without Retry-After: the
// wait runs to the reset.
func TestThrottledWithoutRetryAfterWaitsForReset(t *testing.T) {
	f := oktafake.New()
	seed(f)
	reset := oktafake.Epoch.Add(42 * time.Second).Unix()
	f.Inject(&oktafake.Fault{Method: "GET", Path: "/api/v1/groups", Status: 429, Header: map[string]string{
		"X-Rate-Limit-Limit": "100", "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": fmt.Sprint(reset),
	}, Body: `{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests.","errorLink":"E0000047","errorId":"x","errorCauses":[]}`})
	tg, s := viaPrism(t, f, nil)
	if got := mustCollect(t, tg); len(got) != 7 {
		t.Fatalf("listed %d", len(got))
	}
	w := s.recorded()
	if len(w) == 0 || w[0] < 42*time.Second || w[0] > 45*time.Second {
		t.Fatalf("waits %v, want one of about 43s (to the reset)", w)
	}
}

// With Okta's budget headers the listing slows down and never hits 429.
func TestRateLimitHeadersAvoid429(t *testing.T) {
	f := oktafake.New()
	for i := range 100 {
		f.AddUser(fmt.Sprintf("u%03d", i), "", "ACTIVE")
	}
	f.RateLimit = 4 // per endpoint per minute
	tg, s := viaPrism(t, f, func(c *Config) { c.PageSize = 10 })
	if got := mustCollect(t, tg); len(got) != 100 {
		t.Fatalf("listed %d", len(got))
	}
	if f.Got429 != 0 {
		t.Fatalf("the fake answered %d requests with 429: the connector did not slow down", f.Got429)
	}
	var total time.Duration
	for _, w := range s.recorded() {
		total += w
	}
	// 10 pages at 4 per minute: at least two window resets waited for.
	if total < 2*time.Minute {
		t.Fatalf("waited %v in all (%v), want at least 2m", total, s.recorded())
	}
}

func TestOAuthTokenExpiryMidListing(t *testing.T) {
	f := oktafake.New()
	for i := range 100 {
		f.AddUser(fmt.Sprintf("u%03d", i), "", "ACTIVE")
	}
	app := oauthApp(t, f)
	tg, _ := viaPrism(t, f, func(c *Config) { app(c); c.PageSize = 20 })
	f.InvalidateAfter = 6 // the token dies during the user pages
	if got := mustCollect(t, tg); len(got) != 100 {
		t.Fatalf("listed %d", len(got))
	}
	if f.TokensIssued != 2 {
		t.Fatalf("tokens issued: %d, want 2 (the second after the first was refused)", f.TokensIssued)
	}
	// A token past its lifetime is renewed before use, without a 401.
	f.Advance(2 * time.Hour)
	before := f.Count("POST /oauth2/v1/token")
	if got := mustCollect(t, tg); len(got) != 100 {
		t.Fatalf("listed %d", len(got))
	}
	if f.Count("POST /oauth2/v1/token") != before+1 || f.TokensIssued != 3 {
		t.Fatalf("expired token not renewed: %d token requests", f.Count("POST /oauth2/v1/token"))
	}
}

func TestOAuthScopesNarrowCapabilities(t *testing.T) {
	f := oktafake.New()
	seed(f)
	app := oauthApp(t, f, "okta.users.read", "okta.groups.read", "okta.roles.read", "okta.apiTokens.read")
	tg, _ := viaPrism(t, f, app)
	if caps := tg.Capabilities(); !slices.Equal(caps, []targets.Capability{targets.CanGet}) {
		t.Fatalf("read-only scopes: capabilities %v", caps)
	}
	if got := mustCollect(t, tg); len(got) != 7 {
		t.Fatalf("read-only listing: %d", len(got))
	}
	all, _ := viaPrism(t, f, nil)
	if caps := all.Capabilities(); len(caps) != 5 {
		t.Fatalf("SSWS: capabilities %v", caps)
	}
}

func TestPartialFailureMidListing(t *testing.T) {
	f := oktafake.New()
	for i := range 100 {
		f.AddUser(fmt.Sprintf("u%03d", i), "", "ACTIVE")
	}
	// Five 500s in a row: the first try and the four retries of page 2.
	f.Inject(&oktafake.Fault{Method: "GET", Path: "/api/v1/users", Skip: 1, Times: 5, Status: 500,
		Body: `{"errorCode":"E0000009","errorSummary":"Internal Server Error","errorLink":"E0000009","errorId":"x","errorCauses":[]}`})
	tg, _ := viaPrism(t, f, func(c *Config) { c.PageSize = 30 })
	got, err := collect(t, tg)
	if err == nil {
		t.Fatal("a listing that failed on page 2 ended without an error: it would look complete")
	}
	if len(got) != 30 || !strings.Contains(err.Error(), "page 2") || !strings.Contains(err.Error(), "HTTP 500") {
		t.Fatalf("got %d accounts then %v", len(got), err)
	}
	var te *targets.TransientError
	if !errors.As(err, &te) {
		t.Errorf("a 500 is transient: %v", err)
	}
	t.Logf("the error: %v", err)
}

func TestCredentialEchoRedacted(t *testing.T) {
	forms := func(secret string) []string {
		return []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)), base64.StdEncoding.EncodeToString([]byte("SSWS " + secret))}
	}
	t.Run("ssws", func(t *testing.T) {
		f := oktafake.New()
		o := seed(f)
		echo := fmt.Sprintf(`{"errorCode":"E0000006","errorSummary":"denied for SSWS %s (b64 %s)","errorLink":"E0000006","errorId":"x","errorCauses":[]}`,
			testToken, base64.StdEncoding.EncodeToString([]byte("SSWS "+testToken)))
		f.Inject(&oktafake.Fault{Method: "POST", Status: 403, Body: echo})
		tg, _ := viaPrism(t, f, nil)
		err := tg.Disable(t.Context(), targets.Account{ID: o.alice})
		if err == nil || !errors.Is(err, targets.ErrPermission) {
			t.Fatalf("want a permission error, got %v", err)
		}
		for _, s := range forms(testToken) {
			if strings.Contains(err.Error(), s) {
				t.Fatalf("error carries the credential: %v", err)
			}
		}
		t.Logf("the error: %v", err)
	})
	t.Run("oauth", func(t *testing.T) {
		f := oktafake.New()
		o := seed(f)
		f.EchoAuth = true
		app := oauthApp(t, f, "okta.users.read", "okta.groups.read", "okta.roles.read", "okta.apiTokens.read")
		tg, _ := viaPrism(t, f, app)
		// Not granted okta.users.manage: Okta refuses, and the (careless)
		// error body quotes the Bearer token.
		err := tg.Disable(t.Context(), targets.Account{ID: o.alice})
		if err == nil || !errors.Is(err, targets.ErrPermission) {
			t.Fatalf("want a permission error, got %v", err)
		}
		f.Mu.Lock()
		var issued []string
		for tok := range f.Access {
			issued = append(issued, tok)
		}
		f.Mu.Unlock()
		if len(issued) == 0 {
			t.Fatal("no token issued")
		}
		for _, tok := range issued {
			for _, s := range forms(tok) {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error carries the access token: %v", err)
				}
			}
		}
		if !strings.Contains(err.Error(), "Bearer") {
			t.Fatalf("the echo was not in the error at all (test proves nothing): %v", err)
		}
		t.Logf("the error: %v", err)
	})
}

func TestDisable(t *testing.T) {
	f := oktafake.New()
	o := seed(f)
	tg, _ := viaPrism(t, f, nil)
	ctx := t.Context()
	for range 2 {
		if err := tg.Disable(ctx, targets.Account{ID: o.alice}); err != nil {
			t.Fatal(err)
		}
	}
	if s := f.User(o.alice).Status; s != "SUSPENDED" {
		t.Fatalf("alice is %s after Disable, want SUSPENDED (reversible)", s)
	}
	if n := f.Count("POST /api/v1/users/" + o.alice + "/lifecycle/suspend"); n != 1 {
		t.Errorf("suspend requests: %d, want 1 (the second Disable sees SUSPENDED)", n)
	}
	if got := mustCollect(t, tg); got[o.alice].Enabled || !got[o.bob].Enabled {
		t.Fatalf("after Disable: alice %+v, bob %+v", got[o.alice], got[o.bob])
	}
	for _, id := range []string{o.carol, o.dave, o.erin} { // cannot sign in already
		if err := tg.Disable(ctx, targets.Account{ID: id}); err != nil {
			t.Errorf("Disable(%s, %s): %v", id, f.User(id).Status, err)
		}
	}
	err := tg.Disable(ctx, targets.Account{ID: o.frank})
	if err == nil || !strings.Contains(err.Error(), "LOCKED_OUT") || f.User(o.frank).Status != "LOCKED_OUT" {
		t.Fatalf("Disable of a LOCKED_OUT user: %v (status %s)", err, f.User(o.frank).Status)
	}
	if err := tg.Disable(ctx, targets.Account{ID: "00uNOSUCHUSER"}); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("Disable of a missing user: %v", err)
	}
	if n := f.Count("POST /api/v1/users/" + o.frank + "/lifecycle/deactivate"); n != 0 {
		t.Fatal("suspend mode deactivated someone")
	}

	deact, _ := viaPrism(t, f, func(c *Config) { c.Disable = "deactivate" })
	for _, id := range []string{o.frank, o.carol} {
		if err := deact.Disable(ctx, targets.Account{ID: id}); err != nil {
			t.Fatal(err)
		}
		if s := f.User(id).Status; s != "DEPROVISIONED" {
			t.Fatalf("%s is %s after deactivate", id, s)
		}
	}
	if n := f.Count("POST /api/v1/users/" + o.frank + "/lifecycle/deactivate?sendEmail=false"); n != 1 {
		t.Errorf("deactivate requests for frank: %d", n)
	}
	if got := mustCollect(t, deact); len(got) != 7 || got[o.frank].Enabled {
		t.Fatalf("deactivated users are still listed, disabled: %d, frank %+v", len(got), got[o.frank])
	}
}

func TestRevokeSessions(t *testing.T) {
	f := oktafake.New()
	o := seed(f)
	tg, _ := viaPrism(t, f, nil)
	if err := tg.RevokeSessions(t.Context(), targets.Account{ID: o.alice}); err != nil {
		t.Fatal(err)
	}
	if u := f.User(o.alice); u.Sessions != 0 || u.OAuthTokens != 0 || u.Grants != 0 {
		t.Fatalf("after RevokeSessions: %d sessions, %d OAuth tokens, %d grants", u.Sessions, u.OAuthTokens, u.Grants)
	}
	if u := f.User(o.bob); u.Sessions != 2 || u.OAuthTokens != 3 || u.Grants != 1 {
		t.Fatalf("bob touched: %+v", u)
	}
	if f.Count("DELETE /api/v1/users/"+o.alice+"/sessions?oauthTokens=true") != 1 || f.Count("DELETE /api/v1/users/"+o.alice+"/grants") != 1 {
		t.Fatalf("requests:\n%s", strings.Join(f.RequestLog(), "\n"))
	}
	if err := tg.RevokeSessions(t.Context(), targets.Account{ID: "00uNOSUCHUSER"}); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("missing user: %v", err)
	}
}

func TestRevokeCredential(t *testing.T) {
	f := oktafake.New()
	o := seed(f)
	tg, _ := viaPrism(t, f, nil)
	ctx := t.Context()
	alice, err := tg.Account(ctx, o.alice)
	if err != nil || len(alice.Credentials) != 1 {
		t.Fatalf("alice: %+v %v", alice, err)
	}
	// Someone else's token is not revoked in alice's name.
	if err := tg.RevokeCredential(ctx, targets.Account{ID: o.bob}, alice.Credentials[0]); err == nil {
		t.Fatal("revoked alice's token as bob's")
	}
	for range 2 {
		if err := tg.RevokeCredential(ctx, alice, alice.Credentials[0]); err != nil {
			t.Fatal(err)
		}
	}
	if got := mustCollect(t, tg); len(got[o.alice].Credentials) != 0 {
		t.Fatalf("token still listed: %+v", got[o.alice].Credentials)
	}
	if err := tg.RevokeCredential(ctx, targets.Account{ID: "00uNOSUCHUSER"}, alice.Credentials[0]); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("missing user: %v", err)
	}
}

func TestRemoveFromGroup(t *testing.T) {
	f := oktafake.New()
	o := seed(f)
	tg, _ := viaPrism(t, f, nil)
	ctx := t.Context()
	bob := targets.Account{ID: o.bob}
	eng := targets.Group{ID: o.eng, Name: "Engineering"}
	for range 2 {
		if err := tg.RemoveFromGroup(ctx, bob, eng); err != nil {
			t.Fatal(err)
		}
	}
	err := tg.RemoveFromGroup(ctx, bob, targets.Group{ID: o.sales, Name: "Sales"})
	if err == nil || !strings.Contains(err.Error(), "APP_GROUP") {
		t.Fatalf("APP_GROUP removal: %v", err)
	}
	got := mustCollect(t, tg)
	if !slices.Equal(groupNames(got[o.bob].Groups), []string{"Sales"}) || !slices.Equal(groupNames(got[o.alice].Groups), []string{"Engineering"}) {
		t.Fatalf("after removal: bob %v, alice %v", got[o.bob].Groups, got[o.alice].Groups)
	}
	if err := tg.RemoveFromGroup(ctx, bob, targets.Group{ID: "00gNOSUCHGROUP", Name: "Gone"}); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("missing group: %v", err)
	}
	if err := tg.RemoveFromGroup(ctx, targets.Account{ID: "00uNOSUCHUSER"}, eng); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("missing user: %v", err)
	}
}

func TestNextLinkMustStayOnOrg(t *testing.T) {
	tg, err := newTarget(Config{OrgURL: "https://example.okta.com", Token: "x"}, slog.New(slog.DiscardHandler), deps{})
	if err != nil {
		t.Fatal(err)
	}
	from := tg.api.url("/api/v1/users", nil)
	n, err := tg.api.next([]string{`<https://example.okta.com/api/v1/users?after=00u2&limit=200>; rel="next", <https://example.okta.com/api/v1/users?limit=200>; rel="self"`}, from)
	if err != nil || n == nil || n.Query().Get("after") != "00u2" {
		t.Fatalf("next = %v, %v", n, err)
	}
	if n, err := tg.api.next([]string{`<https://example.okta.com/api/v1/users>; rel="self"`}, from); n != nil || err != nil {
		t.Fatalf("last page: %v %v", n, err)
	}
	if _, err := tg.api.next([]string{`<https://evil.example/api/v1/users?after=1>; rel="next"`}, from); err == nil {
		t.Fatal("followed a next link off the org")
	}
}

func TestISODuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"P30D": 30 * 24 * time.Hour, "PT12H": 12 * time.Hour, "P1W": 7 * 24 * time.Hour, "P1DT1H30M": 25*time.Hour + 30*time.Minute,
		"P": -1, "PT": -1, "P30": -1, "30D": -1, "P1H": -1, "": -1,
	} {
		got, ok := isoDuration(in)
		if (want < 0) == ok || (ok && got != want) {
			t.Errorf("isoDuration(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
}

func TestNewValidates(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "org_url"},
		{Config{OrgURL: "example.okta.com", Token: "x"}, "org_url"},
		{Config{OrgURL: "https://example.okta.com/api/v1", Token: "x"}, "org_url"},
		{Config{OrgURL: "https://example.okta.com"}, "token"},
		{Config{OrgURL: "https://example.okta.com", Token: "x", Disable: "delete"}, "disable"},
		{Config{OrgURL: "https://example.okta.com", Token: "x", Search: "a", Filter: "b"}, "search"},
		{Config{OrgURL: "https://example.okta.com", Token: "x", PageSize: 500}, "page_size"},
		{Config{OrgURL: "https://example.okta.com", Auth: "oauth"}, "client_id"},
		{Config{OrgURL: "https://example.okta.com", Auth: "oauth", ClientID: "c"}, "private_key"},
		{Config{OrgURL: "https://example.okta.com", Auth: "oauth", ClientID: "c", PrivateKey: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}, "PKCS#8"},
		{Config{OrgURL: "https://example.okta.com", Auth: "magic"}, "auth"},
	} {
		_, err := New(c.cfg, log)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want an error about %s", c.cfg, err, c.want)
		}
	}
	if _, err := New(Config{OrgURL: "https://example.okta.com", Token: "x"}, nil); err == nil {
		t.Error("New accepted a nil logger")
	}
}
