package pgstore_test

import (
	"testing"

	"github.com/accessrecon/accessrecon/reconcile/storetest"
)

// TestStoreContract holds the PostgreSQL store to what reconcile.Store
// documents, with the assertions the SQLite and in-memory stores pass.
func TestStoreContract(t *testing.T) {
	baseDSN(t) // skip (or fail) here, not in every subtest
	storetest.Run(t, func(t *testing.T) storetest.Store { return openStore(t) })
}
