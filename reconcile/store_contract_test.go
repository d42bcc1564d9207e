package reconcile_test

import (
	"context"
	"path/filepath"
	"testing"

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
