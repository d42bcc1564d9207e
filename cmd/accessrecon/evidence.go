package main

import (
	"cmp"
	"context"
	"flag"
	"io"
	"log/slog"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/evidence"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/period"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
)

func defineEvidence(fs *flag.FlagSet) action {
	from := fs.String("from", "", "first `DATE` of the period (YYYY-MM-DD in the config's timezone, or RFC 3339)")
	to := fs.String("to", "", "last `DATE` of the period, included (YYYY-MM-DD), or the RFC 3339 time it ends before")
	out := fs.String("out", "", "the zip `FILE` to write")
	return storeCommand(fs, func(ctx context.Context, cfg *config.Config, st storefile.Store, stdout io.Writer) error {
		loc, err := time.LoadLocation(cmp.Or(cfg.Timezone, "UTC"))
		if err != nil {
			return err
		}
		start, _, err := period.Bound(*from, loc)
		if err != nil {
			return usageError{Msg: "evidence: --from: " + err.Error()}
		}
		end, day, err := period.Bound(*to, loc)
		if err != nil {
			return usageError{Msg: "evidence: --to: " + err.Error()}
		}
		if day {
			end = end.AddDate(0, 0, 1) // the whole last day
		}
		p, err := evidence.Write(ctx, cfg, st, start, end, *out, slog.New(slog.DiscardHandler))
		if err != nil {
			return err
		}
		p.Print(stdout, start, end)
		return nil
	})
}
