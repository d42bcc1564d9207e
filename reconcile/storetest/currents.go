package storetest

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

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
		parts := keptParts(t, db, side, target)
		body := bytes.Join(parts, nil)
		if len(parts) == 0 {
			if finished {
				t.Fatalf("%s: %s %q finished, yet no encoded current versions", when, side, target)
			}
			return
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

// keptParts are the parts of the encoded current versions a store keeps
// for side and target, in order (nil: none).
func keptParts(t *testing.T, db *sqlx.DB, side reconcile.Side, target string) [][]byte {
	t.Helper()
	var parts [][]byte
	if err := db.Select(&parts, db.Rebind(`SELECT body FROM current_hashes WHERE side = ? AND target = ? ORDER BY part`), string(side), target); err != nil {
		t.Fatal(err)
	}
	return parts
}

// CurrentHashesInParts: a side whose encoded current versions outgrow a
// part (snapdelta.PartSize) is kept in several, each full but the last,
// that read back (snapdelta.Cached) as the versions; when it shrinks, no
// part of the larger encoding is left. Parts read while a save replaces
// them (the rows counted first are not the rows read) are refused, not
// joined.
func CurrentHashesInParts(t *testing.T, open func(t *testing.T) (st reconcile.Store, reopen func() reconcile.Store, db *sqlx.DB)) {
	ctx := context.Background()
	st, _, db := open(t)
	for run, n := range []int{30000, 10} {
		at := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC).AddDate(0, 0, run)
		id, err := st.BeginRun(ctx, reconcile.Run{AsOf: at, StartedAt: at, Mode: "report", Scope: "full"})
		if err != nil {
			t.Fatal(err)
		}
		batch := make([]targets.Account, n)
		for i := range batch {
			batch[i] = targets.Account{ID: fmt.Sprintf("account-%06d", i), Username: fmt.Sprint("u", i), Enabled: i%3 != 0}
		}
		for len(batch) > 0 {
			k := min(len(batch), 5000)
			if err := st.SaveAccounts(ctx, id, "app", batch[:k], nil); err != nil {
				t.Fatal(err)
			}
			batch = batch[k:]
		}
		if _, err := st.FinishAccounts(ctx, id, "app", true); err != nil {
			t.Fatal(err)
		}
		if err := st.FinishRun(reconcile.Run{ID: id, FinishedAt: at, Status: reconcile.StatusCompleted, Mode: "report"}); err != nil {
			t.Fatal(err)
		}
		parts := keptParts(t, db, reconcile.SideTarget, "app")
		if want := 1; n == 30000 {
			want = 3
			if len(parts) < want {
				t.Fatalf("%d accounts kept in %d parts, want at least %d", n, len(parts), want)
			}
		} else if len(parts) != want {
			t.Fatalf("%d accounts kept in %d parts, want %d", n, len(parts), want)
		}
		for i, p := range parts {
			if len(p) > snapdelta.PartSize || i < len(parts)-1 && len(p) != snapdelta.PartSize {
				t.Errorf("part %d of %d is %d bytes (a part is %d)", i, len(parts), len(p), snapdelta.PartSize)
			}
		}
		cur, ok, err := snapdelta.Cached(ctx, db, reconcile.SideTarget, "app")
		if err != nil || !ok {
			t.Fatalf("%d accounts: kept current versions not read: %v, %v", n, ok, err)
		}
		truth, got := currentVersions(t, db, reconcile.SideTarget, "app"), 0
		for aid, c := range cur.All() {
			if w, ok := truth[aid]; !ok || w != c {
				t.Fatalf("%s read as %+v, the versions say %+v (current %v)", aid, c, w, ok)
			}
			got++
		}
		if got != n || len(truth) != n {
			t.Fatalf("%d current versions read, %d in the versions, want %d", got, len(truth), n)
		}
		if n == 30000 {
			torn := tornDB{DB: db, between: func() {
				if _, err := db.Exec(db.Rebind(`DELETE FROM current_hashes WHERE side = ? AND target = ? AND part = 1`), string(reconcile.SideTarget), "app"); err != nil {
					t.Fatal(err)
				}
			}}
			if enc, ok, err := snapdelta.ReadParts(ctx, torn, `current_hashes WHERE side = ? AND target = ?`, string(reconcile.SideTarget), "app"); err != nil || ok {
				t.Fatalf("parts read while one went: %d bytes, ok %v, %v; want refused", len(enc), ok, err)
			}
		}
	}
}

// tornDB is db with between called before each QueryContext (ReadParts
// counts the parts with QueryRowxContext, then reads them with it).
type tornDB struct {
	*sqlx.DB
	between func()
}

func (d tornDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	d.between()
	return d.DB.QueryContext(ctx, query, args...)
}
