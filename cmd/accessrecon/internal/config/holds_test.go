package config

import (
	"strings"
	"testing"
)

// policy.holds.require_approval is read beside the engine's policy, whose
// keys stay strictly checked.
func TestPolicyHoldsRequireApproval(t *testing.T) {
	base := "sources: [{name: hr, type: csv, config: {path: hr.csv}}]\ntargets: [{name: vpn, type: csv, config: {path: vpn.csv}}]\n"
	cfg, err := Parse([]byte(base+"policy: {mode: enforce, holds: {require_approval: true}}\n"), "schedule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Policy.Holds.RequireApproval || cfg.Policy.Mode != "enforce" {
		t.Fatalf("policy read as %+v", cfg.Policy)
	}
	for _, bad := range []string{"policy: {holds: {require_aproval: true}}\n", "policy: {mod: enforce}\n"} {
		if _, err := Parse([]byte(base+bad), "schedule.yaml"); err == nil || !strings.Contains(err.Error(), "not found") && !strings.Contains(err.Error(), "unknown") {
			t.Errorf("%q: %v, want an unknown-key error", bad, err)
		}
	}
}
