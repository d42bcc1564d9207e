package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile/storetest"
)

// TestFindingHistoryReaders: every reader of stored findings that only
// this store has (the period report's FindingsBetween and FindingStates,
// the SLA's RevokedFindings, FindingKnown) and retention give, over
// storetest's multi-run scenario, exactly what the store answered when it
// kept one row per finding per run (testdata/finding_history_sqlite.json,
// written by that schema).
func TestFindingHistoryReaders(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	answers, runs := storetest.History(t, st)
	readPeriodAnswers(t, st, answers, "")
	// Bodies are stored once each: the scenario has nine distinct ones
	// (a:1-3, b:1-2, c:1-2, d:1-2), b's body 1 coming back on day 5 and
	// most findings reported unchanged run after run.
	var bodies int
	if err := st.db.Get(&bodies, `SELECT COUNT(*) FROM finding_bodies`); err != nil || bodies != 9 {
		t.Errorf("%d bodies stored (%v), want 9", bodies, err)
	}
	// Retention: findings of runs started before day 6 go; the states of
	// problems resolved before then too.
	if err := st.Prune(ctx, storetest.HistoryDay(11), Retention{Findings: 6 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	storetest.ReadFindings(t, st, runs, answers, "pruned")
	readPeriodAnswers(t, st, answers, "pruned ")
	storetest.Golden(t, "testdata", "finding_history_sqlite.json", answers)
}

func readPeriodAnswers(t *testing.T, st *Store, answers map[string]any, prefix string) {
	t.Helper()
	ctx := context.Background()
	from, to := storetest.HistoryDay(0), storetest.HistoryDay(20)
	for _, kinds := range [][]string{nil, {"dormant", "terminated_active"}} {
		var got []string
		err := st.FindingsBetween(ctx, from, to, kinds, func(f PeriodFinding) error {
			got = append(got, fmt.Sprintf("run %d %s %s %s %s", f.RunID, f.Fingerprint, f.Kind, f.Disposition, f.Body))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		answers[fmt.Sprintf("%speriod %v", prefix, kinds)] = got
	}
	var got []string
	err := st.FindingsBetween(ctx, storetest.HistoryDay(3), storetest.HistoryDay(8), nil, func(f PeriodFinding) error {
		got = append(got, fmt.Sprintf("run %d %s", f.RunID, f.Fingerprint))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	answers[prefix+"period days 4-8"] = got
	for _, since := range []time.Time{{}, storetest.HistoryDay(4)} {
		rf, err := st.RevokedFindings(ctx, since)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rf {
			got = append(got, fmt.Sprintf("run %d %s", r.RunID, r.Body))
		}
		answers[fmt.Sprintf("%srevoked since %s", prefix, since.Format(time.DateOnly))] = got
	}
	for _, fp := range []string{"a", "c", "zz"} {
		known, err := st.FindingKnown(ctx, fp)
		if err != nil {
			t.Fatal(err)
		}
		answers[prefix+"known "+fp] = known
	}
	states, err := st.FindingStates(ctx, []string{"a", "b", "zz"})
	if err != nil {
		t.Fatal(err)
	}
	var ss []string
	for _, fp := range []string{"a", "b", "zz"} {
		if s, ok := states[fp]; ok {
			ss = append(ss, fmt.Sprintf("%s first=%s resolved=%v", fp, s.FirstSeen.Format(time.RFC3339), s.Resolved))
		}
	}
	answers[prefix+"states"] = ss
}

// Retention deletes only around the saves it removes, yet leaves nothing
// behind (storetest.PruneLeavesNoOrphans).
func TestPruneLeavesNoOrphans(t *testing.T) {
	storetest.PruneLeavesNoOrphans(t, func(t *testing.T) (storetest.HistoryStore, func(time.Time) error, func(string) int) {
		ctx := context.Background()
		st, err := Open(ctx, filepath.Join(t.TempDir(), "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st, func(now time.Time) error { return st.Prune(ctx, now, Retention{Findings: 2 * 24 * time.Hour}) },
			func(q string) int {
				t.Helper()
				var n int
				if err := st.db.Get(&n, q); err != nil {
					t.Fatal(err)
				}
				return n
			}
	})
}

// TestPruneKeepsLastSeen: storetest.PruneKeepsLastSeen on this store.
func TestPruneKeepsLastSeen(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	storetest.PruneKeepsLastSeen(t, st, func(now time.Time) error { return st.Prune(ctx, now, Retention{Findings: 2 * 24 * time.Hour}) })
}

// TestPruneKeepsBaselines: storetest.PruneKeepsBaselines on this store.
func TestPruneKeepsBaselines(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	storetest.PruneKeepsBaselines(t, st, func(now time.Time, snapshots time.Duration) error {
		return st.Prune(ctx, now, Retention{Snapshots: snapshots})
	})
}
