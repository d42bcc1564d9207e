package xlsx

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// The period report: one workbook over every run of a period, read from
// the store (nothing is re-run).

// The period report's sheets, in workbook order.
const (
	SheetPeriodSLA        = "SLA by month"
	SheetPeriodExceptions = "Exceptions"
	SheetPeriodRuns       = "Guard trips & failures"
)

// PeriodSheets lists the period report's sheet names in workbook order.
var PeriodSheets = []string{SheetSummary, SheetLeavers, SheetPeriodSLA, SheetPeriodExceptions, SheetExemptions, SheetApprovals, SheetPeriodRuns, SheetDrills}

// PeriodSource is what the period report reads: the runs started in
// [from, to) with their findings and actions, the life of each finding
// across runs, holds, HR webhook receipts and the accounts a run
// collected. *store.Store implements it (reconcile/store/period.go).
type PeriodSource interface {
	RunsBetween(ctx context.Context, from, to time.Time) ([]store.Run, error)
	// FindingsBetween streams the findings (kinds: all when empty);
	// fn must not keep the PeriodFinding's Body.
	FindingsBetween(ctx context.Context, from, to time.Time, kinds []string, fn func(store.PeriodFinding) error) error
	ActionsBetween(ctx context.Context, from, to time.Time, fn func(store.Action) error) error
	FindingStates(ctx context.Context, fingerprints []string) (map[string]store.FindingState, error)
	Holds(ctx context.Context, all bool) ([]store.Hold, error)
	RunStore
}

// twoPersonSource is what a PeriodSource may also tell (*store.Store
// does): the approvals of two-person holds and the exemptions requested from
// the command line, for the Exemptions & holds sheet's approver and
// requester of each.
type twoPersonSource interface {
	HoldApprovals(ctx context.Context) (map[int64]store.HoldApproval, error)
	Exemptions(ctx context.Context, all bool) ([]store.Exemption, error)
}

// AuditCheck is the audit trail's verification, done by the caller (the
// trail's file lives outside the store): the result and its error.
type AuditCheck struct {
	At     time.Time
	Result store.VerifyResult
	Err    error
}

// PeriodOptions are the inputs of a period report beyond the store.
type PeriodOptions struct {
	// Policy is the configured policy: SLA tiers, privileged approvals and
	// exemptions (the store does not keep the policy of each run).
	Policy reconcile.Policy
	// Location is the organisation's time zone (nil: UTC): effective
	// times and months are shown there.
	Location *time.Location
	// Audit is the audit trail's verification (nil: not checked, said so).
	Audit *AuditCheck
	// Now is when the report is written (zero: to).
	Now time.Time
}

// PeriodFileName is the period report's file name.
func PeriodFileName(from, to time.Time) string {
	return fmt.Sprintf("accessrecon-period-%s-%s.xlsx", from.UTC().Format("2006-01-02"), to.UTC().Format("2006-01-02"))
}

// exception is the latest state of one exception seen in the period.
type exception struct {
	fingerprint, kind, severity, disposition, target, account, username, employee, name, reason, jira string
	firstSeen, lastSeen                                                                               time.Time
}

// periodData is what one pass over the period's findings gathers.
type periodData struct {
	runs       []store.Run
	leavers    *leaverSet
	exceptions map[string]*exception
	exemptions []reconcile.Exemption
	// collectionTrips are the guard_tripped findings (a target whose
	// collection failed), by run.
	collectionTrips []struct {
		run int64
		f   reconcile.Finding
	}
	names map[[2]string]accountName
	// states is the life of each exception's fingerprint across runs.
	states map[string]store.FindingState
	// lastFull is the newest run of the period that collected everything.
	lastFull store.Run
	// end is the as-of time of the period's last run that judged anything
	// (failed runs store no findings): open leavers and exceptions are
	// measured to it.
	end time.Time
}

// closed is when the run that saw an exception gone resolved it (zero:
// not closed by the period's end).
func (d *periodData) closed(x *exception, to time.Time) time.Time {
	st := d.states[x.fingerprint]
	// A resolution belongs to this life of the problem when it comes
	// after the last run that saw it.
	if st.Resolved && st.ResolvedAt.After(x.lastSeen) && !st.ResolvedAt.After(to) {
		return st.ResolvedAt.UTC()
	}
	return time.Time{}
}

// WritePeriod writes the period report over the runs started in [from, to)
// to path: Summary, Leavers, SLA by month, Exceptions, Exemptions & holds,
// Approvals, Guard trips & failures.
func WritePeriod(ctx context.Context, src PeriodSource, from, to time.Time, path string, opts PeriodOptions) error {
	if !from.Before(to) {
		return fmt.Errorf("xlsx: period: from %s is not before to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if err := opts.Policy.Validate(); err != nil {
		return fmt.Errorf("xlsx: period: %w", err)
	}
	loc := cmp.Or(opts.Location, time.UTC)
	if opts.Now.IsZero() {
		opts.Now = to
	}
	d, err := gatherPeriod(ctx, src, from, to, &opts.Policy)
	if err != nil {
		return fmt.Errorf("xlsx: period: %w", err)
	}
	f := newFile(filepath.Dir(path))
	defer f.Close()
	res := &reconcile.Result{Policy: opts.Policy, Timezone: loc.String(), Run: store.Run{AsOf: d.end}}
	w := &writer{f: f, res: res, opts: Options{Now: opts.Now}, asOf: d.end, names: d.names}
	defer w.close()
	title := fmt.Sprintf("accessrecon period report %s to %s", from.In(loc).Format("2006-01-02"), to.In(loc).Format("2006-01-02"))
	if err := w.setup(PeriodSheets, title); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	leavers := d.leavers.sorted()
	holds, err := src.Holds(ctx, true)
	if err != nil {
		return fmt.Errorf("xlsx: period: %w", err)
	}
	holds = slices.DeleteFunc(holds, func(h store.Hold) bool {
		ended := h.Until
		if !h.RemovedAt.IsZero() && h.RemovedAt.Before(ended) {
			ended = h.RemovedAt
		}
		return !h.CreatedAt.Before(to) || ended.Before(from)
	})
	w.opts.Holds = holds
	if tp, ok := src.(twoPersonSource); ok {
		if w.opts.HoldApprovals, err = tp.HoldApprovals(ctx); err != nil {
			return fmt.Errorf("xlsx: period: %w", err)
		}
		if w.opts.ExemptionRequests, err = tp.Exemptions(ctx, true); err != nil {
			return fmt.Errorf("xlsx: period: %w", err)
		}
	}
	exemptions := slices.Clone(opts.Policy.Exemptions)
	for _, e := range d.exemptions {
		if !slices.Contains(exemptions, e) {
			exemptions = append(exemptions, e)
		}
	}
	exemptions = slices.DeleteFunc(exemptions, func(e reconcile.Exemption) bool { return e.Expired(from) })
	res.Exemptions = exemptions
	steps := []struct {
		name string
		fn   func() error
	}{
		{SheetSummary, func() error { return w.periodSummary(d, from, to, loc, leavers, opts.Audit) }},
		{SheetLeavers, func() error { return w.leaversSheet(SheetLeavers, leavers, d.end, loc) }},
		{SheetPeriodSLA, func() error { return w.slaByMonth(leavers, d.end, loc) }},
		{SheetPeriodExceptions, func() error { return w.exceptionsSheet(d, from, to) }},
		{SheetExemptions, w.exemptions},
		{SheetApprovals, func() error {
			return w.approvalsSheet(ctx, SheetApprovals, opts.Policy.PrivilegedApproved, exemptions, src, d.lastFull.ID, opts.Now.UTC())
		}},
		{SheetPeriodRuns, func() error { return w.runsSheet(d) }},
		{SheetDrills, func() error { return w.drillsSheet(ctx, src, from, to) }},
	}
	for _, s := range steps {
		if err := s.fn(); err != nil {
			return fmt.Errorf("xlsx: sheet %s: %w", s.name, err)
		}
	}
	if err := save(f, path, w.rowFiles...); err != nil {
		return fmt.Errorf("xlsx: save %s: %w", path, err)
	}
	return nil
}

// drillRunIDs returns the runs of the drills started in [from, to). A
// drill's run acts on canaries, not people: its findings and actions are
// the Drills sheet's, never leavers, exceptions or SLA figures (as the
// evidence pack's SLA summary leaves them out).
func drillRunIDs(ctx context.Context, src any, from, to time.Time) (map[int64]bool, error) {
	runs := map[int64]bool{}
	if ds, ok := src.(DrillSource); ok {
		drills, err := ds.Drills(ctx, from, to)
		if err != nil {
			return nil, err
		}
		for _, dr := range drills {
			runs[dr.RunID] = true
		}
	}
	return runs, nil
}

// gatherPeriod reads the period's runs and findings once.
func gatherPeriod(ctx context.Context, src PeriodSource, from, to time.Time, pol *reconcile.Policy) (*periodData, error) {
	runs, err := src.RunsBetween(ctx, from, to)
	if err != nil {
		return nil, err
	}
	d := &periodData{runs: runs, leavers: newLeaverSet(pol), exceptions: map[string]*exception{}, names: map[[2]string]accountName{}, end: to}
	asOf := map[int64]time.Time{}
	for _, r := range runs {
		asOf[r.ID] = r.AsOf
		if r.Scope == "full" && r.Status != reconcile.StatusFailed && r.Status != reconcile.StatusRunning && r.Status != "crashed" {
			d.lastFull = r
		}
	}
	for _, r := range runs {
		switch r.Status {
		case reconcile.StatusFailed, reconcile.StatusRunning, reconcile.StatusCancelled, "crashed":
		default:
			d.end = r.AsOf
		}
	}
	drillRuns, err := drillRunIDs(ctx, src, from, to)
	if err != nil {
		return nil, err
	}
	var f reconcile.Finding
	err = src.FindingsBetween(ctx, from, to, nil, func(pf store.PeriodFinding) error {
		if drillRuns[pf.RunID] {
			return nil
		}
		f = reconcile.Finding{}
		if err := json.Unmarshal(pf.Body, &f); err != nil {
			return fmt.Errorf("finding %s of run %d: %w", pf.Fingerprint, pf.RunID, err)
		}
		if f.Username != "" || f.DisplayName != "" {
			k := [2]string{f.Target, f.AccountID}
			old := d.names[k]
			d.names[k] = accountName{cmp.Or(f.Username, old.username), cmp.Or(f.DisplayName, old.display)}
		}
		if isLeaverFinding(&f) {
			d.leavers.add(&f, asOf[pf.RunID])
		}
		if e := f.Exemption; e != nil && !slices.Contains(d.exemptions, *e) {
			d.exemptions = append(d.exemptions, *e)
		}
		if f.Kind == reconcile.GuardTripped {
			d.collectionTrips = append(d.collectionTrips, struct {
				run int64
				f   reconcile.Finding
			}{pf.RunID, f})
		}
		if f.NeedsPerson() {
			id, name, _, _ := person(&f)
			x := d.exceptions[f.Fingerprint]
			if x == nil || !f.FirstSeen.Equal(x.firstSeen) {
				x = &exception{fingerprint: f.Fingerprint, firstSeen: f.FirstSeen.UTC()}
				d.exceptions[f.Fingerprint] = x
			}
			x.kind, x.severity, x.disposition, x.target, x.account = string(f.Kind), string(f.Severity), string(f.Disposition), f.Target, f.AccountID
			x.username, x.employee, x.name, x.reason, x.jira = f.Username, id, name, f.Reason, cmp.Or(f.JiraKey, x.jira)
			x.lastSeen = asOf[pf.RunID]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Manual steps a person acknowledged done (accessrecon ack) before
	// the period's end revoke their account then.
	err = src.ActionsBetween(ctx, from, to, func(a store.Action) error {
		if a.FinishedAt.Before(to) && !drillRuns[a.RunID] {
			d.leavers.ack(a)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	fps := d.leavers.fingerprints()
	for fp := range d.exceptions {
		fps = append(fps, fp)
	}
	if d.states, err = src.FindingStates(ctx, fps); err != nil {
		return nil, err
	}
	d.leavers.resolved(d.states, to)
	if err := d.leavers.finish(ctx, src); err != nil {
		return nil, err
	}
	return d, nil
}

func (w *writer) periodSummary(d *periodData, from, to time.Time, loc *time.Location, leavers []*leaver, audit *AuditCheck) error {
	s := &summarySheet{writer: w, row: 1}
	for col, width := range map[string]float64{"A": 40, "B": 18, "C": 14, "D": 14, "E": 14, "F": 16, "G": 12, "H": 12} {
		if err := w.f.SetColWidth(SheetSummary, col, col, width); err != nil {
			return err
		}
	}
	if err := w.layout(SheetSummary, 0, 1); err != nil {
		return err
	}
	if err := s.line(w.title, "accessrecon: period report"); err != nil {
		return err
	}
	if err := s.line(0, ControlReference); err != nil {
		return err
	}
	for _, write := range []func() error{
		func() error { return s.periodFacts(d, from, to, loc, len(leavers)) },
		func() error { return s.leaverSLAShares(d, leavers) },
		func() error { return s.periodExceptions(d, from, to) },
		func() error { return s.auditVerification(audit) },
		s.periodSheetGuide,
	} {
		if err := write(); err != nil {
			return err
		}
	}
	return nil
}

// periodFacts writes the "Period" section: its bounds, its runs by status
// and with a guard tripped, and how many people left.
func (s *summarySheet) periodFacts(d *periodData, from, to time.Time, loc *time.Location, leavers int) error {
	w := s.writer
	if err := s.section("Period"); err != nil {
		return err
	}
	byStatus := map[string]int{}
	guards := 0
	for _, r := range d.runs {
		byStatus[string(r.Status)]++
		if len(r.Guards) > 0 {
			guards++
		}
	}
	statuses := make([]string, 0, len(byStatus))
	for st, n := range byStatus {
		statuses = append(statuses, fmt.Sprintf("%s %d", st, n))
	}
	slices.Sort(statuses)
	meta := [][2]any{
		{"From (runs started on or after)", excelize.Cell{StyleID: w.dateTime, Value: local(from, loc)}},
		{"To (runs started before)", excelize.Cell{StyleID: w.dateTime, Value: local(to, loc)}},
		{"Time zone", loc.String()},
		{"Runs", excelize.Cell{StyleID: w.integer, Value: len(d.runs)}},
		{"Runs by status", strings.Join(statuses, ", ")},
		{"Runs with a guard tripped", excelize.Cell{StyleID: w.integer, Value: guards}},
		{"Leavers (terminated or suspended)", excelize.Cell{StyleID: w.integer, Value: leavers}},
		{"Report written", dateCell(w.opts.Now, w.dateTime)},
	}
	for _, m := range meta {
		if err := s.line(0, m[0], m[1]); err != nil {
			return err
		}
	}
	return nil
}

// leaverSLAShares writes the leavers fully revoked within SLA, per tier and
// overall.
func (s *summarySheet) leaverSLAShares(d *periodData, leavers []*leaver) error {
	w := s.writer
	if err := s.section("Leavers fully revoked within SLA"); err != nil {
		return err
	}
	if err := s.line(w.header, "Tier", "SLA", "Leavers", "Fully revoked", "Within SLA", "Share within SLA", "Still open", "Open past SLA"); err != nil {
		return err
	}
	for _, sh := range shares(leavers, d.end) {
		label, allowed := sh.tier, any(duration(sh.allowed))
		if sh.tier == "" {
			label, allowed = "overall", "every tier"
		}
		if err := s.line(0, label, allowed, excelize.Cell{StyleID: w.integer, Value: sh.leavers}, excelize.Cell{StyleID: w.integer, Value: sh.revoked},
			excelize.Cell{StyleID: w.integer, Value: sh.within}, percentCell(sh.share(), w.percent), excelize.Cell{StyleID: w.integer, Value: sh.open},
			excelize.Cell{StyleID: w.integer, Value: sh.late}); err != nil {
			return err
		}
	}
	return nil
}

// periodExceptions writes the exceptions seen, opened, closed and still
// open in the period.
func (s *summarySheet) periodExceptions(d *periodData, from, to time.Time) error {
	w := s.writer
	if err := s.section("Exceptions (need a person)"); err != nil {
		return err
	}
	opened, closed, still := 0, 0, 0
	for _, x := range d.exceptions {
		if !x.firstSeen.Before(from) {
			opened++
		}
		switch {
		case !d.closed(x, to).IsZero():
			closed++
		case x.lastSeen.Equal(d.end):
			still++
		}
	}
	for _, m := range [][2]any{
		{"Seen in the period", excelize.Cell{StyleID: w.integer, Value: len(d.exceptions)}},
		{"Opened in the period", excelize.Cell{StyleID: w.integer, Value: opened}},
		{"Closed in the period", excelize.Cell{StyleID: w.integer, Value: closed}},
		{"Still open at the period's last run", excelize.Cell{StyleID: w.integer, Value: still}},
		{"Age of each", "see the " + SheetPeriodExceptions + " sheet"},
	} {
		if err := s.line(0, m[0], m[1]); err != nil {
			return err
		}
	}
	return nil
}

// auditVerification writes the "Audit trail" section: whether the trail
// was verified for this report, and what the check found.
func (s *summarySheet) auditVerification(audit *AuditCheck) error {
	w := s.writer
	if err := s.section("Audit trail"); err != nil {
		return err
	}
	var lines [][2]any
	switch {
	case audit == nil:
		lines = [][2]any{{"Verification", "not checked for this report"}}
	case audit.Err != nil:
		lines = [][2]any{{"Verification", "FAILED"}, {"Error", audit.Err.Error()}}
	default:
		r := audit.Result
		lines = [][2]any{{"Verification", "passed"}, {"Records in the store", excelize.Cell{StyleID: w.integer, Value: r.StoreRecords}},
			{"Records in the file", excelize.Cell{StyleID: w.integer, Value: r.FileRecords}}, {"Last hash", r.LastHash}}
		if r.Pending > 0 {
			lines = append(lines, [2]any{"Pending record (the next append completes it)", excelize.Cell{StyleID: w.integer, Value: r.Pending}})
		}
	}
	for _, l := range lines {
		if err := s.line(0, l[0], l[1]); err != nil {
			return err
		}
	}
	if audit != nil && !audit.At.IsZero() {
		return s.line(0, "Verified at", dateCell(audit.At, w.dateTime))
	}
	return nil
}

// periodSheetGuide writes what each sheet of the period report shows.
func (s *summarySheet) periodSheetGuide() error {
	if err := s.section("Sheets"); err != nil {
		return err
	}
	for _, d := range [][2]string{
		{SheetLeavers, "One row per leaver: each account's revocation, time to full revocation, SLA met or not"},
		{SheetPeriodSLA, "Revocations per month and tier, within SLA or not (as accessrecon sla)"},
		{SheetPeriodExceptions, "Every exception seen: opened, closed or still open, and its age"},
		{SheetExemptions, "Exemptions and holds active in the period, owner and approver"},
		{SheetApprovals, "Privileged approvals and exemptions, and whether each is still used"},
		{SheetPeriodRuns, "Failed runs, guard trips and failed collections, with the reasons"},
	} {
		if err := s.line(0, d[0], d[1]); err != nil {
			return err
		}
	}
	return nil
}

// slaByMonth writes accessrecon's verified revocations per month (of the
// revocation, in loc) and tier, counted per account like `accessrecon
// sla`, then the accounts still open at the period's last run.
func (w *writer) slaByMonth(leavers []*leaver, asOf time.Time, loc *time.Location) error {
	type key struct {
		month string
		tier  string
	}
	type fig struct {
		allowed              time.Duration
		revoked, within      int
		elapsed              []time.Duration
		openNow, openPastSLA int
	}
	figs := map[key]*fig{}
	get := func(k key, allowed time.Duration) *fig {
		if figs[k] == nil {
			figs[k] = &fig{allowed: allowed}
		}
		return figs[k]
	}
	for _, l := range leavers {
		for _, a := range l.accounts {
			if a.exempt() {
				continue
			}
			if a.recorded.IsZero() {
				if a.revokedAt.IsZero() && !a.start.IsZero() {
					fg := get(key{"still open at " + local(asOf, loc).Format("2006-01-02"), a.tier}, a.allowed)
					fg.openNow++
					if asOf.Sub(a.start) > a.allowed {
						fg.openPastSLA++
					}
				}
				continue
			}
			if a.slaStart.IsZero() {
				continue
			}
			fg := get(key{a.recorded.In(loc).Format("2006-01"), a.tier}, a.allowed)
			el := max(a.recorded.Sub(a.slaStart), 0)
			fg.revoked++
			fg.elapsed = append(fg.elapsed, el)
			if el <= a.allowed {
				fg.within++
			}
		}
	}
	keys := make([]key, 0, len(figs))
	for k := range figs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.month, b.month), cmp.Compare(figs[a].allowed, figs[b].allowed), cmp.Compare(a.tier, b.tier))
	})
	cols := []column{{"Month", 22}, {"Tier", 10}, {"SLA", 10}, {"Revoked", 9}, {"Within SLA", 10}, {"Share within SLA", 10}, {"Breached", 9},
		{"Median", 12}, {"Worst", 12}, {"Open", 8}, {"Open past SLA", 10}}
	cells := make([]any, len(cols))
	return w.table(SheetPeriodSLA, cols, len(keys), func(emit func([]any) error) error {
		for _, k := range keys {
			fg := figs[k]
			var share, median, worst any
			if fg.revoked > 0 {
				share = excelize.Cell{StyleID: w.percent, Value: float64(fg.within) / float64(fg.revoked)}
				slices.Sort(fg.elapsed)
				median, worst = duration(fg.elapsed[len(fg.elapsed)/2]), duration(fg.elapsed[len(fg.elapsed)-1])
			}
			cells = append(cells[:0], k.month, k.tier, duration(fg.allowed), excelize.Cell{StyleID: w.integer, Value: fg.revoked},
				excelize.Cell{StyleID: w.integer, Value: fg.within}, share, excelize.Cell{StyleID: w.integer, Value: fg.revoked - fg.within},
				median, worst, excelize.Cell{StyleID: w.integer, Value: fg.openNow}, excelize.Cell{StyleID: w.integer, Value: fg.openPastSLA})
			if err := emit(cells); err != nil {
				return err
			}
		}
		return nil
	})
}

// exceptionsSheet writes every exception seen in the period with what
// became of it: closed (the run that saw it gone) or still open, and its
// age (to its closing, or to the period's last run).
func (w *writer) exceptionsSheet(d *periodData, from, to time.Time) error {
	xs := make([]*exception, 0, len(d.exceptions))
	for _, x := range d.exceptions {
		xs = append(xs, x)
	}
	slices.SortFunc(xs, func(a, b *exception) int {
		return cmp.Or(a.firstSeen.Compare(b.firstSeen), cmp.Compare(a.kind, b.kind), cmp.Compare(a.target, b.target), cmp.Compare(a.account, b.account))
	})
	cols := []column{{"Fingerprint", 16}, {"Kind", 20}, {"Severity", 9}, {"Disposition", 13}, {"Target", 12}, {"Account", 20}, {"Username", 14},
		{"Employee ID", 11}, {"Name", 16}, {"Reason", 40}, {"First seen", 11}, {"Opened in period", 9}, {"Closed", 11}, {"Status", 12}, {"Age (days)", 9}, {"Jira key", 11}}
	cells := make([]any, len(cols))
	return w.table(SheetPeriodExceptions, cols, len(xs), func(emit func([]any) error) error {
		for _, x := range xs {
			st, closed := d.states[x.fingerprint], d.closed(x, to)
			status, end := "still open", d.end
			switch {
			case !closed.IsZero():
				status, end = "closed", closed
			case x.lastSeen.Before(d.end):
				status = "not seen since " + x.lastSeen.Format("2006-01-02")
				end = x.lastSeen
			}
			cells = append(cells[:0], x.fingerprint, x.kind, x.severity, x.disposition, x.target, x.account, cmp.Or(x.username, w.name(x.target, x.account).username),
				x.employee, x.name, x.reason, dateCell(x.firstSeen, w.date), yesNo(!x.firstSeen.Before(from)), dateCell(closed, w.date), status,
				excelize.Cell{StyleID: w.integer, Value: max(daysBetween(x.firstSeen, end), 0)}, cmp.Or(x.jira, st.JiraKey))
			if err := emit(cells); err != nil {
				return err
			}
		}
		return nil
	})
}

// runsSheet writes the runs of the period that failed or tripped a guard,
// then the targets whose collection failed, with the reasons.
func (w *writer) runsSheet(d *periodData) error {
	var runs []store.Run
	for _, r := range d.runs {
		if r.Status != reconcile.StatusCompleted || len(r.Guards) > 0 {
			runs = append(runs, r)
		}
	}
	cols := []column{{"Run", 7}, {"As of", 16}, {"Started", 16}, {"Job", 12}, {"Mode", 9}, {"Status", 14}, {"Target", 12}, {"Reason", 60}}
	cells := make([]any, len(cols))
	return w.table(SheetPeriodRuns, cols, len(runs)+len(d.collectionTrips), func(emit func([]any) error) error {
		start := map[int64]store.Run{}
		for _, r := range d.runs {
			start[r.ID] = r
		}
		for _, r := range runs {
			reason := strings.Join(append(slices.Clone(r.Guards), r.Error), "\n")
			cells = append(cells[:0], excelize.Cell{StyleID: w.integer, Value: r.ID}, dateCell(r.AsOf, w.dateTime), dateCell(r.StartedAt, w.dateTime),
				r.Job, r.Mode, r.Status, nil, strings.TrimSpace(reason))
			if err := emit(cells); err != nil {
				return err
			}
		}
		for _, t := range d.collectionTrips {
			r := start[t.run]
			cells = append(cells[:0], excelize.Cell{StyleID: w.integer, Value: t.run}, dateCell(r.AsOf, w.dateTime), dateCell(r.StartedAt, w.dateTime),
				r.Job, r.Mode, "collection failed", t.f.Target, t.f.Reason+": "+t.f.Evidence.Get("error"))
			if err := emit(cells); err != nil {
				return err
			}
		}
		return nil
	})
}

var _ PeriodSource = (*store.Store)(nil)
