package sqltarget

// Tests against a real PostgreSQL server, started once per package run by
// targettest.PostgreSQL and stopped by PID in TestMain.

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

// pg is the package's one PostgreSQL server.
var (
	pg        targettest.PostgreSQL
	pgSchemas atomic.Int64 // schema name counter
)

func TestMain(m *testing.M) { os.Exit(pg.StopAfter(m.Run())) }

// pgDSN returns a DSN for the package's server (starting it on first use),
// or skips the test when PostgreSQL is not installed, unless
// ACCESSRECON_REQUIRE_INTEGRATION=1.
func pgDSN(t *testing.T) string { t.Helper(); return pg.DSN(t, "") }

// pgSeed creates a fresh schema holding setup's tables and returns a DSN
// whose search_path is that schema.
func pgSeed(t *testing.T, setup string) string {
	t.Helper()
	base := pgDSN(t)
	name := fmt.Sprintf("t%d", pgSchemas.Add(1))
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// No arguments: pgx uses the simple protocol, which runs several statements.
	if _, err := db.Exec(fmt.Sprintf("CREATE SCHEMA %s; SET search_path = %s;\n%s", name, name, setup)); err != nil {
		t.Fatalf("seed: %v", err)
	}
	return base + "&search_path=" + name
}

func pgCount(t *testing.T, dsn, q string) int {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
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

// pgTextSchema mirrors the SQLite schema with PostgreSQL types. The ID
// columns use the ICU root collation, which orders U3 before u2 and ignores
// '-' at first, so the listing is only right because the connector orders
// by COLLATE "C".
const pgTextSchema = `
CREATE TABLE accounts (
	id TEXT COLLATE "und-x-icu" PRIMARY KEY, username TEXT, email TEXT, employee_no TEXT, full_name TEXT,
	enabled BOOLEAN NOT NULL, last_login TIMESTAMPTZ, created_at DATE, is_admin BOOLEAN
);
CREATE TABLE memberships (account_id TEXT COLLATE "und-x-icu", group_name TEXT);
CREATE TABLE api_keys (id TEXT, account_id TEXT COLLATE "und-x-icu", kind TEXT, created_at TIMESTAMP, last_used_at TIMESTAMPTZ, revoked BOOLEAN NOT NULL DEFAULT false);
CREATE TABLE sessions (id SERIAL PRIMARY KEY, account_id TEXT COLLATE "und-x-icu");

INSERT INTO accounts VALUES
	('u1', 'ann', 'ann@example.com', '007', 'Ann Lee', true, '2026-01-02 10:00:00+00', '2020-01-01', true),
	('u2', 'bo', 'bo@example.com', '7', 'Bo Ng', true, NULL, '2021-02-03', NULL),
	('U3', 'cy', 'cy@example.com', NULL, 'Cy', false, NULL, NULL, false),
	('u10', 'dee', NULL, 'E10', 'Dee', true, '2026-01-02 10:00:00+02', NULL, false),
	('u-5', 'eve', 'eve@example.com', 'E5', 'Eve', true, NULL, NULL, false);
INSERT INTO memberships VALUES ('u2', 'staff'), ('zz-gone', 'admins'), ('u1', 'admins'), ('a-gone', 'x'),
	('u1', 'staff'), ('u10', 'staff'), ('u-5', 'staff'), ('U3', 'staff');
INSERT INTO api_keys VALUES
	('k1', 'u1', 'api_key', '2025-01-01 00:00:00', '2026-01-01T00:00:00Z', false),
	('k3', 'u1', 'api_key', '2024-01-01 00:00:00', NULL, true),
	('k9', 'deleted-user', 'api_key', '2024-01-01 00:00:00', NULL, false),
	('k2', 'u2', 'token', NULL, NULL, false),
	('k5', 'u-5', 'token', NULL, NULL, false);
INSERT INTO sessions (account_id) VALUES ('u1'), ('u1'), ('u2'), ('u-5');
`

func pgTextConfig(dsn string) Config {
	return Config{
		Driver: "pgx",
		DSN:    dsn,
		AccountsQuery: `SELECT id AS account_id, username, email, employee_no AS employee_id, full_name AS display_name,
			enabled, last_login, created_at AS created, is_admin AS privileged FROM accounts;`,
		GroupsQuery:               `SELECT account_id, group_name FROM memberships`,
		CredentialsQuery:          `SELECT account_id, id AS credential_id, kind, created_at AS created, last_used_at AS last_used, NOT revoked AS active FROM api_keys`,
		DisableStatement:          `UPDATE accounts SET enabled = false WHERE id = :account_id AND enabled`,
		RemoveGroupStatement:      `DELETE FROM memberships WHERE account_id = :account_id AND group_name = :group`,
		RevokeSessionsStatement:   `DELETE FROM sessions WHERE account_id = :account_id`,
		RevokeCredentialStatement: `UPDATE api_keys SET revoked = true WHERE id = :credential_id AND account_id = :account_id::text AND NOT revoked`,
	}
}

// pgIntSchema has integer account IDs, whose numeric order differs from
// the byte order the merge join uses (10 < 9 as text), and rows in the
// group and token tables for deleted users and users that never existed.
func pgIntSchema(n int) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE users (uid INTEGER PRIMARY KEY, active BOOLEAN NOT NULL, deleted BOOLEAN NOT NULL, last_seen TIMESTAMPTZ);\n")
	b.WriteString("CREATE TABLE ug (uid INTEGER, g TEXT);\nCREATE TABLE tok (uid BIGINT, tid UUID, live BOOLEAN);\n")
	b.WriteString("CREATE TABLE sess (uid INTEGER);\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "INSERT INTO users VALUES (%d, %t, %t, NULL);\n", i, i%2 == 1, i%7 == 0)
		for g := range i % 4 {
			fmt.Fprintf(&b, "INSERT INTO ug VALUES (%d, 'g%d');\n", i, g)
		}
		if i%3 == 0 {
			fmt.Fprintf(&b, "INSERT INTO tok VALUES (%d, '00000000-0000-0000-0000-%012d', true);\n", i, i)
		}
		fmt.Fprintf(&b, "INSERT INTO sess VALUES (%d);\n", i)
	}
	b.WriteString("INSERT INTO ug VALUES (9999, 'orphan'), (0, 'orphan');\n")
	return b.String()
}

func pgIntConfig(dsn string) Config {
	return Config{
		Driver:                    "postgres", // the alias of "pgx"
		DSN:                       dsn,
		AccountsQuery:             "SELECT uid AS account_id, active AS enabled, last_seen AS last_login FROM users WHERE NOT deleted",
		GroupsQuery:               "SELECT uid AS account_id, g AS group_name FROM ug",
		CredentialsQuery:          "SELECT uid AS account_id, tid AS credential_id, 'token' AS kind, live AS active FROM tok",
		DisableStatement:          "UPDATE users SET active = false WHERE uid = :account_id AND active",
		RemoveGroupStatement:      "DELETE FROM ug WHERE uid = :account_id AND g = :group",
		RevokeSessionsStatement:   "DELETE FROM sess WHERE uid = :account_id",
		RevokeCredentialStatement: "UPDATE tok SET live = false WHERE tid = :credential_id AND uid = :account_id AND live",
	}
}

func TestPostgresConformanceTextIDs(t *testing.T) {
	targettest.Run(t, func(t *testing.T) targettest.Fixture {
		return targettest.Fixture{Target: newTarget(t, pgTextConfig(pgSeed(t, pgTextSchema))), Enabled: []string{"u1", "u-5"}, MinAccounts: 5}
	})
}

func TestPostgresConformanceIntegerIDs(t *testing.T) {
	targettest.Run(t, func(t *testing.T) targettest.Fixture {
		// 3 has a group (g0..g2) and a token; 1 has a group.
		return targettest.Fixture{Target: newTarget(t, pgIntConfig(pgSeed(t, pgIntSchema(30)))), Enabled: []string{"3", "1"}, MinAccounts: 26}
	})
}

func TestPostgresListingTextIDs(t *testing.T) {
	dsn := pgSeed(t, pgTextSchema)
	tg := newTarget(t, pgTextConfig(dsn))
	got, err := listAll(t, tg)
	if err != nil {
		t.Fatal(err)
	}
	login := ts("2026-01-02T10:00:00Z")
	want := []targets.Account{ // byte order: "U3" < "u-5" < "u1" < "u10" < "u2"
		{ID: "U3", Username: "cy", Email: "cy@example.com", DisplayName: "Cy", LoginTracked: true, Groups: targets.NamedGroups("staff")},
		{ID: "u-5", Username: "eve", Email: "eve@example.com", EmployeeID: "E5", DisplayName: "Eve", Enabled: true, LoginTracked: true,
			Groups: targets.NamedGroups("staff"), Credentials: []targets.Credential{{ID: "k5", Kind: "token", Active: true}}},
		{ID: "u1", Username: "ann", Email: "ann@example.com", EmployeeID: "007", DisplayName: "Ann Lee", Enabled: true,
			LoginTracked: true, LastLogin: login, Created: ts("2020-01-01T00:00:00Z"), Privileged: true,
			Groups: targets.NamedGroups("admins", "staff"),
			Credentials: []targets.Credential{
				{ID: "k1", Kind: "api_key", Created: ts("2025-01-01T00:00:00Z"), LastUsed: ts("2026-01-01T00:00:00Z"), Active: true},
				{ID: "k3", Kind: "api_key", Created: ts("2024-01-01T00:00:00Z")},
			}},
		{ID: "u10", Username: "dee", EmployeeID: "E10", DisplayName: "Dee", Enabled: true, LoginTracked: true,
			LastLogin: login.Add(-2 * time.Hour), Groups: targets.NamedGroups("staff")},
		{ID: "u2", Username: "bo", Email: "bo@example.com", EmployeeID: "7", DisplayName: "Bo Ng", Enabled: true, LoginTracked: true,
			Created: ts("2021-02-03T00:00:00Z"), Groups: targets.NamedGroups("staff"),
			Credentials: []targets.Credential{{ID: "k2", Kind: "token", Active: true}}},
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

	// The schema's collation really differs from byte order: without
	// COLLATE "C" the connector must refuse the listing, not mis-join.
	tg.dialect.orderKey = "CAST(account_id AS TEXT)"
	if _, err := listAll(t, tg); err == nil || !strings.Contains(err.Error(), "not in byte-wise account_id order") {
		t.Fatalf("listing ordered by the ICU collation: err = %v, want an order violation", err)
	}
}

func TestPostgresMergeJoinIntegerIDs(t *testing.T) {
	const n = 250
	dsn := pgSeed(t, pgIntSchema(n))
	tg := newTarget(t, pgIntConfig(dsn))
	if tg.dialect.placeholder(1) != "$1" {
		t.Fatalf("driver postgres is not using $1 placeholders: %q", tg.dialect.placeholder(1))
	}
	wantGroups := map[string][]string{}
	wantCreds := map[string][]string{}
	var wantIDs []string
	for i := 1; i <= n; i++ {
		if i%7 == 0 {
			continue
		}
		id := strconv.Itoa(i)
		wantIDs = append(wantIDs, id)
		for g := range i % 4 {
			wantGroups[id] = append(wantGroups[id], fmt.Sprintf("g%d", g))
		}
		if i%3 == 0 {
			wantCreds[id] = []string{fmt.Sprintf("00000000-0000-0000-0000-%012d", i)}
		}
	}
	sort.Strings(wantIDs) // byte order: 1, 10, 100, 101, ..., 99
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
		if wantEnabled := a.ID[len(a.ID)-1]%2 == 1; a.Enabled != wantEnabled {
			t.Errorf("%s: enabled %v", a.ID, a.Enabled)
		}
	}
	if !slices.Equal(gotIDs, wantIDs) {
		t.Fatalf("listed %d accounts %v\nwant %d %v", len(gotIDs), gotIDs, len(wantIDs), wantIDs)
	}

	ctx := t.Context()
	a, err := tg.Account(ctx, "12")
	if err != nil || a.ID != "12" || !slices.Equal(a.Groups, nil) || len(a.Credentials) != 1 {
		t.Fatalf("Account(12) = %+v, %v", a, err)
	}
	if a, err := tg.Account(ctx, "99"); err != nil || len(a.Groups) != 3 || len(a.Credentials) != 1 {
		t.Fatalf("Account(99) = %+v, %v", a, err)
	}
	if _, err := tg.Account(ctx, "14"); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("Account(14) (filtered out) = %v, want ErrNotFound", err)
	}
	// Not an integer: PostgreSQL rejects the comparison (SQLSTATE 22P02);
	// such an account cannot exist.
	for _, id := range []string{"x1", "99999999999999999999"} {
		if _, err := tg.Account(ctx, id); !errors.Is(err, targets.ErrNotFound) {
			t.Fatalf("Account(%s) = %v, want ErrNotFound", id, err)
		}
		if err := tg.Disable(ctx, targets.Account{ID: id}); !errors.Is(err, targets.ErrNotFound) {
			t.Fatalf("Disable(%s) = %v, want ErrNotFound", id, err)
		}
	}
	if err := tg.RevokeCredential(ctx, targets.Account{ID: "12"}, targets.Credential{ID: "not-a-uuid"}); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("RevokeCredential(12, not-a-uuid) = %v, want ErrNotFound", err)
	}
	if err := tg.RevokeCredential(ctx, targets.Account{ID: "12"}, targets.Credential{ID: wantCreds["12"][0]}); err != nil {
		t.Fatal(err)
	}
	if n := pgCount(t, dsn, "SELECT count(*) FROM tok WHERE NOT live"); n != 1 {
		t.Fatalf("%d tokens revoked, want 1", n)
	}
	if err := tg.Disable(ctx, targets.Account{ID: "13"}); err != nil {
		t.Fatal(err)
	}
	if n := pgCount(t, dsn, "SELECT count(*) FROM users WHERE uid = 13 AND active"); n != 0 {
		t.Fatal("13 still active after Disable")
	}
	if err := tg.RevokeSessions(ctx, targets.Account{ID: "13"}); err != nil {
		t.Fatal(err)
	}
	if left := pgCount(t, dsn, "SELECT count(*) FROM sess"); left != n-1 {
		t.Fatalf("%d sessions left, want %d", left, n-1)
	}
}

func TestPostgresDisableGuard(t *testing.T) {
	dsn := pgSeed(t, pgTextSchema)
	before := pgCount(t, dsn, "SELECT count(*) FROM accounts WHERE enabled")
	cfg := pgTextConfig(dsn)
	cfg.DisableStatement = "UPDATE accounts SET enabled = false WHERE id = :account_id OR id = 'u2'"
	tg := newTarget(t, cfg)
	err := tg.Disable(t.Context(), targets.Account{ID: "u1"})
	if err == nil || !strings.Contains(err.Error(), "disable_statement affected 2 rows, more than 1: rolled back") {
		t.Fatalf("err = %v", err)
	}
	if after := pgCount(t, dsn, "SELECT count(*) FROM accounts WHERE enabled"); after != before || before != 4 {
		t.Fatalf("%d accounts enabled after a rolled-back disable, want %d (and 4 before)", after, before)
	}

	// A statement that matches nothing while the account stays enabled.
	cfg.DisableStatement = "UPDATE accounts SET enabled = false WHERE id = :account_id AND false"
	tg = newTarget(t, cfg)
	if err := tg.Disable(t.Context(), targets.Account{ID: "u1"}); err == nil || !strings.Contains(err.Error(), "changed no row and the account is still enabled") {
		t.Fatalf("err = %v", err)
	}
}

func TestPostgresPermissionDenied(t *testing.T) {
	dsn := pgSeed(t, pgTextSchema)
	schema := dsn[strings.LastIndex(dsn, "=")+1:]
	role := "reader_" + schema
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(fmt.Sprintf("CREATE ROLE %[1]s LOGIN; GRANT USAGE ON SCHEMA %[2]s TO %[1]s; GRANT SELECT ON ALL TABLES IN SCHEMA %[2]s TO %[1]s", role, schema)); err != nil {
		t.Fatal(err)
	}
	tg := newTarget(t, pgTextConfig(strings.Replace(dsn, "postgres://postgres@", "postgres://"+role+"@", 1)))
	if _, err := listAll(t, tg); err != nil {
		t.Fatalf("listing as a read-only role: %v", err)
	}
	err = tg.Disable(t.Context(), targets.Account{ID: "u1"})
	if !errors.Is(err, targets.ErrPermission) || !strings.Contains(err.Error(), "42501") {
		t.Fatalf("disable without UPDATE privilege: %v, want ErrPermission", err)
	}
}

func TestPostgresTransientWhenDown(t *testing.T) {
	pgDSN(t) // same skip rule as the other PostgreSQL tests
	port, err := targettest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := pgTextConfig(fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=5", port))
	tg := newTarget(t, cfg)
	var te *targets.TransientError
	if err := tg.Disable(t.Context(), targets.Account{ID: "u1"}); !errors.As(err, &te) {
		t.Fatalf("disable with the server down: %v, want a TransientError", err)
	}
}

// TestPostgresReadmeConfig runs the README's configuration against tables
// of the shape it assumes.
func TestPostgresReadmeConfig(t *testing.T) {
	dsn := pgSeed(t, `
CREATE TABLE users (id BIGINT PRIMARY KEY, login TEXT, email TEXT, staff_no TEXT, full_name TEXT,
	active BOOLEAN NOT NULL, last_seen TIMESTAMPTZ, created_at TIMESTAMPTZ, is_admin BOOLEAN, deleted_at TIMESTAMPTZ);
CREATE TABLE user_roles (user_id BIGINT, role TEXT);
CREATE TABLE api_keys (id UUID, user_id BIGINT, created_at TIMESTAMPTZ, last_used_at TIMESTAMPTZ, revoked_at TIMESTAMPTZ);
CREATE TABLE sessions (user_id BIGINT);
INSERT INTO users VALUES (9, 'nine', NULL, 'E9', 'Nine', true, NULL, now(), false, NULL),
	(10, 'ten', NULL, 'E10', 'Ten', true, now(), now(), true, NULL), (11, 'gone', NULL, NULL, NULL, true, NULL, NULL, NULL, now());
INSERT INTO user_roles VALUES (9, 'staff'), (10, 'admin'), (10, 'staff');
INSERT INTO api_keys VALUES ('6f1c0c6e-0000-4000-8000-000000000010', 10, now(), NULL, NULL);
INSERT INTO sessions VALUES (10), (10);`)
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("README.md has no ```yaml block")
	}
	var cfg Config
	if err := yaml.Unmarshal(m[1], &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.DSNSecret = targets.Secret(dsn) // the wiring resolves dsn_env
	tg := newTarget(t, cfg)
	got, err := listAll(t, tg)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "10" || got[1].ID != "9" || len(got[0].Groups) != 2 || len(got[0].Credentials) != 1 || !got[0].Privileged {
		t.Fatalf("README config listed %+v", got)
	}
	ctx := t.Context()
	a := got[0]
	for _, err := range []error{
		tg.Disable(ctx, a), tg.RevokeSessions(ctx, a), tg.RemoveFromGroup(ctx, a, targets.Group{ID: "admin", Name: "admin"}), tg.RevokeCredential(ctx, a, a.Credentials[0]),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := pgCount(t, dsn, `SELECT (SELECT count(*) FROM users WHERE active) + (SELECT count(*) FROM sessions)
		+ (SELECT count(*) FROM user_roles) + (SELECT count(*) FROM api_keys WHERE revoked_at IS NULL)`); n != 2+0+2+0 {
		t.Fatalf("after the README statements: %d rows, want 4 (users 9 and 11 active, 2 roles left)", n)
	}
}
