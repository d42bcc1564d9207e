package main

import (
	"context"
	"database/sql"
	_ "embed"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runner"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/gen"
	"github.com/accessrecon/accessrecon/sources"
)

// The demo: 200 people and four systems of a small company, over two days.
// Day one (2026-11-24) is collected and enforced on the in-house directory;
// overnight someone re-enables an account accessrecon disabled, one engineer
// moves to sales, the VPN admin turns an old account back on; day two
// (2026-11-25) shows every kind of finding.
const demoPeople = 200

var (
	demoDay1 = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	demoDay2 = time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
)

// demoConfig is the demo's schedule.yaml, written beside its data.
//
//go:embed demo/schedule.yaml
var demoConfig string

var groupOf = map[string]string{"ENG": "eng", "SALES": "sales", "FIN": "finance", "HR": "people", "OPS": "ops", "SUPPORT": "support", "LEGAL": "legal", "MKT": "marketing"}

func defineDemo(fs *flag.FlagSet) action {
	out := fs.String("out", "", "`DIR`ectory to write the demo into (default: a new temporary directory)")
	return func(ctx context.Context, stdout, stderr io.Writer) (int, error) {
		return demoCommand(ctx, *out, stdout, stderr)
	}
}

func demoCommand(ctx context.Context, out string, stdout, stderr io.Writer) (int, error) {
	dir := out
	if dir == "" {
		d, err := os.MkdirTemp("", "accessrecon-demo-")
		if err != nil {
			return exitFail, err
		}
		dir = d
	} else if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return exitFail, fmt.Errorf("demo: %s is not empty: the demo starts from a fresh directory", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return exitFail, err
	}
	fmt.Fprintf(stderr, "accessrecon demo in %s\n", dir)
	d := demo{dir: dir, spec: gen.Spec{People: demoPeople, Seed: 7, AsOf: demoDay1}}
	if err := d.writeDay(1); err != nil {
		return exitFail, fmt.Errorf("demo: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "schedule.yaml"), []byte(demoConfig), 0o644); err != nil {
		return exitFail, err
	}
	cfg := filepath.Join(dir, "schedule.yaml")
	fmt.Fprintln(stderr, "\n== day 1:", demoDay1.Format("2006-01-02"))
	if _, code, err := demoRun(ctx, cfg, demoDay1, filepath.Join(dir, "day1"), stdout, stderr); code != exitOK && code != exitGuard {
		return code, err
	}
	if err := d.writeDay(2); err != nil {
		return exitFail, fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintln(stderr, "\n== overnight: u0012 re-enabled by hand in the directory, E000005 moved from ENG to SALES, vpn-0033 turned back on")
	fmt.Fprintln(stderr, "\n== day 2:", demoDay2.Format("2006-01-02"))
	res, code, err := demoRun(ctx, cfg, demoDay2, dir, stdout, stderr)
	if res != nil {
		kinds := map[reconcile.Kind]bool{}
		for _, f := range res.Findings {
			kinds[f.Kind] = true
		}
		fmt.Fprintf(stderr, "\n  finding kinds present: %d; explore with: accessrecon findings --config %s\n", len(kinds), cfg)
	}
	return code, err
}

// demoRun is one of the demo's runs, as `accessrecon run` would do it.
func demoRun(ctx context.Context, path string, asOf time.Time, out string, stdout, stderr io.Writer) (*reconcile.Result, int, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, exitFail, err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, exitFail, err
	}
	defer st.Close()
	return runOnce(ctx, cfg, st, runner.Request{AsOf: asOf, OutDir: out}, stdout, stderr)
}

type demo struct {
	dir  string
	spec gen.Spec
}

// person is person i as HR sees them on a day, with the demo's stories.
func (d demo) person(i, day int) sources.Person {
	p := d.spec.Person(i)
	switch i {
	case 5: // the mover
		p.Status, p.TerminationDate, p.JobCode = sources.Active, time.Time{}, "ENG"
		if day == 2 {
			p.JobCode = "SALES"
		}
	case 10, 11: // two records, one mailbox (a rehire kept the old address)
		p.Status, p.TerminationDate = sources.Active, time.Time{}
		p.Email = "shared.inbox@example.com"
	case 12: // terminated last week
		p.Status, p.TerminationDate, p.StatusEffective = sources.Terminated, demoDay1.AddDate(0, 0, -3).Truncate(24*time.Hour), demoDay1.AddDate(0, 0, -3).Truncate(24*time.Hour)
	case 13: // suspended pending investigation
		p.Status, p.TerminationDate, p.StatusEffective = sources.Suspended, time.Time{}, demoDay1.AddDate(0, 0, -1).Truncate(24*time.Hour)
	case 14: // the status column lags: termination date past, status still active
		p.Status, p.TerminationDate = sources.Active, demoDay1.AddDate(0, 0, -2).Truncate(24*time.Hour)
	case 15: // leaves next month: not yet a finding
		p.Status, p.TerminationDate = sources.Active, demoDay1.AddDate(0, 1, 0).Truncate(24*time.Hour)
	case 30, 40: // terminated contractor (expired exemption) and leaver under a valid exemption
		p.Status, p.TerminationDate, p.StatusEffective = sources.Terminated, demoDay1.AddDate(0, 0, -20).Truncate(24*time.Hour), demoDay1.AddDate(0, 0, -20).Truncate(24*time.Hour)
	case 33: // active, but the VPN account was disabled on day one
		p.Status, p.TerminationDate = sources.Active, time.Time{}
	case 3, 4, 7, 20, 21, 50, 51:
		p.Status, p.TerminationDate = sources.Active, time.Time{}
	}
	return p
}

func (d demo) writeDay(day int) error {
	var hr [][]string
	t := func(x time.Time) string {
		if x.IsZero() {
			return ""
		}
		return x.Format("2006-01-02")
	}
	for i := range demoPeople {
		p := d.person(i, day)
		hr = append(hr, []string{p.EmployeeID, p.Email, p.FirstName, p.LastName, string(p.Status), t(p.StatusEffective), t(p.TerminationDate),
			p.Department, p.JobCode, p.ManagerID, p.WorkerType, t(p.HireDate)})
	}
	if err := writeCSV(filepath.Join(d.dir, "hr.csv"), []string{"employee_id", "email", "first_name", "last_name", "status", "status_effective",
		"termination_date", "department", "job_code", "manager_id", "worker_type", "hire_date"}, hr); err != nil {
		return err
	}
	if day == 1 {
		if err := d.writeDirectory(); err != nil {
			return err
		}
	} else {
		// Overnight, someone turns u0012 (terminated) back on by hand.
		db, err := sql.Open("sqlite3", filepath.Join(d.dir, "directory.db"))
		if err != nil {
			return err
		}
		defer db.Close()
		if _, err := db.Exec(`UPDATE users SET active = 1 WHERE id = 'u0012'`); err != nil {
			return err
		}
	}
	return d.writeExports(day)
}

func (d demo) writeDirectory() error {
	db, err := sql.Open("sqlite3", filepath.Join(d.dir, "directory.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	schema := `CREATE TABLE users (id TEXT PRIMARY KEY, login TEXT, mail TEXT, emp_no TEXT, name TEXT, active INTEGER, last_login TEXT, created TEXT, admin INTEGER);
		CREATE TABLE memberships (user_id TEXT, grp TEXT, PRIMARY KEY (user_id, grp));
		CREATE TABLE sessions (user_id TEXT, token TEXT);
		CREATE TABLE api_keys (id TEXT PRIMARY KEY, user_id TEXT, kind TEXT, created TEXT, last_used TEXT, active INTEGER);`
	if _, err := db.Exec(schema); err != nil {
		return err
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	for i := range demoPeople {
		p := d.person(i, 1)
		a, _ := d.spec.Account(0, i)
		id := fmt.Sprintf("u%04d", i)
		admin := i == 3 || i == 4
		active := a.Enabled || i == 12 || i == 13 || i == 14 || i == 5 || i == 7 || i == 3
		if _, err := tx.Exec(`INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, strings.ToLower(p.FirstName), p.Email, p.EmployeeID,
			p.Name(), active, a.LastLogin.Format(time.RFC3339), a.Created.Format(time.RFC3339), admin); err != nil {
			return err
		}
		groups := []string{"staff", groupOf[p.JobCode]}
		if i == 7 {
			groups = append(groups, "finance") // an engineer in finance: excess needing review
		}
		if admin {
			groups = append(groups, "admins")
		}
		for _, g := range groups {
			if _, err := tx.Exec(`INSERT INTO memberships VALUES (?, ?)`, id, g); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(`INSERT INTO sessions VALUES (?, ?)`, id, "tok-"+id); err != nil {
			return err
		}
		if i%9 == 0 || i == 12 {
			if _, err := tx.Exec(`INSERT INTO api_keys VALUES (?, ?, 'api_key', ?, ?, 1)`, "key-"+id, id, demoDay1.AddDate(0, -2, 0).Format(time.RFC3339), demoDay1.AddDate(0, 0, -1).Format(time.RFC3339)); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

func (d demo) writeExports(day int) error {
	b := strconv.FormatBool
	ts := func(x time.Time) string {
		if x.IsZero() {
			return ""
		}
		return x.Format(time.RFC3339)
	}
	var vpn, cloud, keys, crm [][]string
	for i := range demoPeople {
		p := d.person(i, day)
		if a, ok := d.spec.Account(1, i); ok || i == 30 || i == 33 {
			enabled := a.Enabled || i == 30 || i == 12
			if i == 33 {
				enabled = day == 2 // disabled on day one, turned back on overnight
			}
			eid := p.EmployeeID
			email := p.Email
			if i == 20 { // the account says E000020 but carries E000021's mailbox
				email = d.person(21, day).Email
			}
			vpn = append(vpn, []string{fmt.Sprintf("vpn-%04d", i), fmt.Sprintf("user%06d", i), email, eid, p.Name(), b(enabled), "false", ""})
		}
		if a, ok := d.spec.Account(2, i); ok && i%3 == 0 || i == 40 || i == 12 {
			id := fmt.Sprintf("cl-%04d", i)
			enabled := a.Enabled && i != 12 // the leaver's console login is off, but the key lives on
			cloud = append(cloud, []string{id, fmt.Sprintf("user%06d", i), p.Email, p.EmployeeID, p.Name(), b(enabled), b(i == 51), ""})
			last := demoDay1.AddDate(0, 0, -(i*7)%220)
			keys = append(keys, []string{id, "AKIA" + strconv.Itoa(100000+i), "access_key", ts(last.AddDate(0, 0, -30)), ts(last), "true"})
		}
		if a, ok := d.spec.Account(3, i); ok {
			crm = append(crm, []string{fmt.Sprintf("crm-%04d", i), fmt.Sprintf("user%06d", i), p.Email, "", p.Name(), b(a.Enabled || i == 12), ts(a.LastLogin), ts(a.Created), "false", ""})
		}
	}
	vpn = append(vpn, []string{"vpn-9001", "temp-vendor", "vendor@partner.example", "", "Vendor Access", "true", "false", ""})
	crm = append(crm,
		[]string{"crm-9001", "old.sales", "old.sales@example.com", "", "Old Sales", "true", ts(demoDay1.AddDate(0, 0, -20)), ts(demoDay1.AddDate(-2, 0, 0)), "false", ""},
		[]string{"crm-9002", "shared", "shared.inbox@example.com", "", "Shared Inbox", "true", ts(demoDay1.AddDate(0, 0, -2)), ts(demoDay1.AddDate(-1, 0, 0)), "false", ""})
	files := []struct {
		name   string
		header []string
		rows   [][]string
	}{
		{"vpn.csv", []string{"account_id", "username", "email", "employee_id", "display_name", "enabled", "privileged", "groups"}, vpn},
		{"cloud.csv", []string{"account_id", "username", "email", "employee_id", "display_name", "enabled", "privileged", "groups"}, cloud},
		{"cloud-keys.csv", []string{"account_id", "credential_id", "kind", "created", "last_used", "active"}, keys},
		{"crm.csv", []string{"account_id", "username", "email", "employee_id", "display_name", "enabled", "last_login", "created", "privileged", "groups"}, crm},
	}
	for _, f := range files {
		if err := writeCSV(filepath.Join(d.dir, f.name), f.header, f.rows); err != nil {
			return err
		}
	}
	return nil
}

func writeCSV(path string, header []string, rows [][]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write(header)
	_ = w.WriteAll(rows)
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
