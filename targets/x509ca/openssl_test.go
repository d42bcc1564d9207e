package x509ca_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/targettest"
	"github.com/accessrecon/accessrecon/targets/x509ca"
)

func needIntegration(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv("ACCESSRECON_REQUIRE_INTEGRATION") == "1" {
		tb.Fatalf("integration test cannot run: %s", why)
	}
	tb.Skipf("skipping: %s", why)
}

const caConfig = `[ ca ]
default_ca = test_ca

[ test_ca ]
dir              = %s
database         = $dir/index.txt
new_certs_dir    = $dir/newcerts
certificate      = $dir/ca.crt
private_key      = $dir/ca.key
serial           = $dir/serial
crlnumber        = $dir/crlnumber
default_md       = sha256
default_days     = 365
default_crl_days = 30
policy           = policy_any
unique_subject   = no
copy_extensions  = none
email_in_dn      = yes

[ policy_any ]
commonName       = supplied
emailAddress     = optional
serialNumber     = optional

[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = Test VPN CA
`

// person is one certificate holder of the test CA.
type person struct{ cn, email, employeeID string }

var people = []person{
	{"alice", "alice@example.com", "E100"},
	{"bob", "bob@example.com", "E200"},
	{"carol", "carol@example.com", "E300"},
	{"dave", "dave@example.com", "E400"},
	{"erin", "erin@example.com", "E500"},
}

// testCA is a real OpenSSL CA in a directory: five people's certificates,
// an expired one of frank's, and one whose CN (vpn-gw-legacy) is nobody.
type testCA struct {
	dir     string
	serials map[string]string // cn → serial (hex)
}

func openssl(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

var built struct {
	dir     string
	serials map[string]string
}

// buildCA builds the CA once per test binary (a few seconds) into a
// directory that each test copies.
func buildCA(tb testing.TB) testCA {
	tb.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		needIntegration(tb, "openssl not installed (apt-get install openssl)")
	}
	if built.dir == "" {
		dir, err := os.MkdirTemp("", "accessrecon-x509ca-")
		if err != nil {
			tb.Fatal(err)
		}
		serials := map[string]string{}
		setup := func() error {
			writeCA(tb, dir)
			openssl(tb, dir, "req", "-x509", "-config", "openssl.cnf", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
				"-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650")
			issue := func(cn, subj string, extra ...string) {
				openssl(tb, dir, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
					"-keyout", cn+".key", "-out", cn+".csr", "-subj", subj)
				args := append([]string{"ca", "-batch", "-config", "openssl.cnf", "-in", cn + ".csr", "-out", cn + ".crt", "-notext"}, extra...)
				openssl(tb, dir, args...)
				s := openssl(tb, dir, "x509", "-in", cn+".crt", "-noout", "-serial")
				serials[cn] = strings.TrimSpace(strings.TrimPrefix(s, "serial="))
			}
			for _, p := range people {
				issue(p.cn, fmt.Sprintf("/CN=%s/emailAddress=%s/serialNumber=%s", p.cn, p.email, p.employeeID))
			}
			issue("frank", "/CN=frank/emailAddress=frank@example.com/serialNumber=E600", "-startdate", "20200101000000Z", "-enddate", "20200201000000Z")
			issue("vpn-gw-legacy", "/CN=vpn-gw-legacy")
			openssl(tb, dir, "ca", "-config", "openssl.cnf", "-gencrl", "-out", "crl.pem")
			return nil
		}
		if err := setup(); err != nil {
			tb.Fatal(err)
		}
		built.dir, built.serials = dir, serials
	}
	dir := tb.TempDir()
	if out, err := exec.Command("cp", "-a", built.dir+"/.", dir).CombinedOutput(); err != nil {
		tb.Fatalf("cp: %v: %s", err, out)
	}
	writeCA(tb, dir) // the copy's openssl.cnf points at the copy
	return testCA{dir: dir, serials: built.serials}
}

func writeCA(tb testing.TB, dir string) {
	tb.Helper()
	for _, d := range []string{"newcerts"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			tb.Fatal(err)
		}
	}
	files := map[string]string{"openssl.cnf": fmt.Sprintf(caConfig, dir)}
	if _, err := os.Stat(filepath.Join(dir, "index.txt")); err != nil {
		files["index.txt"], files["serial"], files["crlnumber"] = "", "1000\n", "01\n"
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

func (ca testCA) config() x509ca.Config {
	return x509ca.Config{
		Index: filepath.Join(ca.dir, "index.txt"), CRL: filepath.Join(ca.dir, "crl.pem"), CACert: filepath.Join(ca.dir, "ca.crt"),
		CertFile: filepath.Join(ca.dir, "newcerts", "{serial}.pem"), EmployeeIDAttribute: "serialNumber",
		RevokeCommand: []string{"openssl", "ca", "-batch", "-config", "openssl.cnf", "-revoke", "{cert}", "-crl_reason", "cessationOfOperation"},
		GenCRLCommand: []string{"openssl", "ca", "-batch", "-config", "openssl.cnf", "-gencrl", "-out", "crl.pem"},
		WorkDir:       ca.dir,
	}
}

func newTarget(tb testing.TB, cfg x509ca.Config) *x509ca.Target {
	tb.Helper()
	tg, err := x509ca.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	return tg
}

func list(t *testing.T, tg targets.Target) map[string]targets.Account {
	t.Helper()
	out := map[string]targets.Account{}
	for a, err := range tg.Accounts(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		out[a.ID] = a
	}
	return out
}

// crlText is the CRL's serials as `openssl crl -text` prints them.
func crlText(t *testing.T, ca testCA) []string {
	t.Helper()
	out := openssl(t, ca.dir, "crl", "-in", "crl.pem", "-noout", "-text")
	var s []string
	for _, m := range regexp.MustCompile(`Serial Number: ([0-9A-Fa-f]+)`).FindAllStringSubmatch(out, -1) {
		s = append(s, strings.ToUpper(m[1]))
	}
	slices.Sort(s)
	return s
}

func TestConformanceOpenSSL(t *testing.T) {
	targettest.Run(t, func(t *testing.T) targettest.Fixture {
		ca := buildCA(t)
		return targettest.Fixture{Target: newTarget(t, ca.config()), Enabled: []string{"alice", "bob"}, MinAccounts: 7}
	})
}

func TestListOpenSSL(t *testing.T) {
	ca := buildCA(t)
	got := list(t, newTarget(t, ca.config()))
	if len(got) != 7 {
		t.Fatalf("listed %d accounts: %v", len(got), got)
	}
	alice := got["alice"]
	if !alice.Enabled || alice.Email != "alice@example.com" || alice.EmployeeID != "E100" || len(alice.Credentials) != 1 ||
		alice.Credentials[0].ID != ca.serials["alice"] || !alice.Credentials[0].Active || time.Since(alice.Credentials[0].Created) > time.Hour ||
		!strings.Contains(alice.Credentials[0].Kind, "CN=alice") {
		t.Fatalf("alice = %+v", alice)
	}
	// An expired certificate is no active credential, and its account is not enabled: no finding.
	if frank := got["frank"]; frank.Enabled || len(frank.Credentials) != 1 || frank.Credentials[0].Active || !strings.Contains(frank.Credentials[0].Kind, "expired") {
		t.Fatalf("frank (expired) = %+v", frank)
	}
	// A CN that is nobody: an enabled account with no employee ID or e-mail (reconcile: orphaned).
	if gw := got["vpn-gw-legacy"]; !gw.Enabled || gw.EmployeeID != "" || gw.Email != "" {
		t.Fatalf("vpn-gw-legacy = %+v", gw)
	}
}

// TestRevokeLeavers: two of five people leave; exactly their serials are
// revoked in the index and listed by `openssl crl -text`; a second run
// changes nothing.
func TestRevokeLeavers(t *testing.T) {
	ca := buildCA(t)
	tg := newTarget(t, ca.config())
	accs := list(t, tg)
	if before := crlText(t, ca); len(before) != 0 {
		t.Fatalf("CRL not empty before: %v", before)
	}
	leavers := []string{"bob", "dave"}
	// Disable (all of bob's certificates) and RevokeCredential (dave's one), as the executor calls them.
	if err := tg.Disable(t.Context(), accs["bob"]); err != nil {
		t.Fatal(err)
	}
	if err := tg.RevokeCredential(t.Context(), accs["dave"], accs["dave"].Credentials[0]); err != nil {
		t.Fatal(err)
	}
	want := []string{ca.serials["bob"], ca.serials["dave"]}
	slices.Sort(want)
	if got := crlText(t, ca); !slices.Equal(got, want) {
		t.Fatalf("CRL serials %v, want exactly %v", got, want)
	}
	index, _ := os.ReadFile(filepath.Join(ca.dir, "index.txt"))
	for _, line := range strings.Split(strings.TrimSpace(string(index)), "\n") {
		f := strings.Split(line, "\t")
		revoked := slices.Contains(want, f[3])
		if (f[0] == "R") != revoked {
			t.Errorf("index line %q: revoked %v", line, f[0] == "R")
		}
	}
	after := list(t, tg)
	for _, p := range people {
		if after[p.cn].Enabled == slices.Contains(leavers, p.cn) {
			t.Errorf("%s enabled = %v after the leavers' revocation", p.cn, after[p.cn].Enabled)
		}
	}
	// The second run does nothing: same index, same CRL file.
	crlBefore, _ := os.ReadFile(filepath.Join(ca.dir, "crl.pem"))
	if err := tg.Disable(t.Context(), accs["bob"]); err != nil {
		t.Fatal(err)
	}
	if err := tg.RevokeCredential(t.Context(), accs["dave"], accs["dave"].Credentials[0]); err != nil {
		t.Fatal(err)
	}
	index2, _ := os.ReadFile(filepath.Join(ca.dir, "index.txt"))
	crlAfter, _ := os.ReadFile(filepath.Join(ca.dir, "crl.pem"))
	if string(index2) != string(index) || string(crlAfter) != string(crlBefore) {
		t.Fatal("the second run changed the index or the CRL")
	}
	// A serial of someone else's certificate is not this account's: ErrNotFound, nothing revoked.
	err := tg.RevokeCredential(t.Context(), accs["alice"], targets.Credential{ID: ca.serials["carol"]})
	if !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("revoking carol's serial as alice's: %v", err)
	}
	if got := crlText(t, ca); !slices.Equal(got, want) {
		t.Fatalf("CRL changed: %v", got)
	}
}

// TestLostCRL: the index says revoked but the CRL was not regenerated (the
// CRL command failed last time): the next call regenerates it.
func TestLostCRL(t *testing.T) {
	ca := buildCA(t)
	cfg := ca.config()
	cfg.GenCRLCommand = []string{"false"}
	tg := newTarget(t, cfg)
	alice, _ := tg.Account(t.Context(), "alice")
	if err := tg.Disable(t.Context(), alice); err == nil || !strings.Contains(err.Error(), "gen_crl_command") {
		t.Fatalf("a failing CRL command: %v", err)
	}
	if a, _ := tg.Account(t.Context(), "alice"); a.Enabled {
		t.Fatal("the index does not show the revocation")
	}
	tg = newTarget(t, ca.config())
	if err := tg.Disable(t.Context(), alice); err != nil {
		t.Fatal(err)
	}
	if got := crlText(t, ca); !slices.Equal(got, []string{ca.serials["alice"]}) {
		t.Fatalf("CRL %v", got)
	}
}

// TestPassphraseRedacted: a CA key with a passphrase; a command that fails
// and echoes it does not leak it into the error.
func TestPassphraseRedacted(t *testing.T) {
	ca := buildCA(t)
	cfg := ca.config()
	cfg.CAPassphrase = "s3cret-Passphrase"
	cfg.RevokeCommand = []string{"sh", "-c", `echo "bad passphrase $` + x509ca.PassphraseVar + ` for {serial}" >&2; printf 'pass:%s' "$` +
		x509ca.PassphraseVar + `" | base64; exit 1`}
	tg := newTarget(t, cfg)
	alice, _ := tg.Account(context.Background(), "alice")
	err := tg.Disable(t.Context(), alice)
	b64 := base64.StdEncoding.EncodeToString([]byte("pass:s3cret-Passphrase"))
	if err == nil || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), b64[:12]) ||
		!strings.Contains(err.Error(), "bad passphrase REDACTED for "+ca.serials["alice"]) {
		t.Fatalf("error: %v", err)
	}
}

// BenchmarkListIndex lists an index.txt of 100,000 certificates (50,000
// people, half of them with a revoked older certificate).
func BenchmarkListIndex(b *testing.B) {
	dir := b.TempDir()
	var sb strings.Builder
	for i := range 100_000 {
		status, rev := "V", ""
		if i%2 == 1 {
			status, rev = "R", "250101000000Z,superseded"
		}
		fmt.Fprintf(&sb, "%s\t%s\t%s\t%X\tunknown\t/CN=user%05d/emailAddress=user%05d@example.com/serialNumber=E%05d\n",
			status, "301231235959Z", rev, 0x1000+i, i/2, i/2, i/2)
	}
	idx := filepath.Join(dir, "index.txt")
	if err := os.WriteFile(idx, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	tg, err := x509ca.New(x509ca.Config{Index: idx, CRL: filepath.Join(dir, "crl.pem"), EmployeeIDAttribute: "serialNumber",
		RevokeCommand: []string{"openssl", "ca", "-revoke", "x/{serial}.pem"}, GenCRLCommand: []string{"true"}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, err := range tg.Accounts(context.Background()) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 50_000 {
			b.Fatalf("%d accounts", n)
		}
	}
	b.ReportMetric(100_000, "certs/op")
}

// TestSecretFields: the wiring finds the passphrase through SecretFields.
func TestSecretFields(t *testing.T) {
	c := x509ca.Config{CAPassphraseEnv: "VPN_CA_PASS"}
	f := c.SecretFields()
	if len(f) != 1 || f[0].Key != "ca_passphrase" || f[0].Env != "VPN_CA_PASS" || !f[0].Optional {
		t.Fatalf("%+v", f)
	}
	*f[0].Value = "x"
	if c.CAPassphrase != "x" {
		t.Fatal("Value does not point into the config")
	}
}

// TestRelativePaths: paths relative to the process (as the wiring may leave
// them) still reach the commands, which run in work_dir.
func TestRelativePaths(t *testing.T) {
	ca := buildCA(t)
	cfg := ca.config()
	t.Chdir(filepath.Dir(ca.dir))
	base := filepath.Base(ca.dir)
	cfg.Index, cfg.CRL, cfg.CACert, cfg.CertFile, cfg.WorkDir = base+"/index.txt", base+"/crl.pem", base+"/ca.crt", base+"/newcerts/{serial}.pem", base
	tg := newTarget(t, cfg)
	bob, err := tg.Account(t.Context(), "bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := tg.Disable(t.Context(), bob); err != nil {
		t.Fatal(err)
	}
	if got := crlText(t, ca); !slices.Equal(got, []string{ca.serials["bob"]}) {
		t.Fatalf("CRL %v", got)
	}
}
