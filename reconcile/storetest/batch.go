package storetest

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/targets"
)

// contractLargeBatch saves batches of more accounts than one statement
// carries (451, with credentials on some), listed out of ID order (a store
// may write them in its own): run 1 all of them new, run 2 every other one
// changed. Each account of each run reads back whole, with its own values
// in every column and its own credentials, run 2's save gives each account
// its own state in run 1, and each changed account has two versions.
func contractLargeBatch(t *testing.T, st Store) {
	ctx := context.Background()
	const n = 451
	accounts := func(run int) []targets.Account {
		as := make([]targets.Account, n)
		for pos := range as {
			i := pos * (run*44 + 53) % n // a different order each run (n = 11 x 41)
			v := i
			if run == 2 && i%2 == 1 {
				v = i + 1000 // changed in run 2
			}
			a := targets.Account{ID: fmt.Sprintf("B%03d", i), Username: fmt.Sprintf("u%d", v), Email: fmt.Sprintf("e%d@x", v),
				EmployeeID: fmt.Sprintf("E%d", v), DisplayName: fmt.Sprintf("D %d", v), Enabled: v%3 != 0, Privileged: v%5 == 0,
				LastLogin: contractT0.AddDate(0, 0, -v%40), Groups: []targets.Group{{ID: fmt.Sprintf("cn=g%d", v%7), Name: fmt.Sprintf("g%d", v%7)}}}
			for k := range v % 3 {
				a.Credentials = append(a.Credentials, targets.Credential{ID: fmt.Sprintf("k%d-%d", v, k), Kind: "access_key", Active: k == 0})
			}
			as[pos] = a
		}
		return as
	}
	base := map[string]reconcile.AccountState{} // run 1's
	for run := 1; run <= 2; run++ {
		id := beginRun(t, st, reconcile.Run{AsOf: deltaDay(run), StartedAt: deltaDay(run), Mode: "report", Scope: "full"})
		if err := st.BeginAccounts(ctx, id, int64(run-1), "app"); err != nil {
			t.Fatal(err)
		}
		as := accounts(run)
		states := make([]reconcile.BaselineState, n)
		if err := st.SaveAccounts(ctx, id, "app", as, states); err != nil {
			t.Fatal(err)
		}
		for k, a := range as {
			if run == 1 {
				base[a.ID] = reconcile.AccountState{Enabled: a.Enabled, Privileged: a.Privileged, Groups: reconcile.JoinGroups(a.Groups)}
				continue
			}
			checkBaselineState(t, id, 1, a, states[k], base) // every account is in base: Found is checked
		}
		if _, err := st.FinishAccounts(ctx, id, "app", true); err != nil {
			t.Fatal(err)
		}
		if err := st.FinishRun(reconcile.Run{ID: id, FinishedAt: deltaDay(run), Status: reconcile.StatusCompleted, Mode: "report"}); err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			got, found, err := st.SnapshotAccount(ctx, id, "app", a.ID)
			if want := snapshotOf(a); err != nil || !found || !reflect.DeepEqual(got, want) {
				t.Fatalf("run %d: SnapshotAccount(%s) = %+v, %v, %v; want %+v", id, a.ID, got, found, err, want)
			}
		}
	}
	for i := range n {
		id := fmt.Sprintf("B%03d", i)
		vs, err := st.AccountVersions(ctx, "app", id)
		if want := 1 + i%2; err != nil || len(vs) != want {
			t.Errorf("%s has %d versions (%v), want %d", id, len(vs), err, want)
		}
	}
}
