package csv

import (
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/sources/sourcetest"
)

// The shared HR source suite, against an export in Asia/Riyadh (dates
// without a zone are local there) with a mapped status word, and one whose
// third line has a status nobody mapped.
func TestConformance(t *testing.T) {
	riyadh, err := time.LoadLocation("Asia/Riyadh")
	if err != nil {
		t.Fatal(err)
	}
	local := func(s string) time.Time {
		d, err := time.ParseInLocation("2006-01-02", s, riyadh)
		if err != nil {
			t.Fatal(err)
		}
		return d.UTC()
	}
	const export = "Employee ID,email,first_name,last_name,status,status_effective,termination_date,department,job_code,manager_id,worker_type,hire_date\n" +
		" 00042 ,alice@example.com,Alice,Archer,Active,2019-03-01,,Engineering,ENG2,00007,Employee,2019-03-01\n" +
		"00007,frank@example.com,Frank,Fisher,active,,,Engineering,ENG-MGR,,Employee,2015-01-05\n" +
		"E102,dan@example.com,Dan,Diaz,Left,2025-06-30,2025-06-30T17:00:00Z,Sales,SLS2,00007,Employee,2018-09-10\n" +
		"e103,erin@example.com,Erin,Evans,leave,2026-10-01,,Engineering,ENG1,00042,Contractor,\n"
	want := []sources.Person{
		{EmployeeID: "00042", Email: "alice@example.com", FirstName: "Alice", LastName: "Archer", Status: sources.Active, StatusEffective: local("2019-03-01"), Department: "Engineering", JobCode: "ENG2", ManagerID: "00007", WorkerType: "Employee", HireDate: local("2019-03-01")},
		{EmployeeID: "00007", Email: "frank@example.com", FirstName: "Frank", LastName: "Fisher", Status: sources.Active, Department: "Engineering", JobCode: "ENG-MGR", WorkerType: "Employee", HireDate: local("2015-01-05")},
		{EmployeeID: "E102", Email: "dan@example.com", FirstName: "Dan", LastName: "Diaz", Status: sources.Terminated, StatusEffective: local("2025-06-30"), TerminationDate: time.Date(2025, 6, 30, 17, 0, 0, 0, time.UTC), Department: "Sales", JobCode: "SLS2", ManagerID: "00007", WorkerType: "Employee", HireDate: local("2018-09-10")},
		{EmployeeID: "e103", Email: "erin@example.com", FirstName: "Erin", LastName: "Evans", Status: sources.Leave, StatusEffective: local("2026-10-01"), Department: "Engineering", JobCode: "ENG1", ManagerID: "00042", WorkerType: "Contractor"},
	}
	sourcetest.Run(t, func(t *testing.T) sourcetest.Fixture {
		cfg := Config{Path: write(t, export), Columns: map[string]string{"employee_id": "Employee ID"},
			StatusMap: sources.StatusMap{"Left": sources.Terminated}, Location: riyadh}
		s, err := New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		broken, err := New(Config{Path: write(t, "employee_id,status\nA1,active\nA2,Furloughed\nA3,active\n")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return sourcetest.Fixture{Source: s, People: want, Broken: broken, BrokenMentions: []string{":3:", "status", "Furloughed"}}
	})
}
