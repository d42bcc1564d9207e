// Package period writes the period report (reports/xlsx.WritePeriod) from
// the store, for `accessrecon report` and the report jobs of `serve`:
// every run of the period, read back, nothing re-run; the audit trail
// verified as the report is written.
package period

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/trail"
	"github.com/accessrecon/accessrecon/reports/xlsx"
)

// The periods a report job covers.
const (
	Month = "month"
	Week  = "week"
)

// Location is the organisation's time zone (timezone; UTC when unset or
// unknown): periods start at its midnight.
func Location(cfg *config.Config) *time.Location {
	if loc, err := time.LoadLocation(cfg.Timezone); err == nil {
		return loc
	}
	return time.UTC
}

// ParseRange reads --from and --to: a date (YYYY-MM-DD, midnight in loc)
// or an RFC 3339 time. A date --to includes its whole day (the period ends
// at the next midnight); a time --to is the end itself. The period is
// [from, to).
func ParseRange(fromText, toText string, loc *time.Location) (from, to time.Time, err error) {
	parse := func(s string, endOfDay bool) (time.Time, error) {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t, nil
		}
		d, err := time.ParseInLocation("2006-01-02", s, loc)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not YYYY-MM-DD or RFC 3339", s)
		}
		if endOfDay {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	if from, err = parse(fromText, false); err != nil {
		return from, to, fmt.Errorf("--from: %w", err)
	}
	if to, err = parse(toText, true); err != nil {
		return from, to, fmt.Errorf("--to: %w", err)
	}
	if !to.After(from) {
		return from, to, fmt.Errorf("--to %s is not after --from %s", toText, fromText)
	}
	return from, to, nil
}

// Previous is the last complete period of kind (month or week, weeks
// starting on Monday) before now, in loc.
func Previous(kind string, now time.Time, loc *time.Location) (from, to time.Time) {
	n := now.In(loc)
	switch kind {
	case Week:
		today := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
		to = today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
		return to.AddDate(0, 0, -7), to
	default:
		to = time.Date(n.Year(), n.Month(), 1, 0, 0, 0, 0, loc)
		return to.AddDate(0, -1, 0), to
	}
}

// FileName is the report's file name: the first and the last day of the
// period, in loc.
func FileName(from, to time.Time, loc *time.Location) string {
	last := to.In(loc).Add(-time.Nanosecond)
	return fmt.Sprintf("accessrecon-period-%s-to-%s.xlsx", from.In(loc).Format("2006-01-02"), last.Format("2006-01-02"))
}

// Write writes the period report of [from, to) to path: the audit trail is
// verified first (its result goes on the report's Summary), then every run
// of the period is read from the store.
func Write(ctx context.Context, cfg *config.Config, st storefile.Store, from, to time.Time, path string, log *slog.Logger) error {
	now := time.Now()
	res, verr := trail.Open(cfg, st, log).Verify(ctx)
	check := &xlsx.AuditCheck{At: now.UTC(), Result: res, Err: verr}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	opts := xlsx.PeriodOptions{Policy: cfg.Policy.Policy, Location: Location(cfg), Audit: check, Now: now}
	if err := xlsx.WritePeriod(ctx, st, from, to, path, opts); err != nil {
		return err
	}
	// Personal data: the owner writes, the group (auditors) reads.
	return os.Chmod(path, 0o640)
}

// Bound reads a date (in loc; day true) or an RFC 3339 time.
func Bound(s string, loc *time.Location) (t time.Time, day bool, err error) {
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, true, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, false, nil
	}
	return time.Time{}, false, fmt.Errorf("%q is not YYYY-MM-DD or RFC 3339", s)
}
