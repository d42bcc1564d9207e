package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/targets"
)

// The last good collection of a target is read back with each account's DN
// and groups (ID and name), so that references written as DNs and group
// names people write can be checked without a live collection.
func TestCollectedAccounts(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if id, err := st.LastCollection(ctx, "ad"); err != nil || id != 0 {
		t.Fatalf("no run yet: last collection %d, %v", id, err)
	}
	now := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	collect := func(status reconcile.CollectionStatus, accounts ...targets.Account) int64 {
		id, err := st.BeginRun(ctx, Run{AsOf: now, StartedAt: now, Mode: "report", Status: "running"})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SaveAccounts(ctx, id, "ad", accounts, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := st.FinishAccounts(ctx, id, "ad", status == reconcile.CollectionOK); err != nil {
			t.Fatal(err)
		}
		if err := st.SaveCollection(ctx, Collection{RunID: id, Side: "target", Name: "ad", Type: "ldap", Status: status, StartedAt: now.Format(time.RFC3339), Count: len(accounts)}); err != nil {
			t.Fatal(err)
		}
		if err := st.FinishRun(Run{ID: id, AsOf: now, StartedAt: now, FinishedAt: now, Mode: "report", Status: "completed"}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	noura := targets.Account{ID: "6f1c-guid", Username: "noura.aziz", DN: "CN=Noura Aziz,OU=Staff,DC=corp,DC=example",
		Groups: []targets.Group{{ID: "CN=Engineering,OU=Groups,DC=corp,DC=example", Name: "Engineering"}}}
	good := collect("ok", noura)
	collect("failed")
	id, err := st.LastCollection(ctx, "ad")
	if err != nil || id != good {
		t.Fatalf("last collection %d, %v; want run %d (the later one failed)", id, err, good)
	}
	var got []targets.Account
	for a, err := range st.CollectedAccounts(ctx, id, "ad") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
	}
	if len(got) != 1 || got[0].DN != noura.DN || got[0].Username != "noura.aziz" || len(got[0].Groups) != 1 || got[0].Groups[0] != noura.Groups[0] {
		t.Fatalf("collected accounts: %+v", got)
	}
}
