package runner

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/reports/notify"
)

// notifySetup is a store and a config whose run has an open SLA breach (a
// leaver terminated months ago, still enabled) and one webhook sink at url.
func notifySetup(t *testing.T, url string) (*config.Config, *store.Store) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("ACCESSRECON_TEST_NOTIFY_SECRET", "0123456789abcdef0123")
	for name, body := range map[string]string{
		"hr.csv":  "employee_id,email,status,termination_date\nE1,a@x,active,\nE2,b@x,terminated,2026-01-05\n",
		"vpn.csv": "account_id,username,email,employee_id,enabled\nv1,a,a@x,E1,true\nv2,b,b@x,E2,true\n",
		"schedule.yaml": "sources: [{name: hr, type: csv, config: {path: hr.csv}}]\n" +
			"targets: [{name: vpn, type: csv, config: {path: vpn.csv}}]\n" +
			"policy: {sla: {critical: 15m, standard: 1h, low: 24h}}\n" +
			"reports:\n  notify:\n    timeout: 5s\n    sinks:\n      - name: siem\n        webhook:\n          url: " + url + "\n          secret_env: ACCESSRECON_TEST_NOTIFY_SECRET\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Load(filepath.Join(dir, "schedule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), cfg.StorePath())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return cfg, st
}

// A sink that is down never fails the run: its notification waits in the
// store's outbox (kind notify), counted for /metrics, and the next run
// delivers it before its own.
func TestNotificationsThroughTheStoreOutbox(t *testing.T) {
	var up atomic.Bool
	var mu sync.Mutex
	var got []notify.Event
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var ev notify.Event
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Errorf("delivery: %v", err)
		}
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
	}))
	defer srv.Close()
	cfg, st := notifySetup(t, srv.URL)
	ctx := context.Background()
	env := Env{Store: st, Log: slog.New(slog.DiscardHandler)}

	// A dry run tells nobody.
	if _, err := Run(ctx, cfg, env, Request{DryRun: true, Reports: Set{}}); err != nil {
		t.Fatal(err)
	}
	if p, _ := NotifyPending(ctx, st); len(p) != 0 {
		t.Fatalf("a dry run queued notifications: %v", p)
	}

	res, err := Run(ctx, cfg, env, Request{Reports: Set{}})
	if err != nil || res.Run.Status != reconcile.StatusCompleted {
		t.Fatalf("run with the sink down: %v (%v), want completed", err, res.Run.Status)
	}
	pending, err := NotifyPending(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if pending["siem"] != 1 {
		t.Fatalf("pending with the sink down: %v, want siem: 1 (the run's sla_breach)", pending)
	}
	col, err := NotifyPendingCollector(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(col)
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || mfs[0].GetName() != "accessrecon_notify_pending" || mfs[0].GetMetric()[0].GetGauge().GetValue() != 1 ||
		mfs[0].GetMetric()[0].GetLabel()[0].GetValue() != "siem" {
		t.Errorf("the pending gauge: %v %v, want accessrecon_notify_pending{sink=\"siem\"} 1", mfs, err)
	}
	items, err := st.OutboxPending(ctx, NotifyOutboxKind)
	if err != nil || len(items) != 1 {
		t.Fatalf("outbox kind %q: %d items, %v", NotifyOutboxKind, len(items), err)
	}

	up.Store(true)
	res2, err := Run(ctx, cfg, env, Request{Reports: Set{}})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := NotifyPending(ctx, st); len(p) != 0 {
		t.Errorf("pending after the sink came back: %v", p)
	}
	mu.Lock()
	defer mu.Unlock()
	runs := map[int64]notify.EventType{}
	for _, ev := range got {
		runs[ev.RunID] = ev.Type
	}
	if len(got) != 2 || runs[res.Run.ID] != notify.EventSLABreach || runs[res2.Run.ID] != notify.EventSLABreach {
		t.Errorf("delivered %+v, want the sla_breach of run %d (kept) and of run %d", runs, res.Run.ID, res2.Run.ID)
	}
}

// A notify config the wiring cannot complete (a secret's variable unset)
// is said, and never fails the run.
func TestNotificationsMisconfiguredNeverFailTheRun(t *testing.T) {
	cfg, st := notifySetup(t, "http://127.0.0.1:1/")
	os.Unsetenv("ACCESSRECON_TEST_NOTIFY_SECRET")
	res, err := Run(context.Background(), cfg, Env{Store: st, Log: slog.New(slog.DiscardHandler)}, Request{Reports: Set{}})
	if err != nil || res.Run.Status != reconcile.StatusCompleted {
		t.Fatalf("run: %v (%v), want completed", err, res)
	}
	if nt, err := Notifier(cfg, slog.New(slog.DiscardHandler)); nt != nil || err == nil {
		t.Errorf("Notifier without its secret: %v, %v; want an error naming the variable", nt, err)
	}
}
