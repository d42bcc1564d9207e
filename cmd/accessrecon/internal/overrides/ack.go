package overrides

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/present"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/targets"
)

// StepOps are the steps a person can be asked to do (and acknowledge).
var StepOps = []targets.Capability{targets.CanDisable, targets.CanRevokeSessions, targets.CanRevokeCredential, targets.CanRemoveFromGroup}

// StepWord is a step as --step takes it: OP, or OP:ARG.
func StepWord(op, arg string) string {
	if arg == "" {
		return op
	}
	return op + ":" + arg
}

// AckCommand is the exact command that records the open step a as done.
func AckCommand(configPath string, a store.Action) string {
	return fmt.Sprintf("accessrecon ack %s --config %s --step %s --by NAME", a.Fingerprint, present.ShellWord(configPath), present.ShellWord(StepWord(a.Op, a.Arg)))
}

// Ack records the open manual step (OP[:ARG]) of finding fp as done by who.
func Ack(ctx context.Context, cfg *config.Config, st storefile.Store, fp, step, who, note string, stdout io.Writer) error {
	op, arg, _ := strings.Cut(strings.TrimSpace(step), ":")
	known, err := st.FindingKnown(ctx, fp)
	if err != nil {
		return err
	}
	if !known {
		return fmt.Errorf("ack: no finding has fingerprint %q in %s (accessrecon findings --config %s lists them)", fp, cfg.StoreName(), cfg.Path())
	}
	open, err := st.OpenManualSteps(ctx, fp)
	if err != nil {
		return err
	}
	if !containsStep(open, op, arg) {
		if len(open) == 0 {
			return fmt.Errorf("ack: finding %s has no open manual step (--step %s): nothing to acknowledge", fp, StepWord(op, arg))
		}
		var words []string
		for _, a := range open {
			words = append(words, StepWord(a.Op, a.Arg))
		}
		return fmt.Errorf("ack: finding %s has no open manual step %s (--step): its open steps are %s", fp, StepWord(op, arg), strings.Join(words, ", "))
	}
	a, err := st.AckManualStep(ctx, fp, op, arg, who, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("ack: %w", err)
	}
	detail := map[string]any{"fingerprint": a.Fingerprint, "kind": a.Kind, "account_id": a.AccountID, "employee_id": a.EmployeeID,
		"op": a.Op, "opened_by_run": a.RunID}
	if a.Arg != "" {
		detail["arg"] = a.Arg
	}
	if note != "" {
		detail["note"] = note
	}
	if err := Auditor(cfg, st).Record(ctx, reconcile.AuditEvent{Type: AuditManualStepAcknowledged, Actor: who, Target: a.Target, Detail: detail}); err != nil {
		return fmt.Errorf("ack: recorded, but the audit trail refused it: %w", err)
	}
	fmt.Fprintf(stdout, "%s: %s on %s account %s recorded done by %s; the next run resolves the finding once no step is left open\n",
		a.Fingerprint, present.Shown(StepWord(a.Op, a.Arg)), present.Shown(a.Target), present.Shown(a.AccountID), present.Shown(who))
	return nil
}

func containsStep(steps []store.Action, op, arg string) bool {
	for _, a := range steps {
		if a.Op == op && a.Arg == arg {
			return true
		}
	}
	return false
}
