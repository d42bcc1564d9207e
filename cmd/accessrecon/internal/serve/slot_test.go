package serve

import (
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
)

// An activation runs the job only when the schedule's next slot after the
// last run's start has come: two serves whose @every 2s schedules are a
// second apart run it every two seconds between them, not every second.
func TestSlotTaken(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		spec, last, now string
		taken           bool
	}{
		// The other serve ran at :20.015; this one's activation at :21.011
		// is for the same two seconds.
		{"@every 2s", "2026-12-01T10:00:20.015Z", "2026-12-01T10:00:21.011Z", true},
		{"@every 2s", "2026-12-01T10:00:20.015Z", "2026-12-01T10:00:21.850Z", false},
		{"@every 2s", "2026-12-01T10:00:20.015Z", "2026-12-01T10:00:22.004Z", false},
		// Nightly: the other serve's run of tonight takes tonight's slot,
		// even a second late; tomorrow's is free.
		{"0 2 * * *", "2026-12-01T02:00:00.020Z", "2026-12-01T02:00:01.100Z", true},
		{"0 2 * * *", "2026-12-01T02:00:00.020Z", "2026-12-02T02:00:00.001Z", false},
		// An activation a little early against the last run's clock.
		{"0 2 * * *", "2026-12-01T02:00:00.020Z", "2026-12-02T01:59:59.400Z", false},
		{"@every 1h", "2026-12-01T10:00:00.500Z", "2026-12-01T10:30:00Z", true},
		{"@every 1h", "2026-12-01T10:00:00.500Z", "2026-12-01T10:59:59.300Z", false},
	} {
		sched, err := config.CronParser.Parse(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		if next, taken := slotTaken(sched, at(c.last), at(c.now)); taken != c.taken {
			t.Errorf("%s: last run %s, activation %s: taken %v (next %s), want %v", c.spec, c.last, c.now, taken, next.Format(time.RFC3339Nano), c.taken)
		}
	}
}
