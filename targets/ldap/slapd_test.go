package ldap_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/ldap"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

const (
	slapdSuffix = "dc=example,dc=com"
	slapdAdmin  = "cn=admin," + slapdSuffix
	slapdPWEnv  = "ACCESSRECON_TEST_SLAPD_PW"
)

type slapd struct {
	url string
	pid int
}

// startSlapd starts slapd in a temp dir on a free loopback port, loaded with
// users from gen-ldif.sh: through ldapadd (memberOf maintained) or, with bulk,
// slapadd (fast, no memberOf). It is stopped by PID when tb ends.
func startSlapd(tb testing.TB, users int, bulk bool) *slapd {
	tb.Helper()
	for _, bin := range []string{"/usr/sbin/slapd", "/usr/sbin/slapadd", "/usr/bin/ldapadd"} {
		if _, err := os.Stat(bin); err != nil {
			targettest.NeedIntegration(tb, bin+" not installed (apt-get install slapd ldap-utils)")
		}
	}
	dir := tb.TempDir()
	ldif := filepath.Join(dir, "users.ldif")
	f, err := os.Create(ldif)
	if err != nil {
		tb.Fatal(err)
	}
	gen := exec.Command("sh", "testdata/gen-ldif.sh", strconv.Itoa(users), slapdSuffix)
	gen.Stdout = f
	gen.Stderr = os.Stderr
	if err := gen.Run(); err != nil {
		tb.Fatalf("gen-ldif: %v", err)
	}
	f.Close()
	port := targettest.MustFreePort(tb)
	start := exec.Command("sh", "testdata/slapd-start.sh", filepath.Join(dir, "slapd"), strconv.Itoa(port), slapdSuffix)
	start.Env = append(os.Environ(), "ROOTPW=secret")
	if bulk {
		start.Env = append(start.Env, "SLAPADD_LDIF="+ldif)
	}
	out, err := start.Output()
	if err != nil {
		// the script may have started slapd before failing: stop it by its pid file
		if b, rerr := os.ReadFile(filepath.Join(dir, "slapd", "slapd.pid")); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
				targettest.StopPID(tb, pid)
			}
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			out = append(out, ee.Stderr...)
		}
		tb.Fatalf("slapd-start.sh: %v: %s", err, out)
	}
	fields := strings.Fields(string(out))
	if len(fields) == 0 {
		tb.Fatalf("slapd-start.sh printed no PID")
	}
	pid, err := strconv.Atoi(fields[len(fields)-1])
	if err != nil {
		tb.Fatalf("slapd-start.sh: PID %q: %v", out, err)
	}
	tb.Cleanup(func() { targettest.StopPID(tb, pid) })
	s := &slapd{url: fmt.Sprintf("ldap://127.0.0.1:%d", port), pid: pid}
	if !bulk {
		add := exec.Command("ldapadd", "-x", "-H", s.url, "-D", slapdAdmin, "-w", "secret", "-f", ldif)
		if out, err := add.CombinedOutput(); err != nil {
			tb.Fatalf("ldapadd: %v: %s", err, out)
		}
	}
	return s
}

func (s *slapd) config() ldap.Config {
	f := false
	return ldap.Config{
		URL: s.url, StartTLS: &f, BindDN: slapdAdmin, Password: "secret",
		BaseDN: "ou=people," + slapdSuffix, Flavor: "openldap", PageSize: 50, Timeout: 10 * time.Second,
	}
}

func (s *slapd) admin(tb testing.TB) *goldap.Conn {
	tb.Helper()
	c, err := goldap.DialURL(s.url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	if err := c.Bind(slapdAdmin, "secret"); err != nil {
		tb.Fatal(err)
	}
	return c
}

// uuidOf reads uid's entryUUID straight from the server.
func (s *slapd) uuidOf(tb testing.TB, c *goldap.Conn, uid string) string {
	tb.Helper()
	res, err := c.Search(goldap.NewSearchRequest("ou=people,"+slapdSuffix, goldap.ScopeWholeSubtree, 0, 0, 0, false,
		"(uid="+uid+")", []string{"entryUUID"}, nil))
	if err != nil || len(res.Entries) != 1 {
		tb.Fatalf("entryUUID of %s: %v (%d entries)", uid, err, len(res.Entries))
	}
	return res.Entries[0].GetAttributeValue("entryUUID")
}

func newTarget(tb testing.TB, cfg ldap.Config) *ldap.Target {
	tb.Helper()
	tg, err := ldap.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	return tg
}

func listAll(tb testing.TB, tg targets.Target) []targets.Account {
	tb.Helper()
	var out []targets.Account
	for a, err := range tg.Accounts(tb.Context()) {
		if err != nil {
			tb.Fatalf("listing: %v", err)
		}
		out = append(out, a)
	}
	return out
}

func bindCode(url, dn, pw string) (uint16, error) {
	c, err := goldap.DialURL(url)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	err = c.Bind(dn, pw)
	if err == nil {
		return 0, nil
	}
	var le *goldap.Error
	if errors.As(err, &le) {
		return le.ResultCode, nil
	}
	return 0, err
}

func TestSlapd(t *testing.T) {
	const users = 200
	s := startSlapd(t, users, false)
	admin := s.admin(t)

	next := 20 // each suite subtest gets two accounts no earlier subtest touched
	targettest.Run(t, func(t *testing.T) targettest.Fixture {
		next += 2
		return targettest.Fixture{
			Target:      newTarget(t, s.config()),
			Enabled:     []string{s.uuidOf(t, admin, fmt.Sprintf("u%05d", next)), s.uuidOf(t, admin, fmt.Sprintf("u%05d", next+1))},
			MinAccounts: users,
		}
	})

	t.Run("FieldsAndPaging", func(t *testing.T) {
		cfg := s.config()
		cfg.PrivilegedGroups = []string{"admins"}
		tg := newTarget(t, cfg)
		all := listAll(t, tg)
		if len(all) != users {
			t.Fatalf("listed %d accounts, want %d", len(all), users)
		}
		if p, want := tg.PagesRequested(), int64(users/cfg.PageSize); p < want {
			t.Fatalf("%d page requests for %d users with page_size %d: the listing did not page", p, users, cfg.PageSize)
		}
		byUser := map[string]targets.Account{}
		for _, a := range all {
			byUser[a.Username] = a
		}
		a := byUser["u00010"]
		if a.ID != s.uuidOf(t, admin, "u00010") || a.EmployeeID != "E00010" || a.Email != "u00010@example.com" {
			t.Fatalf("u00010 = %+v", a)
		}
		if !a.Privileged || byUser["u00011"].Privileged {
			t.Fatalf("privileged: u00010 %v (in admins), u00011 %v (not)", a.Privileged, byUser["u00011"].Privileged)
		}
		wantGroups := []string{"cn=team10,ou=groups," + slapdSuffix, "cn=admins,ou=groups," + slapdSuffix}
		if !sameSet(groupDNs(t, a.Groups), wantGroups) {
			t.Fatalf("u00010 groups %v, want %v", a.Groups, wantGroups)
		}
		if a.LoginTracked || !a.LastLogin.IsZero() {
			t.Fatalf("openldap without last_login mapped: LoginTracked %v LastLogin %v", a.LoginTracked, a.LastLogin)
		}
		if time.Since(a.Created) > time.Hour || time.Since(a.Created) < -time.Minute {
			t.Fatalf("created %v, want about now", a.Created)
		}

		// group_search finds the same groups by searching groupOfNames.
		cfg.GroupSearch = true
		cfg.GroupBaseDN = "ou=groups," + slapdSuffix
		got, err := newTarget(t, cfg).Account(t.Context(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !sameSet(groupDNs(t, got.Groups), wantGroups) || !got.Privileged {
			t.Fatalf("group_search: groups %v privileged %v, want %v", got.Groups, got.Privileged, wantGroups)
		}
	})

	t.Run("CancelledMidListing", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		n := 0
		var last error
		for _, err := range newTarget(t, s.config()).Accounts(ctx) {
			if err != nil {
				last = err
				break
			}
			if n++; n == 70 { // inside the second page of 50
				cancel()
			}
		}
		if !errors.Is(last, context.Canceled) || n >= users {
			t.Fatalf("after cancelling at 70 of %d: %d accounts, last error %v; want an error wrapping context.Canceled", users, n, last)
		}
	})

	t.Run("DisabledUserCannotBind", func(t *testing.T) {
		tg := newTarget(t, s.config())
		dn := "uid=u00100,ou=people," + slapdSuffix
		if code, err := bindCode(s.url, dn, "pw100"); err != nil || code != 0 {
			t.Fatalf("bind before disable: code %d, %v", code, err)
		}
		id := s.uuidOf(t, admin, "u00100")
		if err := tg.Disable(t.Context(), targets.Account{ID: id}); err != nil {
			t.Fatal(err)
		}
		if code, err := bindCode(s.url, dn, "pw100"); err != nil || code != goldap.LDAPResultInvalidCredentials {
			t.Fatalf("bind after disable: code %d, %v; want 49", code, err)
		}
		a, err := tg.Account(t.Context(), id)
		if err != nil || a.Enabled {
			t.Fatalf("after disable: %+v, %v", a, err)
		}
		// An intruder lockout (any other time) may expire: still enabled.
		m := goldap.NewModifyRequest("uid=u00101,ou=people,"+slapdSuffix, nil)
		m.Replace("pwdAccountLockedTime", []string{"20240101000000Z"})
		if err := admin.Modify(m); err != nil {
			t.Fatal(err)
		}
		if a, err := tg.Account(t.Context(), s.uuidOf(t, admin, "u00101")); err != nil || !a.Enabled {
			t.Fatalf("temporarily locked account: %+v, %v; want enabled", a, err)
		}
	})

	t.Run("GenericDisable", func(t *testing.T) {
		cfg := s.config()
		cfg.Flavor = "generic"
		cfg.Disable = ldap.DisableConfig{Attribute: "employeeType", Value: "disabled"}
		tg := newTarget(t, cfg)
		id := s.uuidOf(t, admin, "u00120")
		for range 2 {
			if err := tg.Disable(t.Context(), targets.Account{ID: id}); err != nil {
				t.Fatal(err)
			}
		}
		if a, err := tg.Account(t.Context(), id); err != nil || a.Enabled {
			t.Fatalf("generic after disable: %+v, %v", a, err)
		}
		cfg.Disable = ldap.DisableConfig{}
		if c := targets.Resolve(newTarget(t, cfg)).List(); slices.Contains(c, targets.CanDisable) {
			t.Fatalf("generic without disable: claims %v", c)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		tg := newTarget(t, s.config())
		id := s.uuidOf(t, admin, "u00130")
		a := targets.Account{ID: id}
		if err := tg.RemoveFromGroup(t.Context(), a, targets.Group{ID: "cn=nosuchgroup,ou=groups," + slapdSuffix, Name: "cn=nosuchgroup,ou=groups," + slapdSuffix}); !errors.Is(err, targets.ErrNotFound) {
			t.Fatalf("remove from a missing group: %v, want ErrNotFound", err)
		}
		missing := targets.Account{ID: "00000000-0000-0000-0000-000000000000"}
		if err := tg.RemoveFromGroup(t.Context(), missing, targets.Group{ID: "cn=team10,ou=groups," + slapdSuffix, Name: "cn=team10,ou=groups," + slapdSuffix}); !errors.Is(err, targets.ErrNotFound) {
			t.Fatalf("remove a missing account: %v, want ErrNotFound", err)
		}
		cfg := s.config()
		cfg.Password = "wrong"
		if _, err := newTarget(t, cfg).Account(t.Context(), id); !errors.Is(err, targets.ErrPermission) {
			t.Fatalf("wrong bind password: %v, want ErrPermission", err)
		}
		cfg = s.config()
		cfg.URL = fmt.Sprintf("ldap://127.0.0.1:%d", targettest.MustFreePort(t))
		var te *targets.TransientError
		if _, err := newTarget(t, cfg).Account(t.Context(), id); !errors.As(err, &te) {
			t.Fatalf("server down: %v, want a TransientError", err)
		}
		cfg = s.config()
		cfg.StartTLS = nil // default for ldap:// is StartTLS, which this slapd does not offer
		if _, err := newTarget(t, cfg).Account(t.Context(), id); err == nil || !strings.Contains(err.Error(), "starttls") {
			t.Fatalf("ldap:// without start_tls: false against a server without TLS: %v, want a starttls error", err)
		}
	})
}

// groupDNs lists the IDs (DNs) of gs, checking on the way that each name
// is the DN's first RDN value, as people write it.
func groupDNs(t *testing.T, gs []targets.Group) []string {
	t.Helper()
	var out []string
	for _, g := range gs {
		if want := ldap.FirstRDNValue(g.ID); g.Name != want {
			t.Fatalf("group %s named %q, want %q", g.ID, g.Name, want)
		}
		out = append(out, g.ID)
	}
	return out
}

func sameSet(a, b []string) bool {
	x := slices.Clone(a)
	y := slices.Clone(b)
	for i := range x {
		x[i] = strings.ToLower(x[i])
	}
	for i := range y {
		y[i] = strings.ToLower(y[i])
	}
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// BenchmarkListSlapd lists ACCESSRECON_BENCH_USERS (default 100,000) users
// from slapd through the connector (page_size 1000), and times ldapsearch
// -E pr=1000/noprompt over the same entries and attributes for comparison.
func BenchmarkListSlapd(b *testing.B) {
	n := 100000
	if v := os.Getenv("ACCESSRECON_BENCH_USERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("ACCESSRECON_BENCH_USERS=%q: want a positive number", v)
		}
	}
	s := startSlapd(b, n, true)
	cfg := s.config()
	cfg.PageSize = 1000
	tg := newTarget(b, cfg)

	// ldapsearch over the same entries and attributes, output discarded.
	args := append([]string{"-x", "-LLL", "-H", s.url, "-D", slapdAdmin, "-w", "secret",
		"-b", cfg.BaseDN, "-E", "pr=1000/noprompt", "(objectClass=inetOrgPerson)"}, tg.SearchAttributes()...)
	cmd := exec.Command("ldapsearch", args...)
	cmd.Stdout = io.Discard
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("ldapsearch: %v", err)
	}
	ldapsearch := time.Since(t0)
	b.Logf("ldapsearch %s: %s, maxrss %d KiB", strings.Join(args, " "), ldapsearch, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)

	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		count := 0
		ctx, cancel := context.WithTimeout(b.Context(), 10*time.Minute)
		for _, err := range tg.Accounts(ctx) {
			if err != nil {
				b.Fatal(err)
			}
			count++
		}
		cancel()
		if count != n {
			b.Fatalf("listed %d accounts, want %d", count, n)
		}
	}
	b.StopTimer()
	// ldapsearch again, now that slapd has served the entries before (the
	// first run above is the first search after slapadd): a like-for-like
	// comparison with the connector's listings.
	cmd = exec.Command("ldapsearch", args...)
	cmd.Stdout = io.Discard
	t0 = time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("ldapsearch: %v", err)
	}
	warm := time.Since(t0)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/account")
	b.ReportMetric(float64(ldapsearch.Milliseconds()), "ldapsearch-ms")
	b.ReportMetric(float64(warm.Milliseconds()), "ldapsearch-warm-ms")
	b.ReportMetric(float64(ru.Maxrss)/1024, "peak-rss-MiB")
	b.ReportMetric(float64(n), "accounts")
}
