package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/reports/notify"
	"github.com/accessrecon/accessrecon/targets"
)

// NotifyOutboxKind is the store outbox kind of undelivered notifications.
const NotifyOutboxKind = "notify"

// Notifier builds the notifier of reports.notify, its secrets read from
// the environment or files (nil, nil when notifications are not
// configured).
func Notifier(cfg *config.Config, log *slog.Logger) (*notify.Notifier, error) {
	if cfg.Reports.Notify == nil {
		return nil, nil
	}
	nc := *cfg.Reports.Notify
	nc.Sinks = deepSinks(nc.Sinks)
	red := targets.NewRedactor()
	if err := config.Prepare(&nc, cfg.Dir(), "reports.notify", red); err != nil {
		return nil, err
	}
	n, err := notify.New(nc, log)
	if err != nil {
		return nil, fmt.Errorf("reports.notify: %s", red.Redact(err.Error()))
	}
	return n, nil
}

// deepSinks copies the sinks and their per-kind settings, so that the
// secrets Prepare writes into them never reach the shared config.
func deepSinks(in []notify.Sink) []notify.Sink {
	out := make([]notify.Sink, len(in))
	for i, s := range in {
		if s.Slack != nil {
			c := *s.Slack
			s.Slack = &c
		}
		if s.Teams != nil {
			c := *s.Teams
			s.Teams = &c
		}
		if s.Email != nil {
			c := *s.Email
			s.Email = &c
		}
		if s.Webhook != nil {
			c := *s.Webhook
			s.Webhook = &c
		}
		out[i] = s
	}
	return out
}

// sendNotifications tells the configured sinks what the run did. A sink
// that is down never fails the run: what it did not take stays in the
// store's outbox for the next run, and is said through n.
func sendNotifications(ctx context.Context, cfg *config.Config, st storefile.Store, res *reconcile.Result, n notifier) error {
	nt, err := Notifier(cfg, n.log)
	if err != nil || nt == nil {
		return err
	}
	oc, err := nt.Send(ctx, res, NotifyOutbox{st})
	s := oc.Stats
	n.say(fmt.Sprintf("notifications: %d delivered, %d kept for the next run, %d dropped", s.Delivered, s.Pending, s.Dropped),
		"notifications sent", "run", res.Run.ID, "delivered", s.Delivered, "pending", s.Pending, "dropped", s.Dropped)
	if errors.Is(err, notify.ErrDeferred) {
		n.warn(fmt.Sprintf("notifications deferred: %v", err), "notifications deferred", "run", res.Run.ID, "err", err)
		return nil
	}
	return err
}

// NotifyPending counts the undelivered notifications per sink, for
// /metrics (accessrecon_notify_pending{sink}).
func NotifyPending(ctx context.Context, st storefile.Store) (map[string]int, error) {
	return notify.PendingBySink(ctx, NotifyOutbox{st})
}

// NotifyPendingCollector is the gauge accessrecon_notify_pending{sink}:
// the notifications waiting in the store's outbox for the next run, read
// now (for /metrics: pass it to metrics.Registry as an extra collector).
func NotifyPendingCollector(ctx context.Context, st storefile.Store) (prometheus.Collector, error) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "accessrecon_notify_pending",
		Help: "Notifications a sink has not taken yet, kept in the store for the next run, by sink."}, []string{"sink"})
	pending, err := NotifyPending(ctx, st)
	if err != nil {
		return nil, err
	}
	for sink, n := range pending {
		g.WithLabelValues(sink).Set(float64(n))
	}
	return g, nil
}

// NotifyOutbox keeps undelivered notifications in the store's outbox
// table (kind "notify"), as jiraOutbox keeps Jira work.
type NotifyOutbox struct{ St storefile.Store }

var _ notify.Outbox = NotifyOutbox{}

func (o NotifyOutbox) Save(ctx context.Context, ns []notify.Notification) error {
	items := make([]store.OutboxItem, len(ns))
	for i, n := range ns {
		b, err := json.Marshal(n)
		if err != nil {
			return err
		}
		items[i] = store.OutboxItem{ID: n.ID, Queued: n.Queued, Body: b}
	}
	return o.St.OutboxSave(ctx, NotifyOutboxKind, items)
}

func (o NotifyOutbox) Pending(ctx context.Context) ([]notify.Notification, error) {
	items, err := o.St.OutboxPending(ctx, NotifyOutboxKind)
	if err != nil {
		return nil, err
	}
	ns := make([]notify.Notification, len(items))
	for i, it := range items {
		if err := json.Unmarshal(it.Body, &ns[i]); err != nil {
			return nil, fmt.Errorf("outbox item %s: %w", it.ID, err)
		}
	}
	return ns, nil
}

func (o NotifyOutbox) Done(ctx context.Context, id string) error {
	return o.St.OutboxDone(ctx, NotifyOutboxKind, id)
}
