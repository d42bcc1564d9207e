package pgstore_test

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/gen"
	"github.com/accessrecon/accessrecon/reconcile/pgstore"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// BenchmarkDay2 times a second day's report-mode run of a generated
// organisation (gen, 10 targets, unchanged since day 1) on the SQLite
// store and on pgstore, each on a fresh store whose day 1 is not timed.
// ACCESSRECON_BENCH_PEOPLE sets the size (default 10,000 people).
// store-bytes/day is how much the store grew on day 2 (SQLite: the file
// after a WAL checkpoint; PostgreSQL: the schema's tables and indexes).
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
	// size is what a store takes on disk: the SQLite file after a WAL
	// checkpoint, the PostgreSQL schema's tables with their indexes and
	// TOAST.
	type opened struct {
		st   reconcile.Store
		size func() int64
	}
	stores := []struct {
		name string
		open func(b *testing.B) opened
	}{
		{"sqlite", func(b *testing.B) opened {
			path := filepath.Join(b.TempDir(), "state.db")
			st, err := store.Open(context.Background(), path)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return opened{st, func() int64 {
				db, err := sql.Open("sqlite3", "file:"+path)
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
					b.Fatal(err)
				}
				fi, err := os.Stat(path)
				if err != nil {
					b.Fatal(err)
				}
				return fi.Size()
			}}
		}},
		{"postgres", func(b *testing.B) opened {
			dsn := schemaDSN(b)
			st, err := pgstore.Open(context.Background(), dsn)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return opened{st, func() int64 {
				db, err := sql.Open("pgx", dsn)
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				var n int64
				if err := db.QueryRow(`SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c
					JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'`).Scan(&n); err != nil {
					b.Fatal(err)
				}
				return n
			}}
		}},
	}
	for _, s := range stores {
		b.Run(s.name, func(b *testing.B) {
			accounts := 0
			var grown int64
			for b.Loop() {
				b.StopTimer()
				o := s.open(b)
				e := &reconcile.Engine{Store: o.st, Log: slog.New(slog.DiscardHandler)}
				if _, err := e.Run(context.Background(), runSpec(day1)); err != nil {
					b.Fatal(err)
				}
				before := o.size()
				b.StartTimer()
				res, err := e.Run(context.Background(), runSpec(day1.AddDate(0, 0, 1)))
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				grown = o.size() - before
				b.StartTimer()
				if accounts = res.Run.Counts["accounts"]; accounts == 0 {
					b.Fatal("no accounts")
				}
			}
			b.ReportMetric(float64(accounts), "accounts/run")
			b.ReportMetric(float64(grown), "store-bytes/day")
		})
	}
}
