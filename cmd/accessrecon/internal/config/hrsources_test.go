package config

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Sources take a priority and a time zone; HR dates without a time are read
// in the source's zone, else the organisation's, else UTC (issue 18).
func TestSourcePriorityAndTimezone(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"employees.csv":   "employee_id,status,termination_date\nE1,active,2026-11-25\n",
		"contractors.csv": "employee_id,status,termination_date\nC1,active,2026-11-25\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfgPath := filepath.Join(dir, "schedule.yaml")
	body := "timezone: Asia/Riyadh\nsources:\n" +
		"  - {name: employees, type: csv, priority: 10, config: {path: employees.csv}}\n" +
		"  - {name: contractors, type: csv, timezone: Europe/London, config: {path: contractors.csv}}\n"
	cfg, err := Parse([]byte(body), cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	w, err := Wire(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if got := w.Spec.Location.String(); got != "Asia/Riyadh" {
		t.Errorf("run location %s, want Asia/Riyadh", got)
	}
	if w.Spec.Sources[0].Priority != 10 || w.Spec.Sources[1].Priority != 0 {
		t.Errorf("priorities %d, %d; want 10, 0", w.Spec.Sources[0].Priority, w.Spec.Sources[1].Priority)
	}
	want := map[string]time.Time{
		"E1": time.Date(2026, 11, 24, 21, 0, 0, 0, time.UTC), // Riyadh, UTC+3
		"C1": time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC),  // London, UTC+0 in November
	}
	for _, s := range w.Spec.Sources {
		for p, err := range s.Source.People(context.Background()) {
			if err != nil {
				t.Fatal(err)
			}
			if !p.TerminationDate.Equal(want[p.EmployeeID]) {
				t.Errorf("%s: %s's termination date %v, want %v", s.Name, p.EmployeeID, p.TerminationDate, want[p.EmployeeID])
			}
		}
	}

	_, err = Parse([]byte("sources: [{name: hr, type: csv, timezone: Mars/Olympus, config: {path: hr.csv}}]\n"), cfgPath)
	if err == nil || !strings.Contains(err.Error(), "sources[0] (hr).timezone") || !strings.Contains(err.Error(), "Mars/Olympus") {
		t.Errorf("bad source timezone: %v", err)
	}
}
