package xlsx

import (
	"archive/zip"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/accessrecon/accessrecon/reconcile/store"
)

// Every sheet prints on A4 landscape, fit to the width of as many pages as
// its columns need to stay legible (never squeezed onto one page: no
// fit-to-height), the header row repeated on every page, Reason and
// Evidence wrapped (issue 19 item 4). Checked in the file.
func TestPrintLayout(t *testing.T) {
	f, _ := writeSample(t, sampleResult())
	titles := map[string]string{}
	for _, d := range f.GetDefinedName() {
		if d.Name == "_xlnm.Print_Titles" {
			titles[d.Scope] = d.RefersTo
		}
	}
	wantWide := map[string]int{SheetSummary: 1, SheetFindings: 2, SheetActions: 1, SheetSLA: 1, SheetDrift: 1, SheetInventory: 1, SheetExemptions: 1, SheetLeavers: 1, SheetApprovals: 1, SheetDrills: 1, SheetUpcoming: 1}
	for _, s := range Sheets {
		pl, err := f.GetPageLayout(s)
		if err != nil {
			t.Fatal(err)
		}
		if pl.Size == nil || *pl.Size != paperA4 || pl.Orientation == nil || *pl.Orientation != "landscape" {
			t.Errorf("%s: paper %v %v, want A4 (9) landscape", s, deref(pl.Size), deref(pl.Orientation))
		}
		if pl.FitToHeight == nil || *pl.FitToHeight != 0 || pl.FitToWidth == nil || *pl.FitToWidth != wantWide[s] {
			t.Errorf("%s: fit to %v wide, %v tall; want %d wide, any number tall (0)", s, deref(pl.FitToWidth), deref(pl.FitToHeight), wantWide[s])
		}
		props, err := f.GetSheetProps(s)
		if err != nil || props.FitToPage == nil || !*props.FitToPage {
			t.Errorf("%s: fitToPage not set: %v", s, err)
		}
		if s != SheetSummary {
			if want := "'" + s + "'!$1:$1"; titles[s] != want {
				t.Errorf("%s: print titles %q, want %q", s, titles[s], want)
			}
		}
	}
	// The scale each table prints at (LibreOffice's column widths): at least
	// minScale, and a page wider would have been needed for less.
	for _, s := range Sheets[1:] {
		pl, err := f.GetPageLayout(s)
		if err != nil || pl.FitToWidth == nil {
			t.Fatalf("%s: no fit to width: %v", s, err)
		}
		pts, wide := 0.0, *pl.FitToWidth
		cols, err := f.GetCols(s)
		if err != nil {
			t.Fatal(err)
		}
		for i := range cols {
			name, _ := excelize.ColumnNumberToName(i + 1)
			w, err := f.GetColWidth(s, name)
			if err != nil {
				t.Fatal(err)
			}
			pts += columnPoints(w)
		}
		if scale := float64(wide) * pagePoints / pts; scale < minScale {
			t.Errorf("%s prints at %.2f of its size (%d pages wide), want at least %.2f", s, scale, wide, minScale)
		}
	}
	// Reason and Evidence wrap; so do long identifiers.
	fr := rows(t, f, SheetFindings)
	for _, c := range []string{"Reason", "Evidence", "Account"} {
		id, err := f.GetCellStyle(SheetFindings, cellName(col(t, fr, c), 1))
		if err != nil {
			t.Fatal(err)
		}
		st, err := f.GetStyle(id)
		if err != nil {
			t.Fatal(err)
		}
		if st.Alignment == nil || !st.Alignment.WrapText || st.Alignment.Vertical != "top" {
			t.Errorf("Findings %s cell alignment %+v, want wrapped, top", c, st.Alignment)
		}
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// Durations read in days, hours and minutes, never 277h23m6s (issue 19
// item 4).
func TestDurations(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{277*time.Hour + 23*time.Minute + 6*time.Second, "11 d 13 h"},
		{24 * time.Hour, "1 d"},
		{15 * time.Minute, "15 min"},
		{2 * time.Hour, "2 h"},
		{2*time.Hour + 5*time.Minute, "2 h 5 min"},
		{40 * time.Second, "40 s"},
		{23*time.Hour + 59*time.Minute + 50*time.Second, "1 d"},
		{59*time.Minute + 40*time.Second, "1 h"},
		{-90 * time.Minute, "-1 h 30 min"},
		{0, "0 s"},
	} {
		if got := duration(tc.d); got != tc.want {
			t.Errorf("duration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
	res := sampleResult()
	f, _ := writeSample(t, res)
	sr := rows(t, f, SheetSLA)
	el, sla := col(t, sr, "Elapsed"), col(t, sr, "SLA")
	got := []string{sr[1][el], sr[1][sla], sr[2][el], sr[2][sla], sr[3][el], sr[3][sla]}
	// Jane on ldap 10 min (critical 15 min), on crm 2 h (standard 1 h),
	// Sam open for 50 days (low 1 d).
	want := []string{"10 min", "15 min", "2 h", "1 h", "50 d so far", "1 d"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("SLA durations %q, want %q", got, want)
	}
	goDuration := regexp.MustCompile(`\d+h\d+m|\dm\d+s`)
	for _, s := range []string{SheetSummary, SheetSLA} {
		for _, r := range rows(t, f, s) {
			for _, c := range r {
				if goDuration.MatchString(c) {
					t.Errorf("%s shows a Go duration: %q", s, c)
				}
			}
		}
	}
}

// Chart titles and labels are black, not the default pale grey, and the
// trend has one point per run, labelled by run ID: two runs on one day are
// two points (issue 19 item 4).
func TestChartsReadable(t *testing.T) {
	res := sampleResult()
	trend := sampleTrend()
	// Run 18: a second run on the day of run 17, the run reported.
	same := trend[0]
	same.ID, same.AsOf = 18, res.Run.AsOf.Add(3*time.Hour)
	same.Counts = map[string]int{"findings": 9, "disposition:review": 1}
	trend = append([]store.Run{same}, trend...)
	path := filepath.Join(t.TempDir(), "charts.xlsx")
	if err := Write(path, res, Options{Trend: trend, Now: asOf}); err != nil {
		t.Fatal(err)
	}
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	// Every run of chart text (title, axis labels, axis titles) that sets a
	// colour sets black.
	runProps := regexp.MustCompile(`(?s)<a:(defRPr|rPr)\b[^>]*>(.*?)</a:(?:defRPr|rPr)>`)
	cat := regexp.MustCompile(`<(?:c:)?cat><(?:c:)?(\w+)><(?:c:)?f>([^<]*)</`)
	var cats []string
	charts := 0
	for _, zf := range z.File {
		if !strings.HasPrefix(zf.Name, "xl/charts/chart") {
			continue
		}
		charts++
		r, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		x := string(b)
		black := 0
		for _, m := range runProps.FindAllStringSubmatch(x, -1) {
			if !strings.Contains(m[2], "solidFill") {
				continue
			}
			if !strings.Contains(m[2], `srgbClr val="000000"`) || strings.Contains(m[2], "lumOff") {
				t.Errorf("%s: chart text not black: %s", zf.Name, m[0])
				continue
			}
			black++
		}
		if black < 3 {
			t.Errorf("%s: %d black text runs, want the title and both axes", zf.Name, black)
		}
		for _, m := range cat.FindAllStringSubmatch(x, -1) {
			cats = append(cats, m[1]+" "+strings.ReplaceAll(m[2], "&#39;", "'"))
		}
	}
	if charts != 2 {
		t.Fatalf("%d charts", charts)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rs := rows(t, f, SheetSummary)
	head := summaryRow(t, rs, "Open exceptions over the last 7 runs", 0) + 1
	// The trend chart's categories are the Run column of the trend table.
	want := "strRef " + "'" + SheetSummary + "'!$A$" + strconv.Itoa(head+2) + ":$A$" + strconv.Itoa(head+8)
	if !slices.Contains(cats, want) {
		t.Fatalf("chart categories %q, want the trend's %q", cats, want)
	}
	var ids []string
	for _, r := range rs[head+1 : head+8] {
		ids = append(ids, r[0])
	}
	if strings.Join(ids, " ") != "12 13 14 15 16 17 18" {
		t.Errorf("trend runs %q, want one row per run", ids)
	}
}
