package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An --out that cannot be written is found before anything is collected or
// done: exit 1, no run in the store, nothing disabled (issue 11 item 15).
func TestUnwritableOutFoundFirst(t *testing.T) {
	dir, config := smallSetup(t, "")
	enforce(t, config)
	leaver(t, dir)
	notadir := filepath.Join(dir, "notadir")
	if err := os.WriteFile(notadir, []byte("a file"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := appState(t, dir)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"run", "--config", config, "--out", filepath.Join(notadir, "out")}, &stdout, &stderr)
	if code != exitFail || !strings.Contains(stderr.String(), "notadir") {
		t.Fatalf("exit %d, stderr %q; want 1 naming the output", code, stderr.String())
	}
	if rs := jobRuns(t, filepath.Join(dir, "accessrecon.db"), ""); len(rs) != 0 {
		t.Errorf("a run was started: %+v", rs)
	}
	if after := appState(t, dir); after != before {
		t.Errorf("the target changed: %s -> %s", before, after)
	}
}

// A run whose every revocation failed exits 1: the README says 0 means
// done (issue 11 item 15).
func TestAllRevocationsFailedExitsNonZero(t *testing.T) {
	dir, config := smallSetup(t, "")
	enforce(t, config)
	b, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(b), "UPDATE users SET active = 0", "UPDATE no_such_table SET active = 0", 1)
	if err := os.WriteFile(config, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	leaver(t, dir)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"run", "--config", config, "--out", dir}, &stdout, &stderr)
	if code != exitFail {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr.String())
	}
	f := readFindings(t, filepath.Join(dir, "findings.json"))
	if len(f.Actions) == 0 {
		t.Fatal("no action was attempted: the test proves nothing")
	}
	for _, a := range f.Actions {
		if a.Status == "done" {
			t.Fatalf("an action succeeded: %+v", a)
		}
	}
}

// enforce switches smallSetup's config to enforce mode on the app target.
func enforce(t *testing.T, config string) {
	t.Helper()
	b, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "policy: {mode: report}", "policy: {mode: enforce, guards: {max_revocations_percent: 100}}", 1)
	if err := os.WriteFile(config, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// leaver makes E2 leave: their app account is the run's one revocation.
func leaver(t *testing.T, dir string) {
	t.Helper()
	hr := "employee_id,email,first_name,last_name,status\nE1,a@example.com,A,One,active\nE2,b@example.com,B,Two,terminated\nE3,c@example.com,C,Three,terminated\n"
	if err := os.WriteFile(filepath.Join(dir, "hr.csv"), []byte(hr), 0o644); err != nil {
		t.Fatal(err)
	}
}

// appState is smallSetup's app users table as text.
func appState(t *testing.T, dir string) string {
	t.Helper()
	return dbRows(t, filepath.Join(dir, "app.db"), "SELECT id, active FROM users ORDER BY id")
}

func dbRows(t *testing.T, path, query string) string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var sb strings.Builder
	for rows.Next() {
		var a, b any
		if err := rows.Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sb, "%v %v;", a, b)
	}
	return sb.String()
}
