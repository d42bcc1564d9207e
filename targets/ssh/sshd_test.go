package sshtarget_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/accessrecon/accessrecon/targets"
	sshtarget "github.com/accessrecon/accessrecon/targets/ssh"
)

// needIntegration skips, or fails under ACCESSRECON_REQUIRE_INTEGRATION=1.
func needIntegration(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv("ACCESSRECON_REQUIRE_INTEGRATION") == "1" {
		tb.Fatalf("integration test cannot run: %s", why)
	}
	tb.Skipf("skipping: %s", why)
}

// testKey is an Ed25519 key pair.
type testKey struct {
	signer  ssh.Signer
	private []byte // OpenSSH PEM
	line    string // authorized_keys form, without comment
	fp      string
}

func newKey(tb testing.TB) testKey {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		tb.Fatal(err)
	}
	blk, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		tb.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		tb.Fatal(err)
	}
	return testKey{signer: signer, private: pem.EncodeToMemory(blk),
		line: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))), fp: ssh.FingerprintSHA256(sp)}
}

// sshd is a real OpenSSH server on a free loopback port, with its own
// configuration and host key, run by the test and stopped by PID.
type sshd struct {
	dir, addr string
	port      int
	hostKey   testKey
	cmd       *exec.Cmd
}

const userPrefix = "arssh"

// requireRoot: the test creates local users and runs sshd, which needs root.
func requireRoot(tb testing.TB) {
	tb.Helper()
	for _, bin := range []string{"/usr/sbin/sshd", "/usr/sbin/useradd", "/usr/sbin/userdel", "/usr/sbin/usermod", "/usr/bin/chage"} {
		if _, err := os.Stat(bin); err != nil {
			needIntegration(tb, bin+" not installed (apt-get install openssh-server passwd)")
		}
	}
	if os.Geteuid() != 0 {
		needIntegration(tb, "the sshd test creates local users and must run as root")
	}
}

// sweepStaleUsers deletes test users a crashed earlier run left behind
// (their home, in a removed temp dir, no longer exists).
func sweepStaleUsers(tb testing.TB) {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var stale []string
	for sc.Scan() {
		p := strings.Split(sc.Text(), ":")
		if len(p) > 5 && strings.HasPrefix(p[0], userPrefix) && strings.HasPrefix(p[5], os.TempDir()) {
			if _, err := os.Stat(p[5]); os.IsNotExist(err) {
				stale = append(stale, p[0])
			}
		}
	}
	for _, u := range stale {
		if out, err := exec.Command("userdel", u).CombinedOutput(); err != nil {
			tb.Logf("userdel %s (stale): %v: %s", u, err, out)
		}
	}
}

// world is one test setup: a temp dir (readable by the test users, as sshd
// reads authorized_keys with the user's rights), two local users with homes
// in it, the collector's key, and the people's keys.
type world struct {
	dir          string
	alice, bob   string // local user names
	collector    testKey
	aliceKey     testKey // registry → E100
	aliceLaptop  testKey // comment alice@example.com
	bobKey       testKey // registry → E200
	sharedDeploy testKey // unlinked, in bob's file
	knownHosts   string
	registry     string
}

// The world and its sshd (web1) are made once per test binary and torn down
// in TestMain; every test resets the files and accounts it relies on.
var shared struct {
	once     sync.Once
	w        *world
	web1     *sshd
	cleanups []func()
}

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(shared.cleanups) - 1; i >= 0; i-- {
		shared.cleanups[i]()
	}
	os.Exit(code)
}

// getWorld returns the shared world, reset, and its sshd.
func getWorld(tb testing.TB) (*world, *sshd) {
	tb.Helper()
	requireRoot(tb)
	shared.once.Do(func() {
		w := newWorld(tb, func(f func()) { shared.cleanups = append(shared.cleanups, f) })
		s, stop := w.startSSHDFor(tb, "web1")
		shared.cleanups = append(shared.cleanups, stop)
		shared.w, shared.web1 = w, s
	})
	if shared.w == nil {
		tb.Fatal("the shared test world could not be set up (see the first test's failure)")
	}
	shared.w.reset(tb)
	return shared.w, shared.web1
}

func newWorld(tb testing.TB, cleanup func(func())) *world {
	tb.Helper()
	sweepStaleUsers(tb)
	dir, err := os.MkdirTemp("", "accessrecon-ssh-")
	if err != nil {
		tb.Fatal(err)
	}
	cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	w := &world{dir: dir, alice: userPrefix + hex.EncodeToString(suffix) + "a", bob: userPrefix + hex.EncodeToString(suffix) + "b",
		collector: newKey(tb), aliceKey: newKey(tb), aliceLaptop: newKey(tb), bobKey: newKey(tb), sharedDeploy: newKey(tb)}
	for _, d := range []string{"home", "keys"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	for _, u := range []string{w.alice, w.bob} {
		home := filepath.Join(dir, "home", u)
		// '*' (no usable password, not locked): with UsePAM no, sshd refuses
		// key logins to accounts whose password starts with '!'.
		if out, err := exec.Command("useradd", "-M", "-d", home, "-s", "/bin/sh", "-p", "*", "-c", "Test "+u, u).CombinedOutput(); err != nil {
			tb.Fatalf("useradd %s: %v: %s", u, err, out)
		}
		cleanup(func() {
			if out, err := exec.Command("userdel", u).CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "userdel %s: %v: %s\n", u, err, out)
			}
		})
		if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
			tb.Fatal(err)
		}
		if out, err := exec.Command("chown", "-R", u+":", home).CombinedOutput(); err != nil {
			tb.Fatalf("chown: %v: %s", err, out)
		}
	}
	w.registry = filepath.Join(dir, "keys.csv")
	writeFile(tb, w.registry, "fingerprint,employee_id,email,note\n"+
		w.aliceKey.fp+",E100,alice@example.com,alice's workstation\n"+
		strings.TrimPrefix(w.bobKey.fp, "SHA256:")+",E200,,bob\n", 0o644, "")
	w.reset(tb)
	return w
}

func (w *world) aliceFile() string {
	return filepath.Join(w.dir, "home", w.alice, ".ssh", "authorized_keys")
}
func (w *world) bobFile() string { return filepath.Join(w.dir, "keys", w.bob) }

// aliceContent is alice's authorized_keys: two of her keys among a comment,
// a blank line, no final newline.
func (w *world) aliceContent() string {
	return "# keys of alice\n" +
		w.aliceKey.line + " alice workstation\n" +
		"\n" +
		`from="127.0.0.1",no-agent-forwarding ` + w.aliceLaptop.line + " alice@example.com\n" +
		"# end"
}

func (w *world) rootFile() string { return filepath.Join(w.dir, "keys", "root") }

// rootContent: root is shared: the collector's key (linked to nobody) and
// alice's and bob's keys.
func (w *world) rootContent() string {
	return w.collector.line + " accessrecon-collector\n" + w.aliceKey.line + " alice-on-root\n" + w.bobKey.line + " bob-on-root\n"
}

func (w *world) bobContent() string {
	return w.bobKey.line + " bob-desktop\n" + w.sharedDeploy.line + " deploy\n"
}

// reset restores the users' key files and unlocks them.
func (w *world) reset(tb testing.TB) {
	tb.Helper()
	writeFile(tb, w.aliceFile(), w.aliceContent(), 0o600, w.alice)
	writeFile(tb, w.bobFile(), w.bobContent(), 0o640, w.bob)
	writeFile(tb, w.rootFile(), w.rootContent(), 0o600, "")
	shadow, err := os.ReadFile("/etc/shadow")
	if err != nil {
		tb.Fatal(err)
	}
	for _, u := range []string{w.alice, w.bob} {
		if strings.Contains(string(shadow), "\n"+u+":*:") && regexp.MustCompile(`(?m)^`+u+`:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*::`).Match(shadow) {
			continue // unlocked, no expiry
		}
		if out, err := exec.Command("usermod", "-p", "*", "-e", "", u).CombinedOutput(); err != nil {
			tb.Fatalf("usermod %s: %v: %s", u, err, out)
		}
	}
	matches, _ := filepath.Glob(w.aliceFile() + ".accessrecon-*")
	for _, m := range matches {
		os.Remove(m)
	}
}

func writeFile(tb testing.TB, path, content string, mode os.FileMode, owner string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		tb.Fatal(err)
	}
	if owner != "" {
		if out, err := exec.Command("chown", owner+":", path).CombinedOutput(); err != nil {
			tb.Fatalf("chown: %v: %s", err, out)
		}
	}
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startSSHD starts sshd with its own config and host key in a subdirectory
// of w.dir named name.
func (w *world) startSSHD(tb testing.TB, name string) *sshd {
	tb.Helper()
	s, stop := w.startSSHDFor(tb, name)
	tb.Cleanup(func() {
		stop()
		if tb.Failed() {
			b, _ := os.ReadFile(filepath.Join(s.dir, "sshd.log"))
			tb.Logf("sshd %s log:\n%s", name, b)
		}
	})
	return s
}

// startSSHDFor starts sshd and returns it with the function that stops it.
func (w *world) startSSHDFor(tb testing.TB, name string) (*sshd, func()) {
	tb.Helper()
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // sshd's privilege separation directory
		tb.Fatal(err)
	}
	d := filepath.Join(w.dir, name)
	if err := os.Mkdir(d, 0o700); err != nil {
		tb.Fatal(err)
	}
	s := &sshd{dir: d, hostKey: newKey(tb), port: freePort(tb)}
	s.addr = fmt.Sprintf("127.0.0.1:%d", s.port)
	writeFile(tb, filepath.Join(d, "host_key"), string(s.hostKey.private), 0o600, "")
	cfg := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s/host_key
PidFile %s/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys %s/keys/%%u
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
MaxStartups 50
LogLevel VERBOSE
`, s.port, d, d, w.dir)
	writeFile(tb, filepath.Join(d, "sshd_config"), cfg, 0o600, "")
	if out, err := exec.Command("/usr/sbin/sshd", "-t", "-f", filepath.Join(d, "sshd_config")).CombinedOutput(); err != nil {
		tb.Fatalf("sshd -t: %v: %s", err, out)
	}
	log, err := os.Create(filepath.Join(d, "sshd.log"))
	if err != nil {
		tb.Fatal(err)
	}
	s.cmd = exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", filepath.Join(d, "sshd_config"))
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	stop := func() {
		s.stop()
		log.Close()
	}
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if i == 100 {
			stop()
			tb.Fatalf("sshd did not listen on %s within 5s", s.addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s, stop
}

// stop ends the sshd we started, by its PID.
func (s *sshd) stop() {
	if s.cmd.Process == nil || s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// knownHostsLine pins key for addr as ssh-keyscan would.
func knownHostsLine(addr string, key testKey) string {
	return fmt.Sprintf("[%s]:%s %s\n", strings.Split(addr, ":")[0], strings.Split(addr, ":")[1], key.line)
}

func (w *world) config(tb testing.TB, hosts ...*sshd) sshtarget.Config {
	tb.Helper()
	var kh strings.Builder
	cfg := sshtarget.Config{
		User: "root", PrivateKey: targets.Secret(w.collector.private),
		AuthorizedKeysFiles: []string{".ssh/authorized_keys", w.dir + "/keys/%u"},
		Users:               []string{w.alice, w.bob, "root"},
		KeyRegistry:         w.registry, LockAccounts: true, Timeout: 20 * time.Second,
	}
	for i, h := range hosts {
		kh.WriteString(knownHostsLine(h.addr, h.hostKey))
		cfg.Hosts = append(cfg.Hosts, sshtarget.Host{Address: h.addr, Name: fmt.Sprintf("web%d", i+1)})
	}
	w.knownHosts = filepath.Join(w.dir, "known_hosts")
	writeFile(tb, w.knownHosts, kh.String(), 0o644, "")
	cfg.KnownHosts = w.knownHosts
	return cfg
}

func newTarget(tb testing.TB, cfg sshtarget.Config) *sshtarget.Target {
	tb.Helper()
	tg, err := sshtarget.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	return tg
}

// login tries a real SSH login as user with key and runs true.
func login(addr, user string, key testKey, hostKey testKey) error {
	pk, _ := ssh.ParsePublicKey(hostKey.signer.PublicKey().Marshal())
	c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(key.signer)},
		HostKeyCallback: ssh.FixedHostKey(pk), Timeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Run("true")
}

func listAll(tb testing.TB, ctx context.Context, tg targets.Target) (map[string]targets.Account, error) {
	tb.Helper()
	out := map[string]targets.Account{}
	for a, err := range tg.Accounts(ctx) {
		if err != nil {
			return out, err
		}
		if _, dup := out[a.ID]; dup {
			tb.Fatalf("account %s listed twice", a.ID)
		}
		out[a.ID] = a
	}
	return out, nil
}

func stat(tb testing.TB, path string) (os.FileMode, uint32, uint32) {
	tb.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return fi.Mode().Perm(), st.Uid, st.Gid
}

func uidOf(tb testing.TB, user string) uint32 {
	tb.Helper()
	out, err := exec.Command("id", "-u", user).Output()
	if err != nil {
		tb.Fatal(err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return uint32(n)
}
