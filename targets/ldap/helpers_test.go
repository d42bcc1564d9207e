package ldap_test

import (
	"net"
	"os"
	"testing"
)

// needIntegration skips (or, under ACCESSRECON_REQUIRE_INTEGRATION=1, fails)
// a test whose real server cannot run here.
func needIntegration(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv("ACCESSRECON_REQUIRE_INTEGRATION") == "1" {
		tb.Fatalf("integration test cannot run: %s (ACCESSRECON_REQUIRE_INTEGRATION=1)", why)
	}
	tb.Skipf("skipping integration test: %s", why)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
