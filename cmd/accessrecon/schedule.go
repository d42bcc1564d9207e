package main

import (
	"context"
	"flag"
	"io"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/upcoming"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// defineSchedule is `accessrecon schedule`: the known leavers' targeted
// runs `serve` starts at each termination's effective time, derived from
// the store as serve derives them.
func defineSchedule(fs *flag.FlagSet) action {
	asJSON := fs.Bool("json", false, "JSON output")
	return storeCommand(fs, func(ctx context.Context, cfg *config.Config, st *store.Store, stdout io.Writer) error {
		ls, err := upcoming.Leavers(ctx, st)
		if err != nil {
			return err
		}
		return upcoming.Print(stdout, ls, cfg.Timezone, *asJSON)
	})
}
