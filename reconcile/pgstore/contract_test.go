package pgstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

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
// history on the days themselves.
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
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			storetest.Series(t, seed, 16, func(t *testing.T) storetest.Store { return openStore(t) }, sqlite)
		})
	}
}
