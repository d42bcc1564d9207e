package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
)

// A configured PostgreSQL store is refused with a message saying so, until
// the command is wired to reconcile/pgstore: never a SQLite file made of
// the URL's pieces.
func TestPostgresStoreRefusedForNow(t *testing.T) {
	t.Chdir(t.TempDir())
	st, err := storefile.Open(context.Background(), &config.Config{Store: "postgres://accessrecon@db.internal/accessrecon"})
	if err == nil {
		st.Close()
		t.Fatal("a postgres:// store opened as SQLite")
	}
	if !strings.Contains(err.Error(), "PostgreSQL") {
		t.Errorf("error %q does not say the store is PostgreSQL", err)
	}
	if ents, _ := os.ReadDir("."); len(ents) != 0 {
		t.Errorf("files created: %v", ents)
	}
}
