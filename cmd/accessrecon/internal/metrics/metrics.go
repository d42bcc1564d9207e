// Package metrics reads the store into Prometheus metrics: for serve's
// /metrics and for `run --metrics-file` (node_exporter textfile).
package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/sla"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// Observability: /healthz, /readyz, /metrics for serve, and the same
// metrics as a node_exporter textfile for `run --metrics-file`. The metrics
// are read from the store at scrape time (a fresh registry per scrape, never
// the global one), so serve and a run started by an external scheduler
// report the same thing; only the webhook counter lives in the process.

// WebhookCounter counts webhook requests by endpoint and result.
type WebhookCounter struct{ Vec *prometheus.CounterVec }

// NewWebhookCounter is a zeroed counter.
func NewWebhookCounter() *WebhookCounter {
	return &WebhookCounter{Vec: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "accessrecon_webhook_requests_total", Help: "HR webhook requests by endpoint and result.",
	}, []string{"endpoint", "result"})}
}

// Inc counts one request.
func (c *WebhookCounter) Inc(endpoint, result string) { c.Vec.WithLabelValues(endpoint, result).Inc() }

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

// Registry reads the store into a new registry.
func Registry(ctx context.Context, cfg *config.Config, st *store.Store, extra ...prometheus.Collector) (*prometheus.Registry, error) {
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
	if err := jobGauges(ctx, st, gauge); err != nil {
		return nil, err
	}
	if err := fullRunGauges(ctx, st, gauge); err != nil {
		return nil, err
	}
	revocations := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "accessrecon_revocations_total",
		Help: "Revocation actions the executor carried out (as kept in the store), by target and outcome."}, []string{"target", "outcome"})
	reg.MustRegister(revocations)
	counts, err := st.ActionCounts(ctx)
	if err != nil {
		return nil, err
	}
	for k, n := range counts {
		revocations.WithLabelValues(k[0], k[1]).Add(float64(n))
	}
	entries, err := sla.Entries(ctx, cfg, st, time.Time{})
	if err != nil {
		return nil, err
	}
	reg.MustRegister(ttrCollector(entries))
	return reg, nil
}

// gaugeFunc registers a gauge vector.
type gaugeFunc func(name, help string, labels ...string) *prometheus.GaugeVec

// jobGauges are the latest run of each job: when, how long, its status, and
// the latest success.
func jobGauges(ctx context.Context, st *store.Store, gauge gaugeFunc) error {
	lastTime := gauge("accessrecon_job_last_run_timestamp_seconds", "When the latest finished run of each job finished (Unix time).", "job")
	lastStatus := gauge("accessrecon_job_last_run_status", "Status of the latest finished run of each job (1 for its status).", "job", "status")
	lastOK := gauge("accessrecon_job_last_success_timestamp_seconds", "When the latest completed (or guard-tripped) run of each job started.", "job")
	lastDur := gauge("accessrecon_job_last_run_duration_seconds", "How long the latest finished run of each job took.", "job")
	jobs, err := st.Jobs(ctx)
	if err != nil {
		return err
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
			return err
		}
		ok, err := st.LastRunOf(ctx, j, reconcile.StatusCompleted, reconcile.StatusGuardTripped)
		if err == nil {
			lastOK.WithLabelValues(jobLabel(j)).Set(float64(ok.StartedAt.UnixMilli()) / 1000)
		} else if !errors.Is(err, store.ErrNoRun) {
			return err
		}
	}
	return nil
}

// fullRunGauges are the findings and collections of the latest finished
// full run.
func fullRunGauges(ctx context.Context, st *store.Store, gauge gaugeFunc) error {
	findings := gauge("accessrecon_findings", "Findings of the latest finished full run, by kind, disposition and target.", "kind", "disposition", "target")
	findingsRun := gauge("accessrecon_findings_run_id", "The run the accessrecon_findings figures come from.")
	collDur := gauge("accessrecon_collection_duration_seconds", "Collection time of each source and target in the latest finished full run.", "side", "name")
	collAcc := gauge("accessrecon_collection_accounts", "Accounts (targets) or people (sources) collected in the latest finished full run.", "side", "name")
	collOK := gauge("accessrecon_collection_ok", "1 when the collection in the latest finished full run was complete.", "side", "name")
	full, err := sla.LatestFinishedFullRun(ctx, st)
	if err != nil || full.ID == 0 {
		return err
	}
	findingsRun.WithLabelValues().Set(float64(full.ID))
	bodies, err := st.FindingBodies(ctx, full.ID)
	if err != nil {
		return err
	}
	for _, b := range bodies {
		var f reconcile.Finding
		if err := json.Unmarshal(b, &f); err != nil {
			return err
		}
		findings.WithLabelValues(string(f.Kind), string(f.Disposition), f.Target).Inc()
	}
	colls, err := st.Collections(ctx, full.ID)
	if err != nil {
		return err
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
	return nil
}

// ttrCollector is the time-to-revoke histogram per tier, built from the SLA
// entries (from HR's effective time, or the webhook's receipt when earlier,
// to the verified revocation).
func ttrCollector(entries []sla.Entry) prometheus.Collector {
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

// WriteFile writes the store's metrics in the textfile format that
// node_exporter's textfile collector reads (written atomically).
func WriteFile(ctx context.Context, path string, cfg *config.Config, st *store.Store) error {
	reg, err := Registry(ctx, cfg, st)
	if err != nil {
		return err
	}
	return prometheus.WriteToTextfile(path, reg)
}
