package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/evidence"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/present"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

func defineEvidence(fs *flag.FlagSet) action {
	from := fs.String("from", "", "first `DATE` of the period (YYYY-MM-DD in the config's timezone, or RFC 3339)")
	to := fs.String("to", "", "last `DATE` of the period, included (YYYY-MM-DD), or the RFC 3339 time it ends before")
	out := fs.String("out", "", "the zip `FILE` to write")
	return storeCommand(fs, func(ctx context.Context, cfg *config.Config, st *store.Store, stdout io.Writer) error {
		loc, err := time.LoadLocation(cmp.Or(cfg.Timezone, "UTC"))
		if err != nil {
			return err
		}
		start, _, err := periodBound(*from, loc)
		if err != nil {
			return usageError{"evidence: --from: " + err.Error()}
		}
		end, day, err := periodBound(*to, loc)
		if err != nil {
			return usageError{"evidence: --to: " + err.Error()}
		}
		if day {
			end = end.AddDate(0, 0, 1) // the whole last day
		}
		p, err := evidence.Write(ctx, cfg, st, start, end, *out, slog.New(slog.DiscardHandler))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "evidence pack %s: %d runs from %s to %s (end excluded)\n", present.Shown(p.Path), p.Runs, start.Format(time.RFC3339), end.Format(time.RFC3339))
		if p.RunsWithoutConfigHash > 0 {
			fmt.Fprintf(stdout, "  %d run(s) were made before accessrecon recorded the configuration's SHA-256: runs.csv says so\n", p.RunsWithoutConfigHash)
		}
		if !p.AuditIntact {
			fmt.Fprintln(stdout, "  AUDIT TRAIL NOT INTACT: see audit/verification.json")
		}
		fmt.Fprintf(stdout, "%s (SHA-256 %s):\n", evidence.ManifestName, p.ManifestSHA256)
		for _, f := range p.Files {
			fmt.Fprintf(stdout, "%s  %s\n", f.SHA256, present.Shown(f.Name))
		}
		return nil
	})
}

// periodBound reads a date (in loc; day true) or an RFC 3339 time.
func periodBound(s string, loc *time.Location) (t time.Time, day bool, err error) {
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, true, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, false, nil
	}
	return time.Time{}, false, fmt.Errorf("%q is not YYYY-MM-DD or RFC 3339", s)
}
