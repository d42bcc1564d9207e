package entra

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/entra/entrafake"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

// logBuffer captures the connector's log.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, nil))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func newTestTarget(t testing.TB, f *entrafake.Graph, mod func(*Config)) (*Target, *sleepLog) {
	t.Helper()
	cfg := fakeConfig(t, f)
	if mod != nil {
		mod(&cfg)
	}
	tg, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	sl := &sleepLog{}
	tg.client.Sleep = sl.sleep
	return tg, sl
}

func listAll(t testing.TB, tg targets.Target) []targets.Account {
	t.Helper()
	var out []targets.Account
	for a, err := range tg.Accounts(context.Background()) {
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

func countRequests(reqs []string, prefix string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func TestConformance(t *testing.T) {
	for _, mode := range []string{GroupsMembers, GroupsMemberOf} {
		t.Run(mode, func(t *testing.T) {
			targettest.Run(t, func(t *testing.T) targettest.Fixture {
				f := entrafake.New(t)
				f.Seed(10)
				tg, _ := newTestTarget(t, f, func(c *Config) { c.Groups = mode })
				return targettest.Fixture{Target: tg, Enabled: []string{entrafake.GUID('u', 1), entrafake.GUID('u', 2)}, MinAccounts: 10}
			})
		})
	}
}

// TestListing: the exact $select, $top=999, paging through four pages (Graph
// gives at most 120 users a page with signInActivity), and the mapping.
func TestListing(t *testing.T) {
	f := entrafake.New(t)
	f.Seed(400)
	tg, _ := newTestTarget(t, f, nil)
	as := listAll(t, tg)
	if len(as) != 400 {
		t.Fatalf("listed %d users, want 400", len(as))
	}
	reqs := f.Requests()
	const wantFirst = "GET /v1.0/users?$select=id,userPrincipalName,mail,employeeId,accountEnabled,createdDateTime,signInActivity,userType,onPremisesSamAccountName,onPremisesSyncEnabled&$top=999"
	if !slices.Contains(reqs, wantFirst) {
		t.Errorf("no request %q in %q", wantFirst, reqs)
	}
	if n := countRequests(reqs, "GET /v1.0/users?"); n != 4 {
		t.Errorf("%d user pages requested, want 4 (400 users, 120 a page)", n)
	}
	if n := countRequests(reqs, "GET /v1.0/roleManagement/directory/roleAssignments?"); n != 2 {
		t.Errorf("%d role assignment pages, want 2 (3 assignments, 2 a page)", n)
	}
	if n := countRequests(reqs, "GET /v1.0/groups/"); n != 4 {
		t.Errorf("%d group member requests, want one per group (4)", n)
	}
	m := byID(as)
	u0, u1, u3 := m[entrafake.GUID('u', 0)], m[entrafake.GUID('u', 1)], m[entrafake.GUID('u', 3)]
	if u0.Username != "u0@contoso.example" || u0.Email != "u0@contoso.example" || u0.EmployeeID != "E00000" || !u0.Enabled {
		t.Errorf("u0 = %+v", u0)
	}
	if !u0.Privileged || u1.Privileged {
		t.Errorf("privileged: u0 %v (Global Administrator), u1 %v (none)", u0.Privileged, u1.Privileged)
	}
	if !u3.Privileged {
		t.Error("u3 is in a role-assignable group holding Global Administrator, listed as not privileged")
	}
	if !u0.LoginTracked || !u0.LastLogin.Equal(time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("u0 login: tracked %v, last %v", u0.LoginTracked, u0.LastLogin)
	}
	if !u1.LoginTracked || !u1.LastLogin.IsZero() {
		t.Errorf("u1 never signed in: tracked %v, last %v", u1.LoginTracked, u1.LastLogin)
	}
	if !u1.Created.Equal(time.Date(2023, 3, 1, 9, 1, 0, 0, time.UTC)) {
		t.Errorf("u1 created %v", u1.Created)
	}
	want0 := []targets.Group{{ID: entrafake.GUID('g', 1), Name: "Staff"}, {ID: entrafake.GUID('g', 2), Name: "Finance"}, {ID: entrafake.GUID('g', 3), Name: "All Members (dynamic)"}}
	if !reflect.DeepEqual(u0.Groups, want0) {
		t.Errorf("u0 groups = %+v, want %+v", u0.Groups, want0)
	}
	// member_of gives the same groups and privilege.
	tg2, _ := newTestTarget(t, f, func(c *Config) { c.Groups = GroupsMemberOf })
	m2 := byID(listAll(t, tg2))
	for _, id := range []string{entrafake.GUID('u', 0), entrafake.GUID('u', 1), entrafake.GUID('u', 3), entrafake.GUID('u', 399)} {
		if !reflect.DeepEqual(m[id].Groups, m2[id].Groups) || m[id].Privileged != m2[id].Privileged {
			t.Errorf("%s: members mode %+v / member_of mode %+v", id, m[id], m2[id])
		}
	}
}

func TestUsernameSamAccountName(t *testing.T) {
	f := entrafake.New(t)
	f.Seed(2)
	f.UserByID[entrafake.GUID('u', 1)].Sam = "jdoe"
	tg, _ := newTestTarget(t, f, func(c *Config) { c.Username = UsernameSamAccountName })
	m := byID(listAll(t, tg))
	if m[entrafake.GUID('u', 1)].Username != "jdoe" || m[entrafake.GUID('u', 0)].Username != "u0@contoso.example" {
		t.Errorf("usernames: %q, %q", m[entrafake.GUID('u', 1)].Username, m[entrafake.GUID('u', 0)].Username)
	}
}

// TestSignInActivityRefused: without the licence/permission, Graph refuses
// the listing that selects signInActivity; the connector lists without it,
// marks logins untracked and warns once.
func TestSignInActivityRefused(t *testing.T) {
	f := entrafake.New(t)
	f.Seed(300)
	f.SignInActivityAllowed = false
	var logs logBuffer
	cfg := fakeConfig(t, f)
	tg, err := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	as := listAll(t, tg)
	if len(as) != 300 {
		t.Fatalf("listed %d users, want 300", len(as))
	}
	for _, a := range as {
		if a.LoginTracked || !a.LastLogin.IsZero() {
			t.Fatalf("%s: LoginTracked %v, LastLogin %v without signInActivity", a.ID, a.LoginTracked, a.LastLogin)
		}
	}
	if n := strings.Count(logs.String(), "Graph refused signInActivity"); n != 1 {
		t.Errorf("%d warnings about signInActivity, want 1:\n%s", n, logs.String())
	}
	reqs := f.Requests()
	if n := countRequests(reqs, "GET /v1.0/users?$select=id,userPrincipalName,mail,employeeId,accountEnabled,createdDateTime,userType,onPremisesSamAccountName,onPremisesSyncEnabled&$top=999"); n != 1 {
		t.Errorf("%d first pages without signInActivity, want 1: %q", n, reqs)
	}
	a, err := tg.Account(context.Background(), entrafake.GUID('u', 0))
	if err != nil || a.LoginTracked || a.ID != entrafake.GUID('u', 0) {
		t.Fatalf("get without signInActivity: %+v, %v", a, err)
	}
	// skip_sign_in_activity avoids the refused request altogether.
	tg2, _ := newTestTarget(t, f, func(c *Config) { c.SkipSignInActivity = true })
	before := len(f.Requests())
	listAll(t, tg2)
	for _, r := range f.Requests()[before:] {
		if strings.Contains(r, "signInActivity") {
			t.Errorf("skip_sign_in_activity: still asked %s", r)
		}
	}
}

// TestThrottling: 429 and 503 with Retry-After are waited for (as asked,
// capped by max_retry_wait) and the listing completes.
func TestThrottling(t *testing.T) {
	f := entrafake.New(t)
	f.Seed(300)
	var mu sync.Mutex
	throttled := 0
	f.Fault = func(r *http.Request, n int) (int, http.Header, string) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/v1.0/users" && strings.Contains(r.URL.RawQuery, "skiptoken") && throttled < 3 {
			throttled++
			if throttled == 3 {
				return 503, http.Header{"Retry-After": {"2"}}, `{"error":{"code":"serviceNotAvailable","message":"Service unavailable"}}`
			}
			return 429, http.Header{"Retry-After": {"7"}}, `{"error":{"code":"TooManyRequests","message":"Too many requests"}}`
		}
		return 0, nil, ""
	}
	tg, sl := newTestTarget(t, f, nil)
	if as := listAll(t, tg); len(as) != 300 {
		t.Fatalf("listed %d, want 300", len(as))
	}
	if got, want := sl.all(), []time.Duration{7 * time.Second, 7 * time.Second, 2 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
	// A Retry-After beyond max_retry_wait is capped.
	mu.Lock()
	throttled = 0
	mu.Unlock()
	tg2, sl2 := newTestTarget(t, f, func(c *Config) { c.MaxRetryWait = 3 * time.Second })
	listAll(t, tg2)
	if got := sl2.all(); len(got) != 3 || got[0] != 3*time.Second {
		t.Errorf("capped waits %v, want 3s first", got)
	}
}

// TestTokenExpiryMidListing: Graph rejects the token in the middle of a
// listing; the connector gets a new one and carries on from the same page.
func TestTokenExpiryMidListing(t *testing.T) {
	f := entrafake.New(t)
	f.Seed(300)
	var once sync.Once
	f.Fault = func(r *http.Request, n int) (int, http.Header, string) {
		hit := false
		if r.URL.Path == "/v1.0/users" && strings.Contains(r.URL.RawQuery, "skiptoken") {
			once.Do(func() { hit = true })
		}
		if hit {
			f.ExpireTokens()
			return 401, nil, `{"error":{"code":"InvalidAuthenticationToken","message":"Lifetime validation failed, the token is expired."}}`
		}
		return 0, nil, ""
	}
	tg, _ := newTestTarget(t, f, nil)
	as := listAll(t, tg)
	if len(as) != 300 || len(byID(as)) != 300 {
		t.Fatalf("listed %d (%d distinct), want 300", len(as), len(byID(as)))
	}
	f.Mu.Lock()
	n := f.TokenCount
	f.Mu.Unlock()
	if n != 2 {
		t.Errorf("%d tokens issued, want 2 (one re-fetched mid-listing)", n)
	}
	// A token refused again right after a new one is an error, not a loop.
	f.Fault = func(r *http.Request, n int) (int, http.Header, string) {
		return 401, nil, `{"error":{"code":"InvalidAuthenticationToken","message":"Access token validation failure."}}`
	}
	var err error
	for _, e := range tg.Accounts(context.Background()) {
		err = e
	}
	if !errors.Is(err, targets.ErrPermission) {
		t.Fatalf("repeated 401: %v, want ErrPermission", err)
	}
}

// TestPartialFailure: a page that keeps failing ends the listing with an
// error after the accounts already yielded: the collection is partial.
func TestPartialFailure(t *testing.T) {
	f := entrafake.New(t)
	f.Seed(400)
	f.Fault = func(r *http.Request, n int) (int, http.Header, string) {
		if r.URL.Path == "/v1.0/users" && strings.Contains(r.URL.RawQuery, "$skiptoken="+base64.RawURLEncoding.EncodeToString([]byte("off:240"))) {
			return 500, nil, `{"error":{"code":"UnknownError","message":"backend unavailable"}}`
		}
		return 0, nil, ""
	}
	tg, sl := newTestTarget(t, f, nil)
	n := 0
	var last error
	for a, err := range tg.Accounts(context.Background()) {
		if err != nil {
			last = err
			break
		}
		if a.ID == "" {
			t.Fatal("empty account")
		}
		n++
	}
	if n != 240 {
		t.Errorf("yielded %d accounts before the failure, want 240 (two pages)", n)
	}
	if last == nil || !strings.Contains(last.Error(), "HTTP 500") {
		t.Fatalf("listing ended with %v, want the page's HTTP 500", last)
	}
	if len(sl.all()) != 4 {
		t.Errorf("retried %d times, want 4", len(sl.all()))
	}
}

// TestCredentialEchoRedacted: error bodies that echo the secret or the
// access token (plain, base64, in Basic auth) leave no trace in errors.
func TestCredentialEchoRedacted(t *testing.T) {
	f := entrafake.New(t)
	f.Seed(3)
	secret := "fake-client-secret-Zq8~x"
	var mu sync.Mutex
	var seenToken string
	f.Fault = func(r *http.Request, n int) (int, http.Header, string) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		mu.Lock()
		seenToken = tok
		mu.Unlock()
		basic := base64.StdEncoding.EncodeToString([]byte(f.Client + ":" + secret))
		return 400, nil, fmt.Sprintf(`{"error":{"code":"BadRequest","message":"echo: %s / Bearer %s / Basic %s / %s"}}`,
			secret, tok, basic, base64.StdEncoding.EncodeToString([]byte(tok)))
	}
	tg, _ := newTestTarget(t, f, nil)
	var err error
	for _, e := range tg.Accounts(context.Background()) {
		err = e
	}
	if err == nil {
		t.Fatal("no error")
	}
	mu.Lock()
	tok := seenToken
	mu.Unlock()
	t.Logf("error with echoed credentials: %s", err)
	checkNoTrace(t, err.Error(), secret, tok)
	if !strings.Contains(err.Error(), "REDACTED") {
		t.Errorf("error does not show the redaction: %s", err)
	}
	err = tg.Disable(context.Background(), targets.Account{ID: entrafake.GUID('u', 1)})
	checkNoTrace(t, err.Error(), secret, tok)

	// The token endpoint echoing the secret: azidentity's error carries
	// the body; ours does not.
	f2 := entrafake.New(t)
	cfg := fakeConfig(t, f2)
	for _, sf := range cfg.SecretFields() {
		*sf.Value = "wrong-secret-value-echoed"
	}
	f2.Secret = "something else"
	tg2, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	origToken := f2.Srv.Config.Handler
	f2.Srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/token") {
			_ = r.ParseForm()
			s := r.PostForm.Get("client_secret")
			entrafake.TokenError(w, 401, "invalid_client", "AADSTS7000215: Invalid client secret provided: "+s+" "+base64.StdEncoding.EncodeToString([]byte("x:"+s)))
			return
		}
		origToken.ServeHTTP(w, r)
	})
	for _, e := range tg2.Accounts(context.Background()) {
		err = e
	}
	if err == nil || !errors.Is(err, targets.ErrPermission) {
		t.Fatalf("bad secret: %v, want ErrPermission", err)
	}
	checkNoTrace(t, err.Error(), "wrong-secret-value-echoed", "")
}

func checkNoTrace(t *testing.T, msg string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		forms := []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s))}
		for k := 1; k < 3; k++ {
			forms = append(forms, base64.StdEncoding.EncodeToString([]byte(s[k:]))[:8])
		}
		for _, fm := range forms {
			if strings.Contains(msg, fm) {
				t.Errorf("error carries %q (a form of a secret): %s", fm, msg)
			}
		}
	}
}

// TestHybridUser: a user synchronised from AD is not disabled through Graph
// (no PATCH is sent: a manual step names AD), but its sessions are revoked.
func TestHybridUser(t *testing.T) {
	f := entrafake.New(t)
	f.Seed(3)
	f.UserByID[entrafake.GUID('u', 2)].Synced = true
	f.UserByID[entrafake.GUID('u', 2)].Sam = "hybrid2"
	tg, _ := newTestTarget(t, f, nil)
	a := byID(listAll(t, tg))[entrafake.GUID('u', 2)]
	err := tg.Disable(context.Background(), a)
	var ms *ManualStepError
	if !errors.As(err, &ms) || !errors.Is(err, ErrManualStep) {
		t.Fatalf("disable of a hybrid user: %v, want a ManualStepError", err)
	}
	if !strings.Contains(err.Error(), "Active Directory") || !strings.Contains(err.Error(), "onPremisesSyncEnabled") {
		t.Errorf("the manual step does not say where to disable: %v", err)
	}
	if n := countRequests(f.Requests(), "PATCH "); n != 0 {
		t.Errorf("%d PATCH requests sent for a hybrid user", n)
	}
	if !f.User(a.ID).Enabled {
		t.Fatal("hybrid user disabled")
	}
	if err := tg.RevokeSessions(context.Background(), a); err != nil {
		t.Fatalf("revoke sessions of a hybrid user: %v", err)
	}
	if f.User(a.ID).SessionsValidFrom.IsZero() {
		t.Fatal("sessions not revoked")
	}
}

// TestDisableAndRevoke: disable really disables (a second listing shows
// it), touches nobody else, and a second call sends nothing.
func TestDisableAndRevoke(t *testing.T) {
	f := entrafake.New(t)
	f.Seed(5)
	tg, _ := newTestTarget(t, f, nil)
	a := byID(listAll(t, tg))[entrafake.GUID('u', 1)]
	if err := tg.Disable(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if err := tg.RevokeSessions(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	patches := countRequests(f.Requests(), "PATCH ")
	if err := tg.Disable(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if countRequests(f.Requests(), "PATCH ") != patches || patches != 1 {
		t.Errorf("PATCH requests: %d after first disable, %d after second", patches, countRequests(f.Requests(), "PATCH "))
	}
	m := byID(listAll(t, tg))
	if m[a.ID].Enabled {
		t.Fatal("still enabled in the next listing")
	}
	for id, n := range f.Writes {
		if id != a.ID && n > 0 {
			t.Errorf("user %s was written to", id)
		}
	}
	if err := tg.RevokeSessions(context.Background(), targets.Account{ID: "no-such-user"}); !errors.Is(err, targets.ErrNotFound) {
		t.Errorf("revoke of a missing user: %v", err)
	}
}

// TestRemoveFromGroup: a plain group's membership goes; dynamic and
// role-assignable groups are manual steps (nothing sent); a membership
// already gone is fine.
func TestRemoveFromGroup(t *testing.T) {
	f := entrafake.New(t)
	f.Seed(5)
	tg, _ := newTestTarget(t, f, nil)
	m := byID(listAll(t, tg))
	a0, a3 := m[entrafake.GUID('u', 0)], m[entrafake.GUID('u', 3)]
	fin := targets.Group{ID: entrafake.GUID('g', 2), Name: "Finance"}
	for range 2 {
		if err := tg.RemoveFromGroup(context.Background(), a0, fin); err != nil {
			t.Fatal(err)
		}
	}
	if f.IsMember(fin.ID, a0.ID) {
		t.Fatal("still a member")
	}
	for _, g := range []targets.Group{{ID: entrafake.GUID('g', 3), Name: "All Members (dynamic)"}, {ID: entrafake.GUID('g', 4), Name: "Tier0 Admins"}} {
		before := countRequests(f.Requests(), "DELETE ")
		err := tg.RemoveFromGroup(context.Background(), a3, g)
		if !errors.Is(err, ErrManualStep) {
			t.Errorf("remove from %s: %v, want a manual step", g.Name, err)
		}
		if countRequests(f.Requests(), "DELETE ") != before {
			t.Errorf("remove from %s sent a DELETE", g.Name)
		}
		if !f.IsMember(g.ID, a3.ID) {
			t.Errorf("removed from %s", g.Name)
		}
	}
	if err := tg.RemoveFromGroup(context.Background(), targets.Account{ID: "gone"}, fin); !errors.Is(err, targets.ErrNotFound) {
		t.Errorf("remove of a missing user: %v", err)
	}
	if err := tg.RemoveFromGroup(context.Background(), a0, targets.Group{ID: "gone", Name: "Gone"}); !errors.Is(err, targets.ErrNotFound) {
		t.Errorf("remove from a missing group: %v", err)
	}
}

// TestNextLinkElsewhere: a next link to another host is not followed (the
// token would go with it).
func TestNextLinkElsewhere(t *testing.T) {
	f := entrafake.New(t)
	f.Seed(3)
	f.Fault = func(r *http.Request, n int) (int, http.Header, string) {
		if r.URL.Path == "/v1.0/users" {
			return 200, nil, `{"@odata.nextLink":"https://graph.example.net/v1.0/users?$skiptoken=x","value":[{"id":"x1"}]}`
		}
		return 0, nil, ""
	}
	tg, _ := newTestTarget(t, f, nil)
	var err error
	n := 0
	for _, e := range tg.Accounts(context.Background()) {
		if e != nil {
			err = e
			break
		}
		n++
	}
	if err == nil || !strings.Contains(err.Error(), "not followed") || n != 1 {
		t.Fatalf("after %d accounts: %v", n, err)
	}
}

func TestAuthCertificate(t *testing.T) {
	f := entrafake.New(t)
	f.Seed(3)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f.CertKey = &key.PublicKey
	cfg := fakeConfig(t, f)
	cfg.Auth, cfg.ClientSecretEnv = AuthCertificate, ""
	cfg.CertificateFile = "app.pem"
	fields := cfg.SecretFields()
	if len(fields) != 2 || fields[0].File != "app.pem" || !fields[1].Optional {
		t.Fatalf("secret fields %+v", fields)
	}
	*fields[0].Value = targets.Secret(certificatePEM(t, key))
	tg, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if as := listAll(t, tg); len(as) != 3 {
		t.Fatalf("listed %d", len(as))
	}
	// A key the tenant does not know is refused.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	*fields[0].Value = targets.Secret(certificatePEM(t, other))
	tg2, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tg2.Accounts(context.Background()) {
		err = e
	}
	if !errors.Is(err, targets.ErrPermission) {
		t.Fatalf("unknown certificate: %v", err)
	}
}

// TestAuthWorkloadIdentity: the federated token is read from its file for
// each new access token (Kubernetes rotates it).
func TestAuthWorkloadIdentity(t *testing.T) {
	f := entrafake.New(t)
	f.Seed(3)
	dir := t.TempDir()
	file := filepath.Join(dir, "azure-identity-token")
	var mu sync.Mutex
	current := "eyJhbGciOiJSUzI1NiJ9.sa-token-1.sig"
	f.Federated = func() string { mu.Lock(); defer mu.Unlock(); return current }
	if err := os.WriteFile(file, []byte(current), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fakeConfig(t, f)
	cfg.Auth, cfg.ClientSecretEnv = AuthWorkloadIdentity, ""
	cfg.FederatedTokenFile = "azure-identity-token"
	cfg.ResolvePaths(dir)
	if cfg.FederatedTokenFile != file {
		t.Fatalf("ResolvePaths: %s", cfg.FederatedTokenFile)
	}
	if len(cfg.SecretFields()) != 0 {
		t.Fatal("workload identity needs no secret fields")
	}
	tg, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	listAll(t, tg)
	// Rotate the service account token and expire the access token.
	mu.Lock()
	current = "eyJhbGciOiJSUzI1NiJ9.sa-token-2.sig"
	mu.Unlock()
	if err := os.WriteFile(file, []byte(current), 0o600); err != nil {
		t.Fatal(err)
	}
	f.ExpireTokens()
	if as := listAll(t, tg); len(as) != 3 {
		t.Fatalf("listed %d after rotation", len(as))
	}
}

func TestConfigErrors(t *testing.T) {
	f := entrafake.New(t)
	base := fakeConfig(t, f)
	for name, mod := range map[string]func(*Config){
		"no tenant":      func(c *Config) { c.TenantID = "" },
		"no client":      func(c *Config) { c.ClientID = "" },
		"http authority": func(c *Config) { c.AuthorityHost = "http://login.example/" },
		"graph path":     func(c *Config) { c.GraphURL = "https://graph.microsoft.com/v1.0" },
		"bad auth":       func(c *Config) { c.Auth = "password" },
		"no secret":      func(c *Config) { c.clientSecret = "" },
		"groups":         func(c *Config) { c.Groups = "transitive" },
		"page size":      func(c *Config) { c.PageSize = 1000 },
		"username":       func(c *Config) { c.Username = "mail" },
		"no token file":  func(c *Config) { c.Auth = AuthWorkloadIdentity },
		"bad cert":       func(c *Config) { c.Auth = AuthCertificate; c.certificate = "not a pem" },
		"missing ca":     func(c *Config) { c.CAFile = "/nonexistent/ca.pem" },
	} {
		cfg := base
		mod(&cfg)
		if _, err := New(cfg, testLogger(t)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(base, nil); err == nil {
		t.Error("nil logger accepted")
	}
}

// TestRefusals: a listing refused outright (no User.Read.All) is a
// permission error after one fallback, and a failing token endpoint is
// transient, not a permission problem.
func TestRefusals(t *testing.T) {
	f := entrafake.New(t)
	f.Seed(3)
	f.Fault = func(r *http.Request, n int) (int, http.Header, string) {
		if r.URL.Path == "/v1.0/users" {
			return 403, nil, `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`
		}
		return 0, nil, ""
	}
	tg, _ := newTestTarget(t, f, nil)
	var err error
	for _, e := range tg.Accounts(context.Background()) {
		err = e
	}
	if !errors.Is(err, targets.ErrPermission) || !strings.Contains(err.Error(), "Insufficient privileges") {
		t.Fatalf("refused listing: %v", err)
	}
	if n := countRequests(f.Requests(), "GET /v1.0/users?"); n != 2 {
		t.Errorf("%d listing attempts, want 2 (with and without signInActivity)", n)
	}

	f2 := entrafake.New(t)
	tg2, _ := newTestTarget(t, f2, func(c *Config) { c.tokenRetries = -1 })
	orig := f2.Srv.Config.Handler
	f2.Srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/token") {
			entrafake.TokenError(w, 503, "temporarily_unavailable", "AADSTS50196: try again")
			return
		}
		orig.ServeHTTP(w, r)
	})
	for _, e := range tg2.Accounts(context.Background()) {
		err = e
	}
	var te *targets.TransientError
	if !errors.As(err, &te) || errors.Is(err, targets.ErrPermission) {
		t.Fatalf("token endpoint 503: %v, want a transient error", err)
	}
}
