package targettest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets"
)

// Fixture is what a connector's test hands the conformance suite: a target
// over a freshly seeded system, and the IDs of accounts the suite may change.
type Fixture struct {
	Target targets.Target
	// Enabled names at least two enabled accounts that exist on the target.
	// The suite may disable them, end their sessions, revoke their
	// credentials and remove them from groups.
	Enabled []string
	// MinAccounts is the least number of accounts the listing must yield.
	MinAccounts int
}

// Run runs the conformance suite. setup is called once per subtest and must
// return a target over a freshly seeded system (or one the previous subtests'
// changes do not disturb). Capabilities the target lacks are skipped; the
// suite checks what a target claims, not what it could have.
func Run(t *testing.T, setup func(t *testing.T) Fixture) {
	t.Helper()
	t.Run("List", func(t *testing.T) { testList(t, setup(t)) })
	t.Run("EarlyStop", func(t *testing.T) { testEarlyStop(t, setup(t)) })
	t.Run("Cancelled", func(t *testing.T) { testCancelled(t, setup(t)) })
	t.Run("Get", func(t *testing.T) { testGet(t, setup(t)) })
	t.Run("Disable", func(t *testing.T) { testDisable(t, setup(t)) })
	t.Run("RevokeSessions", func(t *testing.T) { testRevokeSessions(t, setup(t)) })
	t.Run("RemoveFromGroup", func(t *testing.T) { testRemoveFromGroup(t, setup(t)) })
	t.Run("RevokeCredential", func(t *testing.T) { testRevokeCredential(t, setup(t)) })
}

// testContext is the context each subtest's calls run under: the test's
// own, bounded to a minute.
func testContext(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// testList checks that the listing yields at least MinAccounts accounts, each
// once, with IDs and named groups, the fixture accounts enabled, and the same
// IDs twice running.
func testList(t *testing.T, fx Fixture) {
	first := list(t, testContext(t), fx.Target)
	if len(first) < fx.MinAccounts {
		t.Fatalf("listed %d accounts, want at least %d", len(first), fx.MinAccounts)
	}
	seen := map[string]bool{}
	for _, a := range first {
		if a.ID == "" {
			t.Fatalf("account with empty ID: %+v", a)
		}
		if seen[a.ID] {
			t.Fatalf("account %s listed twice", a.ID)
		}
		for _, g := range a.Groups {
			if g.ID == "" || g.Name == "" {
				t.Fatalf("account %s: group %+v lacks an ID or a name (actions use the ID, people write the name)", a.ID, g)
			}
		}
		seen[a.ID] = true
	}
	for _, id := range fx.Enabled {
		a, ok := find(first, id)
		if !ok {
			t.Fatalf("fixture account %s not listed", id)
		}
		if !a.Enabled {
			t.Fatalf("fixture account %s listed as disabled", id)
		}
	}
	second := list(t, testContext(t), fx.Target)
	if !slices.Equal(ids(first), ids(second)) {
		t.Fatalf("two listings differ: %d vs %d accounts", len(first), len(second))
	}
}

// testEarlyStop checks that the listing stops cleanly when the caller breaks
// out after the first account.
func testEarlyStop(t *testing.T, fx Fixture) {
	n := 0
	for _, err := range fx.Target.Accounts(testContext(t)) {
		if err != nil {
			t.Fatalf("listing: %v", err)
		}
		n++
		break // the iterator must not call yield again (the runtime panics if it does)
	}
	if n != 1 {
		t.Fatalf("got %d accounts before break, want 1", n)
	}
}

// testCancelled checks that a listing under a cancelled context ends promptly
// with an error wrapping context.Canceled.
func testCancelled(t *testing.T, fx Fixture) {
	c, cancel := context.WithCancel(testContext(t))
	cancel()
	done := make(chan error, 1)
	go func() {
		var last error
		for _, err := range fx.Target.Accounts(c) {
			last = err
		}
		done <- last
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a listing under a cancelled context ended without an error: it would look complete")
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v does not wrap context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("listing did not stop within 10s of cancellation")
	}
}

// testGet checks that the Getter reads a fixture account back and reports
// ErrNotFound for a missing one.
func testGet(t *testing.T, fx Fixture) {
	g := targets.Resolve(fx.Target).Getter
	if g == nil {
		t.Skip("target has no Getter")
	}
	a, err := g.Account(testContext(t), fx.Enabled[0])
	if err != nil {
		t.Fatalf("get %s: %v", fx.Enabled[0], err)
	}
	if a.ID != fx.Enabled[0] || !a.Enabled {
		t.Fatalf("get %s = %+v", fx.Enabled[0], a)
	}
	if _, err := g.Account(testContext(t), "accessrecon-no-such-account"); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("get of a missing account: %v, want ErrNotFound", err)
	}
}

// testDisable checks that Disable is idempotent, disables only the account
// asked for, and reports ErrNotFound for a missing one.
func testDisable(t *testing.T, fx Fixture) {
	d := targets.Resolve(fx.Target).Disabler
	if d == nil {
		t.Skip("target has no Disabler")
	}
	a := mustFind(t, testContext(t), fx.Target, fx.Enabled[0])
	for i := range 2 { // idempotent: the second call must succeed too
		if err := d.Disable(testContext(t), a); err != nil {
			t.Fatalf("disable %s (call %d): %v", a.ID, i+1, err)
		}
	}
	if got := reread(t, testContext(t), fx.Target, a.ID); got.Enabled {
		t.Fatalf("account %s still enabled after Disable", a.ID)
	}
	other := reread(t, testContext(t), fx.Target, fx.Enabled[1])
	if !other.Enabled {
		t.Fatalf("disabling %s also disabled %s", a.ID, other.ID)
	}
	missing := targets.Account{ID: "accessrecon-no-such-account", Username: "accessrecon-no-such-account"}
	if err := d.Disable(testContext(t), missing); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("disable of a missing account: %v, want ErrNotFound", err)
	}
}

// testRevokeSessions checks that RevokeSessions succeeds twice running on a
// fixture account.
func testRevokeSessions(t *testing.T, fx Fixture) {
	s := targets.Resolve(fx.Target).SessionRevoker
	if s == nil {
		t.Skip("target has no SessionRevoker")
	}
	a := mustFind(t, testContext(t), fx.Target, fx.Enabled[0])
	for i := range 2 {
		if err := s.RevokeSessions(testContext(t), a); err != nil {
			t.Fatalf("revoke sessions %s (call %d): %v", a.ID, i+1, err)
		}
	}
}

// testRemoveFromGroup checks that RemoveFromGroup, called twice, leaves a
// fixture account out of its first group.
func testRemoveFromGroup(t *testing.T, fx Fixture) {
	r := targets.Resolve(fx.Target).GroupRemover
	if r == nil {
		t.Skip("target has no GroupRemover")
	}
	var a targets.Account
	for _, id := range fx.Enabled {
		if c := mustFind(t, testContext(t), fx.Target, id); len(c.Groups) > 0 {
			a = c
			break
		}
	}
	if a.ID == "" {
		t.Fatal("no fixture account is in a group: seed one so the capability is tested")
	}
	g := a.Groups[0]
	for i := range 2 {
		if err := r.RemoveFromGroup(testContext(t), a, g); err != nil {
			t.Fatalf("remove %s from %s (call %d): %v", a.ID, g, i+1, err)
		}
	}
	if got := reread(t, testContext(t), fx.Target, a.ID); slices.ContainsFunc(got.Groups, func(x targets.Group) bool { return x.ID == g.ID }) {
		t.Fatalf("account %s still in %s after RemoveFromGroup: %v", a.ID, g, got.Groups)
	}
}

// testRevokeCredential checks that RevokeCredential, called twice, leaves a
// fixture account's active credential inactive.
func testRevokeCredential(t *testing.T, fx Fixture) {
	r := targets.Resolve(fx.Target).CredentialRevoker
	if r == nil {
		t.Skip("target has no CredentialRevoker")
	}
	var a targets.Account
	var c targets.Credential
	for _, id := range fx.Enabled {
		acc := mustFind(t, testContext(t), fx.Target, id)
		for _, cr := range acc.Credentials {
			if cr.Active {
				a, c = acc, cr
			}
		}
	}
	if a.ID == "" {
		t.Fatal("no fixture account has an active credential: seed one so the capability is tested")
	}
	for i := range 2 {
		if err := r.RevokeCredential(testContext(t), a, c); err != nil {
			t.Fatalf("revoke credential %s of %s (call %d): %v", c.ID, a.ID, i+1, err)
		}
	}
	got := reread(t, testContext(t), fx.Target, a.ID)
	for _, cr := range got.Credentials {
		if cr.ID == c.ID && cr.Active {
			t.Fatalf("credential %s of %s still active after RevokeCredential", c.ID, a.ID)
		}
	}
}

func list(t *testing.T, ctx context.Context, tg targets.Target) []targets.Account {
	t.Helper()
	var out []targets.Account
	for a, err := range tg.Accounts(ctx) {
		if err != nil {
			t.Fatalf("listing: %v", err)
		}
		out = append(out, a)
	}
	return out
}

func ids(as []targets.Account) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	slices.Sort(out)
	return out
}

func find(as []targets.Account, id string) (targets.Account, bool) {
	for _, a := range as {
		if a.ID == id {
			return a, true
		}
	}
	return targets.Account{}, false
}

func mustFind(t *testing.T, ctx context.Context, tg targets.Target, id string) targets.Account {
	t.Helper()
	a, ok := find(list(t, ctx, tg), id)
	if !ok {
		t.Fatalf("account %s not listed", id)
	}
	return a
}

// reread reads one account back through Getter when the target has one, and
// through a full listing otherwise.
func reread(t *testing.T, ctx context.Context, tg targets.Target, id string) targets.Account {
	t.Helper()
	if g := targets.Resolve(tg).Getter; g != nil {
		a, err := g.Account(ctx, id)
		if err != nil {
			t.Fatalf("re-read %s: %v", id, err)
		}
		return a
	}
	return mustFind(t, ctx, tg, id)
}
