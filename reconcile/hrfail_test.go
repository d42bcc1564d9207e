package reconcile_test

import (
	"context"
	"errors"
	"iter"
	"slices"
	"testing"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

// brokenHR lists one person, then fails.
type brokenHR struct{}

func (brokenHR) People(ctx context.Context) iter.Seq2[sources.Person, error] {
	return func(yield func(sources.Person, error) bool) {
		if yield(sources.Person{EmployeeID: "E1", Status: sources.Active}, nil) {
			yield(sources.Person{}, errors.New("HR export cut short"))
		}
	}
}

// The targets begin reading their previous state while HR is collected; a
// run whose HR then fails still records nothing of them: no collection, no
// snapshot, no account version. The next run's drift is against the last
// good run's snapshot.
func TestHRFailureRecordsNoTarget(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t)
	f := fakeAccounts()
	s := spec(f, reconcile.Policy{})
	s.Mode = reconcile.Report
	if _, err := e.Run(ctx, s); err != nil {
		t.Fatal(err)
	}
	f.Put(targets.Account{ID: "A5", Username: "u5", EmployeeID: "E5", Enabled: false})
	broken := s
	broken.Sources = []reconcile.SourceSpec{{Name: "hr", Type: "test", Source: brokenHR{}}}
	if _, err := e.Run(ctx, broken); err == nil {
		t.Fatal("a run whose HR failed succeeded")
	}
	cols, err := sqlite(e).Collections(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cols {
		if c.Side == reconcile.SideTarget {
			t.Errorf("run 2 recorded a collection of %s: %+v", c.Name, c)
		}
	}
	if vs, err := sqlite(e).AccountVersions(ctx, "app", "A5"); err != nil || len(vs) != 1 {
		t.Errorf("A5 has versions %+v (%v); want only run 1's", vs, err)
	}
	if states, err := sqlite(e).AccountStates(ctx, 2, "app"); err != nil || len(states) != 0 {
		t.Errorf("run 2 has a snapshot of app: %v (%v)", states, err)
	}
	res, err := e.Run(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(res.Drift, func(d reconcile.DriftRow) bool { return d.Subject == "A5" && d.Kind == "account_disabled" }) || len(res.Drift) != 1 {
		t.Errorf("run 3 drift = %+v; want A5 account_disabled alone", res.Drift)
	}
}
