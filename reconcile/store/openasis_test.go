package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/jmoiron/sqlx"
)

// OpenAsIs, what validate opens a store with, leaves a store of an older
// schema as it was and says which; Open then migrates it, and OpenAsIs
// opens the migrated store. A newer schema is refused by both.
func TestOpenAsIsLeavesAnOlderSchema(t *testing.T) {
	ctx := context.Background()
	path, raw := storeV11(t)
	version := func() int {
		t.Helper()
		var v int
		if err := raw.Get(&v, `PRAGMA user_version`); err != nil {
			t.Fatal(err)
		}
		return v
	}
	latest := len(must(os.ReadDir("migrations")))

	_, err := OpenAsIs(ctx, path)
	var behind *SchemaBehindError
	if !errors.As(err, &behind) || behind.Have != 11 || behind.Want != latest {
		t.Fatalf("OpenAsIs of a schema-11 store: %v, want a SchemaBehindError 11 of %d", err, latest)
	}
	if v := version(); v != 11 {
		t.Fatalf("OpenAsIs moved the schema to %d", v)
	}
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if v := version(); v != latest {
		t.Fatalf("Open left the schema at %d, want %d", v, latest)
	}
	st, err = OpenAsIs(ctx, path)
	if err != nil {
		t.Fatalf("OpenAsIs of an up-to-date store: %v", err)
	}
	if _, err := st.LatestRun(ctx); err != nil {
		t.Fatalf("reading through OpenAsIs: %v", err)
	}
	st.Close()

	if _, err := raw.Exec(`PRAGMA user_version = 999`); err != nil {
		t.Fatal(err)
	}
	for name, open := range map[string]func(context.Context, string) (*Store, error){"Open": Open, "OpenAsIs": OpenAsIs} {
		if _, err := open(ctx, path); err == nil || errors.As(err, &behind) {
			t.Errorf("%s of a newer schema: %v, want refused", name, err)
		}
	}
}

// storeV11 makes a store of testdata/store_v11.sql (schema 11, made by
// that release's code) and returns its path and a connection to it, closed
// when t ends.
func storeV11(t *testing.T) (string, *sqlx.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	dump, err := os.ReadFile("testdata/store_v11.sql")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sqlx.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	if _, err := raw.Exec(string(dump)); err != nil {
		t.Fatal(err)
	}
	return path, raw
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
