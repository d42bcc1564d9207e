// Package demo writes the data of the bundled demo: 200 people and four
// systems of a small company, over two days. Day one (2026-11-24) is
// collected and enforced on the in-house directory; overnight someone
// re-enables an account accessrecon disabled, one engineer moves to sales,
// the VPN admin turns an old account back on; day two (2026-11-25) shows
// every kind of finding.
package demo

import (
	"database/sql"
	_ "embed"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/reconcile/gen"
	"github.com/accessrecon/accessrecon/sources"
)

// People is the number of people in the demo's HR export.
const People = 200

// Day1 and Day2 are the demo's two runs.
var (
	Day1 = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	Day2 = time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
)

// Config is the demo's schedule.yaml, written beside its data.
//
//go:embed schedule.yaml
var Config string

var groupOf = map[string]string{"ENG": "eng", "SALES": "sales", "FIN": "finance", "HR": "people", "OPS": "ops", "SUPPORT": "support", "LEGAL": "legal", "MKT": "marketing"}

// Data writes the demo's files into a directory, day by day.
type Data struct {
	dir  string
	spec gen.Spec
}

// New is the demo's data for dir.
func New(dir string) Data { return Data{dir: dir, spec: gen.Spec{People: People, Seed: 7, AsOf: Day1}} }

// person is person i as HR sees them on a day, with the demo's stories.
func (d Data) person(i, day int) sources.Person {
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
		p.Status, p.TerminationDate, p.StatusEffective = sources.Terminated, Day1.AddDate(0, 0, -3).Truncate(24*time.Hour), Day1.AddDate(0, 0, -3).Truncate(24*time.Hour)
	case 13: // suspended pending investigation
		p.Status, p.TerminationDate, p.StatusEffective = sources.Suspended, time.Time{}, Day1.AddDate(0, 0, -1).Truncate(24*time.Hour)
	case 14: // the status column lags: termination date past, status still active
		p.Status, p.TerminationDate = sources.Active, Day1.AddDate(0, 0, -2).Truncate(24*time.Hour)
	case 15: // leaves next month: not yet a finding
		p.Status, p.TerminationDate = sources.Active, Day1.AddDate(0, 1, 0).Truncate(24*time.Hour)
	case 30, 40: // terminated contractor (expired exemption) and leaver under a valid exemption
		p.Status, p.TerminationDate, p.StatusEffective = sources.Terminated, Day1.AddDate(0, 0, -20).Truncate(24*time.Hour), Day1.AddDate(0, 0, -20).Truncate(24*time.Hour)
	case 33: // active, but the VPN account was disabled on day one
		p.Status, p.TerminationDate = sources.Active, time.Time{}
	case 3, 4, 7, 20, 21, 50, 51:
		p.Status, p.TerminationDate = sources.Active, time.Time{}
	}
	return p
}

// WriteDay writes the HR export and the systems as they are on day 1 or 2.
func (d Data) WriteDay(day int) error {
	var hr [][]string
	t := func(x time.Time) string {
		if x.IsZero() {
			return ""
		}
		return x.Format("2006-01-02")
	}
	for i := range People {
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

func (d Data) writeDirectory() error {
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
	for i := range People {
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
			if _, err := tx.Exec(`INSERT INTO api_keys VALUES (?, ?, 'api_key', ?, ?, 1)`, "key-"+id, id, Day1.AddDate(0, -2, 0).Format(time.RFC3339), Day1.AddDate(0, 0, -1).Format(time.RFC3339)); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

func (d Data) writeExports(day int) error {
	b := strconv.FormatBool
	ts := func(x time.Time) string {
		if x.IsZero() {
			return ""
		}
		return x.Format(time.RFC3339)
	}
	var vpn, cloud, keys, crm [][]string
	for i := range People {
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
			last := Day1.AddDate(0, 0, -(i*7)%220)
			keys = append(keys, []string{id, "AKIA" + strconv.Itoa(100000+i), "access_key", ts(last.AddDate(0, 0, -30)), ts(last), "true"})
		}
		if a, ok := d.spec.Account(3, i); ok {
			crm = append(crm, []string{fmt.Sprintf("crm-%04d", i), fmt.Sprintf("user%06d", i), p.Email, "", p.Name(), b(a.Enabled || i == 12), ts(a.LastLogin), ts(a.Created), "false", ""})
		}
	}
	vpn = append(vpn, []string{"vpn-9001", "temp-vendor", "vendor@partner.example", "", "Vendor Access", "true", "false", ""})
	crm = append(crm,
		[]string{"crm-9001", "old.sales", "old.sales@example.com", "", "Old Sales", "true", ts(Day1.AddDate(0, 0, -20)), ts(Day1.AddDate(-2, 0, 0)), "false", ""},
		[]string{"crm-9002", "shared", "shared.inbox@example.com", "", "Shared Inbox", "true", ts(Day1.AddDate(0, 0, -2)), ts(Day1.AddDate(-1, 0, 0)), "false", ""})
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
