package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/targets"
)

// The email sink's TLS modes.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS (port 587); refused when not offered
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // no TLS (a relay on localhost); no authentication
)

// EmailConfig is an email sink: plain-text mail through an SMTP relay.
type EmailConfig struct {
	Host string `yaml:"host"`
	// Port defaults to 587 (starttls), 465 (tls) or 25 (none).
	Port int `yaml:"port"`
	// TLS is starttls (the default), tls or none.
	TLS string `yaml:"tls"`
	// CAFile holds the PEM certificates that sign the relay's certificate,
	// when not the system's (relative to the configuration file).
	CAFile string `yaml:"ca_file"`
	// Username and the password (password_env or password_file) log in
	// with AUTH PLAIN, only over TLS; leave both out for an open relay.
	Username     string         `yaml:"username"`
	PasswordEnv  string         `yaml:"password_env"`
	PasswordFile string         `yaml:"password_file"`
	Password     targets.Secret `yaml:"-"`
	// From is the sender address; To the recipients.
	From string   `yaml:"from"`
	To   []string `yaml:"to"`
	// SubjectPrefix starts every subject (default "[accessrecon]").
	SubjectPrefix string `yaml:"subject_prefix"`
	// HELO is the name given in EHLO (default localhost).
	HELO string `yaml:"helo"`
}

func (c *EmailConfig) secretFields() []targets.SecretField {
	return []targets.SecretField{{Key: "password", Env: c.PasswordEnv, File: c.PasswordFile, Value: &c.Password, Optional: true}}
}

type emailSender struct {
	cfg     EmailConfig
	from    *mail.Address
	to      []*mail.Address
	tls     *tls.Config
	timeout time.Duration
	now     func() time.Time
	red     *targets.Redactor
}

func newEmail(c EmailConfig, timeout time.Duration, now func() time.Time) (sender, error) {
	if c.Host == "" {
		return nil, errors.New("email: host: required")
	}
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	switch c.TLS {
	case TLSStartTLS:
		c.Port = cmpInt(c.Port, 587)
	case TLSImplicit:
		c.Port = cmpInt(c.Port, 465)
	case TLSNone:
		c.Port = cmpInt(c.Port, 25)
		if c.Username != "" || c.Password != "" {
			return nil, errors.New("email: tls none: no username or password without TLS")
		}
	default:
		return nil, fmt.Errorf("email: tls: %q is not starttls, tls or none", c.TLS)
	}
	if c.Port < 1 || c.Port > 65535 {
		return nil, fmt.Errorf("email: port: %d is not a port", c.Port)
	}
	if (c.Username == "") != (c.Password == "") {
		return nil, errors.New("email: username and password_env/password_file: set both or neither")
	}
	s := &emailSender{cfg: c, timeout: timeout, now: now, red: targets.NewRedactor(c.Password)}
	var err error
	if s.from, err = mail.ParseAddress(c.From); err != nil {
		return nil, fmt.Errorf("email: from: %w", err)
	}
	if len(c.To) == 0 {
		return nil, errors.New("email: to: at least one recipient")
	}
	for i, t := range c.To {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return nil, fmt.Errorf("email: to[%d]: %w", i, err)
		}
		s.to = append(s.to, a)
	}
	s.cfg.SubjectPrefix = cmpStr(c.SubjectPrefix, "[accessrecon]")
	s.cfg.HELO = cmpStr(c.HELO, "localhost")
	if c.TLS != TLSNone {
		s.tls = &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("email: ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("email: ca_file: %s holds no PEM certificate", c.CAFile)
			}
			s.tls.RootCAs = pool
		}
	}
	return s, nil
}

func cmpInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func cmpStr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// EmailBody renders an event as the text of a plain-text mail.
func EmailBody(ev Event) string {
	var b strings.Builder
	b.WriteString(ev.Title + "\n\n")
	for _, l := range ev.Lines {
		b.WriteString("- " + l + "\n")
	}
	if ev.More > 0 {
		fmt.Fprintf(&b, "…and %d more\n", ev.More)
	}
	if ev.URL != "" {
		b.WriteString("\nRun: " + ev.URL + "\n")
	}
	fmt.Fprintf(&b, "\n-- \naccessrecon: %s, severity %s.\n", ev.Type, ev.Severity)
	return b.String()
}

// message builds the RFC 5322 message. Header values come from the
// configuration (addresses parsed and re-encoded) and from the event's
// title, which is one printable line, Q-encoded when not plain ASCII.
func (s *emailSender) message(id string, ev Event) ([]byte, error) {
	var b bytes.Buffer
	to := make([]string, len(s.to))
	for i, a := range s.to {
		to[i] = a.String()
	}
	sum := sha256.Sum256([]byte(id))
	subject := clean(s.cfg.SubjectPrefix+" "+ev.Title, 400)
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("From", s.from.String())
	h("To", strings.Join(to, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", subject))
	h("Date", s.now().UTC().Format(time.RFC1123Z))
	h("Message-ID", "<"+hex.EncodeToString(sum[:16])+"@accessrecon>")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	h("Auto-Submitted", "auto-generated")
	h("X-Accessrecon-Event", string(ev.Type))
	b.WriteString("\r\n")
	w := quotedprintable.NewWriter(&b)
	if _, err := w.Write([]byte(strings.ReplaceAll(EmailBody(ev), "\n", "\r\n"))); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (s *emailSender) send(ctx context.Context, id string, ev Event) error {
	msg, err := s.message(id, ev)
	if err != nil {
		return final(err)
	}
	if err := s.deliver(ctx, msg); err != nil {
		text := s.red.Redact(err.Error())
		var te *textproto.Error
		// 552 (too big) and 554 (rejected) at DATA: this message will not
		// pass; everything else (down, 4xx, a recipient refused, TLS or
		// login refused) may once the relay or the configuration is fixed.
		if errors.As(err, &te) && (te.Code == 552 || te.Code == 554) {
			return final(fmt.Errorf("email: %s", text))
		}
		return fmt.Errorf("email: %s", text)
	}
	return nil
}

func (s *emailSender) deliver(ctx context.Context, msg []byte) error {
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	d := net.Dialer{Timeout: s.timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline := time.Now().Add(s.timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	if s.cfg.TLS == TLSImplicit {
		tc := tls.Client(conn, s.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello(s.cfg.HELO); err != nil {
		return err
	}
	if s.cfg.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("%s does not offer STARTTLS: not sending in the clear (tls: none is for a local relay)", addr)
		}
		if err := c.StartTLS(s.tls); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}
	if s.cfg.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return fmt.Errorf("%s does not offer AUTH", addr)
		}
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password.Reveal(), s.cfg.Host)); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	for _, t := range s.to {
		if err := c.Rcpt(t.Address); err != nil {
			return fmt.Errorf("rcpt to %s: %w", t.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	return c.Quit()
}
