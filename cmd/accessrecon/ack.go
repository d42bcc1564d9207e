package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/overrides"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
)

// existingStoreCommand is storeCommand for commands that only make sense on
// a store that runs have written: when there is no store yet it refuses,
// naming it, and creates nothing. check, when set, checks the command's
// input against the config before the store is looked at.
func existingStoreCommand(fs *flag.FlagSet, name string, check func(cfg *config.Config) error, act func(ctx context.Context, cfg *config.Config, st storefile.Store, stdout io.Writer) error) action {
	path := fs.String("config", "", "configuration `FILE` (schedule.yaml)")
	return func(ctx context.Context, stdout, stderr io.Writer) (int, error) {
		cfg, err := config.Load(*path)
		if err != nil {
			return exitFail, err
		}
		if check != nil {
			if err := check(cfg); err != nil {
				return exitFail, err
			}
		}
		// A SQLite store must exist already (a PostgreSQL one is a
		// database: Open says when it cannot reach it).
		if _, err := os.Stat(cfg.StorePath()); !cfg.StoreIsPostgres() && errors.Is(err, os.ErrNotExist) {
			return exitFail, fmt.Errorf("%s: no store at %s yet: run accessrecon run --config %s first", name, cfg.StorePath(), *path)
		}
		st, err := storefile.Open(ctx, cfg)
		if err != nil {
			return exitFail, err
		}
		defer st.Close()
		return exitOK, act(ctx, cfg, st, stdout)
	}
}

func defineAck(fs *flag.FlagSet) action {
	fp := fs.String("fingerprint", "", "the finding's `FINGERPRINT` (accessrecon findings shows it)")
	step := fs.String("step", "", "the step done, as findings shows it: `OP[:ARG]` (revoke_sessions; remove_from_group:GROUP-ID; revoke_credential:CREDENTIAL-ID)")
	by := fs.String("by", "", "who did the step (`NAME`)")
	note := fs.String("note", "", "what was done (`TEXT`), kept in the audit trail")
	act := existingStoreCommand(fs, "ack", nil, func(ctx context.Context, cfg *config.Config, st storefile.Store, stdout io.Writer) error {
		return overrides.Ack(ctx, cfg, st, *fp, *step, strings.TrimSpace(*by), *note, stdout)
	})
	return func(ctx context.Context, stdout, stderr io.Writer) (int, error) {
		op, _, _ := strings.Cut(strings.TrimSpace(*step), ":")
		known := false
		var ops []string
		for _, c := range overrides.StepOps {
			known = known || string(c) == op
			ops = append(ops, string(c))
		}
		switch {
		case !known:
			return exitUsage, usageError{Msg: fmt.Sprintf("ack: --step %q: the step is OP or OP:ARG, OP one of %s", *step, strings.Join(ops, ", "))}
		case strings.TrimSpace(*by) == "":
			return exitUsage, usageError{Msg: "ack: --by: who did the step is required"}
		case strings.TrimSpace(*fp) == "":
			return exitUsage, usageError{Msg: "ack: FINGERPRINT is empty"}
		}
		return act(ctx, stdout, stderr)
	}
}
