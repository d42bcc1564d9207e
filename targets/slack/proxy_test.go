package slack

import (
	"os"
	"testing"

	"github.com/accessrecon/accessrecon/targets/slack/slackfake"
	"github.com/accessrecon/accessrecon/targets/targettest/specproxy"
)

// proxy is the package's one Prism, started on first use in front of the
// tests' fakes and stopped in TestMain.
var proxy = specproxy.NewShared(slackfake.SpecPath(), slackfake.SpecOptions())

func TestMain(m *testing.M) {
	code := m.Run()
	proxy.Close()
	os.Exit(code)
}
