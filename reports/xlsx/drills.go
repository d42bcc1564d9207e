package xlsx

import (
	"context"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/accessrecon/accessrecon/reconcile/store"
)

// SheetDrills lists the termination drills (accessrecon drill): date,
// scenario, per target the time to the verified revocation against the
// tier's SLA, pass or fail, who ran it, and whether the canary was
// restored. It is the last sheet of both workbooks.
const SheetDrills = "Drills"

// DrillSource is the store's drill records; *store.Store implements it. A
// workbook whose store (Options.Store, the PeriodSource) does not
// implement it has an empty Drills sheet.
type DrillSource interface {
	Drills(ctx context.Context, from, to time.Time) ([]store.Drill, error)
}

// drillWindow is how far back a run's workbook lists drills.
const drillWindow = 400 * 24 * time.Hour

// drillsSheet writes the drills started in [from, to) from src (nil: none).
func (w *writer) drillsSheet(ctx context.Context, src any, from, to time.Time) error {
	var drills []store.Drill
	if ds, ok := src.(DrillSource); ok {
		var err error
		if drills, err = ds.Drills(ctx, from, to); err != nil {
			return err
		}
	}
	n := 0
	for _, d := range drills {
		n += max(len(d.Targets), 1)
	}
	cols := []column{{"Date", 17}, {"Drill", 6}, {"Scenario", 10}, {"Run by", 14}, {"Drill result", 8}, {"Target", 12}, {"Account", 16}, {"Tier", 9},
		{"Time to revoke (s)", 10}, {"SLA", 8}, {"Result", 7}, {"Steps", 24}, {"Restored", 9}, {"Detail", 26}}
	cells := make([]any, len(cols))
	return w.table(SheetDrills, cols, n, func(emit func([]any) error) error {
		for _, d := range drills {
			verdict := passFail(d.Passed)
			restored := map[[2]string]store.DrillRestore{}
			for _, r := range d.Restored {
				restored[[2]string{r.Target, r.Account}] = r
			}
			if len(d.Targets) == 0 {
				cells = append(cells[:0], dateCell(d.StartedAt, w.dateTime), d.ID, d.Scenario, d.By, verdict, "", "", "", "", "", "", "", "", d.Error)
				if err := emit(cells); err != nil {
					return err
				}
				continue
			}
			for _, t := range d.Targets {
				var took any = "not revoked"
				if t.Revoked {
					took = excelize.Cell{StyleID: w.decimal, Value: t.TimeTaken.Seconds()}
				}
				var steps []string
				for _, s := range t.Steps {
					x := s.Op
					if s.Arg != "" {
						x += " " + s.Arg
					}
					x += ": " + s.Status
					if s.Verified {
						x += ", verified"
					}
					steps = append(steps, x)
				}
				r, ok := restored[[2]string{t.Target, t.Account}]
				rest, detail := "no", t.Note
				switch {
				case !ok:
					rest = "unknown"
				case r.Restored:
					rest = "yes"
				default:
					detail = strings.TrimPrefix(detail+"; not restored: "+r.Note, "; ")
				}
				if d.Error != "" {
					detail = strings.TrimPrefix(detail+"; run: "+d.Error, "; ")
				}
				cells = append(cells[:0], dateCell(d.StartedAt, w.dateTime), d.ID, d.Scenario, d.By, verdict, t.Target, t.Account, t.Tier,
					took, duration(t.SLA), passFail(t.Passed), strings.Join(steps, "\n"), rest, detail)
				if err := emit(cells); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func passFail(ok bool) string {
	if ok {
		return "pass"
	}
	return "FAIL"
}
