package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/listing"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/overrides"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/serve"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/sla"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/trail"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/targets"
)

// storeCommand is a command that reads or writes the store of --config:
// the flag is declared, and the action gets the config and the open store.
func storeCommand(fs *flag.FlagSet, act func(ctx context.Context, cfg *config.Config, st storefile.Store, stdout io.Writer) error) action {
	path := fs.String("config", "", "configuration `FILE` (schedule.yaml)")
	return func(ctx context.Context, stdout, stderr io.Writer) (int, error) {
		cfg, err := config.Load(*path)
		if err != nil {
			return exitFail, err
		}
		st, err := storefile.Open(ctx, cfg)
		if err != nil {
			return exitFail, err
		}
		defer st.Close()
		return exitOK, act(ctx, cfg, st, stdout)
	}
}

func defineValidate(fs *flag.FlagSet) action {
	path := fs.String("config", "", "configuration `FILE` (schedule.yaml)")
	return func(ctx context.Context, stdout, stderr io.Writer) (int, error) {
		cfg, err := config.Load(*path)
		if err != nil {
			return exitFail, err
		}
		w, err := config.Wire(ctx, cfg, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
		if err != nil {
			return exitFail, fmt.Errorf("%s: %w", cfg.Path(), err)
		}
		w.Close()
		// References and group names against the store's last collections:
		// an existing SQLite store only, validate never creates one. A
		// PostgreSQL store is opened, so that a URL that does not work is
		// explained now. Neither is migrated: validate is what a new
		// binary runs before it is rolled out, while the old one still
		// runs on the store; an older schema is said, and the store's
		// collections are not read.
		var st storefile.Store
		why := noCollection
		if _, err := os.Stat(cfg.StorePath()); err == nil || cfg.StoreIsPostgres() {
			st, err = storefile.OpenAsIs(ctx, cfg)
			var behind *store.SchemaBehindError
			switch {
			case errors.As(err, &behind) && behind.Have == 0:
				// A new store (PostgreSQL): nothing collected yet.
			case errors.As(err, &behind):
				fmt.Fprintf(stderr, "warning: %s\n", targets.Printable(err.Error(), 2000))
				why = unchecked{fmt.Sprintf("the store's schema (%d) is older than this accessrecon's (%d), and validate does not migrate it", behind.Have, behind.Want),
					"a run of this accessrecon has brought the store up to date"}
			case err != nil:
				return exitFail, err
			default:
				defer st.Close()
			}
		}
		checked, err := checkReferences(ctx, cfg, st, why)
		if err != nil {
			return exitFail, err
		}
		for _, w := range checked.warnings {
			fmt.Fprintf(stderr, "warning: %s\n", targets.Printable(w, 2000))
		}
		if len(checked.errors) > 0 {
			for _, e := range checked.errors {
				fmt.Fprintf(stderr, "error: %s\n", targets.Printable(e, 2000))
			}
			return exitFail, fmt.Errorf("%s: %d account reference(s) do not name exactly one account", cfg.Path(), len(checked.errors))
		}
		fmt.Fprintf(stdout, "%s: ok (%d sources, %d targets, mode %s", cfg.Path(), len(cfg.Sources), len(cfg.Targets), cfg.Policy.Mode)
		if len(checked.warnings) > 0 {
			fmt.Fprintf(stdout, "; %d warning(s)", len(checked.warnings))
		}
		fmt.Fprintln(stdout, ")")
		return exitOK, nil
	}
}

func defineServe(fs *flag.FlagSet) action {
	path := fs.String("config", "", "configuration `FILE` (schedule.yaml)")
	listen := fs.String("listen", "", "HTTP `ADDRESS` for health, metrics and webhooks (default serve.listen or 127.0.0.1:8080)")
	return func(ctx context.Context, stdout, stderr io.Writer) (int, error) {
		cfg, err := config.Load(*path)
		if err != nil {
			return exitFail, err
		}
		log := slog.New(slog.NewJSONHandler(stderr, nil))
		st, err := storefile.Open(ctx, cfg)
		if err != nil {
			return exitFail, err
		}
		defer st.Close()
		s, err := serve.New(ctx, *path, cfg, st, log)
		if err != nil {
			return exitFail, err
		}
		addr := *listen
		if addr == "" {
			addr = cmp.Or(cfg.Serve.Listen, "127.0.0.1:8080")
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return exitFail, fmt.Errorf("serve: listen: %w", err)
		}
		return exitOK, s.Serve(ctx, ln)
	}
}

func defineFindings(fs *flag.FlagSet) action {
	asJSON := fs.Bool("json", false, "JSON output")
	all := fs.Bool("all", false, "every disposition (default: the exceptions people must handle, and auto revocations)")
	runID := fs.Int64("run", 0, "this run `N` (default: the latest full run, not a leavers sweep or HR-event run)")
	return storeCommand(fs, func(ctx context.Context, cfg *config.Config, st storefile.Store, stdout io.Writer) error {
		return listing.Findings(ctx, cfg.Path(), st, *runID, *all, *asJSON, stdout)
	})
}

func defineHistory(fs *flag.FlagSet) action {
	asJSON := fs.Bool("json", false, "JSON output")
	limit := fs.Int("n", 30, "how many runs (`N`)")
	return storeCommand(fs, func(ctx context.Context, cfg *config.Config, st storefile.Store, stdout io.Writer) error {
		return listing.History(ctx, st, *limit, *asJSON, stdout)
	})
}

func defineHoldAdd(fs *flag.FlagSet) action {
	target := fs.String("target", "", "target `NAME`")
	account := fs.String("account", "", "the `ACCOUNT`: its ID, username, email or DN on the target (checked against the last collection)")
	reason := fs.String("reason", "", "why (`TEXT`: legal hold, investigation, emergency override)")
	until := fs.String("until", "", "end of the hold (`DATE`: YYYY-MM-DD or RFC 3339)")
	by := fs.String("by", "", "who places the hold (`NAME`)")
	configured := func(cfg *config.Config) error {
		if !slices.ContainsFunc(cfg.Targets, func(t config.TargetConfig) bool { return t.Name == *target }) {
			return fmt.Errorf("hold add: target %q is not configured in %s", *target, cfg.Path())
		}
		return nil
	}
	return existingStoreCommand(fs, "hold add", configured, func(ctx context.Context, cfg *config.Config, st storefile.Store, stdout io.Writer) error {
		if strings.TrimSpace(*by) == "" {
			return usageError{Msg: "hold add: --by: who places the hold is required"}
		}
		now := time.Now().UTC()
		u, err := parseAsOf(*until)
		if err != nil {
			return usageError{Msg: "hold add: --until: " + err.Error()}
		}
		if !u.After(now) {
			return fmt.Errorf("hold add: --until %s is not in the future", *until)
		}
		a, err := resolveAccount(ctx, cfg, st, "hold add: --account", *target, *account)
		if err != nil {
			return err
		}
		return overrides.AddHold(ctx, cfg, st, overrides.HoldRequest{Target: *target, Account: a, Word: accountWord(a), Ref: *account,
			Reason: *reason, Until: u, By: *by}, now, stdout)
	})
}

func defineHoldRemove(fs *flag.FlagSet) action {
	id := fs.Int64("id", 0, "hold `ID`")
	by := fs.String("by", "", "who removes the hold (`NAME`)")
	return existingStoreCommand(fs, "hold remove", nil, func(ctx context.Context, cfg *config.Config, st storefile.Store, stdout io.Writer) error {
		return overrides.RemoveHold(ctx, cfg, st, *id, *by, stdout)
	})
}

func defineHoldList(fs *flag.FlagSet) action {
	asJSON := fs.Bool("json", false, "JSON output")
	all := fs.Bool("all", false, "list removed holds too")
	return storeCommand(fs, func(ctx context.Context, cfg *config.Config, st storefile.Store, stdout io.Writer) error {
		names := accountNames{st: st}
		return overrides.ListHolds(ctx, st, *all, *asJSON, names.username, stdout)
	})
}

func defineAuditVerify(fs *flag.FlagSet) action {
	var pubKeys fileList
	fs.Var(&pubKeys, "public-key", "Ed25519 public key (`FILE`, PEM) checkpoints may be signed with (repeatable)")
	cpFile := fs.String("checkpoint-file", "", "checkpoint `FILE` to check the trail against (default audit.checkpoint_file)")
	return storeCommand(fs, func(ctx context.Context, cfg *config.Config, st storefile.Store, stdout io.Writer) error {
		tr := trail.Open(cfg, st, slog.New(slog.NewTextHandler(os.Stderr, nil)))
		if len(pubKeys) > 0 {
			return trail.VerifySigned(ctx, cfg, tr, pubKeys, *cpFile, stdout)
		}
		res, err := tr.Verify(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, trail.Intact(res, tr.Path()))
		return nil
	})
}

func defineAuditExport(fs *flag.FlagSet) action {
	since := fs.String("since", "", "export records at or after this `TIME` (YYYY-MM-DD or RFC 3339)")
	format := fs.String("format", "jsonl", "export `FORMAT`: jsonl or cef")
	return storeCommand(fs, func(ctx context.Context, cfg *config.Config, st storefile.Store, stdout io.Writer) error {
		var from time.Time
		if *since != "" {
			var err error
			if from, err = parseAsOf(*since); err != nil {
				return usageError{Msg: "audit export: --since: " + err.Error()}
			}
		}
		if *format != "jsonl" && *format != "cef" {
			return usageError{Msg: "audit export: --format must be jsonl or cef"}
		}
		tr := trail.Open(cfg, st, slog.New(slog.NewTextHandler(os.Stderr, nil)))
		return trail.Export(ctx, tr, from, *format, stdout)
	})
}

func defineSLA(fs *flag.FlagSet) action {
	asJSON := fs.Bool("json", false, "JSON output")
	sinceFlag := fs.String("since", "", "only revocations by runs started on or after this `DATE` (YYYY-MM-DD or RFC 3339)")
	return storeCommand(fs, func(ctx context.Context, cfg *config.Config, st storefile.Store, stdout io.Writer) error {
		var since time.Time
		if *sinceFlag != "" {
			var err error
			if since, err = parseAsOf(*sinceFlag); err != nil {
				return usageError{Msg: "sla: --since: " + err.Error()}
			}
		}
		rep, err := sla.Build(ctx, cfg, st, since, time.Now())
		if err != nil {
			return err
		}
		return rep.Print(stdout, *asJSON)
	})
}
