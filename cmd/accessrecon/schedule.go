package main

import (
	"context"
	"flag"
	"io"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/upcoming"
)

// defineSchedule is `accessrecon schedule`: the known leavers' targeted
// runs `serve` starts at each termination's effective time, derived from
// the store as serve derives them.
func defineSchedule(fs *flag.FlagSet) action {
	asJSON := fs.Bool("json", false, "JSON output")
	return storeCommand(fs, func(ctx context.Context, cfg *config.Config, st storefile.Store, stdout io.Writer) error {
		ls, err := upcoming.Leavers(ctx, st)
		if err != nil {
			return err
		}
		return upcoming.Print(stdout, ls, cfg.Timezone, *asJSON)
	})
}
