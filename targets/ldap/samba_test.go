package ldap_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
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
	adBase    = "DC=example,DC=test"
	adAdmin   = "CN=Administrator,CN=Users," + adBase
	adAdminPW = "Passw0rd!Test"
	adUserPW  = "UserPassw0rd!"
	adPWEnv   = "ACCESSRECON_TEST_AD_PW"
	adUsers   = 400
)

type sambaDC struct {
	dir string
}

// startSamba provisions a Samba AD DC with adUsers users into a fixed
// directory under the temp dir (so that a samba left over by a crashed run
// can be found by its pid file and stopped) and starts it in its own session;
// it is stopped by PID (its process group) when tb ends. Samba's LDAP ports
// cannot be moved, so every TestSambaAD on the machine (other checkouts'
// go test runs too) takes a lock file first and waits for its turn.
func startSamba(tb testing.TB) *sambaDC {
	tb.Helper()
	if os.Geteuid() != 0 {
		targettest.NeedIntegration(tb, "Samba AD needs root (ports 389/636/88 are fixed)")
	}
	for _, bin := range []string{"samba", "samba-tool", "ldbadd", "openssl", "python3"} {
		if _, err := exec.LookPath(bin); err != nil {
			targettest.NeedIntegration(tb, bin+" not installed (apt-get install samba samba-ad-dc winbind krb5-user ldb-tools smbclient ldap-utils)")
		}
	}
	root := filepath.Join(os.TempDir(), "accessrecon-ldap-samba")
	dir := filepath.Join(root, "dc")
	lockSamba(tb, root+".lock")
	stopStale(tb, dir) // under the lock: a samba in dir is a crashed holder's
	for _, port := range []int{389, 636} {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
			c.Close()
			tb.Fatalf("port %d on 127.0.0.1 is taken by another process: cannot start Samba AD", port)
		}
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		tb.Fatal(err)
	}
	prov := exec.Command("bash", "testdata/samba-ad-provision.sh")
	prov.Env = append(os.Environ(), "DIR="+dir, "NUSERS="+strconv.Itoa(adUsers), "NPW=10", "ADMINPASS="+adAdminPW)
	if out, err := prov.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(dir + ".provision.log")
		tb.Fatalf("samba-ad-provision.sh: %v: %s\n%s", err, out, log)
	}
	logf, err := os.Create(filepath.Join(dir, "log", "samba.stdout"))
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command("samba", "-i", "-M", "single", "-s", filepath.Join(dir, "etc", "smb.conf"))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited); logf.Close() }()
	tb.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			out, _ := os.ReadFile(filepath.Join(dir, "log", "samba.stdout"))
			tb.Fatalf("samba exited during startup:\n%s", out)
		default:
		}
		if c, err := goldap.DialURL("ldap://127.0.0.1:389"); err == nil {
			_, err = c.Search(goldap.NewSearchRequest("", goldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"namingContexts"}, nil))
			c.Close()
			if err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			tb.Fatal("samba LDAP did not come up within 60s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return &sambaDC{dir: dir}
}

// lockSamba takes the machine-wide lock of the Samba AD test (an flock,
// released by the kernel if this process dies), waiting for another holder
// with a message that names it; the lock is released when tb ends.
func lockSamba(tb testing.TB, path string) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	fd := int(f.Fd())
	if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			tb.Fatalf("lock %s: %v", path, err)
		}
		holder, _ := os.ReadFile(path)
		msg := fmt.Sprintf("Samba AD's ports (389, 636, 88) and directory are fixed: waiting for the test holding %s (%s) to finish", path, strings.TrimSpace(string(holder)))
		tb.Log(msg)
		fmt.Fprintln(os.Stderr, tb.Name()+": "+msg)
		if err := syscall.Flock(fd, syscall.LOCK_EX); err != nil {
			f.Close()
			tb.Fatalf("lock %s: %v", path, err)
		}
	}
	_ = f.Truncate(0)
	_, _ = fmt.Fprintf(f, "pid %d, %s, since %s", os.Getpid(), tb.Name(), time.Now().Format(time.RFC3339))
	tb.Cleanup(func() {
		_ = syscall.Flock(fd, syscall.LOCK_UN)
		f.Close()
	})
}

// stopStale ends a samba still running from an earlier, crashed run in dir.
func stopStale(tb testing.TB, dir string) {
	b, err := os.ReadFile(filepath.Join(dir, "run", "samba.pid"))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return
	}
	if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err != nil || !strings.Contains(string(cmdline), "samba") {
		return // not running, or the PID now belongs to something else
	}
	tb.Logf("stopping samba %d left over from an earlier run", pid)
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for range 100 {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && strings.Contains(string(st), ") Z ") {
			return // zombie: its ports are released
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

func (d *sambaDC) config() ldap.Config {
	return ldap.Config{
		URL: "ldaps://127.0.0.1:636", CAFile: filepath.Join(d.dir, "private", "tls", "cert.pem"),
		BindDN: adAdmin, Password: adAdminPW, BaseDN: adBase, Flavor: "ad", PageSize: 100, Timeout: 20 * time.Second,
	}
}

func (d *sambaDC) admin(tb testing.TB) *goldap.Conn {
	tb.Helper()
	c, err := goldap.DialURL("ldap://127.0.0.1:389")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	if err := c.Bind(adAdmin, adAdminPW); err != nil {
		tb.Fatal(err)
	}
	return c
}

func userDN(i int) string { return fmt.Sprintf("CN=user%04d,OU=People,%s", i, adBase) }

// adEntry reads one entry's attributes as the administrator.
func adEntry(tb testing.TB, c *goldap.Conn, dn string, attrs ...string) *goldap.Entry {
	tb.Helper()
	res, err := c.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", attrs, nil))
	if err != nil || len(res.Entries) != 1 {
		tb.Fatalf("read %s: %v", dn, err)
	}
	return res.Entries[0]
}

// guidOf is the user's objectGUID as a standard GUID string, rendered here
// independently of the connector (unit_test.go checks the rendering against
// one Samba printed itself).
func guidOf(tb testing.TB, c *goldap.Conn, i int) string {
	tb.Helper()
	b := adEntry(tb, c, userDN(i), "objectGUID").GetRawAttributeValue("objectGUID")
	if len(b) != 16 {
		tb.Fatalf("objectGUID of user%04d: %d bytes", i, len(b))
	}
	// RFC 4122 text with the first three fields little-endian, as Windows prints it.
	le := []byte{b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6]}
	h := fmt.Sprintf("%x%x", le, b[8:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func TestSambaAD(t *testing.T) {
	d := startSamba(t)
	admin := d.admin(t)

	next := 20
	targettest.Run(t, func(t *testing.T) targettest.Fixture {
		next += 2
		return targettest.Fixture{
			Target:      newTarget(t, d.config()),
			Enabled:     []string{guidOf(t, admin, next), guidOf(t, admin, next+1)},
			MinAccounts: adUsers,
		}
	})

	t.Run("Pages", func(t *testing.T) {
		tg := newTarget(t, d.config()) // page_size 100
		all := listAll(t, tg)
		if len(all) < adUsers {
			t.Fatalf("listed %d accounts, want at least %d", len(all), adUsers)
		}
		want := int64((len(all) + 99) / 100)
		if p := tg.PagesRequested(); p < want {
			t.Fatalf("%d page requests for %d accounts with page_size 100, want at least %d", p, len(all), want)
		}
		byName := map[string]targets.Account{}
		for _, a := range all {
			if _, dup := byName[strings.ToLower(a.Username)]; dup {
				t.Fatalf("%s listed twice", a.Username)
			}
			byName[strings.ToLower(a.Username)] = a
		}
		u := byName["user0008"]
		if u.ID != guidOf(t, admin, 8) || u.EmployeeID != "E000008" || u.Email != "user0008@example.test" ||
			u.DisplayName != "Given8 Surname8" || !u.Enabled || u.Privileged || !u.LoginTracked || !u.LastLogin.IsZero() {
			t.Fatalf("user0008 = %+v", u)
		}
		if time.Since(u.Created) > time.Hour {
			t.Fatalf("user0008 created %v, want about now", u.Created)
		}
		if got := byName["user0007"].EmployeeID; got != "N000007" {
			t.Fatalf("user0007 (employeeNumber only): employee ID %q, want the employeeNumber fallback N000007", got)
		}
		if a := byName["administrator"]; !a.Privileged {
			t.Fatalf("Administrator not privileged: %+v", a)
		}
		if a := byName["krbtgt"]; a.Enabled {
			t.Fatalf("krbtgt (disabled by provisioning) listed as enabled")
		}
		if g := groupDNs(t, byName["user0001"].Groups); !sameSet(g, []string{"CN=Engineering,OU=Groups," + adBase, "CN=VPN-Users,OU=Groups," + adBase}) {
			t.Fatalf("user0001 groups %v", g)
		}
	})

	t.Run("DisableKeepsOtherBits", func(t *testing.T) {
		tg := newTarget(t, d.config())
		dn := userDN(9)
		m := goldap.NewModifyRequest(dn, nil)
		m.Replace("userAccountControl", []string{strconv.Itoa(0x10200)}) // NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD
		if err := admin.Modify(m); err != nil {
			t.Fatal(err)
		}
		if code, err := bindCode("ldap://127.0.0.1:389", dn, adUserPW); err != nil || code != 0 {
			t.Fatalf("bind before disable: code %d, %v", code, err)
		}
		id := guidOf(t, admin, 9)
		for range 2 {
			if err := tg.Disable(t.Context(), targets.Account{ID: id}); err != nil {
				t.Fatal(err)
			}
		}
		if got := adEntry(t, admin, dn, "userAccountControl").GetAttributeValue("userAccountControl"); got != strconv.Itoa(0x10202) {
			t.Fatalf("userAccountControl after disable = %s, want %d (0x10202)", got, 0x10202)
		}
		if code, err := bindCode("ldap://127.0.0.1:389", dn, adUserPW); err != nil || code != goldap.LDAPResultInvalidCredentials {
			t.Fatalf("bind after disable: code %d, %v; want 49", code, err)
		}
		if code, err := bindCode("ldap://127.0.0.1:389", userDN(1), adUserPW); err != nil || code != 0 {
			t.Fatalf("another user's bind after disable: code %d, %v", code, err)
		}
		if a, err := tg.Account(t.Context(), id); err != nil || a.Enabled {
			t.Fatalf("after disable: %+v, %v", a, err)
		}
	})

	t.Run("LastLogonTimestamp", func(t *testing.T) {
		when := time.Date(2024, 3, 4, 5, 6, 7, 0, time.UTC)
		ft := (when.Unix() + 11644473600) * 10_000_000
		m := goldap.NewModifyRequest(userDN(5), nil)
		m.Replace("lastLogonTimestamp", []string{strconv.FormatInt(ft, 10)})
		if err := admin.Modify(m); err != nil {
			t.Fatal(err)
		}
		a, err := newTarget(t, d.config()).Account(t.Context(), guidOf(t, admin, 5))
		if err != nil {
			t.Fatal(err)
		}
		if !a.LoginTracked || !a.LastLogin.Equal(when) {
			t.Fatalf("last login %v (tracked %v), want %v", a.LastLogin, a.LoginTracked, when)
		}
	})

	t.Run("PrivilegedByGroup", func(t *testing.T) {
		m := goldap.NewModifyRequest("CN=Domain Admins,CN=Users,"+adBase, nil)
		m.Add("member", []string{userDN(6)})
		if err := admin.Modify(m); err != nil {
			t.Fatal(err)
		}
		tg := newTarget(t, d.config())
		if a, err := tg.Account(t.Context(), guidOf(t, admin, 6)); err != nil || !a.Privileged {
			t.Fatalf("member of Domain Admins: %+v, %v; want privileged", a, err)
		}
		if a, err := tg.Account(t.Context(), guidOf(t, admin, 4)); err != nil || a.Privileged {
			t.Fatalf("ordinary user: %+v, %v; want not privileged", a, err)
		}
	})

	t.Run("NestedGroups", func(t *testing.T) {
		cfg := d.config()
		cfg.NestedGroups = true
		cfg.PrivilegedGroups = []string{"All-Staff"}
		tg := newTarget(t, cfg)
		sales := "CN=Sales,OU=Groups," + adBase
		allStaff := "CN=All-Staff,OU=Groups," + adBase
		i := adUsers/3 + 2 // in Sales, so in All-Staff through nesting
		id := guidOf(t, admin, i)
		var listed targets.Account
		for _, a := range listAll(t, tg) {
			if a.ID == id {
				listed = a
			}
		}
		got, err := tg.Account(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range []targets.Account{listed, got} {
			if !slices.Contains(groupDNs(t, a.Groups), sales) || !slices.Contains(groupDNs(t, a.Groups), allStaff) || !a.Privileged {
				t.Fatalf("user%04d: groups %v privileged %v, want %s and (nested) %s", i, a.Groups, a.Privileged, sales, allStaff)
			}
		}
		if !sameSet(groupDNs(t, listed.Groups), groupDNs(t, got.Groups)) {
			t.Fatalf("listing says %v, Get says %v", listed.Groups, got.Groups)
		}
		if err := tg.RemoveFromGroup(t.Context(), got, targets.Group{ID: allStaff, Name: allStaff}); err == nil || !strings.Contains(err.Error(), "nested") {
			t.Fatalf("removing an inherited membership: %v, want an error naming the nesting", err)
		}
		if err := tg.RemoveFromGroup(t.Context(), got, targets.Group{ID: sales, Name: sales}); err != nil {
			t.Fatal(err)
		}
		after, err := tg.Account(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(groupDNs(t, after.Groups), sales) || slices.Contains(groupDNs(t, after.Groups), allStaff) {
			t.Fatalf("after removal from %s: groups %v", sales, after.Groups)
		}
	})

	t.Run("StartTLSAndErrors", func(t *testing.T) {
		cfg := d.config()
		cfg.URL = "ldap://127.0.0.1:389" // StartTLS by default
		id := guidOf(t, admin, 3)
		if a, err := newTarget(t, cfg).Account(t.Context(), id); err != nil || a.Username != "user0003" {
			t.Fatalf("over StartTLS: %+v, %v", a, err)
		}
		cfg.CAFile = ""
		if _, err := newTarget(t, cfg).Account(t.Context(), id); err == nil {
			t.Fatal("StartTLS with an untrusted certificate succeeded")
		}
		cfg = d.config()
		cfg.Password = "wrong"
		if _, err := newTarget(t, cfg).Account(t.Context(), id); !errors.Is(err, targets.ErrPermission) {
			t.Fatalf("wrong password: %v, want ErrPermission", err)
		}
		// The wire form of the connector's ID, for the record in the log.
		raw := adEntry(t, admin, userDN(3), "objectGUID").GetRawAttributeValue("objectGUID")
		t.Logf("user0003 objectGUID %s = %s", base64.StdEncoding.EncodeToString(raw), id)
	})
}
