package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/accessrecon/accessrecon/reconcile/store"
)

// audit verify passes on the demo's trail; audit export gives every record,
// as JSON Lines that still carry their hashes, or as CEF lines for a SIEM.
func TestAuditVerifyAndExport(t *testing.T) {
	dir := copyDir(t, demoTemplate(t))
	cfg := filepath.Join(dir, "schedule.yaml")
	ctx := context.Background()

	var out, errb bytes.Buffer
	if code := run(ctx, []string{"audit", "verify", "--config", cfg}, &out, &errb); code != exitOK {
		t.Fatalf("audit verify: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "audit trail intact") {
		t.Fatalf("audit verify said %q", out.String())
	}

	out.Reset()
	if code := run(ctx, []string{"audit", "export", "--config", cfg}, &out, &errb); code != exitOK {
		t.Fatalf("audit export: exit %d: %s", code, errb.String())
	}
	var n int
	types := map[string]bool{}
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r store.AuditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("export line %d: %v", n+1, err)
		}
		if r.ComputeHash() != r.Hash {
			t.Fatalf("exported record %d does not match its hash", r.Seq)
		}
		n++
		types[r.Type] = true
	}
	for _, want := range []string{"run_started", "hr_status_seen", "plan_made", "action_requested", "target_response", "verification", "exemption_applied", "run_finished"} {
		if !types[want] {
			t.Errorf("no %s event in the demo's audit trail (have %v)", want, types)
		}
	}

	out.Reset()
	if code := run(ctx, []string{"audit", "export", "--config", cfg, "--format", "cef"}, &out, &errb); code != exitOK {
		t.Fatalf("audit export cef: exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != n {
		t.Fatalf("cef export has %d lines, jsonl %d", len(lines), n)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "CEF:0|accessrecon|accessrecon|") || !strings.Contains(l, "cs2Label=hash cs2=") {
			t.Fatalf("not a CEF line with the hash: %q", l)
		}
	}

	out.Reset()
	if code := run(ctx, []string{"audit", "export", "--config", cfg, "--since", "2999-01-01"}, &out, &errb); code != exitOK || out.Len() != 0 {
		t.Fatalf("export since the future: exit %d, %d bytes", code, out.Len())
	}
}

// findings shows the latest full run by default, most severe first, and any
// run asked for with --run.
func TestFindingsCommand(t *testing.T) {
	dir := copyDir(t, demoTemplate(t))
	cfg := filepath.Join(dir, "schedule.yaml")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"findings", "--config", cfg, "--json"}, &out, &errb); code != exitOK {
		t.Fatalf("findings: exit %d: %s", code, errb.String())
	}
	var got struct {
		Run      store.Run `json:"run"`
		Findings []struct {
			Severity string `json:"severity"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Run.ID != 2 || len(got.Findings) == 0 || got.Findings[0].Severity != "critical" {
		t.Fatalf("findings: run %d, %d findings, first %+v; want run 2, critical first", got.Run.ID, len(got.Findings), got.Findings[:min(1, len(got.Findings))])
	}
	out.Reset()
	if code := run(context.Background(), []string{"findings", "--config", cfg, "--run", "1"}, &out, &errb); code != exitOK || !strings.HasPrefix(out.String(), "run 1 ") {
		t.Fatalf("findings --run 1: exit %d: %q", code, out.String()[:min(80, out.Len())])
	}
}
