// Package metrics reads the store into Prometheus metrics: for serve's
// /metrics (through a Cache, rebuilt when a run has finished, not per
// scrape) and for `run --metrics-file` (node_exporter textfile).
package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runner"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/sla"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// Observability: /healthz, /readyz, /metrics for serve, and the same
// metrics as a node_exporter textfile for `run --metrics-file`. The metrics
// are read from the store at scrape time (a fresh registry per scrape, never
// the global one), so serve and a run started by an external scheduler
// report the same thing; only the webhook counter lives in the process.
// serve keeps the registry in a Cache: the store is read again only when a
// run (of any process) has finished since.

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
func Registry(ctx context.Context, cfg *config.Config, st storefile.Store, extra ...prometheus.Collector) (*prometheus.Registry, error) {
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
	pending, err := runner.NotifyPendingCollector(ctx, st)
	if err != nil {
		return nil, err
	}
	reg.MustRegister(pending)
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
	ttr, err := timeToRevoke(ctx, cfg, st)
	if err != nil {
		return nil, err
	}
	reg.MustRegister(ttr)
	return reg, nil
}

// gaugeFunc registers a gauge vector.
type gaugeFunc func(name, help string, labels ...string) *prometheus.GaugeVec

// jobGauges are the latest run of each job: when, how long, its status, and
// the latest success.
func jobGauges(ctx context.Context, st storefile.Store, gauge gaugeFunc) error {
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
func fullRunGauges(ctx context.Context, st storefile.Store, gauge gaugeFunc) error {
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

// timeToRevoke is the time-to-revoke histogram per tier: every verified
// revocation measured by the policy's one SLA computation (Policy.Clock:
// from HR's effective time, or the webhook's receipt when earlier). Every
// tier of the policy is present, with all its buckets, even with no
// revocation yet: an alert on it sees zeros, not an absence.
func timeToRevoke(ctx context.Context, cfg *config.Config, st storefile.Store) (*prometheus.HistogramVec, error) {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "accessrecon_time_to_revoke_seconds",
		Help:    "Time from HR effective termination/suspension (or the webhook's receipt, when earlier) to verified revocation, per SLA tier.",
		Buckets: ttrBuckets}, []string{"tier"})
	tiers := []string{string(reconcile.TierCritical), string(reconcile.TierStandard), string(reconcile.TierLow)}
	for t := range cfg.Policy.SLA {
		tiers = append(tiers, t)
	}
	for _, t := range tiers {
		h.WithLabelValues(t)
	}
	// The revocations as `accessrecon sla` counts them: an account is
	// revoked once its automatic steps are verified and every person's
	// step is acknowledged (sla.Entries, each measured by Policy.Clock).
	entries, err := sla.Entries(ctx, cfg, st, time.Time{})
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		h.WithLabelValues(e.Tier).Observe(e.Elapsed.Seconds())
	}
	return h, nil
}

// WriteFile writes the store's metrics in the textfile format that
// node_exporter's textfile collector reads (written atomically).
func WriteFile(ctx context.Context, path string, cfg *config.Config, st storefile.Store) error {
	reg, err := Registry(ctx, cfg, st)
	if err != nil {
		return err
	}
	return prometheus.WriteToTextfile(path, reg)
}

// Cache is serve's store metrics: gathered once and kept until a run (of
// this process or another on the store) finishes, or the configuration
// changes, instead of reading the store on every scrape.
type Cache struct {
	st  storefile.Store
	cfg func() *config.Config

	mu  sync.Mutex
	key string
	mfs []*dto.MetricFamily
	// Rebuilds counts the rebuilds (tests).
	Rebuilds int
}

// NewCache is the cache of st's metrics under the current configuration.
func NewCache(st storefile.Store, cfg func() *config.Config) *Cache {
	return &Cache{st: st, cfg: cfg}
}

// cacheTimeout bounds one rebuild.
const cacheTimeout = time.Minute

// Gather implements prometheus.Gatherer: the cached families, rebuilt first
// when a run has finished since. Concurrent scrapes share one rebuild.
func (c *Cache) Gather() ([]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cacheTimeout)
	defer cancel()
	cfg := c.cfg()
	c.mu.Lock()
	defer c.mu.Unlock()
	// What the metrics are made of changes only when a run ends (its status,
	// findings, actions, collections) or is marked crashed.
	mark, err := c.st.FinishedRunsMark(ctx)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	key := fmt.Sprintf("%p %s", cfg, mark)
	if key == c.key && c.mfs != nil {
		return c.mfs, nil
	}
	reg, err := Registry(ctx, cfg, c.st)
	if err != nil {
		return nil, err
	}
	mfs, err := reg.Gather()
	if err != nil {
		return nil, err
	}
	c.key, c.mfs = key, mfs
	c.Rebuilds++
	return mfs, nil
}
