package period

import (
	"testing"
	"time"
)

func TestPrevious(t *testing.T) {
	riyadh, err := time.LoadLocation("Asia/Riyadh")
	if err != nil {
		t.Skip(err)
	}
	// 2026-12-01 01:00 Riyadh is still 2026-11-30 in UTC: the previous
	// month is November in Riyadh, October in UTC.
	now := time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		kind     string
		loc      *time.Location
		from, to time.Time
	}{
		{Month, riyadh, time.Date(2026, 11, 1, 0, 0, 0, 0, riyadh), time.Date(2026, 12, 1, 0, 0, 0, 0, riyadh)},
		{Month, time.UTC, time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		// Tuesday 1 December in Riyadh: the week of Monday 23 November.
		{Week, riyadh, time.Date(2026, 11, 23, 0, 0, 0, 0, riyadh), time.Date(2026, 11, 30, 0, 0, 0, 0, riyadh)},
		{"", time.UTC, time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
	} {
		from, to := Previous(c.kind, now, c.loc)
		if !from.Equal(c.from) || !to.Equal(c.to) {
			t.Errorf("Previous(%q, %s, %s) = [%s, %s), want [%s, %s)", c.kind, now, c.loc, from, to, c.from, c.to)
		}
	}
	if got := FileName(time.Date(2026, 11, 1, 0, 0, 0, 0, riyadh), time.Date(2026, 12, 1, 0, 0, 0, 0, riyadh), riyadh); got != "accessrecon-period-2026-11-01-to-2026-11-30.xlsx" {
		t.Errorf("FileName: %s", got)
	}
}

func TestParseRange(t *testing.T) {
	riyadh, err := time.LoadLocation("Asia/Riyadh")
	if err != nil {
		t.Skip(err)
	}
	from, to, err := ParseRange("2026-11-01", "2026-11-30", riyadh)
	if err != nil || !from.Equal(time.Date(2026, 10, 31, 21, 0, 0, 0, time.UTC)) || !to.Equal(time.Date(2026, 11, 30, 21, 0, 0, 0, time.UTC)) {
		t.Errorf("November in Riyadh: [%s, %s) %v", from, to, err)
	}
	from, to, err = ParseRange("2026-11-01T00:00:00Z", "2026-11-02T12:00:00Z", riyadh)
	if err != nil || !from.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) || !to.Equal(time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("RFC 3339: [%s, %s) %v", from, to, err)
	}
	for _, c := range [][2]string{{"2026-11-30", "2026-11-01"}, {"yesterday", "2026-11-01"}, {"2026-11-01", "2026-13-01"}} {
		if _, _, err := ParseRange(c[0], c[1], riyadh); err == nil {
			t.Errorf("ParseRange(%q, %q): no error", c[0], c[1])
		}
	}
}
