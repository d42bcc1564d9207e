package pgstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/pgstore"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/sources"
)

// A database whose collation is not byte order (ICU's root locale sorts
// "a" before "B" and ignores "_" at first) lists employee IDs and steps in
// byte order all the same, as reconcile.Store documents and SQLite does.
func TestByteOrderUnderICUCollation(t *testing.T) {
	base := baseDSN(t)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	name := fmt.Sprintf("icu%d", pgSchemas.Add(1))
	if _, err := db.Exec(`CREATE DATABASE ` + name + ` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'und' LOCALE 'C.UTF-8'`); err != nil {
		t.Fatalf("create an ICU database: %v", err)
	}
	dsn := strings.Replace(base, "/postgres?", "/"+name+"?", 1)
	st, err := pgstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	ids := []string{"b1", "B2", "_4", "a3", "A10"}
	want := slices.Clone(ids)
	slices.Sort(want) // byte order: A10 B2 _4 a3 b1

	// The collation does what this test needs it to: it is not byte order.
	var collated []string
	icu, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer icu.Close()
	rows, err := icu.Query(`SELECT x FROM unnest($1::text[]) x ORDER BY x`, ids)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var x string
		if err := rows.Scan(&x); err != nil {
			t.Fatal(err)
		}
		collated = append(collated, x)
	}
	if rows.Err() != nil || slices.Equal(collated, want) {
		t.Fatalf("the database orders %v (%v): the same as byte order, so this test shows nothing", collated, rows.Err())
	}

	t0 := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	run, err := st.BeginRun(ctx, reconcile.Run{AsOf: t0, StartedAt: t0, Mode: "enforce", Scope: "full"})
	if err != nil {
		t.Fatal(err)
	}
	var people []*reconcile.PersonRow
	var acts []reconcile.Action
	for _, id := range ids {
		people = append(people, &reconcile.PersonRow{Person: sources.Person{EmployeeID: id, Status: sources.Terminated}})
		acts = append(acts, reconcile.Action{RunID: run, Fingerprint: "fp-" + id, Target: "app", AccountID: id, Op: "disable",
			Status: reconcile.ActionFailed, RequestedAt: t0, Kind: string(reconcile.TerminatedActive), EmployeeID: id})
	}
	if err := st.SavePeople(ctx, run, people); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishPeople(ctx, run, true); err != nil {
		t.Fatal(err)
	}
	if _, err := st.InsertActions(ctx, acts); err != nil {
		t.Fatal(err)
	}
	var got []string
	for p, err := range st.People(ctx, run) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.EmployeeID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("People in order %v, want byte order %v (the database collates %v)", got, want, collated)
	}
	steps, err := st.UnfinishedSteps(ctx, "app", run+1)
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, a := range steps {
		got = append(got, a.AccountID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("UnfinishedSteps in order %v, want byte order %v", got, want)
	}
}

// Opening a store brings its schema up to date once: opening it again, or
// from several processes at once, changes nothing; a schema newer than the
// binary is refused.
func TestMigrations(t *testing.T) {
	dsn := schemaDSN(t)
	ctx := context.Background()
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			st, err := pgstore.Open(ctx, dsn)
			if err == nil {
				st.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent open of a new store: %v", err)
		}
	}
	st, err := pgstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v %v", files, err)
	}
	v, err := st.SchemaVersion(ctx)
	if err != nil || v != len(files) {
		t.Fatalf("schema version %d, %v; want %d", v, err, len(files))
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(files) {
		t.Fatalf("%d migrations recorded (%v), want %d", n, err, len(files))
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name) VALUES (99, 'from the future')`); err != nil {
		t.Fatal(err)
	}
	if st, err := pgstore.Open(ctx, dsn); err == nil || !strings.Contains(err.Error(), "newer") {
		if st != nil {
			st.Close()
		}
		t.Fatalf("open a store of schema 99: %v, want refused as newer", err)
	}
	if st, err := pgstore.OpenAsIs(ctx, dsn); err == nil || !strings.Contains(err.Error(), "newer") {
		if st != nil {
			st.Close()
		}
		t.Fatalf("OpenAsIs of a store of schema 99: %v, want refused as newer", err)
	}
}

// OpenAsIs, what validate opens a store with, creates nothing in an empty
// schema and leaves a store of an older schema as it was, saying which;
// Open then migrates it, and OpenAsIs opens the migrated store.
func TestOpenAsIsLeavesAnOlderSchema(t *testing.T) {
	dsn := schemaDSN(t)
	ctx := context.Background()
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) < 2 {
		t.Fatalf("migrations: %v %v", files, err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tables := func() (n int) {
		t.Helper()
		if err := db.QueryRow(`SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	behindBy := func(have int) {
		t.Helper()
		st, err := pgstore.OpenAsIs(ctx, dsn)
		var behind *store.SchemaBehindError
		if !errors.As(err, &behind) || behind.Have != have || behind.Want != len(files) {
			if st != nil {
				st.Close()
			}
			t.Fatalf("OpenAsIs of a schema-%d store: %v, want a SchemaBehindError %d of %d", have, err, have, len(files))
		}
	}
	behindBy(0)
	if n := tables(); n != 0 {
		t.Fatalf("OpenAsIs of an empty schema made %d tables", n)
	}
	if err := pgstore.MigrateTo(ctx, dsn, 1); err != nil {
		t.Fatal(err)
	}
	before := tables()
	behindBy(1)
	var v int
	if err := db.QueryRow(`SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil || v != 1 || tables() != before {
		t.Fatalf("after OpenAsIs: schema %d (%v), %d tables (was %d)", v, err, tables(), before)
	}
	st, err := pgstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = pgstore.OpenAsIs(ctx, dsn)
	if err != nil {
		t.Fatalf("OpenAsIs of an up-to-date store: %v", err)
	}
	defer st.Close()
	if v, err := st.SchemaVersion(ctx); err != nil || v != len(files) {
		t.Fatalf("schema %d (%v) after Open, want %d", v, err, len(files))
	}
}
