package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// testStore is a store with one finished full run of n findings, revoked
// of which one in tier critical 2h after HR's effective time.
func testStore(tb testing.TB, n, revoked int) (*store.Store, *config.Config) {
	tb.Helper()
	dir := tb.TempDir()
	cfg, err := config.Parse([]byte("store: accessrecon.db\nsources: [{name: hr, type: csv, config: {path: hr.csv}}]\ntargets: [{name: app, type: csv, config: {path: app.csv}}]\npolicy: {sla: {critical: 15m, standard: 1h, low: 24h}}\n"), filepath.Join(dir, "schedule.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "accessrecon.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	addRun(tb, st, n, revoked)
	return st, cfg
}

// addRun stores a finished full run of n findings (revoked of them revoked).
func addRun(tb testing.TB, st *store.Store, n, revoked int) int64 {
	tb.Helper()
	ctx := context.Background()
	at := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	id, err := st.BeginRun(ctx, store.Run{AsOf: at, StartedAt: at, Mode: "enforce", Scope: "full"})
	if err != nil {
		tb.Fatal(err)
	}
	rows := make([]store.FindingRow, n)
	for i := range rows {
		eff := at.Add(-2 * time.Hour)
		f := reconcile.Finding{Fingerprint: fmt.Sprintf("fp%06d", i), Kind: reconcile.TerminatedActive, Target: "app",
			AccountID: fmt.Sprintf("a%06d", i), EmployeeID: fmt.Sprintf("E%06d", i), Disposition: reconcile.AutoRevoke,
			EffectiveAt: &eff, Tier: "critical"}
		if i < revoked {
			f.RevokedAt = &at
		}
		body, _ := json.Marshal(f)
		rows[i] = store.FindingRow{Fingerprint: f.Fingerprint, Kind: string(f.Kind), Severity: "high", Disposition: string(f.Disposition),
			Target: f.Target, AccountID: f.AccountID, EmployeeID: f.EmployeeID, FirstSeen: at, Body: body}
	}
	if _, err := st.SaveFindings(ctx, id, at, reconcile.SortedRows(rows...), func(string, string) bool { return true }); err != nil {
		tb.Fatal(err)
	}
	if err := st.FinishRun(store.Run{ID: id, FinishedAt: at.Add(time.Minute), Status: reconcile.StatusCompleted, Mode: "enforce"}); err != nil {
		tb.Fatal(err)
	}
	return id
}

func family(tb testing.TB, mfs []*dto.MetricFamily, name string) *dto.MetricFamily {
	tb.Helper()
	i := slices.IndexFunc(mfs, func(mf *dto.MetricFamily) bool { return mf.GetName() == name })
	if i < 0 {
		tb.Fatalf("no %s", name)
	}
	return mfs[i]
}

// The time-to-revoke histogram has every bucket of every tier, empty ones
// included (a tier with no revocation reads zero, not absent), and the
// revocation 2h after HR's effective time lands in the 4h bucket.
func TestTimeToRevokeHasEveryBucket(t *testing.T) {
	st, cfg := testStore(t, 3, 1)
	reg, err := Registry(context.Background(), cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*dto.Histogram{}
	for _, m := range family(t, mfs, "accessrecon_time_to_revoke_seconds").GetMetric() {
		got[m.GetLabel()[0].GetValue()] = m.GetHistogram()
	}
	for _, tier := range []string{"critical", "standard", "low"} {
		h := got[tier]
		if h == nil {
			t.Errorf("tier %s: no histogram", tier)
			continue
		}
		if len(h.GetBucket()) != len(ttrBuckets) {
			t.Errorf("tier %s: %d buckets, want all %d", tier, len(h.GetBucket()), len(ttrBuckets))
		}
	}
	if h := got["critical"]; h != nil {
		if h.GetSampleCount() != 1 || h.GetSampleSum() != 7200 {
			t.Errorf("critical: count %d sum %v, want 1 and 7200", h.GetSampleCount(), h.GetSampleSum())
		}
		for _, b := range h.GetBucket() {
			want := uint64(0)
			if b.GetUpperBound() >= 7200 {
				want = 1
			}
			if b.GetCumulativeCount() != want {
				t.Errorf("critical le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
			}
		}
	}
	if h := got["low"]; h != nil && h.GetSampleCount() != 0 {
		t.Errorf("low: count %d, want 0", h.GetSampleCount())
	}
}

// The cache reads the store again only when a run has finished since.
func TestCacheRebuildsWhenARunFinishes(t *testing.T) {
	st, cfg := testStore(t, 5, 0)
	c := NewCache(st, func() *config.Config { return cfg })
	for range 3 {
		if _, err := c.Gather(); err != nil {
			t.Fatal(err)
		}
	}
	if c.Rebuilds != 1 {
		t.Fatalf("3 scrapes, no run between: %d rebuilds, want 1", c.Rebuilds)
	}
	id := addRun(t, st, 7, 0)
	mfs, err := c.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if c.Rebuilds != 2 {
		t.Fatalf("a scrape after a run finished: %d rebuilds, want 2", c.Rebuilds)
	}
	if v := family(t, mfs, "accessrecon_findings_run_id").GetMetric()[0].GetGauge().GetValue(); v != float64(id) {
		t.Errorf("accessrecon_findings_run_id = %v, want the new run %d", v, id)
	}
}

// BenchmarkScrape: 10 concurrent scrapers of /metrics over loopback, with a
// store of 55,000 findings: a registry built from the store per scrape (as
// before) against the cache. Reports p50/p95 scrape latency.
func BenchmarkScrape(b *testing.B) {
	st, cfg := testStore(b, 55000, 2000)
	perScrape := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reg, err := Registry(r.Context(), cfg, st)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	})
	cached := promhttp.HandlerFor(prometheus.Gatherers{NewCache(st, func() *config.Config { return cfg })}, promhttp.HandlerOpts{})
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"per-scrape", perScrape}, {"cached", cached}} {
		b.Run(c.name, func(b *testing.B) {
			srv := httptest.NewServer(c.h)
			defer srv.Close()
			const scrapers = 10
			var mu sync.Mutex
			var lat []time.Duration
			b.ResetTimer()
			next := make(chan struct{})
			var wg sync.WaitGroup
			for range scrapers {
				wg.Go(func() {
					for range next {
						t0 := time.Now()
						resp, err := http.Get(srv.URL)
						if err != nil {
							b.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						mu.Lock()
						lat = append(lat, time.Since(t0))
						mu.Unlock()
					}
				})
			}
			for range b.N {
				next <- struct{}{}
			}
			close(next)
			wg.Wait()
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*95/100)].Microseconds())/1000, "p95-ms")
		})
	}
}
