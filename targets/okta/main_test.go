package okta

import (
	"os"
	"testing"

	"github.com/accessrecon/accessrecon/targets/okta/oktafake"
	"github.com/accessrecon/accessrecon/targets/targettest/specproxy"
)

// prism is one Prism for the package, in front of each test's fake.
var prism = specproxy.NewShared(oktafake.SpecPath(), oktafake.SpecOptions)

func TestMain(m *testing.M) {
	code := m.Run()
	prism.Close()
	os.Exit(code)
}
