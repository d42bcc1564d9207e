package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/period"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/present"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
)

// defineReport is `accessrecon report`: the period workbook over every run
// of a period, read from the store (nothing is re-run).
func defineReport(fs *flag.FlagSet) action {
	fromText := fs.String("from", "", "first `DATE` of the period (YYYY-MM-DD in the config's timezone, or RFC 3339)")
	toText := fs.String("to", "", "last `DATE` of the period, included (YYYY-MM-DD; an RFC 3339 time is the end itself)")
	out := fs.String("out", "", "workbook `FILE` (default: accessrecon-period-FROM-to-TO.xlsx in reports.xlsx.dir, else here)")
	return storeCommand(fs, func(ctx context.Context, cfg *config.Config, st storefile.Store, stdout io.Writer) error {
		loc := period.Location(cfg)
		from, to, err := period.ParseRange(*fromText, *toText, loc)
		if err != nil {
			return usageError{Msg: "report: " + err.Error()}
		}
		path := *out
		if path == "" {
			path = filepath.Join(cmp.Or(cfg.Resolve(cfg.Reports.XLSX.Dir), "."), period.FileName(from, to, loc))
		}
		log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		if err := period.Write(ctx, cfg, st, from, to, path, log); err != nil {
			return fmt.Errorf("report: %w", err)
		}
		fmt.Fprintf(stdout, "period report %s to %s (%s) written to %s\n", from.In(loc).Format("2006-01-02 15:04"), to.In(loc).Format("2006-01-02 15:04"), loc, present.Shown(path))
		return nil
	})
}
