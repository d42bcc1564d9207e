package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// Observability: /healthz, /readyz, /metrics for serve, and the same
// metrics as a node_exporter textfile for `run --metrics-file`. The metrics
// are read from the store at scrape time (a fresh registry per scrape, never
// the global one), so serve and a run started by an external scheduler
// report the same thing; only the webhook counter lives in the process.

// webhookCounter counts webhook requests by endpoint and result.
type webhookCounter struct{ vec *prometheus.CounterVec }

func newWebhookCounter() *webhookCounter {
	return &webhookCounter{vec: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "accessrecon_webhook_requests_total", Help: "HR webhook requests by endpoint and result.",
	}, []string{"endpoint", "result"})}
}

func (c *webhookCounter) inc(endpoint, result string) { c.vec.WithLabelValues(endpoint, result).Inc() }

// runStatuses are the one-hot values of accessrecon_job_last_run_status.
var runStatuses = []reconcile.Status{reconcile.StatusCompleted, reconcile.StatusGuardTripped, reconcile.StatusPartial, reconcile.StatusFailed, reconcile.StatusCancelled}

// ttrBuckets are the time-to-revoke histogram's buckets, in seconds.
var ttrBuckets = []float64{60, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600, 72 * 3600, 7 * 24 * 3600, 30 * 24 * 3600}

// jobLabel names a run's job in metrics: manual runs have none.
func jobLabel(job string) string {
	if job == "" {
		return "manual"
	}
	return job
}

// buildRegistry reads the store into a new registry.
func buildRegistry(ctx context.Context, cfg *Config, st *store.Store, extra ...prometheus.Collector) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	for _, c := range extra {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
		reg.MustRegister(g)
		return g
	}
	lastTime := gauge("accessrecon_job_last_run_timestamp_seconds", "When the latest finished run of each job finished (Unix time).", "job")
	lastStatus := gauge("accessrecon_job_last_run_status", "Status of the latest finished run of each job (1 for its status).", "job", "status")
	lastOK := gauge("accessrecon_job_last_success_timestamp_seconds", "When the latest completed (or guard-tripped) run of each job started.", "job")
	lastDur := gauge("accessrecon_job_last_run_duration_seconds", "How long the latest finished run of each job took.", "job")
	findings := gauge("accessrecon_findings", "Findings of the latest finished full run, by kind, disposition and target.", "kind", "disposition", "target")
	findingsRun := gauge("accessrecon_findings_run_id", "The run the accessrecon_findings figures come from.")
	collDur := gauge("accessrecon_collection_duration_seconds", "Collection time of each source and target in the latest finished full run.", "side", "name")
	collAcc := gauge("accessrecon_collection_accounts", "Accounts (targets) or people (sources) collected in the latest finished full run.", "side", "name")
	collOK := gauge("accessrecon_collection_ok", "1 when the collection in the latest finished full run was complete.", "side", "name")
	revocations := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "accessrecon_revocations_total",
		Help: "Revocation actions the executor carried out (as kept in the store), by target and outcome."}, []string{"target", "outcome"})
	reg.MustRegister(revocations)

	jobs, err := st.Jobs(ctx)
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		last, err := st.LastRunOf(ctx, j)
		if err == nil {
			lastTime.WithLabelValues(jobLabel(j)).Set(float64(last.FinishedAt.UnixMilli()) / 1000)
			lastDur.WithLabelValues(jobLabel(j)).Set(last.FinishedAt.Sub(last.StartedAt).Seconds())
			for _, s := range runStatuses {
				v := 0.0
				if s == last.Status {
					v = 1
				}
				lastStatus.WithLabelValues(jobLabel(j), string(s)).Set(v)
			}
		} else if !errors.Is(err, store.ErrNoRun) {
			return nil, err
		}
		ok, err := st.LastRunOf(ctx, j, reconcile.StatusCompleted, reconcile.StatusGuardTripped)
		if err == nil {
			lastOK.WithLabelValues(jobLabel(j)).Set(float64(ok.StartedAt.UnixMilli()) / 1000)
		} else if !errors.Is(err, store.ErrNoRun) {
			return nil, err
		}
	}

	full, err := latestFullRun(ctx, st)
	if err != nil {
		return nil, err
	}
	if full.ID > 0 {
		findingsRun.WithLabelValues().Set(float64(full.ID))
		bodies, err := st.FindingBodies(ctx, full.ID)
		if err != nil {
			return nil, err
		}
		for _, b := range bodies {
			var f reconcile.Finding
			if err := json.Unmarshal(b, &f); err != nil {
				return nil, err
			}
			findings.WithLabelValues(string(f.Kind), string(f.Disposition), f.Target).Inc()
		}
		colls, err := st.Collections(ctx, full.ID)
		if err != nil {
			return nil, err
		}
		for _, c := range colls {
			collDur.WithLabelValues(string(c.Side), c.Name).Set(c.Duration.Seconds())
			collAcc.WithLabelValues(string(c.Side), c.Name).Set(float64(c.Count))
			v := 0.0
			if c.Status == "ok" {
				v = 1
			}
			collOK.WithLabelValues(string(c.Side), c.Name).Set(v)
		}
	}

	counts, err := st.ActionCounts(ctx)
	if err != nil {
		return nil, err
	}
	for k, n := range counts {
		revocations.WithLabelValues(k[0], k[1]).Add(float64(n))
	}

	entries, err := slaEntries(ctx, cfg, st, time.Time{})
	if err != nil {
		return nil, err
	}
	reg.MustRegister(ttrCollector(entries))
	return reg, nil
}

// latestFullRun is the newest finished run of full scope (zero Run if none).
func latestFullRun(ctx context.Context, st *store.Store) (store.Run, error) {
	r, err := st.LatestFinishedFullRun(ctx)
	if errors.Is(err, store.ErrNoRun) {
		return store.Run{}, nil
	}
	return r, err
}

// ttrCollector is the time-to-revoke histogram per tier, built from the SLA
// entries (from HR's effective time, or the webhook's receipt when earlier,
// to the verified revocation).
func ttrCollector(entries []slaEntry) prometheus.Collector {
	type acc struct {
		count   uint64
		sum     float64
		buckets map[float64]uint64
	}
	byTier := map[string]*acc{}
	for _, e := range entries {
		a := byTier[e.Tier]
		if a == nil {
			a = &acc{buckets: map[float64]uint64{}}
			byTier[e.Tier] = a
		}
		v := e.Elapsed.Seconds()
		a.count++
		a.sum += v
		for _, b := range ttrBuckets {
			if v <= b {
				a.buckets[b]++
			}
		}
	}
	desc := prometheus.NewDesc("accessrecon_time_to_revoke_seconds",
		"Time from HR effective termination/suspension (or the webhook's receipt, when earlier) to verified revocation, per SLA tier.", []string{"tier"}, nil)
	var ms []prometheus.Metric
	tiers := make([]string, 0, len(byTier))
	for t := range byTier {
		tiers = append(tiers, t)
	}
	sort.Strings(tiers)
	for _, t := range tiers {
		a := byTier[t]
		ms = append(ms, prometheus.MustNewConstHistogram(desc, a.count, a.sum, a.buckets, t))
	}
	return constCollector{desc: desc, metrics: ms}
}

type constCollector struct {
	desc    *prometheus.Desc
	metrics []prometheus.Metric
}

func (c constCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c constCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.metrics {
		ch <- m
	}
}

// writeMetricsFile writes the store's metrics in the textfile format that
// node_exporter's textfile collector reads (written atomically).
func writeMetricsFile(ctx context.Context, path string, cfg *Config, st *store.Store, _ *reconcile.Result) error {
	reg, err := buildRegistry(ctx, cfg, st)
	if err != nil {
		return err
	}
	return prometheus.WriteToTextfile(path, reg)
}

// routes is serve's HTTP surface.
func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		cfg := s.cfg
		s.mu.Unlock()
		reg, err := buildRegistry(r.Context(), cfg, s.st, s.hooks.counts.vec)
		if err != nil {
			s.log.Error("metrics", "err", err)
			http.Error(w, "metrics: "+err.Error(), http.StatusInternalServerError)
			return
		}
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	})
	mux.HandleFunc("/hooks/bamboohr", s.hookBambooHR)
	mux.HandleFunc("/hooks/hr", s.hookHR)
	return mux
}

// readyz: the store answers, the configuration is valid (the last reload
// did not fail), and the latest run has not been failing past the
// threshold.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	cfg, reloadErr := s.cfg, s.reloadErr
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	var problems []string
	if err := s.st.Ping(ctx); err != nil {
		problems = append(problems, err.Error())
	}
	if reloadErr != nil {
		problems = append(problems, "config: the last reload failed: "+reloadErr.Error())
	}
	if len(problems) == 0 {
		if why := s.failingTooLong(ctx, durOr(cfg.Serve.UnreadyAfter, time.Hour)); why != "" {
			problems = append(problems, why)
		}
	}
	if len(problems) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "problems": problems})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *server) failingTooLong(ctx context.Context, after time.Duration) string {
	last, err := s.st.LatestRun(ctx)
	if err != nil || last.Status != reconcile.StatusFailed {
		return ""
	}
	since, err := s.st.LastSucceededAt(ctx)
	if err != nil {
		return err.Error()
	}
	from := last.StartedAt
	if !since.IsZero() {
		from = since
	}
	if d := s.now().Sub(from); d > after {
		return "runs failing: the latest run (" + last.Job + ") failed and nothing has succeeded for " + d.Round(time.Second).String() + ": " + last.Error
	}
	return ""
}
