package overrides

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/present"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/targets"
)

// HoldRequest is a hold to place on an account the command resolved.
type HoldRequest struct {
	Target  string
	Account targets.Account
	Word    string // the account as people know it
	Ref     string // the account as --account named it
	Reason  string
	Until   time.Time
	By      string
}

// AddHold places the hold, or, under policy.holds.require_approval,
// requests it until someone else approves it.
func AddHold(ctx context.Context, cfg *config.Config, st storefile.Store, r HoldRequest, now time.Time, stdout io.Writer) error {
	a := r.Account
	h := store.Hold{Target: r.Target, AccountID: a.ID, Reason: r.Reason, Until: r.Until, CreatedBy: r.By, CreatedAt: now}
	requested := cfg.Policy.Holds.RequireApproval
	event := AuditHoldAdded
	var err error
	if requested {
		// Two-person override: a request until someone else approves.
		event = AuditHoldRequested
		h.ID, err = st.RequestHold(ctx, h)
	} else {
		h.ID, err = st.AddHold(ctx, h)
	}
	if err != nil {
		return err
	}
	if err := Auditor(cfg, st).Record(ctx, reconcile.AuditEvent{Type: event, Actor: r.By, Target: r.Target,
		Detail: map[string]any{"hold_id": h.ID, "account_id": a.ID, "username": a.Username, "account": r.Ref, "reason": r.Reason, "until": r.Until}}); err != nil {
		return err
	}
	if requested {
		fmt.Fprintf(stdout, "hold %d requested by %s: %s on %s until %s; it takes effect once someone else approves it (policy.holds.require_approval):\n  accessrecon hold approve %d --config %s --by NAME\n",
			h.ID, present.Shown(r.By), present.Shown(r.Word), present.Shown(r.Target), r.Until.Format(time.RFC3339), h.ID, present.ShellWord(cfg.Path()))
		return nil
	}
	fmt.Fprintf(stdout, "hold %d: %s on %s held until %s by %s\n", h.ID, present.Shown(r.Word), present.Shown(r.Target), r.Until.Format(time.RFC3339), present.Shown(r.By))
	return nil
}

// ApproveHold approves a requested hold; who must not be its requester.
func ApproveHold(ctx context.Context, cfg *config.Config, st storefile.Store, id int64, who string, stdout io.Writer) error {
	h, err := st.ApproveHold(ctx, id, who, time.Now().UTC())
	if err != nil {
		return approvalError(ctx, cfg, st, "hold approve", "hold_id", id, who, err)
	}
	if err := Auditor(cfg, st).Record(ctx, reconcile.AuditEvent{Type: AuditHoldApproved, Actor: who, Target: h.Target,
		Detail: map[string]any{"hold_id": h.ID, "account_id": h.AccountID, "requested_by": h.CreatedBy, "reason": h.Reason, "until": h.Until}}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "hold %d approved by %s (requested by %s): %s on %s held until %s\n", h.ID, present.Shown(who), present.Shown(h.CreatedBy),
		present.Shown(h.AccountID), present.Shown(h.Target), h.Until.Format(time.RFC3339))
	return nil
}

// RemoveHold removes a hold.
func RemoveHold(ctx context.Context, cfg *config.Config, st storefile.Store, id int64, by string, stdout io.Writer) error {
	h, err := st.RemoveHold(ctx, id, by, time.Now().UTC())
	if err != nil {
		return err
	}
	if err := Auditor(cfg, st).Record(ctx, reconcile.AuditEvent{Type: AuditHoldRemoved, Actor: by, Target: h.Target,
		Detail: map[string]any{"hold_id": id, "account_id": h.AccountID}}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "hold %d removed by %s\n", id, present.Shown(by))
	return nil
}

// ListHolds lists the holds (removed ones too with all), as a table or JSON.
func ListHolds(ctx context.Context, st storefile.Store, all, asJSON bool, username Usernames, stdout io.Writer) error {
	hs, err := st.Holds(ctx, true)
	if err != nil {
		return err
	}
	if !all {
		hs = slices.DeleteFunc(hs, func(h store.Hold) bool { return !h.RemovedAt.IsZero() })
	}
	approvals, err := st.HoldApprovals(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		type listed struct {
			store.Hold
			store.HoldApproval
		}
		out := make([]listed, len(hs))
		for i, h := range hs {
			out[i] = listed{h, approvals[h.ID]}
		}
		return json.NewEncoder(stdout).Encode(out)
	}
	now := time.Now().UTC()
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTARGET\tACCOUNT\tUSERNAME\tUNTIL\tREQUESTED BY\tAPPROVED BY\tSTATE\tREASON")
	for _, h := range hs {
		state := "active"
		switch {
		case !h.RemovedAt.IsZero():
			state = "removed by " + h.RemovedBy
		case !h.Until.After(now):
			state = "EXPIRED"
		case approvals[h.ID].Approval == store.HoldRequested:
			state = "REQUESTED: not in effect until approved"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.ID, present.Shown(h.Target), present.Shown(h.AccountID), present.Shown(present.Dash(username(ctx, h.Target, h.AccountID))),
			h.Until.Format("2006-01-02"), present.Shown(h.CreatedBy), present.Shown(present.Dash(approvals[h.ID].ApprovedBy)), present.Shown(state), present.Shown(h.Reason))
	}
	return tw.Flush()
}
