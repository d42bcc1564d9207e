package xlsx

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

// benchStore fills a store with runs daily runs holding findings findings
// in all: each run revokes 20 leavers' accounts on three targets (two
// steps each, recorded as actions; the manual target's step left open),
// and sees a pool of exceptions of which
// some close and new ones open every day.
func benchStore(b *testing.B, runs, findings int) (*store.Store, time.Time, time.Time) {
	b.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	first := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	perRun := findings / runs
	tiers := []struct{ target, tier string }{{"ldap", "critical"}, {"crm", "standard"}, {"legacy", "low"}}
	kinds := []reconcile.Kind{reconcile.Orphaned, reconcile.Dormant, reconcile.ExcessAccess, reconcile.PrivilegedUnapproved, reconcile.Ambiguous}
	for day := range runs {
		asOf := first.AddDate(0, 0, day)
		id, err := st.BeginRun(ctx, store.Run{AsOf: asOf, StartedAt: asOf, Mode: "enforce", Job: "nightly", Scope: "full"})
		if err != nil {
			b.Fatal(err)
		}
		rows := make([]store.FindingRow, 0, perRun)
		var acts []store.Action
		add := func(f reconcile.Finding) {
			f.Fingerprint = reconcile.Fingerprint(f.Kind, f.Target, f.AccountID)
			body, err := json.Marshal(f)
			if err != nil {
				b.Fatal(err)
			}
			rows = append(rows, store.FindingRow{Fingerprint: f.Fingerprint, Kind: string(f.Kind), Severity: string(f.Severity), Disposition: string(f.Disposition),
				Target: f.Target, AccountID: f.AccountID, EmployeeID: f.EmployeeID, FirstSeen: f.FirstSeen, Body: body})
		}
		for p := range 20 {
			emp := fmt.Sprintf("E%05d", day*20+p)
			eff := asOf.Add(-time.Duration(5+p*7) * time.Minute)
			ref := &reconcile.PersonRef{EmployeeID: emp, Name: "Person " + emp, Status: sources.Terminated}
			for i, t := range tiers {
				f := reconcile.Finding{Kind: reconcile.TerminatedActive, Severity: reconcile.Critical, Target: t.target, AccountID: t.target + "-" + emp,
					Username: "u" + emp, EmployeeID: emp, Person: ref, Disposition: reconcile.AutoRevoke, Tier: t.tier, EffectiveAt: &eff,
					FirstSeen: asOf, Reason: "account is enabled but HR says the person is terminated", Evidence: reconcile.Evidence{{Key: "hr_status", Value: "terminated"}}}
				if i == 2 {
					f.Disposition = reconcile.ManualRevoke
					f.Actions = []reconcile.Step{{Op: targets.CanDisable, Manual: "lock the account in the legacy console"}}
				} else {
					at := asOf.Add(time.Duration(10+i*20) * time.Second)
					f.RevokedAt, f.Outcome = &at, reconcile.OutcomeDone
					f.Actions = []reconcile.Step{{Op: targets.CanDisable, Auto: true}, {Op: targets.CanRevokeSessions, Auto: true}}
					for _, op := range []string{"disable", "revoke_sessions"} {
						acts = append(acts, store.Action{RunID: id, Fingerprint: reconcile.Fingerprint(f.Kind, f.Target, f.AccountID), Target: f.Target,
							AccountID: f.AccountID, Op: op, Status: "done", Verified: true, Attempts: 1, RequestedAt: asOf, FinishedAt: at,
							Kind: string(f.Kind), EmployeeID: emp})
					}
				}
				add(f)
			}
		}
		for i := 0; len(rows) < perRun; i++ {
			// A pool that moves on by 10 a day: most exceptions stay open
			// for weeks, some close each day, some open.
			n := day*10 + i
			add(reconcile.Finding{Kind: kinds[n%len(kinds)], Severity: reconcile.Medium, Target: tiers[n%2].target, AccountID: fmt.Sprintf("acct-%06d", n),
				Username: fmt.Sprintf("user%d", n), Disposition: reconcile.Review, FirstSeen: first.AddDate(0, 0, max(0, day-i/40)),
				Reason: "needs a person's judgement", Evidence: reconcile.Evidence{{Key: "k", Value: "v"}}})
		}
		if _, err := st.SaveFindings(ctx, id, asOf, reconcile.SortedRows(rows...), func(string, string) bool { return true }); err != nil {
			b.Fatal(err)
		}
		if _, err := st.InsertActions(ctx, acts); err != nil {
			b.Fatal(err)
		}
		if err := st.FinishRun(store.Run{ID: id, FinishedAt: asOf.Add(5 * time.Minute), Status: reconcile.StatusCompleted, Mode: "enforce"}); err != nil {
			b.Fatal(err)
		}
	}
	return st, first, first.AddDate(0, 0, runs)
}

// BenchmarkWritePeriod90Runs100k: a period report over 90 runs and 100,000
// findings (goal: under 30 s and 500 MiB). peak-heap-MiB is the largest
// heap in use seen while writing (sampled every 10 ms).
func BenchmarkWritePeriod90Runs100k(b *testing.B) {
	st, from, to := benchStore(b, 90, 100_000)
	var n int
	runs, err := st.Runs(context.Background(), 0)
	for _, r := range runs {
		if err != nil {
			break
		}
		var bodies [][]byte
		bodies, err = st.FindingBodies(context.Background(), r.ID)
		n += len(bodies)
	}
	if err != nil || n < 99_000 {
		b.Fatalf("%d findings stored, %v", n, err)
	}
	pol := reconcile.DefaultPolicy()
	path := filepath.Join(b.TempDir(), "period.xlsx")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		runtime.GC()
		var peak uint64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			var m runtime.MemStats
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for {
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		}()
		if err := WritePeriod(context.Background(), st, from, to, path, PeriodOptions{Policy: pol}); err != nil {
			b.Fatal(err)
		}
		close(stop)
		wg.Wait()
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	}
}
