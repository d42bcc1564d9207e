package serve

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/metrics"
	"github.com/accessrecon/accessrecon/reconcile"
)

// The HTTP server's bounds: a slow or idle sender's connection is closed,
// and the open connections are capped (more wait to be accepted).
const (
	defaultReadTimeout    = 10 * time.Second
	defaultMaxConnections = 64
	writeTimeout          = 30 * time.Second
	idleTimeout           = time.Minute
	maxHeaderBytes        = 64 << 10
)

// httpServer is serve's HTTP server on ln, bounded: the read timeout
// (serve.read_timeout) covers the headers and the body, and
// serve.max_connections caps the connections.
func (s *Server) httpServer(ln net.Listener) (*http.Server, net.Listener) {
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	read := config.DurOr(cfg.Serve.ReadTimeout, defaultReadTimeout)
	conns := cfg.Serve.MaxConnections
	if conns == 0 {
		conns = defaultMaxConnections
	}
	srv := &http.Server{Handler: s.routes(), ReadHeaderTimeout: read, ReadTimeout: read,
		WriteTimeout: max(writeTimeout, read), IdleTimeout: idleTimeout, MaxHeaderBytes: maxHeaderBytes,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	return srv, netutil.LimitListener(ln, conns)
}

// routes is serve's HTTP surface.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	// /metrics: the store's metrics from the cache (read again only when a
	// run has finished since) and the live webhook counter.
	live := prometheus.NewRegistry()
	live.MustRegister(s.hooks.counts.Vec)
	cache := metrics.NewCache(s.st, func() *config.Config {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.cfg
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(prometheus.Gatherers{cache, live},
		promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelError)}))
	mux.HandleFunc("/hooks/bamboohr", s.hookBambooHR)
	mux.HandleFunc("/hooks/hr", s.hookHR)
	return mux
}

// readyz: the store answers, the configuration is valid (the last reload
// did not fail), and the latest run has not been failing past the
// threshold.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
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
		if why := s.failingTooLong(ctx, config.DurOr(cfg.Serve.UnreadyAfter, time.Hour)); why != "" {
			problems = append(problems, why)
		}
	}
	if len(problems) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "problems": problems})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) failingTooLong(ctx context.Context, after time.Duration) string {
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
