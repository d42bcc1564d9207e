package radius_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/accessrecon/accessrecon/targets"
	sqltarget "github.com/accessrecon/accessrecon/targets/sql"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

const (
	freeradiusBin = "/usr/sbin/freeradius"
	nasSecret     = "testing123"
)

// backend is where FreeRADIUS keeps its users: SQLite or PostgreSQL.
type backend struct {
	dialect  string // FreeRADIUS's: sqlite, postgresql
	goDriver string // the sql target's: sqlite3, pgx
	dsn      string
	conn     string // the sql module's connection settings
}

func (b backend) module() string { return "/usr/lib/freeradius/rlm_sql_" + b.dialect + ".so" }
func (b backend) schema() string {
	return "/etc/freeradius/3.0/mods-config/sql/main/" + b.dialect + "/schema.sql"
}

// newBackend makes an empty database for one FreeRADIUS.
func newBackend(tb testing.TB, dialect, dir string) backend {
	tb.Helper()
	switch dialect {
	case "sqlite":
		db := filepath.Join(dir, "radius.db")
		return backend{dialect: dialect, goDriver: "sqlite3", dsn: db + "?_busy_timeout=5000",
			conn: fmt.Sprintf("\t\tsqlite {\n\t\t\tfilename = %q\n\t\t}\n\t\tradius_db = \"radius\"", db)}
	case "postgresql":
		port := pgPort(tb)
		name := fmt.Sprintf("radius_%d", dbSeq.Add(1))
		admin := openDB(tb, "pgx", fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port))
		if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
			tb.Fatal(err)
		}
		return backend{dialect: dialect, goDriver: "pgx", dsn: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", port, name),
			conn: fmt.Sprintf("\t\tserver = \"127.0.0.1\"\n\t\tport = %d\n\t\tlogin = \"postgres\"\n\t\tpassword = \"\"\n\t\tradius_db = %q", port, name)}
	}
	tb.Fatalf("unknown dialect %s", dialect)
	return backend{}
}

func needIntegration(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv("ACCESSRECON_REQUIRE_INTEGRATION") == "1" {
		tb.Fatalf("integration test cannot run: %s", why)
	}
	tb.Skipf("skipping: %s", why)
}

// users of the test: name → password. dave is the leaver.
var users = map[string]string{"alice": "a-pw", "bob": "b-pw", "carol@example.com": "c-pw", "dave": "d-pw", "erin": "e-pw"}

// server is a real FreeRADIUS on a free loopback UDP port with users in an
// SQLite database.
type server struct {
	dir, addr string
	backend
}

// recipe decodes the README's yaml block into the sql target's Config.
func recipe(tb testing.TB) sqltarget.Config {
	tb.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		tb.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	if len(blocks) != 1 {
		tb.Fatalf("README.md has %d yaml blocks, want 1 (the recipe)", len(blocks))
	}
	var c sqltarget.Config
	dec := yaml.NewDecoder(strings.NewReader(blocks[0][1]))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		tb.Fatalf("the README's recipe does not decode into the sql target's Config: %v", err)
	}
	return c
}

func freeUDPPort(tb testing.TB) int {
	tb.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// startFreeRADIUS writes the configuration from testdata, creates the
// database with FreeRADIUS's own SQLite schema, seeds the users, and starts
// the server in the foreground; it is stopped by PID when tb ends.
func startFreeRADIUS(tb testing.TB, dialect string) *server {
	tb.Helper()
	mod := backend{dialect: dialect}
	for _, f := range []string{freeradiusBin, mod.module(), mod.schema()} {
		if _, err := os.Stat(f); err != nil {
			needIntegration(tb, f+" missing (apt-get install freeradius freeradius-utils freeradius-postgresql)")
		}
	}
	if _, err := exec.LookPath("radclient"); err != nil {
		needIntegration(tb, "radclient missing (apt-get install freeradius-utils)")
	}
	dir := tb.TempDir()
	s := &server{dir: dir, backend: newBackend(tb, dialect, dir)}
	port := freeUDPPort(tb)
	s.addr = fmt.Sprintf("127.0.0.1:%d", port)
	tmpl, err := os.ReadFile("testdata/radiusd.conf.tmpl")
	if err != nil {
		tb.Fatal(err)
	}
	conf := strings.NewReplacer("@DIR@", dir, "@PORT@", fmt.Sprint(port), "@SECRET@", nasSecret,
		"@DIALECT@", dialect, "@CONN@", s.conn).Replace(string(tmpl))
	if err := os.WriteFile(filepath.Join(dir, "radiusd.conf"), []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	schema, err := os.ReadFile(s.schema())
	if err != nil {
		tb.Fatal(err)
	}
	db := openDB(tb, s.goDriver, s.dsn)
	if _, err := db.Exec(string(schema)); err != nil {
		tb.Fatalf("FreeRADIUS schema: %v", err)
	}
	s.seed(tb)
	if out, err := exec.Command(freeradiusBin, "-C", "-d", dir, "-n", "radiusd").CombinedOutput(); err != nil {
		out2, _ := exec.Command(freeradiusBin, "-XC", "-d", dir, "-n", "radiusd").CombinedOutput()
		tb.Fatalf("freeradius -C: %v: %s\n%s", err, out, tail(out2))
	}
	cmd := exec.Command(freeradiusBin, "-f", "-d", dir, "-n", "radiusd")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	pid := cmd.Process.Pid
	tb.Cleanup(func() {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(pid, syscall.SIGKILL)
			<-done
		}
		if tb.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "radius.log"))
			tb.Logf("freeradius output: %s\nradius.log:\n%s", stderr.String(), tail(log))
		}
	})
	for i := 0; ; i++ {
		if r, _ := s.auth("alice", users["alice"]); r != "" {
			break
		}
		if i == 50 {
			tb.Fatalf("FreeRADIUS did not answer on %s within 10s: %s", s.addr, stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	return s
}

func tail(b []byte) string {
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

func openDB(tb testing.TB, driver, dsn string) *sql.DB {
	tb.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// seed (re)writes every user's password row, group and no reject rows.
func (s *server) seed(tb testing.TB) {
	tb.Helper()
	db := openDB(tb, s.goDriver, s.dsn)
	stmts := []string{"DELETE FROM radcheck", "DELETE FROM radusergroup", "DELETE FROM radreply"}
	for u, pw := range users { // literal test values, no quotes in them
		group := "staff-vpn"
		if u == "alice" {
			group = "netadmins"
		}
		stmts = append(stmts,
			fmt.Sprintf(`INSERT INTO radcheck (username, attribute, op, value) VALUES ('%s', 'Cleartext-Password', ':=', '%s')`, u, pw),
			fmt.Sprintf(`INSERT INTO radusergroup (username, groupname, priority) VALUES ('%s', '%s', 1)`, u, group))
	}
	for _, st := range stmts {
		if _, err := db.Exec(st); err != nil {
			tb.Fatal(err)
		}
	}
	// A per-user reply attribute, which disabling must leave alone.
	if _, err := db.Exec(`INSERT INTO radreply (username, attribute, op, value) VALUES ('dave', 'Framed-IP-Address', ':=', '10.8.0.44')`); err != nil {
		tb.Fatal(err)
	}
}

// auth sends one Access-Request with radclient and returns
// "Access-Accept", "Access-Reject" or "" (no answer).
func (s *server) auth(user, password string) (string, error) {
	cmd := exec.Command("radclient", "-r", "1", "-t", "2", s.addr, "auth", nasSecret)
	cmd.Stdin = strings.NewReader(fmt.Sprintf("User-Name = %q, User-Password = %q\n", user, password))
	out, err := cmd.CombinedOutput()
	switch {
	case bytes.Contains(out, []byte("Received Access-Accept")):
		return "Access-Accept", nil
	case bytes.Contains(out, []byte("Received Access-Reject")):
		return "Access-Reject", nil
	}
	return "", fmt.Errorf("radclient: %v: %s", err, out)
}

func (s *server) mustAuth(tb testing.TB, user, want string) {
	tb.Helper()
	got, err := s.auth(user, users[user])
	if got != want {
		tb.Fatalf("radclient for %s: %q (%v), want %s", user, got, err, want)
	}
}

func (s *server) target(tb testing.TB) *sqltarget.Target {
	tb.Helper()
	cfg := recipe(tb)
	cfg.Driver, cfg.DSN = s.goDriver, s.dsn
	tg, err := sqltarget.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { tg.Close() })
	return tg
}

var dialects = []string{"sqlite", "postgresql"}

func TestConformanceFreeRADIUS(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			s := startFreeRADIUS(t, d)
			targettest.Run(t, func(t *testing.T) targettest.Fixture {
				s.seed(t)
				return targettest.Fixture{Target: s.target(t), Enabled: []string{"alice", "bob"}, MinAccounts: len(users)}
			})
		})
	}
}

// TestLeaverRejected: before, radclient gets Access-Accept for everyone;
// after the sql target disables dave with the README's recipe, dave gets
// Access-Reject and everyone else still Access-Accept; his password and
// reply rows stay (reversible), a second disable adds nothing, and removing
// the reject row gives him access back.
func TestLeaverRejected(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) { leaverRejected(t, d) })
	}
}

func leaverRejected(t *testing.T, dialect string) {
	s := startFreeRADIUS(t, dialect)
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	slices.Sort(names)
	for _, u := range names {
		s.mustAuth(t, u, "Access-Accept")
	}
	tg := s.target(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	accounts := map[string]targets.Account{}
	for a, err := range tg.Accounts(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		accounts[a.ID] = a
	}
	if len(accounts) != len(users) {
		t.Fatalf("listed %d accounts, want %d: %v", len(accounts), len(users), accounts)
	}
	for id, a := range accounts {
		if !a.Enabled || a.Username != id || len(a.Groups) != 1 {
			t.Fatalf("account %+v", a)
		}
	}
	if c := accounts["carol@example.com"]; c.Email != "carol@example.com" {
		t.Fatalf("an e-mail username is the account's e-mail: %+v", c)
	}
	for range 2 {
		if err := tg.Disable(ctx, accounts["dave"]); err != nil {
			t.Fatal(err)
		}
	}
	s.mustAuth(t, "dave", "Access-Reject")
	for _, u := range names {
		if u != "dave" {
			s.mustAuth(t, u, "Access-Accept")
		}
	}
	db := openDB(t, s.goDriver, s.dsn)
	var rejects, passwords, replies int
	if err := db.QueryRow(`SELECT
		(SELECT count(*) FROM radcheck WHERE username = 'dave' AND attribute = 'Auth-Type' AND value = 'Reject'),
		(SELECT count(*) FROM radcheck WHERE username = 'dave' AND attribute = 'Cleartext-Password'),
		(SELECT count(*) FROM radreply WHERE username = 'dave')`).Scan(&rejects, &passwords, &replies); err != nil {
		t.Fatal(err)
	}
	if rejects != 1 || passwords != 1 || replies != 1 {
		t.Fatalf("dave's rows: %d reject, %d password, %d reply; want 1 each", rejects, passwords, replies)
	}
	if a, err := tg.Account(ctx, "dave"); err != nil || a.Enabled {
		t.Fatalf("re-read dave: %+v, %v", a, err)
	}
	if err := tg.Disable(ctx, targets.Account{ID: "mallory"}); !errors.Is(err, targets.ErrNotFound) {
		t.Fatalf("disable of an unknown user: %v", err)
	}
	// Reversible: deleting the reject row lets him in again.
	if _, err := db.Exec(`DELETE FROM radcheck WHERE username = 'dave' AND attribute = 'Auth-Type'`); err != nil {
		t.Fatal(err)
	}
	s.mustAuth(t, "dave", "Access-Accept")
}
