package reconcile_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// The external tests run the engine against reconcile/store's SQLite store:
// what they test is that store's own behaviour (crash_test.go), or a real
// run's cost (bench_test.go).

// The internal tests' helpers (export_test.go).
var (
	asOf         = reconcile.TestAsOf
	spec         = reconcile.TestSpec
	hr           = reconcile.TestHR
	fakeAccounts = reconcile.TestFakeAccounts
	enabled      = reconcile.TestEnabled
	findKind     = reconcile.TestFindKind
	kinds        = reconcile.TestKinds
)

// newEngine is an engine on a fresh SQLite store.
func newEngine(t testing.TB) *reconcile.Engine {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &reconcile.Engine{Store: st, Log: slog.New(slog.DiscardHandler), Retry: reconcile.Retry{Attempts: 4, Base: time.Millisecond, Max: 2 * time.Second}}
}

// sqlite is the engine's store.
func sqlite(e *reconcile.Engine) *store.Store { return e.Store.(*store.Store) }
