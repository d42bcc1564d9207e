package main

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile/pgstore"
)

// validate is what a new binary runs before it is rolled out, while the
// old one still runs on the store: it must not migrate the store. On a
// store of an older schema, SQLite or PostgreSQL, it says so, warns that
// the store's collections were not read, passes, and leaves the schema as
// it was; the next run migrates it.
func TestValidateLeavesAnOlderSchema(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := copyDir(t, demoTemplate(t))
		path := filepath.Join(dir, "accessrecon.db")
		for _, f := range []string{"", "-wal", "-shm"} {
			os.Remove(path + f)
		}
		dump, err := os.ReadFile("../../reconcile/store/testdata/store_v11.sql")
		if err != nil {
			t.Fatal(err)
		}
		db, err := sqlx.Open("sqlite3", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(string(dump)); err != nil {
			t.Fatal(err)
		}
		validateOld(t, filepath.Join(dir, "schedule.yaml"), 11, func() (v int) {
			if err := db.Get(&v, `PRAGMA user_version`); err != nil {
				t.Fatal(err)
			}
			return v
		})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgStoreDSN(t)
		t.Setenv("ACCESSRECON_TEST_STORE", dsn)
		_, cfg := pgDemo(t, "")
		if err := pgstore.MigrateTo(context.Background(), dsn, 1); err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		validateOld(t, cfg, 1, func() (v int) {
			if err := db.QueryRow(`SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v
		})
	})
}

// On a new PostgreSQL store (an empty schema) validate creates nothing and
// says what it says before any run: nothing collected yet.
func TestValidateOnANewPostgresStore(t *testing.T) {
	dsn := pgStoreDSN(t)
	t.Setenv("ACCESSRECON_TEST_STORE", dsn)
	_, cfg := pgDemo(t, "")
	code, out, errs := cliRun("validate", "--config", cfg)
	if code != exitOK || !strings.Contains(errs, "warning: targets[0] (directory): no complete collection in the store yet") || strings.Contains(errs, "older than") {
		t.Fatalf("validate on an empty schema: exit %d\n%s%s", code, out, errs)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("validate made %d tables (%v)", n, err)
	}
}

// validateOld runs validate on cfg, whose store is at schema have, and then
// a run.
func validateOld(t *testing.T, cfg string, have int, version func() int) {
	t.Helper()
	code, out, errs := cliRun("validate", "--config", cfg)
	if code != exitOK {
		t.Fatalf("validate: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{
		"is older than this accessrecon's",
		"(left as it is: the next run brings it up to date)",
		"warning: targets[0] (directory): the store's schema (",
		"and validate does not migrate it: 1 account reference(s) and 16 group name(s) written against it are checked once a run of this accessrecon has brought the store up to date",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("validate does not say %q:\n%s", want, errs)
		}
	}
	if v := version(); v != have {
		t.Fatalf("validate moved the store's schema from %d to %d", have, v)
	}
	if code, _, errs := cliRun("run", "--config", cfg, "--mode", "report", "--out", filepath.Join(t.TempDir(), "out")); code != exitOK && code != exitGuard {
		t.Fatalf("run after validate: exit %d\n%s", code, errs)
	}
	if v := version(); v <= have {
		t.Fatalf("the run left the store at schema %d", v)
	}
	if code, out, errs := cliRun("validate", "--config", cfg); code != exitOK || strings.Contains(errs, "older than") {
		t.Fatalf("validate after the run: exit %d\n%s%s", code, out, errs)
	}
}
