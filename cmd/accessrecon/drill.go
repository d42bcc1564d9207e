package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/drill"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/present"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runlock"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

func defineDrill(fs *flag.FlagSet) action {
	var cfgPath, scenario, by string
	var history bool
	var wait durationValue
	fs.StringVar(&cfgPath, "config", "", "configuration `FILE` (schedule.yaml)")
	fs.StringVar(&scenario, "scenario", drill.Terminate, "`terminate|suspend`: the HR event injected for the canaries (move is not supported yet)")
	fs.StringVar(&by, "by", "", "`NAME` of who runs the drill (recorded; default the login name)")
	fs.BoolVar(&history, "history", false, "list the drills recorded instead of running one")
	fs.Var(&wait, "wait", "wait this `DURATION` for a run holding the store lock (default: refuse at once)")
	return func(ctx context.Context, stdout, stderr io.Writer) (int, error) {
		cfg, err := config.Load(cfgPath)
		if err != nil {
			return exitFail, err
		}
		st, err := openStore(ctx, cfg)
		if err != nil {
			return exitFail, err
		}
		defer st.Close()
		if history {
			ds, err := st.Drills(ctx, time.Time{}, time.Time{})
			if err != nil {
				return exitFail, err
			}
			printDrillHistory(stdout, ds)
			return exitOK, nil
		}
		if by == "" {
			by = os.Getenv("USER")
		}
		log, _ := present.NewLogger(stderr)
		lock := runlock.New(st, config.DurOr(cfg.Serve.LockStale, 2*time.Minute), log)
		runCtx, release, err := lock.Hold(ctx, "accessrecon drill", time.Duration(wait))
		if err != nil {
			var le *runlock.Locked
			if errors.As(err, &le) {
				return exitFail, fmt.Errorf("drill: another run is in progress: %v; nothing was done", le.Holder)
			}
			return exitFail, err
		}
		d, err := drill.Run(runCtx, cfg, st, drill.Options{Scenario: scenario, By: by, Log: log})
		release()
		if err != nil && d.ID == 0 {
			return exitFail, err
		}
		printDrill(stdout, d)
		if err != nil {
			return exitFail, err
		}
		if !d.Passed {
			return exitFail, fmt.Errorf("drill %d FAILED (see above)", d.ID)
		}
		return exitOK, nil
	}
}

// printDrill prints one drill's result for people.
func printDrill(w io.Writer, d store.Drill) {
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

// printDrillHistory lists the drills, one line per target.
func printDrillHistory(w io.Writer, ds []store.Drill) {
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
