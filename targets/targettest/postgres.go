package targettest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// PostgreSQL is one throwaway PostgreSQL 15 server for a test package:
// started on first use by testdata/pg-start.sh (initdb with trust auth on a
// free loopback port, fsync off), stopped by PID with Stop, usually from
// TestMain. Without the binaries (/usr/lib/postgresql/15/bin, or
// ACCESSRECON_PG_BIN) the tests that use it skip, unless
// ACCESSRECON_REQUIRE_INTEGRATION=1. The zero value is ready to use.
type PostgreSQL struct {
	once    sync.Once
	dir     string // temp dir: data/, pg.log, the unix socket
	pid     int    // postmaster PID
	port    int
	err     error
	missing bool // the binaries are not installed
}

// Port returns the server's port, starting it on first use.
func (p *PostgreSQL) Port(tb testing.TB) int {
	tb.Helper()
	p.once.Do(p.start)
	if p.err != nil {
		if p.missing {
			NeedIntegration(tb, fmt.Sprintf("PostgreSQL not available: %v (install postgresql-15)", p.err))
		}
		tb.Fatalf("PostgreSQL: %v", p.err)
	}
	return p.port
}

// DSN returns a DSN for database db (postgres when empty) as the superuser.
func (p *PostgreSQL) DSN(tb testing.TB, db string) string {
	tb.Helper()
	if db == "" {
		db = "postgres"
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.Port(tb), db)
}

func (p *PostgreSQL) start() {
	bin := "/usr/lib/postgresql/15/bin"
	if b := os.Getenv("ACCESSRECON_PG_BIN"); b != "" {
		bin = b
	}
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			p.err, p.missing = fmt.Errorf("%s not found", filepath.Join(bin, name)), true
			return
		}
	}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			p.err, p.missing = errors.New("running as root and there is no OS user postgres to run the server as"), true
			return
		}
	}
	_, self, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(self), "testdata", "pg-start.sh")
	for range 3 { // a free port may be taken before the server binds it
		dir, err := os.MkdirTemp("", "accessrecon-pg-")
		if err != nil {
			p.err = err
			return
		}
		port, err := FreePort()
		if err != nil {
			p.err = err
			return
		}
		cmd := exec.Command("sh", script, dir, strconv.Itoa(port), bin)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			p.err = fmt.Errorf("pg-start.sh: %v: %s", err, stderr.String())
			os.RemoveAll(dir)
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil {
			os.RemoveAll(dir)
			p.err = fmt.Errorf("pg-start.sh printed %q, want a PID", out)
			return
		}
		p.dir, p.pid, p.port, p.err = dir, pid, port, nil
		return
	}
}

// Stop asks the postmaster for a fast shutdown by PID, waits for it to
// remove its PID file (which it does last), and removes the directory. It
// does nothing when the server was never started.
func (p *PostgreSQL) Stop() error {
	if p.pid == 0 {
		return nil
	}
	defer os.RemoveAll(p.dir)
	if err := syscall.Kill(p.pid, syscall.SIGINT); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return fmt.Errorf("signal PID %d: %w", p.pid, err)
	}
	pidFile := filepath.Join(p.dir, "data", "postmaster.pid")
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(pidFile); errors.Is(err, os.ErrNotExist) {
			return nil
		}
	}
	syscall.Kill(p.pid, syscall.SIGKILL) //nolint:errcheck
	return fmt.Errorf("PID %d did not stop within 30s of SIGINT; killed", p.pid)
}

// StopAfter is TestMain's tail: it stops the server after the tests ran
// and fails the run when it did not stop.
func (p *PostgreSQL) StopAfter(code int) int {
	if err := p.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping PostgreSQL:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}
