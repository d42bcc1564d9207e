package store

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

// Retention prunes history, never the current state: versions that ended
// at or before the oldest kept run go (with their credentials), current
// ones stay however old, and the kept runs read back exactly.
func TestPruneKeepsCurrentVersions(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	key := func(enabled bool) targets.Account {
		return targets.Account{ID: "A1", Enabled: enabled, Credentials: []targets.Credential{{ID: "k", Kind: "access_key", Active: enabled}}}
	}
	runs := []struct {
		age      time.Duration
		accounts []targets.Account
		job      string
	}{
		{40 * 24 * time.Hour, []targets.Account{key(true), {ID: "A2"}, {ID: "A3"}}, "ENG"},
		{35 * 24 * time.Hour, []targets.Account{key(false), {ID: "A2"}}, "OPS"},
		{24 * time.Hour, []targets.Account{key(true), {ID: "A2"}}, "SALES"},
	}
	for _, r := range runs {
		at := now.Add(-r.age)
		id, err := st.BeginRun(ctx, Run{AsOf: at, StartedAt: at, Mode: "report", Scope: "full"})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SavePeople(ctx, id, []*PersonRow{{Person: sources.Person{EmployeeID: "E1", Status: sources.Active, JobCode: r.job}}}); err != nil {
			t.Fatal(err)
		}
		if err := st.FinishPeople(ctx, id, true); err != nil {
			t.Fatal(err)
		}
		if err := st.SaveAccounts(ctx, id, "app", r.accounts, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := st.FinishAccounts(ctx, id, "app", true); err != nil {
			t.Fatal(err)
		}
		if err := st.FinishRun(Run{ID: id, FinishedAt: at, Status: reconcile.StatusCompleted, Mode: "report"}); err != nil {
			t.Fatal(err)
		}
	}
	before, err := st.AccountStates(ctx, 3, "app")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Prune(ctx, now, Retention{Snapshots: 30 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string][][2]int64{"A1": {{3, 0}}, "A2": {{1, 0}}, "A3": nil} {
		vs, err := st.AccountVersions(ctx, "app", id)
		var got [][2]int64
		for _, v := range vs {
			got = append(got, [2]int64{v.ValidFrom, v.ValidTo})
		}
		if err != nil || len(got) != len(want) || (len(want) > 0 && got[0] != want[0]) {
			t.Errorf("%s's versions after prune = %v, %v; want %v", id, got, err, want)
		}
	}
	if after, err := st.AccountStates(ctx, 3, "app"); err != nil || !maps.Equal(after, before) || len(after) != 2 {
		t.Errorf("run 3 after prune = %v, %v; want %v", after, err, before)
	}
	if a, found, err := st.SnapshotAccount(ctx, 3, "app", "A1"); err != nil || !found || len(a.Credentials) != 1 || !a.Credentials[0].Active {
		t.Errorf("A1 in run 3 after prune = %+v, %v, %v", a, found, err)
	}
	if states, err := st.AccountStates(ctx, 1, "app"); err != nil || len(states) != 0 {
		t.Errorf("run 1 after prune = %v, %v; want its snapshot gone", states, err)
	}
	var people, creds int
	if err := st.db.Get(&people, `SELECT COUNT(*) FROM person_versions`); err != nil || people != 1 {
		t.Errorf("%d person versions after prune (%v), want the current one", people, err)
	}
	if err := st.db.Get(&creds, `SELECT COUNT(*) FROM credential_versions`); err != nil || creds != 1 {
		t.Errorf("%d credential versions after prune (%v), want the current account version's", creds, err)
	}
	for p, err := range st.People(ctx, 3) {
		if err != nil || p.JobCode != "SALES" {
			t.Errorf("E1 in run 3 after prune: %+v, %v", p, err)
		}
	}
}

// A batch whose context ends is not written and leaves the session as it
// was: the same accounts saved again are written once.
func TestSaveAccountsCancelled(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id, err := st.BeginRun(ctx, Run{AsOf: time.Now(), StartedAt: time.Now(), Mode: "report", Scope: "full"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveAccounts(ctx, id, "app", []targets.Account{{ID: "A0"}}, nil); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	batch := []targets.Account{{ID: "A1"}, {ID: "A2", Enabled: true}}
	if err := st.SaveAccounts(cancelled, id, "app", batch, nil); err == nil {
		t.Fatal("a batch saved under a cancelled context: no error")
	}
	if err := st.SaveAccounts(ctx, id, "app", batch, nil); err != nil {
		t.Fatalf("the same batch saved again: %v", err)
	}
	if _, err := st.FinishAccounts(ctx, id, "app", true); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := st.db.Get(&n, `SELECT COUNT(*) FROM account_versions`); err != nil || n != 3 {
		t.Errorf("%d account versions (%v), want 3", n, err)
	}
}

// A batch's versions are written in ID order, whatever order the source
// listed them in (snapdelta.InKeyOrder: the key indexes are then written
// page after page), and an account's credentials in the order listed.
func TestVersionsWrittenInKeyOrder(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	id, err := st.BeginRun(ctx, Run{AsOf: time.Now(), StartedAt: time.Now(), Mode: "report", Scope: "full"})
	if err != nil {
		t.Fatal(err)
	}
	var people []*PersonRow
	for _, e := range []string{"E3", "E1", "E4", "E2"} {
		people = append(people, &PersonRow{Person: sources.Person{EmployeeID: e, Status: sources.Active}})
	}
	if err := st.SavePeople(ctx, id, people); err != nil {
		t.Fatal(err)
	}
	batch := []targets.Account{{ID: "C"}, {ID: "A", Credentials: []targets.Credential{{ID: "k2"}, {ID: "k1"}}}, {ID: "D"}, {ID: "B"}}
	if err := st.SaveAccounts(ctx, id, "app", batch, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ query, want string }{
		{`SELECT group_concat(employee_id, ' ') FROM (SELECT employee_id FROM person_versions ORDER BY rowid)`, "E1 E2 E3 E4"},
		{`SELECT group_concat(account_id, ' ') FROM (SELECT account_id FROM account_versions ORDER BY rowid)`, "A B C D"},
		{`SELECT group_concat(credential_id, ' ') FROM (SELECT credential_id FROM credential_versions ORDER BY rowid)`, "k2 k1"},
	} {
		var got string
		if err := st.db.Get(&got, c.query); err != nil || got != c.want {
			t.Errorf("%s = %q (%v), want %q", c.query, got, err, c.want)
		}
	}
}

// A run whose lease another process took over writes no version: the new
// holder's snapshots stay exact.
func TestSnapshotWritesCheckTheLease(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id, err := st.BeginRun(ctx, Run{AsOf: time.Now(), StartedAt: time.Now(), Mode: "report", Scope: "full"})
	if err != nil {
		t.Fatal(err)
	}
	lost := WithLease(ctx, Lease{Name: RunLock, Token: "not-held", Generation: 1})
	if err := st.SaveAccounts(lost, id, "app", []targets.Account{{ID: "A1"}}, nil); !errors.Is(err, reconcile.ErrLeaseLost) {
		t.Errorf("SaveAccounts under a lost lease: %v, want ErrLeaseLost", err)
	}
	if err := st.SavePeople(lost, id, []*PersonRow{{Person: sources.Person{EmployeeID: "E1", Status: sources.Active}}}); !errors.Is(err, reconcile.ErrLeaseLost) {
		t.Errorf("SavePeople under a lost lease: %v, want ErrLeaseLost", err)
	}
	if _, err := st.FinishAccounts(lost, id, "app", true); !errors.Is(err, reconcile.ErrLeaseLost) {
		t.Errorf("FinishAccounts under a lost lease: %v, want ErrLeaseLost", err)
	}
	var n int
	if err := st.db.Get(&n, `SELECT (SELECT COUNT(*) FROM account_versions) + (SELECT COUNT(*) FROM person_versions) + (SELECT COUNT(*) FROM snapshots)`); err != nil || n != 0 {
		t.Errorf("%d rows written (%v), want none", n, err)
	}
}
