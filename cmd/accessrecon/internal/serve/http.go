package serve

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/metrics"
	"github.com/accessrecon/accessrecon/reconcile"
)

// routes is serve's HTTP surface.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		cfg := s.cfg
		s.mu.Unlock()
		reg, err := metrics.Registry(r.Context(), cfg, s.st, s.hooks.counts.Vec)
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
