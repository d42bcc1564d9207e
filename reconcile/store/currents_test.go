package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/storetest"
)

// The current hashes kept for the next run are those the versions hold
// (storetest.CurrentHashesFollowTheVersions).
func TestCurrentHashesFollowTheVersions(t *testing.T) {
	storetest.CurrentHashesFollowTheVersions(t, openForCurrents)
}

// A large side's current hashes are kept in parts (storetest.CurrentHashesInParts).
func TestCurrentHashesInParts(t *testing.T) {
	storetest.CurrentHashesInParts(t, openForCurrents)
}

// openForCurrents opens a new store, and a function that opens it again.
func openForCurrents(t *testing.T) (reconcile.Store, func() reconcile.Store, *sqlx.DB) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	open := func() *Store {
		st, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	st := open()
	return st, func() reconcile.Store { return open() }, st.db
}
