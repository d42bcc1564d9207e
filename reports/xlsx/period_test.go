package xlsx

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

// hrList is an in-memory HR source; err fails the next collection.
type hrList struct {
	mu     sync.Mutex
	people map[string]*sources.Person
	err    error
}

func (h *hrList) People(ctx context.Context) iter.Seq2[sources.Person, error] {
	h.mu.Lock()
	ps := make([]sources.Person, 0, len(h.people))
	for _, p := range h.people {
		ps = append(ps, *p)
	}
	err := h.err
	h.mu.Unlock()
	slices.SortFunc(ps, func(a, b sources.Person) int { return strings.Compare(a.EmployeeID, b.EmployeeID) })
	return func(yield func(sources.Person, error) bool) {
		if err != nil {
			yield(sources.Person{}, err)
			return
		}
		for _, p := range ps {
			if !yield(p, nil) {
				return
			}
		}
	}
}

// listOnly is a target that can only list: every revocation on it is a
// manual step.
type listOnly struct{ f *targettest.Fake }

func (l listOnly) Accounts(ctx context.Context) iter.Seq2[targets.Account, error] {
	return l.f.Accounts(ctx)
}

// disableOnly is a target that can disable but not end sessions: that step
// is a person's, recorded open beside the automatic one.
type disableOnly struct{ listOnly }

func (d disableOnly) Disable(ctx context.Context, a targets.Account) error {
	return d.f.Disable(ctx, a)
}

func (d disableOnly) Account(ctx context.Context, id string) (targets.Account, error) {
	return d.f.Account(ctx, id)
}

// clock is the engine's wall clock: the run's as-of time, moved on by
// 7 seconds a reading (actions finish at distinct times).
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(7 * time.Second)
	return c.now
}

// simulation is 30 daily enforce runs of the real engine over an HR list
// and three targets: ldap (critical, fake with every capability), crm
// (standard, fake) and legacy (low, list only: manual). People leave on
// some days; on day 15 crm fails to list, on day 18 HR fails (a failed
// run).
type simulation struct {
	st       *store.Store
	riyadh   *time.Location
	policy   reconcile.Policy
	first    time.Time // as-of of day 1
	runs     int
	leavers  map[string]time.Time // employee ID -> HR effective time
	leftDay  map[string]int
	hasLegcy map[string]bool
	results  map[int]*reconcile.Result // by day
	acked    time.Time                 // when E013's VPN step was acknowledged
}

const simPeople = 40

func simulate(t testing.TB) *simulation {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	riyadh, err := time.LoadLocation("Asia/Riyadh")
	if err != nil {
		t.Fatal(err)
	}
	sim := &simulation{st: st, riyadh: riyadh, first: time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC),
		leavers: map[string]time.Time{}, leftDay: map[string]int{}, hasLegcy: map[string]bool{}, results: map[int]*reconcile.Result{}}
	hr := &hrList{people: map[string]*sources.Person{}}
	ldap, crm, legacy, vpn := targettest.NewFake(), targettest.NewFake(), targettest.NewFake(), targettest.NewFake()
	for i := 1; i <= simPeople; i++ {
		id := fmt.Sprintf("E%03d", i)
		hr.people[id] = &sources.Person{EmployeeID: id, FirstName: "Person", LastName: fmt.Sprint(i), Email: strings.ToLower(id) + "@example.com",
			Status: sources.Active, HireDate: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
		ldap.Put(targets.Account{ID: "uid=" + strings.ToLower(id), Username: strings.ToLower(id), EmployeeID: id, Enabled: true, Privileged: i <= 2})
		crm.Put(targets.Account{ID: fmt.Sprintf("c-%d", i), Username: "crm" + strings.ToLower(id), EmployeeID: id, Enabled: true})
		if i == 11 || i == 13 {
			vpn.Put(targets.Account{ID: fmt.Sprintf("V%d", i), Username: "vpn" + strings.ToLower(id), EmployeeID: id, Enabled: true})
		}
		if i%4 == 0 {
			legacy.Put(targets.Account{ID: fmt.Sprintf("L%d", i), Username: "leg" + strings.ToLower(id), EmployeeID: id, Enabled: true})
			sim.hasLegcy[id] = true
		}
	}
	pol := reconcile.DefaultPolicy()
	pol.Mode = reconcile.Enforce
	pol.PrivilegedApproved = []reconcile.Approval{
		{Target: "ldap", AccountID: "uid=e001", Approver: "ciso", Reason: "directory administrator"},
		{Target: "ldap", AccountID: "uid=e002", Approver: "cio", Reason: "backup administrator"},
	}
	// E010 leaves on day 5; their crm account is exempt (a payroll
	// hand-over): it stays enabled, covered.
	pol.Exemptions = []reconcile.Exemption{{Target: "crm", AccountID: "c-10", Owner: "payroll", Reason: "year-end hand-over", Approver: "cfo",
		Expires: reconcile.Date{Time: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)}}}
	if err := pol.Validate(); err != nil {
		t.Fatal(err)
	}
	sim.policy = pol
	// Day -> people leaving that day, with how long before the run HR's
	// effective time is (minutes): 10 min meets every tier; 50 min breaches
	// critical only; 3 h breaches critical and standard.
	leave := map[int][]struct {
		id      string
		before  int
		suspend bool
	}{
		3:  {{"E003", 10, false}, {"E004", 50, false}},
		5:  {{"E010", 10, false}, {"E011", 180, false}},
		8:  {{"E012", 30, true}, {"E013", 10, false}, {"E014", 10, false}},
		12: {{"E020", 600, false}},
		// Day 15: crm fails to list; E021's crm account waits for day 16.
		15: {{"E021", 10, false}},
		// Day 18: HR fails; E022 is seen on day 19.
		18: {{"E022", 10, false}},
		20: {{"E024", 5, true}, {"E025", 45, false}},
		// Day 22: ldap fails to list; E026's crm account goes that day,
		// the ldap one on day 23 (the last revocation is not the first
		// target's).
		22: {{"E026", 10, false}},
		27: {{"E028", 10, false}},
	}
	clk := &clock{}
	eng := &reconcile.Engine{Store: st, Log: slog.New(slog.DiscardHandler), Now: clk.Now,
		Retry: reconcile.Retry{Attempts: 2, Base: time.Millisecond, Max: time.Millisecond}}
	for day := 1; day <= 30; day++ {
		asOf := sim.first.AddDate(0, 0, day-1)
		for _, l := range leave[day] {
			p := hr.people[l.id]
			eff := asOf.Add(-time.Duration(l.before) * time.Minute)
			if l.suspend {
				p.Status, p.StatusEffective = sources.Suspended, eff
			} else {
				p.Status, p.TerminationDate, p.StatusEffective = sources.Terminated, eff, eff
			}
			sim.leavers[l.id], sim.leftDay[l.id] = eff, day
		}
		crm.SetFault(nil)
		ldap.SetFault(nil)
		if day == 22 {
			ldap.SetFault(func(op targettest.Op, _ string, _ int) (error, bool) {
				if op == targettest.OpList {
					return errors.New("ldap: server down"), false
				}
				return nil, true
			})
		}
		if day == 15 {
			crm.SetFault(func(op targettest.Op, _ string, _ int) (error, bool) {
				if op == targettest.OpList {
					return errors.New("crm: 503 service unavailable"), false
				}
				return nil, true
			})
		}
		hr.err = nil
		if day == 18 {
			hr.err = errors.New("hr: connection refused")
		}
		if day == 25 {
			// E002 is no longer an administrator: the approval is unused.
			a, _ := ldap.Get("uid=e002")
			a.Privileged = false
			ldap.Put(a)
		}
		if day == 26 {
			// An HR webhook named E028 a day before the run that revokes
			// them (day 27): their clock starts then, as in `accessrecon sla`.
			if err := st.SaveHREvents(ctx, []store.HREvent{{RequestID: "r1", Source: "hr", EmployeeID: "E028", ReceivedAt: asOf.Add(20 * time.Hour)}}); err != nil {
				t.Fatal(err)
			}
		}
		clk.set(asOf)
		spec := reconcile.RunSpec{AsOf: asOf, Job: "nightly", Location: riyadh, Policy: pol,
			Sources: []reconcile.SourceSpec{{Name: "hr", Type: "test", Source: hr}},
			Targets: []reconcile.TargetSpec{
				{Name: "ldap", Type: "fake", Tier: "critical", Target: ldap},
				{Name: "crm", Type: "fake", Tier: "standard", Target: crm},
				{Name: "legacy", Type: "fake", Tier: "low", Target: listOnly{legacy}},
				{Name: "vpn", Type: "fake", Tier: "low", Target: disableOnly{listOnly{vpn}}},
			}}
		res, err := eng.Run(ctx, spec)
		if res == nil {
			t.Fatalf("day %d: %v", day, err)
		}
		sim.runs++
		sim.results[day] = res
		switch day {
		case 8:
			// IT ends E013's VPN sessions by hand and acknowledges the
			// step three hours after the run (accessrecon ack).
			fp := reconcile.Fingerprint(reconcile.TerminatedActive, "vpn", "V13")
			acts, err := st.Actions(ctx, res.Run.ID)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, act := range acts {
				if act.Fingerprint == fp && act.Status == store.ActionManual {
					if _, err := st.AckManualStep(ctx, fp, act.Op, act.Arg, "alice", asOf.Add(3*time.Hour)); err != nil {
						t.Fatal(err)
					}
					n++
				}
			}
			if n == 0 {
				t.Fatalf("day 8: no open manual step of %s to acknowledge", fp)
			}
			sim.acked = asOf.Add(3 * time.Hour)
		case 10:
			// IT disables E004's legacy account by hand, and says nothing:
			// the next run sees it disabled.
			a, _ := legacy.Get("L4")
			a.Enabled = false
			legacy.Put(a)
		}
		want := reconcile.StatusCompleted
		switch day {
		case 15, 22:
			want = reconcile.StatusPartial
		case 18:
			want = reconcile.StatusFailed
		}
		if res.Run.Status != want {
			t.Fatalf("day %d: run %s (%v), want %s", day, res.Run.Status, err, want)
		}
	}
	return sim
}

// day is the start of a simulated day (UTC midnight).
func (s *simulation) day(n int) time.Time { return s.first.AddDate(0, 0, n-1).Truncate(24 * time.Hour) }

// latestVerified is, per leaver, the latest verified revocation step of
// the period's runs, read from the store's actions (not the findings).
func latestVerified(t *testing.T, st *store.Store, from, to time.Time) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	err := st.ActionsBetween(context.Background(), from, to, func(a store.Action) error {
		if a.Verified && (a.Status == "done" || a.Status == store.ActionAcknowledged) && (a.Kind == string(reconcile.TerminatedActive) || a.Kind == string(reconcile.SuspendedActive)) && a.FinishedAt.After(out[a.EmployeeID]) {
			out[a.EmployeeID] = a.FinishedAt
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// slaFigures is `accessrecon sla --since from` (cmd/accessrecon/sla.go),
// recomputed here from the store: revocations per tier and how many were
// within the tier's SLA, the clock starting at HR's effective time or an
// earlier webhook receipt. An account is revoked once its automatic steps
// are verified and every person's step acknowledged, at the later of the
// two.
func slaFigures(t *testing.T, st *store.Store, pol reconcile.Policy, since time.Time) map[string][2]int {
	t.Helper()
	ctx := context.Background()
	rows, err := st.RevokedFindings(ctx, since)
	if err != nil {
		t.Fatal(err)
	}
	acked := map[string]map[[2]string]time.Time{}
	err = st.ActionsBetween(ctx, time.Unix(0, 0), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), func(a store.Action) error {
		if a.Status != store.ActionAcknowledged || !a.Verified {
			return nil
		}
		if acked[a.Fingerprint] == nil {
			acked[a.Fingerprint] = map[[2]string]time.Time{}
		}
		if k := [2]string{a.Op, a.Arg}; a.FinishedAt.After(acked[a.Fingerprint][k]) {
			acked[a.Fingerprint][k] = a.FinishedAt
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][2]int{}
	seen := map[string]bool{}
	for _, r := range rows {
		var f reconcile.Finding
		if err := json.Unmarshal(r.Body, &f); err != nil {
			t.Fatal(err)
		}
		var revoked time.Time
		if f.RevokedAt != nil {
			revoked = *f.RevokedAt
		}
		done := true
		for _, s := range f.Actions {
			if s.Auto {
				done = done && f.RevokedAt != nil
				continue
			}
			at, ok := acked[f.Fingerprint][[2]string{string(s.Op), s.Arg}]
			done = done && ok
			if at.After(revoked) {
				revoked = at
			}
		}
		if !done || revoked.IsZero() || seen[f.Fingerprint+revoked.String()] || f.Disposition == reconcile.Exempt {
			continue
		}
		seen[f.Fingerprint+revoked.String()] = true
		var start time.Time
		if f.EffectiveAt != nil {
			start = *f.EffectiveAt
		}
		hook, err := st.FirstHREvent(ctx, f.EmployeeID, revoked.Add(-30*24*time.Hour), revoked)
		if err != nil {
			t.Fatal(err)
		}
		if !hook.IsZero() && (start.IsZero() || hook.Before(start)) {
			start = hook
		}
		if start.IsZero() || f.EffectiveAt == nil {
			continue
		}
		tier := cmp.Or(f.Tier, "standard")
		c := out[tier]
		c[0]++
		if max(revoked.Sub(start), 0) <= pol.SLA[tier].D() {
			c[1]++
		}
		out[tier] = c
	}
	return out
}

// leaverRows reads the Leavers table (up to the blank row before the
// totals) by employee ID, and the totals by label.
func leaverRows(t *testing.T, rs [][]string) (head []string, byID map[string][]string, totals map[string][]string) {
	t.Helper()
	if len(rs) == 0 {
		t.Fatal("Leavers sheet is empty")
	}
	head, byID, totals = rs[0], map[string][]string{}, map[string][]string{}
	i := 1
	for ; i < len(rs) && len(rs[i]) > 0 && rs[i][0] != ""; i++ {
		if _, dup := byID[rs[i][0]]; dup {
			t.Errorf("Leavers: %s has two rows", rs[i][0])
		}
		byID[rs[i][0]] = rs[i]
	}
	for ; i < len(rs); i++ {
		if len(rs[i]) > 0 && rs[i][0] != "" {
			totals[rs[i][0]] = rs[i]
		}
	}
	return
}

func colPrefix(t *testing.T, head []string, prefix string) int {
	t.Helper()
	for i, h := range head {
		if strings.HasPrefix(h, prefix) {
			return i
		}
	}
	t.Fatalf("no column %q in %q", prefix, head)
	return -1
}

// shown is t as a date-time cell reads: to the minute as the workbook
// formats it (excelize), to the second in LibreOffice's CSV (which writes
// the value, not the format).
func shown(got string, t time.Time) string {
	if len(got) == len("2006-01-02 15:04:05") {
		return t.Format("2006-01-02 15:04:05")
	}
	return t.Format("2006-01-02 15:04")
}

func cell(r []string, i int) string {
	if i < len(r) {
		return r[i]
	}
	return ""
}

// TestPeriodReport drives the real engine through 30 daily runs and checks
// the period report written from the store: one Leavers row per leaver of
// the period, time to full revocation = the latest verified action per
// person (from the store's actions), SLA shares = `accessrecon sla`'s for
// the same period, the other sheets' contents; read with excelize and
// through LibreOffice.
func TestPeriodReport(t *testing.T) {
	sim := simulate(t)
	ctx := context.Background()
	st := sim.st
	runs, err := st.Runs(ctx, 0)
	if err != nil || len(runs) != 30 {
		t.Fatalf("%d runs, %v; want 30", len(runs), err)
	}
	from, to := sim.day(1), sim.day(31)
	verify := &AuditCheck{At: to, Result: store.VerifyResult{StoreRecords: 120, FileRecords: 120, LastHash: "abc123"}}
	book := filepath.Join(t.TempDir(), PeriodFileName(from, to))
	// The configuration as it is when the report is written: an approval
	// was added since for an account that does not exist (a run would
	// refuse it; the report says it is unused).
	pol := sim.policy
	pol.PrivilegedApproved = append(slices.Clone(pol.PrivilegedApproved), reconcile.Approval{Target: "ldap", AccountID: "uid=gone", Approver: "cio", Reason: "left over from the migration"})
	if err := WritePeriod(ctx, st, from, to, book, PeriodOptions{Policy: pol, Location: sim.riyadh, Audit: verify, Now: to}); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(book)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); !slices.Equal(got, PeriodSheets) {
		t.Fatalf("sheets %q, want %q", got, PeriodSheets)
	}
	checkLeavers(t, "excelize", rows(t, f, SheetLeavers), sim, from, to, slaFigures(t, st, sim.policy, from))
	checkPeriodSheets(t, f, sim)

	// A sub-period: days 8 to 14. Its leavers are the people with a
	// terminated or suspended finding in one of its runs (asked of the
	// store's tables directly).
	sub := filepath.Join(t.TempDir(), "sub.xlsx")
	if err := WritePeriod(ctx, st, sim.day(8), sim.day(15), sub, PeriodOptions{Policy: sim.policy, Location: sim.riyadh}); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range runs {
		if r.AsOf.Before(sim.day(8)) || !r.AsOf.Before(sim.day(15)) {
			continue
		}
		bodies, err := st.FindingBodies(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bodies {
			var f reconcile.Finding
			if err := json.Unmarshal(b, &f); err != nil {
				t.Fatal(err)
			}
			if (f.Kind == reconcile.TerminatedActive || f.Kind == reconcile.SuspendedActive) && !slices.Contains(want, f.EmployeeID) {
				want = append(want, f.EmployeeID)
			}
		}
	}
	slices.Sort(want)
	fs, err := excelize.OpenFile(sub)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	_, byID, _ := leaverRows(t, rows(t, fs, SheetLeavers))
	got := make([]string, 0, len(byID))
	for id := range byID {
		got = append(got, id)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) || len(want) == 0 {
		t.Errorf("sub-period leavers %q, want %q", got, want)
	}
	if rs := rows(t, fs, SheetSummary); !strings.Contains(fmt.Sprint(rs), "not checked for this report") {
		t.Errorf("sub-period summary does not say the audit trail was not checked")
	}

	// Through LibreOffice: the same Leavers rows.
	bin := soffice(t)
	out := filepath.Join(t.TempDir(), "csv")
	convert(t, bin, csvFilter, out, book)
	base := strings.TrimSuffix(filepath.Base(book), ".xlsx")
	checkLeavers(t, "LibreOffice", readCSV(t, filepath.Join(out, base+"-"+SheetLeavers+".csv")), sim, from, to, slaFigures(t, st, sim.policy, from))

	// Printed: every page legible (no squeezing), the Leavers header row
	// repeated on each of its pages.
	pdfDir := filepath.Join(t.TempDir(), "pdf")
	convert(t, bin, "pdf", pdfDir, book)
	leaverPages := 0
	for i, p := range pdfPages(t, filepath.Join(pdfDir, base+".pdf")) {
		if len(p.heights) == 0 {
			continue
		}
		h := slices.Clone(p.heights)
		slices.Sort(h)
		if med := h[len(h)/2]; med < 8.3 {
			t.Errorf("period report page %d: median word height %.2f pt, want at least 8.3 (first words %q)", i+1, med, p.words[:min(8, len(p.words))])
		}
		if slices.ContainsFunc(p.words, func(w string) bool { return strings.HasPrefix(w, "E0") && len(w) == 4 }) && slices.Contains(p.words, "Effective") {
			leaverPages++
		}
	}
	if leaverPages == 0 {
		t.Errorf("no printed page shows leavers under the Leavers header")
	}
	if pages := os.Getenv("ACCESSRECON_XLSX_PAGES"); pages != "" {
		renderPages(t, bin, book, pages, "period-", PeriodSheets)
	}
}

func checkLeavers(t *testing.T, via string, rs [][]string, sim *simulation, from, to time.Time, sla map[string][2]int) {
	t.Helper()
	head, byID, totals := leaverRows(t, rs)
	// One row per leaver of the period.
	var want, got []string
	for id := range sim.leavers {
		want = append(want, id)
	}
	for id := range byID {
		got = append(got, id)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: Leavers rows %q, want one per leaver %q", via, got, want)
	}
	full, hours, status := colPrefix(t, head, "Fully revoked"), colPrefix(t, head, "Hours"), colPrefix(t, head, "Status")
	eff := colPrefix(t, head, "Effective")
	verified := latestVerified(t, sim.st, from, to)
	for id, r := range byID {
		if got, want := cell(r, eff), shown(cell(r, eff), sim.leavers[id].In(sim.riyadh)); got != want {
			t.Errorf("%s: %s effective %q, want %q (Riyadh)", via, id, got, want)
		}
		last := verified[id]
		switch {
		case id == "E004":
			// Disabled by hand on day 10, seen disabled by the run of
			// day 11: revoked by then.
			want := sim.first.AddDate(0, 0, 10)
			if got := cell(r, full); got != shown(got, want.In(sim.riyadh)) || !strings.Contains(strings.Join(r, " "), "revoked outside accessrecon") {
				t.Errorf("%s: E004 row %q: want revoked outside accessrecon, by %v", via, r, want.In(sim.riyadh))
			}
			continue
		case id == "E011":
			// The VPN session step is a person's, never acknowledged.
			if cell(r, full) != "" || !strings.Contains(strings.Join(r, " "), "manual step open") {
				t.Errorf("%s: E011 row %q: want the VPN step open", via, r)
			}
			continue
		case id == "E013":
			// Acknowledged by a person on day 8: the latest verified action.
			if !last.Equal(sim.acked) || sim.acked.IsZero() || !strings.Contains(strings.Join(r, " "), "done by alice (acknowledged)") {
				t.Errorf("%s: E013 row %q: want the acknowledgement %v as the latest verified action (%v)", via, r, sim.acked, last)
			}
		case sim.hasLegcy[id]:
			// A manual target: never fully revoked.
			if cell(r, full) != "" || cell(r, status) == leaverMet {
				t.Errorf("%s: %s has a manual account open, row says fully revoked %q, %s", via, id, cell(r, full), cell(r, status))
			}
			continue
		case last.IsZero():
			t.Errorf("%s: %s has no verified action in the store", via, id)
			continue
		}
		if got, want := cell(r, full), shown(cell(r, full), last.In(sim.riyadh)); got != want {
			t.Errorf("%s: %s fully revoked %q, want the latest verified action %q", via, id, got, want)
		}
		start := sim.leavers[id]
		if id == "E028" {
			start = sim.day(26).Add(22 * time.Hour) // the webhook
		}
		var h float64
		if _, err := fmt.Sscan(cell(r, hours), &h); err != nil || math.Abs(h-last.Sub(start).Hours()) > 0.01 {
			t.Errorf("%s: %s hours %q, want %.2f", via, id, cell(r, hours), last.Sub(start).Hours())
		}
	}
	for id, want := range map[string]string{"E003": leaverMet, "E013": leaverMet, "E026": leaverBreached, "E011": leaverBreached,
		"E004": leaverBreached, "E028": leaverBreached, "E020": leaverBreached, "E008": ""} {
		if got := cell(byID[id], status); got != want {
			t.Errorf("%s: %s status %q, want %q", via, id, got, want)
		}
	}
	if got, want := cell(byID["E026"], full), shown(cell(byID["E026"], full), verified["E026"].In(sim.riyadh)); got != want || !strings.HasPrefix(got, "2026-03-23") {
		t.Errorf("%s: E026 fully revoked %q, want %q on day 23", via, got, want)
	}
	// E010's crm account is exempt: covered, not open.
	if r := byID["E010"]; !strings.Contains(strings.Join(r, " "), "exempt until 2026-12-31") || cell(r, status) != leaverMet {
		t.Errorf("%s: E010 row %q: want the exemption named and met", via, r)
	}
	// Suspended E012 is a leaver with status suspended.
	if r := byID["E012"]; !slices.Contains(r, "suspended") {
		t.Errorf("%s: E012 row %q, want HR status suspended", via, r)
	}
	// The legacy accounts are manual steps still open.
	if r := byID["E020"]; !strings.Contains(strings.Join(r, " "), "manual step open") {
		t.Errorf("%s: E020 row %q, want the manual step on legacy open", via, r)
	}
	// Per-account shares are `accessrecon sla`'s.
	total := [2]int{}
	for tier, c := range sla {
		r := totals[tier]
		if r == nil {
			t.Errorf("%s: no totals row for tier %s (have %q)", via, tier, totals)
			continue
		}
		if got, want := cell(r, 8), fmt.Sprintf("%d of %d", c[1], c[0]); got != want {
			t.Errorf("%s: tier %s revocations within SLA %q, want %q as accessrecon sla", via, tier, got, want)
		}
		total[0] += c[0]
		total[1] += c[1]
	}
	if got, want := cell(totals["overall"], 8), fmt.Sprintf("%d of %d", total[1], total[0]); got != want {
		t.Errorf("%s: overall revocations within SLA %q, want %q as accessrecon sla", via, got, want)
	}
	if total[0] == 0 || total[1] == total[0] || total[1] == 0 {
		t.Errorf("%s: the simulation should revoke some accounts within SLA and some late: %v", via, total)
	}
}

func checkPeriodSheets(t *testing.T, f *excelize.File, sim *simulation) {
	t.Helper()
	summary := fmt.Sprint(rows(t, f, SheetSummary))
	// Exceptions closed in the period: the two guard trips (the next run
	// collected the target again), E004's legacy account (disabled by
	// hand) and E013's VPN step (acknowledged). Still open: the legacy
	// accounts of E012, E020, E024, E028 and E011's VPN step.
	if !strings.Contains(summary, "[Closed in the period 4] [Still open at the period's last run 5]") {
		t.Errorf("Summary does not count 4 exceptions closed and 5 still open: %s", summary)
	}
	for _, want := range []string{"[Verification passed] [Records in the store 120] [Records in the file 120] [Last hash abc123]", "failed 1", "partial 2", "completed 27", ControlReference} {
		if !strings.Contains(summary, want) {
			t.Errorf("Summary lacks %q", want)
		}
	}
	// Guard trips and failures: the failed run (HR) and crm's collection.
	runs := fmt.Sprint(rows(t, f, SheetPeriodRuns))
	for _, want := range []string{"hr: connection refused", "crm: 503 service unavailable", "ldap: server down", "collection failed"} {
		if !strings.Contains(runs, want) {
			t.Errorf("%s lacks %q: %s", SheetPeriodRuns, want, runs)
		}
	}
	// Approvals (checked against day 30): E001 still privileged, E002 no
	// longer, uid=gone does not exist; the exemption's account exists.
	ap := rows(t, f, SheetApprovals)
	byAcct := map[string][]string{}
	for _, r := range ap[1:] {
		byAcct[cell(r, 2)] = r
	}
	last := len(ap[0]) - 1
	if got := cell(byAcct["uid=e002"], 3); got != "e002" {
		t.Errorf("Approvals uid=e002: username %q, want e002 (from the run's accounts)", got)
	}
	for acct, want := range map[string]string{"uid=e001": "Yes: exists and privileged", "uid=e002": "No: the account is no longer privileged",
		"uid=gone": "No: the account no longer exists", "c-10": "Yes: the account exists"} {
		if got := cell(byAcct[acct], last); got != want {
			t.Errorf("Approvals %s: still used %q, want %q", acct, got, want)
		}
	}
	// Exceptions: the legacy manual steps are open; the crm and ldap guard
	// trips (review) were closed by the next run.
	ex := rows(t, f, SheetPeriodExceptions)
	st := colPrefix(t, ex[0], "Status")
	open, closed := 0, 0
	for _, r := range ex[1:] {
		switch {
		case cell(r, 1) == string(reconcile.TerminatedActive) && cell(r, 4) == "legacy" && cell(r, st) == "still open":
			open++
		case cell(r, 1) == string(reconcile.GuardTripped) && cell(r, st) == "closed":
			closed++
		}
	}
	legacyLeavers := 0
	for id := range sim.leavers {
		if sim.hasLegcy[id] && id != "E012" && id != "E024" && id != "E004" {
			legacyLeavers++
		}
	}
	if open != legacyLeavers || closed != 2 {
		t.Errorf("Exceptions: %d legacy terminations still open (want %d), %d guard trips closed (want 2)", open, legacyLeavers, closed)
	}
	if !slices.ContainsFunc(ex[1:], func(r []string) bool { return cell(r, 5) == "L4" && cell(r, st) == "closed" }) {
		t.Errorf("Exceptions: E004's legacy termination (acknowledged, then seen disabled) is not closed")
	}
	// SLA by month: every revocation is in March (Riyadh).
	for _, r := range rows(t, f, SheetPeriodSLA)[1:] {
		if !strings.HasPrefix(cell(r, 0), "2026-03") && !strings.HasPrefix(cell(r, 0), "still open") {
			t.Errorf("SLA by month row %q", r)
		}
	}
}

// TestRunLeaversAndApprovals writes one run's workbook (day 20 of the
// simulation: E024 suspended, E025 terminated) and checks its Leavers and
// Approvals sheets: one row per person the run found gone, time to full
// revocation = the run's latest verified action for the person
// (Result.Actions), and each approval's use checked against the run's
// accounts through Options.Store.
func TestRunLeaversAndApprovals(t *testing.T) {
	sim := simulate(t)
	res := sim.results[20]
	path := filepath.Join(t.TempDir(), FileName(res))
	if err := Write(path, res, Options{Store: sim.st, Now: res.Run.AsOf}); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); !slices.Equal(got[len(got)-4:], []string{SheetLeavers, SheetApprovals, SheetDrills, SheetUpcoming}) {
		t.Errorf("sheets %q: want Leavers, Approvals, Drills and Upcoming leavers last", got)
	}
	head, byID, totals := leaverRows(t, rows(t, f, SheetLeavers))
	// Every person HR says is gone with an account still to revoke on day
	// 20: the two who left that day, the earlier leavers whose legacy
	// account (manual) is still enabled (E004's was disabled by hand on day
	// 10), E011 whose VPN step is open, and E010 whose crm account is
	// exempt.
	want := []string{"E024", "E025", "E010", "E011"}
	for id := range sim.leavers {
		if sim.hasLegcy[id] && sim.leftDay[id] < 20 && id != "E004" {
			want = append(want, id)
		}
	}
	var got []string
	for id := range byID {
		got = append(got, id)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Leavers rows %q, want %q", got, want)
	}
	full := colPrefix(t, head, "Fully revoked")
	last := map[string]time.Time{}
	for _, a := range res.Actions {
		if a.Verified && a.Status == "done" && a.FinishedAt.After(last[a.EmployeeID]) {
			last[a.EmployeeID] = a.FinishedAt
		}
	}
	if r := byID["E025"]; cell(r, full) != last["E025"].In(sim.riyadh).Format("2006-01-02 15:04") || last["E025"].IsZero() {
		t.Errorf("E025 fully revoked %q, want the run's latest verified action %v", cell(r, full), last["E025"].In(sim.riyadh))
	}
	// E024 has a legacy account: not fully revoked, the manual step open.
	if r := byID["E024"]; cell(r, full) != "" || !strings.Contains(strings.Join(r, " "), "manual step open") {
		t.Errorf("E024 row %q: want the legacy step open", r)
	}
	if totals["overall"] == nil {
		t.Errorf("no overall share below the Leavers table: %q", totals)
	}

	ap := rows(t, f, SheetApprovals)
	used := map[string]string{}
	for _, r := range ap[1:] {
		used[cell(r, 2)] = cell(r, len(ap[0])-1)
	}
	for acct, want := range map[string]string{"uid=e001": "Yes: exists and privileged", "uid=e002": "Yes: exists and privileged", "c-10": "Yes: the account exists"} {
		if used[acct] != want {
			t.Errorf("Approvals %s: %q, want %q", acct, used[acct], want)
		}
	}

	// Without the store, the use of each approval is unknown, said so.
	if err := Write(path, res, Options{Now: res.Run.AsOf}); err != nil {
		t.Fatal(err)
	}
	f2, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	for _, r := range rows(t, f2, SheetApprovals)[1:] {
		if !strings.HasPrefix(r[len(r)-1], "unknown") {
			t.Errorf("Approvals without a store: %q", r)
		}
	}
}

// TestPeriodLeavesOutDrillRuns: the findings of a drill's run (canaries) are
// no leavers, exceptions or SLA figures of the period report; the drill is on
// the Drills sheet.
func TestPeriodLeavesOutDrillRuns(t *testing.T) {
	sim := simulate(t)
	ctx := context.Background()
	st := sim.st
	runs, err := st.Runs(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The people with leaver findings in one run only, by run.
	only := map[int64][]string{}
	runsOf := map[string][]int64{}
	for _, r := range runs {
		bodies, err := st.FindingBodies(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bodies {
			var f reconcile.Finding
			if err := json.Unmarshal(b, &f); err != nil {
				t.Fatal(err)
			}
			if (f.Kind == reconcile.TerminatedActive || f.Kind == reconcile.SuspendedActive) && !slices.Contains(runsOf[f.EmployeeID], r.ID) {
				runsOf[f.EmployeeID] = append(runsOf[f.EmployeeID], r.ID)
			}
		}
	}
	var drillRun int64
	for id, rs := range runsOf {
		if len(rs) == 1 {
			only[rs[0]] = append(only[rs[0]], id)
			if drillRun == 0 || len(only[rs[0]]) > len(only[drillRun]) {
				drillRun = rs[0]
			}
		}
	}
	if drillRun == 0 {
		t.Fatal("no run holds a leaver alone: the simulation changed")
	}
	from, to := sim.day(1), sim.day(31)
	leaversIn := func(path string) map[string][]string {
		if err := WritePeriod(ctx, st, from, to, path, PeriodOptions{Policy: sim.policy, Location: sim.riyadh, Now: to}); err != nil {
			t.Fatal(err)
		}
		f, err := excelize.OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		_, byID, _ := leaverRows(t, rows(t, f, SheetLeavers))
		return byID
	}
	before := leaversIn(filepath.Join(t.TempDir(), "before.xlsx"))
	for _, id := range only[drillRun] {
		if before[id] == nil {
			t.Fatalf("%s is no leaver of the period before the drill is recorded", id)
		}
	}
	var started time.Time
	for _, r := range runs {
		if r.ID == drillRun {
			started = r.StartedAt
		}
	}
	if _, err := st.SaveDrill(ctx, store.Drill{RunID: drillRun, StartedAt: started, FinishedAt: started.Add(time.Minute), Scenario: "terminate", By: "Auditor A", Passed: true}); err != nil {
		t.Fatal(err)
	}
	after := leaversIn(filepath.Join(t.TempDir(), "after.xlsx"))
	for _, id := range only[drillRun] {
		if after[id] != nil {
			t.Errorf("%s, whose only leaver finding is the drill run %d's, is a leaver of the period report", id, drillRun)
		}
	}
	if len(after) != len(before)-len(only[drillRun]) {
		t.Errorf("%d leavers after the drill is recorded, want %d - %d", len(after), len(before), len(only[drillRun]))
	}
}
