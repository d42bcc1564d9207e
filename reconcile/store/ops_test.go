package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/reconcile/store/opstest"
)

// TestOpsContract holds the SQLite store to the contract of the commands'
// operations (reconcile/store/opstest), which the PostgreSQL store passes
// too; a second handle is a second Open of the same file.
func TestOpsContract(t *testing.T) {
	opstest.Run(t, func(t *testing.T) (opstest.Store, func() opstest.Store) {
		path := filepath.Join(t.TempDir(), "store.db")
		open := func() opstest.Store {
			st, err := store.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}
		return open(), open
	})
}
