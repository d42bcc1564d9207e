package overrides

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/present"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/targets"
)

// ExemptionRequest is an exemption asked for an account the command
// resolved; it applies once someone other than By approves it.
type ExemptionRequest struct {
	Target  string
	Account targets.Account
	Word    string // the account as people know it
	Ref     string // the account as --account named it
	Owner   string
	Reason  string
	Expires time.Time
	By      string
}

// RequestExemption records the request.
func RequestExemption(ctx context.Context, cfg *config.Config, st storefile.Store, r ExemptionRequest, now time.Time, stdout io.Writer) error {
	a := r.Account
	e := store.Exemption{Target: r.Target, AccountID: a.ID, Owner: r.Owner, Reason: r.Reason, Expires: r.Expires, RequestedBy: r.By, RequestedAt: now}
	var err error
	if e.ID, err = st.AddExemption(ctx, e); err != nil {
		return err
	}
	if err := Auditor(cfg, st).Record(ctx, reconcile.AuditEvent{Type: AuditExemptionRequested, Actor: r.By, Target: r.Target,
		Detail: map[string]any{"exemption_id": e.ID, "account_id": a.ID, "username": a.Username, "account": r.Ref, "owner": e.Owner, "reason": r.Reason, "expires": r.Expires}}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "exemption %d requested by %s: %s on %s until %s; it applies once someone else approves it:\n  accessrecon exempt approve %d --config %s --by NAME\n",
		e.ID, present.Shown(r.By), present.Shown(r.Word), present.Shown(r.Target), r.Expires.Format("2006-01-02"), e.ID, present.ShellWord(cfg.Path()))
	return nil
}

// ApproveExemption approves a requested exemption; who must not be its
// requester.
func ApproveExemption(ctx context.Context, cfg *config.Config, st storefile.Store, id int64, who string, stdout io.Writer) error {
	e, err := st.ApproveExemption(ctx, id, who, time.Now().UTC())
	if err != nil {
		return approvalError(ctx, cfg, st, "exempt approve", "exemption_id", id, who, err)
	}
	if err := Auditor(cfg, st).Record(ctx, reconcile.AuditEvent{Type: AuditExemptionApproved, Actor: e.ApprovedBy, Target: e.Target,
		Detail: map[string]any{"exemption_id": e.ID, "account_id": e.AccountID, "requested_by": e.RequestedBy, "owner": e.Owner, "reason": e.Reason, "expires": e.Expires}}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "exemption %d approved by %s (requested by %s): %s on %s exempt until %s, from the next run\n", e.ID, present.Shown(e.ApprovedBy), present.Shown(e.RequestedBy),
		present.Shown(e.AccountID), present.Shown(e.Target), e.Expires.Format("2006-01-02"))
	return nil
}

// RemoveExemption removes an exemption.
func RemoveExemption(ctx context.Context, cfg *config.Config, st storefile.Store, id int64, by string, stdout io.Writer) error {
	e, err := st.RemoveExemption(ctx, id, by, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("exempt remove: %w", err)
	}
	if err := Auditor(cfg, st).Record(ctx, reconcile.AuditEvent{Type: AuditExemptionRemoved, Actor: by, Target: e.Target,
		Detail: map[string]any{"exemption_id": e.ID, "account_id": e.AccountID}}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "exemption %d removed by %s\n", e.ID, present.Shown(by))
	return nil
}

// ListExemptions lists the exemptions (removed ones too with all), as a
// table or JSON.
func ListExemptions(ctx context.Context, st storefile.Store, all, asJSON bool, username Usernames, stdout io.Writer) error {
	es, err := st.Exemptions(ctx, all)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(es)
	}
	now := time.Now().UTC()
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
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, present.Shown(e.Target), present.Shown(e.AccountID), present.Shown(present.Dash(username(ctx, e.Target, e.AccountID))),
			e.Expires.Format("2006-01-02"), present.Shown(e.RequestedBy), present.Shown(present.Dash(e.ApprovedBy)), present.Shown(e.Owner), present.Shown(state), present.Shown(e.Reason))
	}
	return tw.Flush()
}
