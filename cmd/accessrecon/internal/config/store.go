package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/accessrecon/accessrecon/reconcile/pgstore"
	"github.com/accessrecon/accessrecon/targets"
)

// The store is a SQLite file (store: a path, the default accessrecon.db)
// or a PostgreSQL database, named by a postgres:// URL: in `store:` when it
// holds no password (pgx then reads PGPASSWORD or ~/.pgpass), else from the
// environment (store_env) or a file (store_file), like every other secret.
// A URL is never shown with its password: StoreName and every error print
// it REDACTED.

// validateStore checks that one of store, store_env and store_file names
// the store, and that no password is written in the file.
func (c *Config) validateStore() error {
	set := 0
	for _, v := range []string{c.Store, c.StoreEnv, c.StoreFile} {
		if v != "" {
			set++
		}
	}
	if set > 1 {
		return errors.New("store, store_env and store_file: set only one (store_env and store_file name where a PostgreSQL URL is kept)")
	}
	if !pgstore.IsDSN(c.Store) {
		return nil
	}
	u, err := url.Parse(strings.TrimSpace(c.Store))
	if err != nil {
		return fmt.Errorf("store: %s is not a valid PostgreSQL URL: %v", RedactDSN(c.Store), redactedURLError(err))
	}
	if _, ok := u.User.Password(); ok || u.Query().Has("password") {
		return fmt.Errorf("store: %s holds a password: put the URL in store_env or store_file instead (or the password in PGPASSWORD or ~/.pgpass), so that the configuration holds no secret", RedactDSN(c.Store))
	}
	return nil
}

// StoreIsPostgres says whether the store is a PostgreSQL database rather
// than a SQLite file; it reads no secret.
func (c *Config) StoreIsPostgres() bool {
	return c.StoreEnv != "" || c.StoreFile != "" || pgstore.IsDSN(c.Store)
}

// StoreDSN returns the PostgreSQL URL of the store, read from store_env or
// store_file when the config names them. Errors never carry the URL's
// password.
func (c *Config) StoreDSN() (targets.Secret, error) {
	if c.StoreEnv == "" && c.StoreFile == "" {
		if !pgstore.IsDSN(c.Store) {
			return "", errors.New("store: not a PostgreSQL URL")
		}
		return targets.Secret(strings.TrimSpace(c.Store)), nil
	}
	v, err := ReadSecret(targets.SecretField{Key: "store", Env: c.StoreEnv, File: c.StoreFile}, c.Dir())
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	where := "store_env: " + c.StoreEnv
	if c.StoreFile != "" {
		where = "store_file: " + c.Resolve(c.StoreFile)
	}
	if !pgstore.IsDSN(v.Reveal()) {
		return "", fmt.Errorf("%s does not hold a postgres:// or postgresql:// URL", where)
	}
	if _, err := url.Parse(strings.TrimSpace(v.Reveal())); err != nil {
		return "", fmt.Errorf("%s: not a valid URL: %v", where, redactedURLError(err))
	}
	return targets.Secret(strings.TrimSpace(v.Reveal())), nil
}

// StoreName names the store for people: the SQLite file, or the PostgreSQL
// URL with its password REDACTED (or, read from the environment or a file,
// where it is kept).
func (c *Config) StoreName() string {
	switch {
	case c.StoreEnv != "":
		return "the PostgreSQL store of $" + c.StoreEnv
	case c.StoreFile != "":
		return "the PostgreSQL store of " + c.Resolve(c.StoreFile)
	case pgstore.IsDSN(c.Store):
		return RedactDSN(c.Store)
	}
	return c.StorePath()
}

// RedactDSN returns a PostgreSQL URL with its password (in the user part
// or a password parameter) replaced by REDACTED. A URL that does not parse
// is shown as its scheme only: the password cannot be found in it.
func RedactDSN(dsn string) string {
	dsn = strings.TrimSpace(dsn)
	u, err := url.Parse(dsn)
	if err != nil {
		scheme, _, _ := strings.Cut(dsn, ":")
		return scheme + "://" + targets.Redacted
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), targets.Redacted)
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", targets.Redacted)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// DSNRedactor returns a Redactor of a PostgreSQL URL's password and of the
// URL itself, for error text that may quote either.
func DSNRedactor(dsn targets.Secret) *targets.Redactor {
	red := targets.NewRedactor(dsn)
	if u, err := url.Parse(dsn.Reveal()); err == nil {
		if p, ok := u.User.Password(); ok {
			red.Add(targets.Secret(p))
		}
		if p := u.Query().Get("password"); p != "" {
			red.Add(targets.Secret(p))
		}
	}
	return red
}

// redactedURLError says why a URL does not parse without quoting it: the
// parser's message may quote part of it, password included.
func redactedURLError(err error) string {
	var esc url.EscapeError
	switch {
	case errors.As(err, &esc):
		return "a % not followed by two hexadecimal digits (write a % in the password as %25)"
	case strings.Contains(err.Error(), "userinfo"):
		return "invalid characters in the user or password (percent-encode them)"
	case strings.Contains(err.Error(), "port"):
		return "invalid port"
	}
	return "malformed"
}
