package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	_ "github.com/mattn/go-sqlite3"
	"github.com/xuri/excelize/v2"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

var (
	demoOnce sync.Once
	demoDir  string
	demoErr  error
)

// demoTemplate runs `demo --out DIR` once per test binary; tests copy it.
func demoTemplate(t *testing.T) string {
	t.Helper()
	demoOnce.Do(func() {
		d, err := os.MkdirTemp("", "accessrecon-cmdtest-")
		if err != nil {
			demoErr = err
			return
		}
		demoDir = filepath.Join(d, "demo")
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"demo", "--out", demoDir}, &stdout, &stderr); code != exitOK {
			demoErr = fmt.Errorf("demo exit %d: %s", code, stderr.String())
		}
	})
	if demoErr != nil {
		t.Fatal(demoErr)
	}
	return demoDir
}

func TestMain(m *testing.M) {
	if code, ok := runChild(); ok { // a benchmark's run in its own process
		os.Exit(code)
	}
	code := m.Run()
	if demoDir != "" {
		os.RemoveAll(filepath.Dir(demoDir))
	}
	os.Exit(pg.StopAfter(code))
}

func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

func TestDemo(t *testing.T) {
	dir := demoTemplate(t)
	b, err := os.ReadFile(filepath.Join(dir, "findings.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Findings []struct {
			Kind string `json:"kind"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range out.Findings {
		seen[f.Kind] = true
	}
	for _, k := range strings.Fields("terminated_active suspended_active orphaned ambiguous excess_access privileged_unapproved dormant stale_credential reenabled exemption_expired") {
		if !seen[k] {
			t.Errorf("demo findings.json has no %s finding", k)
		}
	}
}

// dbState is the directory's users, memberships and keys, as text.
func dbState(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var sb strings.Builder
	for _, q := range []string{"SELECT id, active FROM users ORDER BY id", "SELECT user_id, grp FROM memberships ORDER BY 1, 2",
		"SELECT id, active FROM api_keys ORDER BY id", "SELECT count(*), '' FROM sessions"} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
			var a, b any
			if err := rows.Scan(&a, &b); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&sb, "%v %v\n", a, b)
		}
		rows.Close()
	}
	return sb.String()
}

func runs(t *testing.T, path string) []store.Run {
	t.Helper()
	s, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rs, err := s.Runs(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestBadInput(t *testing.T) {
	tmpl := demoTemplate(t)
	header := "employee_id,email,first_name,last_name,status,termination_date,job_code\n"
	good := "E000001,a@example.com,A,B,active,,ENG\n"
	cases := []struct {
		name, file, body, want string
	}{
		{"bad quoting", "hr.csv", header + good + "E000002,\"b@example.com,B,C,active,,ENG\n", "hr.csv:3"},
		{"wrong column count", "hr.csv", header + good + "E000002,b@example.com,B,active\n", "hr.csv:3"},
		{"missing required column", "hr.csv", "employee_id,email\nE000001,a@example.com\n", "status"},
		{"unknown status", "hr.csv", header + good + "E000002,b@example.com,B,C,retired,,ENG\n", "retired"},
		{"duplicate employee IDs", "hr.csv", header + good + good, "E000001"},
		{"unparseable date", "hr.csv", header + good + "E000002,b@example.com,B,C,terminated,31/12/2026,ENG\n", "31/12/2026"},
		{"empty file", "hr.csv", "", "hr.csv"},
		{"invalid UTF-8", "hr.csv", header + good + "E000002,b@example.com,B\xff\xfe,C,active,,ENG\n", "UTF-8"},
		{"unknown config key", "schedule.yaml", "", "polciy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, tmpl)
			before, runsBefore := dbState(t, filepath.Join(dir, "directory.db")), runs(t, filepath.Join(dir, "accessrecon.db"))
			body := tc.body
			if tc.file == "schedule.yaml" {
				b, err := os.ReadFile(filepath.Join(dir, "schedule.yaml"))
				if err != nil {
					t.Fatal(err)
				}
				body = strings.Replace(string(b), "policy:", "polciy:", 1)
			}
			if err := os.WriteFile(filepath.Join(dir, tc.file), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"run", "--config", filepath.Join(dir, "schedule.yaml"), "--out", dir}, &stdout, &stderr)
			if code != exitFail {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFail, stderr.String())
			}
			t.Logf("stderr: %s", stderr.String())
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr does not name %q:\n%s", tc.want, stderr.String())
			}
			if tc.file == "schedule.yaml" {
				line := 1 + strings.Count(body[:strings.Index(body, "polciy:")], "\n")
				if !strings.Contains(stderr.String(), fmt.Sprintf("line %d", line)) {
					t.Errorf("stderr does not name line %d:\n%s", line, stderr.String())
				}
			}
			if after := dbState(t, filepath.Join(dir, "directory.db")); after != before {
				t.Error("the directory changed on bad input")
			}
			runsAfter := runs(t, filepath.Join(dir, "accessrecon.db"))
			for _, r := range runsBefore {
				if !slices.ContainsFunc(runsAfter, func(x store.Run) bool { return x.ID == r.ID && x.Status == r.Status }) {
					t.Errorf("earlier run %d (%s) gone or changed", r.ID, r.Status)
				}
			}
			for _, r := range runsAfter {
				if r.Status == reconcile.StatusCompleted && !slices.ContainsFunc(runsBefore, func(x store.Run) bool { return x.ID == r.ID }) {
					t.Errorf("a bad-input run completed: %+v", r)
				}
			}
		})
	}
}

func TestScheduleYAMLValidates(t *testing.T) {
	const path = "../../schedule.yaml"
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the root schedule.yaml is missing: %v", err)
	}
	if _, err := config.Load(path); err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"validate", "--config", path}, &stdout, &stderr); code != exitOK {
		t.Fatalf("validate exit %d:\n%s%s", code, stdout.String(), stderr.String())
	}
}

// The demo's day-two run writes its workbook beside findings.json, named
// after the as-of date and run, with every sheet.
func TestDemoWritesWorkbook(t *testing.T) {
	dir := demoTemplate(t)
	path := filepath.Join(dir, "accessrecon-2026-11-25-2.xlsx")
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("demo workbook: %v", err)
	}
	defer f.Close()
	want := []string{"Summary", "Findings", "Actions", "SLA", "Drift", "Inventory", "Exemptions & holds", "Leavers", "Approvals", "Drills", "Upcoming leavers"}
	got := f.GetSheetList()
	if len(got) != len(want) {
		t.Fatalf("sheets %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("sheets %v, want %v", got, want)
		}
	}
	rows, err := f.GetRows("Findings")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 50 {
		t.Fatalf("Findings sheet has %d rows; the demo has more than 50 findings", len(rows))
	}
	// The wiring gives the workbook the store: the Approvals sheet knows
	// whether each approved or exempted account is still there.
	rows, err = f.GetRows("Approvals")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		for _, c := range r {
			if strings.Contains(c, "no run's accounts to check") {
				t.Fatalf("Approvals sheet: %q: the workbook was written without the store", c)
			}
		}
	}
}
