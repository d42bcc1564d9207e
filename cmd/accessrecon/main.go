// Command accessrecon reconciles HR status against the accounts of every
// system that grants access, and revokes what HR says must go.
//
// The commands and their flags are defined once, in the command table of
// cli.go; `accessrecon --help` lists them, `accessrecon <command> --help`
// shows a command's flags.
//
// Exit status: 0 completed, 1 failed (bad input or config: nothing acted
// upon), 2 usage, 3 completed with a guard tripped.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/memlimit"
	"github.com/accessrecon/accessrecon/targets"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
	exitGuard = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = withMemoryBudget(ctx)
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// withMemoryBudget returns ctx with the process's memory budget: a soft
// heap limit sized to what each run's data needs, never above the memory
// this process may use. GOMEMLIMIT overrides it (ctx is returned as it is).
// C's large blocks are returned to the system when freed in either case
// (memlimit.MapLargeC).
func withMemoryBudget(ctx context.Context) context.Context {
	memlimit.MapLargeC()
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return ctx
	}
	return memlimit.WithBudget(ctx, memlimit.NewBudget(memlimit.Soft("/sys/fs/cgroup/memory.max", "/proc/meminfo")))
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage())
		return exitOK
	}
	code, err := dispatch(ctx, args, stdout, stderr)
	var ue usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "accessrecon: %v\n\n%s", err, usage())
		return exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "accessrecon: %s\n", targets.Printable(err.Error(), 4000))
		if code == exitOK {
			code = exitFail
		}
	}
	return code
}

// dispatch finds the command, parses its flags (printing its help on
// --help), and runs it. Nothing is opened before the flags are good.
func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	c, rest, err := lookup(args)
	if err != nil {
		return exitUsage, err
	}
	act, err := c.Parse(rest)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, c.Help())
		return exitOK, err
	}
	if err != nil {
		return exitUsage, err
	}
	return act(ctx, stdout, stderr)
}
