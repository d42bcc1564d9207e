package xlsx

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/accessrecon/accessrecon/reconcile"
)

// rowsTestValues are cell values as tables give them, with the text
// excelize treats specially: markup, white space at either end, control
// characters, invalid UTF-8, characters XML forbids, "_xHHHH_" sequences
// (and near misses), text beyond Excel's 32,767 UTF-16 units (cut inside a
// surrogate pair or not), string types, numbers, times and styled cells.
func rowsTestValues(rng *rand.Rand) []any {
	long := strings.Repeat("a", excelize.TotalCellChars-1) + "😀tail"
	pieces := []string{"", "a", "plain text", "Given1 Family1", "a&b", "<tag>", `"quoted"`, "it's", "tab\there", "line\nbreak", "cr\rhere",
		" lead", "trail ", "\tlead", "trail\n", "\x01ctl", "bad\xffutf8", "\ufffd literal", "\ufffe\uffff", "é ü ß 中文 😀", "_x0041_", "_x005F_",
		"_x005F_x0041_", "_x005F_xZZZZ_", "_xZZZZ_", "_x12", "a_x0041_b_x00e9_", "_xD800_", "x_x", "CN=VPN Users,OU=Groups,DC=example,DC=com",
		long, long[:excelize.TotalCellChars-2] + "😀", strings.Repeat("é", excelize.TotalCellChars+3), "accessrecon-rows-not-a-token"}
	times := []time.Time{time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), time.Date(2023, 7, 4, 13, 45, 12, 123456789, time.UTC),
		time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2099, 12, 31, 23, 59, 59, 999999999, time.UTC)}
	others := []any{0, 1, -7, 183612, 1 << 40, int64(-1 << 62), int32(5), uint8(200), uint64(1 << 63), true, false, []byte("bytes & <b>"),
		0.0, 0.17, -2.5, 1.0 / 3, 1e21, 1e-7, 123456789.123456789, 2.0 / 3 * 1e16, math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64,
		-math.MaxFloat64, math.SmallestNonzeroFloat64, reconcile.Kind("dormant"), struct{ A int }{3}}
	// Each value once, then at random.
	var out []any
	for _, p := range pieces {
		out = append(out, p)
	}
	out = append(out, others...)
	for _, t := range times {
		out = append(out, excelize.Cell{StyleID: 1, Value: t})
	}
	for range 400 {
		switch k := rng.IntN(12); {
		case k < 5:
			s := pieces[rng.IntN(len(pieces))]
			if rng.IntN(3) == 0 {
				s += pieces[rng.IntN(len(pieces))]
			}
			out = append(out, s)
		case k == 5:
			out = append(out, reconcile.Outcome(pieces[rng.IntN(len(pieces))]))
		case k == 6:
			out = append(out, others[rng.IntN(len(others))])
		case k == 7: // a time in a column with a style (the first two)
			out = append(out, excelize.Cell{StyleID: 1 + rng.IntN(2), Value: times[rng.IntN(len(times))]})
		case k == 8:
			out = append(out, nil)
		case k == 9:
			out = append(out, excelize.Cell{StyleID: rng.IntN(3), Value: pieces[rng.IntN(len(pieces))]})
		case k == 10:
			out = append(out, excelize.Cell{StyleID: 1 + rng.IntN(2), Value: []any{nil, 42, times[rng.IntN(len(times))]}[rng.IntN(3)]})
		default:
			out = append(out, reconcile.Severity("high"))
		}
	}
	return out
}

// zipParts are the parts of the workbook at path, unzipped, by name.
func zipParts(t *testing.T, path string) map[string][]byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	parts := map[string][]byte{}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		parts[zf.Name], err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return parts
}

// sheetXML is part (a worksheet's XML) of the workbook at path.
func sheetXML(t *testing.T, path, part string) []byte {
	t.Helper()
	b, ok := zipParts(t, path)[part]
	if !ok {
		t.Fatalf("%s has no %s", path, part)
	}
	return b
}

// rowFile writes the rows excelize's StreamWriter.SetRow writes for the
// same cells and heights, byte for byte, and save puts them in place of
// the placeholder: the sheet written both ways is the same part. (An
// excelize that encodes cells otherwise fails this test.)
func TestRowFileIsExcelizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	values := rowsTestValues(rng)
	const ncols = 7
	var rows [][]any
	var heights []float64
	for len(values) > 0 {
		n := min(len(values), 1+rng.IntN(ncols))
		rows = append(rows, values[:n])
		values = values[n:]
		heights = append(heights, []float64{0, 0, 15, 30, 45.5, excelize.MaxRowHeight}[rng.IntN(6)])
	}
	dir := t.TempDir()
	write := func(name string, viaRowFile bool) string {
		f := newFile(t.TempDir())
		defer f.Close()
		styles := []int{}
		for _, st := range []*excelize.Style{{Alignment: &excelize.Alignment{Vertical: "top"}}, {Alignment: &excelize.Alignment{WrapText: true}}, {NumFmt: 14}} {
			id, err := f.NewStyle(st)
			if err != nil {
				t.Fatal(err)
			}
			styles = append(styles, id)
		}
		sw, err := f.NewStreamWriter("Sheet1")
		if err != nil {
			t.Fatal(err)
		}
		cols := make([]int, ncols)
		for i := range cols {
			if i%3 != 2 { // some columns have no style
				cols[i] = styles[i%2]
				if err := sw.SetColStyle(i+1, i+1, cols[i]); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := sw.SetRow("A1", []any{"head"}); err != nil {
			t.Fatal(err)
		}
		var rfs []*rowFile
		if viaRowFile {
			rf, err := newRowFile(cols, func(rf *rowFile) error {
				for i, r := range rows {
					if err := rf.row(i+2, r, heights[i]); err != nil {
						return fmt.Errorf("row %d %q: %w", i+2, r, err)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			defer rf.Close()
			rfs = append(rfs, rf)
			if err := sw.SetRow("A2", []any{rf.token}); err != nil {
				t.Fatal(err)
			}
		} else {
			for i, r := range rows {
				cell, _ := excelize.CoordinatesToCellName(1, i+2)
				opts := []excelize.RowOpts{}
				if heights[i] > 0 {
					opts = append(opts, excelize.RowOpts{Height: heights[i]})
				}
				if err := sw.SetRow(cell, r, opts...); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := sw.Flush(); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := save(f, path, rfs...); err != nil {
			t.Fatal(err)
		}
		return path
	}
	want := sheetXML(t, write("excelize.xlsx", false), "xl/worksheets/sheet1.xml")
	got := sheetXML(t, write("rowfile.xlsx", true), "xl/worksheets/sheet1.xml")
	if !bytes.Equal(got, want) {
		i := 0
		for i < min(len(got), len(want)) && got[i] == want[i] {
			i++
		}
		t.Fatalf("the sheet differs from excelize's at byte %d:\nrowFile:  %.300q\nexcelize: %.300q", i, got[max(i-100, 0):], want[max(i-100, 0):])
	}
	if len(want) < 100000 {
		t.Fatalf("the sheet is %d bytes: the long texts are missing", len(want))
	}
}

// A value no table gives is refused, not written some other way (a time
// in a column without a style would need a style made for it).
func TestRowFileRefusesOtherValues(t *testing.T) {
	rf, err := newRowFile(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	if err := rf.row(excelize.TotalRows+1, []any{"x"}, 0); !errors.Is(err, excelize.ErrMaxRows) {
		t.Errorf("row %d: %v, want ErrMaxRows", excelize.TotalRows+1, err)
	}
	for _, v := range []any{float32(1.5), time.Minute, []excelize.RichTextRun{{Text: "x"}}, &excelize.Cell{Value: "x"}, excelize.Cell{Formula: "=1"},
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		excelize.Cell{StyleID: 1, Value: time.Date(1899, 1, 1, 0, 0, 0, 0, time.UTC)}} {
		if err := rf.row(2, []any{v}, 0); err == nil {
			t.Errorf("row of a %T: no error", v)
		}
	}
}

// An account named like a placeholder is text like any other, in every
// sheet; a workbook whose placeholder is lost is not written.
func TestPlaceholderLookalikes(t *testing.T) {
	res := sampleResult()
	fake := rowsTokenPrefix + strings.Repeat("0f", 16)
	for i := range res.Findings {
		res.Findings[i].DisplayName, res.Findings[i].Username = fake, fake
		res.Findings[i].Reason = fake + " " + fake[:len(fake)-3]
	}
	f, _ := writeSample(t, res)
	rs := rows(t, f, SheetFindings)
	if len(rs) != len(res.Findings)+1 || rs[1][col(t, rs, "Display name")] != fake {
		t.Fatalf("Findings sheet: %d rows, first %q", len(rs), rs[1])
	}
	rs = rows(t, f, SheetSLA)
	if len(rs) < 2 || !strings.Contains(strings.Join(rs[1], " "), fake) {
		t.Fatalf("SLA sheet does not show the name: %q", rs)
	}

	z := newParallelZip(io.Discard, 1)
	rf, err := newRowFile(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	z.rows = []*rowFile{rf}
	w, err := z.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(`<sheetData><row r="1"><c><is><t>` + fake + `</t></is></c></row></sheetData>`)); err != nil {
		t.Fatal(err)
	}
	if err := z.Close(); err == nil || !strings.Contains(err.Error(), "found no placeholder") {
		t.Fatalf("a zip without the placeholder of its rows: %v", err)
	}
}

// A container may have no writable temporary folder (a read-only root, as
// the Kubernetes example has): the workbook is written all the same, its
// temporary files made in its own folder, and nothing else is left there.
func TestWorkbookWithoutTmp(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "absent"))
	dir := t.TempDir()
	res := sampleResult()
	path := filepath.Join(dir, FileName(res))
	if err := Write(path, res, Options{}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || entries[0].Name() != FileName(res) {
		t.Fatalf("the folder holds %v (%v), want the workbook alone", entries, err)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if rs := rows(t, f, SheetFindings); len(rs) != len(res.Findings)+1 {
		t.Fatalf("Findings sheet: %d rows, want %d", len(rs), len(res.Findings)+1)
	}
}

// A table longer than a sheet can be is refused before anything is
// written (a sheet cut short would not say what it left out; the findings
// go on over more sheets instead: TestFindingsContinueOnMoreSheets).
func TestTableTooLong(t *testing.T) {
	dir := t.TempDir()
	w := &writer{f: newFile(dir)}
	defer w.f.Close()
	defer w.close()
	wrote := false
	err := w.table("Sheet1", []column{{"Fingerprint", 18}}, excelize.TotalRows, func(emit func([]any) error) error {
		wrote = true
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "Excel's limit is 1048576 rows") || wrote || len(w.rowFiles) != 0 {
		t.Fatalf("a table of %d rows: %v (rows asked for: %v)", excelize.TotalRows, err, wrote)
	}
	if err := w.table("Sheet1", []column{{"Fingerprint", 18}}, excelize.TotalRows-1, func(emit func([]any) error) error { return nil }); err != nil {
		t.Fatalf("a table of %d rows and its header: %v", excelize.TotalRows-1, err)
	}
}

// A table whose rows fail (written as the workbook is saved) fails the
// save with the sheet named, and leaves no file behind: half a workbook is
// not one.
func TestRowsThatFailLeaveNoWorkbook(t *testing.T) {
	dir := t.TempDir()
	w := &writer{f: newFile(dir)}
	defer w.f.Close()
	defer w.close()
	if _, err := w.f.NewSheet("Later"); err != nil {
		t.Fatal(err)
	}
	for _, sheet := range []string{"Sheet1", "Later"} {
		if err := w.table(sheet, []column{{"Fingerprint", 18}}, 3000, func(emit func([]any) error) error {
			for i := range 3000 {
				if sheet == "Later" && i == 2500 {
					return errors.New("the source of the rows failed")
				}
				if err := emit([]any{strings.Repeat("x", 100)}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "book.xlsx")
	err := save(w.f, path, w.rowFiles...)
	if err == nil || !strings.Contains(err.Error(), "sheet Later: the source of the rows failed") {
		t.Fatalf("save: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the folder holds %v after a failed save", entries)
	}
}

// Findings past what a sheet holds go on after it, on Findings (2),
// Findings (3)…, placed right after the first, each a full table (header,
// filter, frozen row); every finding is on exactly one, in order, and the
// Summary says where they continue. (A sheet holds 1,048,575 rows under its
// header; the test makes it hold 10.)
func TestFindingsContinueOnMoreSheets(t *testing.T) {
	res := bigResult(26)
	path := filepath.Join(t.TempDir(), FileName(res))
	if err := Write(path, res, Options{findingsPerSheet: 10}); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := slices.Insert(slices.Clone(Sheets), 2, "Findings (2)", "Findings (3)")
	if got := f.GetSheetList(); !slices.Equal(got, want) {
		t.Fatalf("sheets %q, want %q", got, want)
	}
	var fps []string
	for k, sheet := range []string{"Findings", "Findings (2)", "Findings (3)"} {
		rs := rows(t, f, sheet)
		if len(rs) != []int{11, 11, 7}[k] || rs[0][0] != "Fingerprint" {
			t.Fatalf("%s: %d rows, header %q", sheet, len(rs), rs[0])
		}
		for _, r := range rs[1:] {
			fps = append(fps, r[0])
		}
		last := map[int]string{0: "R11", 1: "R11", 2: "R7"}[k]
		if af := sheetXML(t, path, fmt.Sprintf("xl/worksheets/sheet%d.xml", sheetNumber(t, f, sheet))); !bytes.Contains(af, []byte(`<autoFilter ref="$A$1:$`+last[:1]+`$`+last[1:]+`"`)) ||
			!bytes.Contains(af, []byte(`topLeftCell="A2"`)) {
			t.Errorf("%s: no filter over its rows or no frozen header", sheet)
		}
	}
	for i, fp := range fps {
		if fp != res.Findings[i].Fingerprint {
			t.Fatalf("finding %d on the sheets is %s, want %s (%d on the sheets)", i, fp, res.Findings[i].Fingerprint, len(fps))
		}
	}
	if len(fps) != len(res.Findings) {
		t.Fatalf("%d findings on the sheets, want %d", len(fps), len(res.Findings))
	}
	summary := strings.Join(slices.Concat(rows(t, f, SheetSummary)...), "|")
	if !strings.Contains(summary, "(continued on Findings (2), Findings (3): a sheet holds 10)") {
		t.Errorf("the Summary does not say where the findings continue:\n%s", summary)
	}

	// One sheet when they fit, and no mention of more.
	res = bigResult(10)
	path = filepath.Join(t.TempDir(), FileName(res))
	if err := Write(path, res, Options{findingsPerSheet: 10}); err != nil {
		t.Fatal(err)
	}
	g, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if got := g.GetSheetList(); !slices.Equal(got, Sheets) || len(rows(t, g, SheetFindings)) != 11 {
		t.Fatalf("10 findings, 10 to a sheet: sheets %q", got)
	}
}

// sheetNumber is the N of sheet's part xl/worksheets/sheetN.xml.
func sheetNumber(t *testing.T, f *excelize.File, sheet string) int {
	t.Helper()
	for id, name := range f.GetSheetMap() {
		if name == sheet {
			return id
		}
	}
	t.Fatalf("no sheet %s", sheet)
	return 0
}

// Rows written in parts side by side are byte for byte the rows one
// rowFile writes, however many parts and goroutines (a part of a few rows,
// a last part short, more goroutines than parts).
func TestRowPartsAreOneRowFile(t *testing.T) {
	values := rowsTestValues(rand.New(rand.NewPCG(3, 4)))
	day := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	row := func(i int) []any {
		return []any{values[i%len(values)], fmt.Sprint("row ", i), i, excelize.Cell{StyleID: 1, Value: day.AddDate(0, 0, -i%40)}, values[(7*i)%len(values)]}
	}
	cols := []int{1, 1, 0, 2, 1}
	height := func(i int) float64 { return float64(15 * (i % 3)) }
	for _, n := range []int{0, 1, partRows - 1, partRows, partRows + 1, 3*partRows + 17} {
		serial, err := newRowFile(cols, func(rf *rowFile) error {
			for i := range n {
				if err := rf.row(i+2, row(i), height(i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if err := serial.writeRows(&want); err != nil {
			t.Fatal(err)
		}
		serial.Close()
		for _, workers := range []int{1, 2, 3, 8} {
			rf, err := newRowFile(cols, nil)
			if err != nil {
				t.Fatal(err)
			}
			rf.split = &rowParts{n: n, part: func(own *rowFile, lo, hi int) error {
				if own == rf {
					return errors.New("a part written on the shared rowFile")
				}
				for i := lo; i < hi; i++ {
					if err := own.row(i+2, row(i), height(i)); err != nil {
						return err
					}
				}
				return nil
			}}
			var got bytes.Buffer
			if err := rf.writeParts(&got, workers); err != nil {
				t.Fatalf("%d rows, %d workers: %v", n, workers, err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("%d rows, %d workers: %d bytes differ from one rowFile's %d", n, workers, got.Len(), want.Len())
			}
		}
	}
}

// A part that fails, or a writer that does, ends the rows with that error:
// what was written is the parts before, whole and in order, and every
// goroutine has returned (the test would hang otherwise).
func TestRowPartsFail(t *testing.T) {
	const n = 10 * partRows
	line := func(i int) []any { return []any{fmt.Sprint("row ", i)} }
	var want bytes.Buffer
	for i := range 4 * partRows {
		fmt.Fprintf(&want, `<row r="%d"><c r="A%d" t="inlineStr"><is><t>row %d</t></is></c></row>`, i+2, i+2, i)
	}
	boom := errors.New("the source of the rows failed")
	for _, workers := range []int{1, 2, 4} {
		rf, err := newRowFile(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		rf.split = &rowParts{n: n, part: func(own *rowFile, lo, hi int) error {
			for i := lo; i < hi; i++ {
				if i == 4*partRows+10 {
					return boom
				}
				if err := own.row(i+2, line(i), 0); err != nil {
					return err
				}
			}
			return nil
		}}
		var got bytes.Buffer
		if err := rf.writeParts(&got, workers); !errors.Is(err, boom) {
			t.Fatalf("%d workers: %v, want the part's error", workers, err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("%d workers: %d bytes written before the failed part, want the %d of the parts before it", workers, got.Len(), want.Len())
		}
		rf.split = &rowParts{n: n, part: func(own *rowFile, lo, hi int) error {
			for i := lo; i < hi; i++ {
				if err := own.row(i+2, line(i), 0); err != nil {
					return err
				}
			}
			return nil
		}}
		writes := 0
		err = rf.writeParts(writerFunc(func(b []byte) (int, error) {
			if writes++; writes == 3 {
				return 0, boom
			}
			return len(b), nil
		}), workers)
		if !errors.Is(err, boom) || writes != 3 {
			t.Fatalf("%d workers, a writer failing on its third write: %v after %d writes", workers, err, writes)
		}
	}
}

// The Findings sheet, written in parts side by side, holds every finding
// once, in order, on the row its place gives it.
func TestFindingsSheetInParts(t *testing.T) {
	res := bigResult(2*partRows + 6)
	path := filepath.Join(t.TempDir(), FileName(res))
	if err := Write(path, res, Options{}); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rs := rows(t, f, SheetFindings)
	if len(rs) != len(res.Findings)+1 {
		t.Fatalf("%d rows, want %d findings and the header", len(rs), len(res.Findings))
	}
	for i, r := range rs[1:] {
		if r[0] != res.Findings[i].Fingerprint {
			t.Fatalf("row %d holds %s, want finding %d, %s", i+2, r[0], i, res.Findings[i].Fingerprint)
		}
	}
	sheet := sheetXML(t, path, fmt.Sprintf("xl/worksheets/sheet%d.xml", sheetNumber(t, f, SheetFindings)))
	if n := bytes.Count(sheet, []byte("<row ")); n != len(rs) {
		t.Fatalf("%d rows in the sheet's XML, want %d", n, len(rs))
	}
}
