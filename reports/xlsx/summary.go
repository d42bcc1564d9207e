package xlsx

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// SheetDescriptions says what each sheet shows (also listed on Summary).
var SheetDescriptions = [][2]string{
	{SheetSummary, "This page: run metadata, findings by kind and disposition, open exceptions by age, SLA compliance, trend"},
	{SheetFindings, "One row per finding of this run, every disposition, with evidence, first-seen date and Jira ticket"},
	{SheetActions, "Every revocation step requested (with outcome and verification) or planned/blocked in this run"},
	{SheetSLA, "Terminations and suspensions: HR effective time, revocation time, elapsed, tier, within SLA"},
	{SheetDrift, "What changed since the previous good run, in HR and in each target"},
	{SheetInventory, "Every HR source and target collected: automated or manual, tier, accounts, status, duration"},
	{SheetExemptions, "Exemptions (owner, reason, approver, expiry; EXPIRED ones marked) and holds"},
	{SheetLeavers, "One row per leaver: each account's revocation, time to full revocation, SLA met or not"},
	{SheetApprovals, "Privileged approvals and exemptions: approver, reason, expiry, still used"},
}

// ageBuckets are the open-exception age buckets, in days since first seen.
var ageBuckets = []struct {
	label    string
	from, to int
}{{"0-7 days", 0, 7}, {"8-30 days", 8, 30}, {"31-90 days", 31, 90}, {"over 90 days", 91, 1 << 30}}

var dispositions = []reconcile.Disposition{reconcile.AutoRevoke, reconcile.ManualRevoke, reconcile.Review, reconcile.Exempt}

type summarySheet struct {
	*writer
	row int
	// The rows of the kind × disposition table and of the trend table,
	// for the charts.
	kindFirst, kindLast, trendFirst, trendLast int
}

func (s *summarySheet) set(col, row int, v any, style int) error {
	cell, _ := excelize.CoordinatesToCellName(col, row)
	if err := s.f.SetCellValue(SheetSummary, cell, v); err != nil {
		return err
	}
	if style != 0 {
		return s.f.SetCellStyle(SheetSummary, cell, cell, style)
	}
	return nil
}

// line writes one row of values starting at column A and moves down.
func (s *summarySheet) line(style int, vs ...any) error {
	for i, v := range vs {
		st := style
		if c, ok := v.(excelize.Cell); ok {
			v, st = c.Value, c.StyleID
		}
		if v == nil {
			continue
		}
		if err := s.set(i+1, s.row, v, st); err != nil {
			return err
		}
	}
	s.row++
	return nil
}

func (s *summarySheet) section(title string) error {
	s.row++
	return s.line(s.bold, title)
}

// maxHRResolutions bounds the rows of the summary's list of people several
// HR sources report.
const maxHRResolutions = 1000

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (w *writer) summary() error {
	s := &summarySheet{writer: w, row: 1}
	for _, write := range []func() error{
		s.heading,
		s.runMetadata,
		s.collections,
		s.hrResolutions,
		s.findingsByKind,
		s.openByAge,
		func() error { return w.summarySLA(s) },
		s.controlReference,
		s.sheetGuide,
		s.trendTable,
		s.charts,
	} {
		if err := write(); err != nil {
			return err
		}
	}
	return w.layout(SheetSummary, 0, 1)
}

// heading sets the Summary's column widths and writes its title and the
// control it evidences.
func (s *summarySheet) heading() error {
	for col, width := range map[string]float64{"A": 34, "B": 16, "C": 16, "D": 14, "E": 14, "F": 14, "G": 14, "H": 12} {
		if err := s.f.SetColWidth(SheetSummary, col, col, width); err != nil {
			return err
		}
	}
	if err := s.line(s.title, "accessrecon: access reconciliation report"); err != nil {
		return err
	}
	return s.line(0, ControlReference)
}

// runMetadata writes the "Run" section: the run's identity, mode, status,
// trust and headline counts.
func (s *summarySheet) runMetadata() error {
	w, res := s.writer, s.res
	r := res.Run
	trustedText := func(res *reconcile.Result) string {
		if res.Trusted() {
			return "yes"
		}
		return "NO: a safety rail tripped; this run's findings are shown but were not acted on, and no ticket was opened, changed or closed on its word"
	}
	guards := "none"
	if len(r.Guards) > 0 {
		guards = strings.Join(r.Guards, "; ")
	}
	open := 0
	for _, f := range res.Findings {
		if f.NeedsPerson() {
			open++
		}
	}
	if err := s.section("Run"); err != nil {
		return err
	}
	meta := [][2]any{
		{"Run ID", excelize.Cell{StyleID: w.integer, Value: r.ID}},
		{"As of", excelize.Cell{StyleID: w.dateTime, Value: w.asOf}},
		{"Time zone of HR dates", cmp.Or(res.Timezone, "UTC")},
		{"Started", dateCell(r.StartedAt, w.dateTime)},
		{"Finished", dateCell(r.FinishedAt, w.dateTime)},
		{"Mode", modeText(r.Mode, r.DryRun)},
		{"Job", r.Job},
		{"Scope", r.Scope},
		{"Status", r.Status},
		{"Trusted", trustedText(res)},
		{"Guards tripped", guards},
		{"Error", r.Error},
		{"People in HR snapshot", excelize.Cell{StyleID: w.integer, Value: res.PeopleCount}},
		{"Findings (all dispositions)", excelize.Cell{StyleID: w.integer, Value: len(res.Findings)}},
		{"Open exceptions (need a person)", excelize.Cell{StyleID: w.integer, Value: open}},
		{"Resolved since the previous run", excelize.Cell{StyleID: w.integer, Value: len(res.Resolved)}},
		{"Drift events", excelize.Cell{StyleID: w.integer, Value: len(res.Drift)}},
		{"Workbook written", dateCell(w.opts.Now, w.dateTime)},
	}
	for _, m := range meta {
		if err := s.line(0, m[0], m[1]); err != nil {
			return err
		}
	}
	return nil
}

// collections writes the "Sources and targets collected" table.
func (s *summarySheet) collections() error {
	if err := s.section("Sources and targets collected"); err != nil {
		return err
	}
	if err := s.line(s.header, "Name", "Side", "Type", "Status", "Rows"); err != nil {
		return err
	}
	for _, c := range s.res.Collections {
		if err := s.line(0, c.Name, c.Side, c.Type, c.Status, excelize.Cell{StyleID: s.integer, Value: c.Count}); err != nil {
			return err
		}
	}
	return nil
}

// hrResolutions writes the people several HR sources report: which record
// the run used, and why (conflicts first; an HRIS migration may list
// everyone, so the rows stop at maxHRResolutions with a count of the rest).
// Nothing when no one was reported twice.
func (s *summarySheet) hrResolutions() error {
	res := s.res
	if len(res.HRResolutions) == 0 {
		return nil
	}
	if err := s.section("People reported by more than one HR source"); err != nil {
		return err
	}
	if err := s.line(s.header, "Employee ID", "Record used", "Rule", "Why"); err != nil {
		return err
	}
	rs := slices.Clone(res.HRResolutions)
	slices.SortStableFunc(rs, func(a, b reconcile.HRResolution) int {
		return cmp.Compare(b2i(a.Rule != reconcile.RuleConflict), b2i(b.Rule != reconcile.RuleConflict))
	})
	if len(rs) > maxHRResolutions {
		rs = rs[:maxHRResolutions]
	}
	for _, r := range rs {
		used := r.Winner
		if used == "" {
			used = "none (conflict)"
		}
		if err := s.line(0, r.EmployeeID, used, r.Rule, r.Reason); err != nil {
			return err
		}
	}
	if more := len(res.HRResolutions) - len(rs); more > 0 {
		return s.line(0, fmt.Sprintf("… and %d more", more))
	}
	return nil
}

// findingsByKind writes the kind × disposition table with its totals, and
// notes its rows for the chart.
func (s *summarySheet) findingsByKind() error {
	w, res := s.writer, s.res
	if err := s.section("Findings by kind and disposition"); err != nil {
		return err
	}
	head := []any{"Kind"}
	for _, d := range dispositions {
		head = append(head, string(d))
	}
	if err := s.line(w.header, append(head, "Total")...); err != nil {
		return err
	}
	byKind := map[reconcile.Kind]map[reconcile.Disposition]int{}
	for _, fd := range res.Findings {
		if byKind[fd.Kind] == nil {
			byKind[fd.Kind] = map[reconcile.Disposition]int{}
		}
		byKind[fd.Kind][fd.Disposition]++
	}
	kinds := slices.Clone(reconcile.Kinds)
	for k := range byKind {
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	s.kindFirst = s.row
	totals := make([]int, len(dispositions)+1)
	for _, k := range kinds {
		vals := []any{string(k)}
		sum := 0
		for i, d := range dispositions {
			n := byKind[k][d]
			sum += n
			totals[i] += n
			vals = append(vals, excelize.Cell{StyleID: w.integer, Value: n})
		}
		totals[len(dispositions)] += sum
		if err := s.line(0, append(vals, excelize.Cell{StyleID: w.integer, Value: sum})...); err != nil {
			return err
		}
	}
	s.kindLast = s.row - 1
	vals := []any{excelize.Cell{StyleID: w.bold, Value: "Total"}}
	for _, n := range totals {
		vals = append(vals, excelize.Cell{StyleID: w.integer, Value: n})
	}
	return s.line(0, vals...)
}

// openByAge writes the open exceptions by age bucket, first seen to as-of.
func (s *summarySheet) openByAge() error {
	if err := s.section("Open exceptions by age (first seen to as-of)"); err != nil {
		return err
	}
	if err := s.line(s.header, "Age", "Open exceptions"); err != nil {
		return err
	}
	ages := make([]int, len(ageBuckets))
	for _, fd := range s.res.Findings {
		if !fd.NeedsPerson() {
			continue
		}
		d := max(daysBetween(fd.FirstSeen, s.asOf), 0)
		for j, b := range ageBuckets {
			if d >= b.from && d <= b.to {
				ages[j]++
			}
		}
	}
	for j, b := range ageBuckets {
		if err := s.line(0, b.label, excelize.Cell{StyleID: s.integer, Value: ages[j]}); err != nil {
			return err
		}
	}
	return nil
}

// controlReference writes the control this workbook evidences.
func (s *summarySheet) controlReference() error {
	if err := s.section("Control reference"); err != nil {
		return err
	}
	for _, l := range []string{
		"Saudi NCA Essential Cybersecurity Controls ECC-2:2024, control 1-9-5:",
		"access rights are revoked promptly on termination, suspension or change of role.",
		"This workbook is the evidence of one reconciliation of HR status against every system that grants access.",
	} {
		if err := s.line(0, l); err != nil {
			return err
		}
	}
	return nil
}

// sheetGuide writes what each sheet shows.
func (s *summarySheet) sheetGuide() error {
	if err := s.section("What each sheet shows"); err != nil {
		return err
	}
	for _, d := range SheetDescriptions {
		text := d[1]
		if more := s.findingsSheets; d[0] == SheetFindings && len(more) > 1 {
			text += fmt.Sprintf(" (continued on %s: a sheet holds %d)", strings.Join(more[1:], ", "), s.findingsPer)
		}
		if err := s.line(0, excelize.Cell{StyleID: s.bold, Value: d[0]}, text); err != nil {
			return err
		}
	}
	return nil
}

// trendTable writes the open exceptions of the last runs, and notes its
// rows for the chart.
func (s *summarySheet) trendTable() error {
	w := s.writer
	trend := w.trend()
	if err := s.section(fmt.Sprintf("Open exceptions over the last %d runs", len(trend))); err != nil {
		return err
	}
	if err := s.line(w.header, "Run", "As of", "Open exceptions", "Findings", "Status"); err != nil {
		return err
	}
	s.trendFirst = s.row
	for _, t := range trend {
		if err := s.line(0, excelize.Cell{StyleID: w.integer, Value: t.ID}, dateCell(t.AsOf, w.date),
			excelize.Cell{StyleID: w.integer, Value: t.Counts["disposition:review"] + t.Counts["disposition:manual_revoke"]},
			excelize.Cell{StyleID: w.integer, Value: t.Counts["findings"]}, t.Status); err != nil {
			return err
		}
	}
	s.trendLast = s.row - 1
	return nil
}

// charts adds the findings-by-kind and trend charts below the tables
// (beside them they would squeeze the printed page), with dark labels; the
// trend has one point per run, labelled by run ID (a date axis would merge
// the runs of one day).
func (s *summarySheet) charts() error {
	f := s.f
	ref := func(col string, a, b int) string {
		return fmt.Sprintf("'%s'!$%s$%d:$%s$%d", SheetSummary, col, a, col, b)
	}
	noLegend := excelize.ChartLegend{Position: "none"}
	label := excelize.Font{Color: chartText, Size: 10}
	title := func(t string) excelize.ChartTitle {
		return excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: t, Font: &excelize.Font{Bold: true, Color: chartText, Size: 12}}}}
	}
	axisTitle := func(t string) excelize.ChartTitle {
		return excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: t, Font: &excelize.Font{Color: chartText, Size: 10}}}}
	}
	s.row++
	at := func() string { c, _ := excelize.CoordinatesToCellName(1, s.row); return c }
	// The charts print on a page of their own, not cut by a page break.
	if err := f.InsertPageBreak(SheetSummary, at()); err != nil {
		return err
	}
	if err := f.AddChart(SheetSummary, at(), &excelize.Chart{
		Type:      excelize.Bar,
		Series:    []excelize.ChartSeries{{Name: "Findings", Categories: ref("A", s.kindFirst, s.kindLast), Values: ref("F", s.kindFirst, s.kindLast)}},
		Title:     title("Findings by kind"),
		Legend:    noLegend,
		Dimension: excelize.ChartDimension{Width: 640, Height: 320},
		YAxis:     excelize.ChartAxis{MajorGridLines: true, Font: label},
		XAxis:     excelize.ChartAxis{ReverseOrder: true, Font: label},
	}); err != nil {
		return err
	}
	s.row += 19 // 320 px at 20 px a row, and a gap
	if s.trendLast < s.trendFirst {
		return nil
	}
	return f.AddChart(SheetSummary, at(), &excelize.Chart{
		Type:      excelize.Line,
		Series:    []excelize.ChartSeries{{Name: "Open exceptions", Categories: ref("A", s.trendFirst, s.trendLast), Values: ref("C", s.trendFirst, s.trendLast)}},
		Title:     title("Open exceptions over the last runs"),
		Legend:    noLegend,
		Dimension: excelize.ChartDimension{Width: 640, Height: 280},
		YAxis:     excelize.ChartAxis{MajorGridLines: true, Font: label, Title: axisTitle("Open exceptions")},
		XAxis:     excelize.ChartAxis{Font: label, Title: axisTitle("Run")},
	})
}

// chartText is the colour of chart titles and labels: black, readable on
// paper (the default is a pale grey).
const chartText = "000000"

// trend is the runs of the trend chart, oldest first: the given runs
// (newest first, at most 30) plus this run when missing; runs without counts
// (failed before judging) are left out.
func (w *writer) trend() []store.Run {
	runs := slices.Clone(w.opts.Trend)
	if !slices.ContainsFunc(runs, func(r store.Run) bool { return r.ID == w.res.Run.ID }) {
		cur := w.res.Run
		if cur.Counts == nil {
			cur.Counts = map[string]int{"findings": len(w.res.Findings)}
			for _, f := range w.res.Findings {
				cur.Counts["disposition:"+string(f.Disposition)]++
			}
		}
		runs = append([]store.Run{cur}, runs...)
	}
	runs = slices.DeleteFunc(runs, func(r store.Run) bool { return r.Counts == nil })
	slices.SortStableFunc(runs, func(a, b store.Run) int { return cmp.Compare(b.ID, a.ID) })
	if len(runs) > 30 {
		runs = runs[:30]
	}
	slices.Reverse(runs)
	return runs
}

type slaStats struct {
	measured, within, open int
	elapsed                []time.Duration
}

func (w *writer) summarySLA(s *summarySheet) error {
	res := w.res
	stats := map[string]*slaStats{}
	all := &slaStats{}
	for _, fd := range res.Findings {
		if !slaFinding(fd) && fd.WithinSLA == nil {
			continue
		}
		c, ok := w.clock(fd)
		if !ok {
			continue // exempt, or no effective time: not on the clock
		}
		tier := string(c.Tier)
		st := stats[tier]
		if st == nil {
			st = &slaStats{}
			stats[tier] = st
		}
		for _, x := range []*slaStats{st, all} {
			if c.Open {
				x.open++
				continue
			}
			x.measured++
			if c.Within {
				x.within++
			}
			x.elapsed = append(x.elapsed, c.Elapsed)
		}
	}
	if err := s.section("SLA compliance (HR effective time to verified revocation)"); err != nil {
		return err
	}
	if err := s.line(w.header, "Tier", "SLA", "Revoked", "Within SLA", "% within SLA", "Median (min)", "Worst (min)", "Still open"); err != nil {
		return err
	}
	tiers := []string{"critical", "standard", "low"}
	var extra []string
	for t := range stats {
		if !slices.Contains(tiers, t) {
			extra = append(extra, t)
		}
	}
	slices.Sort(extra)
	tiers = append(tiers, extra...)
	row := func(name string, st *slaStats) error {
		vals := []any{name, nil, excelize.Cell{StyleID: w.integer, Value: st.measured}, excelize.Cell{StyleID: w.integer, Value: st.within}}
		if d, ok := res.Policy.SLA[name]; ok {
			vals[1] = duration(d.D())
		}
		if st.measured > 0 {
			vals = append(vals, excelize.Cell{StyleID: w.percent, Value: float64(st.within) / float64(st.measured)})
		} else {
			vals = append(vals, "n/a")
		}
		if len(st.elapsed) > 0 {
			slices.Sort(st.elapsed)
			n := len(st.elapsed)
			med := st.elapsed[n/2]
			if n%2 == 0 {
				med = (st.elapsed[n/2-1] + st.elapsed[n/2]) / 2
			}
			vals = append(vals, excelize.Cell{StyleID: w.decimal, Value: med.Minutes()}, excelize.Cell{StyleID: w.decimal, Value: st.elapsed[n-1].Minutes()})
		} else {
			vals = append(vals, nil, nil)
		}
		return s.line(0, append(vals, excelize.Cell{StyleID: w.integer, Value: st.open})...)
	}
	for _, t := range tiers {
		st := stats[t]
		if st == nil {
			st = &slaStats{}
		}
		if err := row(t, st); err != nil {
			return err
		}
	}
	return row("all tiers", all)
}

// modeText is the run's mode as people read it: a dry run says so.
func modeText(mode string, dry bool) string {
	if dry {
		return mode + " (dry run: nothing was done)"
	}
	return mode
}
