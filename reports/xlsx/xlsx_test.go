package xlsx

import (
	"archive/zip"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/targets"
)

func TestFileName(t *testing.T) {
	res := sampleResult()
	if got, want := FileName(res), "accessrecon-2026-03-15-17.xlsx"; got != want {
		t.Fatalf("FileName = %q, want %q", got, want)
	}
}

// writeSample writes the sample workbook and opens it for reading.
func writeSample(t *testing.T, res *reconcile.Result) (*excelize.File, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), FileName(res))
	if err := Write(path, res, Options{Trend: sampleTrend(), Holds: sampleHolds(), Now: asOf.Add(time.Hour)}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("open written workbook: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f, path
}

func rows(t *testing.T, f *excelize.File, sheet string) [][]string {
	t.Helper()
	rs, err := f.GetRows(sheet)
	if err != nil {
		t.Fatalf("GetRows(%s): %v", sheet, err)
	}
	return rs
}

// col finds a header's column index in row 1 of a table sheet.
func col(t *testing.T, rs [][]string, title string) int {
	t.Helper()
	i := slices.Index(rs[0], title)
	if i < 0 {
		t.Fatalf("no column %q in header %q", title, rs[0])
	}
	return i
}

func cellName(c, r int) string {
	n, _ := excelize.CoordinatesToCellName(c+1, r+1)
	return n
}

// rawNumber reads a cell's stored value and checks it is a number, not text.
func rawNumber(t *testing.T, f *excelize.File, sheet, cell string) float64 {
	t.Helper()
	typ, err := f.GetCellType(sheet, cell)
	if err != nil {
		t.Fatal(err)
	}
	if typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString || typ == excelize.CellTypeFormula {
		t.Fatalf("%s!%s is stored as type %v, want a number", sheet, cell, typ)
	}
	raw, err := f.GetCellValue(sheet, cell, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		t.Fatalf("%s!%s raw value %q is not a number", sheet, cell, raw)
	}
	return v
}

func TestWorkbook(t *testing.T) {
	res := sampleResult()
	// One report-mode target: two planned steps.
	res.Findings = append(res.Findings, &reconcile.Finding{Fingerprint: "aa07", Kind: reconcile.Reenabled, Severity: reconcile.High,
		Target: "wiki", AccountID: "w-3", Disposition: reconcile.AutoRevoke, Outcome: reconcile.OutcomePlanned, FirstSeen: asOf,
		Actions: []reconcile.Step{{Op: "disable", Auto: true}, {Op: "revoke_sessions", Auto: true}}})
	f, path := writeSample(t, res)

	if got := f.GetSheetList(); !slices.Equal(got, Sheets) {
		t.Fatalf("sheets = %q, want %q", got, Sheets)
	}

	wantHeader := map[string][]string{
		SheetFindings: {"Fingerprint", "Kind", "Severity", "Disposition", "Outcome", "Target", "Account", "Username", "Display name", "Employee ID",
			"Name", "HR status", "Job code", "Reason", "Evidence", "First seen", "Days open", "Jira key"},
		SheetActions:    {"Time", "Target", "Account", "Username", "Display name", "Action", "Status", "Verified", "Attempts", "Error", "Fingerprint"},
		SheetSLA:        {"Employee ID", "Name", "Kind", "Effective", "Target", "Account", "Username", "Revoked", "Elapsed", "Elapsed (h)", "Tier", "SLA", "Within SLA"},
		SheetDrift:      {"Side", "Target", "Subject", "Kind", "Detail"},
		SheetInventory:  {"Side", "Name", "Type", "Automation", "Capabilities", "Tier", "Accounts collected", "Enabled", "Status", "Error", "Duration (s)"},
		SheetExemptions: {"Type", "Target", "Account", "Username", "Display name", "Owner", "Reason", "Approver", "Expires", "Days left", "Status", "Requested by"},
	}
	wantRows := map[string]int{
		SheetFindings:   len(res.Findings),
		SheetActions:    len(res.Actions) + 2,
		SheetSLA:        3,
		SheetDrift:      len(res.Drift),
		SheetInventory:  len(res.Collections),
		SheetExemptions: len(res.Exemptions) + 1,
	}
	for sheet, head := range wantHeader {
		rs := rows(t, f, sheet)
		if !slices.Equal(rs[0], head) {
			t.Errorf("%s header = %q, want %q", sheet, rs[0], head)
		}
		if got := len(rs) - 1; got != wantRows[sheet] {
			t.Errorf("%s has %d data rows, want %d", sheet, got, wantRows[sheet])
		}
		panes, err := f.GetPanes(sheet)
		if err != nil || !panes.Freeze || panes.YSplit != 1 {
			t.Errorf("%s panes = %+v, %v; want header row frozen", sheet, panes, err)
		}
		pl, err := f.GetPageLayout(sheet)
		if err != nil || pl.Orientation == nil || *pl.Orientation != "landscape" || pl.FitToWidth == nil {
			t.Errorf("%s page layout = %+v, %v; want landscape, fit to width (see TestPrintLayout)", sheet, pl, err)
		}
	}
	filters := map[string]bool{}
	for _, d := range f.GetDefinedName() {
		if d.Name == "_xlnm._FilterDatabase" {
			filters[d.Scope] = true
		}
	}
	for _, s := range Sheets[1:] {
		if !filters[s] {
			t.Errorf("no autofilter on %s (defined names %+v)", s, f.GetDefinedName())
		}
	}

	// Findings: typed first-seen date and days open, severity fill, evidence.
	fr := rows(t, f, SheetFindings)
	fs, days, sev, ev := col(t, fr, "First seen"), col(t, fr, "Days open"), col(t, fr, "Severity"), col(t, fr, "Evidence")
	for i, fd := range res.Findings {
		r := i + 1
		if fr[r][0] != fd.Fingerprint {
			t.Fatalf("Findings row %d fingerprint %q, want %q", r, fr[r][0], fd.Fingerprint)
		}
		serial := rawNumber(t, f, SheetFindings, cellName(fs, r))
		got, err := excelize.ExcelDateToTime(serial, false)
		if err != nil || !got.Equal(fd.FirstSeen) {
			t.Errorf("Findings row %d first seen = %v (%v), want %v", r, got, err, fd.FirstSeen)
		}
		if fr[r][fs] != fd.FirstSeen.Format("2006-01-02") {
			t.Errorf("Findings row %d first seen shows %q", r, fr[r][fs])
		}
		wantDays := int(asOf.Sub(fd.FirstSeen).Hours() / 24)
		if d := rawNumber(t, f, SheetFindings, cellName(days, r)); int(d) != wantDays {
			t.Errorf("Findings row %d days open = %v, want %d", r, d, wantDays)
		}
	}
	if fr[4][days] != "120" {
		t.Errorf("orphan days open = %q, want 120", fr[4][days])
	}
	if fr[1][ev] != "enabled=true; hr_status=terminated" {
		t.Errorf("evidence = %q", fr[1][ev])
	}
	fills := map[string]string{"critical": "FF0000", "high": "FFA500", "medium": "FFFF00", "low": "D3D3D3"}
	for r := 1; r < len(fr); r++ {
		id, err := f.GetCellStyle(SheetFindings, cellName(sev, r))
		if err != nil {
			t.Fatal(err)
		}
		st, err := f.GetStyle(id)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Fill.Color) == 0 || !strings.EqualFold(st.Fill.Color[0], fills[fr[r][sev]]) {
			t.Errorf("severity %q at row %d has fill %v, want %s", fr[r][sev], r, st.Fill.Color, fills[fr[r][sev]])
		}
	}

	// Actions: executed ones then the planned steps.
	ar := rows(t, f, SheetActions)
	if ar[3][col(t, ar, "Action")] != "remove_from_group sales" || ar[3][col(t, ar, "Status")] != "failed" {
		t.Errorf("action row 3 = %q", ar[3])
	}
	if ar[4][col(t, ar, "Status")] != "planned" || ar[5][col(t, ar, "Action")] != "revoke_sessions" {
		t.Errorf("planned rows = %q / %q", ar[4], ar[5])
	}
	if v := rawNumber(t, f, SheetActions, cellName(col(t, ar, "Attempts"), 2)); v != 2 {
		t.Errorf("attempts = %v, want 2", v)
	}

	// SLA: yes, no, open.
	sr := rows(t, f, SheetSLA)
	within := col(t, sr, "Within SLA")
	if got := []string{sr[1][within], sr[2][within], sr[3][within]}; !slices.Equal(got, []string{"Yes", "No", "open"}) {
		t.Errorf("within SLA column = %q", got)
	}
	if h := rawNumber(t, f, SheetSLA, cellName(col(t, sr, "Elapsed (h)"), 2)); h != 2 {
		t.Errorf("elapsed hours of the crm revocation = %v, want 2", h)
	}

	// Inventory: automated vs manual, typed counts.
	ir := rows(t, f, SheetInventory)
	auto := col(t, ir, "Automation")
	if ir[2][auto] != "automated" || ir[4][auto] != "manual only" || ir[1][auto] != "n/a" {
		t.Errorf("automation column = %q %q %q", ir[1][auto], ir[2][auto], ir[4][auto])
	}
	if v := rawNumber(t, f, SheetInventory, cellName(col(t, ir, "Accounts collected"), 3)); v != 1300 {
		t.Errorf("ldap accounts = %v", v)
	}
	if v := rawNumber(t, f, SheetInventory, cellName(col(t, ir, "Duration (s)"), 3)); v != 4.2 {
		t.Errorf("ldap duration = %v, want 4.2", v)
	}

	// Exemptions & holds: the expired one is marked, days left typed.
	er := rows(t, f, SheetExemptions)
	status, left := col(t, er, "Status"), col(t, er, "Days left")
	if er[1][status] != "active" || er[2][status] != "EXPIRED" || er[3][0] != "hold" || er[3][status] != "active" {
		t.Errorf("exemption statuses = %q %q %q", er[1][status], er[2][status], er[3][status])
	}
	if v := rawNumber(t, f, SheetExemptions, cellName(left, 2)); v != -15 {
		t.Errorf("days left of the expired exemption = %v, want -15", v)
	}
	exp := rawNumber(t, f, SheetExemptions, cellName(col(t, er, "Expires"), 1))
	if d, _ := excelize.ExcelDateToTime(exp, false); !d.Equal(res.Exemptions[0].Expires.Time) {
		t.Errorf("expiry = %v", d)
	}

	checkSummary(t, f, res)

	// Two charts: findings by kind and the trend.
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	charts := 0
	for _, zf := range z.File {
		if strings.HasPrefix(zf.Name, "xl/charts/chart") {
			charts++
		}
	}
	if charts != 2 {
		t.Errorf("workbook has %d charts, want 2", charts)
	}
}

// summaryRow finds the row (0-based) whose column A is label, after row from.
func summaryRow(t *testing.T, rs [][]string, label string, from int) int {
	t.Helper()
	for i := from; i < len(rs); i++ {
		if len(rs[i]) > 0 && rs[i][0] == label {
			return i
		}
	}
	t.Fatalf("Summary has no row %q", label)
	return -1
}

func checkSummary(t *testing.T, f *excelize.File, res *reconcile.Result) {
	rs := rows(t, f, SheetSummary)
	get := func(label string) []string { return rs[summaryRow(t, rs, label, 0)] }
	if v := get("Status"); v[1] != string(reconcile.StatusGuardTripped) {
		t.Errorf("status row = %q", v)
	}
	if v := get("Guards tripped"); !strings.Contains(v[1], "max_revocations") {
		t.Errorf("guards row = %q", v)
	}
	if v := get("Open exceptions (need a person)"); v[1] != "4" {
		t.Errorf("open exceptions = %q, want 4 (manual_revoke, 2 review, planned auto_revoke)", v)
	}
	if v := get("As of"); v[1] != "2026-03-15 02:00" {
		t.Errorf("as of shows %q", v[1])
	}
	if v := get("ldap"); v[4] != "1300" {
		t.Errorf("ldap collection row = %q", v)
	}
	kt := summaryRow(t, rs, "Findings by kind and disposition", 0)
	if h := rs[kt+1]; !slices.Equal(h, []string{"Kind", "auto_revoke", "manual_revoke", "review", "exempt", "Total"}) {
		t.Errorf("kind table header = %q", h)
	}
	if v := rs[summaryRow(t, rs, "terminated_active", kt)]; !slices.Equal(v, []string{"terminated_active", "2", "0", "0", "0", "2"}) {
		t.Errorf("terminated_active row = %q", v)
	}
	if v := rs[summaryRow(t, rs, "Total", kt)]; !slices.Equal(v, []string{"Total", "3", "1", "2", "1", "7"}) {
		t.Errorf("total row = %q", v)
	}
	at := summaryRow(t, rs, "Open exceptions by age (first seen to as-of)", 0)
	var ages []string
	for _, b := range ageBuckets {
		ages = append(ages, rs[summaryRow(t, rs, b.label, at)][1])
	}
	// planned 0d, manual_revoke 45d, review 120d and 10d.
	if !slices.Equal(ages, []string{"1", "1", "1", "1"}) {
		t.Errorf("age buckets = %q", ages)
	}
	st := summaryRow(t, rs, "SLA compliance (HR effective time to verified revocation)", 0)
	all := rs[summaryRow(t, rs, "all tiers", st)]
	// Revoked 2, within 1, 50%, median (10m+120m)/2 = 65 min, worst 120, 1 open.
	if want := []string{"all tiers", "", "2", "1", "50.00%", "65.00", "120.00", "1"}; !slices.Equal(all, want) {
		t.Errorf("SLA all tiers row = %q, want %q", all, want)
	}
	if crit := rs[summaryRow(t, rs, "critical", st)]; crit[1] != "15 min" || crit[4] != "100.00%" {
		t.Errorf("SLA critical row = %q", crit)
	}
	if !strings.Contains(strings.Join(get("Saudi NCA Essential Cybersecurity Controls ECC-2:2024, control 1-9-5:"), ""), "1-9-5") {
		t.Error("no control reference")
	}
	tt := summaryRow(t, rs, "Open exceptions over the last 6 runs", 0)
	first, last := rs[tt+2], rs[tt+7]
	// Oldest first: run 12 (review 6 + manual 1), newest is this run (2 + 1).
	if first[0] != "12" || first[2] != "7" || last[0] != "17" || last[2] != "3" || last[1] != "2026-03-15" {
		t.Errorf("trend rows = %q ... %q", first, last)
	}
	for _, d := range SheetDescriptions {
		if v := get(d[0]); v[1] != d[1] {
			t.Errorf("sheet guide row %q = %q", d[0], v)
		}
	}
}

func TestWriteEmpty(t *testing.T) {
	res := &reconcile.Result{}
	res.Run.ID, res.Run.AsOf, res.Run.Status = 1, asOf, reconcile.StatusFailed
	path := filepath.Join(t.TempDir(), "empty.xlsx")
	if err := Write(path, res, Options{}); err != nil {
		t.Fatalf("Write of an empty run: %v", err)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, s := range Sheets[1:] {
		rs, err := f.GetRows(s)
		if err != nil || len(rs) != 1 {
			t.Errorf("%s: %d rows, %v; want the header only", s, len(rs), err)
		}
	}
}

func BenchmarkWrite100k(b *testing.B) {
	res := bigResult(100_000)
	dir := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(filepath.Join(dir, "big.xlsx"), res, Options{Trend: sampleTrend(), Now: asOf}); err != nil {
			b.Fatal(err)
		}
	}
	// B/op counts every allocation; the peak resident set (fixture and test
	// binary included) says what a run of this size needs.
	if st, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(st), "\n") {
			if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
				if kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))); err == nil {
					b.ReportMetric(float64(kb)/1024, "peak-RSS-MiB")
				}
			}
		}
	}
}

// People read accounts by name (issue 10.7): on Findings, Actions, SLA and
// Exemptions & holds, an account's username and display name stand beside
// its ID (an objectGUID here), also where the row comes from something
// that carries only the ID (an action, a revocation_failed finding, an
// exemption written with the username, a hold), and an action on a group
// names the group.
func TestNamesBesideAccountIDs(t *testing.T) {
	const guid = "0f8fad5b-d9cb-469f-a165-70867728950e"
	const vpn = "CN=VPN Users,OU=Groups,DC=corp,DC=example"
	res := sampleResult()
	res.Findings = append(res.Findings,
		&reconcile.Finding{Fingerprint: "bb01", Kind: reconcile.TerminatedActive, Severity: reconcile.Critical, Target: "ad", AccountID: guid,
			Username: "noura.aziz", DisplayName: "Noura Aziz", Disposition: reconcile.AutoRevoke, Outcome: reconcile.OutcomePlanned, FirstSeen: asOf,
			EffectiveAt: tp(asOf.Add(-time.Hour)), Tier: "standard",
			Actions: []reconcile.Step{{Op: targets.CanRemoveFromGroup, Arg: vpn, Name: "VPN Users", Auto: true}}},
		&reconcile.Finding{Fingerprint: "bb02", Kind: reconcile.RevocationFailed, Severity: reconcile.High, Target: "ad", AccountID: guid,
			Disposition: reconcile.Review, FirstSeen: asOf},
		&reconcile.Finding{Fingerprint: "bb03", Kind: reconcile.PrivilegedUnapproved, Severity: reconcile.High, Target: "ad", AccountID: "guid-2",
			Username: "svc.backup", DisplayName: "Backup service", Disposition: reconcile.Exempt, FirstSeen: asOf,
			Exemption: &reconcile.Exemption{Target: "ad", AccountID: "svc.backup", Owner: "it", Reason: "backups", Approver: "ciso"}})
	res.Actions = append(res.Actions, store.Action{ID: 9, RunID: 17, Fingerprint: "bb01", Target: "ad", AccountID: guid, Op: "disable",
		Status: "done", Verified: true, Attempts: 1, RequestedAt: asOf})
	res.Exemptions = append(res.Exemptions, reconcile.Exemption{Target: "ad", AccountID: "svc.backup", Owner: "it", Reason: "backups",
		Approver: "ciso", Expires: reconcile.Date{Time: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)}})
	path := filepath.Join(t.TempDir(), "names.xlsx")
	holds := append(sampleHolds(), store.Hold{ID: 2, Target: "ad", AccountID: guid, Reason: "legal", Until: asOf.Add(48 * time.Hour), CreatedBy: "alice"})
	if err := Write(path, res, Options{Holds: holds, Now: asOf}); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// find returns the rows of sheet whose column key holds value.
	find := func(sheet, key, value string) (out [][]string, get func(r []string, col string) string) {
		rs := rows(t, f, sheet)
		get = func(r []string, c string) string {
			i := col(t, rs, c)
			if i < len(r) {
				return r[i]
			}
			return ""
		}
		for _, r := range rs[1:] {
			if get(r, key) == value {
				out = append(out, r)
			}
		}
		return out, get
	}
	check := func(sheet string, rows [][]string, get func([]string, string) string, user, display string, n int) {
		t.Helper()
		if len(rows) != n {
			t.Fatalf("%s: %d rows of the account, want %d", sheet, len(rows), n)
		}
		for _, r := range rows {
			if get(r, "Username") != user || get(r, "Display name") != display {
				t.Errorf("%s row %q: want username %q, display name %q", sheet, r, user, display)
			}
		}
	}
	fr, get := find(SheetFindings, "Account", guid)
	check(SheetFindings, fr, get, "noura.aziz", "Noura Aziz", 2)
	ar, get := find(SheetActions, "Account", guid)
	check(SheetActions, ar, get, "noura.aziz", "Noura Aziz", 2)
	if got := get(ar[1], "Action"); got != "remove_from_group VPN Users ("+vpn+")" {
		t.Errorf("planned group removal reads %q", got)
	}
	sr, get := find(SheetSLA, "Account", guid)
	if len(sr) != 1 || get(sr[0], "Username") != "noura.aziz" {
		t.Errorf("SLA rows of the account %q, want one with username noura.aziz", sr)
	}
	er, get := find(SheetExemptions, "Account", guid)
	check(SheetExemptions, er, get, "noura.aziz", "Noura Aziz", 1)
	er, get = find(SheetExemptions, "Account", "svc.backup")
	check(SheetExemptions, er, get, "svc.backup", "Backup service", 1)
}

// The Sources section says, for each person several HR sources report,
// which record the run used and why, and the run metadata the zone HR
// dates were read in (issue 18).
func TestSummaryHRData(t *testing.T) {
	res := sampleResult()
	res.Timezone = "Asia/Riyadh"
	res.HRResolutions = []reconcile.HRResolution{
		{EmployeeID: "E2", Winner: "employees", Rule: reconcile.RuleConversion, Reason: "employees's current spell started last"},
		{EmployeeID: "E3", Rule: reconcile.RuleConflict, Reason: "the records disagree on a current status"},
	}
	f, _ := writeSample(t, res)
	rs := rows(t, f, SheetSummary)
	if v := rs[summaryRow(t, rs, "Time zone of HR dates", 0)]; v[1] != "Asia/Riyadh" {
		t.Errorf("time zone row = %q", v)
	}
	at := summaryRow(t, rs, "People reported by more than one HR source", 0)
	if h := rs[at+1]; !slices.Equal(h[:4], []string{"Employee ID", "Record used", "Rule", "Why"}) {
		t.Errorf("header = %q", h)
	}
	if v := rs[summaryRow(t, rs, "E2", at)]; !slices.Equal(v[:4], []string{"E2", "employees", "conversion", "employees's current spell started last"}) {
		t.Errorf("E2 row = %q", v)
	}
	if v := rs[summaryRow(t, rs, "E3", at)]; v[1] != "none (conflict)" || v[2] != "conflict" {
		t.Errorf("E3 row = %q", v)
	}
	if summaryRow(t, rs, "E3", at) > summaryRow(t, rs, "E2", at) {
		t.Error("the conflict is not listed first")
	}

	// An HRIS migration lists everyone: the rows stop, with a count.
	res.HRResolutions = nil
	for i := range maxHRResolutions + 5 {
		res.HRResolutions = append(res.HRResolutions, reconcile.HRResolution{EmployeeID: fmt.Sprintf("M%05d", i), Winner: "workday", Rule: reconcile.RulePriority, Reason: "priority"})
	}
	f, _ = writeSample(t, res)
	rs = rows(t, f, SheetSummary)
	summaryRow(t, rs, "… and 5 more", 0)
}

// Issue 10 item 3: the Summary says whether the run can be trusted.
func TestSummarySaysWhetherTrusted(t *testing.T) {
	for _, tc := range []struct {
		guards []reconcile.Guard
		want   string
	}{
		{nil, "yes"},
		{[]reconcile.Guard{{Kind: reconcile.GuardHRShrink, Reason: "HR has 31 people"}}, "NO: a safety rail tripped"},
	} {
		res := sampleResult()
		res.Guards = tc.guards
		path := filepath.Join(t.TempDir(), "book.xlsx")
		if err := Write(path, res, Options{Now: asOf}); err != nil {
			t.Fatal(err)
		}
		f, err := excelize.OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rows, _ := f.GetRows(SheetSummary)
		f.Close()
		got := ""
		for _, r := range rows {
			if len(r) > 1 && r[0] == "Trusted" {
				got = r[1]
			}
		}
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("guards %v: Trusted = %q, want %q…", tc.guards, got, tc.want)
		}
	}
}

// A row is as tall as its text wraps word by word: a step naming a DN took
// four lines of the Steps column in LibreOffice, not the three its length
// alone suggests, and the fourth was cut off.
func TestWrappedLines(t *testing.T) {
	for _, c := range []struct {
		text string
		per  int
		want int
	}{
		{"", 24, 1},
		{"revoke_sessions: manual", 24, 1},
		{"disable: done, verified", 24, 1},
		{"remove_from_group sales: done, verified", 24, 2},
		{"remove_from_group cn=canary-sales,ou=groups,dc=example,dc=com: done, verified", 24, 4},
		{"remove_from_group 0964e00e-ea84-4f69-8f30-ad10842508c5: done, verified", 24, 4},
		{"abcdefghij", 5, 2},
		{"abcdefghijk lm", 5, 3},
	} {
		if got := wrappedLines(c.text, c.per); got != c.want {
			t.Errorf("wrappedLines(%q, %d) = %d, want %d", c.text, c.per, got, c.want)
		}
	}
	cols := []column{{"Steps", 24}, {"Drill", 6}}
	if got := textLines(cols, []any{"remove_from_group cn=canary-sales,ou=groups,dc=example,dc=com: done, verified\ndisable: done, verified", "a very long text in a column that does not wrap"}); got != 5 {
		t.Errorf("textLines = %d, want 5 (4 + 1; the unwrapped column counts for nothing)", got)
	}
	// A leaver with a hundred accounts: the row is as tall as a row may be.
	many := strings.Repeat("directory uid=someone,ou=people,dc=example,dc=com\n", 100)
	if got := textLines(cols, []any{many}); float64(got)*rowPoints > excelize.MaxRowHeight || got < 20 {
		t.Errorf("textLines of 100 lines = %d: %v points, want at most %d", got, float64(got)*rowPoints, excelize.MaxRowHeight)
	}
}
