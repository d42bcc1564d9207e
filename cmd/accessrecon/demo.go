package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/demo"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runner"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/reconcile"
)

// The demo (internal/demo writes its data): day one collected and enforced
// on the in-house directory, day two showing every kind of finding.

func defineDemo(fs *flag.FlagSet) action {
	out := fs.String("out", "", "`DIR`ectory to write the demo into (default: a new temporary directory)")
	return func(ctx context.Context, stdout, stderr io.Writer) (int, error) {
		return demoCommand(ctx, *out, stdout, stderr)
	}
}

func demoCommand(ctx context.Context, out string, stdout, stderr io.Writer) (int, error) {
	dir := out
	if dir == "" {
		d, err := os.MkdirTemp("", "accessrecon-demo-")
		if err != nil {
			return exitFail, err
		}
		dir = d
	} else if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return exitFail, fmt.Errorf("demo: %s is not empty: the demo starts from a fresh directory", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return exitFail, err
	}
	fmt.Fprintf(stderr, "accessrecon demo in %s\n", dir)
	d := demo.New(dir)
	if err := d.WriteDay(1); err != nil {
		return exitFail, fmt.Errorf("demo: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "schedule.yaml"), []byte(demo.Config), 0o644); err != nil {
		return exitFail, err
	}
	cfg := filepath.Join(dir, "schedule.yaml")
	fmt.Fprintln(stderr, "\n== day 1:", demo.Day1.Format("2006-01-02"))
	if _, code, err := demoRun(ctx, cfg, demo.Day1, filepath.Join(dir, "day1"), stdout, stderr); code != exitOK && code != exitGuard {
		return code, err
	}
	if err := d.WriteDay(2); err != nil {
		return exitFail, fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintln(stderr, "\n== overnight: u0012 re-enabled by hand in the directory, E000005 moved from ENG to SALES, vpn-0033 turned back on")
	fmt.Fprintln(stderr, "\n== day 2:", demo.Day2.Format("2006-01-02"))
	res, code, err := demoRun(ctx, cfg, demo.Day2, dir, stdout, stderr)
	if res != nil {
		kinds := map[reconcile.Kind]bool{}
		for _, f := range res.Findings {
			kinds[f.Kind] = true
		}
		fmt.Fprintf(stderr, "\n  finding kinds present: %d; explore with: accessrecon findings --config %s\n", len(kinds), cfg)
	}
	return code, err
}

// demoRun is one of the demo's runs, as `accessrecon run` would do it.
func demoRun(ctx context.Context, path string, asOf time.Time, out string, stdout, stderr io.Writer) (*reconcile.Result, int, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, exitFail, err
	}
	st, err := storefile.Open(ctx, cfg)
	if err != nil {
		return nil, exitFail, err
	}
	defer st.Close()
	res, err := runner.Once(ctx, cfg, st, runner.Request{AsOf: asOf, OutDir: out}, stdout, stderr)
	return res, exitFor(res, err), err
}
