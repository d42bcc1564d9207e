package xlsx

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/targets"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/workbook.golden.gz from the current code")

// goldenResult is the run of the equivalence test: the hand-built sample
// (actions, exemptions, holds, collections, drift) and 800 generated
// findings of every kind, plus texts that wrap, break lines, need XML
// escaping, start or end with a space, and are empty.
func goldenResult() *reconcile.Result {
	res := bigResult(800)
	res.Run.Mode = "enforce"
	sample := sampleResult()
	res.Actions, res.Exemptions, res.Collections = sample.Actions, sample.Exemptions, sample.Collections
	res.Findings = append(res.Findings, sample.Findings...)
	res.Drift = append(res.Drift, sample.Drift...)
	odd := []string{
		"line one\nline two\n\nline four, which is long enough to wrap in a column of fifty characters at least twice over",
		" leading and trailing space ",
		"<tag> & \"quotes\" 'apostrophes' _x0041_ \t tab",
		"Ünïcødé naïve café — 日本語のテキスト",
		"CN=Very Long Distinguished Name Without Spaces,OU=Organisational Unit,OU=Another Unit,DC=example,DC=com",
		"",
	}
	for i, s := range odd {
		f := res.Findings[i*7]
		f.Reason, f.Username, f.DisplayName = s, s, s
		f.Evidence = reconcile.Evidence{{Key: "note", Value: s}, {Key: "z", Value: "last"}, {Key: "a", Value: ""}}
		f.JiraKey = s
		res.Drift[i*3].Detail = s
		res.Drift[i*3].Subject = s
	}
	res.Findings[3].Outcome = reconcile.OutcomeBlocked
	res.Findings[5].FirstSeen = time.Time{}
	// A leaver's account that is exempt (not on the SLA clock), and one
	// whose automatic steps are done but a person's step is open.
	exempt := *sample.Findings[0]
	exempt.Fingerprint, exempt.AccountID, exempt.Disposition = "bb01", "uid=jane2,ou=people", reconcile.Exempt
	exempt.Exemption = &reconcile.Exemption{Target: "ldap", AccountID: "uid=jane2,ou=people", Owner: "it-ops", Reason: "litigation", Approver: "ciso"}
	exempt.Outcome, exempt.RevokedAt = "", nil
	open := *sample.Findings[0]
	open.Fingerprint, open.AccountID = "bb02", "uid=jane3,ou=people"
	open.Actions = append(slices.Clone(open.Actions), reconcile.Step{Op: targets.CanDisable, Manual: "badge office"})
	res.Findings = append(res.Findings, &exempt, &open)
	return res
}

// TestWorkbookGolden: the workbook of goldenResult is, cell by cell (value,
// type, style and the style's definition), row height, column width and
// style, merged cells, panes, filters and print setup, the one the code
// wrote before the writing was made faster (testdata/workbook.golden.gz;
// -update-golden rewrites it).
func TestWorkbookGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "golden.xlsx")
	opts := Options{Trend: sampleTrend(), Holds: sampleHolds(), Now: asOf.Add(3 * time.Hour)}
	if err := Write(path, goldenResult(), opts); err != nil {
		t.Fatal(err)
	}
	got := dumpWorkbook(t, path)
	golden := filepath.Join("testdata", "workbook.golden.gz")
	if *updateGolden {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(got)
		zw.Close()
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	zf, err := os.Open(golden)
	if err != nil {
		t.Fatal(err)
	}
	defer zf.Close()
	zr, err := gzip.NewReader(zf)
	if err != nil {
		t.Fatal(err)
	}
	want, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if msg := firstDiff(want, got); msg != "" {
		t.Fatalf("workbook differs from %s: %s", golden, msg)
	}
}

// TestWorkbookGoldenSeesChanges: the dump the golden test compares sees a
// changed cell value, a changed style and a changed row height.
func TestWorkbookGoldenSeesChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "golden.xlsx")
	if err := Write(path, goldenResult(), Options{Trend: sampleTrend(), Holds: sampleHolds(), Now: asOf.Add(3 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	base := dumpWorkbook(t, path)
	for name, change := range map[string]func(f *excelize.File) error{
		"value":  func(f *excelize.File) error { return f.SetCellValue(SheetFindings, "N5", "another reason") },
		"number": func(f *excelize.File) error { return f.SetCellValue(SheetSLA, "J2", 1.5) },
		"style":  func(f *excelize.File) error { return f.SetCellStyle(SheetDrift, "B3", "B3", 1) },
		"height": func(f *excelize.File) error { return f.SetRowHeight(SheetActions, 4, 33) },
		"width":  func(f *excelize.File) error { return f.SetColWidth(SheetFindings, "C", "C", 11) },
	} {
		f, err := excelize.OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := change(f); err != nil {
			t.Fatal(err)
		}
		changed := filepath.Join(t.TempDir(), name+".xlsx")
		if err := f.SaveAs(changed); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if firstDiff(base, dumpWorkbook(t, changed)) == "" {
			t.Errorf("a changed %s is not seen", name)
		}
	}
}

func firstDiff(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := range min(len(w), len(g)) {
		if w[i] != g[i] {
			return fmt.Sprintf("line %d:\nwant %s\ngot  %s", i+1, w[i], g[i])
		}
	}
	if len(w) != len(g) {
		return fmt.Sprintf("%d lines, want %d", len(g), len(w))
	}
	return ""
}

// dumpWorkbook is every sheet of the workbook at path as text, one fact a
// line.
func dumpWorkbook(t *testing.T, path string) []byte {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	out := bufio.NewWriter(&buf)
	line := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	js := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	must := func(v any, err error) any {
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// A style is named by the order its definition is first met in: the
	// IDs excelize gives the severity styles vary from run to run (they
	// are made in a map's order), their definitions do not.
	styleNames, styleDefs := map[int]string{}, map[string]string{}
	var defs []string
	style := func(id int) string {
		if n, ok := styleNames[id]; ok {
			return n
		}
		def := js(must(f.GetStyle(id)))
		n, ok := styleDefs[def]
		if !ok {
			n = fmt.Sprintf("S%d", len(defs))
			styleDefs[def] = n
			defs = append(defs, def)
		}
		styleNames[id] = n
		return n
	}
	line("sheets %q active %d", f.GetSheetList(), f.GetActiveSheetIndex())
	names := f.GetDefinedName()
	slices.SortFunc(names, func(a, b excelize.DefinedName) int {
		return strings.Compare(a.Scope+"\x00"+a.Name, b.Scope+"\x00"+b.Name)
	})
	line("defined names %s", js(names))
	for _, sheet := range f.GetSheetList() {
		line("sheet %q", sheet)
		line("dimension %v", must(f.GetSheetDimension(sheet)))
		line("panes %s", js(must(f.GetPanes(sheet))))
		line("layout %s", js(must(f.GetPageLayout(sheet))))
		line("margins %s", js(must(f.GetPageMargins(sheet))))
		line("props %s", js(must(f.GetSheetProps(sheet))))
		line("view %s", js(must(f.GetSheetView(sheet, 0))))
		line("merged %s", js(must(f.GetMergeCells(sheet))))
		line("conditional %s", js(must(f.GetConditionalFormats(sheet))))
		line("validations %s", js(must(f.GetDataValidations(sheet))))
		line("tables %s", js(must(f.GetTables(sheet))))
		rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		width := 0
		for _, r := range rows {
			width = max(width, len(r))
		}
		width += 2
		for c := 1; c <= width; c++ {
			name, _ := excelize.ColumnNumberToName(c)
			st := must(f.GetColStyle(sheet, name)).(int)
			line("col %s width %v style %s", name, must(f.GetColWidth(sheet, name)), style(st))
		}
		for r := 1; r <= len(rows)+1; r++ {
			line("row %d height %v", r, must(f.GetRowHeight(sheet, r)))
			for c := 1; c <= width; c++ {
				cell, _ := excelize.CoordinatesToCellName(c, r)
				raw := must(f.GetCellValue(sheet, cell, excelize.Options{RawCellValue: true}))
				shown := must(f.GetCellValue(sheet, cell))
				typ := must(f.GetCellType(sheet, cell))
				st := must(f.GetCellStyle(sheet, cell)).(int)
				if raw == "" && st == 0 && typ == excelize.CellTypeUnset {
					continue
				}
				line("%s!%s type %v style %s raw %q shown %q", sheet, cell, typ, style(st), raw, shown)
			}
		}
	}
	for i, def := range defs {
		line("style S%d %s", i, def)
	}
	if err := out.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestWorkbookPartsStable: the same run's workbook written again has the
// same bytes in every part but [Content_Types].xml (excelize lists image
// types there in map order): no style or sheet depends on map order.
func TestWorkbookPartsStable(t *testing.T) {
	opts := Options{Trend: sampleTrend(), Holds: sampleHolds(), Now: asOf.Add(3 * time.Hour)}
	var first map[string][]byte
	for i := range 4 {
		path := filepath.Join(t.TempDir(), "stable.xlsx")
		if err := Write(path, goldenResult(), opts); err != nil {
			t.Fatal(err)
		}
		parts := zipParts(t, path)
		if i == 0 {
			first = parts
			continue
		}
		for name, b := range parts {
			if name != "[Content_Types].xml" && !bytes.Equal(b, first[name]) {
				t.Errorf("write %d: part %s differs from the first write's: %s", i+1, name, firstDiff(first[name], b))
			}
		}
	}
}
