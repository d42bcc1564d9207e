package pgstore_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"iter"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

type peopleSource []sources.Person

func (s peopleSource) People(ctx context.Context) iter.Seq2[sources.Person, error] {
	return func(yield func(sources.Person, error) bool) {
		for _, p := range s {
			if !yield(p, nil) {
				return
			}
		}
	}
}

var e2eT0 = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)

// e2eEstate is two days of one organisation: HR and two targets each day.
// Day 1: E1 terminated and E2 suspended with enabled accounts on both
// targets, an orphan, a dormant account, a stale credential, excess groups,
// an unapproved admin; the first disable of A2 on app fails (503). Day 2:
// E5 is terminated, E12 leaves HR, the orphan and A7 are deleted, A4 loses
// its excess group, A8 gains one, A13 appears, and A2's unfinished disable
// is done.
type e2eEstate struct {
	app, idp *targettest.Fake
}

func e2eHR(day int) peopleSource {
	var ps peopleSource
	for i := 1; i <= 12; i++ {
		id := "E" + itoa(i)
		p := sources.Person{EmployeeID: id, Email: strings.ToLower(id) + "@example.com", FirstName: "P", LastName: id,
			Status: sources.Active, HireDate: e2eT0.AddDate(-2, 0, 0), JobCode: "ENG", Department: "R&D"}
		switch {
		case i == 1:
			p.Status, p.TerminationDate, p.StatusEffective = sources.Terminated, e2eT0.AddDate(0, 0, -1), e2eT0.AddDate(0, 0, -1)
		case i == 2:
			p.Status, p.StatusEffective = sources.Suspended, e2eT0.AddDate(0, 0, -1)
		case i == 5 && day == 2:
			p.Status, p.TerminationDate, p.StatusEffective = sources.Terminated, e2eT0, e2eT0
		case i == 12 && day == 2:
			continue
		}
		ps = append(ps, p)
	}
	return ps
}

func itoa(i int) string { return strconv.Itoa(i) }

func newEstate() *e2eEstate {
	var app []targets.Account
	for i := 1; i <= 12; i++ {
		a := targets.Account{ID: "A" + itoa(i), Username: "u" + itoa(i), Email: "e" + itoa(i) + "@example.com", EmployeeID: "E" + itoa(i),
			DisplayName: "User " + itoa(i), Enabled: true, LoginTracked: true, LastLogin: e2eT0.AddDate(0, 0, -1), Created: e2eT0.AddDate(-1, 0, 0),
			Groups: []targets.Group{{ID: "cn=eng,ou=g", Name: "eng"}}}
		switch i {
		case 3:
			a.LastLogin = e2eT0.AddDate(0, 0, -200) // dormant
		case 4:
			a.Groups = append(a.Groups, targets.Group{ID: "cn=finance,ou=g", Name: "finance"}) // excess
		case 6:
			a.Privileged = true
			a.Groups = append(a.Groups, targets.Group{ID: "admins", Name: "admins"})
		case 9:
			a.Credentials = []targets.Credential{{ID: "key-9", Kind: "access_key", Active: true, Created: e2eT0.AddDate(-1, 0, 0), LastUsed: e2eT0.AddDate(0, 0, -300)}}
		}
		app = append(app, a)
	}
	app = append(app, targets.Account{ID: "X1", Username: "svc-old", Enabled: true}) // orphan
	var idp []targets.Account
	for i := 1; i <= 8; i++ {
		idp = append(idp, targets.Account{ID: "idp-" + itoa(i), Username: "u" + itoa(i), EmployeeID: "E" + itoa(i), Enabled: true})
	}
	e := &e2eEstate{app: targettest.NewFake(app...), idp: targettest.NewFake(idp...)}
	var once sync.Once
	e.app.SetFault(func(op targettest.Op, id string, call int) (error, bool) {
		if op == targettest.OpDisable && id == "A2" {
			failed := false
			once.Do(func() { failed = true })
			if failed {
				return errors.New("503 service unavailable"), false
			}
		}
		return nil, true
	})
	return e
}

// day2 changes the targets as day 2 finds them.
func (e *e2eEstate) day2(t *testing.T) {
	t.Helper()
	var app []targets.Account
	for a, err := range e.app.Accounts(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		switch a.ID {
		case "X1", "A7":
			continue
		case "A4":
			a.Groups = a.Groups[:1]
		case "A8":
			a.Groups = append(a.Groups, targets.Group{ID: "cn=ops,ou=g", Name: "ops"})
		}
		app = append(app, a)
	}
	app = append(app, targets.Account{ID: "A13", Username: "u13", EmployeeID: "E13", Enabled: true})
	e.app = targettest.NewFake(app...) // the 503 is over
}

func e2eSpec(e *e2eEstate, day int) reconcile.RunSpec {
	return reconcile.RunSpec{
		AsOf:    e2eT0.AddDate(0, 0, day-1),
		Job:     "nightly",
		Sources: []reconcile.SourceSpec{{Name: "hr", Type: "test", Source: e2eHR(day)}},
		Targets: []reconcile.TargetSpec{{Name: "app", Type: "fake", Target: e.app}, {Name: "idp", Type: "fake", Target: e.idp}},
		Policy: reconcile.Policy{Mode: reconcile.Enforce,
			Roles: map[string]map[string][]string{"ENG": {"app": {"eng"}}}},
	}
}

// dayResult is what a run produced that must not depend on the store.
type dayResult struct {
	Run      reconcile.Run
	Findings json.RawMessage
	Drift    []reconcile.DriftRow
	Resolved []reconcile.FindingState
	Actions  []reconcile.Action
	AppLog   []string
	IDPLog   []string
}

type e2eStore interface {
	reconcile.Store
	Actions(ctx context.Context, runID int64) ([]reconcile.Action, error)
}

// byAccount orders actions by target and account, keeping each account's
// steps in the order recorded, and drops the IDs: the executor works on
// accounts and targets concurrently, so how their IDs interleave is
// scheduling, not the store.
func byAccount(as []reconcile.Action) []reconcile.Action {
	as = slices.Clone(as)
	slices.SortStableFunc(as, func(a, b reconcile.Action) int {
		return cmp.Or(strings.Compare(a.Target, b.Target), strings.Compare(a.AccountID, b.AccountID))
	})
	for i := range as {
		as[i].ID = 0
	}
	return as
}

// callsByAccount orders a fake's call log ("op account …") by account,
// keeping each account's calls in order.
func callsByAccount(log []string) []string {
	log = slices.Clone(log)
	account := func(s string) string { f := strings.Fields(s); return f[min(1, len(f)-1)] }
	slices.SortStableFunc(log, func(a, b string) int { return strings.Compare(account(a), account(b)) })
	return log
}

// runTwoDays runs the engine over the two days on st, with a fixed clock.
func runTwoDays(t *testing.T, st e2eStore) []dayResult {
	t.Helper()
	ctx := context.Background()
	e := newEstate()
	var out []dayResult
	for day := 1; day <= 2; day++ {
		if day == 2 {
			e.day2(t)
		}
		now := e2eT0.AddDate(0, 0, day-1).Add(time.Hour)
		eng := &reconcile.Engine{Store: st, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now },
			Retry: reconcile.Retry{Attempts: 1, Base: time.Millisecond, Max: time.Millisecond}}
		res, err := eng.Run(ctx, e2eSpec(e, day))
		if err != nil {
			t.Fatalf("day %d: %v", day, err)
		}
		body, err := json.Marshal(res.Findings)
		if err != nil {
			t.Fatal(err)
		}
		acts, err := st.Actions(ctx, res.Run.ID)
		if err != nil {
			t.Fatal(err)
		}
		drift := slices.Clone(res.Drift)
		slices.SortFunc(drift, func(a, b reconcile.DriftRow) int {
			return strings.Compare(string(a.Side)+a.Target+a.Subject+a.Kind+a.Detail, string(b.Side)+b.Target+b.Subject+b.Kind+b.Detail)
		})
		resolved := slices.Clone(res.Resolved)
		slices.SortFunc(resolved, func(a, b reconcile.FindingState) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
		r := res.Run
		r.StartedAt, r.FinishedAt = r.StartedAt.UTC(), r.FinishedAt.UTC()
		out = append(out, dayResult{Run: r, Findings: body, Drift: drift, Resolved: resolved, Actions: byAccount(acts),
			AppLog: callsByAccount(e.app.Log()), IDPLog: callsByAccount(e.idp.Log())})
	}
	return out
}

// TestEngineSameOnSQLiteAndPostgres runs the engine over two days on the
// SQLite store and on pgstore: the findings (with their first-seen dates,
// outcomes and SLA), the drift, what day 2 resolved, the actions recorded
// and the calls made on the targets are the same.
func TestEngineSameOnSQLiteAndPostgres(t *testing.T) {
	pg := openStore(t)
	lite, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lite.Close() })

	want := runTwoDays(t, lite)
	got := runTwoDays(t, pg)
	for i := range want {
		w, g := want[i], got[i]
		if !reflect.DeepEqual(g.Run, w.Run) {
			t.Errorf("day %d: run\n got %+v\nwant %+v", i+1, g.Run, w.Run)
		}
		if string(g.Findings) != string(w.Findings) {
			t.Errorf("day %d: findings differ\n got %s\nwant %s", i+1, g.Findings, w.Findings)
		}
		if !reflect.DeepEqual(g.Drift, w.Drift) {
			t.Errorf("day %d: drift\n got %+v\nwant %+v", i+1, g.Drift, w.Drift)
		}
		if !reflect.DeepEqual(g.Resolved, w.Resolved) {
			t.Errorf("day %d: resolved\n got %+v\nwant %+v", i+1, g.Resolved, w.Resolved)
		}
		if !reflect.DeepEqual(g.Actions, w.Actions) {
			t.Errorf("day %d: actions\n got %+v\nwant %+v", i+1, g.Actions, w.Actions)
		}
		if !slices.Equal(g.AppLog, w.AppLog) || !slices.Equal(g.IDPLog, w.IDPLog) {
			t.Errorf("day %d: target calls\n got %q %q\nwant %q %q", i+1, g.AppLog, g.IDPLog, w.AppLog, w.IDPLog)
		}
	}

	// The comparison is only worth something if the two days exercised
	// what the store keeps: check the scenario did what it says (on
	// SQLite; pgstore agrees or failed above).
	var day1, day2 []reconcile.Finding
	if err := json.Unmarshal(want[0].Findings, &day1); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want[1].Findings, &day2); err != nil {
		t.Fatal(err)
	}
	kinds := func(fs []reconcile.Finding) map[reconcile.Kind]int {
		m := map[reconcile.Kind]int{}
		for _, f := range fs {
			m[f.Kind]++
		}
		return m
	}
	t.Logf("day 1: %d findings %v, %d actions; day 2: %d findings %v, %d drift, %d resolved, %d actions",
		len(day1), kinds(day1), len(want[0].Actions), len(day2), kinds(day2), len(want[1].Drift), len(want[1].Resolved), len(want[1].Actions))
	for _, k := range []reconcile.Kind{reconcile.TerminatedActive, reconcile.SuspendedActive, reconcile.Orphaned, reconcile.Dormant} {
		if kinds(day1)[k] == 0 {
			t.Errorf("day 1 has no %s finding: the scenario no longer exercises it", k)
		}
	}
	kept := false
	for _, f := range day2 {
		if f.FirstSeen.Equal(e2eT0) {
			kept = true
		}
	}
	if !kept {
		t.Error("no day-2 finding kept day 1's first-seen date")
	}
	if len(want[1].Drift) == 0 || len(want[1].Resolved) == 0 {
		t.Errorf("day 2: %d drift, %d resolved; the scenario should produce both", len(want[1].Drift), len(want[1].Resolved))
	}
	failed := slices.ContainsFunc(want[0].Actions, func(a reconcile.Action) bool { return a.AccountID == "A2" && a.Status == reconcile.ActionFailed })
	retried := slices.ContainsFunc(want[1].Actions, func(a reconcile.Action) bool {
		return a.AccountID == "A2" && a.Op == "disable" && a.Status == reconcile.ActionDone
	})
	if !failed || !retried {
		t.Errorf("A2's disable: failed on day 1 %v, done on day 2 %v; want both", failed, retried)
	}
}
