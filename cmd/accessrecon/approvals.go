package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/present"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// Two-person overrides (issue 16 part 3): a hold placed while
// policy.holds.require_approval is set, and every exemption added here, is
// a request until someone other than the requester approves it. Each step
// is audited with the person who took it.

// approver checks --by for an approval before anything is opened.
func approver(cmd string, by *string, act action) action {
	return func(ctx context.Context, stdout, stderr io.Writer) (int, error) {
		if strings.TrimSpace(*by) == "" {
			return exitUsage, usageError{cmd + ": --by: who approves is required"}
		}
		return act(ctx, stdout, stderr)
	}
}

// approvalError says why an approval was refused, without the store's
// prefix.
func approvalError(cmd string, err error) error {
	msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "store: approve hold: "), "store: approve exemption: ")
	if errors.Is(err, store.ErrSamePerson) {
		msg += " (--by)"
	}
	return errors.New(cmd + ": " + msg)
}

func defineHoldApprove(fs *flag.FlagSet) action {
	id := fs.Int64("id", 0, "the requested hold's `ID` (hold list)")
	by := fs.String("by", "", "who approves (`NAME`): not the requester")
	return approver("hold approve", by, existingStoreCommand(fs, "hold approve", nil, func(ctx context.Context, cfg *config.Config, st *store.Store, stdout io.Writer) error {
		who := strings.TrimSpace(*by)
		h, err := st.ApproveHold(ctx, *id, who, time.Now().UTC())
		if err != nil {
			return approvalError("hold approve", err)
		}
		if err := auditor(cfg, st).Record(ctx, reconcile.AuditEvent{Type: auditHoldApproved, Actor: who, Target: h.Target,
			Detail: map[string]any{"hold_id": h.ID, "account_id": h.AccountID, "requested_by": h.CreatedBy, "reason": h.Reason, "until": h.Until}}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "hold %d approved by %s (requested by %s): %s on %s held until %s\n", h.ID, present.Shown(who), present.Shown(h.CreatedBy),
			present.Shown(h.AccountID), present.Shown(h.Target), h.Until.Format(time.RFC3339))
		return nil
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
	act := existingStoreCommand(fs, "exempt add", configured, func(ctx context.Context, cfg *config.Config, st *store.Store, stdout io.Writer) error {
		now := time.Now().UTC()
		u, err := parseAsOf(*until)
		if err != nil {
			return usageError{"exempt add: --until: " + err.Error()}
		}
		if (reconcile.Exemption{Expires: reconcile.Date{Time: u}}).Expired(now) {
			return fmt.Errorf("exempt add: --until %s is not in the future", *until)
		}
		a, err := resolveAccount(ctx, cfg, st, "exempt add: --account", *target, *account)
		if err != nil {
			return err
		}
		by := strings.TrimSpace(*by)
		e := store.Exemption{Target: *target, AccountID: a.ID, Owner: cmp.Or(strings.TrimSpace(*owner), by), Reason: *reason, Expires: u, RequestedBy: by, RequestedAt: now}
		if e.ID, err = st.AddExemption(ctx, e); err != nil {
			return err
		}
		if err := auditor(cfg, st).Record(ctx, reconcile.AuditEvent{Type: auditExemptionRequested, Actor: by, Target: *target,
			Detail: map[string]any{"exemption_id": e.ID, "account_id": a.ID, "username": a.Username, "account": *account, "owner": e.Owner, "reason": *reason, "expires": u}}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "exemption %d requested by %s: %s on %s until %s; it applies once someone else approves it:\n  accessrecon exempt approve %d --config %s --by NAME\n",
			e.ID, present.Shown(by), present.Shown(accountWord(a)), present.Shown(*target), u.Format("2006-01-02"), e.ID, shellWord(cfg.Path()))
		return nil
	})
	return func(ctx context.Context, stdout, stderr io.Writer) (int, error) {
		if strings.TrimSpace(*by) == "" {
			return exitUsage, usageError{"exempt add: --by: who requests it is required"}
		}
		if strings.TrimSpace(*reason) == "" {
			return exitUsage, usageError{"exempt add: --reason: why is required"}
		}
		return act(ctx, stdout, stderr)
	}
}

func defineExemptApprove(fs *flag.FlagSet) action {
	id := fs.Int64("id", 0, "the requested exemption's `ID` (exempt list)")
	by := fs.String("by", "", "who approves (`NAME`): not the requester")
	return approver("exempt approve", by, existingStoreCommand(fs, "exempt approve", nil, func(ctx context.Context, cfg *config.Config, st *store.Store, stdout io.Writer) error {
		e, err := st.ApproveExemption(ctx, *id, strings.TrimSpace(*by), time.Now().UTC())
		if err != nil {
			return approvalError("exempt approve", err)
		}
		if err := auditor(cfg, st).Record(ctx, reconcile.AuditEvent{Type: auditExemptionApproved, Actor: e.ApprovedBy, Target: e.Target,
			Detail: map[string]any{"exemption_id": e.ID, "account_id": e.AccountID, "requested_by": e.RequestedBy, "owner": e.Owner, "reason": e.Reason, "expires": e.Expires}}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "exemption %d approved by %s (requested by %s): %s on %s exempt until %s, from the next run\n", e.ID, present.Shown(e.ApprovedBy), present.Shown(e.RequestedBy),
			present.Shown(e.AccountID), present.Shown(e.Target), e.Expires.Format("2006-01-02"))
		return nil
	}))
}

func defineExemptRemove(fs *flag.FlagSet) action {
	id := fs.Int64("id", 0, "exemption `ID`")
	by := fs.String("by", "", "who removes it (`NAME`)")
	return existingStoreCommand(fs, "exempt remove", nil, func(ctx context.Context, cfg *config.Config, st *store.Store, stdout io.Writer) error {
		e, err := st.RemoveExemption(ctx, *id, *by, time.Now().UTC())
		if err != nil {
			return fmt.Errorf("exempt remove: %w", err)
		}
		if err := auditor(cfg, st).Record(ctx, reconcile.AuditEvent{Type: auditExemptionRemoved, Actor: *by, Target: e.Target,
			Detail: map[string]any{"exemption_id": e.ID, "account_id": e.AccountID}}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "exemption %d removed by %s\n", e.ID, present.Shown(*by))
		return nil
	})
}

func defineExemptList(fs *flag.FlagSet) action {
	asJSON := fs.Bool("json", false, "JSON output")
	all := fs.Bool("all", false, "list removed exemptions too")
	return storeCommand(fs, func(ctx context.Context, cfg *config.Config, st *store.Store, stdout io.Writer) error {
		es, err := st.Exemptions(ctx, *all)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(es)
		}
		now := time.Now().UTC()
		names := accountNames{st: st}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTARGET\tACCOUNT\tUSERNAME\tUNTIL\tREQUESTED BY\tAPPROVED BY\tOWNER\tSTATE\tREASON")
		for _, e := range es {
			state := "active"
			switch {
			case !e.RemovedAt.IsZero():
				state = "removed by " + e.RemovedBy
			case (reconcile.Exemption{Expires: reconcile.Date{Time: e.Expires}}).Expired(now):
				state = "EXPIRED"
			case e.ApprovedBy == "":
				state = "REQUESTED: not in effect until approved"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, present.Shown(e.Target), present.Shown(e.AccountID), present.Shown(dash(names.username(ctx, e.Target, e.AccountID))),
				e.Expires.Format("2006-01-02"), present.Shown(e.RequestedBy), present.Shown(dash(e.ApprovedBy)), present.Shown(e.Owner), present.Shown(state), present.Shown(e.Reason))
		}
		return tw.Flush()
	})
}
