package drill

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/present"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// Print prints one drill's result for people.
func Print(w io.Writer, d store.Drill) {
	verdict := "PASSED"
	if !d.Passed {
		verdict = "FAILED"
	}
	fmt.Fprintf(w, "drill %d (%s, run %d) by %s at %s: %s\n", d.ID, d.Scenario, d.RunID, present.Shown(d.By), d.StartedAt.Format(time.RFC3339), verdict)
	if d.Error != "" {
		fmt.Fprintf(w, "  run error: %s\n", present.Shown(d.Error))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  target\taccount\ttier\ttime to revoke\tSLA\tresult\tsteps")
	for _, t := range d.Targets {
		took := "-"
		if t.Revoked {
			took = t.TimeTaken.Round(time.Millisecond).String()
		}
		res := "pass"
		if !t.Passed {
			res = "FAIL"
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
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", present.Shown(t.Target), present.Shown(t.Account), t.Tier, took, t.SLA, res, present.Shown(strings.Join(steps, "; ")))
	}
	tw.Flush()
	for _, t := range d.Targets {
		if t.Note != "" {
			fmt.Fprintf(w, "  %s: %s\n", present.Shown(t.Target), present.Shown(t.Note))
		}
		for _, s := range t.Steps {
			if s.Error != "" && s.Status != string(reconcile.ActionManual) { // a manual step's text is its instruction
				fmt.Fprintf(w, "  %s: %s %s: %s\n", present.Shown(t.Target), s.Op, present.Shown(s.Arg), present.Shown(s.Error))
			}
		}
	}
	for _, r := range d.Restored {
		if r.Restored {
			fmt.Fprintf(w, "  restored: %s %s\n", present.Shown(r.Target), present.Shown(r.Account))
		} else {
			fmt.Fprintf(w, "  NOT RESTORED: %s %s: %s\n", present.Shown(r.Target), present.Shown(r.Account), present.Shown(r.Note))
		}
	}
}

// PrintHistory lists the drills, one line per target.
func PrintHistory(w io.Writer, ds []store.Drill) {
	if len(ds) == 0 {
		fmt.Fprintln(w, "no drills recorded")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "drill\tdate\tscenario\tby\tresult\ttarget\ttime to revoke\tSLA\ttarget result")
	for _, d := range ds {
		res := "pass"
		if !d.Passed {
			res = "FAIL"
		}
		if len(d.Targets) == 0 {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t-\t-\t-\t-\n", d.ID, d.StartedAt.Format(time.RFC3339), d.Scenario, present.Shown(d.By), res)
		}
		for _, t := range d.Targets {
			took, tr := "-", "pass"
			if t.Revoked {
				took = t.TimeTaken.Round(time.Millisecond).String()
			}
			if !t.Passed {
				tr = "FAIL"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.StartedAt.Format(time.RFC3339), d.Scenario, present.Shown(d.By), res, present.Shown(t.Target), took, t.SLA, tr)
		}
	}
	tw.Flush()
}
