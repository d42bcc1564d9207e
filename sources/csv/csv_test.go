package csv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/sources"
)

func write(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hr.csv")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func readAll(t *testing.T, cfg Config) ([]sources.Person, error) {
	t.Helper()
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var out []sources.Person
	for p, err := range s.People(t.Context()) {
		if err != nil {
			return out, err
		}
		out = append(out, p)
	}
	return out, nil
}

func TestBadInput(t *testing.T) {
	const hdr = "employee_id,email,status,hire_date\n"
	cases := []struct {
		name    string
		content string
		cfg     Config
		want    []string // substrings of the error, after the path
	}{
		{"bad quoting", hdr + "E1,a@x,active,\n" + "E2,\"b@x,active,\n", Config{},
			[]string{":3: malformed CSV:", "quote"}},
		{"bare quote", hdr + "E1,a\"b@x,active,\n", Config{},
			[]string{":2: malformed CSV:", `bare "`}},
		{"too few fields", hdr + "E1,a@x,active,\nE2,b@x\n", Config{},
			[]string{":3: 2 fields, the header line has 4"}},
		{"too many fields", hdr + "E1,a@x,active,,extra\n", Config{},
			[]string{":2: 5 fields, the header line has 4"}},
		{"missing required", "id,email,state\nE1,a@x,active\n", Config{},
			[]string{":1: missing required column(s) employee_id, status", "headers found: id, email, state"}},
		{"missing mapped required", "id,email,status\nE1,a@x,active\n", Config{Columns: map[string]string{"employee_id": "Emp ID"}},
			[]string{`:1: missing required column(s) employee_id (header "emp id")`, "headers found: id, email, status"}},
		{"unknown status", hdr + "E1,a@x,active,\nE2,b@x,gone,\n", Config{},
			[]string{`:3: column status: unknown status "gone" (accepted: active, leave, suspended, terminated`}},
		{"empty status", hdr + "E1,a@x,,\n", Config{},
			[]string{`:2: column status: empty status`}},
		{"duplicate id case", hdr + "E1,a@x,active,\nE2,b@x,active,\n e1 ,c@x,active,\n", Config{},
			[]string{`:4: column employee_id: duplicate employee ID "e1" (first on line 2)`}},
		{"empty id", hdr + "E1,a@x,active,\n  ,b@x,active,\n", Config{},
			[]string{`:3: column employee_id: empty employee ID`}},
		{"bad date", hdr + "E1,a@x,active,2026-13-01\n", Config{},
			[]string{`:2: column hire_date: unparseable date "2026-13-01"`}},
		{"bad date mapped header", "employee_id,status,Term Date\nE1,terminated,yesterday\n",
			Config{Columns: map[string]string{"termination_date": "term date"}},
			[]string{`:2: column Term Date: unparseable date "yesterday"`}},
		{"empty file", "", Config{}, []string{":1: empty file"}},
		{"header only", hdr, Config{}, []string{":2: no people"}},
		{"invalid utf-8", hdr + "E1,caf\xe9@x,active,\n", Config{},
			[]string{":2: column email: invalid UTF-8"}},
		{"invalid utf-8 header", "employee_id,st\xe4tus\nE1,active\n", Config{},
			[]string{":1: header 2: invalid UTF-8"}},
		{"line of multi-line record", hdr + "E1,\"a\n@x\",active,\nE2,b@x,nope,\n", Config{},
			[]string{`:4: column status: unknown status "nope"`}},
		{"duplicate header", "employee_id,status,Status\nE1,active,active\n", Config{},
			[]string{`:1: column status: header "Status" appears twice (fields 2 and 3)`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Path = write(t, c.content)
			people, err := readAll(t, c.cfg)
			if err == nil {
				t.Fatalf("no error; people %+v", people)
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.HasPrefix(msg, "csv: "+c.cfg.Path+":") {
				t.Errorf("error %q does not start with csv: <path>:", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q\n does not contain %q", msg, w)
				}
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{}, "csv: path: required"},
		{Config{Path: "x", Columns: map[string]string{"emp_id": "id"}}, `csv: columns: unknown column "emp_id" (known: employee_id,`},
		{Config{Path: "x", Columns: map[string]string{"email": " "}}, "csv: columns: email: empty header name"},
		{Config{Path: "x", Columns: map[string]string{"email": "employee_id"}}, `csv: columns: employee_id and email both read header "employee_id"`},
		{Config{Path: "x", StatusMap: sources.StatusMap{"LOA": "vacation"}}, `csv: status_map["LOA"]: "vacation" is not one of`},
	}
	for _, c := range cases {
		_, err := New(c.cfg, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want %q", c.cfg, err, c.want)
		}
	}
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestGood(t *testing.T) {
	t.Run("BOM CRLF plain headers", func(t *testing.T) {
		content := "\ufeffEmployee_ID , Email,First_Name,last_name,STATUS,hire_date,termination_date\r\n" +
			" 007 ,a@x.com,Ann,Lee,Active,2020-01-02,\r\n" +
			"7,b@x.com,Bo,\"Ng, Jr\",TERMINATED,2019-05-06,2026-03-04T17:00:00+03:00\r\n"
		people, err := readAll(t, Config{Path: write(t, content)})
		if err != nil {
			t.Fatal(err)
		}
		want := []sources.Person{
			{EmployeeID: "007", Email: "a@x.com", FirstName: "Ann", LastName: "Lee", Status: sources.Active, HireDate: day("2020-01-02")},
			{EmployeeID: "7", Email: "b@x.com", FirstName: "Bo", LastName: "Ng, Jr", Status: sources.Terminated,
				HireDate: day("2019-05-06"), TerminationDate: time.Date(2026, 3, 4, 14, 0, 0, 0, time.UTC)},
		}
		if len(people) != len(want) {
			t.Fatalf("got %d people, want %d: %+v", len(people), len(want), people)
		}
		for i := range want {
			if people[i] != want[i] {
				t.Errorf("person %d = %+v\nwant %+v", i, people[i], want[i])
			}
		}
	})
	t.Run("mapped headers and status map", func(t *testing.T) {
		content := "Worker ID,Mail,Employment Status,Effective,Dept,Manager,Type,Job,Notes\n" +
			"A-1,a@x,Withdrawn,2026-02-01,Sales,A-2,Contractor,J9,whatever\n" +
			"A-2,b@x,on leave,,Sales,,Employee,J1,\n" +
			"A-3,c@x,leave,,IT,,Employee,J1,\n"
		cfg := Config{
			Path: write(t, content),
			Columns: map[string]string{
				"employee_id": "worker id", "email": "MAIL", "status": "Employment Status",
				"status_effective": "effective", "department": "dept", "manager_id": "manager",
				"worker_type": "type", "job_code": "job",
			},
			StatusMap: sources.StatusMap{"withdrawn": sources.Terminated, "On Leave": sources.Leave},
		}
		people, err := readAll(t, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(people) != 3 {
			t.Fatalf("got %d people", len(people))
		}
		p := people[0]
		if p.EmployeeID != "A-1" || p.Email != "a@x" || p.Status != sources.Terminated || !p.StatusEffective.Equal(day("2026-02-01")) ||
			p.Department != "Sales" || p.ManagerID != "A-2" || p.WorkerType != "Contractor" || p.JobCode != "J9" {
			t.Errorf("person 0 = %+v", p)
		}
		if people[1].Status != sources.Leave || people[2].Status != sources.Leave {
			t.Errorf("statuses %s, %s, want leave", people[1].Status, people[2].Status)
		}
	})
}

func TestEarlyStopAndCancel(t *testing.T) {
	content := "employee_id,status\nE1,active\nE2,active\nE3,active\n"
	s, err := New(Config{Path: write(t, content)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range s.People(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		break
	}
	if n != 1 {
		t.Fatalf("got %d before break", n)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	n = 0
	var last error
	for _, err := range s.People(ctx) {
		if err != nil {
			last = err
			break
		}
		n++
		cancel()
	}
	if n != 1 || !errors.Is(last, context.Canceled) {
		t.Fatalf("after cancel: %d people, last error %v; want 1 and context.Canceled", n, last)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := readAll(t, Config{Path: filepath.Join(t.TempDir(), "nope.csv")})
	if err == nil || !strings.Contains(err.Error(), "nope.csv") || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
}

// BenchmarkPeople measures streaming a 100,000-person export.
func BenchmarkPeople(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("employee_id,email,first_name,last_name,status,hire_date,department\n")
	for i := range 100000 {
		fmt.Fprintf(&sb, "E%06d,p@example.com,First,Last,active,2020-01-02,Sales\n", i)
	}
	p := filepath.Join(b.TempDir(), "hr.csv")
	if err := os.WriteFile(p, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	s, err := New(Config{Path: p}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, err := range s.People(context.Background()) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 100000 {
			b.Fatalf("n = %d", n)
		}
	}
}

// Dates without a zone are read in the configured location (issue 18).
func TestLocation(t *testing.T) {
	riyadh, err := time.LoadLocation("Asia/Riyadh")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	path := write(t, "employee_id,status,termination_date,hire_date\nE1,terminated,2026-11-25,2020-01-01T09:00:00+00:00\n")
	ps, err := readAll(t, Config{Path: path, Location: riyadh})
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 11, 24, 21, 0, 0, 0, time.UTC); !ps[0].TerminationDate.Equal(want) {
		t.Errorf("termination 2026-11-25 in Asia/Riyadh read as %v, want %v", ps[0].TerminationDate, want)
	}
	if want := time.Date(2020, 1, 1, 9, 0, 0, 0, time.UTC); !ps[0].HireDate.Equal(want) {
		t.Errorf("a date with its own zone read as %v, want %v", ps[0].HireDate, want)
	}
	ps, err = readAll(t, Config{Path: path})
	if err != nil || !ps[0].TerminationDate.Equal(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("without a location: %v, %v; want midnight UTC", ps, err)
	}
}

// A quote opened and never closed is reported at the line of its record,
// once: not also at the line, far below, where the reader gave up
// (issue 10 item 10).
func TestRunawayQuoteNamesOneLine(t *testing.T) {
	body := "employee_id,email,status\nE1,a@x,active\nE2,\"b@x,active\n"
	for i := range 20 {
		body += fmt.Sprintf("E%d,x%d@x,active\n", i+3, i)
	}
	body += "E99,\"z@x\",active\n"
	_, err := readAll(t, Config{Path: write(t, body)})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !strings.Contains(msg, ":3: malformed CSV:") {
		t.Errorf("error %q does not name line 3", msg)
	}
	if regexp.MustCompile(`line \d|:2[0-9]:`).MatchString(msg) {
		t.Errorf("error %q names a second line", msg)
	}
}
