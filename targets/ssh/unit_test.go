package sshtarget

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/accessrecon/accessrecon/targets"
)

func key(t *testing.T) (line, fp string) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := ssh.NewPublicKey(pub)
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))), ssh.FingerprintSHA256(sp)
}

func TestRemoveKeyKeepsEveryOtherByte(t *testing.T) {
	k1, fp1 := key(t)
	k2, fp2 := key(t)
	for _, tc := range []struct{ in, want string }{
		{"# c\r\n" + k1 + " a\n\n" + k2 + " b", "# c\r\n\n" + k2 + " b"},
		{k2 + " b\n" + `command="echo hi",no-pty ` + k1 + " a b c\n", k2 + " b\n"},
		{k1 + "\n" + k2 + "\n" + k1 + " again\n", k2 + "\n"},  // every line with the key
		{"   " + k1 + "\t x\n#" + k1 + "\n", "#" + k1 + "\n"}, // a commented-out key is no key
	} {
		got, _ := removeKey([]byte(tc.in), fp1)
		if string(got) != tc.want {
			t.Errorf("removeKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got, n := removeKey([]byte(tc.in), "SHA256:nothere"); string(got) != tc.in || n != 0 {
			t.Errorf("removing an absent key changed %q", tc.in)
		}
	}
	ks := parseAuthorizedKeys([]byte("# x\n"+`expiry-time="20200101",from="10.0.0.1" `+k1+" old\n"+`expiry-time="29990101" `+k2+"\ngarbage line\n"), time.Now())
	if len(ks) != 2 || !ks[0].Expired || ks[1].Expired || ks[0].Comment != "old" || ks[1].Fingerprint != fp2 || len(ks[0].Options) != 2 {
		t.Fatalf("parsed %+v", ks)
	}
}

func TestRegistry(t *testing.T) {
	_, fp := key(t)
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "r.csv")
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	r, err := readRegistry(write("\ufeffFingerprint,Email,Employee_ID\n# comment\n" + fp + ",a@example.com,0042\n" + strings.TrimPrefix(fp, "SHA256:") + "=,a@example.com,0042\n"))
	if err != nil || r[fp] != (keyOwner{EmployeeID: "0042", Email: "a@example.com"}) || len(r) != 1 {
		t.Fatalf("registry = %v, %v", r, err)
	}
	for in, want := range map[string]string{
		"fp,who\n":                                              "must name the columns",
		"fingerprint,employee_id\nMD5:aa:bb,1\n":                "line 2: fingerprint \"MD5:aa:bb\" is not an SHA256",
		"fingerprint,employee_id\n" + fp + ",\n":                "neither employee_id nor email",
		"fingerprint,employee_id\n" + fp + ",1\n" + fp + ",2\n": "listed twice with different owners",
	} {
		if _, err := readRegistry(write(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("registry %q: %v, want %q", in, err, want)
		}
	}
}

func TestEmailOf(t *testing.T) {
	for comment, want := range map[string]string{
		"alice@example.com":           "alice@example.com",
		"Alice <Alice@Example.COM>":   "alice@example.com",
		"alice@laptop":                "",
		"deploy key":                  "",
		"bob@other.org":               "",
		"x bob@sub.example.com (old)": "",
	} {
		if got := emailOf(comment, []string{"example.com"}); got != want {
			t.Errorf("emailOf(%q) = %q, want %q", comment, got, want)
		}
	}
	if got := emailOf("bob@other.org", nil); got != "bob@other.org" {
		t.Errorf("without email_domains: %q", got)
	}
}

func TestKeyPathsAndIDs(t *testing.T) {
	tg := &Target{cfg: Config{AuthorizedKeysFiles: []string{".ssh/authorized_keys", "%h/.ssh/authorized_keys", "/etc/ssh/keys/%u.%U", "/x/100%%"},
		Hosts: []Host{{Address: "db1.example.com"}, {Address: "10.0.0.5:2222"}, {Address: "h", Name: "named"}}}}
	got := tg.keyPaths(passwdEntry{Name: "al", UID: 1001, Home: "/home/al"})
	want := []string{"/home/al/.ssh/authorized_keys", "/etc/ssh/keys/al.1001", "/x/100%"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("keyPaths = %v, want %v", got, want)
	}
	for id, host := range map[string]string{"db1.example.com:al": "db1.example.com", "10.0.0.5:2222:al": "10.0.0.5:2222", "named:al": "named"} {
		h, u, err := tg.parseID(id)
		if err != nil || h.hostName() != host || u != "al" {
			t.Errorf("parseID(%s) = %v %q %v", id, h, u, err)
		}
	}
	if (Host{Address: "db1:22"}).hostName() != "db1" || (Host{Address: "db1"}).dialAddress() != "db1:22" {
		t.Error("port 22 is the default")
	}
}

// TestShellQuote runs quoted arguments through a real sh.
func TestShellQuote(t *testing.T) {
	args := []string{"plain", "with space", "it's", `"$HOME"`, "a;b|c&&d", "", "-n", "\\", "%u"}
	var cmd strings.Builder
	cmd.WriteString(`for a do printf '[%s]' "$a"; done`)
	var line strings.Builder
	line.WriteString("sh -c " + shellQuote(cmd.String()) + " sh")
	want := ""
	for _, a := range args {
		line.WriteString(" " + shellQuote(a))
		want += "[" + a + "]"
	}
	out, err := exec.Command("sh", "-c", line.String()).Output()
	if err != nil || string(out) != want {
		t.Fatalf("got %q, %v; want %q", out, err, want)
	}
}

func TestNewRejects(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	blk, _ := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("pw"))
	kh := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(kh, nil, 0o600)
	base := Config{Hosts: []Host{{Address: "h"}}, KnownHosts: kh, PrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END OPENSSH PRIVATE KEY-----\n"}
	_, err := New(base, nil)
	if err == nil || strings.Contains(err.Error(), "c2VjcmV0") {
		t.Fatalf("a broken key: %v (must not echo it)", err)
	}
	base.PrivateKey = targets.Secret(pemEncode(blk))
	if _, err := New(base, nil); err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Fatalf("an encrypted key: %v", err)
	}
	plain, _ := ssh.MarshalPrivateKey(priv, "")
	base.PrivateKey = targets.Secret(pemEncode(plain))
	if _, err := New(base, nil); err != nil {
		t.Fatalf("a valid config: %v", err)
	}
	for mod, want := range map[string]func(*Config){
		"hosts: at least one":            func(c *Config) { c.Hosts = nil },
		"known_hosts: required":          func(c *Config) { c.KnownHosts = "" },
		"no private key":                 func(c *Config) { c.PrivateKey = "" },
		"is used twice":                  func(c *Config) { c.Hosts = []Host{{Address: "h:22"}, {Address: "h"}} },
		"known_hosts: stat /nonexistent": func(c *Config) { c.KnownHosts = "/nonexistent" },
	} {
		c := base
		want(&c)
		if _, err := New(c, nil); err == nil || !strings.Contains(err.Error(), mod) {
			t.Errorf("%s: %v", mod, err)
		}
	}
}

func pemEncode(b *pem.Block) []byte { return pem.EncodeToMemory(b) }
