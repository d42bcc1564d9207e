package demo

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runner"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/reconcile"
)

// Run is `accessrecon demo`: day one collected and enforced on the
// in-house directory, day two showing every kind of finding, in out (default
// a new temporary directory). It returns the last run's result.
func Run(ctx context.Context, out string, stdout, stderr io.Writer) (*reconcile.Result, error) {
	dir := out
	if dir == "" {
		d, err := os.MkdirTemp("", "accessrecon-demo-")
		if err != nil {
			return nil, err
		}
		dir = d
	} else if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("demo: %s is not empty: the demo starts from a fresh directory", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "accessrecon demo in %s\n", dir)
	d := New(dir)
	if err := d.WriteDay(1); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "schedule.yaml"), []byte(Config), 0o644); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "schedule.yaml")
	fmt.Fprintln(stderr, "\n== day 1:", Day1.Format("2006-01-02"))
	if res, err := runDay(ctx, cfg, Day1, filepath.Join(dir, "day1"), stdout, stderr); runner.Judge(res, err) == runner.Failed {
		return res, err
	}
	if err := d.WriteDay(2); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintln(stderr, "\n== overnight: u0012 re-enabled by hand in the directory, E000005 moved from ENG to SALES, vpn-0033 turned back on")
	fmt.Fprintln(stderr, "\n== day 2:", Day2.Format("2006-01-02"))
	res, err := runDay(ctx, cfg, Day2, dir, stdout, stderr)
	if res != nil {
		kinds := map[reconcile.Kind]bool{}
		for _, f := range res.Findings {
			kinds[f.Kind] = true
		}
		fmt.Fprintf(stderr, "\n  finding kinds present: %d; explore with: accessrecon findings --config %s\n", len(kinds), cfg)
	}
	return res, err
}

// runDay is one of the demo's runs, as `accessrecon run` would do it.
func runDay(ctx context.Context, path string, asOf time.Time, out string, stdout, stderr io.Writer) (*reconcile.Result, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	st, err := storefile.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return runner.Once(ctx, cfg, st, runner.Request{AsOf: asOf, OutDir: out}, stdout, stderr)
}
