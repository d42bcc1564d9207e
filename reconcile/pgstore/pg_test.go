package pgstore_test

// The tests run against a real PostgreSQL 15 server, started once per
// package run (targettest.PostgreSQL) and stopped by PID in TestMain; each
// store is a fresh schema of it. Without the server's binaries they skip,
// unless ACCESSRECON_REQUIRE_INTEGRATION=1 (then they fail).

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/accessrecon/accessrecon/reconcile/pgstore"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

// pg is the package's one PostgreSQL server.
var (
	pg        targettest.PostgreSQL
	pgSchemas atomic.Int64 // schema name counter
)

func TestMain(m *testing.M) { os.Exit(pg.StopAfter(m.Run())) }

// baseDSN returns the DSN of the package's server (starting it on first
// use), or skips the test when PostgreSQL is not installed, unless
// ACCESSRECON_REQUIRE_INTEGRATION=1.
func baseDSN(t testing.TB) string { t.Helper(); return pg.DSN(t, "") }

// schemaDSN creates a fresh, empty schema and returns a DSN whose
// search_path is that schema.
func schemaDSN(t testing.TB) string {
	t.Helper()
	base := baseDSN(t)
	name := fmt.Sprintf("s%d", pgSchemas.Add(1))
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE SCHEMA " + name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	return base + "&search_path=" + name
}

// openStore opens a store on a fresh schema, closed when t ends.
func openStore(t testing.TB) *pgstore.Store {
	t.Helper()
	st, err := pgstore.Open(context.Background(), schemaDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
