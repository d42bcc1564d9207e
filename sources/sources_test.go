package sources

import (
	"fmt"
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

// Choosing the layout from the value's shape reads every value as trying
// the layouts in turn does: the same time, or an error for the same values.
func TestParseDateShapes(t *testing.T) {
	riyadh, err := time.LoadLocation("Asia/Riyadh")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	values := []string{
		"2026-11-25", "2026-1-25", "2026-11-5", "20261125", "2026-11-25T09:30:00", "2026-11-25T09:30:00.123456",
		"2026-11-25T09:30:00Z", "2026-11-25T09:30:00.5Z", "2026-11-25T09:30:00+03:00", "2026-11-25T09:30:00-08:00",
		"2026-11-25T09:30:00z", "2026-11-25t09:30:00Z", "2026-11-25T09:30Z", "2026-11-25T09:30", "2026-11-25T25:30:00",
		"2026-11-24-08:00", "2026-11-24+05:30", "2026-11-24Z", "2026-11-24Z08:00", "2026-11-24 09:30:00", "2026-11-24-0800",
		"2026-13-01", "2026-02-30", "25/11/2026", "2026-11-25x", "x", "2026-11-25T", "2026-11-25T09:30:00+0300",
	}
	for _, v := range values {
		for _, loc := range []*time.Location{time.UTC, riyadh} {
			got, err := ParseDateIn(v, loc)
			want, werr := parseDateLayouts(v, v, loc)
			if !got.Equal(want) || (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
				t.Errorf("ParseDateIn(%q, %v) = %v, %v; trying every layout: %v, %v", v, loc, got, err, want, werr)
			}
		}
	}
}

// The shapes read without time.Parse give exactly what time.Parse gives,
// and leave whatever is out of range to it (and its error).
func TestParseCommonDate(t *testing.T) {
	riyadh, err := time.LoadLocation("Asia/Riyadh")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	var values []string
	for _, y := range []int{0, 1900, 1999, 2000, 2023, 2024, 2100, 9999} {
		for m := 0; m <= 13; m++ {
			for d := 0; d <= 32; d++ {
				values = append(values, fmt.Sprintf("%04d-%02d-%02d", y, m, d), fmt.Sprintf("%04d-%02d-%02dT12:34:56Z", y, m, d))
			}
		}
	}
	for _, hms := range []string{"00:00:00", "23:59:59", "24:00:00", "23:60:00", "23:59:60", "99:99:99", "1a:00:00", "00:0-:00", "00:00:0 "} {
		values = append(values, "2024-02-29T"+hms+"Z")
	}
	values = append(values, "2024-1a-01", "2024-01-0x", "20a4-01-01", "2024/01/01", "2024-01-01T00:00:00z", "2024-01-01t00:00:00Z",
		"2024-01-01T00-00:00Z", "2024-01-01T00:00-00Z", "+024-01-01", "-024-01-01", "2024-+1-01", "2024-01-+1")
	fast := 0
	for _, v := range values {
		for _, loc := range []*time.Location{time.UTC, riyadh} {
			got, err := ParseDateIn(v, loc)
			want, werr := parseDateLayouts(v, v, loc)
			if got != want || (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
				t.Errorf("ParseDateIn(%q, %v) = %#v, %v; time.Parse: %#v, %v", v, loc, got, err, want, werr)
			}
			if _, ok := parseCommonDate(v, loc); ok {
				fast++
			}
		}
	}
	if fast < len(values) { // about 2 of 3 are in range
		t.Errorf("only %d of %d values took the quick path", fast, 2*len(values))
	}
}

// The dates exports write cost no allocation (each layout tried in vain
// used to cost an error's).
func TestParseDateAllocs(t *testing.T) {
	for _, v := range []string{"2026-11-25", "2026-11-25T09:30:00Z", "2026-11-25T09:30:00"} {
		if n := testing.AllocsPerRun(100, func() { _, _ = ParseDate(v) }); n != 0 {
			t.Errorf("ParseDate(%q): %v allocations, want 0", v, n)
		}
	}
}

// BenchmarkParseDate compares ParseDate (shape) with trying every layout
// in turn (layouts, as ParseDate did before issue 13).
func BenchmarkParseDate(b *testing.B) {
	for _, v := range []string{"2026-11-25", "2026-11-25T09:30:00Z", "2026-11-24-08:00"} {
		b.Run("shape/"+v, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseDate(v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("layouts/"+v, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parseDateLayouts(v, v, time.UTC); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzParseDate: for any value, ParseDateIn (the quick path, then the
// layout the shape names) reads what trying every layout in turn reads, in
// UTC and in a zone ahead of it: the same instant, or an error for the same
// values, with the same text. A blank value is the zero time.
func FuzzParseDate(f *testing.F) {
	for _, v := range []string{"2026-11-25", "2026-11-25T09:30:00Z", "2026-11-25T09:30:00.5+03:00", "2026-11-24-08:00", "2026-11-24Z",
		"2026-11-25T09:30:00", "2024-02-29", "2023-02-29T00:00:00Z", " 2026-11-25 ", "0000-01-01", "9999-12-31T23:59:59Z", " "} {
		f.Add(v)
	}
	riyadh := time.FixedZone("+03", 3*3600)
	f.Fuzz(func(t *testing.T, v string) {
		for _, loc := range []*time.Location{time.UTC, riyadh} {
			got, err := ParseDateIn(v, loc)
			if strings.TrimSpace(v) == "" {
				if !got.IsZero() || err != nil {
					t.Errorf("ParseDateIn(%q, %v) = %v, %v; want the zero time", v, loc, got, err)
				}
				continue
			}
			want, werr := parseDateLayouts(v, strings.TrimSpace(v), loc)
			if !got.Equal(want) || (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
				t.Errorf("ParseDateIn(%q, %v) = %v, %v; trying every layout: %v, %v", v, loc, got, err, want, werr)
			}
		}
	})
}
