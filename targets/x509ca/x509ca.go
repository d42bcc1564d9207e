// Package x509ca lists the certificates of an OpenSSL (`openssl ca`) or
// easy-rsa certificate authority from its database, index.txt, as
// credentials of the people named in their subjects, and revokes them with
// the CA's own tooling (configured commands such as `openssl ca -revoke`,
// then a new CRL), never by editing the index. A revocation is verified by
// re-reading the index and finding the serial in the new CRL.
//
// Typical use: the client certificates of an OpenVPN or IPsec VPN.
package x509ca

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/accessrecon/accessrecon/targets"
)

// Config is the `x509ca` target's configuration (YAML keys in snake_case).
type Config struct {
	// Index is the CA database (index.txt). Read only: every change goes
	// through the commands.
	Index string `yaml:"index"`
	// CRL is the file the gen_crl command writes (PEM or DER); a revocation
	// is verified by finding the serial in it.
	CRL string `yaml:"crl"`
	// CACert, when set, is the CA certificate (PEM) the CRL's signature is
	// checked against.
	CACert string `yaml:"ca_cert"`
	// CertFile is where the certificate with a serial is kept, with
	// {serial} for the serial in upper-case hex: newcerts/{serial}.pem for
	// openssl ca, pki/certs_by_serial/{serial}.pem for easy-rsa. Used for
	// the {cert} placeholder and to read each certificate's notBefore.
	CertFile string `yaml:"cert_file"`
	// AccountAttribute is the subject attribute naming the account
	// (default CN).
	AccountAttribute string `yaml:"account_attribute"`
	// EmployeeIDAttribute, when set, is the subject attribute holding the
	// employee ID (e.g. serialNumber or UID).
	EmployeeIDAttribute string `yaml:"employee_id_attribute"`
	// RevokeCommand and GenCRLCommand are argv lists (no shell) with the
	// placeholders {serial}, {cert} and {account}; run in WorkDir with Env
	// added to the environment.
	RevokeCommand []string          `yaml:"revoke_command"`
	GenCRLCommand []string          `yaml:"gen_crl_command"`
	WorkDir       string            `yaml:"work_dir"`
	Env           map[string]string `yaml:"env"`
	// The CA key's passphrase, when the commands need one, comes from
	// CAPassphraseEnv or CAPassphraseFile and is handed to the commands as
	// the environment variable ACCESSRECON_CA_PASSPHRASE (openssl ca
	// -passin env:ACCESSRECON_CA_PASSPHRASE).
	CAPassphraseEnv  string         `yaml:"ca_passphrase_env"`
	CAPassphraseFile string         `yaml:"ca_passphrase_file"`
	CAPassphrase     targets.Secret `yaml:"-"`
	// Timeout bounds each command (default 60s).
	Timeout time.Duration `yaml:"timeout"`
}

// PassphraseVar is the environment variable the commands receive the CA
// key's passphrase in.
const PassphraseVar = "ACCESSRECON_CA_PASSPHRASE"

var (
	_ targets.SecretConfig = (*Config)(nil)
	_ targets.PathConfig   = (*Config)(nil)
)

// SecretFields names the CA key's passphrase (optional: an unencrypted CA key
// needs none), which the wiring resolves into CAPassphrase.
func (c *Config) SecretFields() []targets.SecretField {
	return []targets.SecretField{{Key: "ca_passphrase", Env: c.CAPassphraseEnv, File: c.CAPassphraseFile, Value: &c.CAPassphrase, Optional: true}}
}

// ResolvePaths makes the configured files relative to dir (the config
// file's directory) absolute. (The passphrase file is the wiring's.)
func (c *Config) ResolvePaths(dir string) {
	for _, p := range []*string{&c.Index, &c.CRL, &c.CACert, &c.CertFile, &c.WorkDir} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}

// Target is an `x509ca` target over one CA.
type Target struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
	mu  sync.Mutex // openssl ca does not lock its database: one change at a time
}

var (
	_ targets.Target            = (*Target)(nil)
	_ targets.Getter            = (*Target)(nil)
	_ targets.Disabler          = (*Target)(nil)
	_ targets.CredentialRevoker = (*Target)(nil)
	_ targets.Local             = (*Target)(nil)
)

// New checks cfg.
func New(cfg Config, log *slog.Logger) (*Target, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	if cfg.Index == "" {
		errs = append(errs, errors.New("index: required"))
	}
	if cfg.CRL == "" {
		errs = append(errs, errors.New("crl: required (revocations are verified in it)"))
	}
	if len(cfg.RevokeCommand) == 0 || len(cfg.GenCRLCommand) == 0 {
		errs = append(errs, errors.New("revoke_command and gen_crl_command: both required"))
	}
	uses := strings.Join(append(append([]string{}, cfg.RevokeCommand...), cfg.GenCRLCommand...), " ")
	if strings.Contains(uses, "{cert}") && cfg.CertFile == "" {
		errs = append(errs, errors.New("cert_file: required when a command uses {cert}"))
	}
	if cfg.CertFile != "" && !strings.Contains(cfg.CertFile, "{serial}") {
		errs = append(errs, errors.New("cert_file: must contain {serial}"))
	}
	if !strings.Contains(strings.Join(cfg.RevokeCommand, " "), "{serial}") && !strings.Contains(strings.Join(cfg.RevokeCommand, " "), "{cert}") {
		errs = append(errs, errors.New("revoke_command: must name the certificate with {serial} or {cert}"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("x509ca: %w", err)
	}
	// The commands run in work_dir: hand them absolute paths.
	for _, p := range []*string{&cfg.Index, &cfg.CRL, &cfg.CACert, &cfg.CertFile} {
		if *p != "" {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return nil, fmt.Errorf("x509ca: %w", err)
			}
			*p = abs
		}
	}
	if cfg.AccountAttribute == "" {
		cfg.AccountAttribute = "CN"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if _, err := os.Stat(cfg.Index); err != nil {
		return nil, fmt.Errorf("x509ca: index: %w", err)
	}
	return &Target{cfg: cfg, log: log, now: time.Now}, nil
}

// account is an account being assembled from index lines.
type account struct {
	a      targets.Account
	serial map[string]int
}

// read reads the whole index into accounts, in the order of their first
// certificate. Only for one name when only is set.
func (t *Target) read(ctx context.Context, only string) ([]*account, error) {
	f, err := os.Open(t.cfg.Index)
	if err != nil {
		return nil, fmt.Errorf("x509ca: index: %w", err)
	}
	defer f.Close()
	now := t.now()
	byName := map[string]*account{}
	var order []*account
	err = readIndex(f, func(e entry) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := e.attr(t.cfg.AccountAttribute)
		if name == "" {
			name = e.Subject // no such attribute: the whole subject names it
		}
		if only != "" && name != only {
			return nil
		}
		acc := byName[name]
		if acc == nil {
			acc = &account{a: targets.Account{ID: name, Username: name}, serial: map[string]int{}}
			byName[name] = acc
			order = append(order, acc)
		}
		c := targets.Credential{ID: e.Serial, Active: e.Status == 'V' && e.Expires.After(now), Kind: t.kind(e, now)}
		if t.cfg.CertFile != "" {
			if nb, ok := t.notBefore(e.Serial); ok {
				c.Created = nb
			}
		}
		if i, dup := acc.serial[e.Serial]; dup { // a re-used serial: the later line wins
			acc.a.Credentials[i] = c
		} else {
			acc.serial[e.Serial] = len(acc.a.Credentials)
			acc.a.Credentials = append(acc.a.Credentials, c)
		}
		if c.Active {
			acc.a.Enabled = true
			// the newest valid certificate speaks for the person
			if em := email(e, name); em != "" {
				acc.a.Email = em
			}
			if t.cfg.EmployeeIDAttribute != "" {
				if id := e.attr(t.cfg.EmployeeIDAttribute); id != "" {
					acc.a.EmployeeID = id
				}
			}
			acc.a.DisplayName = e.Subject
		} else if acc.a.DisplayName == "" {
			acc.a.DisplayName = e.Subject
		}
		if c.Created.IsZero() {
			return nil
		}
		if acc.a.Created.IsZero() || c.Created.Before(acc.a.Created) {
			acc.a.Created = c.Created
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("x509ca: %w", ctx.Err())
		}
		return nil, fmt.Errorf("x509ca: index %s: %w", t.cfg.Index, err)
	}
	return order, nil
}

func email(e entry, name string) string {
	if em := e.attr("emailAddress"); em != "" {
		return strings.ToLower(em)
	}
	if strings.Contains(name, "@") && !strings.ContainsAny(name, " /") {
		return strings.ToLower(name)
	}
	return ""
}

func (t *Target) kind(e entry, now time.Time) string {
	state := "valid"
	switch {
	case e.Status == 'R':
		state = "revoked " + e.Revoked.Format("2006-01-02")
	case e.Status == 'E' || !e.Expires.After(now):
		state = "expired"
	}
	return fmt.Sprintf("x509 certificate %s (expires %s, %s)", e.Subject, e.Expires.Format("2006-01-02"), state)
}

func (t *Target) certPath(serial string) string {
	return strings.ReplaceAll(t.cfg.CertFile, "{serial}", serial)
}

func (t *Target) notBefore(serial string) (time.Time, bool) {
	b, err := os.ReadFile(t.certPath(serial))
	if err != nil {
		return time.Time{}, false
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	} else if i := bytes.Index(b, []byte("-----BEGIN")); i > 0 { // openssl ca's text dump before the PEM
		if blk, _ := pem.Decode(b[i:]); blk != nil {
			b = blk.Bytes
		}
	}
	c, err := x509.ParseCertificate(b)
	if err != nil {
		return time.Time{}, false
	}
	return c.NotBefore, true
}

// Accounts lists one account per distinct subject name (CN by default),
// each with all its certificates as credentials: Active when valid and not
// expired. An account is enabled while it has an active certificate.
func (t *Target) Accounts(ctx context.Context) iter.Seq2[targets.Account, error] {
	return func(yield func(targets.Account, error) bool) {
		accs, err := t.read(ctx, "")
		if err != nil {
			yield(targets.Account{}, err)
			return
		}
		for _, a := range accs {
			if err := ctx.Err(); err != nil {
				yield(targets.Account{}, fmt.Errorf("x509ca: %w", err))
				return
			}
			if !yield(a.a, nil) {
				return
			}
		}
	}
}

// Local says that Accounts reads files on this machine, the CA's index and
// certificates (targets.Local).
func (t *Target) Local() bool { return true }

// Account re-reads one account by name.
func (t *Target) Account(ctx context.Context, id string) (targets.Account, error) {
	accs, err := t.read(ctx, id)
	if err != nil {
		return targets.Account{}, err
	}
	if len(accs) == 0 {
		return targets.Account{}, fmt.Errorf("x509ca: no certificate names %q: %w", id, targets.ErrNotFound)
	}
	return accs[0].a, nil
}

// Disable revokes every active certificate of the account (its VPN access),
// and makes sure the CRL lists every unexpired certificate the index shows
// revoked (a CRL command that failed last time is run again).
func (t *Target) Disable(ctx context.Context, a targets.Account) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, err := os.Open(t.cfg.Index)
	if err != nil {
		return fmt.Errorf("x509ca: index: %w", err)
	}
	defer f.Close()
	now := t.now()
	found := false
	var serials []string
	err = readIndex(f, func(e entry) error {
		name := e.attr(t.cfg.AccountAttribute)
		if name == "" {
			name = e.Subject
		}
		if name != a.ID {
			return nil
		}
		found = true
		if (e.Status == 'V' || e.Status == 'R') && e.Expires.After(now) && !slices.Contains(serials, e.Serial) {
			serials = append(serials, e.Serial)
		}
		return nil
	})
	f.Close()
	if err != nil {
		return fmt.Errorf("x509ca: index %s: %w", t.cfg.Index, err)
	}
	if !found {
		return fmt.Errorf("x509ca: no certificate names %q: %w", a.ID, targets.ErrNotFound)
	}
	return t.revoke(ctx, targets.Account{ID: a.ID}, serials)
}

// RevokeCredential revokes one certificate (credential ID = serial) of the
// account. A serial the index does not hold for this account wraps
// ErrNotFound; one already revoked is success once it is in the CRL.
func (t *Target) RevokeCredential(ctx context.Context, a targets.Account, c targets.Credential) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	acc, err := t.Account(ctx, a.ID)
	if err != nil {
		return err
	}
	serial := strings.ToUpper(strings.TrimPrefix(strings.ToLower(c.ID), "0x"))
	for _, cr := range acc.Credentials {
		if cr.ID == serial {
			return t.revoke(ctx, acc, []string{serial})
		}
	}
	return fmt.Errorf("x509ca: %s holds no certificate with serial %s: %w", a.ID, c.ID, targets.ErrNotFound)
}

// revoke runs the revoke command for each serial still valid in the index,
// then the CRL command when anything changed or a revoked serial is missing
// from the CRL, and verifies both.
func (t *Target) revoke(ctx context.Context, acc targets.Account, serials []string) error {
	status, err := t.statuses(serials)
	if err != nil {
		return err
	}
	changed := false
	for _, s := range serials {
		if status[s] == 'R' {
			continue
		}
		if err := t.runCommand(ctx, "revoke_command", t.cfg.RevokeCommand, acc.ID, s); err != nil {
			return err
		}
		t.log.Info("revoked certificate", "account", acc.ID, "serial", s)
		changed = true
	}
	inCRL, err := t.crlSerials()
	if err != nil && !changed && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	missing := changed || err != nil
	for _, s := range serials {
		if !inCRL[serialInt(s).String()] {
			missing = true
		}
	}
	if missing {
		if err := t.runCommand(ctx, "gen_crl_command", t.cfg.GenCRLCommand, acc.ID, ""); err != nil {
			return err
		}
		if inCRL, err = t.crlSerials(); err != nil {
			return err
		}
	}
	// Verify: the index says revoked and the CRL lists every serial.
	if status, err = t.statuses(serials); err != nil {
		return err
	}
	for _, s := range serials {
		if status[s] != 'R' {
			return fmt.Errorf("x509ca: serial %s of %s is not revoked in %s after the revoke command", s, acc.ID, t.cfg.Index)
		}
		if !inCRL[serialInt(s).String()] {
			return fmt.Errorf("x509ca: serial %s of %s is not in the CRL %s after the CRL command", s, acc.ID, t.cfg.CRL)
		}
	}
	return nil
}

// statuses reads the index's status of each serial.
func (t *Target) statuses(serials []string) (map[string]byte, error) {
	want := map[string]bool{}
	for _, s := range serials {
		want[s] = true
	}
	f, err := os.Open(t.cfg.Index)
	if err != nil {
		return nil, fmt.Errorf("x509ca: index: %w", err)
	}
	defer f.Close()
	out := map[string]byte{}
	err = readIndex(f, func(e entry) error {
		if want[e.Serial] {
			out[e.Serial] = e.Status
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("x509ca: index %s: %w", t.cfg.Index, err)
	}
	return out, nil
}

func serialInt(hex string) *big.Int {
	n, ok := new(big.Int).SetString(hex, 16)
	if !ok {
		return new(big.Int)
	}
	return n
}

// crlSerials reads the CRL (PEM or DER), checks its signature against
// ca_cert when configured, and returns its serials (decimal strings).
func (t *Target) crlSerials() (map[string]bool, error) {
	b, err := os.ReadFile(t.cfg.CRL)
	if err != nil {
		return nil, fmt.Errorf("x509ca: crl: %w", err)
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	crl, err := x509.ParseRevocationList(b)
	if err != nil {
		return nil, fmt.Errorf("x509ca: crl %s: %w", t.cfg.CRL, err)
	}
	if t.cfg.CACert != "" {
		cb, err := os.ReadFile(t.cfg.CACert)
		if err != nil {
			return nil, fmt.Errorf("x509ca: ca_cert: %w", err)
		}
		if blk, _ := pem.Decode(cb); blk != nil {
			cb = blk.Bytes
		}
		ca, err := x509.ParseCertificate(cb)
		if err != nil {
			return nil, fmt.Errorf("x509ca: ca_cert %s: %w", t.cfg.CACert, err)
		}
		if err := crl.CheckSignatureFrom(ca); err != nil {
			return nil, fmt.Errorf("x509ca: crl %s is not signed by ca_cert %s: %w", t.cfg.CRL, t.cfg.CACert, err)
		}
	}
	out := map[string]bool{}
	for _, r := range crl.RevokedCertificateEntries {
		out[r.SerialNumber.String()] = true
	}
	return out, nil
}

// runCommand runs one configured command with its placeholders filled.
func (t *Target) runCommand(ctx context.Context, key string, argv []string, account, serial string) error {
	args := make([]string, len(argv))
	for i, a := range argv {
		a = strings.ReplaceAll(a, "{cert}", t.certPath(serial))
		a = strings.ReplaceAll(a, "{serial}", serial)
		args[i] = strings.ReplaceAll(a, "{account}", account)
	}
	ctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = t.cfg.WorkDir
	cmd.Env = os.Environ()
	for k, v := range t.cfg.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if t.cfg.CAPassphrase != "" {
		cmd.Env = append(cmd.Env, PassphraseVar+"="+t.cfg.CAPassphrase.Reveal())
	}
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			return targets.Transient(fmt.Errorf("x509ca: %s %s: %w", key, args[0], ctx.Err()), 0)
		}
		return fmt.Errorf("x509ca: %s %s: %w: %s", key, args[0], err, targets.NewRedactor(t.cfg.CAPassphrase).Excerpt(out))
	}
	return nil
}
