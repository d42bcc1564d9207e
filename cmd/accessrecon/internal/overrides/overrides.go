// Package overrides is what people do by hand to the run's judgement: holds,
// exemptions (both two-person when policy asks, issue 16 part 3) and the
// acknowledgement of manual steps. Each step is audited with the person
// who took it.
package overrides

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/trail"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// The audit events the commands record (the engine's own are reconcile's).
const (
	AuditHoldAdded              reconcile.AuditType = "hold_added"
	AuditHoldRemoved            reconcile.AuditType = "hold_removed"
	AuditHoldRequested          reconcile.AuditType = "hold_requested" // a two-person hold awaiting approval
	AuditHoldApproved           reconcile.AuditType = "hold_approved"  // by someone other than the requester
	AuditExemptionRequested     reconcile.AuditType = "exemption_requested"
	AuditExemptionApproved      reconcile.AuditType = "exemption_approved"
	AuditExemptionRemoved       reconcile.AuditType = "exemption_removed"
	AuditManualStepAcknowledged reconcile.AuditType = "manual_step_acknowledged" // accessrecon ack
	// AuditSelfApprovalRefused: a requester tried to approve their own
	// hold or exemption (segregation of duties; nothing changed).
	AuditSelfApprovalRefused reconcile.AuditType = "self_approval_refused"
)

// Auditor records overrides in the audit trail.
func Auditor(cfg *config.Config, st storefile.Store) reconcile.TrailAuditor {
	return reconcile.TrailAuditor{Trail: trail.Open(cfg, st, slog.New(slog.NewTextHandler(os.Stderr, nil)))}
}

// approvalError says why an approval was refused, without the store's
// prefix. A requester approving their own request is recorded in the audit
// trail (the attempt is what an auditor of segregation of duties asks
// about) before the refusal is returned.
func approvalError(ctx context.Context, cfg *config.Config, st storefile.Store, cmd, idKey string, id int64, who string, err error) error {
	msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "store: approve hold: "), "store: approve exemption: ")
	if errors.Is(err, store.ErrSamePerson) {
		msg += " (--by)"
		if aerr := Auditor(cfg, st).Record(ctx, reconcile.AuditEvent{Type: AuditSelfApprovalRefused, Actor: who,
			Detail: map[string]any{idKey: id, "refused": msg}}); aerr != nil {
			return errors.Join(errors.New(cmd+": "+msg), aerr)
		}
	}
	return errors.New(cmd + ": " + msg)
}

// Usernames finds an account's username on its target ("" when unknown).
type Usernames func(ctx context.Context, target, id string) string
