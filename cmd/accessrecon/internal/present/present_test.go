package present

import (
	"strings"
	"testing"

	"github.com/accessrecon/accessrecon/reconcile"
)

// A step's argument is set apart from its operation in the plan
// ("revoke_credential AKIA1", not "revoke_credentialAKIA1").
func TestPlanSeparatesStepArgument(t *testing.T) {
	var b strings.Builder
	Plan(&b, &reconcile.Result{Findings: []*reconcile.Finding{{Kind: reconcile.TerminatedActive, Target: "cloud", AccountID: "cl-1",
		Disposition: reconcile.ManualRevoke, Actions: []reconcile.Step{{Op: "revoke_credential", Arg: "AKIA1"}, {Op: "remove_from_group", Arg: "cn=x", Name: "sales\nteam"}}}}})
	for _, want := range []string{"revoke_credential AKIA1 ", `remove_from_group sales\nteam `} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, b.String())
		}
	}
}
