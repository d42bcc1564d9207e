package sources

import (
	"strings"
	"testing"
	"time"
)

func TestPersonSet(t *testing.T) {
	var p Person
	sm := StatusMap{"On Leave": Leave}
	for _, c := range [][2]string{{"employee_id", " 007 "}, {"email", "a@x"}, {"status", "on leave"}, {"termination_date", "2026-11-24-08:00"},
		{"hire_date", "2020-01-02"}, {"job_code", "ENG"}} {
		if err := p.Set(c[0], c[1], sm); err != nil {
			t.Fatalf("Set(%s, %q): %v", c[0], c[1], err)
		}
	}
	if p.EmployeeID != "007" || p.Email != "a@x" || p.Status != Leave || p.JobCode != "ENG" ||
		!p.TerminationDate.Equal(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)) || !p.HireDate.Equal(time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("person after Set: %+v", p)
	}
	for _, c := range [][2]string{{"status", "gone"}, {"hire_date", "02/01/2020"}, {"shoe_size", "9"}} {
		if err := p.Set(c[0], c[1], sm); err == nil {
			t.Errorf("Set(%s, %q) accepted a bad value", c[0], c[1])
		}
	}
	if err := p.Set("status", "gone", sm); err == nil || !strings.Contains(err.Error(), "on leave") && !strings.Contains(err.Error(), "On Leave") {
		t.Errorf("unknown status error does not list the mapped values: %v", err)
	}
}
