package pgstore_test

// The tests run against a real PostgreSQL 15 server, started once per
// package run by testdata/pg-start.sh and stopped by PID in TestMain; each
// store is a fresh schema of it. Without the server's binaries they skip,
// unless ACCESSRECON_REQUIRE_INTEGRATION=1 (then they fail).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/accessrecon/accessrecon/reconcile/pgstore"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

// pgBin holds the PostgreSQL 15 binaries; ACCESSRECON_PG_BIN overrides it.
const pgBin = "/usr/lib/postgresql/15/bin"

type pgServer struct {
	dir  string // temp dir: data/, pg.log, the unix socket
	pid  int    // postmaster PID
	port int
}

var (
	pgOnce    sync.Once
	pgSrv     *pgServer
	pgErr     error
	pgMissing bool         // the binaries are not installed
	pgSchemas atomic.Int64 // schema name counter
)

func TestMain(m *testing.M) {
	code := m.Run()
	if pgSrv != nil {
		if err := pgSrv.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping PostgreSQL:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// baseDSN returns the DSN of the package's server (starting it on first
// use), or skips the test when PostgreSQL is not installed, unless
// ACCESSRECON_REQUIRE_INTEGRATION=1.
func baseDSN(t testing.TB) string {
	t.Helper()
	pgOnce.Do(func() { pgSrv, pgErr = startPG() })
	if pgErr != nil {
		if pgMissing {
			targettest.NeedIntegration(t, fmt.Sprintf("PostgreSQL not available: %v (install postgresql-15)", pgErr))
		}
		t.Fatalf("PostgreSQL: %v", pgErr)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pgSrv.port)
}

// schemaDSN creates a fresh, empty schema and returns a DSN whose
// search_path is that schema.
func schemaDSN(t testing.TB) string {
	t.Helper()
	base := baseDSN(t)
	name := fmt.Sprintf("s%d", pgSchemas.Add(1))
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE SCHEMA " + name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	return base + "&search_path=" + name
}

// openStore opens a store on a fresh schema, closed when t ends.
func openStore(t testing.TB) *pgstore.Store {
	t.Helper()
	st, err := pgstore.Open(context.Background(), schemaDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func startPG() (*pgServer, error) {
	bin := pgBin
	if b := os.Getenv("ACCESSRECON_PG_BIN"); b != "" {
		bin = b
	}
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			pgMissing = true
			return nil, fmt.Errorf("%s not found", filepath.Join(bin, name))
		}
	}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			pgMissing = true
			return nil, errors.New("running as root and there is no OS user postgres to run the server as")
		}
	}
	script, err := filepath.Abs(filepath.Join("testdata", "pg-start.sh"))
	if err != nil {
		return nil, err
	}
	var last error
	for range 3 { // a free port may be taken before the server binds it
		dir, err := os.MkdirTemp("", "accessrecon-pgstore-")
		if err != nil {
			return nil, err
		}
		port, err := targettest.FreePort()
		if err != nil {
			return nil, err
		}
		cmd := exec.Command("sh", script, dir, strconv.Itoa(port), bin)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			last = fmt.Errorf("pg-start.sh: %v: %s", err, stderr.String())
			os.RemoveAll(dir)
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pg-start.sh printed %q, want a PID", out)
		}
		s := &pgServer{dir: dir, pid: pid, port: port}
		db, err := sql.Open("pgx", fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port))
		if err == nil {
			err = db.Ping()
			db.Close()
		}
		if err != nil {
			s.stop() //nolint:errcheck
			return nil, fmt.Errorf("connect: %v", err)
		}
		return s, nil
	}
	return nil, last
}

// stop asks the postmaster for a fast shutdown by PID, waits for it to
// remove its PID file (which it does last), and removes the directory.
func (s *pgServer) stop() error {
	defer os.RemoveAll(s.dir)
	if err := syscall.Kill(s.pid, syscall.SIGINT); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return fmt.Errorf("signal PID %d: %w", s.pid, err)
	}
	pidFile := filepath.Join(s.dir, "data", "postmaster.pid")
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(pidFile); errors.Is(err, os.ErrNotExist) {
			return nil
		}
	}
	syscall.Kill(s.pid, syscall.SIGKILL) //nolint:errcheck
	return fmt.Errorf("PID %d did not stop within 30s of SIGINT; killed", s.pid)
}
