package reconcile_test

import (
	"context"
	"errors"
	"iter"
	"slices"
	"strconv"
	"testing"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

// brokenListing lists the first n accounts of a fake, then fails.
type brokenListing struct {
	*targettest.Fake
	n int
}

func (b brokenListing) Accounts(ctx context.Context) iter.Seq2[targets.Account, error] {
	return func(yield func(targets.Account, error) bool) {
		i := 0
		for a, err := range b.Fake.Accounts(ctx) {
			if err == nil && i == b.n {
				err = errors.New("the listing broke")
			}
			if err != nil {
				yield(targets.Account{}, err)
				return
			}
			i++
			if !yield(a, nil) {
				return
			}
		}
	}
}

// Only a run that listed a target whole ends the versions of the accounts
// it did not see: a targeted run and a broken listing save what they saw
// and delete nothing; the next complete run does, and its drift says so.
func TestOnlyCompleteListingsDeleteAccounts(t *testing.T) {
	e, f := newEngine(t), fakeAccounts()
	st := sqlite(e)
	ctx := context.Background()
	run := func(sp reconcile.RunSpec) *reconcile.Result {
		t.Helper()
		sp.Policy.Mode = reconcile.Report
		res, err := e.Run(ctx, sp)
		if res == nil {
			t.Fatal(err)
		}
		return res
	}
	current := func(id string) (ended int64) {
		t.Helper()
		vs, err := st.AccountVersions(ctx, "app", id)
		if err != nil || len(vs) == 0 {
			t.Fatalf("versions of %s: %+v, %v", id, vs, err)
		}
		return vs[len(vs)-1].ValidTo
	}
	states := func(runID int64) []string {
		t.Helper()
		m, err := st.AccountStates(ctx, runID, "app")
		if err != nil {
			t.Fatal(err)
		}
		return slices.Sorted(func(yield func(string) bool) {
			for id := range m {
				if !yield(id) {
					return
				}
			}
		})
	}
	full := run(spec(f, reconcile.Policy{}))

	targeted := spec(f, reconcile.Policy{})
	targeted.EmployeeIDs = []string{"E3"}
	res := run(targeted)
	if got := states(res.Run.ID); !slices.Equal(got, []string{"A3"}) {
		t.Errorf("targeted run's snapshot = %v, want A3 only", got)
	}
	if ended := current("A5"); ended != 0 {
		t.Errorf("a targeted run ended A5's version at run %d", ended)
	}

	broken := spec(f, reconcile.Policy{})
	broken.Targets[0].Target = brokenListing{f, 3}
	res = run(broken)
	if got := states(res.Run.ID); !slices.Equal(got, []string{"A1", "A10", "A2"}) {
		t.Errorf("broken listing's snapshot = %v, want the three accounts listed", got)
	}
	if ended := current("A5"); ended != 0 {
		t.Errorf("a broken listing ended A5's version at run %d", ended)
	}

	var rest []targets.Account
	for i := 1; i <= 10; i++ {
		if a, _ := f.Get("A" + strconv.Itoa(i)); i != 5 {
			rest = append(rest, a)
		}
	}
	res = run(spec(targettest.NewFake(rest...), reconcile.Policy{}))
	if ended := current("A5"); ended != res.Run.ID {
		t.Errorf("A5's version ends at run %d, want %d (the complete listing without it)", ended, res.Run.ID)
	}
	if got := states(full.Run.ID); len(got) != 10 {
		t.Errorf("run %d's snapshot after all that = %v, want its 10 accounts", full.Run.ID, got)
	}
	deleted := false
	for _, d := range res.Drift {
		deleted = deleted || (d.Subject == "A5" && d.Kind == "account_deleted")
	}
	if !deleted {
		t.Errorf("drift of the complete run %+v: A5 not reported deleted", res.Drift)
	}
}
