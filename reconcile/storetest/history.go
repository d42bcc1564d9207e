package storetest

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

// updateGolden rewrites the golden files of the finding history instead of
// comparing with them (`go test ./reconcile/... -run Contract -update-history`).
var updateGolden = flag.Bool("update-history", false, "rewrite storetest's golden finding history")

// HistoryStep is one run of the finding-history scenario.
type HistoryStep struct {
	Scope  string
	DryRun bool
	// Rows are the run's findings as fingerprint:body-version, e.g. "a:1".
	Rows []string
	// Resolves says which (kind, target) the run looked for: "all",
	// "none", a kind, or "not:<target>" (every target but a failed one).
	Resolves string
	// NoSave: the run failed before it saved findings.
	NoSave bool
	// Jira sets a ticket key on a fingerprint after the run ("a=OPS-1").
	Jira string
}

// HistorySteps is the scenario: gaps (a failed target, a run that saved
// nothing), problems that return after resolution with the same or a new
// body, bodies that change and change back, targeted, kind-scoped and dry
// runs, a run with no findings, ticket keys.
var HistorySteps = []HistoryStep{
	{Scope: "full", Rows: []string{"a:1", "b:1", "c:1"}, Resolves: "all"},                         // 1
	{Scope: "full", Rows: []string{"a:1", "b:2", "c:1"}, Resolves: "all", Jira: "b=OPS-1"},        // 2: b changes
	{Scope: "people:E1", Rows: []string{"a:1"}, Resolves: "none"},                                 // 3: targeted
	{Scope: "full", Rows: []string{"a:1", "b:2"}, Resolves: "not:app2"},                           // 4: app2 failed: c kept open, not reported
	{Scope: "full", Rows: []string{"a:1", "b:1", "c:1"}, Resolves: "all"},                         // 5: b back to body 1, c seen again
	{Scope: "full", DryRun: true, Rows: []string{"a:2", "b:1", "c:1", "d:1"}, Resolves: "none"},   // 6: dry run
	{Scope: "dormant", Rows: []string{"b:1"}, Resolves: "dormant"},                                // 7: kind-scoped
	{Scope: "full", Rows: []string{"a:1", "d:1"}, Resolves: "all", Jira: "d=OPS-2"},               // 8: b, c resolved
	{Scope: "full", Rows: nil, Resolves: "orphaned"},                                              // 9: nothing reported, a resolved
	{Scope: "full", NoSave: true},                                                                 // 10: failed before saving
	{Scope: "full", Rows: []string{"a:3", "b:1", "c:1", "d:1"}, Resolves: "all"},                  // 11: a, b, c return
	{Scope: "people:E2", Rows: []string{"b:1", "d:2"}, Resolves: "none"},                          // 12: targeted, d changed
	{Scope: "full", Rows: []string{"a:3", "b:1", "c:2", "d:1"}, Resolves: "all", Jira: "a=OPS-3"}, // 13
	{Scope: "full", Rows: []string{"a:3", "b:1", "c:2", "d:1"}, Resolves: "all"},                  // 14: nothing changed
}

// historyKinds gives each fingerprint of the scenario its kind and target.
var historyKinds = map[string][2]string{
	"a": {"orphaned", "app"}, "b": {"dormant", "app"}, "c": {"terminated_active", "app2"}, "d": {"excess_access", "app"},
}

// HistoryDay is the as-of (and start) time of step i (0-based).
func HistoryDay(i int) time.Time { return time.Date(2026, 4, 1+i, 2, 0, 0, 0, time.UTC) }

// HistoryRow is the finding row of "fp:version" in step i.
func HistoryRow(spec string, firstSeen time.Time) reconcile.FindingRow {
	fp, v := spec[:1], spec[2:]
	kt := historyKinds[fp]
	sev, disp := "high", "review"
	if kt[0] == "terminated_active" {
		sev, disp = "critical", "auto_revoke"
	}
	if v == "2" {
		sev = "medium"
	}
	body := fmt.Sprintf(`{"fingerprint":%q,"kind":%q,"severity":%q,"target":%q,"account_id":"acct-%s","disposition":%q,"version":%s}`,
		fp, kt[0], sev, kt[1], fp, disp, v)
	if kt[0] == "terminated_active" {
		body = body[:len(body)-1] + `,"revoked_at":"2026-04-01T02:00:00Z"}`
	}
	return reconcile.FindingRow{Fingerprint: fp, Kind: kt[0], Severity: sev, Disposition: disp, Target: kt[1], AccountID: "acct-" + fp,
		EmployeeID: "E-" + fp, FirstSeen: firstSeen, Body: []byte(body)}
}

// HistoryStore is what the scenario needs beyond reconcile.Store.
type HistoryStore interface {
	reconcile.Store
	FindingBodies(ctx context.Context, runID int64) ([][]byte, error)
	AllFindingStates(ctx context.Context) (map[string]reconcile.FindingState, error)
	SetJiraKey(ctx context.Context, fingerprint, key string) error
}

// History plays HistorySteps on an empty store and returns every answer
// its readers gave along the way, as JSON-ready values: after each step
// the states it resolved, the open and all finding states, and the bodies
// of every run so far. It returns the IDs of the runs.
func History(t *testing.T, st HistoryStore) (answers map[string]any, runs []int64) {
	t.Helper()
	return history(t, st, nil)
}

// history is History, each step's rows passed through prepare (when not
// nil) before they are saved.
func history(t *testing.T, st HistoryStore, prepare func(*reconcile.FindingRow)) (answers map[string]any, runs []int64) {
	t.Helper()
	ctx := context.Background()
	answers = map[string]any{}
	for i, step := range HistorySteps {
		day := HistoryDay(i)
		id := beginRun(t, st, reconcile.Run{AsOf: day, StartedAt: day, Mode: "report", Scope: step.Scope, DryRun: step.DryRun})
		runs = append(runs, id)
		key := fmt.Sprintf("step %02d", i+1)
		if !step.NoSave {
			open, err := st.OpenFindings(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var rows []reconcile.FindingRow
			for _, spec := range step.Rows {
				first := day
				if o, ok := open.Get(spec[:1]); ok {
					first = o.FirstSeen // as the engine does
				}
				rows = append(rows, HistoryRow(spec, first))
				if prepare != nil {
					prepare(&rows[len(rows)-1])
				}
			}
			resolves := func(kind, target string) bool {
				switch {
				case step.Resolves == "all":
					return true
				case step.Resolves == "none":
					return false
				case len(step.Resolves) > 4 && step.Resolves[:4] == "not:":
					return target != step.Resolves[4:]
				}
				return kind == step.Resolves
			}
			resolved, err := st.SaveFindings(ctx, id, day, reconcile.SortedRows(rows...), resolves)
			if err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			answers[key+" resolved"] = stateList(resolved)
		}
		status := reconcile.StatusCompleted
		if step.NoSave {
			status = reconcile.StatusFailed
		}
		if err := st.FinishRun(reconcile.Run{ID: id, Status: status, FinishedAt: day.Add(time.Minute), Mode: "report"}); err != nil {
			t.Fatal(err)
		}
		if step.Jira != "" {
			if err := st.SetJiraKey(ctx, step.Jira[:1], step.Jira[2:]); err != nil {
				t.Fatal(err)
			}
		}
		ReadFindings(t, st, runs, answers, key)
	}
	return answers, runs
}

// ReadFindings adds to answers, under prefix, what the readers of
// reconcile.Store and HistoryStore give now: open and all states, and the
// bodies of each run.
func ReadFindings(t *testing.T, st HistoryStore, runs []int64, answers map[string]any, prefix string) {
	t.Helper()
	ctx := context.Background()
	answers[prefix+" open"] = stateMap(OpenStates(t, st))
	all, err := st.AllFindingStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	answers[prefix+" all"] = stateMap(all)
	bodies := map[string][]string{}
	for _, r := range runs {
		bs, err := st.FindingBodies(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		ss := []string{}
		for _, b := range bs {
			ss = append(ss, string(b))
		}
		bodies[fmt.Sprint(r)] = ss
	}
	answers[prefix+" bodies"] = bodies
}

// OpenStates returns the states of the fingerprints not resolved (from
// AllFindingStates), after checking that OpenFindings gives each of them,
// and nothing else, with its first-seen date and Jira key.
func OpenStates(t *testing.T, st interface {
	reconcile.Store
	AllFindingStates(ctx context.Context) (map[string]reconcile.FindingState, error)
}) map[string]reconcile.FindingState {
	t.Helper()
	ctx := context.Background()
	all, err := st.AllFindingStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	open, err := st.OpenFindings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]reconcile.FindingState{}
	for fp, s := range all {
		if s.Resolved {
			continue
		}
		out[fp] = s
		if o, ok := open.Get(fp); !ok || !o.FirstSeen.Equal(s.FirstSeen) || o.JiraKey != s.JiraKey {
			t.Errorf("OpenFindings[%s] = %+v (listed %v), want first seen %s, Jira key %q", fp, o, ok, s.FirstSeen, s.JiraKey)
		}
	}
	for fp := range open.All() {
		if _, ok := out[fp]; !ok {
			t.Errorf("OpenFindings lists %s, which is resolved or unknown", fp)
		}
	}
	return out
}

func stateList(sts []reconcile.FindingState) []string {
	out := []string{}
	for _, st := range sts {
		out = append(out, stateString(st))
	}
	slices.Sort(out)
	return out
}

func stateMap(m map[string]reconcile.FindingState) []string {
	out := []string{}
	for _, fp := range slices.Sorted(maps.Keys(m)) {
		if m[fp].Fingerprint != fp {
			out = append(out, "key "+fp+" holds "+m[fp].Fingerprint)
		}
		out = append(out, stateString(m[fp]))
	}
	return out
}

func stateString(st reconcile.FindingState) string {
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%s %s %s %s first=%s last=%s run=%d resolved=%v at=%s jira=%q", st.Fingerprint, st.Kind, st.Target, st.AccountID,
		ts(st.FirstSeen), ts(st.LastSeen), st.LastRun, st.Resolved, ts(st.ResolvedAt), st.JiraKey)
}

// Golden compares answers with the golden file name in the directory of
// the calling test's package testdata (writing it with -update-history).
// The golden files were first written by the store as it was before
// findings were kept as events (one row per finding per run): they are
// what that schema answered.
func Golden(t *testing.T, dir, name string, answers map[string]any) {
	t.Helper()
	got, err := json.MarshalIndent(answers, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join(dir, name)
	if *updateGolden {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		os.WriteFile(path+".got", got, 0o644)
		t.Errorf("the finding history differs from %s (what the store answered before): see %s.got", path, path)
	}
}

// testdataDir is storetest's own testdata directory.
func testdataDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata")
}

func contractHistory(t *testing.T, st Store) {
	hs, ok := st.(HistoryStore)
	if !ok {
		t.Fatalf("%T has no FindingBodies, AllFindingStates or SetJiraKey", st)
	}
	answers, _ := History(t, hs)
	Golden(t, testdataDir(), "finding_history.json", answers)
}

// contractHistorySpooled plays the history with every row's body kept by
// the caller (Body nil, Hash and LoadBody set, as the engine's spool does):
// the answers are the same, and the store loads only bodies it writes.
func contractHistorySpooled(t *testing.T, st Store) {
	hs, ok := st.(HistoryStore)
	if !ok {
		t.Fatalf("%T has no FindingBodies, AllFindingStates or SetJiraKey", st)
	}
	var rows, loads int
	answers, _ := history(t, hs, func(r *reconcile.FindingRow) {
		body := r.Body
		r.Hash, r.Body = reconcile.ContentHash(r, body), nil
		r.LoadBody = func() ([]byte, error) {
			loads++
			return body, nil
		}
		rows++
	})
	Golden(t, testdataDir(), "finding_history.json", answers)
	if loads == 0 || loads >= rows {
		t.Errorf("%d bodies loaded for %d rows: want those written only, some but not all", loads, rows)
	}
}

// PruneLeavesNoOrphans plays History on stores that open makes and prunes
// them (prune: the findings of runs started two days before now go) on
// several schedules, day by day or many days at once. After every prune,
// count (the number a query selects) finds no finding version left without
// a save and no body without a version; at the end fewer versions and
// bodies remain than before, and one save, the last good run's. A store
// may prune only around the saves it deletes: this says it leaves nothing
// that a look at the whole history would have deleted.
func PruneLeavesNoOrphans(t *testing.T, open func(t *testing.T) (st HistoryStore, prune func(now time.Time) error, count func(query string) int)) {
	for _, days := range [][]int{{3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 30}, {12, 30}, {7, 9, 30}} {
		st, prune, count := open(t)
		History(t, st)
		versions, bodies := count(`SELECT COUNT(*) FROM finding_versions`), count(`SELECT COUNT(*) FROM finding_bodies`)
		for _, day := range days {
			if err := prune(HistoryDay(day)); err != nil {
				t.Fatal(err)
			}
			if n := count(`SELECT COUNT(*) FROM finding_versions v WHERE NOT EXISTS (SELECT 1 FROM finding_saves s WHERE s.seq BETWEEN v.from_seq AND v.to_seq)`); n > 0 {
				t.Errorf("pruned on days %v: day %d: %d versions left without a save", days, day, n)
			}
			if n := count(`SELECT COUNT(*) FROM finding_bodies b WHERE NOT EXISTS (SELECT 1 FROM finding_versions v WHERE v.body_id = b.id)`); n > 0 {
				t.Errorf("pruned on days %v: day %d: %d bodies left without a version", days, day, n)
			}
		}
		v, b, saves := count(`SELECT COUNT(*) FROM finding_versions`), count(`SELECT COUNT(*) FROM finding_bodies`), count(`SELECT COUNT(*) FROM finding_saves`)
		if v >= versions || b >= bodies || saves != 1 {
			t.Errorf("pruned on days %v: retention kept %d of %d versions, %d of %d bodies, %d saves (want fewer, and the last good run's save)",
				days, v, versions, b, bodies, saves)
		}
	}
}

// lastSeenRow is a finding of the last-seen scenarios: fingerprint fp of
// kind, on target app, with one body.
func lastSeenRow(fp, kind string, first time.Time) reconcile.FindingRow {
	return reconcile.FindingRow{Fingerprint: fp, Kind: kind, Severity: "high", Disposition: "review", Target: "app", AccountID: "acct-" + fp,
		FirstSeen: first, Body: []byte(`{"fp":"` + fp + `"}`)}
}

// wantSeen checks that fingerprint fp was last seen by run (on as-of day)
// and is resolved or not.
func wantSeen(t *testing.T, states map[string]reconcile.FindingState, step, fp string, run int64, day time.Time, resolved bool) {
	t.Helper()
	st, ok := states[fp]
	if !ok || st.LastRun != run || !st.LastSeen.Equal(day) || st.Resolved != resolved {
		t.Errorf("%s: %s last seen by run %d on %s, resolved %v (known %v); want run %d on %s, resolved %v", step, fp, st.LastRun,
			st.LastSeen.Format(time.DateOnly), st.Resolved, ok, run, day.Format(time.DateOnly), resolved)
	}
}

// contractLastSeen: a finding is last seen by the last run that reported
// it, whether that run wrote it or reported it unchanged, after its
// version ends (not reported), and when a run of a few kinds resolves it.
func contractLastSeen(t *testing.T, st Store) {
	ctx := context.Background()
	day := HistoryDay
	all := func(kind, target string) bool { return true }
	none := func(kind, target string) bool { return false }
	save := func(i int, scope string, resolves func(kind, target string) bool, fps ...string) int64 {
		t.Helper()
		id := beginRun(t, st, reconcile.Run{AsOf: day(i), StartedAt: day(i), Mode: "report", Scope: scope})
		var rows []reconcile.FindingRow
		for _, fp := range fps {
			kind := "orphaned"
			if fp == "x" {
				kind = "dormant"
			}
			rows = append(rows, lastSeenRow(fp, kind, day(0)))
		}
		if _, err := st.SaveFindings(ctx, id, day(i), reconcile.SortedRows(rows...), resolves); err != nil {
			t.Fatal(err)
		}
		return id
	}
	states := func() map[string]reconcile.FindingState {
		t.Helper()
		s, err := st.AllFindingStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	save(0, "full", all, "x", "y", "z")
	r2 := save(1, "full", all, "x", "y", "z") // all reported unchanged
	s := states()
	for _, fp := range []string{"x", "y", "z"} {
		wantSeen(t, s, "run 2", fp, r2, day(1), false)
	}
	r3 := save(2, "full", none, "x", "y") // z not reported, nothing resolved
	s = states()
	wantSeen(t, s, "run 3", "x", r3, day(2), false)
	wantSeen(t, s, "run 3", "z", r2, day(1), false)
	// A run of dormant findings only reports none: x is resolved, last
	// seen by run 3; y and z are not its kind.
	save(3, "dormant", func(kind, _ string) bool { return kind == "dormant" })
	s = states()
	wantSeen(t, s, "dormant run 4", "x", r3, day(2), true)
	wantSeen(t, s, "dormant run 4", "y", r3, day(2), false)
	wantSeen(t, s, "dormant run 4", "z", r2, day(1), false)
	r5 := save(4, "full", all, "y", "z") // z back, unchanged body
	s = states()
	wantSeen(t, s, "run 5", "x", r3, day(2), true)
	wantSeen(t, s, "run 5", "y", r5, day(4), false)
	wantSeen(t, s, "run 5", "z", r5, day(4), false)
	// x back: its live version starts again. A dormant run resolves it
	// while that version stays live (a run of some kinds ends no full
	// run's version), and the next full run reports it unchanged: the
	// problem is open again, seen by that run.
	r6 := save(5, "full", all, "x", "y", "z")
	save(6, "dormant", func(kind, _ string) bool { return kind == "dormant" })
	s = states()
	wantSeen(t, s, "dormant run 7", "x", r6, day(5), true)
	r8 := save(7, "full", all, "x", "y", "z")
	s = states()
	for _, fp := range []string{"x", "y", "z"} {
		wantSeen(t, s, "run 8", fp, r8, day(7), false)
	}
	open, err := st.OpenFindings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := open.Get("x"); !ok {
		t.Error("run 8: x is not among the open findings")
	}
}

// PruneKeepsLastSeen: retention that deletes the only saves a finding's
// live version held (the runs since are cancelled before saving) leaves
// its state open and last seen by the last run that reported it.
func PruneKeepsLastSeen(t *testing.T, st HistoryStore, prune func(now time.Time) error) {
	ctx := context.Background()
	var runs []int64
	for i := range 2 {
		id := beginRun(t, st, reconcile.Run{AsOf: HistoryDay(i), StartedAt: HistoryDay(i), Mode: "report", Scope: "full"})
		if _, err := st.SaveFindings(ctx, id, HistoryDay(i), reconcile.SortedRows(lastSeenRow("x", "dormant", HistoryDay(0))),
			func(string, string) bool { return true }); err != nil {
			t.Fatal(err)
		}
		if err := st.FinishRun(reconcile.Run{ID: id, FinishedAt: HistoryDay(i), Status: reconcile.StatusCompleted, Mode: "report"}); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, id)
	}
	id := beginRun(t, st, reconcile.Run{AsOf: HistoryDay(2), StartedAt: HistoryDay(2), Mode: "report", Scope: "full"})
	if err := st.FinishRun(reconcile.Run{ID: id, FinishedAt: HistoryDay(2), Status: reconcile.StatusCancelled, Mode: "report"}); err != nil {
		t.Fatal(err)
	}
	if err := prune(HistoryDay(10)); err != nil {
		t.Fatal(err)
	}
	s, err := st.AllFindingStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantSeen(t, s, "pruned", "x", runs[1], HistoryDay(1), false)
}

// PruneKeepsBaselines: retention keeps the snapshot each target's next run
// compares with, and the last trusted HR snapshot, however old. Target b
// is collected whole by run 1, then fails to list in runs 2-4 while target
// a is listed whole, its account changing each time; HR is read by every
// run, but runs 2-4 tripped the shrink guard (their HR is suspect).
// Retention that keeps only runs 3 and 4 leaves b's baseline (run 1)
// whole, b1 disabled there, and run 1's HR snapshot, and prunes a's
// history back to run 3.
func PruneKeepsBaselines(t *testing.T, st Store, prune func(now time.Time, snapshots time.Duration) error) {
	ctx := context.Background()
	day := HistoryDay
	listing := func(run int64, target string, complete bool, accounts ...targets.Account) []reconcile.BaselineState {
		t.Helper()
		prev, err := st.LastGoodCollection(ctx, reconcile.SideTarget, target, run)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.BeginAccounts(ctx, run, prev, target); err != nil {
			t.Fatal(err)
		}
		states := make([]reconcile.BaselineState, len(accounts))
		if err := st.SaveAccounts(ctx, run, target, accounts, states); err != nil {
			t.Fatal(err)
		}
		if _, err := st.FinishAccounts(ctx, run, target, complete); err != nil {
			t.Fatal(err)
		}
		status := reconcile.CollectionOK
		if !complete {
			status = reconcile.CollectionFailed
		}
		if err := st.SaveCollection(ctx, reconcile.Collection{RunID: run, Side: reconcile.SideTarget, Name: target, Type: "fake", Status: status, StartedAt: "x"}); err != nil {
			t.Fatal(err)
		}
		return states
	}
	a1 := func(i int) targets.Account {
		return targets.Account{ID: "a1", Username: "a1", EmployeeID: "E1", Enabled: true, DisplayName: fmt.Sprint("A ", i)}
	}
	b1 := targets.Account{ID: "b1", Username: "b1", EmployeeID: "E1", Enabled: false}
	b2 := targets.Account{ID: "b2", Username: "b2", EmployeeID: "E2", Enabled: true}
	person := func(id, dept string) *reconcile.PersonRow {
		return &reconcile.PersonRow{Person: sources.Person{EmployeeID: id, Status: sources.Active, Department: dept}}
	}
	var runs []int64
	for i := range 4 {
		id := beginRun(t, st, reconcile.Run{AsOf: day(i), StartedAt: day(i), Mode: "report", Scope: "full"})
		runs = append(runs, id)
		people := []*reconcile.PersonRow{person("E1", fmt.Sprint("D", i)), person("E2", "D")}
		if i > 0 {
			people = people[:1] // E2 left out: the shrink guard's case
		}
		if err := st.SavePeople(ctx, id, people); err != nil {
			t.Fatal(err)
		}
		if err := st.FinishPeople(ctx, id, true); err != nil {
			t.Fatal(err)
		}
		listing(id, "a", true, a1(i))
		if i == 0 {
			listing(id, "b", true, b1, b2)
		} else {
			listing(id, "b", false)
		}
		status := reconcile.StatusCompleted
		if i > 0 {
			status = reconcile.StatusPartial
		}
		if err := st.FinishRun(reconcile.Run{ID: id, FinishedAt: day(i), Status: status, Mode: "report", HRSuspect: i > 0}); err != nil {
			t.Fatal(err)
		}
	}
	// Runs 3 and 4 are within the retention, runs 1 and 2 before it.
	if err := prune(day(3), day(3).Sub(day(2))); err != nil {
		t.Fatal(err)
	}
	if a, run, found, err := st.AccountAt(ctx, "b", "b1", day(0)); err != nil || !found || run != runs[0] || a.Enabled {
		t.Errorf("b1 on b as of run 1 after the prune: %+v in run %d, found %v (%v); want it disabled in run %d, b's baseline", a, run, found, err, runs[0])
	}
	if prev, err := st.PrevHRRun(ctx, runs[3]+1); err != nil || prev != runs[0] {
		t.Fatalf("the last trusted HR run: %d (%v), want %d", prev, err, runs[0])
	}
	var hr []string
	for p, err := range st.People(ctx, runs[0]) {
		if err != nil {
			t.Fatal(err)
		}
		hr = append(hr, p.EmployeeID+" "+p.Department)
	}
	if !slices.Equal(hr, []string{"E1 D0", "E2 D"}) {
		t.Errorf("run 1's HR snapshot after the prune: %v; want [E1 D0 E2 D], the next run's HR baseline", hr)
	}
	vs, err := st.AccountVersions(ctx, "a", "a1")
	if err != nil || len(vs) != 2 || vs[0].ValidFrom != runs[2] {
		t.Errorf("a1's versions after the prune: %+v (%v); want those of runs 3 and 4", vs, err)
	}
	// Run 5 lists b again: its baseline is run 1, b1 re-enabled since.
	id := beginRun(t, st, reconcile.Run{AsOf: day(4), StartedAt: day(4), Mode: "report", Scope: "full"})
	b1.Enabled = true
	prev := listing(id, "b", true, b1, b2)
	if !prev[0].Found || prev[0].Same || prev[0].State.Enabled || !prev[1].Found {
		t.Errorf("run 5's baseline of b: %+v; want b1 found disabled, b2 found", prev)
	}
}
