package pgstore_test

import (
	"context"
	"testing"

	"github.com/accessrecon/accessrecon/reconcile/pgstore"
	"github.com/accessrecon/accessrecon/reconcile/store/opstest"
)

// TestOpsContract holds the PostgreSQL store to the contract of the
// commands' operations (reconcile/store/opstest), with the assertions the
// SQLite store passes; a second handle is a second Open of the same schema,
// as a process on another machine would open it.
func TestOpsContract(t *testing.T) {
	baseDSN(t)
	opstest.Run(t, func(t *testing.T) (opstest.Store, func() opstest.Store) {
		dsn := schemaDSN(t)
		open := func() opstest.Store {
			st, err := pgstore.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}
		return open(), open
	})
}
