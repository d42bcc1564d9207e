package storetest

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

// contractDeltas holds the snapshot history to reconcile.Store's and
// reconcile.SnapshotHistory's docs: a run that sees nothing change adds no
// version, a change adds one, a complete listing without an account ends
// its version, a targeted, partial or unfinished snapshot ends nothing, and
// every earlier run's snapshot reads back exactly as it was saved.
func contractDeltas(t *testing.T, st Store) {
	ac := deltaAccounts()
	runDeltaPlans(t, st, ac)
	checkDeltaVersions(t, st, ac)
	checkDeltaSnapshots(t, st, ac)
	checkAccountAt(t, st, ac)
	checkSecondSave(t, st, ac)
	checkChangedSinceBaseline(t, st, ac)
}

// deltaDay is day n of the delta contract's runs.
func deltaDay(n int) time.Time { return contractT0.AddDate(0, 0, n) }

// deltaFixtures are the versions of the accounts the delta contract's runs
// list.
type deltaFixtures struct{ a1, a2, a3, a1off, a1priv, a3on, a4 targets.Account }

func deltaAccounts() deltaFixtures {
	acct := func(id string, enabled bool, groups ...string) targets.Account {
		a := targets.Account{ID: id, Username: "u-" + id, Email: id + "@x", Enabled: enabled, LastLogin: contractT0}
		for _, g := range groups {
			a.Groups = append(a.Groups, targets.Group{ID: "cn=" + g, Name: g})
		}
		if id == "A1" {
			a.Credentials = []targets.Credential{{ID: "k1", Kind: "access_key", Active: enabled}, {ID: "k0", Kind: "ssh_key", Active: true}}
		}
		return a
	}
	a1, a2, a3 := acct("A1", true, "eng"), acct("A2", true), acct("A3", false, "ops", "eng")
	a1off, a1priv, a3on, a4 := acct("A1", false, "eng"), acct("A1", false, "eng"), acct("A3", true, "ops"), acct("A4", true)
	a1priv.Privileged = true
	return deltaFixtures{a1, a2, a3, a1off, a1priv, a3on, a4}
}

// runPlan is one run of the delta contract.
type runPlan struct {
	scope    string
	people   []*reconcile.PersonRow
	hrWhole  bool
	batches  [][]targets.Account
	whole    bool
	finished bool // FinishAccounts called (a crash leaves it out)
}

// deltaPlans are the delta contract's seven runs.
func deltaPlans(ac deltaFixtures) []runPlan {
	a1, a2, a3, a1off, a1priv, a3on, a4 := ac.a1, ac.a2, ac.a3, ac.a1off, ac.a1priv, ac.a3on, ac.a4
	person := func(id, job string) *reconcile.PersonRow {
		return &reconcile.PersonRow{Person: sources.Person{EmployeeID: id, Status: sources.Active, JobCode: job, HireDate: contractT0}}
	}
	return []runPlan{
		// 1: the first snapshot, in two batches.
		{scope: "full", people: []*reconcile.PersonRow{person("E1", "ENG"), person("E2", "ENG")}, hrWhole: true,
			batches: [][]targets.Account{{a1, a2}, {a3}}, whole: true, finished: true},
		// 2: nothing changed.
		{scope: "full", people: []*reconcile.PersonRow{person("E2", "ENG"), person("E1", "ENG")}, hrWhole: true,
			batches: [][]targets.Account{{a3, a2, a1}}, whole: true, finished: true},
		// 3: A1 disabled, A2 gone, A4 new; E1 moved, E2 gone, E3 hired.
		{scope: "full", people: []*reconcile.PersonRow{person("E1", "OPS"), person("E3", "ENG")}, hrWhole: true,
			batches: [][]targets.Account{{a1off, a3}, {a4}}, whole: true, finished: true},
		// 4: a targeted run: A1 only (now privileged), E1 only.
		{scope: "people:E1", people: []*reconcile.PersonRow{person("E1", "SALES")},
			batches: [][]targets.Account{{a1priv}}, finished: true},
		// 5: a partial listing: A3 changed, A1 and A4 not seen.
		{scope: "full", people: []*reconcile.PersonRow{person("E1", "SALES"), person("E3", "ENG")}, hrWhole: true,
			batches: [][]targets.Account{{a3on}}, finished: true},
		// 6: died after a batch: no snapshot.
		{scope: "full", batches: [][]targets.Account{{a4}}},
		// 7: a complete listing again: A1 as run 4 saw it, A3 as run 5
		// did, A4; A2 still gone.
		{scope: "full", people: []*reconcile.PersonRow{person("E1", "SALES"), person("E3", "ENG")}, hrWhole: true,
			batches: [][]targets.Account{{a4, a3on, a1priv}}, whole: true, finished: true},
	}
}

// runDeltaPlans saves the contract's seven runs, checking after each that
// every run so far reads back as it was saved.
func runDeltaPlans(t *testing.T, st Store, ac deltaFixtures) {
	ctx := context.Background()
	day := deltaDay
	plans := deltaPlans(ac)
	wantStates := map[int64]map[string]reconcile.AccountState{}
	wantPeople := map[int64][]string{}
	baselineOf := map[int64]int64{2: 1, 3: 2, 4: 3, 5: 4, 6: 3, 7: 3}
	view := func(a targets.Account) reconcile.AccountState {
		return reconcile.AccountState{Enabled: a.Enabled, Privileged: a.Privileged, Groups: reconcile.JoinGroups(a.Groups)}
	}
	for i, p := range plans {
		id := beginRun(t, st, reconcile.Run{AsOf: day(i), StartedAt: day(i), Mode: "report", Scope: p.scope})
		if id != int64(i+1) {
			t.Fatalf("run %d has ID %d", i+1, id)
		}
		if p.people != nil {
			if err := st.SavePeople(ctx, id, p.people); err != nil {
				t.Fatal(err)
			}
			if err := st.FinishPeople(ctx, id, p.hrWhole); err != nil {
				t.Fatal(err)
			}
		}
		// The engine begins each snapshot with its baseline (the last
		// good collection): run 5's is run 4's targeted (incomplete)
		// snapshot, run 7's run 3's, since when targeted, partial and
		// unfinished runs changed versions. Each save tells each
		// account's state in it, and a complete finish the baseline's
		// accounts the run did not save.
		prev := baselineOf[id]
		if err := st.BeginAccounts(ctx, id, prev, "app"); err != nil {
			t.Fatal(err)
		}
		want := map[string]reconcile.AccountState{}
		for _, b := range p.batches {
			states := make([]reconcile.BaselineState, len(b))
			for i := range states {
				states[i] = reconcile.BaselineState{Found: true, State: reconcile.AccountState{Groups: "stale"}}
			}
			if err := st.SaveAccounts(ctx, id, "app", b, states); err != nil {
				t.Fatal(err)
			}
			for i, a := range b {
				checkBaselineState(t, id, prev, a, states[i], wantStates[prev])
				// Run 2 lists every account unchanged since its complete
				// baseline: the SQL stores tell so without reading states.
				if id == 2 && !states[i].Same {
					t.Errorf("run 2: %s unchanged since run 1 is not Same: %+v", a.ID, states[i])
				}
				want[a.ID] = view(a)
			}
		}
		if p.finished {
			gone, err := st.FinishAccounts(ctx, id, "app", p.whole)
			if err != nil {
				t.Fatal(err)
			}
			var wantGone []string
			if p.whole {
				for a := range wantStates[prev] {
					if _, ok := want[a]; !ok {
						wantGone = append(wantGone, a)
					}
				}
			}
			slices.Sort(gone)
			slices.Sort(wantGone)
			if !slices.Equal(gone, wantGone) {
				t.Errorf("run %d: FinishAccounts gone %v, want %v (baseline run %d)", id, gone, wantGone, prev)
			}
		} else {
			want = map[string]reconcile.AccountState{}
		}
		status := reconcile.StatusCompleted
		if !p.finished {
			status = reconcile.StatusCrashed
		}
		if err := st.FinishRun(reconcile.Run{ID: id, FinishedAt: day(i), Status: status, Mode: "report"}); err != nil {
			t.Fatal(err)
		}
		wantStates[id] = want
		for _, pr := range p.people {
			wantPeople[id] = append(wantPeople[id], pr.EmployeeID+"/"+pr.JobCode)
		}
		slices.Sort(wantPeople[id])
		// Every run so far reads back as it was saved.
		for r := int64(1); r <= id; r++ {
			got, err := st.AccountStates(ctx, r, "app")
			if err != nil || !maps.Equal(got, wantStates[r]) {
				t.Errorf("after run %d: AccountStates(%d) = %v, %v; want %v", id, r, got, err, wantStates[r])
			}
			var people []string
			for p, err := range st.People(ctx, r) {
				if err != nil {
					t.Fatal(err)
				}
				people = append(people, p.EmployeeID+"/"+p.JobCode)
			}
			if !slices.Equal(people, wantPeople[r]) {
				t.Errorf("after run %d: People(%d) = %v, want %v", id, r, people, wantPeople[r])
			}
		}
	}
}

// checkBaselineState checks an account's state in the baseline run prev,
// as a save gave it, against the baseline's states.
func checkBaselineState(t *testing.T, run, prev int64, a targets.Account, got reconcile.BaselineState, base map[string]reconcile.AccountState) {
	t.Helper()
	w, found := base[a.ID]
	now := reconcile.AccountState{Enabled: a.Enabled, Privileged: a.Privileged, Groups: reconcile.JoinGroups(a.Groups)}
	switch {
	case got.Found != found:
		t.Errorf("run %d: %s found in baseline run %d: %v, want %v", run, a.ID, prev, got.Found, found)
	case found && got.Same && now != w:
		t.Errorf("run %d: %s Same as in baseline run %d, which has %+v, not %+v", run, a.ID, prev, w, now)
	case found && !got.Same && got.State != w:
		t.Errorf("run %d: %s in baseline run %d: %+v, want %+v", run, a.ID, prev, got.State, w)
	}
}

// checkDeltaVersions: one version per change, none for an unchanged day.
func checkDeltaVersions(t *testing.T, st Store, ac deltaFixtures) {
	ctx := context.Background()
	// The versions: one per change, none for an unchanged day; ended by a
	// complete listing without the account, never by runs 4, 5 and 6.
	type span struct{ from, to int64 }
	wantVersions := map[string][]span{
		"A1": {{1, 3}, {3, 4}, {4, 0}},
		"A2": {{1, 3}},
		"A3": {{1, 5}, {5, 0}},
	}
	for id, want := range wantVersions {
		vs, err := st.AccountVersions(ctx, "app", id)
		var got []span
		for _, v := range vs {
			got = append(got, span{v.ValidFrom, v.ValidTo})
		}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("versions of %s = %v, %v; want %v", id, got, err, want)
		}
	}
	// A4: new in run 3; run 6 (unfinished) saved it unchanged. A store may
	// keep an unfinished run's versions, but only as later ones.
	if vs, err := st.AccountVersions(ctx, "app", "A4"); err != nil || len(vs) == 0 || vs[0].ValidFrom != 3 || vs[len(vs)-1].ValidTo != 0 {
		t.Errorf("versions of A4 = %+v, %v; want the first from run 3 and one current", vs, err)
	}
	if vs, _ := st.AccountVersions(ctx, "app", "A1"); len(vs) == 3 {
		want := snapshotOf(ac.a1off)
		if !reflect.DeepEqual(vs[1].Account, want) {
			t.Errorf("A1's second version = %+v, want %+v", vs[1].Account, want)
		}
	}

}

// checkDeltaSnapshots: SnapshotAccount of every run.
func checkDeltaSnapshots(t *testing.T, st Store, ac deltaFixtures) {
	ctx := context.Background()
	a1, a2, a1off, a1priv, a3on := ac.a1, ac.a2, ac.a1off, ac.a1priv, ac.a3on
	// SnapshotAccount of every run, with credentials in listing order.
	for _, c := range []struct {
		run   int64
		id    string
		want  *targets.Account
		label string
	}{
		{1, "A1", &a1, "run 1"}, {2, "A1", &a1, "run 2 (unchanged)"}, {3, "A1", &a1off, "run 3"}, {4, "A1", &a1priv, "run 4 (targeted)"},
		{5, "A1", nil, "run 5 (partial, not seen)"}, {6, "A4", nil, "run 6 (unfinished)"}, {7, "A1", &a1priv, "run 7"},
		{2, "A2", &a2, "run 2"}, {3, "A2", nil, "run 3 (deleted)"}, {7, "A2", nil, "run 7 (still deleted)"},
		{4, "A3", nil, "run 4 (targeted, not saved)"}, {5, "A3", &a3on, "run 5"},
	} {
		a, found, err := st.SnapshotAccount(ctx, c.run, "app", c.id)
		switch {
		case err != nil:
			t.Errorf("SnapshotAccount(%s of %s): %v", c.id, c.label, err)
		case c.want == nil && found:
			t.Errorf("SnapshotAccount(%s of %s) = %+v, want not found", c.id, c.label, a)
		case c.want != nil && !found:
			t.Errorf("SnapshotAccount(%s of %s) not found", c.id, c.label)
		case c.want != nil && !reflect.DeepEqual(a, snapshotOf(*c.want)):
			t.Errorf("SnapshotAccount(%s of %s) = %+v, want %+v", c.id, c.label, a, snapshotOf(*c.want))
		}
	}

}

// checkAccountAt: an account on a date.
func checkAccountAt(t *testing.T, st Store, ac deltaFixtures) {
	ctx := context.Background()
	day := deltaDay
	a1, a2, a1off, a1priv := ac.a1, ac.a2, ac.a1off, ac.a1priv
	// What did an account look like on a date: as the newest complete
	// snapshot taken by then saw it (runs 4 to 6 completed none).
	for _, c := range []struct {
		id      string
		at      time.Time
		run     int64
		want    *targets.Account
		comment string
	}{
		{"A1", day(-1), 0, nil, "before any run"},
		{"A1", day(0), 1, &a1, "the moment run 1 started"},
		{"A1", day(1).Add(time.Hour), 2, &a1, "day 2"},
		{"A1", day(2).Add(12 * time.Hour), 3, &a1off, "day 3"},
		{"A1", day(5), 3, &a1off, "day 6: runs 4 to 6 were not complete"},
		{"A1", day(9), 7, &a1priv, "day 10"},
		{"A2", day(1), 2, &a2, "day 2"},
		{"A2", day(3), 3, nil, "after it was deleted"},
	} {
		a, run, found, err := st.AccountAt(ctx, "app", c.id, c.at)
		if err != nil || run != c.run || found != (c.want != nil) || (c.want != nil && !reflect.DeepEqual(a, snapshotOf(*c.want))) {
			t.Errorf("AccountAt(%s, %s: %s) = %+v, run %d, found %v, %v; want run %d, %v", c.id, c.at, c.comment, a, run, found, err, c.run, c.want)
		}
	}
	if _, run, found, err := st.AccountAt(ctx, "other", "A1", day(9)); err != nil || run != 0 || found {
		t.Errorf("AccountAt on a target never collected = run %d, found %v, %v", run, found, err)
	}
}

// checkSecondSave: a second save of an account in one run is refused.
func checkSecondSave(t *testing.T, st Store, ac deltaFixtures) {
	ctx := context.Background()
	day, a4 := deltaDay, ac.a4
	id := beginRun(t, st, reconcile.Run{AsOf: day(8), StartedAt: day(8), Mode: "report", Scope: "full"})
	// Run 6 died before its snapshot: as a baseline it has nobody.
	if err := st.BeginAccounts(ctx, id, 6, "app"); err != nil {
		t.Fatal(err)
	}
	prev := []reconcile.BaselineState{{Found: true}}
	if err := st.SaveAccounts(ctx, id, "app", []targets.Account{a4}, prev); err != nil || prev[0].Found {
		t.Fatalf("A4 saved with run 6 as baseline: %+v, %v; want not found", prev[0], err)
	}
	if err := st.BeginAccounts(ctx, id, 6, "app"); err == nil {
		t.Error("a snapshot begun again after a save: no error")
	}
	if err := st.SaveAccounts(ctx, id, "app", []targets.Account{a4}, nil); err == nil {
		t.Error("an account saved twice in a run: no error")
	}
}

// checkChangedSinceBaseline: an account that a run after the baseline
// changed (a targeted run here) is as the baseline had it when listed
// again, and gone since it when not.
func checkChangedSinceBaseline(t *testing.T, st Store, ac deltaFixtures) {
	ctx := context.Background()
	const target = "changed"
	save := func(scope string, prev int64, accounts []targets.Account, complete bool) (int64, []reconcile.BaselineState, []string) {
		t.Helper()
		id := beginRun(t, st, reconcile.Run{AsOf: deltaDay(9), StartedAt: deltaDay(9), Mode: "report", Scope: scope})
		if err := st.BeginAccounts(ctx, id, prev, target); err != nil {
			t.Fatal(err)
		}
		states := make([]reconcile.BaselineState, len(accounts))
		if err := st.SaveAccounts(ctx, id, target, accounts, states); err != nil {
			t.Fatal(err)
		}
		gone, err := st.FinishAccounts(ctx, id, target, complete)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(gone)
		return id, states, gone
	}
	first, base, _ := save("full", 0, []targets.Account{ac.a1, ac.a3}, true)
	if base[0].Found || base[1].Found {
		t.Errorf("no baseline: %+v", base)
	}
	// A targeted run changes both after the baseline (first).
	save("people:E1", first, []targets.Account{ac.a1priv, ac.a3on}, false)
	// The next complete listing has A1 as the targeted run left it, and
	// not A3: A1 had changed since the baseline, A3 is gone since.
	_, states, gone := save("full", first, []targets.Account{ac.a1priv}, true)
	want := reconcile.AccountState{Enabled: ac.a1.Enabled, Groups: reconcile.JoinGroups(ac.a1.Groups)}
	if !states[0].Found || states[0].Same || states[0].State != want {
		t.Errorf("A1 changed since the baseline: %+v, want found with %+v", states[0], want)
	}
	if !slices.Equal(gone, []string{"A3"}) {
		t.Errorf("gone since the baseline: %v, want [A3]", gone)
	}
}

// snapshotOf is what SnapshotAccount returns of an account saved whole.
func snapshotOf(a targets.Account) targets.Account {
	out := targets.Account{ID: a.ID, Username: a.Username, Email: a.Email, EmployeeID: a.EmployeeID, DisplayName: a.DisplayName,
		Enabled: a.Enabled, Privileged: a.Privileged, Groups: a.Groups, LastLogin: a.LastLogin.UTC()}
	if out.Groups == nil {
		out.Groups = []targets.Group{}
	}
	for _, c := range a.Credentials {
		out.Credentials = append(out.Credentials, targets.Credential{ID: c.ID, Kind: c.Kind, Active: c.Active})
	}
	return out
}
