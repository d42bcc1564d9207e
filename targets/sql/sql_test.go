package sqltarget

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

const schema = `
CREATE TABLE accounts (
	id TEXT PRIMARY KEY, username TEXT, email TEXT, employee_no TEXT, full_name TEXT,
	enabled INTEGER NOT NULL, last_login_unix INTEGER, created_at TEXT, is_admin TEXT
);
CREATE TABLE memberships (account_id TEXT, group_name TEXT);
CREATE TABLE api_keys (id TEXT, account_id TEXT, kind TEXT, created_at TIMESTAMP, last_used_at TEXT, revoked INTEGER);
CREATE TABLE sessions (id INTEGER PRIMARY KEY, account_id TEXT);

INSERT INTO accounts VALUES
	('u1', 'ann', 'ann@example.com', '007', 'Ann Lee', 1, 1767348000, '2020-01-01', 'yes'),
	('u2', 'bo', 'bo@example.com', '7', 'Bo Ng', 1, NULL, '2021-02-03 04:05:06', NULL),
	('u3', 'cy', 'cy@example.com', NULL, 'Cy', 0, 0, NULL, 'false'),
	('u10', 'dee', NULL, 'E10', 'Dee', 1, 1767348000, '2026-01-02T10:00:00+02:00', 'no');
-- insertion order differs from account_id order on purpose
INSERT INTO memberships VALUES ('u2', 'staff'), ('zz-gone', 'admins'), ('u1', 'admins'), ('a-gone', 'x'), ('u1', 'staff'), ('u10', 'staff');
INSERT INTO api_keys VALUES
	('k1', 'u1', 'api_key', '2025-01-01 00:00:00', '2026-01-01T00:00:00Z', 0),
	('k3', 'u1', 'api_key', '2024-01-01 00:00:00', NULL, 1),
	('k9', 'deleted-user', 'api_key', '2024-01-01 00:00:00', NULL, 0),
	('k2', 'u2', 'token', NULL, '', 0);
INSERT INTO sessions (account_id) VALUES ('u1'), ('u1'), ('u2');
`

// seed creates a fresh SQLite database and returns its path.
func seed(t testing.TB, extra ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "app.db")
	db, err := sql.Open("sqlite3", p)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range append([]string{schema}, extra...) {
		if _, err := db.Exec("BEGIN;\n" + s + "\nCOMMIT;"); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	return p
}

func config(path string) Config {
	return Config{
		Driver: "sqlite3",
		DSN:    path,
		AccountsQuery: `SELECT id AS account_id, username, email, employee_no AS employee_id, full_name AS display_name,
			enabled, last_login_unix AS last_login, created_at AS created, is_admin AS privileged FROM accounts;`,
		GroupsQuery:               `SELECT account_id, group_name FROM memberships`,
		CredentialsQuery:          `SELECT account_id, id AS credential_id, kind, created_at AS created, last_used_at AS last_used, NOT revoked AS active FROM api_keys`,
		DisableStatement:          `UPDATE accounts SET enabled = 0 WHERE id = :account_id AND enabled = 1`,
		RemoveGroupStatement:      `DELETE FROM memberships WHERE account_id = :account_id AND group_name = :group`,
		RevokeSessionsStatement:   `DELETE FROM sessions WHERE account_id = :account_id`,
		RevokeCredentialStatement: `UPDATE api_keys SET revoked = 1 WHERE id = :credential_id AND account_id = :account_id AND revoked = 0`,
	}
}

func newTarget(t testing.TB, cfg Config) *Target {
	t.Helper()
	tg, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { tg.Close() })
	return tg
}

func listAll(t *testing.T, tg *Target) ([]targets.Account, error) {
	t.Helper()
	var out []targets.Account
	for a, err := range tg.Accounts(t.Context()) {
		if err != nil {
			return out, err
		}
		out = append(out, a)
	}
	return out, nil
}

func TestConformance(t *testing.T) {
	targettest.Run(t, func(t *testing.T) targettest.Fixture {
		return targettest.Fixture{Target: newTarget(t, config(seed(t))), Enabled: []string{"u1", "u2"}, MinAccounts: 4}
	})
}

func ts(s string) time.Time {
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return v.UTC()
}

func TestListing(t *testing.T) {
	tg := newTarget(t, config(seed(t)))
	got, err := listAll(t, tg)
	if err != nil {
		t.Fatal(err)
	}
	want := []targets.Account{ // byte-wise account_id order
		{ID: "u1", Username: "ann", Email: "ann@example.com", EmployeeID: "007", DisplayName: "Ann Lee", Enabled: true,
			LoginTracked: true, LastLogin: time.Unix(1767348000, 0).UTC(), Created: ts("2020-01-01T00:00:00Z"), Privileged: true,
			Groups: targets.NamedGroups("admins", "staff"),
			Credentials: []targets.Credential{
				{ID: "k1", Kind: "api_key", Created: ts("2025-01-01T00:00:00Z"), LastUsed: ts("2026-01-01T00:00:00Z"), Active: true},
				{ID: "k3", Kind: "api_key", Created: ts("2024-01-01T00:00:00Z")},
			}},
		{ID: "u10", Username: "dee", EmployeeID: "E10", DisplayName: "Dee", Enabled: true, LoginTracked: true,
			LastLogin: time.Unix(1767348000, 0).UTC(), Created: ts("2026-01-02T08:00:00Z"), Groups: targets.NamedGroups("staff")},
		{ID: "u2", Username: "bo", Email: "bo@example.com", EmployeeID: "7", DisplayName: "Bo Ng", Enabled: true, LoginTracked: true,
			Created: ts("2021-02-03T04:05:06Z"), Groups: targets.NamedGroups("staff"),
			Credentials: []targets.Credential{{ID: "k2", Kind: "token", Active: true}}},
		{ID: "u3", Username: "cy", Email: "cy@example.com", DisplayName: "Cy", LoginTracked: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d accounts, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		slices.SortFunc(got[i].Groups, func(x, y targets.Group) int { return strings.Compare(x.ID, y.ID) })
		slices.SortFunc(got[i].Credentials, func(a, b targets.Credential) int { return strings.Compare(a.ID, b.ID) })
		if fmt.Sprintf("%+v", got[i]) != fmt.Sprintf("%+v", want[i]) {
			t.Errorf("account %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	// Getter reads the same account the listing did.
	for _, w := range want {
		a, err := tg.Account(t.Context(), w.ID)
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(a.Groups, func(x, y targets.Group) int { return strings.Compare(x.ID, y.ID) })
		slices.SortFunc(a.Credentials, func(a, b targets.Credential) int { return strings.Compare(a.ID, b.ID) })
		if fmt.Sprintf("%+v", a) != fmt.Sprintf("%+v", w) {
			t.Errorf("Account(%s):\n got %+v\nwant %+v", w.ID, a, w)
		}
	}
	if caps := tg.Capabilities(); !slices.Equal(caps, []targets.Capability{targets.CanGet, targets.CanDisable, targets.CanRevokeSessions, targets.CanRevokeCredential, targets.CanRemoveFromGroup}) {
		t.Errorf("capabilities %v", caps)
	}
}

// TestMergeJoinIntegerIDs checks the merge join when account_id is an
// integer column (numeric order differs from byte order) and the groups and
// credentials tables hold rows of accounts the accounts query filters out.
func TestMergeJoinIntegerIDs(t *testing.T) {
	var b strings.Builder
	b.WriteString("CREATE TABLE users (uid INTEGER PRIMARY KEY, active INTEGER, deleted INTEGER);\n")
	b.WriteString("CREATE TABLE ug (uid INTEGER, g TEXT);\nCREATE TABLE tok (uid INTEGER, tid TEXT, live INTEGER);\n")
	wantGroups := map[string][]string{}
	wantCreds := map[string][]string{}
	var wantIDs []string
	for i := 1; i <= 250; i++ {
		deleted := i%7 == 0
		fmt.Fprintf(&b, "INSERT INTO users VALUES (%d, %d, %t);\n", i, i%2, deleted)
		id := fmt.Sprint(i)
		if !deleted {
			wantIDs = append(wantIDs, id)
		}
		for g := range i % 4 {
			fmt.Fprintf(&b, "INSERT INTO ug VALUES (%d, 'g%d');\n", i, g)
			if !deleted {
				wantGroups[id] = append(wantGroups[id], fmt.Sprintf("g%d", g))
			}
		}
		if i%3 == 0 {
			fmt.Fprintf(&b, "INSERT INTO tok VALUES (%d, 't%d', 1);\n", i, i)
			if !deleted {
				wantCreds[id] = append(wantCreds[id], fmt.Sprintf("t%d", i))
			}
		}
	}
	fmt.Fprintf(&b, "INSERT INTO ug VALUES (9999, 'orphan'), (0, 'orphan');\n")
	p := seed(t, b.String())
	cfg := Config{
		Driver:           "sqlite3",
		DSN:              p,
		AccountsQuery:    "SELECT uid AS account_id, active AS enabled FROM users WHERE deleted = 0",
		GroupsQuery:      "SELECT uid AS account_id, g AS group_name FROM ug",
		CredentialsQuery: "SELECT uid AS account_id, tid AS credential_id, live AS active FROM tok",
		DisableStatement: "UPDATE users SET active = 0 WHERE uid = :account_id",
	}
	tg := newTarget(t, cfg)
	got, err := listAll(t, tg)
	if err != nil {
		t.Fatal(err)
	}
	var gotIDs []string
	for _, a := range got {
		gotIDs = append(gotIDs, a.ID)
		slices.SortFunc(a.Groups, func(x, y targets.Group) int { return strings.Compare(x.ID, y.ID) })
		if !slices.Equal(targets.GroupNames(a.Groups), wantGroups[a.ID]) {
			t.Errorf("%s: groups %v, want %v", a.ID, a.Groups, wantGroups[a.ID])
		}
		var creds []string
		for _, c := range a.Credentials {
			creds = append(creds, c.ID)
		}
		if !slices.Equal(creds, wantCreds[a.ID]) {
			t.Errorf("%s: credentials %v, want %v", a.ID, creds, wantCreds[a.ID])
		}
		if a.LoginTracked {
			t.Errorf("%s: LoginTracked without a last_login column", a.ID)
		}
	}
	sort.Strings(wantIDs)
	if !slices.Equal(gotIDs, wantIDs) {
		t.Fatalf("listed %d accounts %v\nwant %d %v", len(gotIDs), gotIDs, len(wantIDs), wantIDs)
	}
	// Get with a text ID against an integer column.
	a, err := tg.Account(t.Context(), "12")
	if err != nil || a.ID != "12" || !slices.Equal(targets.GroupNames(a.Groups), []string{"g0", "g1", "g2", "g3"}[:12%4]) || len(a.Credentials) != 1 {
		t.Fatalf("Account(12) = %+v, %v", a, err)
	}
	if _, err := tg.Account(t.Context(), "14"); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("Account(14) (filtered out) = %v, want ErrNotFound", err)
	}
	if err := tg.Disable(t.Context(), targets.Account{ID: "14"}); err != nil {
		// The statement does not filter deleted users, so it finds the row:
		// the accounts query decides what is listed, the statement what is changed.
		t.Fatalf("Disable(14): %v", err)
	}
}

func TestOrderViolationIsAnError(t *testing.T) {
	tg := newTarget(t, config(seed(t)))
	// As a database whose collation differs from byte order would return rows.
	tg.dialect.orderKey = "account_id DESC"
	_, err := listAll(t, tg)
	if err == nil || !strings.Contains(err.Error(), "not in byte-wise account_id order") {
		t.Fatalf("err = %v", err)
	}
}

func TestDuplicateAccountID(t *testing.T) {
	cfg := config(seed(t))
	cfg.AccountsQuery = "SELECT id AS account_id, enabled FROM accounts UNION ALL SELECT 'u2', 1"
	_, err := listAll(t, newTarget(t, cfg))
	if err == nil || !strings.Contains(err.Error(), `sql: accounts_query: duplicate account_id "u2"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestQueryColumnErrors(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"missing account_id", func(c *Config) { c.AccountsQuery = "SELECT id, enabled FROM accounts" },
			"sql: accounts_query: unknown column(s) id"},
		{"missing account_id only", func(c *Config) { c.AccountsQuery = "SELECT username, enabled FROM accounts" },
			"sql: accounts_query: missing required column(s) account_id (the query returns: username, enabled)"},
		{"missing enabled", func(c *Config) { c.AccountsQuery = "SELECT id AS account_id FROM accounts" },
			"sql: accounts_query: missing required column(s) enabled"},
		{"unknown columns", func(c *Config) {
			c.AccountsQuery = "SELECT id AS account_id, enabled, full_name, is_admin FROM accounts"
		},
			"sql: accounts_query: unknown column(s) full_name, is_admin (alias the columns to: account_id,"},
		{"groups columns", func(c *Config) { c.GroupsQuery = "SELECT account_id, group_name AS grp FROM memberships" },
			"sql: groups_query: unknown column(s) grp"},
		{"credentials missing active", func(c *Config) { c.CredentialsQuery = "SELECT account_id, id AS credential_id FROM api_keys" },
			"sql: credentials_query: missing required column(s) active"},
		{"bad boolean", func(c *Config) { c.AccountsQuery = "SELECT id AS account_id, 'maybe' AS enabled FROM accounts" },
			`sql: accounts_query: row 1 (account "u1"): column enabled: "maybe" is not a boolean`},
		{"null enabled", func(c *Config) { c.AccountsQuery = "SELECT id AS account_id, NULL AS enabled FROM accounts" },
			`column enabled: NULL (want a boolean)`},
		{"bad time", func(c *Config) { c.AccountsQuery = "SELECT id AS account_id, enabled, 'soon' AS created FROM accounts" },
			`column created: unparseable time "soon"`},
		{"syntax", func(c *Config) { c.AccountsQuery = "SELEC id FROM accounts" },
			`sql: accounts_query: near "FROM": syntax error`},
	}
	p := seed(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := config(p)
			c.mutate(&cfg)
			_, err := listAll(t, newTarget(t, cfg))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant %q", err, c.want)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"no driver", func(c *Config) { c.Driver = "" }, "sql: driver: required"},
		{"unknown driver", func(c *Config) { c.Driver = "oracle" }, `sql: driver: "oracle" is not registered in this binary (available: `},
		{"no dsn", func(c *Config) { c.DSN = "" }, "sql: dsn: set exactly one of dsn, dsn_env, dsn_file"},
		{"two dsns", func(c *Config) { c.DSNEnv = "X" }, "sql: dsn: set exactly one of dsn, dsn_env, dsn_file"},
		{"dsn env not resolved", func(c *Config) { c.DSN, c.DSNEnv = "", "ACCESSRECON_TEST_DSN_EMPTY" },
			"sql: dsn_env/dsn_file: the DSN was not resolved"},
		{"no accounts query", func(c *Config) { c.AccountsQuery = " ; " }, "sql: accounts_query: required"},
		{"no disable statement", func(c *Config) { c.DisableStatement = "" }, "sql: disable_statement: required"},
		{"disable without account_id", func(c *Config) { c.DisableStatement = "UPDATE accounts SET enabled = 0" },
			"sql: disable_statement: must use :account_id (this statement takes :account_id)"},
		{"unknown parameter", func(c *Config) { c.DisableStatement = "UPDATE accounts SET enabled = 0 WHERE id = :acount_id" },
			"sql: disable_statement: unknown parameter :acount_id (this statement takes :account_id)"},
		{"group statement without group", func(c *Config) { c.RemoveGroupStatement = "DELETE FROM memberships WHERE account_id = :account_id" },
			"sql: remove_group_statement: must use :group (this statement takes :account_id and :group)"},
		{"credential statement param", func(c *Config) {
			c.RevokeCredentialStatement = "UPDATE api_keys SET revoked = 1 WHERE id = :credential AND account_id = :account_id"
		}, "sql: revoke_credential_statement: unknown parameter :credential"},
		{"unterminated quote", func(c *Config) { c.DisableStatement = "UPDATE accounts SET note = 'x WHERE id = :account_id" },
			"sql: disable_statement: unterminated ' quote"},
		{"remove group without groups query", func(c *Config) { c.GroupsQuery = "" },
			"sql: remove_group_statement: needs groups_query"},
		{"too few connections", func(c *Config) { c.MaxOpenConns = 2 },
			"sql: max_open_conns: 2 is too few: a listing holds 3 queries open at once"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := config("unused.db")
			c.mutate(&cfg)
			tg, err := New(cfg, nil)
			if err == nil {
				tg.Close()
				t.Fatalf("New accepted the config")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant %q", err, c.want)
			}
		})
	}
}

func TestDSNFromEnvironment(t *testing.T) {
	p := seed(t)
	cfg := config("")
	cfg.DSN, cfg.DSNEnv, cfg.DSNSecret = "", "ACCESSRECON_TEST_APP_DSN", targets.Secret(p) // as the wiring resolves it
	got, err := listAll(t, newTarget(t, cfg))
	if err != nil || len(got) != 4 {
		t.Fatalf("listing through dsn_env: %d accounts, %v", len(got), err)
	}
}

func TestCapabilitiesFollowConfig(t *testing.T) {
	cfg := config(seed(t))
	cfg.RemoveGroupStatement, cfg.RevokeSessionsStatement, cfg.RevokeCredentialStatement = "", "", ""
	tg := newTarget(t, cfg)
	got := targets.Resolve(tg).List()
	if !slices.Equal(got, []targets.Capability{targets.CanGet, targets.CanDisable}) {
		t.Fatalf("capabilities %v", got)
	}
	if err := tg.RevokeSessions(t.Context(), targets.Account{ID: "u1"}); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Fatalf("RevokeSessions without a statement: %v", err)
	}
}

func countRows(t *testing.T, p, q string) int {
	t.Helper()
	db, err := sql.Open("sqlite3", p)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestActionsChangeWhatTheySay(t *testing.T) {
	p := seed(t)
	tg := newTarget(t, config(p))
	ctx := t.Context()
	u1 := targets.Account{ID: "u1"}
	if err := tg.RevokeSessions(ctx, u1); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, p, "SELECT count(*) FROM sessions WHERE account_id = 'u1'"); n != 0 {
		t.Fatalf("%d sessions of u1 left", n)
	}
	if n := countRows(t, p, "SELECT count(*) FROM sessions"); n != 1 {
		t.Fatalf("%d sessions left in all, want 1 (u2's)", n)
	}
	if err := tg.RevokeSessions(ctx, targets.Account{ID: "nobody"}); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("RevokeSessions(nobody) = %v", err)
	}
	if err := tg.RemoveFromGroup(ctx, targets.Account{ID: "nobody"}, targets.Group{ID: "staff", Name: "staff"}); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("RemoveFromGroup(nobody) = %v", err)
	}
	if err := tg.RemoveFromGroup(ctx, u1, targets.Group{ID: "not-a-group", Name: "not-a-group"}); err != nil {
		t.Fatalf("RemoveFromGroup of a group u1 is not in: %v (already done is success)", err)
	}
	if err := tg.RevokeCredential(ctx, u1, targets.Credential{ID: "k404"}); !errors.Is(err, targets.ErrNotFound) || !strings.Contains(err.Error(), "credential") {
		t.Fatalf("RevokeCredential(k404) = %v", err)
	}
	if err := tg.RevokeCredential(ctx, u1, targets.Credential{ID: "k3"}); err != nil {
		t.Fatalf("RevokeCredential of an already revoked key: %v", err)
	}
	if err := tg.RevokeCredential(ctx, targets.Account{ID: "nobody"}, targets.Credential{ID: "k1"}); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("RevokeCredential of nobody = %v", err)
	}
	// A credential of another account is not revoked through u2.
	if err := tg.RevokeCredential(ctx, targets.Account{ID: "u2"}, targets.Credential{ID: "k1"}); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("RevokeCredential(u2, k1) = %v", err)
	}
	if n := countRows(t, p, "SELECT count(*) FROM api_keys WHERE id = 'k1' AND revoked = 0"); n != 1 {
		t.Fatal("k1 was revoked through the wrong account")
	}
}

func TestDisableGuards(t *testing.T) {
	p := seed(t)
	cfg := config(p)
	cfg.DisableStatement = "UPDATE accounts SET enabled = 0 WHERE id = :account_id OR enabled = 1"
	tg := newTarget(t, cfg)
	err := tg.Disable(t.Context(), targets.Account{ID: "u1"})
	if err == nil || !strings.Contains(err.Error(), "disable_statement affected 3 rows, more than 1: rolled back") {
		t.Fatalf("err = %v", err)
	}
	if n := countRows(t, p, "SELECT count(*) FROM accounts WHERE enabled = 1"); n != 3 {
		t.Fatalf("%d accounts enabled after a rolled-back disable, want 3", n)
	}

	cfg.DisableStatement = "UPDATE accounts SET enabled = 0 WHERE id = :account_id AND 0"
	tg = newTarget(t, cfg)
	err = tg.Disable(t.Context(), targets.Account{ID: "u1"})
	if err == nil || !strings.Contains(err.Error(), "disable_statement changed no row and the account is still enabled") {
		t.Fatalf("err = %v", err)
	}
	if err := tg.Disable(t.Context(), targets.Account{ID: "u3"}); err != nil {
		t.Fatalf("disable of an already disabled account: %v", err)
	}
}

func TestTransientWhenLocked(t *testing.T) {
	p := seed(t)
	locker, err := sql.Open("sqlite3", p)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close()
	conn, err := locker.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(context.Background(), "ROLLBACK") //nolint:errcheck

	cfg := config(p + "?_busy_timeout=50")
	tg := newTarget(t, cfg)
	err = tg.Disable(t.Context(), targets.Account{ID: "u1"})
	var te *targets.TransientError
	if !errors.As(err, &te) {
		t.Fatalf("disable of a locked database: %v, want a TransientError", err)
	}
	if _, err := listAll(t, tg); !errors.As(err, &te) {
		t.Fatalf("listing a locked database: %v, want a TransientError", err)
	}
}

func TestPermissionWhenReadOnly(t *testing.T) {
	p := seed(t)
	tg := newTarget(t, config("file:"+p+"?mode=ro"))
	err := tg.Disable(t.Context(), targets.Account{ID: "u1"})
	if !errors.Is(err, targets.ErrPermission) {
		t.Fatalf("disable on a read-only database: %v, want ErrPermission", err)
	}
}

func TestCancelMidListing(t *testing.T) {
	tg := newTarget(t, config(seed(t)))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	n := 0
	var last error
	for _, err := range tg.Accounts(ctx) {
		if err != nil {
			last = err
			break
		}
		n++
		cancel()
	}
	if n != 1 || !errors.Is(last, context.Canceled) {
		t.Fatalf("%d accounts then %v; want 1 then context.Canceled", n, last)
	}
}

func TestCompile(t *testing.T) {
	cases := []struct {
		in, want string
		bind     int
		names    []string
	}{
		{"UPDATE t SET e = 0 WHERE id = :account_id AND :group = :group", "UPDATE t SET e = 0 WHERE id = ? AND ? = ?", 1, []string{"account_id", "group", "group"}},
		{"UPDATE t SET e = false WHERE id = :account_id::text AND note <> ':group' /* :x */ -- :y\n AND g = :group",
			"UPDATE t SET e = false WHERE id = $1::text AND note <> ':group' /* :x */ -- :y\n AND g = $2", 2, []string{"account_id", "group"}},
		{`DELETE FROM "odd:name" WHERE a = :account_id OR b = :account_id AND g = :group`,
			`DELETE FROM "odd:name" WHERE a = $1 OR b = $2 AND g = $3`, 2, []string{"account_id", "account_id", "group"}},
		{"UPDATE t SET n = 'it''s :group' WHERE id = :account_id AND g = :group", "UPDATE t SET n = 'it''s :group' WHERE id = ? AND g = ?", 1, []string{"account_id", "group"}},
	}
	for _, c := range cases {
		st, err := compile(c.in, []string{"account_id", "group"}, c.bind)
		if err != nil {
			t.Errorf("compile(%q): %v", c.in, err)
			continue
		}
		if st.query != c.want || !slices.Equal(st.names, c.names) {
			t.Errorf("compile(%q) = %q %v\nwant %q %v", c.in, st.query, st.names, c.want, c.names)
		}
	}
}

func TestToTimeAndBool(t *testing.T) {
	times := []struct {
		in   any
		want time.Time
	}{
		{nil, time.Time{}},
		{int64(0), time.Time{}},
		{int64(1767348000), time.Unix(1767348000, 0).UTC()},
		{"1767348000", time.Unix(1767348000, 0).UTC()},
		{[]byte("2026-01-02"), ts("2026-01-02T00:00:00Z")},
		{"2026-01-02 10:11:12", ts("2026-01-02T10:11:12Z")},
		{"2026-01-02T10:11:12+03:00", ts("2026-01-02T07:11:12Z")},
		{"2026-01-02 10:11:12.5+00:00", ts("2026-01-02T10:11:12Z").Add(500 * time.Millisecond)},
		{ts("2026-01-02T10:11:12Z").In(time.FixedZone("x", 3600)), ts("2026-01-02T10:11:12Z")},
		{"", time.Time{}},
	}
	for _, c := range times {
		got, err := toTime(c.in)
		if err != nil || !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("toTime(%v) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	bools := []struct {
		in   any
		want bool
	}{{nil, false}, {true, true}, {int64(1), true}, {int64(0), false}, {"YES", true}, {[]byte("no"), false}, {"True", true}, {"0", false}}
	for _, c := range bools {
		if got, err := toBool(c.in); err != nil || got != c.want {
			t.Errorf("toBool(%v) = %v, %v", c.in, got, err)
		}
	}
	for _, bad := range []any{int64(2), "maybe", 1.5} {
		if _, err := toBool(bad); err == nil {
			t.Errorf("toBool(%v) accepted", bad)
		}
	}
}

// BenchmarkAccounts measures listing 100,000 accounts with two groups each
// and one credential per tenth account, merge-joined.
func BenchmarkAccounts(b *testing.B) {
	p := seed(b)
	db, err := sql.Open("sqlite3", p)
	if err != nil {
		b.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	acc, _ := tx.Prepare("INSERT INTO accounts (id, username, enabled, last_login_unix) VALUES (?, ?, 1, 1767348000)")
	grp, _ := tx.Prepare("INSERT INTO memberships VALUES (?, ?)")
	key, _ := tx.Prepare("INSERT INTO api_keys VALUES (?, ?, 'api_key', NULL, NULL, 0)")
	for i := range 100000 {
		id := fmt.Sprintf("b%06d", i)
		if _, err := acc.Exec(id, "user"+id); err != nil {
			b.Fatal(err)
		}
		if _, err := grp.Exec(id, "staff"); err != nil {
			b.Fatal(err)
		}
		if _, err := grp.Exec(id, fmt.Sprintf("g%d", i%50)); err != nil {
			b.Fatal(err)
		}
		if i%10 == 0 {
			if _, err := key.Exec(fmt.Sprintf("k%d", i), id); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	db.Close()
	tg := newTarget(b, config(p))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, err := range tg.Accounts(context.Background()) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 100004 {
			b.Fatalf("n = %d", n)
		}
	}
}
