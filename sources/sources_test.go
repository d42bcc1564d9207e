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
		if err := p.Set(c[0], c[1], sm, nil); err != nil {
			t.Fatalf("Set(%s, %q): %v", c[0], c[1], err)
		}
	}
	if p.EmployeeID != "007" || p.Email != "a@x" || p.Status != Leave || p.JobCode != "ENG" ||
		!p.TerminationDate.Equal(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)) || !p.HireDate.Equal(time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("person after Set: %+v", p)
	}
	for _, c := range [][2]string{{"status", "gone"}, {"hire_date", "02/01/2020"}, {"shoe_size", "9"}} {
		if err := p.Set(c[0], c[1], sm, nil); err == nil {
			t.Errorf("Set(%s, %q) accepted a bad value", c[0], c[1])
		}
	}
	if err := p.Set("status", "gone", sm, nil); err == nil || !strings.Contains(err.Error(), "on leave") && !strings.Contains(err.Error(), "On Leave") {
		t.Errorf("unknown status error does not list the mapped values: %v", err)
	}
}

// HR dates without a zone are local to the organisation (issue 18).
func TestParseDateIn(t *testing.T) {
	riyadh, err := time.LoadLocation("Asia/Riyadh")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	tests := []struct {
		raw  string
		loc  *time.Location
		want time.Time
	}{
		{"2026-11-25", riyadh, time.Date(2026, 11, 24, 21, 0, 0, 0, time.UTC)},
		{" 2026-11-25 ", riyadh, time.Date(2026, 11, 24, 21, 0, 0, 0, time.UTC)},
		{"2026-11-25T09:30:00", riyadh, time.Date(2026, 11, 25, 6, 30, 0, 0, time.UTC)},
		{"2026-11-25", nil, time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)},
		{"2026-11-25", time.UTC, time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)},
		// A written zone wins over loc.
		{"2026-11-25T00:00:00Z", riyadh, time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)},
		{"2026-11-25T00:00:00+01:00", riyadh, time.Date(2026, 11, 24, 23, 0, 0, 0, time.UTC)},
		{"2026-11-24-08:00", riyadh, time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)},
		{"", riyadh, time.Time{}},
	}
	for _, tt := range tests {
		got, err := ParseDateIn(tt.raw, tt.loc)
		if err != nil || !got.Equal(tt.want) || (!got.IsZero() && got.Location() != time.UTC) {
			t.Errorf("ParseDateIn(%q, %v) = %v, %v; want %v", tt.raw, tt.loc, got, err, tt.want)
		}
	}
	var p Person
	if err := p.Set("termination_date", "2026-11-25", nil, riyadh); err != nil || !p.TerminationDate.Equal(time.Date(2026, 11, 24, 21, 0, 0, 0, time.UTC)) {
		t.Errorf("Set in Asia/Riyadh: %v, %v", p.TerminationDate, err)
	}
	if _, err := ParseDateIn("25/11/2026", riyadh); err == nil || !strings.Contains(err.Error(), "25/11/2026") {
		t.Errorf("bad date error %v does not name the value", err)
	}
}
