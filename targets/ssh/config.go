package sshtarget

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/targets"
)

// Config is the `ssh` target's configuration (YAML keys in snake_case).
type Config struct {
	// Hosts are the servers whose local accounts are listed.
	Hosts []Host `yaml:"hosts"`
	// User is the login user on every host (default root). A user other
	// than root needs Sudo.
	User string `yaml:"user"`
	// The private key (OpenSSH or PEM, unencrypted) comes from the
	// environment variable PrivateKeyEnv or the file PrivateKeyFile; the
	// wiring resolves it into PrivateKey.
	PrivateKeyEnv  string         `yaml:"private_key_env"`
	PrivateKeyFile string         `yaml:"private_key_file"`
	PrivateKey     targets.Secret `yaml:"-"`
	// KnownHosts is an OpenSSH known_hosts file pinning every host's key
	// (required). A host missing from it, or presenting another key, is an
	// error: nothing is read from it.
	KnownHosts string `yaml:"known_hosts"`
	// Sudo is the command prefix for reading other users' files, rewriting
	// them and locking accounts, e.g. "sudo -n". Default: none when User is
	// root, "sudo -n" otherwise. "none" forces no prefix.
	Sudo string `yaml:"sudo"`
	// AuthorizedKeysFiles are the locations sshd reads, as in sshd_config's
	// AuthorizedKeysFile: %h (home), %u (user name), %U (numeric uid), %%;
	// relative paths are relative to the home directory. Default
	// [.ssh/authorized_keys, .ssh/authorized_keys2], sshd's own default.
	AuthorizedKeysFiles []string `yaml:"authorized_keys_files"`
	// MinUID: accounts with this uid or more are listed even without keys
	// (default 1000); accounts below it (root, daemons) only when they have
	// an authorized key. nobody (65534) is listed only with keys.
	MinUID *int `yaml:"min_uid"`
	// Users, when set, lists only these user names (on every host).
	Users []string `yaml:"users"`
	// KeyRegistry is a CSV file with a header naming at least the columns
	// fingerprint and employee_id (email optional): who owns which key.
	KeyRegistry string `yaml:"key_registry"`
	// EmailDomains, when set, restricts which e-mail addresses in key
	// comments are believed (alice@laptop is never one: it has no dot).
	EmailDomains []string `yaml:"email_domains"`
	// LockAccounts lets Disable lock a Unix account (host:user):
	// `usermod -L` and `chage -E0` through Sudo. Disable of a person's keys
	// (host:user/<person>) removes them whatever this says.
	LockAccounts bool `yaml:"lock_accounts"`
	// Backup keeps a copy of a rewritten authorized_keys file beside it
	// (<file>.accessrecon-<UTC time>); default true.
	Backup *bool `yaml:"backup"`
	// Concurrency is how many hosts are read at once (default 4).
	Concurrency int `yaml:"concurrency"`
	// Timeout bounds the connection and each remote command (default 30s).
	Timeout time.Duration `yaml:"timeout"`
}

// Host is one server.
type Host struct {
	// Address is host or host:port (default port 22), as in known_hosts.
	Address string `yaml:"address"`
	// Name is the host's part of account IDs (name:user); default the
	// address without the port 22.
	Name string `yaml:"name"`
}

var (
	_ targets.SecretConfig = (*Config)(nil)
	_ targets.PathConfig   = (*Config)(nil)
)

// SecretFields names the private key (private_key_env / private_key_file),
// which the wiring resolves into PrivateKey.
func (c *Config) SecretFields() []targets.SecretField {
	return []targets.SecretField{{Key: "private_key", Env: c.PrivateKeyEnv, File: c.PrivateKeyFile, Value: &c.PrivateKey}}
}

// ResolvePaths makes the configured files relative to dir (the config
// file's directory) absolute. (The private key file is the wiring's.)
func (c *Config) ResolvePaths(dir string) {
	for _, p := range []*string{&c.KnownHosts, &c.KeyRegistry} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}

const defaultMinUID = 1000

func (c Config) minUID() int {
	if c.MinUID != nil {
		return *c.MinUID
	}
	return defaultMinUID
}

func (c Config) keyFiles() []string {
	if len(c.AuthorizedKeysFiles) > 0 {
		return c.AuthorizedKeysFiles
	}
	return []string{".ssh/authorized_keys", ".ssh/authorized_keys2"}
}

func (c Config) sudo() []string {
	switch {
	case c.Sudo == "none":
		return nil
	case c.Sudo != "":
		return strings.Fields(c.Sudo)
	case c.User == "" || c.User == "root":
		return nil
	}
	return []string{"sudo", "-n"}
}

func (c Config) backup() bool { return c.Backup == nil || *c.Backup }

// hostName is the host's part of account IDs.
func (h Host) hostName() string {
	if h.Name != "" {
		return h.Name
	}
	if host, port, err := net.SplitHostPort(h.Address); err == nil && port == "22" {
		return host
	}
	return h.Address
}

func (h Host) dialAddress() string {
	if _, _, err := net.SplitHostPort(h.Address); err == nil {
		return h.Address
	}
	return net.JoinHostPort(h.Address, "22")
}

func (c Config) validate() error {
	var errs []error
	if len(c.Hosts) == 0 {
		errs = append(errs, errors.New("hosts: at least one host is required"))
	}
	names := map[string]bool{}
	for i, h := range c.Hosts {
		if h.Address == "" {
			errs = append(errs, fmt.Errorf("hosts[%d]: address is required", i))
			continue
		}
		n := h.hostName()
		if strings.ContainsAny(n, " \t\n") {
			errs = append(errs, fmt.Errorf("hosts[%d]: name %q must not contain spaces", i, n))
		}
		if names[n] {
			errs = append(errs, fmt.Errorf("hosts[%d]: name %q is used twice", i, n))
		}
		names[n] = true
	}
	if c.KnownHosts == "" {
		errs = append(errs, errors.New("known_hosts: required (host keys are pinned)"))
	}
	if c.PrivateKey == "" {
		errs = append(errs, errors.New("private_key_env/private_key_file: no private key was resolved"))
	}
	for i, p := range c.keyFiles() {
		if p == "" || strings.ContainsAny(p, "\n\x00") {
			errs = append(errs, fmt.Errorf("authorized_keys_files[%d]: %q is not a usable path", i, p))
		}
	}
	if c.Concurrency < 0 {
		errs = append(errs, errors.New("concurrency: must not be negative"))
	}
	return errors.Join(errs...)
}
