package notify

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/targets"
)

// smtpPython finds a python3 that has aiosmtpd (Debian's python3-aiosmtpd
// installs it for /usr/bin/python3, which need not be first on PATH). It
// skips the test when there is none, or fails it under
// ACCESSRECON_REQUIRE_INTEGRATION=1.
func smtpPython(t *testing.T) string {
	t.Helper()
	var cands []string
	if p, err := exec.LookPath("python3"); err == nil {
		cands = append(cands, p)
	}
	cands = append(cands, "/usr/bin/python3")
	for _, p := range cands {
		if exec.Command(p, "-c", "import aiosmtpd").Run() == nil {
			return p
		}
	}
	msg := "no python3 with aiosmtpd: apt-get install -y python3-aiosmtpd"
	if os.Getenv("ACCESSRECON_REQUIRE_INTEGRATION") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// selfSigned writes a certificate for 127.0.0.1 and its key; the
// certificate is its own CA (the sink's ca_file).
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtp test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

type smtpServer struct {
	port     int
	mailDir  string
	certFile string
}

const (
	smtpUser     = "notify@example.com"
	smtpPassword = "smtp-Pa55word-xyz"
)

// startSMTP starts testdata/smtpd.py (mode starttls, smtps or plain) on a free loopback port and stops it
// (by its PID) when the test ends.
func startSMTP(t *testing.T, mode string) smtpServer {
	t.Helper()
	py := smtpPython(t)
	dir := t.TempDir()
	s := smtpServer{mailDir: filepath.Join(dir, "mail")}
	if err := os.Mkdir(s.mailDir, 0o700); err != nil {
		t.Fatal(err)
	}
	var keyFile string
	s.certFile, keyFile = selfSigned(t, dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	args := []string{"testdata/smtpd.py", strconv.Itoa(s.port), s.mailDir, s.certFile, keyFile, smtpUser, smtpPassword, mode}
	cmd := exec.Command(py, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill() // the one python process this test started
		_ = cmd.Wait()
	})
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err == nil && strings.TrimSpace(line) != "READY" {
			err = errors.New("unexpected output " + line)
		}
		ready <- err
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("smtpd.py: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("smtpd.py not ready in 30s\n%s", stderr.String())
	}
	return s
}

type delivered struct {
	Msg  *mail.Message
	Body string
	Meta struct {
		MailFrom string   `json:"mail_from"`
		RcptTos  []string `json:"rcpt_tos"`
		TLS      bool     `json:"tls"`
		Login    *string  `json:"login"`
	}
}

// mailbox reads back every message the server delivered.
func (s smtpServer) mailbox(t *testing.T) []delivered {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.mailDir, "*.eml"))
	var out []delivered
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d delivered
		if d.Msg, err = mail.ReadMessage(strings.NewReader(string(raw))); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if d.Msg.Header.Get("Content-Transfer-Encoding") != "quoted-printable" {
			t.Fatalf("%s: transfer encoding %q", f, d.Msg.Header.Get("Content-Transfer-Encoding"))
		}
		b, err := io.ReadAll(quotedprintable.NewReader(d.Msg.Body))
		if err != nil {
			t.Fatal(err)
		}
		d.Body = string(b)
		meta, err := os.ReadFile(strings.TrimSuffix(f, ".eml") + ".json")
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(meta, &d.Meta); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func (s smtpServer) sink(password string) Sink {
	return Sink{Name: "mail", Email: &EmailConfig{Host: "127.0.0.1", Port: s.port, CAFile: s.certFile,
		Username: smtpUser, PasswordEnv: "SMTP_PASSWORD", Password: targets.Secret(password),
		From: "accessrecon <accessrecon@example.com>", To: []string{"IT Security <it-sec@example.com>", "hr@example.com"}}}
}

func TestEmailThroughARealSMTPServer(t *testing.T) {
	srv := startSMTP(t, "starttls")
	res := result(70, reconcile.StatusCompleted,
		revoked(finding("ldap", "mallory", "E666", hostile, reconcile.AutoRevoke, ""), 10*time.Minute),
		revoked(finding("ldap", "jdoe", "E1001", "Jane Doë", reconcile.AutoRevoke, ""), 10*time.Minute))

	n := newNotifier(t, Config{RunURL: "https://ar.example.com/runs/", Sinks: []Sink{srv.sink(smtpPassword)}}, asOf)
	oc, err := n.Send(context.Background(), res, NewMemOutbox())
	if err != nil || oc.Stats.Delivered != 1 {
		t.Fatalf("delivered %d: %v", oc.Stats.Delivered, err)
	}
	box := srv.mailbox(t)
	if len(box) != 1 {
		t.Fatalf("%d messages delivered", len(box))
	}
	d := box[0]
	if !d.Meta.TLS || d.Meta.Login == nil || *d.Meta.Login != smtpUser {
		t.Errorf("session: tls %v, login %q (want STARTTLS and AUTH as %s)", d.Meta.TLS, deref(d.Meta.Login), smtpUser)
	}
	if d.Meta.MailFrom != "accessrecon@example.com" || strings.Join(d.Meta.RcptTos, ",") != "it-sec@example.com,hr@example.com" {
		t.Errorf("envelope %+v", d.Meta)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(d.Msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if subject != "[accessrecon] accessrecon run 70 revoked access of 2 people (2 accounts)" {
		t.Errorf("subject %q", subject)
	}
	if d.Msg.Header.Get("Auto-Submitted") != "auto-generated" || d.Msg.Header.Get("To") != `"IT Security" <it-sec@example.com>, <hr@example.com>` {
		t.Errorf("headers %v", d.Msg.Header)
	}
	want := "accessrecon run 70 revoked access of 2 people (2 accounts)\r\n\r\n" +
		"- <!channel> *Mal* _lory_ `rm` ~x~ [click](http://evil.example) <b>&amp;</b>\\x1b[31m Injected: line\\u202e (E666): ldap mallory\r\n" +
		"- Jane Doë (E1001): ldap jdoe\r\n\r\n" +
		"Run: https://ar.example.com/runs/70\r\n\r\n" +
		"-- \r\naccessrecon: revocations, severity low.\r\n"
	if d.Body != want {
		t.Errorf("body\n%q\nwant\n%q", d.Body, want)
	}
}

func TestEmailWrongPasswordIsKept(t *testing.T) {
	srv := startSMTP(t, "starttls")
	n := newNotifier(t, Config{Sinks: []Sink{srv.sink("wrong-Password-123")}}, asOf)
	out := NewMemOutbox()
	oc, err := n.Send(context.Background(), runResult(71), out)
	if !errors.Is(err, ErrDeferred) || oc.Stats.Pending != 2 || !strings.Contains(err.Error(), "535") {
		t.Fatalf("stats %+v, err %v", oc.Stats, err)
	}
	if strings.Contains(err.Error(), "wrong-Password") {
		t.Errorf("the error names the password: %v", err)
	}
	if len(srv.mailbox(t)) != 0 {
		t.Error("mail delivered without a login")
	}
	// The password fixed, the next run delivers both.
	n = newNotifier(t, Config{Sinks: []Sink{srv.sink(smtpPassword)}}, asOf)
	if oc, err := n.SendEvents(context.Background(), nil, out); err != nil || oc.Stats.Delivered != 2 || len(srv.mailbox(t)) != 2 {
		t.Fatalf("retry: %+v %v", oc.Stats, err)
	}
}

func TestEmailRefusesARelayWithoutSTARTTLS(t *testing.T) {
	srv := startSMTP(t, "plain")
	n := newNotifier(t, Config{Sinks: []Sink{srv.sink(smtpPassword)}}, asOf)
	_, err := n.Send(context.Background(), runResult(72), NewMemOutbox())
	if !errors.Is(err, ErrDeferred) || !strings.Contains(err.Error(), "does not offer STARTTLS") {
		t.Fatalf("err %v", err)
	}
	if len(srv.mailbox(t)) != 0 {
		t.Error("mail sent in the clear")
	}
}

func TestEmailServerDownIsKept(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	n := newNotifier(t, Config{Sinks: []Sink{{Name: "mail", Email: &EmailConfig{Host: "127.0.0.1", Port: port, From: "a@example.com", To: []string{"b@example.com"}}}}}, asOf)
	out := NewMemOutbox()
	oc, err := n.Send(context.Background(), runResult(73), out)
	if !errors.Is(err, ErrDeferred) || !strings.Contains(err.Error(), "connection refused") || oc.Stats.Pending != 2 {
		t.Fatalf("stats %+v, err %v", oc.Stats, err)
	}
}

func deref(s *string) string {
	if s == nil {
		return "(none)"
	}
	return *s
}

func TestEmailImplicitTLS(t *testing.T) {
	srv := startSMTP(t, "smtps")
	sink := srv.sink(smtpPassword)
	sink.Email.TLS = TLSImplicit
	n := newNotifier(t, Config{Sinks: []Sink{sink}}, asOf)
	oc, err := n.Send(context.Background(), runResult(74), NewMemOutbox())
	if err != nil || oc.Stats.Delivered != 2 {
		t.Fatalf("stats %+v, err %v", oc.Stats, err)
	}
	box := srv.mailbox(t)
	if len(box) != 2 || !box[0].Meta.TLS || deref(box[0].Meta.Login) != smtpUser {
		t.Fatalf("%d delivered; first: %+v", len(box), box)
	}
	// The certificate is checked: without ca_file it is unknown.
	sink.Email.CAFile = ""
	n = newNotifier(t, Config{Sinks: []Sink{sink}}, asOf)
	if _, err := n.Send(context.Background(), runResult(75), NewMemOutbox()); !errors.Is(err, ErrDeferred) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: %v", err)
	}
}
