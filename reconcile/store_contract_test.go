package reconcile_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/reconcile/storetest"
)

// storeForTests is a Store with what the tests need to set one up and
// inspect it; both implementations have these.
type storeForTests = storetest.Store

// TestStoreContract holds reconcile/store's SQLite store and the engine
// tests' in-memory store to what reconcile.Store documents, with the same
// assertions (reconcile/storetest, which reconcile/pgstore runs too): the
// engine's tests are only as good as the in-memory store's agreement with
// the real one.
func TestStoreContract(t *testing.T) {
	stores := map[string]func(t *testing.T) storeForTests{
		"sqlite": func(t *testing.T) storeForTests {
			st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"memory": func(t *testing.T) storeForTests { return reconcile.NewMemStore().(storeForTests) },
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) { storetest.Run(t, open) })
	}
}

// TestStoreSeries runs the engine over random series of days on the SQLite
// store and on the in-memory one side by side (storetest.SeriesSuite): they
// must agree on every run's results, and the SQLite store's history on
// the days themselves; pruned after every run, it must still agree with
// the in-memory store left whole.
func TestStoreSeries(t *testing.T) {
	open := func(t *testing.T) storeForTests {
		st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	mem := func(t *testing.T) storeForTests { return reconcile.NewMemStore().(storeForTests) }
	storetest.SeriesSuite(t, open, mem, func(st storetest.Store, now time.Time, snapshots, findings time.Duration) error {
		return st.(*store.Store).Prune(context.Background(), now, store.Retention{Snapshots: snapshots, Findings: findings})
	})
}
