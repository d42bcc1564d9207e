package targettest

// Helpers for tests that start a real server (slapd, Samba AD, PostgreSQL,
// the SCIM server, accessrecon serve): skip-or-fail when it cannot run,
// a free loopback port, and stopping a daemon by its PID.

import (
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// IntegrationRequired says whether ACCESSRECON_REQUIRE_INTEGRATION=1 (as
// .ci/run sets it): then a test whose real server cannot run fails.
func IntegrationRequired() bool { return os.Getenv("ACCESSRECON_REQUIRE_INTEGRATION") == "1" }

// NeedIntegration skips tb because its real server cannot run here (why),
// or fails it when IntegrationRequired.
func NeedIntegration(tb testing.TB, why string) {
	tb.Helper()
	if IntegrationRequired() {
		tb.Fatalf("integration test cannot run: %s (ACCESSRECON_REQUIRE_INTEGRATION=1)", why)
	}
	tb.Skipf("skipping integration test: %s", why)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// MustFreePort is FreePort for a test: an error fails tb.
func MustFreePort(tb testing.TB) int {
	tb.Helper()
	p, err := FreePort()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// ProcessGone says whether pid has exited (or is a zombie nobody reaped).
func ProcessGone(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// pid (comm) STATE ...: comm may hold spaces; the state follows the last ')'.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z'
	}
	return false
}

// StopPID ends a daemon the test started, by its PID: SIGTERM, then SIGKILL
// when it has not exited within 5 s; it waits for the exit.
func StopPID(tb testing.TB, pid int) {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return
	}
	for range 100 {
		if ProcessGone(pid) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	tb.Logf("process %d did not stop on SIGTERM within 5s: killed", pid)
}
