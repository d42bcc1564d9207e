package okta

import (
	"os"
	"testing"

	"github.com/accessrecon/accessrecon/targets/targettest/specproxy"
)

// specPatches corrects Okta's description where it is wrong, in this one
// place. Each patch says why; validation is never turned off.
var specPatches = []specproxy.Patch{{
	// TimeDuration (ApiToken.tokenWindow) reads ^P(?:$)(\d+Y)?…(T(?:\d)…: a
	// conversion of the ISO 8601 duration pattern ^P(?!$)…(T(?=\d)… that turned
	// its lookaheads into groups. As published it accepts only "P" (and "PT1…"),
	// while Okta returns "P30D" (see the spec's own ApiToken examples).
	Pointer: "/components/schemas/TimeDuration/pattern",
	Value:   `^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$`,
	Reason:  "ApiToken.tokenWindow pattern accepts only \"P\"; Okta returns \"P30D\"",
}}

// prism is one Prism for the package, in front of each test's fake.
var prism = specproxy.NewShared("testdata/management-minimal.yaml", specproxy.Options{Patches: specPatches})

func TestMain(m *testing.M) {
	code := m.Run()
	prism.Close()
	os.Exit(code)
}
