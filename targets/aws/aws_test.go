package aws

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/aws/awsfake"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

const (
	testKeyID  = "AKIDTESTEXAMPLE00001"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
	testToken  = "FwoGZXIvYXdzEXAMPLE//sessiontoken+with/specials=="
)

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// recordingBackoff stands in for the SDK's jittered backoff: it records each
// wait the retryer asks for and waits only a millisecond.
type recordingBackoff struct {
	mu    sync.Mutex
	waits []string // error code of each retried attempt
}

func (b *recordingBackoff) BackoffDelay(attempt int, err error) (time.Duration, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	code := "?"
	var api interface{ ErrorCode() string }
	if errors.As(err, &api) {
		code = api.ErrorCode()
	}
	b.waits = append(b.waits, code)
	return time.Millisecond, nil
}

func (b *recordingBackoff) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.waits)
}

type harness struct {
	sleeps  atomic.Int64 // credential-report polls waited for
	fake    *awsfake.IAM
	srv     *httptest.Server
	target  *Target
	backoff *recordingBackoff
	ids     map[string]string // user name -> user ID
}

// seedStandard seeds the users the tests talk about:
//   - alice: console password (signed in 3 days ago), one key used yesterday, in
//     Developers (ReadOnlyAccess), tagged EmployeeID E001 and Email
//   - bob: console password only, no keys, in Admins (AdministratorAccess)
//   - carol: no console, a key never used (active) and an inactive key, an
//     inline policy granting iam:*
//   - dave: no console, no keys (cannot sign in at all), customer-managed
//     policy IAMAdmins (iam:*) attached; alice has BillingRead (not privileged)
//   - erin: a key used 400 days ago, in Ops whose inline policy grants *:*
func seedStandard(f *awsfake.IAM) {
	now := f.Now
	f.AddGroup("Developers", "arn:aws:iam::aws:policy/ReadOnlyAccess")
	f.AddGroup("Admins", "arn:aws:iam::aws:policy/AdministratorAccess")
	ops := f.AddGroup("Ops")
	ops.Inline["everything"] = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*:*","Resource":"*"}}`

	alice := f.AddUser("alice")
	alice.Console, alice.ConsoleCreated, alice.PasswordLastUsed = true, now.AddDate(0, -6, 0), now.AddDate(0, 0, -3)
	f.AddKey(alice, "Active", now.AddDate(0, -2, 0), now.AddDate(0, 0, -1))
	alice.Groups = []string{"Developers"}
	alice.Tags["EmployeeID"] = "E001"
	alice.Tags["Email"] = "alice@example.com"
	alice.Tags["CostCenter"] = "42"

	bob := f.AddUser("bob")
	bob.Console, bob.ConsoleCreated = true, now.AddDate(-1, 0, 0)
	bob.Groups = []string{"Admins"}
	bob.Tags["EmployeeID"] = "E002"

	carol := f.AddUser("carol")
	f.AddKey(carol, "Active", now.AddDate(0, 0, -10), time.Time{})
	f.AddKey(carol, "Inactive", now.AddDate(-1, 0, 0), now.AddDate(0, -3, 0))
	carol.Inline["iam-admin"] = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"},{"Effect":"Allow","Action":["ec2:Describe*","IAM:*"],"Resource":"*"}]}`

	f.AddPolicy("arn:aws:iam::"+awsfake.Account+":policy/IAMAdmins", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`)
	f.AddPolicy("arn:aws:iam::"+awsfake.Account+":policy/BillingRead", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"aws-portal:View*","Resource":"*"}]}`)
	alice.Attached = []string{"arn:aws:iam::" + awsfake.Account + ":policy/BillingRead"}
	f.AddUser("dave").Attached = []string{"arn:aws:iam::" + awsfake.Account + ":policy/IAMAdmins"}

	erin := f.AddUser("erin")
	f.AddKey(erin, "Active", now.AddDate(-2, 0, 0), now.AddDate(0, 0, -400))
	erin.Groups = []string{"Ops"}
}

// isolateAWSEnv keeps the machine's AWS settings out of the SDK's
// configuration loading (this machine sets AWS_CA_BUNDLE; a CI runner may
// set a profile or a region).
func isolateAWSEnv(t testing.TB) {
	t.Helper()
	for _, k := range []string{"AWS_CA_BUNDLE", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL_STS", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent/accessrecon-aws-config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/accessrecon-aws-credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

type harnessOption func(*Config)

func listing(mode string) harnessOption { return func(c *Config) { c.Listing = mode } }

var modes = []string{ListingBulk, ListingPerUser}

func newHarness(t testing.TB, seed func(*awsfake.IAM), opts ...harnessOption) *harness {
	t.Helper()
	isolateAWSEnv(t)
	f := awsfake.New(t)
	if seed != nil {
		seed(f)
	}
	h := &harness{fake: f, srv: f.Serve(t), backoff: &recordingBackoff{}, ids: map[string]string{}}
	for _, u := range f.Users {
		h.ids[u.Name] = u.ID
	}
	cfg := Config{
		Endpoint:      h.srv.URL,
		TagEmployeeID: "EmployeeID",
		TagEmail:      "Email",
		MaxAttempts:   4,
	}
	cfg.accessKeyID, cfg.secretAccessKey = testKeyID, testSecret
	for _, o := range opts {
		o(&cfg)
	}
	tg, err := newTarget(context.Background(), cfg, testLogger(t), options{backoff: h.backoff, sleep: func(ctx context.Context, d time.Duration) error {
		h.sleeps.Add(1)
		return ctx.Err()
	}})
	if err != nil {
		t.Fatalf("new target: %v", err)
	}
	h.target = tg
	return h
}

func listAll(t testing.TB, tg targets.Target) []targets.Account {
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

func byName(t testing.TB, as []targets.Account, name string) targets.Account {
	t.Helper()
	for _, a := range as {
		if a.Username == name {
			return a
		}
	}
	t.Fatalf("user %s not listed", name)
	return targets.Account{}
}

func TestConformance(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			targettest.Run(t, func(t *testing.T) targettest.Fixture {
				h := newHarness(t, seedStandard, listing(mode), func(c *Config) { c.PageSize = 2; c.RevokeSessions = true })
				return targettest.Fixture{Target: h.target, Enabled: []string{h.ids["alice"], h.ids["bob"]}, MinAccounts: 5}
			})
		})
	}
}

func TestMapping(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) { testMapping(t, mode) })
	}
}

func testMapping(t *testing.T, mode string) {
	h := newHarness(t, seedStandard, listing(mode))
	as := listAll(t, h.target)
	if len(as) != 5 {
		t.Fatalf("listed %d accounts, want 5", len(as))
	}
	now := h.fake.Now
	day := func(d int) time.Time { return now.AddDate(0, 0, d) }

	alice := byName(t, as, "alice")
	if alice.ID != h.ids["alice"] || !strings.HasPrefix(alice.ID, "AIDA") || alice.EmployeeID != "E001" || alice.Email != "alice@example.com" ||
		!alice.Enabled || alice.Privileged || !alice.LoginTracked || !alice.LastLogin.Equal(day(-1)) || !alice.Created.Equal(now.AddDate(-1, 0, 0)) {
		t.Errorf("alice = %+v", alice)
	}
	if want := []targets.Group{{ID: "arn:aws:iam::" + awsfake.Account + ":group/Developers", Name: "Developers"}}; !slices.Equal(alice.Groups, want) {
		t.Errorf("alice groups = %v, want %v", alice.Groups, want)
	}
	if len(alice.Credentials) != 1 || !alice.Credentials[0].Active || !alice.Credentials[0].LastUsed.Equal(day(-1)) ||
		alice.Credentials[0].Kind != "access_key" || !alice.Credentials[0].Created.Equal(now.AddDate(0, -2, 0)) {
		t.Errorf("alice credentials = %+v (want one active key used yesterday)", alice.Credentials)
	}

	bob := byName(t, as, "bob")
	if !bob.Enabled || !bob.Privileged || len(bob.Credentials) != 0 || !bob.LastLogin.IsZero() || bob.EmployeeID != "E002" {
		t.Errorf("bob (console, no keys, AdministratorAccess through Admins) = %+v", bob)
	}

	carol := byName(t, as, "carol")
	if !carol.Enabled || !carol.Privileged || len(carol.Credentials) != 2 {
		t.Fatalf("carol = %+v", carol)
	}
	never, inactive := carol.Credentials[0], carol.Credentials[1]
	if !never.Active || !never.LastUsed.IsZero() {
		t.Errorf("carol's never-used key = %+v", never)
	}
	if inactive.Active || !inactive.LastUsed.Equal(now.AddDate(0, -3, 0)) {
		t.Errorf("carol's inactive key = %+v", inactive)
	}
	if !carol.LastLogin.Equal(now.AddDate(0, -3, 0)) {
		t.Errorf("carol's last login = %v, want the inactive key's last use", carol.LastLogin)
	}

	if dave := byName(t, as, "dave"); dave.Enabled || !dave.Privileged || len(dave.Credentials) != 0 || dave.EmployeeID != "" {
		t.Errorf("dave (no console, no keys, customer-managed IAMAdmins) = %+v", dave)
	}
	if erin := byName(t, as, "erin"); !erin.Enabled || !erin.Privileged || !erin.LastLogin.Equal(day(-400)) {
		t.Errorf("erin (*:* through Ops) = %+v", erin)
	}
}

func TestNoTagsConfigured(t *testing.T) {
	h := newHarness(t, seedStandard, func(c *Config) { c.TagEmployeeID, c.TagEmail = "", "" })
	as := listAll(t, h.target)
	if a := byName(t, as, "alice"); a.EmployeeID != "" || a.Email != "" {
		t.Errorf("without tag_employee_id: %+v", a)
	}
	if n := h.fake.CallCount("ListUserTags"); n != 0 {
		t.Errorf("ListUserTags called %d times without a tag configured", n)
	}
}

// TestPaging: 10 users in pages the server cuts shorter than MaxItems (IAM
// may), keys and groups paged too: every item is read, and the calls show it.
func TestPaging(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) { testPaging(t, mode) })
	}
}

func testPaging(t *testing.T, mode string) {
	h := newHarness(t, func(f *awsfake.IAM) {
		f.PageCap = 2
		f.AddGroup("G1")
		f.AddGroup("G2")
		f.AddGroup("G3")
		for i := range 10 {
			u := f.AddUser(fmt.Sprintf("user%02d", i))
			if i == 4 {
				for range 3 {
					f.AddKey(u, "Active", f.Now.AddDate(0, -1, 0), time.Time{})
				}
				u.Groups = []string{"G1", "G2", "G3"}
			}
		}
	}, listing(mode), func(c *Config) { c.PageSize = 3 })
	as := listAll(t, h.target)
	if len(as) != 10 {
		t.Fatalf("listed %d users, want 10", len(as))
	}
	for i, a := range as {
		if want := fmt.Sprintf("user%02d", i); a.Username != want {
			t.Errorf("account %d is %s, want %s (listing order)", i, a.Username, want)
		}
	}
	u4 := byName(t, as, "user04")
	if len(u4.Credentials) != 3 || len(u4.Groups) != 3 {
		t.Errorf("user04 = %d keys, %d groups; want 3 and 3", len(u4.Credentials), len(u4.Groups))
	}
	// Pages of 2: 10 users in 5 pages; in bulk mode 3 groups in 2 more.
	if op, want := "ListUsers", 5; mode == ListingPerUser {
		if n := h.fake.CallCount(op); n != want {
			t.Errorf("%s called %d times, want %d", op, n, want)
		}
	} else if op, want := "GetAccountAuthorizationDetails", 7; true {
		if n := h.fake.CallCount(op); n != want {
			t.Errorf("%s called %d times, want %d", op, n, want)
		}
	}
	if n := h.fake.CallCount("ListAccessKeys"); n != 11 {
		t.Errorf("ListAccessKeys called %d times, want 11 (two pages for user04)", n)
	}
}

// TestPagingWithoutMarker: a truncated page without a Marker ends the
// listing with an error, not an endless loop or a silent cut.
func TestPagingWithoutMarker(t *testing.T) {
	calls := 0
	_, err := collect(context.Background(), func(m *string) ([]int, bool, *string, error) {
		calls++
		return []int{1}, true, nil, nil
	})
	if err == nil || calls != 1 {
		t.Fatalf("collect = %v after %d calls", err, calls)
	}
	same := "page:1"
	calls = 0
	_, err = collect(context.Background(), func(m *string) ([]int, bool, *string, error) {
		calls++
		return []int{1}, true, &same, nil
	})
	if err == nil || calls != 2 {
		t.Fatalf("collect with a repeated marker = %v after %d calls", err, calls)
	}
}

// TestThrottling: Throttling answers are waited out by the SDK's retryer.
func TestThrottling(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) { testThrottling(t, mode) })
	}
}

func testThrottling(t *testing.T, mode string) {
	h := newHarness(t, seedStandard, listing(mode))
	first, second := "ListUsers", "GetAccessKeyLastUsed"
	if mode == ListingBulk {
		first, second = "GetAccountAuthorizationDetails", "ListAccessKeys"
	}
	before := map[string]int{ListingPerUser: 1, ListingBulk: 2}[mode] // pages without throttling
	h.fake.Mu.Lock()
	h.fake.Throttle[first] = 2
	h.fake.Throttle[second] = 1
	h.fake.Mu.Unlock()
	as := listAll(t, h.target)
	if len(as) != 5 {
		t.Fatalf("listed %d accounts after throttling, want 5", len(as))
	}
	if n := h.backoff.count(); n != 3 {
		t.Errorf("retryer waited %d times, want 3", n)
	}
	for _, c := range h.backoff.waits {
		if c != "Throttling" {
			t.Errorf("waited after %q, want Throttling", c)
		}
	}
	if n := h.fake.CallCount(first); n != before+2 {
		t.Errorf("%s sent %d times, want %d", first, n, before+2)
	}
}

// TestThrottlingBounded: throttling that does not end fails after
// max_attempts tries with a transient error.
func TestThrottlingBounded(t *testing.T) {
	h := newHarness(t, seedStandard, func(c *Config) { c.MaxAttempts = 3 })
	h.fake.Mu.Lock()
	h.fake.Throttle["GetAccountAuthorizationDetails"] = 1000
	h.fake.Mu.Unlock()
	var last error
	for _, err := range h.target.Accounts(t.Context()) {
		last = err
	}
	var te *targets.TransientError
	if !errors.As(last, &te) {
		t.Fatalf("listing under endless throttling = %v, want a TransientError", last)
	}
	if n := h.fake.CallCount("GetAccountAuthorizationDetails"); n != 3 {
		t.Errorf("GetAccountAuthorizationDetails sent %d times, want max_attempts = 3", n)
	}
}

func TestDisable(t *testing.T) {
	h := newHarness(t, seedStandard)
	as := listAll(t, h.target)
	alice := byName(t, as, "alice")
	carol := byName(t, as, "carol")
	for _, a := range []targets.Account{alice, carol} {
		if err := h.target.Disable(t.Context(), a); err != nil {
			t.Fatalf("disable %s: %v", a.Username, err)
		}
	}
	f := h.fake
	f.Mu.Lock()
	if u := f.User("alice"); u.Console || len(u.Keys) != 1 || u.Keys[0].Status != "Inactive" {
		t.Errorf("alice after Disable: console %v, keys %+v", u.Console, u.Keys[0])
	}
	if u := f.User("carol"); len(u.Keys) != 2 || u.Keys[0].Status != "Inactive" || u.Keys[1].Status != "Inactive" {
		t.Errorf("carol's keys after Disable: %+v %+v", u.Keys[0], u.Keys[1])
	}
	if u := f.User("bob"); !u.Console {
		t.Error("disabling alice and carol touched bob")
	}
	f.Mu.Unlock()
	if n := f.CallCount("UpdateAccessKey"); n != 2 {
		t.Errorf("UpdateAccessKey sent %d times, want 2 (carol's inactive key left alone)", n)
	}
	again := listAll(t, h.target)
	if a := byName(t, again, "alice"); a.Enabled || len(a.Credentials) != 1 || a.Credentials[0].Active {
		t.Errorf("alice listed after Disable = %+v", a)
	}
	// Idempotent: a second Disable writes nothing.
	f.ResetCalls()
	if err := h.target.Disable(t.Context(), alice); err != nil {
		t.Fatalf("second disable: %v", err)
	}
	if n := f.CallCount("UpdateAccessKey"); n != 0 {
		t.Errorf("second Disable sent %d UpdateAccessKey", n)
	}
	// A name now held by another user (alice deleted and re-created) is not
	// the account any more.
	f.Mu.Lock()
	f.User("alice").ID = "AIDA00000000000099999"
	f.Mu.Unlock()
	if err := h.target.Disable(t.Context(), alice); !errors.Is(err, targets.ErrNotFound) {
		t.Errorf("disable of a recycled name = %v, want ErrNotFound", err)
	}
}

func TestRevokeCredential(t *testing.T) {
	h := newHarness(t, seedStandard)
	carol := byName(t, listAll(t, h.target), "carol")
	key := carol.Credentials[0]
	for range 2 {
		if err := h.target.RevokeCredential(t.Context(), carol, key); err != nil {
			t.Fatalf("revoke %s: %v", key.ID, err)
		}
	}
	got, err := h.target.Account(t.Context(), carol.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Credentials[0].Active || !got.Enabled == false && got.Credentials[1].Active {
		t.Errorf("carol after revoking %s = %+v", key.ID, got.Credentials)
	}
	if got.Enabled {
		t.Errorf("carol with no console and no active key is still enabled: %+v", got)
	}
	missing := targets.Credential{ID: "AKIA0000000000000MISSING", Kind: CredentialKind}
	if err := h.target.RevokeCredential(t.Context(), carol, missing); !errors.Is(err, targets.ErrNotFound) {
		t.Errorf("revoke of an unknown key = %v, want ErrNotFound", err)
	}
}

// TestGroupRemovalRefused: with allow_group_removal: false the target does
// not offer the capability (the executor makes it a manual step) and a direct
// call is refused without touching IAM.
func TestGroupRemovalRefused(t *testing.T) {
	no := false
	h := newHarness(t, seedStandard, func(c *Config) { c.AllowGroupRemoval = &no })
	caps := targets.Resolve(h.target)
	if caps.GroupRemover != nil || slices.Contains(caps.List(), targets.CanRemoveFromGroup) {
		t.Fatalf("capabilities with allow_group_removal: false = %v", caps.List())
	}
	if caps.Disabler == nil || caps.CredentialRevoker == nil || caps.Getter == nil {
		t.Fatalf("capabilities = %v", caps.List())
	}
	alice := byName(t, listAll(t, h.target), "alice")
	err := h.target.RemoveFromGroup(t.Context(), alice, alice.Groups[0])
	if !errors.Is(err, targets.ErrPermission) {
		t.Errorf("refused removal = %v, want ErrPermission", err)
	}
	if n := h.fake.CallCount("RemoveUserFromGroup"); n != 0 {
		t.Errorf("RemoveUserFromGroup sent %d times although not allowed", n)
	}
	h.fake.Mu.Lock()
	defer h.fake.Mu.Unlock()
	if g := h.fake.User("alice").Groups; len(g) != 1 {
		t.Errorf("alice's groups = %v", g)
	}
}

func TestRemoveFromGroupByName(t *testing.T) {
	h := newHarness(t, seedStandard)
	bob := byName(t, listAll(t, h.target), "bob")
	if err := h.target.RemoveFromGroup(t.Context(), bob, targets.Group{Name: "Admins"}); err != nil {
		t.Fatal(err)
	}
	if err := h.target.RemoveFromGroup(t.Context(), bob, targets.Group{Name: "Admins"}); err != nil {
		t.Fatalf("second removal: %v", err)
	}
	if n := h.fake.CallCount("RemoveUserFromGroup"); n != 1 {
		t.Errorf("RemoveUserFromGroup sent %d times, want 1", n)
	}
	got, err := h.target.Account(t.Context(), bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Groups) != 0 || got.Privileged {
		t.Errorf("bob after leaving Admins = %+v", got)
	}
}

// TestCredentialEcho: an upstream error that repeats the request's
// signature and session token (plain and base64) leaves the connector with
// no trace of the secret key or the token.
func TestCredentialEcho(t *testing.T) {
	h := newHarness(t, seedStandard, func(c *Config) { c.sessionToken = testToken })
	h.fake.Mu.Lock()
	h.fake.Echo["GetAccountAuthorizationDetails"] = true
	h.fake.EchoExtra = " signing key " + testSecret + " basic " + base64.StdEncoding.EncodeToString([]byte("AKID:"+testSecret))
	h.fake.Mu.Unlock()
	var last error
	for _, err := range h.target.Accounts(t.Context()) {
		last = err
	}
	if last == nil {
		t.Fatal("listing succeeded against a failing server")
	}
	msg := last.Error()
	if !strings.Contains(msg, "aws: read groups and policies") || !strings.Contains(msg, "ServiceFailure") {
		t.Errorf("error lacks context: %s", msg)
	}
	for _, s := range []string{testToken, base64.StdEncoding.EncodeToString([]byte(testToken)), testSecret, url.QueryEscape(testToken),
		base64.StdEncoding.EncodeToString([]byte("AKID:" + testSecret))} {
		if strings.Contains(msg, s) {
			t.Errorf("error carries a secret (%q): %s", s, msg)
		}
	}
	if len(msg) > 700 {
		t.Errorf("error of %d bytes: upstream text is not cut short", len(msg))
	}
	if n := strings.Count(msg, "REDACTED"); n < 3 {
		t.Errorf("%d redactions, want the key, its Basic form and the token: %s", n, msg)
	}
	var te *targets.TransientError
	if !errors.As(last, &te) {
		t.Errorf("ServiceFailure (HTTP 500) = %T, want transient", last)
	}
}

func TestAccessDenied(t *testing.T) {
	h := newHarness(t, seedStandard)
	h.fake.Mu.Lock()
	h.fake.Denied["UpdateAccessKey"] = true
	h.fake.Mu.Unlock()
	alice := byName(t, listAll(t, h.target), "alice")
	err := h.target.RevokeCredential(t.Context(), alice, alice.Credentials[0])
	if !errors.Is(err, targets.ErrPermission) {
		t.Fatalf("revoke without iam:UpdateAccessKey = %v, want ErrPermission", err)
	}
	if n := h.fake.CallCount("UpdateAccessKey"); n != 1 {
		t.Errorf("AccessDenied retried: %d calls", n)
	}
}

// TestAssumeRole: with assume_role_arn the chain's credentials call
// sts:AssumeRole, and IAM is called with the role's credentials.
func TestAssumeRole(t *testing.T) {
	const roleKey, roleSecret, roleToken = "ASIAROLEEXAMPLE00001", "roleSecretKeyEXAMPLE/0123456789abcdefghij", "IQoJb3JpZ2luX2VjROLETOKEN=="
	var stsCalls int
	var stsMu sync.Mutex
	stsSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		stsMu.Lock()
		stsCalls++
		stsMu.Unlock()
		if form.Get("Action") != "AssumeRole" || form.Get("RoleArn") != "arn:aws:iam::123456789012:role/accessrecon-audit" ||
			form.Get("ExternalId") != "ext-1" || !strings.Contains(r.Header.Get("Authorization"), "Credential="+testKeyID+"/") {
			http.Error(w, "unexpected STS request: "+string(body), 400)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>
<AssumedRoleUser><AssumedRoleId>AROAEXAMPLE:accessrecon</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/accessrecon-audit/accessrecon</Arn></AssumedRoleUser>
</AssumeRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleResponse>`,
			roleKey, roleSecret, roleToken, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	}))
	defer stsSrv.Close()
	h := newHarness(t, seedStandard, func(c *Config) {
		c.AssumeRoleARN = "arn:aws:iam::123456789012:role/accessrecon-audit"
		c.ExternalID = "ext-1"
		c.STSEndpoint = stsSrv.URL
	})
	var seen []string
	h.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stsMu.Lock()
		seen = append(seen, r.Header.Get("Authorization")+" token="+r.Header.Get("X-Amz-Security-Token"))
		stsMu.Unlock()
		h.fake.ServeHTTP(w, r)
	})
	if n := len(listAll(t, h.target)); n != 5 {
		t.Fatalf("listed %d", n)
	}
	if stsCalls != 1 {
		t.Errorf("AssumeRole called %d times, want 1 (credentials cached)", stsCalls)
	}
	for _, s := range seen {
		if !strings.Contains(s, "Credential="+roleKey+"/") || !strings.HasSuffix(s, "token="+roleToken) {
			t.Fatalf("IAM request not signed with the role's credentials: %s", s)
		}
	}
	// The role's secrets are redacted from upstream errors too.
	h.fake.Mu.Lock()
	h.fake.Echo["GetAccountAuthorizationDetails"] = true
	h.fake.Mu.Unlock()
	var last error
	for _, err := range h.target.Accounts(t.Context()) {
		last = err
	}
	if last == nil || strings.Contains(last.Error(), roleToken) || strings.Contains(last.Error(), base64.StdEncoding.EncodeToString([]byte(roleToken))) {
		t.Errorf("error with the role's token echoed: %v", last)
	}
}

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"page_size":     {PageSize: 1001},
		"concurrency":   {Concurrency: -1},
		"external_id":   {ExternalID: "x"},
		"assume_role":   {AssumeRoleARN: "role/x"},
		"max_attempts":  {MaxAttempts: -2},
		"only_key_id":   {accessKeyID: "AKID"},
		"token_no_keys": {sessionToken: "t"},
	} {
		if _, err := New(cfg, testLogger(t)); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
	if _, err := New(Config{}, nil); err == nil {
		t.Error("New accepted a nil logger")
	}
	var c Config
	c.AccessKeyIDEnv, c.SecretAccessKeyFile = "AWS_KEY", "/run/secrets/aws"
	fields := c.SecretFields()
	if len(fields) != 3 || fields[0].Env != "AWS_KEY" || fields[1].File != "/run/secrets/aws" || !fields[2].Optional {
		t.Errorf("SecretFields = %+v", fields)
	}
}

func TestDocumentPrivileged(t *testing.T) {
	for doc, want := range map[string]bool{
		`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`:                                       true,
		`{"Statement":[{"Effect":"Allow","Action":["s3:*","iam:*"]}]}`:                                       true,
		`{"Statement":[{"Effect":"Allow","Action":"*:*"}]}`:                                                  true,
		`{"Statement":[{"Effect":"Deny","Action":"*"}]}`:                                                     false,
		`{"Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*"]}]}`:                               false,
		`{"Statement":[{"Effect":"Allow","NotAction":"s3:*"}]}`:                                              false,
		url.QueryEscape(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*"}]}`):        true,
		url.QueryEscape(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}`): false,
	} {
		got, err := documentPrivileged(doc)
		if err != nil || got != want {
			t.Errorf("documentPrivileged(%s) = %v, %v; want %v", doc, got, err, want)
		}
	}
	if _, err := documentPrivileged("not json"); err == nil {
		t.Error("documentPrivileged accepted garbage")
	}
}

// TestBulkCredentialReport: the bulk listing waits for the report, takes
// the keys' last use from it, and asks IAM per key and per user only for
// what the report does not hold (a key or a user created after it). Without
// a report it asks per user for everything the report would have given.
func TestBulkCredentialReport(t *testing.T) {
	h := newHarness(t, seedStandard)
	as := listAll(t, h.target)
	if n := h.sleeps.Load(); n != 1 {
		t.Errorf("waited %d times for the report, want 1 (STARTED, then COMPLETE)", n)
	}
	if n := h.fake.CallCount("GetAccessKeyLastUsed") + h.fake.CallCount("GetUser"); n != 0 {
		t.Errorf("%d per-key/per-user calls although the report covers every key", n)
	}
	if a := byName(t, as, "alice"); !a.Credentials[0].LastUsed.Equal(h.fake.Now.AddDate(0, 0, -1)) || !a.LastLogin.Equal(h.fake.Now.AddDate(0, 0, -1)) {
		t.Errorf("alice from the report = %+v", a)
	}

	// After the report: a new key for alice (used an hour ago), a new user.
	newKey := h.fake.AddKey(h.fake.User("alice"), "Active", time.Now().UTC().Truncate(time.Second), time.Now().UTC().Add(-time.Hour).Truncate(time.Second))
	frank := h.fake.AddUser("frank")
	frank.PasswordLastUsed, frank.Console = h.fake.Now.AddDate(0, 0, -5), true
	h.fake.ResetCalls()
	as = listAll(t, h.target)
	if n := h.fake.CallCount("GetAccessKeyLastUsed"); n != 1 {
		t.Errorf("GetAccessKeyLastUsed called %d times, want 1 (the key newer than the report)", n)
	}
	if n := h.fake.CallCount("GetUser"); n != 1 {
		t.Errorf("GetUser called %d times, want 1 (the user newer than the report)", n)
	}
	alice := byName(t, as, "alice")
	if len(alice.Credentials) != 2 || alice.Credentials[1].ID != newKey.ID || !alice.Credentials[1].LastUsed.Equal(newKey.LastUsed) {
		t.Errorf("alice's new key = %+v", alice.Credentials)
	}
	if f := byName(t, as, "frank"); !f.Enabled || !f.LastLogin.Equal(h.fake.Now.AddDate(0, 0, -5)) {
		t.Errorf("frank = %+v", f)
	}
}

func TestBulkWithoutReport(t *testing.T) {
	for name, setup := range map[string]func(h *harness){
		"denied": func(h *harness) { h.fake.Denied["GenerateCredentialReport"] = true },
		"never ready": func(h *harness) {
			h.target.cfg.ReportWait = 3 * time.Second // the fake says STARTED once; pretend it stays so
			h.fake.Throttle["GenerateCredentialReport"] = 0
			h.fake.Started, h.fake.ReportAt = true, time.Time{}
			h.fake.Stuck = true
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, seedStandard)
			h.fake.Mu.Lock()
			setup(h)
			h.fake.Mu.Unlock()
			want := listAll(t, newHarness(t, seedStandard, listing(ListingPerUser)).target)
			got := listAll(t, h.target)
			if len(got) != len(want) {
				t.Fatalf("listed %d, want %d", len(got), len(want))
			}
			for i := range got {
				g, w := got[i], want[i]
				g.ID, w.ID = "", ""
				if fmt.Sprint(g) != fmt.Sprint(w) {
					t.Errorf("without a report:\n got %+v\nwant %+v", g, w)
				}
			}
			if n := h.fake.CallCount("GetAccessKeyLastUsed"); n != 4 {
				t.Errorf("GetAccessKeyLastUsed called %d times, want 4 (every key)", n)
			}
			if n := h.fake.CallCount("GetUser"); n != 5 {
				t.Errorf("GetUser called %d times, want 5 (every user)", n)
			}
		})
	}
}

// TestFailureMidListing: a failure on the second page ends the listing with
// one error after the first page's accounts, never a listing that looks
// complete.
func TestFailureMidListing(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t, seedStandard, listing(mode), func(c *Config) { c.PageSize = 2; c.Concurrency = 1 })
			h.fake.Mu.Lock()
			h.fake.DeniedAfter["ListAccessKeys"] = 2
			h.fake.Mu.Unlock()
			var got []string
			var errs []error
			for a, err := range h.target.Accounts(t.Context()) {
				if err != nil {
					errs = append(errs, err)
					continue
				}
				got = append(got, a.Username)
			}
			if !slices.Equal(got, []string{"alice", "bob"}) || len(errs) != 1 || !errors.Is(errs[0], targets.ErrPermission) {
				t.Fatalf("listing = %v, errors %v; want alice, bob, then one permission error", got, errs)
			}
			if !strings.Contains(errs[0].Error(), "list access keys of user carol") {
				t.Errorf("error does not say where: %v", errs[0])
			}
		})
	}
}

func TestRevokeSessions(t *testing.T) {
	h := newHarness(t, seedStandard)
	if targets.Resolve(h.target).SessionRevoker != nil {
		t.Fatal("revoke_sessions offered without being configured")
	}
	alice := byName(t, listAll(t, h.target), "alice")
	if err := h.target.RevokeSessions(t.Context(), alice); !errors.Is(err, targets.ErrPermission) {
		t.Fatalf("RevokeSessions without revoke_sessions = %v", err)
	}
	if n := h.fake.CallCount("PutUserPolicy"); n != 0 {
		t.Fatalf("PutUserPolicy sent %d times without revoke_sessions", n)
	}

	h.target.cfg.RevokeSessions = true
	cut := time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)
	h.target.now = func() time.Time { return cut }
	for range 2 {
		if err := h.target.RevokeSessions(t.Context(), alice); err != nil {
			t.Fatal(err)
		}
	}
	h.fake.Mu.Lock()
	doc := h.fake.User("alice").Inline[RevokeSessionsPolicy]
	others := len(h.fake.User("bob").Inline)
	h.fake.Mu.Unlock()
	want := `"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-12-01T14:00:00Z"}}`
	if !strings.Contains(doc, want) || others != 0 {
		t.Fatalf("alice's policy %s = %s (bob has %d)", RevokeSessionsPolicy, doc, others)
	}
	got, err := h.target.Account(t.Context(), alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Enabled || got.Privileged || !got.Credentials[0].Active {
		t.Errorf("alice after RevokeSessions = %+v (the deny policy neither disables nor makes privileged)", got)
	}
	gone := targets.Account{ID: "AIDA00000000000000404", Username: "nobody"}
	if err := h.target.RevokeSessions(t.Context(), gone); !errors.Is(err, targets.ErrNotFound) {
		t.Errorf("RevokeSessions of a missing user = %v", err)
	}
}

// TestUserDeletedWhileRead: a user deleted between the listing's page and
// its details is left out of the listing, and Getter says ErrNotFound.
func TestUserDeletedWhileRead(t *testing.T) {
	h := newHarness(t, seedStandard, listing(ListingPerUser))
	carol := byName(t, listAll(t, h.target), "carol")
	h.fake.Mu.Lock()
	h.fake.DeleteOnCall = map[string]string{"ListAccessKeys": "carol"}
	h.fake.Mu.Unlock()
	if _, err := h.target.Account(t.Context(), carol.ID); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("get of a user deleted while read = %v, want ErrNotFound", err)
	}
	h2 := newHarness(t, seedStandard)
	h2.fake.Mu.Lock()
	h2.fake.DeleteOnCall = map[string]string{"ListAccessKeys": "carol"}
	h2.fake.Mu.Unlock()
	var names []string
	for _, a := range listAll(t, h2.target) {
		names = append(names, a.Username)
	}
	if !slices.Equal(names, []string{"alice", "bob", "dave", "erin"}) {
		t.Errorf("listing with carol deleted midway = %v", names)
	}
}
