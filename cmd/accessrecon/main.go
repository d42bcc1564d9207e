// Command accessrecon reconciles HR status against the accounts of every
// system that grants access, and revokes what HR says must go.
//
//	accessrecon run --config schedule.yaml [--as-of T] [--out DIR] [--dry-run]
//	accessrecon serve --config schedule.yaml [--listen 127.0.0.1:8080]
//	accessrecon sla --config schedule.yaml [--since DATE] [--json]
//	accessrecon demo [--out DIR]
//	accessrecon validate --config schedule.yaml
//	accessrecon findings|history --config schedule.yaml [--json]
//	accessrecon hold add|list|remove ...
//	accessrecon audit verify|export ...
//
// Exit status: 0 completed, 1 failed (bad input or config: nothing acted
// upon), 2 usage, 3 completed with a guard tripped.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
	exitGuard = 3
)

// usageError is a command-line mistake (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	// A soft heap limit keeps a million-account run's peak memory near it
	// (the GC works harder instead of letting garbage double the heap);
	// GOMEMLIMIT overrides it for bigger installations.
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(1 << 30)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: accessrecon <command> [flags]

commands:
  run       one reconciliation run (--config FILE [--as-of RFC3339] [--out DIR] [--dry-run]
            [--wait DURATION] [--metrics-file PATH])
  demo      run the bundled demo in a fresh directory ([--out DIR])
  validate  check a configuration (--config FILE)
  gen       write a reproducible data set for load tests (--people N --targets T --seed S --out DIR)
  findings  the findings of the latest run (--config FILE [--json])
  history   the runs with status and counts (--config FILE [--json])
  serve     run the jobs of schedule.yaml, the HR webhooks, health and metrics
            (--config FILE [--listen 127.0.0.1:8080])
  sla       revocation times against the SLA (--config FILE [--since DATE] [--json])
  hold      add, list or remove holds on accounts
  audit     verify or export the audit trail
`

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var err error
	code := exitOK
	switch args[0] {
	case "run":
		code, err = cmdRun(ctx, args[1:], stdout, stderr)
	case "demo":
		code, err = cmdDemo(ctx, args[1:], stdout, stderr)
	case "serve":
		code, err = cmdServe(ctx, args[1:], stdout, stderr)
	case "sla":
		err = cmdSLA(ctx, args[1:], stdout)
	case "gen":
		err = cmdGen(args[1:], stdout, stderr)
	case "validate":
		err = cmdValidate(args[1:], stdout, stderr)
	case "findings":
		err = cmdFindings(ctx, args[1:], stdout)
	case "history":
		err = cmdHistory(ctx, args[1:], stdout)
	case "hold":
		err = cmdHold(ctx, args[1:], stdout)
	case "audit":
		err = cmdAudit(ctx, args[1:], stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		err = usageError{fmt.Sprintf("unknown command %q", args[0])}
	}
	var ue usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "accessrecon: %v\n\n%s", err, usage)
		return exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "accessrecon: %v\n", err)
		if code == exitOK {
			code = exitFail
		}
	}
	return code
}
