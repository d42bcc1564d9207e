package config

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

func TestDrillsConfig(t *testing.T) {
	base := "store: x.db\nsources: [{name: hr, type: csv, config: {path: hr.csv}}]\ntargets: [{name: vpn, type: csv, config: {path: vpn.csv}}]\n"
	canary := "drills: {canaries: [{employee_id: C-1, accounts: {vpn: canary1}}]}\n"
	for _, c := range []struct{ yaml, err string }{
		{canary, ""},
		{canary + "jobs: [{name: q, schedule: '@daily', kind: drill, scenario: suspend}]", ""},
		{"drills: {canaries: [{accounts: {vpn: canary1}}]}", "drills.canaries[0].employee_id: required"},
		{"drills: {canaries: [{employee_id: C-1, accounts: {vpn: a}}, {employee_id: c-1, accounts: {vpn: b}}]}", "used twice"},
		{"drills: {canaries: [{employee_id: C-1}]}", "at least one target's account"},
		{"drills: {canaries: [{employee_id: C-1, accounts: {crm: a}}]}", `target "crm" is not configured`},
		{"drills: {canaries: [{employee_id: C-1, accounts: {vpn: ' '}}]}", "empty account reference"},
		{"drills: {canaries: [{employee_id: C-1, accounts: {vpn: a}, shoe_size: 9}]}", "shoe_size"},
		{"jobs: [{name: q, schedule: '@daily', kind: drill}]", "drill needs drills.canaries"},
		{canary + "jobs: [{name: q, schedule: '@daily', kind: drill, scenario: move}]", "move needs job_code and move_to on every canary (C-1 has not)"},
		{"drills: {canaries: [{employee_id: C-1, job_code: SALES, move_to: ENG, accounts: {vpn: canary1}}]}\njobs: [{name: q, schedule: '@daily', kind: drill, scenario: move}]", ""},
		{"drills: {canaries: [{employee_id: C-1, job_code: SALES, move_to: SALES, accounts: {vpn: canary1}}]}", "a move needs another role"},
		{canary + "jobs: [{name: q, schedule: '@daily', kind: drill, scenario: promote}]", "not terminate, suspend or move"},
		{"jobs: [{name: q, schedule: '@daily', kind: party}]", "not run or drill"},
		{"jobs: [{name: q, schedule: '@daily', scenario: terminate}]", "only a job of kind drill"},
	} {
		_, err := Parse([]byte(base+c.yaml+"\n"), "schedule.yaml")
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.yaml, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want one containing %q", c.yaml, err, c.err)
		}
	}
	body := []byte(base + canary)
	cfg, err := Parse(body, "schedule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	if cfg.SHA256() != hex.EncodeToString(sum[:]) {
		t.Errorf("SHA256 %s, want the file's", cfg.SHA256())
	}
	if p := cfg.Drills.Canaries[0].Person(); p.EmployeeID != "C-1" || p.Status != "active" {
		t.Errorf("canary person %+v", p)
	}
}
