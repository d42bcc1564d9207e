package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/accessrecon/accessrecon/reconcile"
)

// TestFindingsFileFromSavedBodies: findings.json of a Result that spooled
// nothing (a run without an out dir) is the file of the findings
// marshalled afresh, and holds every body the store saved; a ticket key
// set after the run (reports/jira) is in it. (TestFindingsFileFromTheSpool
// writes it from the spool.)
func TestFindingsFileFromSavedBodies(t *testing.T) {
	cfg, st, dir := setup(t)
	res, err := Run(context.Background(), cfg, Env{Store: st, Log: slog.New(slog.DiscardHandler)}, Request{Reports: Set{}})
	if err != nil || res == nil || len(res.Findings) == 0 {
		t.Fatalf("run: %v, %v (no findings: the test proves nothing)", res, err)
	}
	write := func(name string, r *reconcile.Result) []byte {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := WriteFindings(path, r); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// A Result with the same fields but no saved bodies: AppendFindingJSON
	// marshals each finding again, as the writer used to.
	fresh := func() *reconcile.Result {
		c := *res
		return &reconcile.Result{Run: c.Run, Findings: c.Findings, Collections: c.Collections, Actions: c.Actions, Guards: c.Guards}
	}
	saved, again := write("saved.json", res), write("fresh.json", fresh())
	if !bytes.Equal(saved, again) {
		t.Fatalf("findings.json from the saved bodies:\n%s\nfrom findings marshalled afresh:\n%s", saved, again)
	}
	bodies, err := st.FindingBodies(context.Background(), res.Run.ID)
	if err != nil || len(bodies) != len(res.Findings) {
		t.Fatalf("stored bodies: %d, %v", len(bodies), err)
	}
	for _, b := range bodies {
		if !bytes.Contains(saved, b) {
			t.Errorf("findings.json lacks the stored body %s", b)
		}
	}
	res.SetJiraKey(0, "OPS-42")
	withKey := write("key.json", res)
	if !strings.Contains(string(withKey), `"jira_key":"OPS-42"`) || !bytes.Equal(withKey, write("key-fresh.json", fresh())) {
		t.Errorf("findings.json after SetJiraKey:\n%s", withKey)
	}
}

// A run with an out dir spools its findings' JSON there (the engine's
// Spool) and writes findings.json from the spool: the same bytes as the
// findings marshalled afresh, and nothing else is left in the folder.
func TestFindingsFileFromTheSpool(t *testing.T) {
	cfg, st, _ := setup(t)
	out := t.TempDir()
	res, err := Run(context.Background(), cfg, Env{Store: st, Log: slog.New(slog.DiscardHandler)}, Request{Reports: Set{}, OutDir: out})
	if err != nil || res == nil || len(res.Findings) == 0 {
		t.Fatalf("run: %v, %v (no findings: the test proves nothing)", res, err)
	}
	spooled, err := os.ReadFile(filepath.Join(out, FindingsName))
	if err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(t.TempDir(), "fresh.json")
	if err := WriteFindings(fresh, &reconcile.Result{Run: res.Run, Findings: res.Findings, Collections: res.Collections, Actions: res.Actions, Guards: res.Guards}); err != nil {
		t.Fatal(err)
	}
	if again, err := os.ReadFile(fresh); err != nil || !bytes.Equal(spooled, again) {
		t.Fatalf("findings.json from the spool:\n%s\nfrom findings marshalled afresh:\n%s (%v)", spooled, again, err)
	}
	if left, err := os.ReadDir(out); err != nil || len(left) != 1 {
		t.Errorf("the out dir holds %v (%v): want findings.json alone", left, err)
	}
	// The parts come in FindingsFile's order (its doc says so).
	var want, got []string
	ft := reflect.TypeFor[FindingsFile]()
	for i := range ft.NumField() {
		want = append(want, strings.Split(ft.Field(i).Tag.Get("json"), ",")[0])
	}
	dec := json.NewDecoder(bytes.NewReader(spooled))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	for dec.More() {
		key, err := dec.Token()
		var v json.RawMessage
		if err != nil || dec.Decode(&v) != nil {
			t.Fatalf("findings.json: %v", err)
		}
		got = append(got, key.(string))
	}
	// (actions only when the run has some)
	if !slices.Equal(got, want) && !slices.Equal(got, slices.DeleteFunc(slices.Clone(want), func(k string) bool { return k == "actions" })) {
		t.Errorf("findings.json's parts: %v, want %v", got, want)
	}
}

// A run without findings (nothing spooled) writes a findings.json that
// reads as one document, with an empty list.
func TestFindingsFileWithoutFindings(t *testing.T) {
	path := filepath.Join(t.TempDir(), FindingsName)
	if err := WriteFindings(path, &reconcile.Result{Run: reconcile.Run{ID: 7, Status: reconcile.StatusCompleted}}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f FindingsFile
	if err := json.Unmarshal(b, &f); err != nil || f.Findings == nil || len(f.Findings) != 0 || f.Run.ID != 7 {
		t.Fatalf("findings.json without findings:\n%s\n(%v)", b, err)
	}
}
