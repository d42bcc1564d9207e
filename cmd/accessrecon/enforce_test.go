package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/demo"
	"github.com/accessrecon/accessrecon/reconcile"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runner"
)

// directoryState reads the demo directory's users: id -> active.
func directoryState(t *testing.T, dir string) map[string]bool {
	t.Helper()
	db, err := sql.Open("sqlite3", filepath.Join(dir, "directory.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT id, active FROM users`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		var active bool
		if err := rows.Scan(&id, &active); err != nil {
			t.Fatal(err)
		}
		out[id] = active
	}
	return out
}

func readFindings(t *testing.T, path string) runner.FindingsFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f runner.FindingsFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func runAt(t *testing.T, dir string, asOf time.Time) runner.FindingsFile {
	t.Helper()
	var stdout, stderr bytes.Buffer
	out := filepath.Join(dir, "out-"+asOf.Format("150405"))
	code := run(context.Background(), []string{"run", "--config", filepath.Join(dir, "schedule.yaml"), "--as-of", asOf.Format(time.RFC3339), "--out", out}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("run at %s: exit %d\n%s", asOf, code, stderr.String())
	}
	return readFindings(t, filepath.Join(out, "findings.json"))
}

// With the demo's sql target in enforce mode, a run disables exactly the
// accounts whose findings are auto_revoke and nothing else; a second run
// changes nothing; an account re-enabled by hand is reported reenabled and
// disabled again.
func TestEnforceDisablesExactlyAutoRevoke(t *testing.T) {
	dir := t.TempDir()
	d := demo.New(dir)
	if err := d.WriteDay(1); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "schedule.yaml"), []byte(demo.Config), 0o644); err != nil {
		t.Fatal(err)
	}
	before := directoryState(t, dir)

	first := runAt(t, dir, demo.Day1)
	var want []string
	for _, f := range first.Findings {
		if f.Target == "directory" && f.Disposition == reconcile.AutoRevoke &&
			slices.ContainsFunc(f.Actions, func(s reconcile.Step) bool { return s.Op == "disable" && s.Auto }) && !slices.Contains(want, f.AccountID) {
			want = append(want, f.AccountID)
		}
	}
	if len(want) < 3 {
		t.Fatalf("only %d auto_revoke disable findings on directory: the demo should have several", len(want))
	}
	after := directoryState(t, dir)
	var changed []string
	for id, was := range before {
		if after[id] != was {
			if !was {
				t.Errorf("account %s was enabled by the run", id)
			}
			changed = append(changed, id)
		}
	}
	slices.Sort(changed)
	slices.Sort(want)
	if !slices.Equal(changed, want) {
		t.Fatalf("accounts disabled %v, want exactly the auto_revoke ones %v", changed, want)
	}
	for _, a := range first.Actions {
		if a.Status != "done" || !a.Verified {
			t.Errorf("action %s %s on %s: %s verified=%v (%s)", a.Op, a.Arg, a.AccountID, a.Status, a.Verified, a.Error)
		}
	}

	second := runAt(t, dir, demo.Day1.Add(time.Hour))
	if len(second.Actions) != 0 {
		t.Fatalf("second run over the same state acted: %+v", second.Actions)
	}
	if again := directoryState(t, dir); !mapsEqual(again, after) {
		t.Fatal("second run changed the directory")
	}

	victim := want[0]
	db, err := sql.Open("sqlite3", filepath.Join(dir, "directory.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE users SET active = 1 WHERE id = ?`, victim); err != nil {
		t.Fatal(err)
	}
	db.Close()
	third := runAt(t, dir, demo.Day1.Add(2*time.Hour))
	found := false
	for _, f := range third.Findings {
		if f.Kind == reconcile.Reenabled && f.Target == "directory" && f.AccountID == victim {
			found = true
			if f.Severity != reconcile.Critical || f.Disposition != reconcile.AutoRevoke || f.Outcome != reconcile.OutcomeDone {
				t.Errorf("reenabled finding: severity %s disposition %s outcome %s, want critical auto_revoke done", f.Severity, f.Disposition, f.Outcome)
			}
		}
	}
	if !found {
		t.Fatalf("account %s re-enabled by hand: no reenabled finding", victim)
	}
	if directoryState(t, dir)[victim] {
		t.Fatalf("account %s re-enabled by hand is still enabled after the next run", victim)
	}
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}
