package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/demo"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reports/xlsx"
)

// Issue 16 part 3: with policy.holds.require_approval a hold is a request
// until someone else approves it; an exemption added from the command line
// is too. Both steps are audited, a requested hold or exemption changes
// nothing, an approved one applies; hold list, exempt list and the
// workbook name requester and approver.
func TestTwoPersonOverrides(t *testing.T) {
	dir := t.TempDir()
	if err := demo.New(dir).WriteDay(1); err != nil {
		t.Fatal(err)
	}
	body := strings.Replace(demo.Config, "  mode: report\n", "  mode: report\n  holds: {require_approval: true}\n", 1)
	if body == demo.Config {
		t.Fatal("the demo config has no policy.mode line")
	}
	cfg := filepath.Join(dir, "schedule.yaml")
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	reportOut := filepath.Join(dir, "report")
	if code, _, errs := cliRun("run", "--config", cfg, "--mode", "report", "--as-of", demo.Day1.Add(-time.Hour).Format(time.RFC3339), "--out", reportOut); code != exitOK && code != exitGuard {
		t.Fatalf("report run: exit %d %s", code, errs)
	}
	// The account to exempt: another leaver the directory would disable.
	var exempted string
	for _, f := range readFindings(t, filepath.Join(reportOut, "findings.json")).Findings {
		if f.Target == "directory" && f.AccountID != "u0012" && f.Disposition == reconcile.AutoRevoke && (f.Kind == reconcile.TerminatedActive || f.Kind == reconcile.SuspendedActive) {
			exempted = f.AccountID
			break
		}
	}
	if exempted == "" {
		t.Fatal("the demo has a single leaver on the directory")
	}
	until := time.Now().AddDate(0, 0, 7).Format("2006-01-02")

	code, out, errs := cliRun("hold", "add", "--config", cfg, "--target", "directory", "--account", "given12", "--reason", "legal hold", "--until", until, "--by", "counsel@example.com")
	if code != exitOK || !strings.Contains(out, "hold 1 requested by counsel@example.com") || !strings.Contains(out, "accessrecon hold approve 1 --config "+cfg+" --by NAME") {
		t.Fatalf("hold add under require_approval: exit %d %s %s", code, out, errs)
	}
	if _, out, _ := cliRun("hold", "list", "--config", cfg); !strings.Contains(out, "REQUESTED: not in effect until approved") {
		t.Fatalf("hold list does not show the request:\n%s", out)
	}
	// Not in effect: the dry run plans u0012's disable, not a hold.
	if _, out, _ := cliRun("run", "--config", cfg, "--dry-run", "--as-of", demo.Day1.Format(time.RFC3339), "--out", filepath.Join(dir, "dry")); strings.Contains(out, "HELD") {
		t.Fatalf("a requested hold shows in the dry run's plan as held:\n%s", out)
	}

	code, out, errs = cliRun("exempt", "add", "--config", cfg, "--target", "directory", "--account", exempted, "--reason", "handover until month end", "--until", until, "--by", "it-lead@example.com")
	if code != exitOK || !strings.Contains(out, "exemption 1 requested by it-lead@example.com") {
		t.Fatalf("exempt add: exit %d %s %s", code, out, errs)
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"hold", "approve", "1", "--config", cfg, "--by", " Counsel@Example.com"}, exitFail, "hold approve: hold 1 was requested by counsel@example.com: the approver must be someone other than the requester (--by)"},
		{[]string{"hold", "approve", "7", "--config", cfg, "--by", "ciso@example.com"}, exitFail, "hold approve: no hold with id 7"},
		{[]string{"hold", "approve", "1", "--config", cfg, "--by", ""}, exitUsage, "hold approve: --by"},
		{[]string{"hold", "approve", "one", "--config", cfg, "--by", "ciso@example.com"}, exitUsage, `hold approve: ID "one"`},
		{[]string{"exempt", "approve", "1", "--config", cfg, "--by", "it-lead@example.com"}, exitFail, "exempt approve: exemption 1 was requested by it-lead@example.com: the approver must be someone other than the requester (--by)"},
		{[]string{"exempt", "add", "--config", cfg, "--target", "directory", "--account", "nobody", "--reason", "r", "--until", until, "--by", "x"}, exitFail, `exempt add: --account: "nobody" names no account`},
	} {
		if code, _, errs := cliRun(c.args...); code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, want %d with %q: %s", c.args, code, c.code, c.want, errs)
		}
	}
	if code, out, errs := cliRun("hold", "approve", "1", "--config", cfg, "--by", "ciso@example.com"); code != exitOK || !strings.Contains(out, "hold 1 approved by ciso@example.com (requested by counsel@example.com)") {
		t.Fatalf("hold approve: exit %d %s %s", code, out, errs)
	}
	if code, _, errs := cliRun("hold", "approve", "1", "--config", cfg, "--by", "cfo@example.com"); code != exitFail || !strings.Contains(errs, "already approved") {
		t.Fatalf("a second approval: exit %d %s", code, errs)
	}
	if code, out, errs := cliRun("exempt", "approve", "1", "--config", cfg, "--by", "cfo@example.com"); code != exitOK || !strings.Contains(out, "exemption 1 approved by cfo@example.com (requested by it-lead@example.com)") {
		t.Fatalf("exempt approve: exit %d %s %s", code, out, errs)
	}
	if _, out, _ := cliRun("hold", "list", "--config", cfg); !regexpLine(out, "1", "u0012", "given12", "counsel@example.com", "ciso@example.com", "active") {
		t.Fatalf("hold list does not show requester and approver:\n%s", out)
	}
	if _, out, _ := cliRun("exempt", "list", "--config", cfg); !regexpLine(out, "1", exempted, "it-lead@example.com", "cfo@example.com", "active") {
		t.Fatalf("exempt list does not show requester and approver:\n%s", out)
	}

	enforceOut := filepath.Join(dir, "enforce")
	if code, _, errs := cliRun("run", "--config", cfg, "--as-of", demo.Day1.Format(time.RFC3339), "--out", enforceOut); code != exitOK {
		t.Fatalf("enforce run: exit %d %s", code, errs)
	}
	state := directoryState(t, dir)
	if !state["u0012"] || !state[exempted] {
		t.Fatalf("the held u0012 (enabled %v) or the exempted %s (enabled %v) was disabled", state["u0012"], exempted, state[exempted])
	}
	ok := false
	for _, f := range readFindings(t, filepath.Join(enforceOut, "findings.json")).Findings {
		if f.AccountID == exempted && f.Target == "directory" {
			ok = f.Disposition == reconcile.Exempt && f.Exemption != nil && f.Exemption.Approver == "cfo@example.com"
		}
	}
	if !ok {
		t.Fatalf("%s's finding is not exempt by cfo@example.com's approval", exempted)
	}
	_, audit, _ := cliRun("audit", "export", "--config", cfg)
	for _, want := range []string{`"type":"hold_requested","actor":"counsel@example.com"`, `"type":"hold_approved","actor":"ciso@example.com"`,
		`"type":"exemption_requested","actor":"it-lead@example.com"`, `"type":"exemption_approved","actor":"cfo@example.com"`,
		`"type":"exemption_applied","actor":"cfo@example.com"`, `"type":"hold_applied","actor":"counsel@example.com"`,
		`"type":"self_approval_refused","actor":"Counsel@Example.com"`, `"type":"self_approval_refused","actor":"it-lead@example.com"`} {
		if !strings.Contains(audit, want) {
			t.Errorf("the audit trail has no %s", want)
		}
	}

	books, _ := filepath.Glob(filepath.Join(enforceOut, "*.xlsx"))
	if len(books) != 1 {
		t.Fatalf("workbooks in %s: %v", enforceOut, books)
	}
	f, err := excelize.OpenFile(books[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(xlsx.SheetExemptions)
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string) int {
		for _, r := range rows {
			if i := slices.Index(r, name); i >= 0 {
				return i
			}
		}
		t.Fatalf("the %s sheet has no %q column", xlsx.SheetExemptions, name)
		return -1
	}
	approverCol, requesterCol := col("Approver"), col("Requested by")
	var hold, exemption bool
	for _, r := range rows {
		if len(r) <= max(approverCol, requesterCol) {
			continue
		}
		switch {
		case r[0] == "hold" && slices.Contains(r, "u0012"):
			hold = r[approverCol] == "ciso@example.com" && r[requesterCol] == "counsel@example.com"
		case r[0] == "exemption" && slices.Contains(r, exempted):
			exemption = r[approverCol] == "cfo@example.com" && r[requesterCol] == "it-lead@example.com"
		}
	}
	if !hold || !exemption {
		t.Fatalf("the workbook's %s sheet does not name requester and approver (hold %v, exemption %v):\n%v", xlsx.SheetExemptions, hold, exemption, rows)
	}
}

// regexpLine says whether some line of out holds every field, in order.
func regexpLine(out string, fields ...string) bool {
	for _, l := range strings.Split(out, "\n") {
		rest, ok := l, true
		for _, f := range fields {
			i := strings.Index(rest, f)
			if i < 0 {
				ok = false
				break
			}
			rest = rest[i+len(f):]
		}
		if ok {
			return true
		}
	}
	return false
}
