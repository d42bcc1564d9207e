package radius_test

import (
	"errors"
	"fmt"
	"net"
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
)

// One PostgreSQL 15 server per test binary (testdata/pg-start.sh), started
// on first use and stopped by PID in TestMain; each FreeRADIUS gets its own
// database in it.
var (
	pgOnce sync.Once
	pg     struct {
		dir       string
		pid, port int
		err       error
		missing   bool
	}
	dbSeq atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if pg.pid != 0 {
		stopPG()
	}
	os.Exit(code)
}

func pgPort(tb testing.TB) int {
	tb.Helper()
	pgOnce.Do(startPG)
	if pg.err != nil {
		if pg.missing {
			needIntegration(tb, "PostgreSQL: "+pg.err.Error())
		}
		tb.Fatalf("PostgreSQL: %v", pg.err)
	}
	return pg.port
}

func startPG() {
	bin := "/usr/lib/postgresql/15/bin"
	if b := os.Getenv("ACCESSRECON_PG_BIN"); b != "" {
		bin = b
	}
	if _, err := os.Stat(filepath.Join(bin, "postgres")); err != nil {
		pg.err, pg.missing = fmt.Errorf("%s/postgres not found (apt-get install postgresql-15)", bin), true
		return
	}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			pg.err, pg.missing = errors.New("running as root and there is no OS user postgres"), true
			return
		}
	}
	script, _ := filepath.Abs("testdata/pg-start.sh")
	for range 3 { // a free port may be taken before the server binds it
		dir, err := os.MkdirTemp("", "accessrecon-radius-pg-")
		if err != nil {
			pg.err = err
			return
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			pg.err = err
			return
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		cmd := exec.Command("sh", script, dir, strconv.Itoa(port), bin)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			pg.err = fmt.Errorf("pg-start.sh: %v: %s", err, stderr.String())
			os.RemoveAll(dir)
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil {
			pg.err = fmt.Errorf("pg-start.sh printed %q, want a PID", out)
			return
		}
		pg.dir, pg.pid, pg.port, pg.err = dir, pid, port, nil
		return
	}
}

// stopPG asks the postmaster for a fast shutdown by PID and waits for it.
func stopPG() {
	defer os.RemoveAll(pg.dir)
	if err := syscall.Kill(pg.pid, syscall.SIGINT); err != nil {
		return
	}
	pidFile := filepath.Join(pg.dir, "data", "postmaster.pid")
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(pidFile); errors.Is(err, os.ErrNotExist) {
			return
		}
	}
}
