package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"database/sql"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/snapdelta"
	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

// CurrentHashesFollowTheVersions: the current versions a store keeps for
// the next run (snapdelta.KeepCached, table current_hashes) are always
// those the versions hold. Over forty runs that change, add and delete
// people and accounts, in batches, with complete and incomplete snapshots,
// batches that fail, runs that stop between a batch and the finish (another
// handle, reopen, carries on), and a target listed as empty, every side's
// kept encoding (when there is one) decodes to exactly the current versions
// (db reads both), and a finished snapshot always leaves one.
func CurrentHashesFollowTheVersions(t *testing.T, open func(t *testing.T) (st reconcile.Store, reopen func() reconcile.Store, db *sqlx.DB)) {
	ctx := context.Background()
	st, reopen, db := open(t)
	rng := rand.New(rand.NewPCG(13, 15))
	// The estate: per side, ID -> a value its hash follows.
	people := map[string]int{}
	accounts := map[string]map[string]int{"app": {}, "erp": {}}
	for i := range 60 {
		people[fmt.Sprint("E", i)] = 0
		accounts["app"][fmt.Sprint("a", i)] = 0
		accounts["erp"][fmt.Sprint("e", i)] = 0
	}
	change := func(m map[string]int, next *int) {
		for id := range m {
			switch r := rng.IntN(20); {
			case r == 0:
				delete(m, id)
			case r < 3:
				m[id]++
			}
		}
		for range rng.IntN(4) {
			*next++
			m[fmt.Sprint("n", *next)] = 0
		}
	}
	var next int
	fromCache, checked := 0, 0
	check := func(when string, side reconcile.Side, target string, finished bool) {
		t.Helper()
		truth := currentVersions(t, db, side, target)
		var body []byte
		err := db.Get(&body, db.Rebind(`SELECT body FROM current_hashes WHERE side = ? AND target = ?`), string(side), target)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if finished {
				t.Fatalf("%s: %s %q finished, yet no encoded current versions", when, side, target)
			}
			return
		case err != nil:
			t.Fatal(err)
		}
		cached, err := snapdelta.DecodeCurrents(body)
		if err != nil {
			t.Fatalf("%s: %s %q: %v", when, side, target, err)
		}
		fromCache++
		want := truth
		n := 0
		for id, c := range cached.All() {
			n++
			if w, ok := want[id]; !ok || w != c {
				t.Errorf("%s: %s %q: %s encoded as %+v, the versions say %+v (current %v)", when, side, target, id, c, w, ok)
			}
		}
		if n != len(want) {
			t.Errorf("%s: %s %q: %d current versions encoded, the versions hold %d", when, side, target, n, len(want))
		}
		checked += n
	}
	for run := 1; run <= 40; run++ {
		when := fmt.Sprint("run ", run)
		at := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC).Add(time.Duration(run) * time.Hour)
		id, err := st.BeginRun(ctx, reconcile.Run{AsOf: at, StartedAt: at, Mode: "report", Scope: "full"})
		if err != nil {
			t.Fatal(err)
		}
		stops := rng.IntN(8) == 0 // the process dies before it finishes anything
		change(people, &next)
		var rows []*reconcile.PersonRow
		for eid, n := range people {
			rows = append(rows, &reconcile.PersonRow{Person: sources.Person{EmployeeID: eid, Status: sources.Active, JobCode: fmt.Sprint("J", n)}})
		}
		completeHR := rng.IntN(4) != 0
		if !completeHR {
			rows = rows[:len(rows)/2]
		}
		if err := st.SavePeople(ctx, id, rows); err != nil {
			t.Fatal(err)
		}
		if !stops {
			if err := st.FinishPeople(ctx, id, completeHR); err != nil {
				t.Fatal(err)
			}
		}
		check(when, reconcile.SideHR, "", !stops)
		for _, target := range []string{"app", "erp"} {
			m := accounts[target]
			change(m, &next)
			var batch []targets.Account
			for aid, n := range m {
				batch = append(batch, targets.Account{ID: aid, Enabled: n%2 == 0, Groups: []targets.Group{{ID: fmt.Sprint("g", n)}}})
			}
			complete := true
			switch rng.IntN(6) {
			case 0: // listed as empty: everything current ends
				batch = nil
			case 1: // incomplete: half of it
				complete, batch = false, batch[:len(batch)/2]
			}
			for len(batch) > 0 {
				k := min(len(batch), 1+rng.IntN(30))
				saved := false
				if rng.IntN(5) == 0 {
					// A batch that fails: its write is cancelled (or it
					// names an account twice); it is sent again. (A
					// cancelled batch with nothing to write succeeds.)
					bad := append([]targets.Account(nil), batch[:k]...)
					bctx, cancel := context.WithCancel(ctx)
					if rng.IntN(2) == 0 {
						cancel()
					} else {
						bad = append(bad, bad[0])
					}
					err := st.SaveAccounts(bctx, id, target, bad, nil)
					if err == nil && len(bad) > k {
						t.Fatalf("%s: a batch with %s twice was saved", when, bad[0].ID)
					}
					saved = err == nil
					cancel()
				}
				if !saved {
					if err := st.SaveAccounts(ctx, id, target, batch[:k], nil); err != nil {
						t.Fatal(err)
					}
				}
				batch = batch[k:]
				if stops {
					break
				}
			}
			if !stops {
				if _, err := st.FinishAccounts(ctx, id, target, complete); err != nil {
					t.Fatal(err)
				}
			}
			check(when, reconcile.SideTarget, target, !stops)
		}
		if stops {
			// Another process (this store reopened) carries on.
			st = reopen()
			continue
		}
		if err := st.FinishRun(reconcile.Run{ID: id, FinishedAt: at, Status: reconcile.StatusCompleted, Mode: "report"}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d encodings, %d versions compared", fromCache, checked)
	if fromCache < 60 || checked < 3000 {
		t.Errorf("only %d encodings (%d versions) compared with the versions", fromCache, checked)
	}
}

// currentVersions reads the current versions of a side from the versions.
func currentVersions(t *testing.T, db *sqlx.DB, side reconcile.Side, target string) map[string]snapdelta.Current {
	t.Helper()
	q := `SELECT employee_id, hash, valid_from FROM person_versions WHERE valid_to IS NULL`
	args := []any{}
	if side == reconcile.SideTarget {
		q = `SELECT account_id, hash, valid_from FROM account_versions WHERE target = ? AND valid_to IS NULL`
		args = append(args, target)
	}
	rows, err := db.Query(db.Rebind(q), args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]snapdelta.Current{}
	for rows.Next() {
		var id string
		var h, from int64
		if err := rows.Scan(&id, &h, &from); err != nil {
			t.Fatal(err)
		}
		out[id] = snapdelta.Current{Hash: uint64(h), From: from}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
