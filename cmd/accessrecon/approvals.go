package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/overrides"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/reconcile"
)

// Two-person overrides (issue 16 part 3): the commands; internal/overrides
// does the work.

// approver checks --by for an approval before anything is opened.
func approver(cmd string, by *string, act action) action {
	return func(ctx context.Context, stdout, stderr io.Writer) (int, error) {
		if strings.TrimSpace(*by) == "" {
			return exitUsage, usageError{Msg: cmd + ": --by: who approves is required"}
		}
		return act(ctx, stdout, stderr)
	}
}

func defineHoldApprove(fs *flag.FlagSet) action {
	id := fs.Int64("id", 0, "the requested hold's `ID` (hold list)")
	by := fs.String("by", "", "who approves (`NAME`): not the requester")
	return approver("hold approve", by, existingStoreCommand(fs, "hold approve", nil, func(ctx context.Context, cfg *config.Config, st storefile.Store, stdout io.Writer) error {
		return overrides.ApproveHold(ctx, cfg, st, *id, strings.TrimSpace(*by), stdout)
	}))
}

func defineExemptAdd(fs *flag.FlagSet) action {
	target := fs.String("target", "", "target `NAME`")
	account := fs.String("account", "", "the `ACCOUNT`: its ID, username, email or DN on the target (checked against the last collection)")
	reason := fs.String("reason", "", "why (`TEXT`)")
	until := fs.String("until", "", "the day the exemption ends (`DATE`: YYYY-MM-DD, the whole day, or RFC 3339)")
	by := fs.String("by", "", "who requests it (`NAME`)")
	owner := fs.String("owner", "", "who answers for it (`NAME`; default --by)")
	configured := func(cfg *config.Config) error {
		if !slices.ContainsFunc(cfg.Targets, func(t config.TargetConfig) bool { return t.Name == *target }) {
			return fmt.Errorf("exempt add: target %q is not configured in %s", *target, cfg.Path())
		}
		return nil
	}
	act := existingStoreCommand(fs, "exempt add", configured, func(ctx context.Context, cfg *config.Config, st storefile.Store, stdout io.Writer) error {
		now := time.Now().UTC()
		u, err := parseAsOf(*until)
		if err != nil {
			return usageError{Msg: "exempt add: --until: " + err.Error()}
		}
		if (reconcile.Exemption{Expires: reconcile.Date{Time: u}}).Expired(now) {
			return fmt.Errorf("exempt add: --until %s is not in the future", *until)
		}
		a, err := resolveAccount(ctx, cfg, st, "exempt add: --account", *target, *account)
		if err != nil {
			return err
		}
		by := strings.TrimSpace(*by)
		return overrides.RequestExemption(ctx, cfg, st, overrides.ExemptionRequest{Target: *target, Account: a, Word: accountWord(a), Ref: *account,
			Owner: cmp.Or(strings.TrimSpace(*owner), by), Reason: *reason, Expires: u, By: by}, now, stdout)
	})
	return func(ctx context.Context, stdout, stderr io.Writer) (int, error) {
		if strings.TrimSpace(*by) == "" {
			return exitUsage, usageError{Msg: "exempt add: --by: who requests it is required"}
		}
		if strings.TrimSpace(*reason) == "" {
			return exitUsage, usageError{Msg: "exempt add: --reason: why is required"}
		}
		return act(ctx, stdout, stderr)
	}
}

func defineExemptApprove(fs *flag.FlagSet) action {
	id := fs.Int64("id", 0, "the requested exemption's `ID` (exempt list)")
	by := fs.String("by", "", "who approves (`NAME`): not the requester")
	return approver("exempt approve", by, existingStoreCommand(fs, "exempt approve", nil, func(ctx context.Context, cfg *config.Config, st storefile.Store, stdout io.Writer) error {
		return overrides.ApproveExemption(ctx, cfg, st, *id, strings.TrimSpace(*by), stdout)
	}))
}

func defineExemptRemove(fs *flag.FlagSet) action {
	id := fs.Int64("id", 0, "exemption `ID`")
	by := fs.String("by", "", "who removes it (`NAME`)")
	return existingStoreCommand(fs, "exempt remove", nil, func(ctx context.Context, cfg *config.Config, st storefile.Store, stdout io.Writer) error {
		return overrides.RemoveExemption(ctx, cfg, st, *id, *by, stdout)
	})
}

func defineExemptList(fs *flag.FlagSet) action {
	asJSON := fs.Bool("json", false, "JSON output")
	all := fs.Bool("all", false, "list removed exemptions too")
	return storeCommand(fs, func(ctx context.Context, cfg *config.Config, st storefile.Store, stdout io.Writer) error {
		names := accountNames{st: st}
		return overrides.ListExemptions(ctx, st, *all, *asJSON, names.username, stdout)
	})
}
