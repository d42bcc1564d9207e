package store

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/storetest"
)

// TestMigrateFindingsToEvents: a store made by the schema of one row per
// finding per run (testdata/store_v11.sql: storetest.History's scenario,
// saved by that code) is converted by migration 013, and then every reader
// answers what the old schema answered (the golden file that code wrote),
// retention included; the next run continues from the converted history.
func TestMigrateFindingsToEvents(t *testing.T) {
	ctx := context.Background()
	path, raw := storeV11(t)
	raw.Close()

	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var old int
	if err := st.db.Get(&old, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'findings'`); err != nil || old != 0 {
		t.Fatalf("the old findings table is still there (%d, %v)", old, err)
	}

	var golden map[string]any
	b, err := os.ReadFile("testdata/finding_history_sqlite.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	runs := make([]int64, len(storetest.HistorySteps))
	for i := range runs {
		runs[i] = int64(i + 1)
	}
	got := map[string]any{}
	storetest.ReadFindings(t, st, runs, got, "step 14")
	readPeriodAnswers(t, st, got, "")
	if err := st.Prune(ctx, storetest.HistoryDay(11), Retention{Findings: 6 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	storetest.ReadFindings(t, st, runs, got, "pruned")
	readPeriodAnswers(t, st, got, "pruned ")
	// Compare as JSON values, as the golden file holds them.
	var gotJSON map[string]any
	b, _ = json.Marshal(got)
	json.Unmarshal(b, &gotJSON)
	for k, v := range gotJSON {
		if !reflect.DeepEqual(v, golden[k]) {
			t.Errorf("after migration, %s =\n%v\nwant (the old schema's answer)\n%v", k, v, golden[k])
		}
	}
	for k := range golden {
		if _, ok := gotJSON[k]; !ok && !strings.HasPrefix(k, "step ") {
			t.Errorf("answer %s not compared", k)
		}
	}

	// The next full run continues the converted history: a and b as run 14
	// had them cost no new version or body, c changed costs one of each.
	var versions, bodies int
	count := func() (int, int) {
		var v, b int
		st.db.Get(&v, `SELECT COUNT(*) FROM finding_versions`)
		st.db.Get(&b, `SELECT COUNT(*) FROM finding_bodies`)
		return v, b
	}
	versions, bodies = count()
	day := storetest.HistoryDay(20)
	id, err := st.BeginRun(ctx, reconcile.Run{AsOf: day, StartedAt: day, Mode: "report", Scope: "full"})
	if err != nil {
		t.Fatal(err)
	}
	rows := []reconcile.FindingRow{storetest.HistoryRow("a:3", day), storetest.HistoryRow("b:1", day), storetest.HistoryRow("c:3", day)}
	if _, err := st.SaveFindings(ctx, id, day, reconcile.SortedRows(rows...), func(string, string) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if v, b := count(); v != versions+1 || b != bodies+1 {
		t.Errorf("the run after migration added %d versions and %d bodies, want 1 and 1", v-versions, b-bodies)
	}
	got15, err := st.FindingBodies(ctx, id)
	if err != nil || len(got15) != 3 || string(got15[0]) != string(storetest.HistoryRow("c:3", day).Body) {
		t.Errorf("findings of the run after migration: %q, %v", got15, err)
	}
}
