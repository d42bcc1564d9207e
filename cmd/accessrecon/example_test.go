package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/accessrecon/accessrecon/reconcile"
)

// copyExample copies the root schedule.yaml and its data (under
// cmd/accessrecon/examples) into a temp dir, as in a clean clone.
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
	if err := os.CopyFS(filepath.Join(dir, "cmd", "accessrecon", "examples"), os.DirFS("examples")); err != nil {
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
	if err := os.WriteFile(filepath.Join(dir, "cmd", "accessrecon", "examples", "links.csv"), []byte("target,account_id,employee_id\nvpn,vpn-0003,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"run", "--config", filepath.Join(dir, "schedule.yaml"), "--dry-run", "--out", filepath.Join(dir, "out")}, &out, &errb)
	if code != exitFail || !strings.Contains(errb.String(), "links.csv:2:") {
		t.Fatalf("exit %d, stderr %q; want exit 1 naming links.csv:2", code, errb.String())
	}
}
