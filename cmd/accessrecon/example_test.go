package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/targets/aws"
	"github.com/accessrecon/accessrecon/targets/entra"
	"github.com/accessrecon/accessrecon/targets/github"
	"github.com/accessrecon/accessrecon/targets/google"
	"github.com/accessrecon/accessrecon/targets/okta"
	"github.com/accessrecon/accessrecon/targets/scim"
	"github.com/accessrecon/accessrecon/targets/slack"
	tsql "github.com/accessrecon/accessrecon/targets/sql"
	sshtarget "github.com/accessrecon/accessrecon/targets/ssh"
	"github.com/accessrecon/accessrecon/targets/x509ca"
)

// copyExample copies the root schedule.yaml and its examples/ into a temp dir.
func copyExample(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	body, err := os.ReadFile("../../schedule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "schedule.yaml"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dir, "examples"), os.DirFS("../../examples")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The root schedule.yaml runs as shipped: the confirmed link in links_file
// gives the service account an owner, so it is not an orphan, and the
// terminated person's accounts are found on both targets.
func TestRootExampleRunsWithLinks(t *testing.T) {
	dir := copyExample(t)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"run", "--config", filepath.Join(dir, "schedule.yaml"), "--dry-run", "--as-of", "2026-11-25", "--out", filepath.Join(dir, "out")}, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	f := readFindings(t, filepath.Join(dir, "out", "findings.json"))
	terminated := map[string]bool{}
	for _, x := range f.Findings {
		if x.Kind == reconcile.Orphaned && x.AccountID == "vpn-0003" {
			t.Errorf("vpn-0003 is linked to E001 in links.csv but was reported orphaned")
		}
		if x.Kind == reconcile.TerminatedActive && x.EmployeeID == "E002" {
			terminated[x.Target] = true
		}
	}
	if !terminated["vpn"] || !terminated["billing"] {
		t.Errorf("terminated E002 found on %v, want vpn and billing", terminated)
	}
	if !strings.Contains(out.String(), "plan (dry run: nothing was done)") {
		t.Errorf("dry run printed no plan: %q", out.String())
	}
}

func TestBadLinksFile(t *testing.T) {
	dir := copyExample(t)
	if err := os.WriteFile(filepath.Join(dir, "examples", "links.csv"), []byte("target,account_id,employee_id\nvpn,vpn-0003,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"run", "--config", filepath.Join(dir, "schedule.yaml"), "--dry-run", "--out", filepath.Join(dir, "out")}, &out, &errb)
	if code != exitFail || !strings.Contains(errb.String(), "links.csv:2:") {
		t.Fatalf("exit %d, stderr %q; want exit 1 naming links.csv:2", code, errb.String())
	}
}

// The commented target blocks of the root schedule.yaml are real examples:
// uncommented, each names a wired connector type and decodes strictly into
// that connector's configuration.
func TestRootExampleCommentedTargets(t *testing.T) {
	body, err := os.ReadFile("../../schedule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	cur := ""
	in := false
	for _, line := range strings.Split(string(body), "\n") {
		switch {
		case strings.HasPrefix(line, "targets:"):
			in = true
		case in && line != "" && !strings.HasPrefix(line, " "):
			in = false
		}
		l := "  " + strings.TrimPrefix(line, "  # ")
		switch {
		case in && strings.HasPrefix(line, "  # - name:"):
			if cur != "" {
				blocks = append(blocks, cur)
			}
			cur = l + "\n"
		case in && cur != "" && strings.HasPrefix(line, "  #   "):
			cur += l + "\n"
		case cur != "":
			blocks = append(blocks, cur)
			cur = ""
		}
	}
	if cur != "" {
		blocks = append(blocks, cur)
	}
	configs := map[string]func() any{
		"scim": func() any { return &scim.Config{} }, "entra": func() any { return &entra.Config{} },
		"google": func() any { return &google.Config{} }, "aws": func() any { return &aws.Config{} },
		"github": func() any { return &github.Config{} }, "slack": func() any { return &slack.Config{} },
		"okta": func() any { return &okta.Config{} }, "sql": func() any { return &tsql.Config{} },
		"ssh": func() any { return &sshtarget.Config{} }, "x509ca": func() any { return &x509ca.Config{} },
	}
	seen := map[string]bool{}
	for _, b := range blocks {
		var ts []TargetConfig
		if err := yaml.Unmarshal([]byte(b), &ts); err != nil || len(ts) != 1 {
			t.Fatalf("commented block does not parse: %v\n%s", err, b)
		}
		tc := ts[0]
		if !slices.Contains(targetTypes(), tc.Type) {
			t.Fatalf("commented block %s: type %q is not wired", tc.Name, tc.Type)
		}
		newCfg, ok := configs[tc.Type]
		if !ok {
			t.Fatalf("commented block %s: no config type known to this test for %q", tc.Name, tc.Type)
		}
		if err := decodeStrict(tc.Name, &tc.Config, newCfg()); err != nil {
			t.Errorf("commented block %s: %v", tc.Name, err)
		}
		seen[tc.Type] = true
	}
	for typ := range configs {
		if !seen[typ] {
			t.Errorf("schedule.yaml shows no commented %s target", typ)
		}
	}
}
