package radius_test

import (
	"path/filepath"
	"strings"
	"testing"

	sqltarget "github.com/accessrecon/accessrecon/targets/sql"
)

// TestREADMERecipe: the README's recipe decodes strictly into the sql
// target's Config and New accepts it (also where FreeRADIUS is missing).
func TestREADMERecipe(t *testing.T) {
	c := recipe(t)
	if c.Driver != "sqlite3" || !strings.Contains(c.DisableStatement, "'Auth-Type', ':=', 'Reject'") ||
		!strings.Contains(c.AccountsQuery, "AS enabled") || c.GroupsQuery == "" || c.RemoveGroupStatement == "" || c.MaxOpenConns != 2 {
		t.Fatalf("recipe decoded as %+v", c)
	}
	c.DSN = filepath.Join(t.TempDir(), "radius.db")
	tg, err := sqltarget.New(c, nil)
	if err != nil {
		t.Fatalf("the sql target rejects the recipe: %v", err)
	}
	tg.Close()
}
