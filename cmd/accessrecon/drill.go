package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/drill"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/present"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runlock"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
)

func defineDrill(fs *flag.FlagSet) action {
	var cfgPath, scenario, by string
	var history bool
	var wait durationValue
	fs.StringVar(&cfgPath, "config", "", "configuration `FILE` (schedule.yaml)")
	fs.StringVar(&scenario, "scenario", drill.Terminate, "`terminate|suspend|move`: the HR event injected for the canaries (move: job_code to move_to)")
	fs.StringVar(&by, "by", "", "`NAME` of who runs the drill (recorded; default the login name)")
	fs.BoolVar(&history, "history", false, "list the drills recorded instead of running one")
	fs.Var(&wait, "wait", "wait this `DURATION` for a run holding the store lock (default: refuse at once)")
	return func(ctx context.Context, stdout, stderr io.Writer) (int, error) {
		cfg, err := config.Load(cfgPath)
		if err != nil {
			return exitFail, err
		}
		st, err := storefile.Open(ctx, cfg)
		if err != nil {
			return exitFail, err
		}
		defer st.Close()
		if history {
			ds, err := st.Drills(ctx, time.Time{}, time.Time{})
			if err != nil {
				return exitFail, err
			}
			drill.PrintHistory(stdout, ds)
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
		drill.Print(stdout, d)
		if err != nil {
			return exitFail, err
		}
		if !d.Passed {
			return exitFail, fmt.Errorf("drill %d FAILED (see above)", d.ID)
		}
		return exitOK, nil
	}
}
