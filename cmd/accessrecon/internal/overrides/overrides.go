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
)

// Auditor records overrides in the audit trail.
func Auditor(cfg *config.Config, st storefile.Store) reconcile.TrailAuditor {
	return reconcile.TrailAuditor{Trail: trail.Open(cfg, st, slog.New(slog.NewTextHandler(os.Stderr, nil)))}
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

// Usernames finds an account's username on its target ("" when unknown).
type Usernames func(ctx context.Context, target, id string) string
