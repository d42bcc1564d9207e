// Package opstest is the contract suite of what accessrecon's commands keep
// in a store beside the engine's record (reconcile.Store, held by
// reconcile/storetest): run listings, the outbox, HR webhook events and
// signatures, manual steps, two-person holds and exemptions, drills,
// retention, the period queries and the hash-chained audit trail. The same
// assertions run against reconcile/store on SQLite and reconcile/pgstore on
// PostgreSQL, each through two handles on one store where the question is
// what two processes (on two machines) sharing it may do.
package opstest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/targets"
)

// Store is what the suite asks of a store: reconcile.Store, to set up
// runs, snapshots, findings and actions, and the operations it holds.
type Store interface {
	reconcile.Store
	GetRun(ctx context.Context, id int64) (reconcile.Run, error)
	Runs(ctx context.Context, limit int) ([]reconcile.Run, error)
	LatestRun(ctx context.Context) (reconcile.Run, error)
	LatestFullRun(ctx context.Context) (reconcile.Run, error)
	LatestFinishedFullRun(ctx context.Context) (reconcile.Run, error)
	LastSucceededAt(ctx context.Context) (time.Time, error)
	LastRunOf(ctx context.Context, job string, statuses ...reconcile.Status) (reconcile.Run, error)
	LastStartedRunOf(ctx context.Context, job string) (reconcile.Run, error)
	Jobs(ctx context.Context) ([]string, error)
	FinishedRunsMark(ctx context.Context) (string, error)
	RunsBetween(ctx context.Context, from, to time.Time) ([]reconcile.Run, error)
	SetRunConfigHash(ctx context.Context, runID int64, sum string) error
	RunConfigHashes(ctx context.Context, ids []int64) (map[int64]string, error)

	Actions(ctx context.Context, runID int64) ([]reconcile.Action, error)
	ActionCounts(ctx context.Context) (map[[2]string]int, error)
	ActionsBetween(ctx context.Context, from, to time.Time, fn func(reconcile.Action) error) error
	OpenManualSteps(ctx context.Context, fingerprint string) ([]reconcile.Action, error)
	AckManualStep(ctx context.Context, fingerprint, op, arg, by string, at time.Time) (reconcile.Action, error)
	FindingKnown(ctx context.Context, fingerprint string) (bool, error)
	AllFindingStates(ctx context.Context) (map[string]reconcile.FindingState, error)
	FindingBodies(ctx context.Context, runID int64) ([][]byte, error)
	FindingStates(ctx context.Context, fingerprints []string) (map[string]reconcile.FindingState, error)
	FindingsBetween(ctx context.Context, from, to time.Time, kinds []string, fn func(store.PeriodFinding) error) error
	RevokedFindings(ctx context.Context, since time.Time) ([]store.RevokedFinding, error)
	Prune(ctx context.Context, now time.Time, r store.Retention) error
	Leavers(ctx context.Context, runID int64, after time.Time) iter.Seq2[reconcile.PersonRow, error]

	LastCollection(ctx context.Context, target string) (int64, error)
	CollectedAccounts(ctx context.Context, runID int64, target string) iter.Seq2[targets.Account, error]
	ResolveAccount(ctx context.Context, runID int64, target, ref string) (a targets.Account, n int, collected bool, err error)

	OutboxSave(ctx context.Context, kind string, items []store.OutboxItem) error
	OutboxPending(ctx context.Context, kind string) ([]store.OutboxItem, error)
	OutboxDone(ctx context.Context, kind, id string) error

	SaveHREvents(ctx context.Context, evs []store.HREvent) error
	PendingHREvents(ctx context.Context) ([]store.HREvent, error)
	FinishHREvents(ctx context.Context, evs []store.HREvent) error
	FirstHREvent(ctx context.Context, employeeID string, from, to time.Time) (time.Time, error)
	ClaimSignature(ctx context.Context, signature string, now, expires time.Time) (bool, error)
	ForgetSignature(ctx context.Context, signature string) error

	AddHold(ctx context.Context, h reconcile.Hold) (int64, error)
	RemoveHold(ctx context.Context, id int64, by string, at time.Time) (reconcile.Hold, error)
	RequestHold(ctx context.Context, h reconcile.Hold) (int64, error)
	HoldApprovals(ctx context.Context) (map[int64]store.HoldApproval, error)
	ApproveHold(ctx context.Context, id int64, by string, at time.Time) (reconcile.Hold, error)
	AddExemption(ctx context.Context, e store.Exemption) (int64, error)
	ApproveExemption(ctx context.Context, id int64, by string, at time.Time) (store.Exemption, error)
	RemoveExemption(ctx context.Context, id int64, by string, at time.Time) (store.Exemption, error)
	Exemptions(ctx context.Context, all bool) ([]store.Exemption, error)
	ApprovedExemptions(ctx context.Context) ([]store.Exemption, error)

	SaveDrill(ctx context.Context, d store.Drill) (int64, error)
	Drills(ctx context.Context, from, to time.Time) ([]store.Drill, error)

	Ping(ctx context.Context) error
}

// Opener opens a new, empty store for one subtest (closed by t.Cleanup),
// and returns with it a function that opens another handle on the same
// store, as a second process (on another machine) would.
type Opener func(t *testing.T) (st Store, again func() Store)

// Run holds the stores open returns to the contract.
func Run(t *testing.T, open Opener) {
	t.Run("runs", func(t *testing.T) { st, _ := open(t); testRuns(t, st) })
	t.Run("outbox", func(t *testing.T) { st, again := open(t); testOutbox(t, st, again()) })
	t.Run("hr events", func(t *testing.T) { st, again := open(t); testHREvents(t, st, again()) })
	t.Run("signatures", func(t *testing.T) { st, again := open(t); testSignatures(t, st, again) })
	t.Run("manual steps", func(t *testing.T) { st, again := open(t); testManualSteps(t, st, again()) })
	t.Run("two-person holds", func(t *testing.T) { st, again := open(t); testHolds(t, st, again()) })
	t.Run("exemptions", func(t *testing.T) { st, _ := open(t); testExemptions(t, st) })
	t.Run("drills", func(t *testing.T) { st, _ := open(t); testDrills(t, st) })
	t.Run("period and collected", func(t *testing.T) { st, _ := open(t); testPeriod(t, st) })
	t.Run("prune", func(t *testing.T) { st, _ := open(t); testPrune(t, st) })
	t.Run("leavers", func(t *testing.T) { st, _ := open(t); testLeavers(t, st) })
}

// t0 has no sub-microsecond part: PostgreSQL keeps microseconds.
var t0 = time.Date(2026, 3, 1, 6, 30, 0, 0, time.UTC)

func day(n int) time.Time { return t0.AddDate(0, 0, n) }

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// run records a finished run.
func run(t *testing.T, st Store, job, scope string, started time.Time, status reconcile.Status) int64 {
	t.Helper()
	ctx := context.Background()
	id := must[int64](t)(st.BeginRun(ctx, reconcile.Run{AsOf: started, StartedAt: started, Mode: "enforce", Job: job, Scope: scope}))
	if status != reconcile.StatusRunning {
		check(t, st.FinishRun(reconcile.Run{ID: id, AsOf: started, StartedAt: started, FinishedAt: started.Add(time.Minute), Mode: "enforce", Job: job, Scope: scope, Status: status}))
	}
	return id
}

func testRuns(t *testing.T, st Store) {
	ctx := context.Background()
	check(t, st.Ping(ctx))
	if _, err := st.LatestRun(ctx); !errors.Is(err, store.ErrNoRun) {
		t.Fatalf("LatestRun of an empty store: %v, want store.ErrNoRun", err)
	}
	if at := must[time.Time](t)(st.LastSucceededAt(ctx)); !at.IsZero() {
		t.Fatalf("LastSucceededAt of an empty store: %v", at)
	}
	mark0 := must[string](t)(st.FinishedRunsMark(ctx))
	r1 := run(t, st, "nightly", "full", day(0), reconcile.StatusCompleted)
	mark1 := must[string](t)(st.FinishedRunsMark(ctx))
	if mark1 == mark0 {
		t.Fatalf("FinishedRunsMark did not change when a run finished: %q", mark1)
	}
	r2 := run(t, st, "leavers", "leavers", day(1), reconcile.StatusCompleted)
	r3 := run(t, st, "nightly", "full", day(2), reconcile.StatusFailed)
	r4 := run(t, st, "nightly", "full", day(3), reconcile.StatusRunning)
	if m := must[string](t)(st.FinishedRunsMark(ctx)); m == mark1 {
		t.Fatalf("FinishedRunsMark did not change after two more runs finished")
	} else if m2 := must[string](t)(st.FinishedRunsMark(ctx)); m2 != m {
		t.Fatalf("FinishedRunsMark changed with nothing finishing: %q then %q", m, m2)
	}
	for _, c := range []struct {
		name string
		get  func() (reconcile.Run, error)
		want int64
	}{
		{"LatestRun", func() (reconcile.Run, error) { return st.LatestRun(ctx) }, r3},
		{"LatestFullRun", func() (reconcile.Run, error) { return st.LatestFullRun(ctx) }, r1},
		{"LatestFinishedFullRun", func() (reconcile.Run, error) { return st.LatestFinishedFullRun(ctx) }, r3},
		{"LastRunOf nightly", func() (reconcile.Run, error) { return st.LastRunOf(ctx, "nightly") }, r3},
		{"LastRunOf nightly completed", func() (reconcile.Run, error) {
			return st.LastRunOf(ctx, "nightly", reconcile.StatusCompleted, reconcile.StatusPartial)
		}, r1},
		{"LastRunOf nightly running", func() (reconcile.Run, error) { return st.LastRunOf(ctx, "nightly", reconcile.StatusRunning) }, r4},
		{"LastStartedRunOf nightly", func() (reconcile.Run, error) { return st.LastStartedRunOf(ctx, "nightly") }, r4},
		{"LastRunOf leavers", func() (reconcile.Run, error) { return st.LastRunOf(ctx, "leavers") }, r2},
	} {
		got, err := c.get()
		if err != nil || got.ID != c.want {
			t.Errorf("%s: run %d (%v), want %d", c.name, got.ID, err, c.want)
		}
	}
	if _, err := st.LastRunOf(ctx, "nope"); !errors.Is(err, store.ErrNoRun) {
		t.Errorf("LastRunOf an unknown job: %v, want store.ErrNoRun", err)
	}
	if _, err := st.LastStartedRunOf(ctx, "nope"); !errors.Is(err, store.ErrNoRun) {
		t.Errorf("LastStartedRunOf an unknown job: %v, want store.ErrNoRun", err)
	}
	if at := must[time.Time](t)(st.LastSucceededAt(ctx)); !at.Equal(day(1).Add(time.Minute)) {
		t.Errorf("LastSucceededAt = %v, want %v", at, day(1).Add(time.Minute))
	}
	if jobs := must[[]string](t)(st.Jobs(ctx)); !slices.Equal(jobs, []string{"leavers", "nightly"}) {
		t.Errorf("Jobs = %q", jobs)
	}
	between := must[[]reconcile.Run](t)(st.RunsBetween(ctx, day(1), day(3)))
	if len(between) != 2 || between[0].ID != r2 || between[1].ID != r3 {
		t.Errorf("RunsBetween(day 1, day 3) = %+v, want runs %d and %d", between, r2, r3)
	}
	check(t, st.SetRunConfigHash(ctx, r1, "aaa"))
	check(t, st.SetRunConfigHash(ctx, r1, "bbb"))
	check(t, st.SetRunConfigHash(ctx, r2, "ccc"))
	if got := must[map[int64]string](t)(st.RunConfigHashes(ctx, []int64{r1, r2, r3})); len(got) != 2 || got[r1] != "bbb" || got[r2] != "ccc" {
		t.Errorf("RunConfigHashes = %v", got)
	}
	if got := must[map[int64]string](t)(st.RunConfigHashes(ctx, nil)); len(got) != 0 {
		t.Errorf("RunConfigHashes(nil) = %v", got)
	}
}

func testOutbox(t *testing.T, a, b Store) {
	ctx := context.Background()
	items := []store.OutboxItem{
		{ID: "fp-b", Queued: t0, Body: []byte(`{"op":"create"}`)},
		{ID: "fp-a", Queued: t0, Body: []byte(`{"op":"comment"}`)},
		{ID: "fp-B", Queued: t0, Body: []byte(`{"op":"close"}`)},
	}
	check(t, a.OutboxSave(ctx, "jira", items))
	check(t, a.OutboxSave(ctx, "notify", []store.OutboxItem{{ID: "n1", Queued: t0, Body: []byte(`{}`)}}))
	ids := func(st Store) []string {
		var out []string
		for _, it := range must[[]store.OutboxItem](t)(st.OutboxPending(ctx, "jira")) {
			out = append(out, it.ID)
		}
		return out
	}
	// Byte order, whatever the database's collation.
	if got := ids(b); !slices.Equal(got, []string{"fp-B", "fp-a", "fp-b"}) {
		t.Fatalf("pending (another handle) = %q", got)
	}
	// A send that failed leaves the item pending: the next run retries it.
	// A newer item with the same ID replaces the older one.
	check(t, b.OutboxSave(ctx, "jira", []store.OutboxItem{{ID: "fp-a", Queued: day(1), Body: []byte(`{"op":"comment","n":2}`)}}))
	pend := must[[]store.OutboxItem](t)(a.OutboxPending(ctx, "jira"))
	if len(pend) != 3 || pend[1].ID != "fp-a" || string(pend[1].Body) != `{"op":"comment","n":2}` || !pend[1].Queued.Equal(day(1)) {
		t.Fatalf("after a retry was queued again: %+v", pend)
	}
	check(t, a.OutboxDone(ctx, "jira", "fp-a"))
	check(t, b.OutboxDone(ctx, "jira", "fp-a")) // twice is fine
	if got := ids(a); !slices.Equal(got, []string{"fp-B", "fp-b"}) {
		t.Fatalf("pending after done = %q", got)
	}
	if n := must[[]store.OutboxItem](t)(b.OutboxPending(ctx, "notify")); len(n) != 1 || n[0].ID != "n1" {
		t.Fatalf("the other kind's items: %+v", n)
	}
	// Two processes queueing the same items at once, in opposite orders:
	// neither fails (no deadlock, no duplicate key), one item per ID.
	var fwd, rev []store.OutboxItem
	for i := range 60 {
		fwd = append(fwd, store.OutboxItem{ID: fmt.Sprintf("race-%02d", i), Queued: t0, Body: []byte(`{}`)})
	}
	for i := range fwd {
		rev = append(rev, fwd[len(fwd)-1-i])
	}
	for round := range 5 {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, st := range []Store{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = st.OutboxSave(ctx, "race", [][]store.OutboxItem{fwd, rev}[i])
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("round %d: concurrent saves: %v", round, err)
			}
		}
	}
	if n := must[[]store.OutboxItem](t)(a.OutboxPending(ctx, "race")); len(n) != len(fwd) {
		t.Fatalf("%d items pending after concurrent saves, want %d", len(n), len(fwd))
	}
}

func testHREvents(t *testing.T, st, other Store) {
	ctx := context.Background()
	evs := []store.HREvent{
		{RequestID: "r1", Source: "hr", EmployeeID: " e100 ", ReceivedAt: day(0), RunID: store.HREventPending},
		{RequestID: "r1", Source: "hr", EmployeeID: "E200", ReceivedAt: day(0).Add(time.Second), RunID: store.HREventPending},
		{RequestID: "r0", Source: "hr", EmployeeID: "e100", ReceivedAt: day(-2), RunID: 0},
	}
	check(t, st.SaveHREvents(ctx, evs))
	if evs[0].ID == 0 || evs[1].ID <= evs[0].ID || evs[2].ID <= evs[1].ID {
		t.Fatalf("IDs not set in order: %d %d %d", evs[0].ID, evs[1].ID, evs[2].ID)
	}
	pend := must[[]store.HREvent](t)(st.PendingHREvents(ctx))
	if len(pend) != 2 || pend[0].ID != evs[0].ID || pend[0].EmployeeID != "E100" || !pend[0].ReceivedAt.Equal(day(0)) || pend[0].RunID != store.HREventPending || pend[1].ID != evs[1].ID {
		t.Fatalf("pending events = %+v", pend)
	}
	r := run(t, st, "hook", "people:E100", day(0), reconcile.StatusCompleted)
	pend[0].RunID, pend[0].EmployeeID = r, "e100"
	check(t, st.FinishHREvents(ctx, pend[:1]))
	if left := must[[]store.HREvent](t)(st.PendingHREvents(ctx)); len(left) != 1 || left[0].ID != evs[1].ID {
		t.Fatalf("pending after one was run = %+v", left)
	}
	if at := must[time.Time](t)(st.FirstHREvent(ctx, "e100", day(-1), day(1))); !at.Equal(day(0)) {
		t.Errorf("FirstHREvent(E100, from day -1) = %v, want %v", at, day(0))
	}
	if at := must[time.Time](t)(st.FirstHREvent(ctx, "E100", day(-3), day(1))); !at.Equal(day(-2)) {
		t.Errorf("FirstHREvent(E100, from day -3) = %v, want %v", at, day(-2))
	}
	if at := must[time.Time](t)(st.FirstHREvent(ctx, "E999", day(-3), day(1))); !at.IsZero() {
		t.Errorf("FirstHREvent(nobody) = %v", at)
	}
	// Webhooks received by two processes at once: every event kept, each
	// with an ID of its own.
	var wg sync.WaitGroup
	batches := make([][]store.HREvent, 2)
	errs := make([]error, 2)
	for i, h := range []Store{st, other} {
		for j := range 20 {
			batches[i] = append(batches[i], store.HREvent{RequestID: fmt.Sprintf("p%d-%d", i, j), Source: "hr", EmployeeID: fmt.Sprintf("E%d", j), ReceivedAt: day(1), RunID: store.HREventPending})
		}
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = h.SaveHREvents(ctx, batches[i]) }()
	}
	wg.Wait()
	ids := map[int64]bool{}
	for i := range batches {
		check(t, errs[i])
		for _, e := range batches[i] {
			if e.ID == 0 || ids[e.ID] {
				t.Fatalf("event %s got ID %d", e.RequestID, e.ID)
			}
			ids[e.ID] = true
		}
	}
	if left := must[[]store.HREvent](t)(other.PendingHREvents(ctx)); len(left) != 41 {
		t.Fatalf("%d events pending after concurrent webhooks, want 41", len(left))
	}
}

func testSignatures(t *testing.T, st Store, again func() Store) {
	ctx := context.Background()
	exp := day(0).Add(10 * time.Minute)
	if ok := must[bool](t)(st.ClaimSignature(ctx, "sig1", day(0), exp)); !ok {
		t.Fatal("first claim refused")
	}
	if ok := must[bool](t)(st.ClaimSignature(ctx, "sig1", day(0).Add(time.Minute), exp)); ok {
		t.Fatal("a replay was accepted")
	}
	// Expired: forgotten on the way, claimable again.
	if ok := must[bool](t)(st.ClaimSignature(ctx, "sig1", exp.Add(time.Second), exp.Add(time.Hour))); !ok {
		t.Fatal("an expired signature was refused")
	}
	// A request that could not be recorded: its retry is not a replay.
	check(t, st.ForgetSignature(ctx, "sig1"))
	if ok := must[bool](t)(st.ClaimSignature(ctx, "sig1", exp, exp.Add(time.Hour))); !ok {
		t.Fatal("a forgotten signature was refused")
	}
	// Processes claiming one signature at once (each its own handle, as
	// serve on several machines): exactly one wins, every round.
	const procs, rounds = 4, 20
	handles := []Store{st}
	for len(handles) < procs {
		handles = append(handles, again())
	}
	for r := range rounds {
		sig := fmt.Sprintf("race-%d", r)
		var wins sync.WaitGroup
		won := make([]bool, procs)
		errs := make([]error, procs)
		start := make(chan struct{})
		for i, h := range handles {
			wins.Add(1)
			go func() {
				defer wins.Done()
				<-start
				won[i], errs[i] = h.ClaimSignature(ctx, sig, day(0), exp)
			}()
		}
		close(start)
		wins.Wait()
		n := 0
		for i := range won {
			check(t, errs[i])
			if won[i] {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("round %d: %d of %d concurrent claims of one signature won, want exactly 1", r, n, procs)
		}
	}
}

func testManualSteps(t *testing.T, a, b Store) {
	ctx := context.Background()
	r := run(t, a, "nightly", "full", day(0), reconcile.StatusCompleted)
	steps := []reconcile.Action{
		{RunID: r, Fingerprint: "fp1", Target: "app", AccountID: "u1", Op: "remove_group", Arg: "admins", Status: reconcile.ActionManual, RequestedAt: day(0)},
		{RunID: r, Fingerprint: "fp1", Target: "app", AccountID: "u1", Op: "disable", Status: reconcile.ActionManual, RequestedAt: day(0)},
		{RunID: r, Fingerprint: "fp2", Target: "app", AccountID: "u2", Op: "disable", Status: reconcile.ActionManual, RequestedAt: day(0)},
	}
	must[[]int64](t)(a.InsertActions(ctx, steps))
	open := must[[]reconcile.Action](t)(b.OpenManualSteps(ctx, ""))
	if len(open) != 3 || open[0].Op != "disable" || open[1].Op != "remove_group" || open[2].Fingerprint != "fp2" {
		t.Fatalf("open steps = %+v", open)
	}
	if open := must[[]reconcile.Action](t)(b.OpenManualSteps(ctx, "fp2")); len(open) != 1 || open[0].AccountID != "u2" {
		t.Fatalf("open steps of fp2 = %+v", open)
	}
	// Two people acknowledge the same step at once, from two handles: one
	// records it, the other is told it is not open.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	acks := make([]reconcile.Action, 2)
	for i, st := range []Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acks[i], errs[i] = st.AckManualStep(ctx, "fp1", "remove_group", "admins", fmt.Sprintf("person%d", i), day(1))
		}()
	}
	wg.Wait()
	okN, notOpen := 0, 0
	var ack reconcile.Action
	for i, err := range errs {
		switch {
		case err == nil:
			okN++
			ack = acks[i]
		case errors.Is(err, store.ErrNoManualStep):
			notOpen++
		default:
			t.Fatal(err)
		}
	}
	if okN != 1 || notOpen != 1 {
		t.Fatalf("two acknowledgements at once: %d recorded, %d refused (%v)", okN, notOpen, errs)
	}
	if ack.ID == 0 || ack.Status != reconcile.ActionAcknowledged || !ack.Verified || ack.RunID != r || !ack.FinishedAt.Equal(day(1)) {
		t.Fatalf("acknowledged step = %+v", ack)
	}
	if _, err := a.AckManualStep(ctx, "fp9", "disable", "", "x", day(1)); !errors.Is(err, store.ErrNoManualStep) {
		t.Fatalf("ack of an unknown step: %v", err)
	}
	if open := must[[]reconcile.Action](t)(a.OpenManualSteps(ctx, "fp1")); len(open) != 1 || open[0].Op != "disable" {
		t.Fatalf("open steps of fp1 after the ack = %+v", open)
	}
	counts := must[map[[2]string]int](t)(a.ActionCounts(ctx))
	if counts[[2]string{"app", "manual"}] != 3 || counts[[2]string{"app", "acknowledged"}] != 1 {
		t.Fatalf("ActionCounts = %v", counts)
	}
	if known := must[bool](t)(a.FindingKnown(ctx, "fp1")); known {
		t.Fatal("FindingKnown before any finding was saved")
	}
	must[[]reconcile.FindingState](t)(a.SaveFindings(ctx, r, day(0), reconcile.SortedRows(reconcile.FindingRow{Fingerprint: "fp1", Kind: "orphan", Severity: "high",
		Disposition: "manual_revoke", Target: "app", AccountID: "u1", FirstSeen: day(0), Body: []byte(`{}`)}), func(string, string) bool { return true }))
	if known := must[bool](t)(b.FindingKnown(ctx, "fp1")); !known {
		t.Fatal("FindingKnown after the finding was saved")
	}
}

func testHolds(t *testing.T, a, b Store) {
	ctx := context.Background()
	direct := must[int64](t)(a.AddHold(ctx, reconcile.Hold{Target: "app", AccountID: "u0", Reason: "legal", Until: day(30), CreatedBy: "alice", CreatedAt: day(0)}))
	req := must[int64](t)(a.RequestHold(ctx, reconcile.Hold{Target: "app", AccountID: "u1", Reason: "litigation", Until: day(30), CreatedBy: "alice", CreatedAt: day(0)}))
	late := must[int64](t)(a.RequestHold(ctx, reconcile.Hold{Target: "app", AccountID: "u2", Reason: "x", Until: day(1), CreatedBy: "alice", CreatedAt: day(0)}))
	inEffect := func() []int64 {
		var ids []int64
		for _, h := range must[[]reconcile.Hold](t)(b.Holds(ctx, false)) {
			ids = append(ids, h.ID)
		}
		return ids
	}
	if got := inEffect(); !slices.Equal(got, []int64{direct}) {
		t.Fatalf("holds in effect before approval = %v, want only %d", got, direct)
	}
	if all := must[[]reconcile.Hold](t)(b.Holds(ctx, true)); len(all) != 3 {
		t.Fatalf("all holds = %+v", all)
	}
	appr := must[map[int64]store.HoldApproval](t)(b.HoldApprovals(ctx))
	if len(appr) != 2 || appr[req].Approval != store.HoldRequested {
		t.Fatalf("approvals = %+v", appr)
	}
	if _, err := b.ApproveHold(ctx, req, " ALICE ", day(1)); !errors.Is(err, store.ErrSamePerson) {
		t.Fatalf("self-approval: %v, want ErrSamePerson", err)
	}
	if _, err := b.ApproveHold(ctx, direct, "bob", day(1)); err == nil {
		t.Fatal("approved a hold that needed no approval")
	}
	if _, err := b.ApproveHold(ctx, late, "bob", day(2)); err == nil {
		t.Fatal("approved an expired request")
	}
	if _, err := b.ApproveHold(ctx, 9999, "bob", day(1)); err == nil {
		t.Fatal("approved a hold that does not exist")
	}
	// Two approvers at once (two handles): one approves, the other is told.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	got := make([]reconcile.Hold, 2)
	for i, st := range []Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = st.ApproveHold(ctx, req, []string{"bob", "carol"}[i], day(1))
		}()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("two approvals at once: errors %v, want exactly one to succeed", errs)
	}
	winner := 0
	if errs[0] != nil {
		winner = 1
	}
	if got[winner].ID != req || got[winner].AccountID != "u1" {
		t.Fatalf("approved hold = %+v", got[winner])
	}
	if h := must[map[int64]store.HoldApproval](t)(a.HoldApprovals(ctx))[req]; h.Approval != store.HoldApproved || h.ApprovedBy != []string{"bob", "carol"}[winner] || !h.ApprovedAt.Equal(day(1)) {
		t.Fatalf("approval recorded = %+v", h)
	}
	if got := inEffect(); !slices.Equal(got, []int64{req, direct}) {
		t.Fatalf("holds in effect after approval = %v", got)
	}
	removed := must[reconcile.Hold](t)(a.RemoveHold(ctx, req, "dave", day(2)))
	if removed.RemovedBy != "dave" || !removed.RemovedAt.Equal(day(2)) {
		t.Fatalf("removed hold = %+v", removed)
	}
	if _, err := a.ApproveHold(ctx, req, "erin", day(2)); err == nil {
		t.Fatal("approved a removed hold")
	}
	if got := inEffect(); !slices.Equal(got, []int64{direct}) {
		t.Fatalf("holds in effect after removal = %v", got)
	}
}

func testExemptions(t *testing.T, st Store) {
	ctx := context.Background()
	e1 := must[int64](t)(st.AddExemption(ctx, store.Exemption{Target: "app", AccountID: "svc1", Owner: "ops", Reason: "batch", Expires: day(90), RequestedBy: "alice", RequestedAt: day(0)}))
	e2 := must[int64](t)(st.AddExemption(ctx, store.Exemption{Target: "app", AccountID: "svc2", Owner: "ops", Reason: "batch", Expires: day(90), RequestedBy: "alice", RequestedAt: day(0)}))
	e3 := must[int64](t)(st.AddExemption(ctx, store.Exemption{Target: "app", AccountID: "svc3", Owner: "ops", Reason: "old", Expires: day(1), RequestedBy: "alice", RequestedAt: day(0)}))
	if ap := must[[]store.Exemption](t)(st.ApprovedExemptions(ctx)); len(ap) != 0 {
		t.Fatalf("approved before any approval: %+v", ap)
	}
	if _, err := st.ApproveExemption(ctx, e1, "alice", day(1)); !errors.Is(err, store.ErrSamePerson) {
		t.Fatalf("self-approval: %v", err)
	}
	if _, err := st.ApproveExemption(ctx, e3, "bob", day(3)); err == nil {
		t.Fatal("approved an expired exemption")
	}
	got := must[store.Exemption](t)(st.ApproveExemption(ctx, e2, "bob", day(1)))
	if got.ID != e2 || got.ApprovedBy != "bob" || !got.ApprovedAt.Equal(day(1)) || !got.Expires.Equal(day(90)) || got.Owner != "ops" {
		t.Fatalf("approved exemption = %+v", got)
	}
	if _, err := st.ApproveExemption(ctx, e2, "carol", day(1)); err == nil {
		t.Fatal("approved twice")
	}
	must[store.Exemption](t)(st.ApproveExemption(ctx, e1, "bob", day(2)))
	ap := must[[]store.Exemption](t)(st.ApprovedExemptions(ctx))
	if len(ap) != 2 || ap[0].ID != e1 || ap[1].ID != e2 {
		t.Fatalf("approved exemptions (oldest first) = %+v", ap)
	}
	rm := must[store.Exemption](t)(st.RemoveExemption(ctx, e1, "dave", day(3)))
	if rm.RemovedBy != "dave" || !rm.RemovedAt.Equal(day(3)) {
		t.Fatalf("removed = %+v", rm)
	}
	if _, err := st.RemoveExemption(ctx, e1, "dave", day(3)); err == nil {
		t.Fatal("removed twice")
	}
	if _, err := st.ApproveExemption(ctx, e1, "erin", day(3)); err == nil {
		t.Fatal("approved a removed exemption")
	}
	if cur := must[[]store.Exemption](t)(st.Exemptions(ctx, false)); len(cur) != 2 || cur[0].ID != e3 || cur[1].ID != e2 {
		t.Fatalf("exemptions not removed (newest first) = %+v", cur)
	}
	if all := must[[]store.Exemption](t)(st.Exemptions(ctx, true)); len(all) != 3 {
		t.Fatalf("all exemptions = %+v", all)
	}
}

func testDrills(t *testing.T, st Store) {
	ctx := context.Background()
	d := store.Drill{RunID: 7, StartedAt: day(0), FinishedAt: day(0).Add(3 * time.Minute), Scenario: "terminate", By: "alice", Passed: true,
		Targets: []store.DrillTarget{{Target: "app", Account: "canary", Tier: "critical", SLA: time.Hour, TimeTaken: 2 * time.Minute, Revoked: true, Passed: true,
			Steps: []store.DrillStep{{Op: "disable", Status: "done", Verified: true}}}},
		Restored: []store.DrillRestore{{Target: "app", Account: "canary", Restored: true}}}
	id1 := must[int64](t)(st.SaveDrill(ctx, d))
	d2 := d
	d2.StartedAt, d2.Passed, d2.Error = day(5), false, "ldap: timeout"
	id2 := must[int64](t)(st.SaveDrill(ctx, d2))
	all := must[[]store.Drill](t)(st.Drills(ctx, time.Time{}, time.Time{}))
	if len(all) != 2 || all[0].ID != id1 || all[1].ID != id2 {
		t.Fatalf("all drills = %+v", all)
	}
	want := d
	want.ID = id1
	if g := all[0]; g.ID != want.ID || !g.StartedAt.Equal(want.StartedAt) || !g.FinishedAt.Equal(want.FinishedAt) || g.Scenario != want.Scenario ||
		!g.Passed || len(g.Targets) != 1 || g.Targets[0].TimeTaken != 2*time.Minute || len(g.Targets[0].Steps) != 1 || len(g.Restored) != 1 {
		t.Fatalf("drill read back = %+v, want %+v", g, want)
	}
	if got := must[[]store.Drill](t)(st.Drills(ctx, day(1), time.Time{})); len(got) != 1 || got[0].ID != id2 || got[0].Error != "ldap: timeout" || got[0].Passed {
		t.Fatalf("drills from day 1 = %+v", got)
	}
	if got := must[[]store.Drill](t)(st.Drills(ctx, time.Time{}, day(5))); len(got) != 1 || got[0].ID != id1 {
		t.Fatalf("drills before day 5 = %+v", got)
	}
}

func accountsOf(t *testing.T, seq iter.Seq2[targets.Account, error]) []string {
	t.Helper()
	var ids []string
	for a, err := range seq {
		check(t, err)
		ids = append(ids, a.ID+":"+a.Username)
	}
	return ids
}

func testPeriod(t *testing.T, st Store) {
	ctx := context.Background()
	if id := must[int64](t)(st.LastCollection(ctx, "app")); id != 0 {
		t.Fatalf("LastCollection of an empty store = %d", id)
	}
	r1 := run(t, st, "nightly", "full", day(0), reconcile.StatusCompleted)
	r2 := run(t, st, "nightly", "full", day(1), reconcile.StatusCompleted)
	for _, r := range []int64{r1, r2} {
		check(t, st.SaveCollection(ctx, reconcile.Collection{RunID: r, Side: reconcile.SideTarget, Name: "app", Type: "csv", Status: reconcile.CollectionOK, StartedAt: "x"}))
	}
	check(t, st.SaveAccounts(ctx, r2, "app", []targets.Account{
		{ID: "b", Username: "bob", Email: "Bob@Example.com", Enabled: true, Groups: []targets.Group{{ID: "g1", Name: "admins"}}},
		{ID: "B", Username: "big", Enabled: true},
		{ID: "a", Username: "amy", Email: "amy@example.com"},
	}, nil))
	must[[]string](t)(st.FinishAccounts(ctx, r2, "app", true))
	if id := must[int64](t)(st.LastCollection(ctx, "app")); id != r2 {
		t.Fatalf("LastCollection = %d, want %d", id, r2)
	}
	if got := accountsOf(t, st.CollectedAccounts(ctx, r2, "app")); !slices.Equal(got, []string{"B:big", "a:amy", "b:bob"}) {
		t.Fatalf("CollectedAccounts = %q", got)
	}
	for a := range st.CollectedAccounts(ctx, r2, "app") {
		if a.ID == "b" && (len(a.Groups) != 1 || a.Groups[0].Name != "admins" || !a.Enabled) {
			t.Fatalf("collected account b = %+v", a)
		}
	}
	if a, n, coll, err := st.ResolveAccount(ctx, r2, "app", "bob@example.COM"); err != nil || n != 1 || !coll || a.ID != "b" {
		t.Fatalf("ResolveAccount(email) = %+v %d %v %v", a, n, coll, err)
	}
	if _, n, coll, err := st.ResolveAccount(ctx, r2, "app", "nobody"); err != nil || n != 0 || !coll {
		t.Fatalf("ResolveAccount(nobody) = %d %v %v", n, coll, err)
	}
	if _, n, coll, err := st.ResolveAccount(ctx, r1, "app", "bob"); err != nil || n != 0 || coll {
		t.Fatalf("ResolveAccount in a run without accounts = %d %v %v", n, coll, err)
	}
	rows := []reconcile.FindingRow{
		{Fingerprint: "f2", Kind: "terminated", Severity: "critical", Disposition: "auto_revoke", Target: "app", AccountID: "b", FirstSeen: day(1), Body: []byte(`{"fp":"f2","revoked_at":"x"}`)},
		{Fingerprint: "f1", Kind: "orphan", Severity: "high", Disposition: "review", Target: "app", AccountID: "a", FirstSeen: day(1), Body: []byte(`{"fp":"f1"}`)},
	}
	revokedBody := string(rows[0].Body) // SaveFindings may reorder rows
	must[[]reconcile.FindingState](t)(st.SaveFindings(ctx, r2, day(1), reconcile.SortedRows(rows...), func(string, string) bool { return true }))
	must[[]int64](t)(st.InsertActions(ctx, []reconcile.Action{{RunID: r2, Fingerprint: "f2", Target: "app", AccountID: "b", Op: "disable", Status: "done", RequestedAt: day(1)}}))
	var got []string
	check(t, st.FindingsBetween(ctx, day(0), day(2), nil, func(f store.PeriodFinding) error {
		got = append(got, fmt.Sprintf("%d/%s/%s/%s/%s", f.RunID, f.Fingerprint, f.Kind, f.Disposition, f.Body))
		return nil
	}))
	want := []string{fmt.Sprintf(`%d/f1/orphan/review/{"fp":"f1"}`, r2), fmt.Sprintf(`%d/f2/terminated/auto_revoke/{"fp":"f2","revoked_at":"x"}`, r2)}
	if !slices.Equal(got, want) {
		t.Fatalf("FindingsBetween = %q, want %q", got, want)
	}
	got = nil
	check(t, st.FindingsBetween(ctx, day(0), day(2), []string{"terminated"}, func(f store.PeriodFinding) error {
		got = append(got, f.Fingerprint)
		return nil
	}))
	if !slices.Equal(got, []string{"f2"}) {
		t.Fatalf("FindingsBetween(terminated) = %q", got)
	}
	got = nil
	check(t, st.FindingsBetween(ctx, day(2), day(3), nil, func(f store.PeriodFinding) error { got = append(got, f.Fingerprint); return nil }))
	if len(got) != 0 {
		t.Fatalf("FindingsBetween of a period without runs = %q", got)
	}
	states := must[map[string]reconcile.FindingState](t)(st.FindingStates(ctx, []string{"f1", "f9"}))
	if len(states) != 1 || states["f1"].Kind != "orphan" || !states["f1"].FirstSeen.Equal(day(1)) || states["f1"].LastRun != r2 {
		t.Fatalf("FindingStates = %+v", states)
	}
	rev := must[[]store.RevokedFinding](t)(st.RevokedFindings(ctx, day(0)))
	if len(rev) != 1 || rev[0].RunID != r2 || string(rev[0].Body) != revokedBody {
		t.Fatalf("RevokedFindings = %+v", rev)
	}
	if rev := must[[]store.RevokedFinding](t)(st.RevokedFindings(ctx, day(2))); len(rev) != 0 {
		t.Fatalf("RevokedFindings since day 2 = %+v", rev)
	}
	var acts []string
	check(t, st.ActionsBetween(ctx, day(1), day(2), func(a reconcile.Action) error { acts = append(acts, a.Fingerprint+"/"+a.Op); return nil }))
	if !slices.Equal(acts, []string{"f2/disable"}) {
		t.Fatalf("ActionsBetween = %q", acts)
	}
	acts = nil
	check(t, st.ActionsBetween(ctx, day(0), day(1), func(a reconcile.Action) error { acts = append(acts, a.Fingerprint); return nil }))
	if len(acts) != 0 {
		t.Fatalf("ActionsBetween of day 0 = %q", acts)
	}
}

// testLeavers: Leavers yields exactly the people of a run's HR snapshot
// whose termination date is after the time given (a nanosecond after
// counts, the same instant does not; no date never does), in employee ID
// order, as People filtered would.
func testLeavers(t *testing.T, st Store) {
	ctx := context.Background()
	asOf := time.Date(2026, 11, 25, 21, 30, 0, 0, time.FixedZone("AST", 3*3600))
	dates := []time.Time{{}, asOf.AddDate(-1, 0, 0), asOf.Add(-time.Microsecond), asOf, asOf.Add(time.Microsecond),
		asOf.Add(time.Second), asOf.Add(150 * time.Minute), asOf.AddDate(0, 0, 1), asOf.AddDate(3, 0, 0)}
	var people []*reconcile.PersonRow
	for i, d := range dates {
		p := &reconcile.PersonRow{}
		p.EmployeeID, p.Status, p.TerminationDate = fmt.Sprintf("E%02d", 9-i), "active", d
		people = append(people, p)
	}
	r := run(t, st, "nightly", "full", asOf, reconcile.StatusCompleted)
	check(t, st.SavePeople(ctx, r, people))
	check(t, st.FinishPeople(ctx, r, true))
	for _, after := range []time.Time{asOf, asOf.Add(-time.Hour), asOf.AddDate(0, 0, 1), {}} {
		var want, got []string
		for p, err := range st.People(ctx, r) {
			check(t, err)
			if p.TerminationDate.After(after) {
				want = append(want, p.EmployeeID)
			}
		}
		for p, err := range st.Leavers(ctx, r, after) {
			check(t, err)
			got = append(got, p.EmployeeID)
		}
		if !slices.Equal(got, want) || (after.Equal(asOf) && len(got) != 5) {
			t.Errorf("leavers after %v: %v, want %v", after, got, want)
		}
	}
}

func testPrune(t *testing.T, st Store) {
	ctx := context.Background()
	all := func(string, string) bool { return true }
	acct := []targets.Account{{ID: "u1", Username: "u1", Enabled: true}}
	oldRun := run(t, st, "nightly", "full", day(0), reconcile.StatusCompleted)
	check(t, st.SaveAccounts(ctx, oldRun, "app", acct, nil))
	must[[]string](t)(st.FinishAccounts(ctx, oldRun, "app", true))
	must[[]reconcile.FindingState](t)(st.SaveFindings(ctx, oldRun, day(0), reconcile.SortedRows(
		reconcile.FindingRow{Fingerprint: "gone", Kind: "orphan", Severity: "high", Disposition: "review", Target: "app", AccountID: "u0", FirstSeen: day(0), Body: []byte(`{}`)},
		reconcile.FindingRow{Fingerprint: "stays", Kind: "orphan", Severity: "high", Disposition: "review", Target: "app", AccountID: "u1", FirstSeen: day(0), Body: []byte(`{}`)},
	), all))
	keepRun := run(t, st, "nightly", "full", day(1), reconcile.StatusCompleted)
	check(t, st.SaveAccounts(ctx, keepRun, "app", acct, nil))
	must[[]string](t)(st.FinishAccounts(ctx, keepRun, "app", true))
	must[[]reconcile.FindingState](t)(st.SaveFindings(ctx, keepRun, day(1), reconcile.SortedRows(
		reconcile.FindingRow{Fingerprint: "stays", Kind: "orphan", Severity: "high", Disposition: "review", Target: "app", AccountID: "u1", FirstSeen: day(0), Body: []byte(`{}`)},
	), all))
	failed := run(t, st, "nightly", "full", day(2), reconcile.StatusFailed)
	check(t, st.SaveAccounts(ctx, failed, "app", acct, nil))
	must[[]string](t)(st.FinishAccounts(ctx, failed, "app", true))

	// 30 days later, keeping 10: the old run's snapshot and findings go;
	// the newest completed run's stay, whatever their age; so does the
	// open finding's life, while the resolved one's goes.
	check(t, st.Prune(ctx, day(30), store.Retention{Snapshots: 10 * 24 * time.Hour, Findings: 10 * 24 * time.Hour}))
	has := func(r int64) bool {
		_, found, err := st.SnapshotAccount(ctx, r, "app", "u1")
		check(t, err)
		return found
	}
	if has(oldRun) || has(failed) || !has(keepRun) {
		t.Fatalf("snapshots after prune: old %v, failed %v, newest completed %v; want only the newest completed", has(oldRun), has(failed), has(keepRun))
	}
	if b := must[[][]byte](t)(st.FindingBodies(ctx, oldRun)); len(b) != 0 {
		t.Fatalf("findings of the pruned run: %d", len(b))
	}
	if b := must[[][]byte](t)(st.FindingBodies(ctx, keepRun)); len(b) != 1 {
		t.Fatalf("findings of the kept run: %d", len(b))
	}
	states := must[map[string]reconcile.FindingState](t)(st.AllFindingStates(ctx))
	if _, ok := states["gone"]; ok || len(states) != 1 {
		t.Fatalf("finding states after prune = %v", slices.Collect(func(yield func(string) bool) {
			for k := range states {
				if !yield(k) {
					return
				}
			}
		}))
	}
	// Nothing else is old enough: a second prune changes nothing.
	check(t, st.Prune(ctx, day(30), store.Retention{Snapshots: 10 * 24 * time.Hour, Findings: 10 * 24 * time.Hour}))
	if !has(keepRun) {
		t.Fatal("a second prune removed the newest completed run's snapshot")
	}
}
