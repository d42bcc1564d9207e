package pgstore_test

import (
	"context"
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
// PostgreSQL store and on the SQLite one side by side (storetest.SeriesSuite):
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
	storetest.SeriesSuite(t, pg, sqlite, func(st storetest.Store, now time.Time, snapshots, findings time.Duration) error {
		return st.(*pgstore.Store).Prune(context.Background(), now, store.Retention{Snapshots: snapshots, Findings: findings})
	})
}
