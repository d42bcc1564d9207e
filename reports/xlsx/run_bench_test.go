package xlsx

import (
	"context"
	"log/slog"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/gen"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// genRun reconciles day 1 and then day 2 of a generated organisation
// (reconcile/gen: people people, 10 targets, seed 1) in report mode on a
// SQLite store, and returns day 2's result and the store: a nightly run's
// workbook as the runner writes it.
func genRun(b *testing.B, people int) (*reconcile.Result, *store.Store) {
	b.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	e := &reconcile.Engine{Store: st, Log: slog.New(slog.DiscardHandler)}
	var res *reconcile.Result
	for day := 1; day <= 2; day++ {
		spec := gen.Spec{People: people, Targets: 10, Seed: 1, AsOf: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), Day: day}
		rs := reconcile.RunSpec{AsOf: spec.DayAsOf(), Mode: reconcile.Report, Policy: reconcile.DefaultPolicy(),
			Sources: []reconcile.SourceSpec{{Name: "hr", Type: "gen", Source: gen.Source{Spec: spec}}}}
		for t := range spec.Targets {
			rs.Targets = append(rs.Targets, reconcile.TargetSpec{Name: gen.TargetName(t), Type: "gen", Target: gen.Target{Spec: spec, Index: t}})
		}
		if res, err = e.Run(ctx, rs); err != nil {
			b.Fatal(err)
		}
	}
	return res, st
}

// BenchmarkWriteRun writes the workbook of a generated nightly run (day 2,
// see genRun) as the runner does, store look-ups included.
// ACCESSRECON_BENCH_PEOPLE sets the size (default 10,000 people; 10
// targets). cpu-s/op is the process's CPU time (user and system) per
// workbook: the machine is shared, wall time says little.
func BenchmarkWriteRun(b *testing.B) {
	people, err := gen.PeopleFromEnv(10000)
	if err != nil {
		b.Fatal(err)
	}
	res, st := genRun(b, people)
	ctx := context.Background()
	trend, err := st.Runs(ctx, 30)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), FileName(res))
	opts := Options{Trend: trend, Now: res.Run.AsOf.Add(time.Hour), Store: st}
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime(b)
	for range b.N {
		if err := WriteContext(ctx, path, res, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuTime(b)-start).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(len(res.Findings)), "findings")
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
