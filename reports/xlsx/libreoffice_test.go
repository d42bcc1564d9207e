package xlsx

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// csvFilter exports every sheet (-1) as UTF-8 CSV, cells as shown.
const csvFilter = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"

// soffice returns the LibreOffice binary or skips (fails under
// ACCESSRECON_REQUIRE_INTEGRATION=1) when it is not installed.
func soffice(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("soffice")
	if err != nil {
		msg := "soffice (LibreOffice) not on PATH; install libreoffice-calc-nogui to run this test"
		if os.Getenv("ACCESSRECON_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// convert runs LibreOffice headless with a private profile.
func convert(t *testing.T, bin, to, outDir, book string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	profile := "file://" + filepath.Join(t.TempDir(), "lo-profile")
	cmd := exec.CommandContext(ctx, bin, "-env:UserInstallation="+profile, "--headless", "--convert-to", to, "--outdir", outDir, book)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	if err := cmd.Run(); err != nil {
		t.Fatalf("soffice --convert-to %s: %v\n%s", to, err, out.String())
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("LibreOffice wrote no %s: %v", filepath.Base(path), err)
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	rs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rs
}

func TestLibreOffice(t *testing.T) {
	bin := soffice(t)
	res := sampleResult()
	dir := t.TempDir()
	book := filepath.Join(dir, "book.xlsx")
	if err := Write(book, res, Options{Trend: sampleTrend(), Holds: sampleHolds(), Now: asOf.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	convert(t, bin, csvFilter, out, book)

	sheets := map[string][][]string{}
	for _, s := range Sheets {
		sheets[s] = readCSV(t, filepath.Join(out, "book-"+s+".csv"))
	}
	want := map[string]int{SheetFindings: len(res.Findings), SheetActions: len(res.Actions), SheetSLA: 3,
		SheetDrift: len(res.Drift), SheetInventory: len(res.Collections), SheetExemptions: len(res.Exemptions) + 1}
	for s, n := range want {
		if got := len(sheets[s]) - 1; got != n {
			t.Errorf("LibreOffice sees %d data rows on %s, want %d", got, s, n)
		}
	}
	fr := sheets[SheetFindings]
	fs, days := slices.Index(fr[0], "First seen"), slices.Index(fr[0], "Days open")
	if fs < 0 || days < 0 {
		t.Fatalf("Findings header as LibreOffice sees it: %q", fr[0])
	}
	// The CSV filter writes values, not as shown: a date-time proves a date cell.
	if fr[4][fs] != "2025-11-15 02:00:00" || fr[4][days] != "120" || fr[4][0] != "aa04" {
		t.Errorf("orphan row as LibreOffice shows it: %q", fr[4])
	}
	if er := sheets[SheetExemptions]; er[2][slices.Index(er[0], "Status")] != "EXPIRED" || er[2][slices.Index(er[0], "Expires")] != "2026-03-01" {
		t.Errorf("expired exemption row: %q", er[2])
	}
	sum := sheets[SheetSummary]
	var found bool
	for _, r := range sum {
		if len(r) > 5 && r[0] == "Total" && r[5] == "6" {
			found = true
		}
	}
	if !found {
		t.Errorf("LibreOffice shows no Total row of 6 findings on Summary")
	}

	convert(t, bin, "pdf", out, book)
	pdf, err := os.ReadFile(filepath.Join(out, "book.pdf"))
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Fatalf("no PDF: %v", err)
	}
	if pdfinfo, err := exec.LookPath("pdfinfo"); err == nil {
		info, err := exec.Command(pdfinfo, filepath.Join(out, "book.pdf")).Output()
		if err != nil {
			t.Fatal(err)
		}
		// One page per sheet at least (each fits one page wide).
		for _, l := range strings.Split(string(info), "\n") {
			if v, ok := strings.CutPrefix(l, "Pages:"); ok {
				if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil || n < len(Sheets) {
					t.Errorf("PDF has %q pages, want at least %d", v, len(Sheets))
				}
			}
		}
	}

	if pages := os.Getenv("ACCESSRECON_XLSX_PAGES"); pages != "" {
		renderPages(t, bin, book, pages, "", Sheets)
	}
}

// renderPages writes page 1 of each sheet as PNG into dir (for people to
// look at): one single-sheet copy of the workbook per sheet, to PDF, to PNG.
func renderPages(t *testing.T, bin, book, dir, prefix string, sheets []string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range sheets {
		f, err := excelize.OpenFile(book)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range sheets {
			if o != s {
				if err := f.DeleteSheet(o); err != nil {
					t.Fatal(err)
				}
			}
		}
		name := strings.ReplaceAll(strings.ReplaceAll(s, " & ", "-"), " ", "-")
		one := filepath.Join(t.TempDir(), name+".xlsx")
		if err := f.SaveAs(one); err != nil {
			t.Fatal(err)
		}
		f.Close()
		convert(t, bin, "pdf", filepath.Dir(one), one)
		png := filepath.Join(dir, filepath.Base(strings.TrimSuffix(one, ".xlsx")))
		png = filepath.Join(dir, prefix+fmt.Sprint(i+1)+"-"+filepath.Base(png))
		if out, err := exec.Command("pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile",
			strings.TrimSuffix(one, ".xlsx")+".pdf", png).CombinedOutput(); err != nil {
			t.Fatalf("pdftoppm: %v\n%s", err, out)
		}
		t.Logf("rendered %s.png", png)
	}
}

// pdfPage is what pdftotext -bbox sees on one page: its words and their
// heights in points.
type pdfPage struct {
	words   []string
	heights []float64
}

var bboxWord = regexp.MustCompile(`<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)</word>`)

func pdfPages(t *testing.T, pdf string) []pdfPage {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		msg := "pdftotext (poppler-utils) not on PATH; install poppler-utils to run this test"
		if os.Getenv("ACCESSRECON_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	out, err := exec.Command(bin, "-bbox", pdf, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	var pages []pdfPage
	for _, p := range strings.Split(string(out), "<page ")[1:] {
		var pg pdfPage
		for _, m := range bboxWord.FindAllStringSubmatch(p, -1) {
			y0, _ := strconv.ParseFloat(m[1], 64)
			y1, _ := strconv.ParseFloat(m[2], 64)
			pg.words = append(pg.words, m[3])
			pg.heights = append(pg.heights, y1-y0)
		}
		pages = append(pages, pg)
	}
	return pages
}

// TestLibreOfficePrintsLegibly renders a workbook of 150 findings to PDF and
// reads the pages as a compliance officer would (issue 19 item 4): the text
// on every page is at least about 7 pt (a word box of 8.3 pt; 11 pt text at
// full size is 12.6), table pages repeat their header row, and no page
// holds more rows than a legible page can.
func TestLibreOfficePrintsLegibly(t *testing.T) {
	bin := soffice(t)
	dir := t.TempDir()
	book := filepath.Join(dir, "big.xlsx")
	if err := Write(book, bigResult(150), Options{Trend: sampleTrend(), Holds: sampleHolds(), Now: asOf}); err != nil {
		t.Fatal(err)
	}
	convert(t, bin, "pdf", dir, book)
	pages := pdfPages(t, filepath.Join(dir, "big.pdf"))
	fingerprint := regexp.MustCompile(`^[0-9a-f]{16}$`)
	withRows := 0
	for i, p := range pages {
		if len(p.heights) == 0 {
			continue
		}
		h := slices.Clone(p.heights)
		slices.Sort(h)
		if med := h[len(h)/2]; med < 8.3 {
			t.Errorf("page %d: median word height %.2f pt, want at least 8.3 (squeezed; first words %q)", i+1, med, p.words[:min(8, len(p.words))])
		}
		rows := 0
		for _, w := range p.words {
			if fingerprint.MatchString(w) {
				rows++
			}
		}
		if rows == 0 {
			continue
		}
		withRows++
		if !slices.Contains(p.words, "Fingerprint") {
			t.Errorf("page %d: %d table rows without the header row", i+1, rows)
		}
		if rows > 60 {
			t.Errorf("page %d: %d rows on one page: squeezed", i+1, rows)
		}
	}
	if withRows < 4 {
		t.Errorf("%d pages hold the rows of 150 findings and their actions, want them spread over several pages", withRows)
	}
}
