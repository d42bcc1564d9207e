// Package sqltarget is the connector for an in-house application whose users
// live in a table of any database/sql database. SQLite (driver "sqlite3")
// and PostgreSQL (driver "pgx", alias "postgres") are built in; any other
// driver the binary registers works the same way.
//
// The operator writes the SQL: an accounts query whose columns are aliased to
// the canonical names (account_id, username, email, employee_id,
// display_name, enabled, last_login, created, privileged, groups), optional
// groups and credentials queries, and the statements that disable an account,
// remove it from a group, end its sessions and revoke a credential, with the
// named parameters :account_id, :group and :credential_id.
//
// The directory is targets/sql; the package is named sqltarget so that it
// does not shadow database/sql. Listing streams three cursors ordered by
// account_id and merge-joins them; nothing is loaded whole.
package sqltarget

import (
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL is built in (driver "pgx")
	"github.com/jmoiron/sqlx"
	_ "github.com/mattn/go-sqlite3" // SQLite is built in

	"github.com/accessrecon/accessrecon/targets"
)

// Config is the configuration of an SQL target.
type Config struct {
	// Driver is the database/sql driver name: "sqlite3" and "pgx"
	// (PostgreSQL; "postgres" is accepted as an alias) are built in; others
	// ("mysql", ...) must be registered by the binary.
	Driver string `yaml:"driver"`
	// DSN is the data source name when it holds no secret (an SQLite path).
	DSN string `yaml:"dsn"`
	// DSNEnv names the environment variable holding the DSN (a Secret).
	DSNEnv string `yaml:"dsn_env"`
	// DSNFile names a file holding the DSN (a Secret).
	DSNFile string `yaml:"dsn_file"`
	// DSNSecret is the DSN read from dsn_env or dsn_file, filled in by the
	// wiring (tests set it directly).
	DSNSecret targets.Secret `yaml:"-"`

	// AccountsQuery lists the accounts, columns aliased to the canonical
	// names; account_id and enabled are required.
	AccountsQuery string `yaml:"accounts_query"`
	// GroupsQuery (optional) returns account_id, group_name.
	GroupsQuery string `yaml:"groups_query"`
	// CredentialsQuery (optional) returns account_id, credential_id, kind,
	// created, last_used, active.
	CredentialsQuery string `yaml:"credentials_query"`

	// DisableStatement disables the account :account_id (required).
	DisableStatement string `yaml:"disable_statement"`
	// RemoveGroupStatement removes :account_id from :group (optional).
	RemoveGroupStatement string `yaml:"remove_group_statement"`
	// RevokeSessionsStatement ends the sessions of :account_id (optional).
	RevokeSessionsStatement string `yaml:"revoke_sessions_statement"`
	// RevokeCredentialStatement deactivates :credential_id of :account_id
	// (optional).
	RevokeCredentialStatement string `yaml:"revoke_credential_statement"`

	// EnableStatement re-enables :account_id (optional): used only to
	// restore drill canaries (drills.canaries) after a drill.
	EnableStatement string `yaml:"enable_statement"`
	// AddGroupStatement adds :account_id to :group (optional): used only
	// to restore drill canaries.
	AddGroupStatement string `yaml:"add_group_statement"`

	// MaxOpenConns caps the connection pool (default 4). A listing holds
	// one connection per configured query at once.
	MaxOpenConns int `yaml:"max_open_conns"`
}

// Target is an application's user table. It is safe for concurrent use.
type Target struct {
	db      *sql.DB
	dialect dialect
	log     *slog.Logger

	accountsQuery    string // trimmed user query
	groupsQuery      string
	credentialsQuery string

	disable          *statement
	removeGroup      *statement
	revokeSessions   *statement
	revokeCredential *statement
	enable           *statement
	addGroup         *statement
}

// New validates cfg, resolves the DSN secret and opens the pool (which
// connects lazily: nothing touches the database until the first call).
// SecretFields asks the wiring for the DSN when it comes from dsn_env or
// dsn_file.
func (c *Config) SecretFields() []targets.SecretField {
	if c.DSNEnv == "" && c.DSNFile == "" {
		return nil
	}
	return []targets.SecretField{{Key: "dsn", Env: c.DSNEnv, File: c.DSNFile, Value: &c.DSNSecret}}
}

// ResolvePaths makes a plain SQLite database path relative to the
// configuration file's directory.
func (c *Config) ResolvePaths(dir string) {
	if c.Driver == "sqlite3" && c.DSN != "" && !strings.HasPrefix(c.DSN, "file:") && !strings.Contains(c.DSN, ":memory:") && !filepath.IsAbs(c.DSN) {
		c.DSN = filepath.Join(dir, c.DSN)
	}
}

func New(cfg Config, log *slog.Logger) (*Target, error) {
	if cfg.Driver == "" {
		return nil, errors.New("sql: driver: required (e.g. sqlite3 or pgx)")
	}
	if cfg.Driver == "postgres" {
		cfg.Driver = "pgx" // the built-in PostgreSQL driver
	}
	if !slices.Contains(sql.Drivers(), cfg.Driver) {
		return nil, fmt.Errorf("sql: driver: %q is not registered in this binary (available: %s)", cfg.Driver, strings.Join(sql.Drivers(), ", "))
	}
	set := 0
	for _, s := range []string{cfg.DSN, cfg.DSNEnv + cfg.DSNFile + cfg.DSNSecret.Reveal()} {
		if s != "" {
			set++
		}
	}
	if set != 1 {
		return nil, errors.New("sql: dsn: set exactly one of dsn, dsn_env, dsn_file")
	}
	if cfg.DSNEnv != "" && cfg.DSNFile != "" {
		return nil, errors.New("sql: dsn: set exactly one of dsn, dsn_env, dsn_file")
	}
	dsn := targets.Secret(cfg.DSN)
	if cfg.DSN == "" {
		if dsn = cfg.DSNSecret; dsn == "" {
			return nil, errors.New("sql: dsn_env/dsn_file: the DSN was not resolved")
		}
	}
	t := &Target{dialect: dialectOf(cfg.Driver), log: log}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if t.accountsQuery, err = query("accounts_query", cfg.AccountsQuery, true); err != nil {
		return nil, err
	}
	if t.groupsQuery, err = query("groups_query", cfg.GroupsQuery, false); err != nil {
		return nil, err
	}
	if t.credentialsQuery, err = query("credentials_query", cfg.CredentialsQuery, false); err != nil {
		return nil, err
	}
	specs := []struct {
		key      string
		text     string
		required bool
		params   []string
		dst      **statement
	}{
		{"disable_statement", cfg.DisableStatement, true, []string{"account_id"}, &t.disable},
		{"remove_group_statement", cfg.RemoveGroupStatement, false, []string{"account_id", "group"}, &t.removeGroup},
		{"revoke_sessions_statement", cfg.RevokeSessionsStatement, false, []string{"account_id"}, &t.revokeSessions},
		{"revoke_credential_statement", cfg.RevokeCredentialStatement, false, []string{"account_id", "credential_id"}, &t.revokeCredential},
		{"enable_statement", cfg.EnableStatement, false, []string{"account_id"}, &t.enable},
		{"add_group_statement", cfg.AddGroupStatement, false, []string{"account_id", "group"}, &t.addGroup},
	}
	for _, s := range specs {
		if strings.TrimSpace(s.text) == "" {
			if s.required {
				return nil, fmt.Errorf("sql: %s: required", s.key)
			}
			continue
		}
		st, err := compile(s.text, s.params, t.dialect.bind)
		if err != nil {
			return nil, fmt.Errorf("sql: %s: %w", s.key, err)
		}
		*s.dst = st
	}
	if s := cfg.RemoveGroupStatement; s != "" && t.groupsQuery == "" {
		return nil, errors.New("sql: remove_group_statement: needs groups_query (without it no account has groups to remove)")
	}
	if s := cfg.RevokeCredentialStatement; s != "" && t.credentialsQuery == "" {
		return nil, errors.New("sql: revoke_credential_statement: needs credentials_query (without it no account has credentials to revoke)")
	}
	conns := cfg.MaxOpenConns
	if conns == 0 {
		conns = 4
	}
	need := 1
	if t.groupsQuery != "" {
		need++
	}
	if t.credentialsQuery != "" {
		need++
	}
	if conns < need {
		return nil, fmt.Errorf("sql: max_open_conns: %d is too few: a listing holds %d queries open at once", conns, need)
	}
	db, err := sql.Open(cfg.Driver, dsn.Reveal())
	if err != nil {
		// The driver's message may quote the DSN; do not repeat it.
		return nil, fmt.Errorf("sql: open %s database: invalid dsn", cfg.Driver)
	}
	db.SetMaxOpenConns(conns)
	t.db = db
	return t, nil
}

// query trims a configured query (and a trailing semicolon, since it is
// wrapped in a subquery).
func query(key, q string, required bool) (string, error) {
	q = strings.TrimSpace(q)
	q = strings.TrimSpace(strings.TrimRight(q, ";"))
	if q == "" && required {
		return "", fmt.Errorf("sql: %s: required", key)
	}
	return q, nil
}

// Close closes the connection pool.
func (t *Target) Close() error { return t.db.Close() }

// Capabilities lists get and disable, and the capabilities whose statements
// are configured.
func (t *Target) Capabilities() []targets.Capability {
	c := []targets.Capability{targets.CanGet, targets.CanDisable}
	if t.revokeSessions != nil {
		c = append(c, targets.CanRevokeSessions)
	}
	if t.revokeCredential != nil {
		c = append(c, targets.CanRevokeCredential)
	}
	if t.removeGroup != nil {
		c = append(c, targets.CanRemoveFromGroup)
	}
	if t.enable != nil {
		c = append(c, targets.CanEnable)
	}
	if t.addGroup != nil {
		c = append(c, targets.CanAddToGroup)
	}
	return c
}

// dialect is what differs between databases: the bind style and how to
// order account IDs the way Go compares strings (byte-wise).
type dialect struct {
	bind int // sqlx bind type
	// orderKey is the ORDER BY expression over account_id.
	orderKey string
}

func dialectOf(driver string) dialect {
	d := dialect{bind: sqlx.BindType(driver), orderKey: "account_id"}
	if d.bind == sqlx.UNKNOWN {
		d.bind = sqlx.QUESTION
	}
	switch driver {
	case "sqlite3", "sqlite":
		d.orderKey = "CAST(account_id AS TEXT)" // BINARY collation: byte order
	case "postgres", "pgx", "pgx/v5", "pq-timeouts", "cloudsqlpostgres", "nrpostgres", "cockroach":
		d.orderKey = `CAST(account_id AS TEXT) COLLATE "C"`
	case "mysql", "nrmysql":
		d.orderKey = "CAST(account_id AS BINARY)"
	}
	return d
}

// placeholder is the n-th (1-based) positional parameter in this dialect.
func (d dialect) placeholder(n int) string {
	switch d.bind {
	case sqlx.DOLLAR:
		return fmt.Sprintf("$%d", n)
	case sqlx.AT:
		return fmt.Sprintf("@p%d", n)
	case sqlx.NAMED:
		return fmt.Sprintf(":arg%d", n)
	}
	return "?"
}

// arg wraps the n-th parameter's value as the dialect expects it.
func (d dialect) arg(n int, v any) any {
	switch d.bind {
	case sqlx.AT:
		return sql.Named(fmt.Sprintf("p%d", n), v)
	case sqlx.NAMED:
		return sql.Named(fmt.Sprintf("arg%d", n), v)
	}
	return v
}

var (
	_ targets.Target            = (*Target)(nil)
	_ targets.Getter            = (*Target)(nil)
	_ targets.Disabler          = (*Target)(nil)
	_ targets.GroupRemover      = (*Target)(nil)
	_ targets.SessionRevoker    = (*Target)(nil)
	_ targets.CredentialRevoker = (*Target)(nil)
	_ targets.Configurable      = (*Target)(nil)
)
