package xlsx

import (
	"fmt"
	"time"
)

// SheetUpcoming lists the known leavers: terminations HR recorded ahead,
// each with the targeted run `accessrecon serve` starts at its effective
// time (as `accessrecon schedule`).
const SheetUpcoming = "Upcoming leavers"

// UpcomingLeaver is one termination HR recorded ahead (the caller derives
// them from the store: cmd/accessrecon's upcoming package).
type UpcomingLeaver struct {
	EmployeeID, Name, Status string
	// EffectiveAt is HR's termination date: when the targeted run is due.
	EffectiveAt time.Time
	// KnownBy is the run whose HR snapshot recorded the termination;
	// TakenBy the run that dealt with the person since its time (0: none
	// yet).
	KnownBy, TakenBy int64
}

// upcomingSheet writes the Upcoming leavers sheet, times in loc; now says
// what is still to come.
func (w *writer) upcomingSheet(sheet string, ls []UpcomingLeaver, now time.Time, loc *time.Location) error {
	zone := loc.String()
	cols := []column{{"Employee ID", 11}, {"Name", 20}, {"HR status", 11}, {"Effective (" + zone + ")", 18}, {"Known since run", 10}, {"Targeted run", 40}}
	return w.table(sheet, cols, len(ls), func(emit func([]any) error) error {
		for _, l := range ls {
			state := "scheduled at the effective time (accessrecon serve)"
			switch {
			case l.TakenBy != 0:
				state = fmt.Sprintf("done: run %d", l.TakenBy)
			case !l.EffectiveAt.After(now):
				state = "due: not run yet"
			}
			if err := emit([]any{l.EmployeeID, l.Name, l.Status, dateCell(local(l.EffectiveAt, loc), w.dateTime), l.KnownBy, state}); err != nil {
				return err
			}
		}
		return nil
	})
}
