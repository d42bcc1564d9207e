package upcoming

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/present"
)

// Print lists the leavers ls (times in timezone), as a table or JSON.
func Print(stdout io.Writer, ls []Leaver, timezone string, asJSON bool) error {
	if asJSON {
		if ls == nil {
			ls = []Leaver{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"upcoming_leavers": ls})
	}
	loc, err := time.LoadLocation(timezone)
	if err != nil {
		loc = time.UTC
	}
	if len(ls) == 0 {
		fmt.Fprintln(stdout, "no upcoming leavers: HR records no termination ahead of the latest HR snapshot")
		return nil
	}
	now := time.Now()
	fmt.Fprintf(stdout, "upcoming leavers (HR snapshot of run %d; times in %s): serve runs each at its effective time\n", ls[0].KnownBy, loc)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EFFECTIVE\tEMPLOYEE\tNAME\tHR STATUS\tRUN")
	for _, l := range ls {
		state := "in " + l.EffectiveAt.Sub(now).Round(time.Second).String()
		switch {
		case l.TakenBy != 0:
			state = fmt.Sprintf("done: run %d", l.TakenBy)
		case l.Due(now):
			state = "due now"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.EffectiveAt.In(loc).Format("2006-01-02 15:04:05"), present.Shown(l.EmployeeID), present.Shown(present.Dash(l.Name)), present.Shown(l.Status), state)
	}
	return tw.Flush()
}
