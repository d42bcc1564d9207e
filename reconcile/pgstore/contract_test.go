package pgstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile/pgstore"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/reconcile/storetest"
)

// TestStoreContract holds the PostgreSQL store to what reconcile.Store
// documents, with the assertions the SQLite and in-memory stores pass.
func TestStoreContract(t *testing.T) {
	baseDSN(t) // skip (or fail) here, not in every subtest
	storetest.Run(t, func(t *testing.T) storetest.Store { return openStore(t) })
}

// TestStoreSeries runs the engine over random series of days on the
// PostgreSQL store and on the SQLite one side by side (storetest.Series):
// they must agree on every run's results, and the PostgreSQL store's
// history on the days themselves; pruned after every run, it must still
// agree with the SQLite store left whole.
func TestStoreSeries(t *testing.T) {
	baseDSN(t)
	sqlite := func(t *testing.T) storetest.Store {
		st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	pg := func(t *testing.T) storetest.Store { return openStore(t) }
	for seed := range uint64(5) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { storetest.Series(t, seed, 16, pg, sqlite, nil) })
	}
	// Retention as tight as it goes: a run's conclusions must not change.
	prune := &storetest.SeriesPrune{Snapshots: 3 * 24 * time.Hour, Prune: func(st storetest.Store, now time.Time) error {
		return st.(*pgstore.Store).Prune(context.Background(), now, store.Retention{Snapshots: 3 * 24 * time.Hour, Findings: 4 * 24 * time.Hour})
	}}
	// Seeds 105 and 113 lost a target's baseline to retention before
	// Prune kept the baselines (a target's listing broken, or only
	// targeted and dry runs, for longer than the retention).
	for _, seed := range []uint64{100, 101, 102, 103, 104, 105, 113} {
		t.Run(fmt.Sprint("pruned, seed ", seed), func(t *testing.T) { storetest.Series(t, seed, 16, pg, sqlite, prune) })
	}
}
