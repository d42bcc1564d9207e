package pgstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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
// ACCESSRECON_BENCH_PEOPLE sets the size (default 10,000 people), and
// ACCESSRECON_BENCH_ORDER=shuffled lists people and accounts in no ID
// order (gen.Spec.Shuffled; by ID unless set). It
// reports how much the store grew on day 2: all of it (store-B/day) and
// the findings' tables (findings-B/day); on SQLite that needs the sqlite3
// command (its dbstat table), else those figures are left out.
// ACCESSRECON_BENCH_MORE_DAYS runs that many days more, untimed, and
// reports their growth per day (later-store-B/day, later-findings-B/day):
// PostgreSQL's updates leave dead row versions that later days reuse
// (ACCESSRECON_BENCH_VACUUM=1 vacuums before each later day, as autovacuum
// would in the day between two nightly runs).
func BenchmarkDay2(b *testing.B) {
	people, err := gen.PeopleFromEnv(10000)
	if err != nil {
		b.Fatal(err)
	}
	shuffled, err := gen.ShuffledFromEnv()
	if err != nil {
		b.Fatal(err)
	}
	moreDays := 0 // ACCESSRECON_BENCH_MORE_DAYS: days run after day 2
	if v := os.Getenv("ACCESSRECON_BENCH_MORE_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			b.Fatalf("ACCESSRECON_BENCH_MORE_DAYS=%q: want a whole number", v)
		}
		moreDays = n
	}
	// ACCESSRECON_BENCH_VACUUM=1: VACUUM PostgreSQL before each later day,
	// as autovacuum would between nightly runs.
	vacuum := os.Getenv("ACCESSRECON_BENCH_VACUUM") == "1"
	day1 := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	spec := gen.Spec{People: people, Targets: 10, Seed: 1, AsOf: day1, Shuffled: shuffled}
	runSpec := func(asOf time.Time) reconcile.RunSpec {
		rs := reconcile.RunSpec{AsOf: asOf, Mode: reconcile.Report, Sources: []reconcile.SourceSpec{{Name: "hr", Type: "gen", Source: gen.Source{Spec: spec}}}}
		for t := range spec.Targets {
			rs.Targets = append(rs.Targets, reconcile.TargetSpec{Name: gen.TargetName(t), Type: "gen", Target: gen.Target{Spec: spec, Index: t}})
		}
		return rs
	}
	// size returns the bytes the store uses, all and in its findings'
	// tables (and their indexes); ok is false when it cannot tell.
	type size func() (all, findings int64, ok bool)
	stores := []struct {
		name string
		// open returns the store, its size, and what the database's
		// maintenance does between two nightly runs (nil: nothing).
		open func(b *testing.B) (reconcile.Store, size, func())
	}{
		{"sqlite", func(b *testing.B) (reconcile.Store, size, func()) {
			path := filepath.Join(b.TempDir(), "state.db")
			st, err := store.Open(context.Background(), path)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st, func() (int64, int64, bool) {
				out, err := exec.Command("sqlite3", path, `SELECT SUM(pgsize), SUM(CASE WHEN name LIKE '%finding%' THEN pgsize ELSE 0 END) FROM dbstat`).Output()
				if err != nil {
					return 0, 0, false
				}
				var all, findings int64
				_, err = fmt.Sscanf(strings.TrimSpace(string(out)), "%d|%d", &all, &findings)
				return all, findings, err == nil
			}, nil
		}},
		{"postgres", func(b *testing.B) (reconcile.Store, size, func()) {
			dsn := schemaDSN(b)
			st, err := pgstore.Open(context.Background(), dsn)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			db, err := sql.Open("pgx", dsn)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			return st, func() (int64, int64, bool) {
					var all, findings int64
					err := db.QueryRow(`SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0),
					COALESCE(SUM(pg_total_relation_size(c.oid)) FILTER (WHERE c.relname LIKE '%finding%'), 0)
					FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
					WHERE n.nspname = current_schema() AND c.relkind = 'r'`).Scan(&all, &findings)
					return all, findings, err == nil
				}, func() {
					// Autovacuum's pass in the day between two nightly runs
					// (its naptime is a minute; the benchmark's days are
					// seconds apart): the dead row versions of the day's
					// updates become free space the next day reuses.
					if _, err := db.Exec(`VACUUM`); err != nil {
						b.Fatal(err)
					}
				}
		}},
	}
	for _, s := range stores {
		b.Run(s.name, func(b *testing.B) {
			accounts, findings := 0, 0
			var grew, findingsGrew, laterGrew, laterFindings int64
			measured := true
			for b.Loop() {
				b.StopTimer()
				st, size, nightly := s.open(b)
				e := &reconcile.Engine{Store: st, Log: slog.New(slog.DiscardHandler)}
				if _, err := e.Run(context.Background(), runSpec(day1)); err != nil {
					b.Fatal(err)
				}
				all1, f1, ok1 := size()
				b.StartTimer()
				res, err := e.Run(context.Background(), runSpec(day1.AddDate(0, 0, 1)))
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				all2, f2, ok2 := size()
				b.StartTimer()
				if accounts, findings = res.Run.Counts["accounts"], res.Run.Counts["findings"]; accounts == 0 {
					b.Fatal("no accounts")
				}
				grew, findingsGrew, measured = all2-all1, f2-f1, measured && ok1 && ok2
				// Later days, untimed: what the store grows by once the
				// first day's updates have left their free space behind.
				b.StopTimer()
				for d := range moreDays {
					if vacuum && nightly != nil {
						nightly()
					}
					if _, err := e.Run(context.Background(), runSpec(day1.AddDate(0, 0, 2+d))); err != nil {
						b.Fatal(err)
					}
				}
				allN, fN, okN := size()
				laterGrew, laterFindings, measured = allN-all2, fN-f2, measured && okN
				b.StartTimer()
			}
			b.ReportMetric(float64(accounts), "accounts/run")
			b.ReportMetric(float64(findings), "findings/run")
			if measured {
				b.ReportMetric(float64(grew), "store-B/day")
				b.ReportMetric(float64(findingsGrew), "findings-B/day")
				if moreDays > 0 {
					b.ReportMetric(float64(laterGrew)/float64(moreDays), "later-store-B/day")
					b.ReportMetric(float64(laterFindings)/float64(moreDays), "later-findings-B/day")
				}
			}
		})
	}
}
