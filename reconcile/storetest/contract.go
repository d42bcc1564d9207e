// Package storetest is the contract suite every implementation of
// reconcile.Store runs (reconcile/store on SQLite, reconcile/pgstore on
// PostgreSQL, the engine tests' in-memory store): the same assertions
// against each, so that what the engine's tests show on one holds on the
// others.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

// Store is a reconcile.Store with what the suite needs to set one up and
// inspect it; every implementation has these.
type Store interface {
	reconcile.Store
	reconcile.SnapshotHistory
	AllFindingStates(ctx context.Context) (map[string]reconcile.FindingState, error)
	GetRun(ctx context.Context, id int64) (reconcile.Run, error)
	Actions(ctx context.Context, runID int64) ([]reconcile.Action, error)
	AddHold(ctx context.Context, h reconcile.Hold) (int64, error)
}

// Run holds the stores that open returns to what reconcile.Store
// documents. open is called once per subtest and must return an empty
// store (cleaned up by t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) Store) {
	t.Run("runs and baselines", func(t *testing.T) { contractBaselines(t, open(t)) })
	t.Run("snapshots", func(t *testing.T) { contractSnapshots(t, open(t)) })
	t.Run("delta snapshots", func(t *testing.T) { contractDeltas(t, open(t)) })
	t.Run("a batch of many accounts", func(t *testing.T) { contractLargeBatch(t, open(t)) })
	t.Run("findings", func(t *testing.T) { contractFindings(t, open(t)) })
	t.Run("open findings", func(t *testing.T) { contractOpenFindings(t, open(t)) })
	t.Run("finding history", func(t *testing.T) { contractHistory(t, open(t)) })
	t.Run("finding history, bodies loaded", func(t *testing.T) { contractHistorySpooled(t, open(t)) })
	t.Run("last seen", func(t *testing.T) { contractLastSeen(t, open(t)) })
	t.Run("actions", func(t *testing.T) { contractActions(t, open(t)) })
	t.Run("holds", func(t *testing.T) { contractHolds(t, open(t)) })
}

var contractT0 = time.Date(2026, 3, 1, 9, 30, 0, 0, time.FixedZone("AST", 3*3600))

func beginRun(t *testing.T, st reconcile.Store, r reconcile.Run) int64 {
	t.Helper()
	id, err := st.BeginRun(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func contractBaselines(t *testing.T, st Store) {
	ctx := context.Background()
	type run struct {
		scope     string
		dry, susp bool
		status    reconcile.Status
		app       reconcile.CollectionStatus
	}
	runs := []run{
		{scope: "full", status: reconcile.StatusCompleted, app: reconcile.CollectionOK},            // 1
		{scope: "full", dry: true, status: reconcile.StatusCompleted, app: reconcile.CollectionOK}, // 2
		{scope: "people:E1", status: reconcile.StatusCompleted, app: reconcile.CollectionOK},       // 3
		{scope: "full", susp: true, status: reconcile.StatusGuardTripped, app: reconcile.CollectionOK},
		{scope: "full", status: reconcile.StatusFailed, app: reconcile.CollectionOK},       // 5
		{scope: "full", status: reconcile.StatusPartial, app: reconcile.CollectionPartial}, // 6
		{scope: "full", status: reconcile.StatusCancelled, app: reconcile.CollectionOK},    // 7
	}
	var last int64
	for i, r := range runs {
		id := beginRun(t, st, reconcile.Run{AsOf: contractT0, StartedAt: contractT0, Mode: "enforce", Scope: r.scope, DryRun: r.dry, Status: reconcile.StatusCompleted})
		if id <= last {
			t.Fatalf("run %d has ID %d after %d", i+1, id, last)
		}
		last = id
		if got, err := st.GetRun(ctx, id); err != nil || got.Status != reconcile.StatusRunning {
			t.Fatalf("begun run %d: status %q (%v), want running whatever Run.Status says", id, got.Status, err)
		}
		if err := st.SaveCollection(ctx, reconcile.Collection{RunID: id, Side: reconcile.SideTarget, Name: "app", Type: "fake", Status: r.app, StartedAt: "x"}); err != nil {
			t.Fatal(err)
		}
		fin := reconcile.Run{ID: id, FinishedAt: contractT0.Add(time.Minute), Status: r.status, Mode: "report", HRSuspect: r.susp,
			Guards: []string{"g"}, Counts: map[string]int{"people": i}, Error: "e"}
		if err := st.FinishRun(fin); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetRun(ctx, id)
		if err != nil || got.Status != r.status || got.Mode != "report" || got.HRSuspect != r.susp || got.Error != "e" || !got.FinishedAt.Equal(fin.FinishedAt) ||
			!slices.Equal(got.Guards, fin.Guards) || !maps.Equal(got.Counts, fin.Counts) || got.Scope != r.scope || got.DryRun != r.dry || !got.AsOf.Equal(contractT0) {
			t.Fatalf("finished run %d: %+v (%v), want %+v", id, got, err, fin)
		}
	}
	for _, c := range []struct {
		before int64
		want   int64
	}{{8, 6}, {6, 1}, {2, 1}, {1, 0}} {
		if got, err := st.PrevHRRun(ctx, c.before); err != nil || got != c.want {
			t.Errorf("PrevHRRun(%d) = %d, %v; want %d", c.before, got, err, c.want)
		}
	}
	for _, c := range []struct {
		side   reconcile.Side
		before int64
		want   int64
	}{{reconcile.SideTarget, 8, 4}, {reconcile.SideTarget, 4, 1}, {reconcile.SideSource, 8, 0}} {
		if got, err := st.LastGoodCollection(ctx, c.side, "app", c.before); err != nil || got != c.want {
			t.Errorf("LastGoodCollection(%s, app, %d) = %d, %v; want %d", c.side, c.before, got, err, c.want)
		}
	}
	// A collection saved again replaces the run's earlier record.
	if err := st.SaveCollection(ctx, reconcile.Collection{RunID: 4, Side: reconcile.SideTarget, Name: "app", Type: "fake", Status: reconcile.CollectionFailed, StartedAt: "x"}); err != nil {
		t.Fatal(err)
	}
	if got, err := st.LastGoodCollection(ctx, reconcile.SideTarget, "app", 8); err != nil || got != 1 {
		t.Errorf("after run 4's collection failed: LastGoodCollection = %d, %v; want 1", got, err)
	}
	if err := st.CheckLease(ctx); err != nil {
		t.Errorf("CheckLease without a lease: %v", err)
	}
}

func contractSnapshots(t *testing.T, st Store) {
	ctx := context.Background()
	id := beginRun(t, st, reconcile.Run{AsOf: contractT0, StartedAt: contractT0, Mode: "report", Scope: "full"})
	hired := contractT0.AddDate(-1, 0, 0)
	e2 := &reconcile.PersonRow{Person: sources.Person{EmployeeID: "E2", Email: "e2@x", FirstName: "A", LastName: "B", Status: sources.Terminated,
		TerminationDate: contractT0, HireDate: hired, StatusEffective: contractT0, Department: "D", JobCode: "ENG", ManagerID: "M", WorkerType: "employee"},
		PrevJobCode: "SALES", JobChangedAt: hired}
	e10 := &reconcile.PersonRow{Person: sources.Person{EmployeeID: "E10", Status: sources.Active}}
	e1 := &reconcile.PersonRow{Person: sources.Person{EmployeeID: "E1", Status: sources.Leave}}
	for _, batch := range [][]*reconcile.PersonRow{{e2, e10}, {e1}} {
		if err := st.SavePeople(ctx, id, batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.FinishPeople(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	var got []reconcile.PersonRow
	for p, err := range st.People(ctx, id) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	if len(got) != 3 || got[0].EmployeeID != "E1" || got[1].EmployeeID != "E10" || got[2].EmployeeID != "E2" {
		t.Fatalf("people %+v, want E1, E10, E2 in employee ID order", got)
	}
	p := got[2]
	if p.Email != "e2@x" || p.Name() != "A B" || p.Status != sources.Terminated || !p.TerminationDate.Equal(contractT0) || !p.HireDate.Equal(hired) ||
		!p.StatusEffective.Equal(contractT0) || p.Department != "D" || p.JobCode != "ENG" || p.ManagerID != "M" || p.WorkerType != "employee" ||
		p.PrevJobCode != "SALES" || !p.JobChangedAt.Equal(hired) {
		t.Errorf("E2 read back as %+v, want %+v", p, *e2)
	}
	for range st.People(ctx, id) {
		break // a consumer that stops early
	}
	// HRStates: what People yields of each person that a later run
	// compares, in the same order.
	var hrStates []reconcile.HRState
	for p, err := range st.HRStates(ctx, id) {
		if err != nil {
			t.Fatal(err)
		}
		hrStates = append(hrStates, p)
	}
	var wantHR []reconcile.HRState
	for _, p := range got {
		wantHR = append(wantHR, reconcile.HRState{EmployeeID: p.EmployeeID, Status: p.Status, JobCode: p.JobCode, PrevJobCode: p.PrevJobCode,
			TerminationDate: p.TerminationDate, JobChangedAt: p.JobChangedAt})
	}
	if !slices.EqualFunc(hrStates, wantHR, func(a, b reconcile.HRState) bool {
		return a.EmployeeID == b.EmployeeID && a.Status == b.Status && a.JobCode == b.JobCode && a.PrevJobCode == b.PrevJobCode &&
			a.TerminationDate.Equal(b.TerminationDate) && a.JobChangedAt.Equal(b.JobChangedAt)
	}) {
		t.Errorf("HR states %+v, want %+v", hrStates, wantHR)
	}
	if e := hrStates[2]; e.EmployeeID != "E2" || !e.TerminationDate.Equal(contractT0) || !e.JobChangedAt.Equal(hired) || e.PrevJobCode != "SALES" {
		t.Errorf("E2's HR state %+v", e)
	}
	for range st.HRStates(ctx, id) {
		break
	}

	groups := []targets.Group{{ID: "cn=eng", Name: "eng"}, {ID: "admins", Name: "admins"}}
	accounts := []targets.Account{
		{ID: "A1", Username: "u1", Email: "u1@x", EmployeeID: "E1", DisplayName: "U One", Enabled: true, LoginTracked: true, LastLogin: contractT0,
			Created: hired, Privileged: true, Groups: groups,
			Credentials: []targets.Credential{{ID: "k1", Kind: "access_key", Active: true, Created: hired, LastUsed: contractT0}}},
		{ID: "A2", Username: "u2"},
	}
	if err := st.SaveAccounts(ctx, id, "app", accounts, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.FinishAccounts(ctx, id, "app", true); err != nil {
		t.Fatal(err)
	}
	states, err := st.AccountStates(ctx, id, "app")
	want := map[string]reconcile.AccountState{"A1": {Enabled: true, Privileged: true, Groups: reconcile.JoinGroups(groups)}, "A2": {}}
	if err != nil || !maps.Equal(states, want) {
		t.Errorf("AccountStates = %+v, %v; want %+v", states, err, want)
	}
	if states, err := st.AccountStates(ctx, id, "other"); err != nil || len(states) != 0 {
		t.Errorf("AccountStates of a target not saved = %+v, %v", states, err)
	}
	a, found, err := st.SnapshotAccount(ctx, id, "app", "A1")
	wantA := targets.Account{ID: "A1", Username: "u1", Email: "u1@x", EmployeeID: "E1", DisplayName: "U One", Enabled: true, LastLogin: contractT0,
		Privileged: true, Groups: groups, Credentials: []targets.Credential{{ID: "k1", Kind: "access_key", Active: true}}}
	if err != nil || !found || !a.LastLogin.Equal(wantA.LastLogin) {
		t.Fatalf("SnapshotAccount(A1) = %+v, %v, %v", a, found, err)
	}
	a.LastLogin = wantA.LastLogin
	if !reflect.DeepEqual(a, wantA) {
		t.Errorf("SnapshotAccount(A1) = %+v, want %+v", a, wantA)
	}
	if _, found, err := st.SnapshotAccount(ctx, id, "app", "A9"); found || err != nil {
		t.Errorf("SnapshotAccount of an account not saved: found %v, %v", found, err)
	}
	if err := st.SaveDrift(ctx, id, []reconcile.DriftRow{{Side: reconcile.SideHR, Subject: "E1", Kind: "hired"}}); err != nil {
		t.Fatal(err)
	}
}

func contractFindings(t *testing.T, st Store) {
	ctx := context.Background()
	day := func(n int) time.Time { return contractT0.AddDate(0, 0, n) }
	row := func(fp, kind string, first time.Time) reconcile.FindingRow {
		return reconcile.FindingRow{Fingerprint: fp, Kind: kind, Severity: "high", Disposition: "review", Target: "app", AccountID: "acct-" + fp, FirstSeen: first, Body: []byte(`{}`)}
	}
	all := func(kind, target string) bool { return true }
	none := func(kind, target string) bool { return false }
	onlyKind := func(k string) func(string, string) bool { return func(kind, _ string) bool { return kind == k } }

	r1 := beginRun(t, st, reconcile.Run{AsOf: day(1), StartedAt: day(1), Mode: "report", Scope: "full"})
	if res, err := st.SaveFindings(ctx, r1, day(1), reconcile.SortedRows(row("a", "orphaned", day(1)), row("b", "dormant", day(1))), all); err != nil || len(res) != 0 {
		t.Fatalf("run 1: resolved %+v, %v", res, err)
	}
	r2 := beginRun(t, st, reconcile.Run{AsOf: day(2), StartedAt: day(2), Mode: "report", Scope: "full"})
	res, err := st.SaveFindings(ctx, r2, day(2), reconcile.SortedRows(row("a", "orphaned", day(2))), onlyKind("dormant"))
	if err != nil || len(res) != 1 || res[0].Fingerprint != "b" || res[0].Kind != "dormant" || res[0].Target != "app" || res[0].AccountID != "acct-b" ||
		!res[0].FirstSeen.Equal(day(1)) || !res[0].Resolved || !res[0].ResolvedAt.Equal(day(2)) {
		t.Fatalf("run 2 resolved %+v, %v; want b, first seen day 1, resolved day 2", res, err)
	}
	open := OpenStates(t, st)
	if len(open) != 1 || !open["a"].FirstSeen.Equal(day(1)) || !open["a"].LastSeen.Equal(day(2)) || open["a"].LastRun != r2 || open["a"].Resolved {
		t.Fatalf("open after run 2: %+v; want a, first seen day 1 (kept), last seen day 2 in run %d", open, r2)
	}
	// b returns: its first-seen date restarts. a is not reported, and the
	// run says it did not look for it: a stays open.
	r3 := beginRun(t, st, reconcile.Run{AsOf: day(3), StartedAt: day(3), Mode: "report", Scope: "full"})
	if res, err := st.SaveFindings(ctx, r3, day(3), reconcile.SortedRows(row("b", "dormant", day(3))), none); err != nil || len(res) != 0 {
		t.Fatalf("run 3 resolved %+v, %v; want nothing", res, err)
	}
	open = OpenStates(t, st)
	if len(open) != 2 || !open["b"].FirstSeen.Equal(day(3)) || !open["a"].FirstSeen.Equal(day(1)) || open["a"].LastRun != r2 {
		t.Fatalf("open after run 3: %+v", open)
	}
	// A run saves its findings once (findings are events between saves):
	// a second save of run 3 fails and changes nothing.
	if _, err := st.SaveFindings(ctx, r3, day(3), reconcile.SortedRows(row("c", "dormant", day(3))), all); err == nil {
		t.Fatal("a second SaveFindings of run 3 succeeded, want an error")
	}
	if open = OpenStates(t, st); len(open) != 2 {
		t.Fatalf("open after a refused save: %+v", open)
	}
	// A body that cannot be loaded fails the save, which changes nothing.
	r4 := beginRun(t, st, reconcile.Run{AsOf: day(4), StartedAt: day(4), Mode: "report", Scope: "full"})
	lost := row("d", "dormant", day(4))
	lost.Hash, lost.Body = reconcile.ContentHash(&lost, lost.Body), nil
	lost.LoadBody = func() ([]byte, error) { return nil, errors.New("spool gone") }
	if _, err := st.SaveFindings(ctx, r4, day(4), reconcile.SortedRows(row("b", "dormant", day(3)), lost), all); err == nil || !strings.Contains(err.Error(), "spool gone") {
		t.Fatalf("a save whose body could not be loaded: %v, want its error", err)
	}
	if open = OpenStates(t, st); len(open) != 2 || open["b"].LastRun != r3 {
		t.Fatalf("open after a failed save: %+v", open)
	}
	// Rows out of fingerprint order, or a fingerprint twice, fail the save
	// of the same run, which changes nothing.
	for _, rows := range []reconcile.FindingRows{
		reversed{reconcile.SortedRows(row("b", "dormant", day(3)), row("e", "dormant", day(4)))},
		reconcile.SortedRows(row("e", "dormant", day(4)), row("e", "dormant", day(4))),
	} {
		if _, err := st.SaveFindings(ctx, r4, day(4), rows, all); err == nil {
			t.Fatalf("a save of rows %v succeeded, want an error", keys(rows))
		}
		if open = OpenStates(t, st); len(open) != 2 || open["b"].LastRun != r3 {
			t.Fatalf("open after a save of rows %v: %+v", keys(rows), open)
		}
	}
	// A run that saves after a later one (serve's jobs overlap) resolves
	// nothing that the later one saw.
	early := beginRun(t, st, reconcile.Run{AsOf: day(5), StartedAt: day(5), Mode: "report", Scope: "full"})
	late := beginRun(t, st, reconcile.Run{AsOf: day(5), StartedAt: day(5), Mode: "report", Scope: "full"})
	if _, err := st.SaveFindings(ctx, late, day(5), reconcile.SortedRows(row("a", "orphaned", day(1)), row("b", "dormant", day(3)), row("f", "dormant", day(5))), all); err != nil {
		t.Fatal(err)
	}
	if res, err := st.SaveFindings(ctx, early, day(5), reconcile.SortedRows(row("a", "orphaned", day(1)), row("b", "dormant", day(3))), all); err != nil || len(res) != 0 {
		t.Fatalf("the earlier run resolved %+v, %v; want nothing", res, err)
	}
	if open = OpenStates(t, st); len(open) != 3 || open["f"].Resolved || open["f"].LastRun != late {
		t.Fatalf("open after an earlier run saved: %+v; want f open, last seen by run %d", open, late)
	}
}

// reversed are rows in the reverse of their order.
type reversed struct{ reconcile.FindingRows }

func (r reversed) Key(i int) (string, []byte)     { return r.FindingRows.Key(r.Len() - 1 - i) }
func (r reversed) Row(i int) reconcile.FindingRow { return r.FindingRows.Row(r.Len() - 1 - i) }
func (r reversed) Body(i int) ([]byte, error)     { return r.FindingRows.Body(r.Len() - 1 - i) }

func keys(rows reconcile.FindingRows) []string {
	var fps []string
	for i := range rows.Len() {
		fp, _ := rows.Key(i)
		fps = append(fps, fp)
	}
	return fps
}

// contractOpenFindings checks OpenFindings on fingerprints as the engine
// makes them (16 lower-case hex digits, which reconcile.OpenFindings holds
// compactly) beside others (upper case, longer), with Jira keys, first-seen
// dates kept across runs and a zone other than UTC, and resolutions.
func contractOpenFindings(t *testing.T, st Store) {
	ctx := context.Background()
	hs, ok := st.(HistoryStore)
	if !ok {
		t.Fatalf("%T has no SetJiraKey", st)
	}
	t0 := contractT0.Add(123 * time.Millisecond)
	day := func(n int) time.Time { return t0.AddDate(0, 0, n) }
	fp := func(i int) string { return reconcile.Fingerprint(reconcile.Dormant, "app", fmt.Sprintf("acct-%d", i)) }
	upper := strings.ToUpper(fp(0)) // a different fingerprint from fp(0)
	long := fp(1) + "-x"
	row := func(fp string, first time.Time) reconcile.FindingRow {
		return reconcile.FindingRow{Fingerprint: fp, Kind: "dormant", Severity: "low", Disposition: "review", Target: "app", AccountID: "acct-" + fp, FirstSeen: first, Body: []byte(`{}`)}
	}
	var rows []reconcile.FindingRow
	for i := range 50 {
		rows = append(rows, row(fp(i), day(0)))
	}
	rows = append(rows, row(upper, day(0)), row(long, day(0)))
	r1 := beginRun(t, st, reconcile.Run{AsOf: day(0), StartedAt: day(0), Mode: "report", Scope: "full"})
	if _, err := st.SaveFindings(ctx, r1, day(0), reconcile.SortedRows(rows...), func(string, string) bool { return true }); err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct{ fp, key string }{{fp(0), "OPS-1"}, {upper, "OPS-2"}, {long, "OPS-3"}, {fp(7), "OPS-4"}} {
		if err := hs.SetJiraKey(ctx, k.fp, k.key); err != nil {
			t.Fatal(err)
		}
	}
	// Run 2 sees the even ones, the upper-case one and a new one; the
	// odd ones and the longer one are resolved.
	rows = nil
	for i := 0; i < 50; i += 2 {
		rows = append(rows, row(fp(i), day(1)))
	}
	rows = append(rows, row(upper, day(1)), row(fp(50), day(1)))
	r2 := beginRun(t, st, reconcile.Run{AsOf: day(1), StartedAt: day(1), Mode: "report", Scope: "full"})
	resolved, err := st.SaveFindings(ctx, r2, day(1), reconcile.SortedRows(rows...), func(string, string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if len(resolved) != 26 {
		t.Fatalf("run 2 resolved %d findings, want the 25 odd ones and %s", len(resolved), long)
	}
	open := OpenStates(t, st) // OpenFindings agrees with the states
	if len(open) != 27 {
		t.Fatalf("%d open findings, want 27", len(open))
	}
	got, err := st.OpenFindings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		fp    string
		first time.Time
		key   string
	}{{fp(0), day(0), "OPS-1"}, {upper, day(0), "OPS-2"}, {fp(2), day(0), ""}, {fp(50), day(1), ""}} {
		o, ok := got.Get(c.fp)
		if !ok || !o.FirstSeen.Equal(c.first) || o.JiraKey != c.key {
			t.Errorf("OpenFindings[%s] = %+v (listed %v), want first seen %s, Jira key %q", c.fp, o, ok, c.first, c.key)
		}
	}
	for _, gone := range []string{fp(7), long, strings.ToUpper(fp(2))} {
		if o, ok := got.Get(gone); ok {
			t.Errorf("OpenFindings lists %s (%+v): resolved or never reported", gone, o)
		}
	}
}

func contractActions(t *testing.T, st Store) {
	ctx := context.Background()
	at := contractT0.Add(time.Hour)
	r1 := beginRun(t, st, reconcile.Run{AsOf: contractT0, StartedAt: contractT0, Mode: "enforce", Scope: "full"})
	fp := reconcile.Fingerprint(reconcile.SuspendedActive, "app", "A1")
	act := func(run int64, account, op string, status reconcile.ActionStatus, emp string) reconcile.Action {
		return reconcile.Action{RunID: run, Fingerprint: fp, Target: "app", AccountID: account, Op: op, Status: status, RequestedAt: contractT0,
			Kind: string(reconcile.SuspendedActive), EmployeeID: emp}
	}
	ids, err := st.InsertActions(ctx, []reconcile.Action{
		act(r1, "A1", "disable", reconcile.ActionRequested, "E1"),
		act(r1, "A1", "revoke_sessions", reconcile.ActionRequested, "E1"),
		act(r1, "A2", "disable", reconcile.ActionRequested, ""),
		act(r1, "A3", "disable", reconcile.ActionRequested, "E3"),
	})
	if err != nil || len(ids) != 4 || !(ids[0] < ids[1] && ids[1] < ids[2] && ids[2] < ids[3]) {
		t.Fatalf("InsertActions = %v, %v; want 4 increasing IDs", ids, err)
	}
	finish := func(id int64, status reconcile.ActionStatus) {
		t.Helper()
		if err := st.FinishAction(reconcile.Action{ID: id, Status: status, Verified: status == reconcile.ActionDone, Attempts: 2, Error: "x", FinishedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	finish(ids[0], reconcile.ActionDone)
	finish(ids[1], reconcile.ActionFailed)
	finish(ids[3], reconcile.ActionRecoveredDone)
	acts, err := st.Actions(ctx, r1)
	if err != nil || len(acts) != 4 || acts[0].ID != ids[0] || acts[0].Status != reconcile.ActionDone || !acts[0].Verified || acts[0].Attempts != 2 ||
		acts[0].Error != "x" || !acts[0].FinishedAt.Equal(at) || acts[0].Kind != string(reconcile.SuspendedActive) || acts[0].EmployeeID != "E1" {
		t.Fatalf("actions of run 1: %+v, %v", acts, err)
	}
	ids2 := func(as []reconcile.Action, err error) []int64 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		out := []int64{}
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	if got := ids2(st.PendingActions(ctx, "app", r1+1)); !slices.Equal(got, []int64{ids[2]}) {
		t.Errorf("PendingActions = %v, want [%d] (A2's disable, left requested)", got, ids[2])
	}
	if got := ids2(st.PendingActions(ctx, "app", r1)); len(got) != 0 {
		t.Errorf("PendingActions before run 1 = %v, want none", got)
	}
	if got := ids2(st.UnfinishedSteps(ctx, "app", r1+1)); !slices.Equal(got, []int64{ids[1]}) {
		t.Errorf("UnfinishedSteps = %v, want [%d] (A1's revoke_sessions failed; A2's names nobody)", got, ids[1])
	}

	// Run 2: a planned record is no attempt; a later attempt that ends
	// done finishes the step.
	r2 := beginRun(t, st, reconcile.Run{AsOf: at, StartedAt: at, Mode: "enforce", Scope: "full"})
	more, err := st.InsertActions(ctx, []reconcile.Action{
		act(r2, "A1", "disable", reconcile.ActionPlanned, "E1"),
		act(r2, "A1", "revoke_sessions", reconcile.ActionRequested, "E1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids2(st.UnfinishedSteps(ctx, "app", r2+1)); !slices.Equal(got, []int64{more[1]}) {
		t.Errorf("UnfinishedSteps with run 2 = %v, want [%d] (its revoke_sessions still requested)", got, more[1])
	}
	finish(more[1], reconcile.ActionDone)
	if got := ids2(st.UnfinishedSteps(ctx, "app", r2+1)); len(got) != 0 {
		t.Errorf("UnfinishedSteps after run 2 = %v, want none", got)
	}
	if got := ids2(st.UnfinishedSteps(ctx, "app", r2)); !slices.Equal(got, []int64{ids[1]}) {
		t.Errorf("UnfinishedSteps before run 2 = %v, want [%d]", got, ids[1])
	}

	if got, err := st.DisabledSince(ctx, "app", r1); err != nil || !maps.Equal(got, map[string]bool{"A1": true, "A3": true}) {
		t.Errorf("DisabledSince(run 1) = %v, %v; want A1, A3", got, err)
	}
	if got, err := st.DisabledSince(ctx, "app", r2); err != nil || len(got) != 0 {
		t.Errorf("DisabledSince(run 2) = %v, %v; want none", got, err)
	}
	ds, err := st.Disablements(ctx, "app")
	if err != nil || len(ds) != 2 || ds["A1"].Fingerprint != fp || ds["A1"].RunID != r1 || !ds["A1"].At.Equal(at) || ds["A1"].AccountID != "A1" {
		t.Errorf("Disablements = %+v, %v", ds, err)
	}
	if ds, err := st.Disablements(ctx, "other"); err != nil || len(ds) != 0 {
		t.Errorf("Disablements of another target = %+v, %v", ds, err)
	}
}

func contractHolds(t *testing.T, st Store) {
	ctx := context.Background()
	for i, acct := range []string{"A1", "A2"} {
		h := reconcile.Hold{Target: "app", AccountID: acct, Reason: "legal", Until: contractT0.AddDate(0, 0, i), CreatedBy: "x", CreatedAt: contractT0}
		if _, err := st.AddHold(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	hs, err := st.Holds(ctx, false)
	if err != nil || len(hs) != 2 || hs[0].AccountID != "A2" || hs[1].AccountID != "A1" || hs[0].ID <= hs[1].ID ||
		!hs[0].Until.Equal(contractT0.AddDate(0, 0, 1)) || hs[0].Reason != "legal" || hs[0].CreatedBy != "x" || !hs[0].CreatedAt.Equal(contractT0) {
		t.Errorf("Holds = %+v, %v; want A2 then A1 (newest first)", hs, err)
	}
}
