package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/present"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/targets"
)

// existingStoreCommand is storeCommand for commands that only make sense on
// a store that runs have written: when there is no store yet it refuses,
// naming it, and creates nothing. check, when set, checks the command's
// input against the config before the store is looked at.
func existingStoreCommand(fs *flag.FlagSet, name string, check func(cfg *config.Config) error, act func(ctx context.Context, cfg *config.Config, st *store.Store, stdout io.Writer) error) action {
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
		if _, err := os.Stat(cfg.StorePath()); errors.Is(err, os.ErrNotExist) {
			return exitFail, fmt.Errorf("%s: no store at %s yet: run accessrecon run --config %s first", name, cfg.StorePath(), *path)
		}
		st, err := openStore(ctx, cfg)
		if err != nil {
			return exitFail, err
		}
		defer st.Close()
		return exitOK, act(ctx, cfg, st, stdout)
	}
}

// stepOps are the steps a person can be asked to do (and acknowledge).
var stepOps = []targets.Capability{targets.CanDisable, targets.CanRevokeSessions, targets.CanRevokeCredential, targets.CanRemoveFromGroup}

// stepWord is a step as --step takes it: OP, or OP:ARG.
func stepWord(op, arg string) string {
	if arg == "" {
		return op
	}
	return op + ":" + arg
}

// ackCommand is the exact command that records the open step a as done.
func ackCommand(configPath string, a store.Action) string {
	return fmt.Sprintf("accessrecon ack %s --config %s --step %s --by NAME", a.Fingerprint, shellWord(configPath), shellWord(stepWord(a.Op, a.Arg)))
}

// shellWord quotes s for a POSIX shell when it needs it.
func shellWord(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func defineAck(fs *flag.FlagSet) action {
	fp := fs.String("fingerprint", "", "the finding's `FINGERPRINT` (accessrecon findings shows it)")
	step := fs.String("step", "", "the step done, as findings shows it: `OP[:ARG]` (revoke_sessions; remove_from_group:GROUP-ID; revoke_credential:CREDENTIAL-ID)")
	by := fs.String("by", "", "who did the step (`NAME`)")
	note := fs.String("note", "", "what was done (`TEXT`), kept in the audit trail")
	act := existingStoreCommand(fs, "ack", nil, func(ctx context.Context, cfg *config.Config, st *store.Store, stdout io.Writer) error {
		op, arg, _ := strings.Cut(strings.TrimSpace(*step), ":")
		who := strings.TrimSpace(*by)
		known, err := st.FindingKnown(ctx, *fp)
		if err != nil {
			return err
		}
		if !known {
			return fmt.Errorf("ack: no finding has fingerprint %q in %s (accessrecon findings --config %s lists them)", *fp, cfg.StorePath(), cfg.Path())
		}
		open, err := st.OpenManualSteps(ctx, *fp)
		if err != nil {
			return err
		}
		if !containsStep(open, op, arg) {
			if len(open) == 0 {
				return fmt.Errorf("ack: finding %s has no open manual step (--step %s): nothing to acknowledge", *fp, stepWord(op, arg))
			}
			var words []string
			for _, a := range open {
				words = append(words, stepWord(a.Op, a.Arg))
			}
			return fmt.Errorf("ack: finding %s has no open manual step %s (--step): its open steps are %s", *fp, stepWord(op, arg), strings.Join(words, ", "))
		}
		a, err := st.AckManualStep(ctx, *fp, op, arg, who, time.Now().UTC())
		if err != nil {
			return fmt.Errorf("ack: %w", err)
		}
		detail := map[string]any{"fingerprint": a.Fingerprint, "kind": a.Kind, "account_id": a.AccountID, "employee_id": a.EmployeeID,
			"op": a.Op, "opened_by_run": a.RunID}
		if a.Arg != "" {
			detail["arg"] = a.Arg
		}
		if *note != "" {
			detail["note"] = *note
		}
		if err := auditor(cfg, st).Record(ctx, reconcile.AuditEvent{Type: auditManualStepAcknowledged, Actor: who, Target: a.Target, Detail: detail}); err != nil {
			return fmt.Errorf("ack: recorded, but the audit trail refused it: %w", err)
		}
		fmt.Fprintf(stdout, "%s: %s on %s account %s recorded done by %s; the next run resolves the finding once no step is left open\n",
			a.Fingerprint, present.Shown(stepWord(a.Op, a.Arg)), present.Shown(a.Target), present.Shown(a.AccountID), present.Shown(who))
		return nil
	})
	return func(ctx context.Context, stdout, stderr io.Writer) (int, error) {
		op, _, _ := strings.Cut(strings.TrimSpace(*step), ":")
		known := false
		var ops []string
		for _, c := range stepOps {
			known = known || string(c) == op
			ops = append(ops, string(c))
		}
		switch {
		case !known:
			return exitUsage, usageError{fmt.Sprintf("ack: --step %q: the step is OP or OP:ARG, OP one of %s", *step, strings.Join(ops, ", "))}
		case strings.TrimSpace(*by) == "":
			return exitUsage, usageError{"ack: --by: who did the step is required"}
		case strings.TrimSpace(*fp) == "":
			return exitUsage, usageError{"ack: FINGERPRINT is empty"}
		}
		return act(ctx, stdout, stderr)
	}
}

func containsStep(steps []store.Action, op, arg string) bool {
	for _, a := range steps {
		if a.Op == op && a.Arg == arg {
			return true
		}
	}
	return false
}
