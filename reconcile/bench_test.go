package reconcile_test

import (
	"context"
	"testing"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/gen"
)

// BenchmarkRun reconciles a generated organisation (gen.Source and
// gen.Target, streamed, nothing on disk but the store) in report mode, on
// the SQLite store (package reconcile_test: the figure is a real run's).
// ACCESSRECON_BENCH_PEOPLE sets the size (default 10,000 people; 10 targets).
func BenchmarkRun(b *testing.B) {
	people, err := gen.PeopleFromEnv(10000)
	if err != nil {
		b.Fatal(err)
	}
	spec := gen.Spec{People: people, Targets: 10, Seed: 1, AsOf: asOf}
	rs := reconcile.RunSpec{AsOf: asOf, Mode: reconcile.Report, Sources: []reconcile.SourceSpec{{Name: "hr", Type: "gen", Source: gen.Source{Spec: spec}}}}
	for t := range spec.Targets {
		rs.Targets = append(rs.Targets, reconcile.TargetSpec{Name: gen.TargetName(t), Type: "gen", Target: gen.Target{Spec: spec, Index: t}})
	}
	accounts := 0
	for b.Loop() {
		b.StopTimer()
		e := newEngine(b)
		b.StartTimer()
		res, err := e.Run(context.Background(), rs)
		if err != nil {
			b.Fatal(err)
		}
		accounts = res.Run.Counts["accounts"]
		if accounts == 0 {
			b.Fatal("no accounts")
		}
	}
	b.ReportMetric(float64(accounts)*float64(b.N)/b.Elapsed().Seconds(), "accounts/s")
	b.ReportMetric(float64(accounts), "accounts/run")
}
