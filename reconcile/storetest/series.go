package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

// series runs the engine over a random series of days (seed picks it)
// against a store that open returns and, in lockstep, against the one ref
// returns, and fails where they disagree: each run's error, status,
// collections, counts, findings (as findings.json has them, first-seen
// dates included), drift, resolved problems and actions; the finding
// states after it, and the accounts its runs have disabled; and at the end
// every account's versions. It also holds the store under test to the days
// themselves: as of each run that listed a target whole and keeps what it
// lists (not targeted, not a dry run), AccountAt gives every account ever
// listed there as that run listed it, or not found.
//
// With prune set, the store under test is pruned after every run (the
// reference is not): retention must never change what a run concludes,
// so the runs' results and the open findings' states must still agree.
// Only the accounts' current versions are compared at the end then, and
// AccountAt within the snapshot retention and at each target's last whole
// listing, the baseline of the next run, which retention keeps however
// old.
//
// The days are what the stores' delta snapshots, live findings,
// resolution and revocation records must get right however a day comes:
// people hired, leaving, suspended, rehired, moved to another role,
// missing from HR for a day; accounts changed, re-enabled, removed and
// listed again under the same ID, orphans appearing; every listing in an
// order of its own; a listing that breaks part-way; targeted runs, runs of
// some kinds and dry runs between the full ones; days run two or three
// times; HR exports cut short or broken; holds; half the runs in enforce
// mode, each store's runs disabling accounts on their own copy of the
// targets (a disable holds until the account changes again; one account
// in seven refuses), its actions compared with the other's.
func series(t *testing.T, seed uint64, days int, open, ref func(t *testing.T) Store, prune *seriesPrune) {
	ctx := context.Background()
	w := newSeriesWorld(seed)
	lanes := [2]*seriesLane{{st: open(t), disabled: map[string]int{}}, {st: ref(t), disabled: map[string]int{}}}
	var listed []seriesListing // the whole listings of runs that keep what they list
	var last time.Time         // when the last run started
	for d := 1; d <= days; d++ {
		// Some days run two or three times, as of the same day: a run
		// again after a failure, or a webhook's; a few accounts change
		// between.
		runs := 1
		for d > 1 && runs < 3 && w.chance(0.3) {
			runs++
		}
		for r := range runs {
			switch {
			case r > 0:
				w.retouch()
			case d > 1:
				w.nextDay(d)
			}
			spec, keeps := w.runSpec(d)
			if w.chance(0.2) { // someone holds an account for a few days
				tw := w.targets[w.rng.IntN(len(w.targets))]
				a := tw.all[w.rng.IntN(len(tw.all))]
				h := reconcile.Hold{Target: tw.name, AccountID: a.ID, Reason: "series", Until: seriesDay(d + 1 + w.rng.IntN(4)),
					CreatedBy: "series", CreatedAt: seriesDay(d)}
				for _, l := range lanes {
					if _, err := l.st.AddHold(ctx, h); err != nil {
						t.Fatal(err)
					}
				}
			}
			at := seriesDay(d).Add(time.Duration(r) * time.Hour)
			last = at
			if keeps { // what the store under test is given, before the run acts
				for ti, ts := range lanes[0].targets(w) {
					if !w.broken[ti] {
						lt := ts.Target.(*seriesListingTarget)
						listed = append(listed, seriesListing{at: at, target: lt.t, accounts: lt.listedNow()})
					}
				}
			}
			day := fmt.Sprintf("day %d run %d (%s)", d, r+1, w.kind)
			got := lanes[0].run(t, day, w, spec, at, prune, prune != nil)
			if got.Status == "" {
				t.Fatalf("%s: the run did not start: %s", day, got.Err)
			}
			compareSeries(t, day, got, lanes[1].run(t, day, w, spec, at, nil, prune != nil))
			if t.Failed() {
				return // later runs would only repeat the difference
			}
		}
	}
	compareVersions(t, w, lanes[0].st, lanes[1].st, prune != nil)
	checked := 0
	for i, l := range listed {
		baseline := !slices.ContainsFunc(listed[i+1:], func(m seriesListing) bool { return m.target == l.target })
		if prune != nil && l.at.Before(last.Add(-prune.Snapshots)) && !baseline {
			continue
		}
		checked++
		checkListing(t, lanes[0].st, l)
	}
	if checked == 0 {
		t.Fatal("no run listed a target whole: the series checks no history")
	}
}

// seriesPrune prunes the store under test of a series.
type seriesPrune struct {
	Prune func(st Store, now time.Time) error
	// Snapshots is the snapshot retention Prune applies.
	Snapshots time.Duration
}

// SeriesSuite is the stores' tests' series (see series): five series of
// 16 days as they come, and seven with the store under test pruned after
// every run by prune, with retention as tight as it goes (snapshots 3
// days, findings 4).
func SeriesSuite(t *testing.T, open, ref func(t *testing.T) Store, prune func(st Store, now time.Time, snapshots, findings time.Duration) error) {
	for seed := range uint64(5) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { series(t, seed, 16, open, ref, nil) })
	}
	p := &seriesPrune{Snapshots: 3 * 24 * time.Hour, Prune: func(st Store, now time.Time) error {
		return prune(st, now, 3*24*time.Hour, 4*24*time.Hour)
	}}
	// Seeds 105 and 113 lost a target's baseline to retention before
	// Prune kept the baselines (a target's listing broken, or only
	// targeted and dry runs, for longer than the retention).
	for _, seed := range []uint64{100, 101, 102, 103, 104, 105, 113} {
		t.Run(fmt.Sprint("pruned, seed ", seed), func(t *testing.T) { series(t, seed, 16, open, ref, p) })
	}
}

// seriesLane is a store of a series and its own copy of the targets'
// revocations: target and account ID -> the account's gen when a run
// disabled it (the executor disables on several targets at once).
type seriesLane struct {
	st       Store
	mu       sync.Mutex
	disabled map[string]int
}

// targets are the lane's targets for the world as it is now.
func (l *seriesLane) targets(w *seriesWorld) []reconcile.TargetSpec {
	var ts []reconcile.TargetSpec
	for ti, tw := range w.targets {
		ts = append(ts, reconcile.TargetSpec{Name: tw.name, Type: "series", Target: &seriesListingTarget{w: w, t: tw, broken: w.broken[ti], lane: l}})
	}
	return ts
}

// run runs spec on the lane's store at time at, prunes it after (prune
// set), and returns what series compares (of the finding states, the open
// ones only with openOnly: retention deletes resolved ones).
func (l *seriesLane) run(t *testing.T, day string, w *seriesWorld, spec reconcile.RunSpec, at time.Time, prune *seriesPrune, openOnly bool) seriesResult {
	t.Helper()
	ctx := context.Background()
	e := &reconcile.Engine{Store: l.st, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return at }, Retry: reconcile.Retry{Attempts: 1}}
	spec.Targets = l.targets(w)
	res, err := e.Run(ctx, spec)
	got := summarise(t, res, err)
	if res != nil && res.Run.ID != 0 {
		as, err := l.st.Actions(ctx, res.Run.ID)
		if err != nil {
			t.Fatalf("%s: %v", day, err)
		}
		for _, a := range as {
			got.Actions = append(got.Actions, fmt.Sprintf("%s %s %s %s %s verified %v, %d attempts %s %s %s",
				a.Fingerprint, a.Target, a.AccountID, a.Op, a.Status, a.Verified, a.Attempts, a.Error, a.Kind, a.EmployeeID))
		}
		slices.Sort(got.Actions) // the targets act side by side
	}
	if res != nil {
		if err := res.Close(); err != nil {
			t.Fatal(err)
		}
	}
	got.Disabled = slices.Sorted(maps.Keys(l.disabled))
	if prune != nil {
		if err := prune.Prune(l.st, at); err != nil {
			t.Fatalf("%s: prune: %v", day, err)
		}
	}
	states, err := l.st.AllFindingStates(ctx)
	if err != nil {
		t.Fatalf("%s: %v", day, err)
	}
	if openOnly {
		maps.DeleteFunc(states, func(_ string, s reconcile.FindingState) bool { return s.Resolved })
	}
	got.States = stateMap(states)
	return got
}

// compareVersions compares the versions of every account ever listed (the
// current ones only when pruned).
func compareVersions(t *testing.T, w *seriesWorld, st, ref Store, pruned bool) {
	t.Helper()
	for _, tw := range w.targets {
		for _, a := range tw.all {
			var vs [2]string
			for k, s := range []Store{st, ref} {
				v, err := s.AccountVersions(context.Background(), tw.name, a.ID)
				if err != nil {
					t.Fatal(err)
				}
				if pruned {
					v = slices.DeleteFunc(v, func(v reconcile.AccountVersion) bool { return v.ValidTo != 0 })
				}
				vs[k] = fmt.Sprintf("%+v", v)
			}
			if vs[0] != vs[1] {
				t.Errorf("versions of %s on %s:\n%s\nreference:\n%s", a.ID, tw.name, vs[0], vs[1])
			}
		}
	}
}

// checkListing holds st's AccountAt to a whole listing: every account ever
// made on its target as the listing had it, or not found.
func checkListing(t *testing.T, st Store, l seriesListing) {
	t.Helper()
	for _, a := range l.target.all {
		got, _, found, err := st.AccountAt(context.Background(), l.target.name, a.ID, l.at)
		if err != nil {
			t.Fatal(err)
		}
		want, ok := l.accounts[a.ID]
		switch {
		case found != ok:
			t.Errorf("%s on %s as of %s: found %v, listed %v", a.ID, l.target.name, l.at.Format(time.DateOnly), found, ok)
		case ok && !reflect.DeepEqual(sortedAccount(got), sortedAccount(snapshotOf(want))):
			t.Errorf("%s on %s as of %s:\n%+v\nlisted:\n%+v", a.ID, l.target.name, l.at.Format(time.DateOnly), got, snapshotOf(want))
		}
	}
}

// seriesDay is when day d's first run starts, and what every run that day
// is judged as of.
func seriesDay(d int) time.Time {
	return time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC).AddDate(0, 0, d-1)
}

// seriesListing is a target's accounts as a run that keeps them listed
// them whole.
type seriesListing struct {
	at       time.Time
	target   *seriesTarget
	accounts map[string]targets.Account
}

// seriesResult is what two stores must agree on after a run.
type seriesResult struct {
	Err, Status string
	Guards      []string
	Counts      map[string]int
	Collections []string
	Findings    []string // findings.json's bodies
	Drift       []string
	Resolved    []string
	States      []string
	Actions     []string // the run's, as the store recorded them
	Disabled    []string // the accounts the lane's runs have disabled
}

func summarise(t *testing.T, res *reconcile.Result, err error) seriesResult {
	t.Helper()
	var s seriesResult
	if err != nil {
		s.Err = err.Error()
	}
	if res == nil {
		return s
	}
	s.Status, s.Guards, s.Counts = string(res.Run.Status), res.Run.Guards, res.Run.Counts
	for _, c := range res.Collections {
		s.Collections = append(s.Collections, fmt.Sprintf("%s %s %s %d %d %s", c.Side, c.Name, c.Status, c.Count, c.Enabled, c.Error))
	}
	for i := range res.Findings {
		b, err := res.AppendFindingJSON(nil, i)
		if err != nil {
			t.Fatal(err)
		}
		s.Findings = append(s.Findings, string(b))
	}
	for _, d := range res.Drift {
		s.Drift = append(s.Drift, fmt.Sprintf("%+v", d))
	}
	slices.Sort(s.Drift) // the order of a day's changes is the listing's
	s.Resolved = stateList(res.Resolved)
	return s
}

// compareSeries names the first difference of each part.
func compareSeries(t *testing.T, day string, got, want seriesResult) {
	t.Helper()
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		name := gv.Type().Field(i).Name
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if reflect.DeepEqual(g, w) {
			continue
		}
		gl, ok1 := g.([]string)
		wl, ok2 := w.([]string)
		if !ok1 || !ok2 {
			t.Errorf("%s: %s %v, reference %v", day, name, g, w)
			continue
		}
		k := 0
		for k < len(gl) && k < len(wl) && gl[k] == wl[k] {
			k++
		}
		at := func(l []string) string {
			if k < len(l) {
				return l[k]
			}
			return "(none)"
		}
		t.Errorf("%s: %s differ at %d of %d (reference %d):\n%s\nreference:\n%s", day, name, k, len(gl), len(wl), at(gl), at(wl))
	}
}

// sortedAccount orders an account's groups and credentials, for a
// comparison that does not depend on the order a store keeps them in.
func sortedAccount(a targets.Account) targets.Account {
	a.Groups = slices.SortedFunc(slices.Values(a.Groups), func(x, y targets.Group) int {
		return cmp.Or(strings.Compare(x.Name, y.Name), strings.Compare(x.ID, y.ID))
	})
	a.Credentials = slices.SortedFunc(slices.Values(a.Credentials), func(x, y targets.Credential) int { return strings.Compare(x.ID, y.ID) })
	return a
}

// seriesWorld is the organisation the days are made of.
type seriesWorld struct {
	rng    *rand.Rand
	people []sources.Person // everyone ever hired
	inHR   []bool           // listed by HR today
	// targets a (an account's ID is its person's, in lower case), b ("U-"
	// and the ID, with the email) and c (linked by email only).
	targets [3]*seriesTarget
	broken  [3]bool // today's listing breaks part-way
	kind    string  // today's kind of run
	// gen counts each account's changes: a revocation holds until the
	// account changes again (someone re-enables it, say).
	gen map[*targets.Account]int
}

type seriesTarget struct {
	name   string
	all    []*targets.Account // every account ever made
	listed []bool             // listed today
	order  []int              // today's listing order
	stop   int                // a broken listing's accounts before the error
}

var seriesGroups = []string{"g1", "g2", "g3", "admins"}

func newSeriesWorld(seed uint64) *seriesWorld {
	w := &seriesWorld{rng: rand.New(rand.NewPCG(seed, 0x5e7135)), gen: map[*targets.Account]int{}}
	for i, name := range []string{"a", "b", "c"} {
		w.targets[i] = &seriesTarget{name: name}
	}
	for range 40 {
		w.hire(1)
	}
	for _, st := range []sources.Status{sources.Terminated, sources.Terminated, sources.Suspended, sources.Leave} {
		w.setStatus(w.rng.IntN(len(w.people)), st, 1)
	}
	for ti := range w.targets {
		for range 2 {
			w.orphan(ti, 1)
		}
	}
	w.list()
	return w
}

func (w *seriesWorld) chance(p float64) bool { return w.rng.Float64() < p }

// hire adds a person, active, with an account on most targets.
func (w *seriesWorld) hire(d int) {
	i := len(w.people)
	p := sources.Person{EmployeeID: fmt.Sprintf("E%03d", i), Email: fmt.Sprintf("p%03d@example.com", i),
		FirstName: "P", LastName: fmt.Sprint(i), Status: sources.Active, HireDate: seriesDay(d).AddDate(0, 0, -w.rng.IntN(400)),
		Department: "D" + fmt.Sprint(i%3), JobCode: fmt.Sprintf("J%d", 1+w.rng.IntN(3))}
	w.people = append(w.people, p)
	w.inHR = append(w.inHR, true)
	for ti := range w.targets {
		if w.chance(0.85) {
			w.account(ti, p, d)
		}
	}
}

func (w *seriesWorld) account(ti int, p sources.Person, d int) {
	a := &targets.Account{Username: strings.ToLower(p.EmployeeID), DisplayName: p.FirstName + " " + p.LastName, Enabled: w.chance(0.9),
		LoginTracked: true, LastLogin: seriesDay(d).AddDate(0, 0, -w.rng.IntN(120)), Created: seriesDay(d).AddDate(-1, 0, 0)}
	switch ti {
	case 0:
		a.ID, a.EmployeeID = strings.ToLower(p.EmployeeID), p.EmployeeID
	case 1:
		a.ID, a.EmployeeID, a.Email = "U-"+p.EmployeeID, p.EmployeeID, p.Email
	default:
		a.ID, a.Email = "c/"+p.Email, strings.ToUpper(p.Email)
	}
	for _, g := range seriesGroups[:1+w.rng.IntN(2)] {
		a.Groups = append(a.Groups, targets.Group{ID: "cn=" + g, Name: g})
	}
	if w.chance(0.1) {
		a.Privileged = true
		a.Groups = append(a.Groups, targets.Group{ID: "cn=admins", Name: "admins"})
	}
	if w.chance(0.4) {
		a.Credentials = []targets.Credential{{ID: a.ID + "/k1", Kind: "api_key", Created: seriesDay(d).AddDate(0, -6, 0),
			LastUsed: seriesDay(d).AddDate(0, 0, -w.rng.IntN(200)), Active: true}}
	}
	t := w.targets[ti]
	t.all = append(t.all, a)
	t.listed = append(t.listed, true)
}

// orphan adds an account whose owner HR does not know.
func (w *seriesWorld) orphan(ti, d int) {
	n := len(w.targets[ti].all)
	w.account(ti, sources.Person{EmployeeID: fmt.Sprintf("X%d%02d", ti, n), Email: fmt.Sprintf("x%d%02d@elsewhere.example", ti, n),
		FirstName: "X", LastName: fmt.Sprint(n)}, d)
}

func (w *seriesWorld) setStatus(i int, st sources.Status, d int) {
	p := &w.people[i]
	day := seriesDay(d)
	switch st {
	case sources.Terminated:
		p.TerminationDate = day.AddDate(0, 0, -w.rng.IntN(5)).Truncate(24 * time.Hour)
	case sources.Active:
		if p.Status == sources.Terminated { // rehired
			p.TerminationDate, p.HireDate = time.Time{}, day.Truncate(24*time.Hour)
		}
	}
	p.Status, p.StatusEffective = st, day.Truncate(24*time.Hour)
}

// nextDay changes the world from day d-1 to day d.
func (w *seriesWorld) nextDay(d int) {
	for i := range w.people {
		if w.chance(0.06) {
			switch w.rng.IntN(5) {
			case 0:
				w.setStatus(i, sources.Terminated, d)
			case 1:
				w.setStatus(i, sources.Suspended, d)
			case 2:
				w.setStatus(i, sources.Leave, d)
			case 3:
				w.setStatus(i, sources.Active, d)
			default:
				w.people[i].JobCode = fmt.Sprintf("J%d", 1+w.rng.IntN(3))
			}
		}
		if w.inHR[i] {
			w.inHR[i] = !w.chance(0.02)
		} else {
			w.inHR[i] = w.chance(0.5)
		}
	}
	w.hire(d)
	for ti, t := range w.targets {
		for k, a := range t.all {
			if !t.listed[k] {
				t.listed[k] = w.chance(0.5) // listed again under its ID
				continue
			}
			if w.chance(0.04) {
				t.listed[k] = false
				continue
			}
			if w.chance(0.12) {
				w.change(a, d)
			}
		}
		if w.chance(0.3) {
			w.orphan(ti, d)
		}
	}
	w.list()
}

// change makes one change to an account.
func (w *seriesWorld) change(a *targets.Account, d int) {
	w.gen[a]++
	switch w.rng.IntN(7) {
	case 0:
		a.Enabled = w.chance(0.7) // enabled or re-enabled, mostly
	case 1:
		g := seriesGroups[w.rng.IntN(len(seriesGroups))]
		if i := slices.IndexFunc(a.Groups, func(x targets.Group) bool { return x.Name == g }); i >= 0 {
			a.Groups = slices.Delete(slices.Clone(a.Groups), i, i+1)
		} else {
			a.Groups = append(slices.Clone(a.Groups), targets.Group{ID: "cn=" + g, Name: g})
		}
	case 2:
		a.LastLogin = seriesDay(d).AddDate(0, 0, -w.rng.IntN(3))
	case 3:
		a.Privileged = !a.Privileged
	case 4:
		a.Credentials = append(slices.Clone(a.Credentials), targets.Credential{ID: fmt.Sprintf("%s/k%d", a.ID, d), Kind: "ssh_key",
			Created: seriesDay(d), Active: true})
	case 5:
		if n := len(a.Credentials); n > 0 {
			a.Credentials = slices.Clone(a.Credentials)
			a.Credentials[n-1].Active = !a.Credentials[n-1].Active
		}
	default:
		a.DisplayName += "'"
	}
}

// retouch delists and lists again a few accounts, for a second run the
// same day.
func (w *seriesWorld) retouch() {
	for _, t := range w.targets {
		for k := range t.all {
			if t.listed[k] && w.chance(0.05) || !t.listed[k] && w.chance(0.3) {
				t.listed[k] = !t.listed[k]
			}
		}
	}
	w.list()
}

// list picks today's listing orders and broken listings.
func (w *seriesWorld) list() {
	for ti, t := range w.targets {
		t.order = t.order[:0]
		for k := range t.all {
			if t.listed[k] {
				t.order = append(t.order, k)
			}
		}
		w.rng.Shuffle(len(t.order), func(i, j int) { t.order[i], t.order[j] = t.order[j], t.order[i] })
		w.broken[ti] = w.chance(0.1)
		t.stop = w.rng.IntN(len(t.order))
	}
}

// runSpec is day d's run but its targets (each lane lists its own);
// keeps says it keeps what it lists (not targeted, not a dry run).
func (w *seriesWorld) runSpec(d int) (spec reconcile.RunSpec, keeps bool) {
	var people []sources.Person
	for i, p := range w.people {
		if w.inHR[i] {
			people = append(people, p)
		}
	}
	truncated := d > 1 && w.chance(0.06)
	if truncated { // a cut-short export: the shrink guard's case
		people = people[:len(people)*3/5]
	}
	hrBroken := d > 1 && w.chance(0.05) // the run fails: HR is its authority
	spec = reconcile.RunSpec{AsOf: seriesDay(d), Mode: reconcile.Report,
		Sources: []reconcile.SourceSpec{{Name: "hr", Type: "series", Source: seriesSource{people: people, broken: hrBroken}}},
		Policy: reconcile.Policy{DormantAfter: reconcile.Duration(45 * 24 * time.Hour), CredentialMaxIdle: reconcile.Duration(60 * 24 * time.Hour),
			LeaveIsFinding: true, Roles: map[string]map[string][]string{
				"J1": {"a": {"g1"}, "b": {"g1", "g2"}, "c": {"g1"}},
				"J2": {"a": {"g1", "g2"}, "b": {"g2"}, "c": {"g1", "g3"}},
				"J3": {"a": {"g3"}, "b": {"g1", "g3"}, "c": {"g2"}},
			}}}
	w.kind = "full"
	if d > 1 {
		switch w.rng.IntN(8) {
		case 0:
			w.kind = "targeted"
			spec.EmployeeIDs = []string{w.people[w.rng.IntN(len(w.people))].EmployeeID, strings.ToLower(w.people[w.rng.IntN(len(w.people))].EmployeeID)}
		case 1:
			w.kind = "kinds"
			spec.Scope = []reconcile.Kind{reconcile.Dormant, reconcile.Orphaned}
		case 2:
			w.kind = "dry run"
			spec.DryRun = true
		}
	}
	if truncated {
		w.kind += ", HR cut short"
	}
	if hrBroken {
		w.kind += ", HR broken"
	}
	if w.chance(0.5) {
		// Terminated and suspended people's accounts disabled where the
		// guards allow (the default limit: 10 a target, or 10%).
		spec.Mode = reconcile.Enforce
		spec.Policy.AutoRevoke = []reconcile.Kind{reconcile.TerminatedActive, reconcile.SuspendedActive}
		w.kind += ", enforce"
	}
	return spec, !spec.DryRun && spec.EmployeeIDs == nil && !hrBroken
}

// seriesSource lists HR's people, and fails half-way when broken.
type seriesSource struct {
	people []sources.Person
	broken bool
}

func (s seriesSource) People(ctx context.Context) iter.Seq2[sources.Person, error] {
	return func(yield func(sources.Person, error) bool) {
		for i, p := range s.people {
			if s.broken && i == len(s.people)/2 {
				yield(sources.Person{}, errors.New("HR export broke"))
				return
			}
			if !yield(p, nil) {
				return
			}
		}
	}
}

// seriesListingTarget lists a target's accounts in today's order, each a
// copy (the engine may sort an account's groups in place), disabled where
// the lane's runs disabled it, and breaks part-way when today's listing
// does. It gets and disables accounts too.
type seriesListingTarget struct {
	w      *seriesWorld
	t      *seriesTarget
	broken bool
	lane   *seriesLane
}

func (l *seriesListingTarget) Accounts(ctx context.Context) iter.Seq2[targets.Account, error] {
	return func(yield func(targets.Account, error) bool) {
		for n, k := range l.t.order {
			if l.broken && n == l.t.stop {
				yield(targets.Account{}, errors.New("listing broke"))
				return
			}
			if !yield(l.view(l.t.all[k]), nil) {
				return
			}
		}
	}
}

// listedNow is what the target lists now, by ID.
func (l *seriesListingTarget) listedNow() map[string]targets.Account {
	out := map[string]targets.Account{}
	for _, k := range l.t.order {
		out[l.t.all[k].ID] = l.view(l.t.all[k])
	}
	return out
}

// view is a listed account as the lane sees it.
func (l *seriesListingTarget) view(p *targets.Account) targets.Account {
	a := *p
	a.Groups, a.Credentials = slices.Clone(a.Groups), slices.Clone(a.Credentials)
	l.lane.mu.Lock()
	defer l.lane.mu.Unlock()
	if g, ok := l.lane.disabled[l.t.name+"/"+a.ID]; ok && g == l.w.gen[p] {
		a.Enabled = false
	}
	return a
}

func (l *seriesListingTarget) find(id string) (*targets.Account, error) {
	for k, a := range l.t.all {
		if a.ID == id && l.t.listed[k] {
			return a, nil
		}
	}
	return nil, fmt.Errorf("series: %s on %s: %w", id, l.t.name, targets.ErrNotFound)
}

// Account is targets.Getter's.
func (l *seriesListingTarget) Account(ctx context.Context, id string) (targets.Account, error) {
	p, err := l.find(id)
	if err != nil {
		return targets.Account{}, err
	}
	return l.view(p), nil
}

// Disable is targets.Disabler's. It fails for one account in seven, the
// same ones until they change.
func (l *seriesListingTarget) Disable(ctx context.Context, a targets.Account) error {
	p, err := l.find(a.ID)
	if err != nil {
		return err
	}
	sum := l.w.gen[p]
	for _, c := range []byte(a.ID) {
		sum += int(c)
	}
	if sum%7 == 3 {
		return fmt.Errorf("series: disable %s on %s: refused", a.ID, l.t.name)
	}
	l.lane.mu.Lock()
	defer l.lane.mu.Unlock()
	l.lane.disabled[l.t.name+"/"+a.ID] = l.w.gen[p]
	return nil
}
