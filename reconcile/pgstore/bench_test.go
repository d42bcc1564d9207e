package pgstore_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/gen"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// BenchmarkDay2 times a second day's report-mode run of a generated
// organisation (gen, 10 targets, unchanged since day 1) on the SQLite
// store and on pgstore, each on a fresh store whose day 1 is not timed.
// ACCESSRECON_BENCH_PEOPLE sets the size (default 10,000 people).
func BenchmarkDay2(b *testing.B) {
	people := 10000
	if v := os.Getenv("ACCESSRECON_BENCH_PEOPLE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("ACCESSRECON_BENCH_PEOPLE=%q: want a positive integer", v)
		}
		people = n
	}
	day1 := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	spec := gen.Spec{People: people, Targets: 10, Seed: 1, AsOf: day1}
	runSpec := func(asOf time.Time) reconcile.RunSpec {
		rs := reconcile.RunSpec{AsOf: asOf, Mode: reconcile.Report, Sources: []reconcile.SourceSpec{{Name: "hr", Type: "gen", Source: gen.Source{Spec: spec}}}}
		for t := range spec.Targets {
			rs.Targets = append(rs.Targets, reconcile.TargetSpec{Name: gen.TargetName(t), Type: "gen", Target: gen.Target{Spec: spec, Index: t}})
		}
		return rs
	}
	stores := []struct {
		name string
		open func(b *testing.B) reconcile.Store
	}{
		{"sqlite", func(b *testing.B) reconcile.Store {
			st, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "state.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		}},
		{"postgres", func(b *testing.B) reconcile.Store { return openStore(b) }},
	}
	for _, s := range stores {
		b.Run(s.name, func(b *testing.B) {
			accounts := 0
			for b.Loop() {
				b.StopTimer()
				e := &reconcile.Engine{Store: s.open(b), Log: slog.New(slog.DiscardHandler)}
				if _, err := e.Run(context.Background(), runSpec(day1)); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				res, err := e.Run(context.Background(), runSpec(day1.AddDate(0, 0, 1)))
				if err != nil {
					b.Fatal(err)
				}
				if accounts = res.Run.Counts["accounts"]; accounts == 0 {
					b.Fatal("no accounts")
				}
			}
			b.ReportMetric(float64(accounts), "accounts/run")
		})
	}
}
