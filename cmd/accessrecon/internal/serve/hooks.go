package serve

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/metrics"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runlock"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runner"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/trail"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/sources/bamboohr"
	"github.com/accessrecon/accessrecon/targets"
)

// The leaver fast path: HR systems call POST /hooks/bamboohr or /hooks/hr
// when someone changes; accessrecon answers 202 at once and runs a targeted
// reconciliation of those people across every target, serialised with the
// scheduled jobs through the run lock.

// Webhook request results, the label of accessrecon_webhook_requests_total.
const (
	HookAccepted     = "accepted"
	HookBadSignature = "bad_signature"
	HookStale        = "stale_timestamp"
	HookReplayed     = "replayed"
	HookBadPayload   = "bad_payload"
	HookDisabled     = "disabled"
	HookUnavailable  = "shutting_down"
)

// hookKeys are the secrets of the hooks, read from the environment.
type hookKeys struct {
	bamboo  []byte
	hrKey   []byte
	hrToken []byte
	window  time.Duration
	mode    reconcile.Mode
	timeout time.Duration
}

func loadHookKeys(cfg *config.Config) (hookKeys, error) {
	k := hookKeys{window: config.DurOr(cfg.Hooks.ReplayWindow, 5*time.Minute), mode: cfg.Hooks.Mode, timeout: config.DurOr(cfg.Hooks.Timeout, 10*time.Minute)}
	if k.mode == "" {
		k.mode = reconcile.Enforce
	}
	get := func(key, env string) ([]byte, error) {
		if env == "" {
			return nil, nil
		}
		s, err := config.ReadSecret(targets.SecretField{Key: strings.TrimSuffix(key, "_env"), Env: env}, cfg.Dir())
		if err != nil {
			return nil, err
		}
		return []byte(s.Reveal()), nil
	}
	var err error
	if k.bamboo, err = get("hooks.bamboohr.secret_env", cfg.Hooks.BambooHR.SecretEnv); err != nil {
		return k, err
	}
	if k.hrKey, err = get("hooks.hr.secret_env", cfg.Hooks.HR.SecretEnv); err != nil {
		return k, err
	}
	if k.hrToken, err = get("hooks.hr.token_env", cfg.Hooks.HR.TokenEnv); err != nil {
		return k, err
	}
	return k, nil
}

// hookItem is one person named by an accepted request.
type hookItem struct {
	requestID  string
	source     string // bamboohr | hr
	receivedAt time.Time
	// employeeID when known, else internalID to resolve through BambooHR.
	employeeID string
	internalID string
}

// hookState holds the hooks' keys and the queue of people
// waiting for their targeted run.
type hookState struct {
	mu      sync.Mutex
	keys    hookKeys
	pending []hookItem
	closed  bool
	wake    chan struct{}
	stopped chan struct{}
	done    chan struct{}
	counts  *metrics.WebhookCounter
}

func newHookState(cfg *config.Config) (*hookState, error) {
	k, err := loadHookKeys(cfg)
	if err != nil {
		return nil, err
	}
	return &hookState{keys: k, wake: make(chan struct{}, 1),
		stopped: make(chan struct{}), done: make(chan struct{}), counts: metrics.NewWebhookCounter()}, nil
}

// update takes the keys of a reloaded config.
func (h *hookState) update(n *hookState) {
	h.mu.Lock()
	h.keys = n.keys
	h.mu.Unlock()
}

func (h *hookState) start(s *Server) { go h.worker(s) }

func (h *hookState) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.stopped)
	}
}

func (h *hookState) wait() { <-h.done }

// verify checks a request's HMAC (hex SHA-256 over body + timestamp), its
// timestamp against the replay window, and the signature against replays:
// claim records it in the store, so that a replay is refused by every serve
// on the store and after a restart.
func (h *hookState) verify(key []byte, sig, ts string, body []byte, now time.Time, claim func(sig string, expires time.Time) (bool, error)) (string, string) {
	if len(key) == 0 {
		return HookDisabled, "endpoint not configured"
	}
	if sig == "" || ts == "" {
		return HookBadSignature, "signature or timestamp header missing"
	}
	h.mu.Lock()
	window := h.keys.window
	h.mu.Unlock()
	at, err := parseHookTime(ts)
	if err != nil {
		return HookStale, "timestamp: " + err.Error()
	}
	if d := now.Sub(at); d > window || d < -window {
		return HookStale, fmt.Sprintf("timestamp %s is %s from now, outside the %s window", at.UTC().Format(time.RFC3339), d.Round(time.Second), window)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	mac.Write([]byte(ts))
	want := mac.Sum(nil)
	got, err := hex.DecodeString(strings.TrimPrefix(strings.ToLower(strings.TrimSpace(sig)), "sha256="))
	if err != nil || !hmac.Equal(got, want) {
		return HookBadSignature, "signature does not match"
	}
	fresh, err := claim(hex.EncodeToString(got), now.Add(2*window))
	switch {
	case err != nil:
		return HookBadSignature, "cannot record the signature against replays: " + err.Error()
	case !fresh:
		return HookReplayed, "this signature was already accepted within the replay window"
	}
	return HookAccepted, ""
}

// parseHookTime reads Unix seconds (BambooHR) or RFC 3339.
func parseHookTime(ts string) (time.Time, error) {
	ts = strings.TrimSpace(ts)
	if n, err := strconv.ParseInt(ts, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	if t, err := time.Parse(time.RFC3339, ts); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not Unix seconds or RFC 3339", ts)
}

// SignHook is the signature a sender computes (tests, docs).
func SignHook(key, body []byte, ts string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	mac.Write([]byte(ts))
	return hex.EncodeToString(mac.Sum(nil))
}

// bambooPayload is BambooHR's webhook body.
type bambooPayload struct {
	Employees []struct {
		ID            string         `json:"id"`
		Action        string         `json:"action"`
		ChangedFields []string       `json:"changedFields"`
		Fields        map[string]any `json:"fields"`
	} `json:"employees"`
}

func (s *Server) hookBambooHR(w http.ResponseWriter, r *http.Request) {
	s.hook(w, r, "bamboohr", func(k hookKeys) []byte { return k.bamboo }, "X-BambooHR-Signature", "X-BambooHR-Timestamp",
		func(body []byte, id string, at time.Time) ([]hookItem, error) {
			var p bambooPayload
			if err := json.Unmarshal(body, &p); err != nil {
				return nil, err
			}
			if len(p.Employees) == 0 {
				return nil, errors.New("no employees in the payload")
			}
			var out []hookItem
			for _, e := range p.Employees {
				it := hookItem{requestID: id, source: "bamboohr", receivedAt: at, internalID: strings.TrimSpace(e.ID)}
				if v, ok := e.Fields["employeeNumber"]; ok && v != nil {
					it.employeeID = strings.TrimSpace(fmt.Sprint(v))
				}
				if it.employeeID == "" && it.internalID == "" {
					return nil, errors.New("an employee without id")
				}
				out = append(out, it)
			}
			return out, nil
		})
}

func (s *Server) hookHR(w http.ResponseWriter, r *http.Request) {
	s.hook(w, r, "hr", func(k hookKeys) []byte { return k.hrKey }, "X-Accessrecon-Signature", "X-Accessrecon-Timestamp",
		func(body []byte, id string, at time.Time) ([]hookItem, error) {
			var p struct {
				EmployeeIDs []string `json:"employee_ids"`
			}
			if err := json.Unmarshal(body, &p); err != nil {
				return nil, err
			}
			var out []hookItem
			for _, e := range p.EmployeeIDs {
				if e = strings.TrimSpace(e); e != "" {
					out = append(out, hookItem{requestID: id, source: "hr", receivedAt: at, employeeID: e})
				}
			}
			if len(out) == 0 {
				return nil, errors.New("employee_ids: empty")
			}
			return out, nil
		})
}

// hook is the common handling of both endpoints.
func (s *Server) hook(w http.ResponseWriter, r *http.Request, endpoint string, key func(hookKeys) []byte, sigHeader, tsHeader string,
	parse func(body []byte, requestID string, at time.Time) ([]hookItem, error)) {
	h := s.hooks
	received := s.now()
	requestID := runlock.NewToken()
	log := s.log.With("endpoint", endpoint, "request_id", requestID, "remote", r.RemoteAddr)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read error", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	keys, closed := h.keys, h.closed
	h.mu.Unlock()

	result, why := HookAccepted, ""
	bearer := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case endpoint == "hr" && len(keys.hrToken) > 0 && r.Header.Get(sigHeader) == "" && bearer != "":
		if subtle.ConstantTimeCompare([]byte(bearer), keys.hrToken) != 1 {
			result, why = HookBadSignature, "bearer token does not match"
		}
	case endpoint == "hr" && len(keys.hrKey) == 0 && len(keys.hrToken) > 0:
		result, why = HookBadSignature, "bearer token missing"
	default:
		result, why = h.verify(key(keys), r.Header.Get(sigHeader), r.Header.Get(tsHeader), body, received,
			func(sig string, expires time.Time) (bool, error) {
				return s.st.ClaimSignature(r.Context(), sig, received, expires)
			})
	}
	if result == HookDisabled {
		h.counts.Inc(endpoint, result)
		http.NotFound(w, r)
		return
	}
	if result != HookAccepted {
		h.counts.Inc(endpoint, result)
		log.Warn("webhook rejected", "reason", result, "detail", why)
		s.audit(context.WithoutCancel(r.Context()), reconcile.AuditEvent{Type: "webhook_rejected", Actor: "webhook:" + endpoint,
			Detail: map[string]any{"endpoint": endpoint, "reason": result, "detail": why, "remote": r.RemoteAddr, "request_id": requestID}})
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": result, "request_id": requestID})
		return
	}
	if closed {
		h.counts.Inc(endpoint, HookUnavailable)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "shutting down", "request_id": requestID})
		return
	}
	items, err := parse(body, requestID, received)
	if err != nil {
		h.counts.Inc(endpoint, HookBadPayload)
		log.Warn("webhook payload refused", "err", err)
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad payload: " + err.Error(), "request_id": requestID})
		return
	}
	h.counts.Inc(endpoint, HookAccepted)
	h.mu.Lock()
	h.pending = append(h.pending, items...)
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
	log.Info("webhook accepted", "people", len(items))
	writeJSON(w, http.StatusAccepted, map[string]any{"request_id": requestID, "people": len(items)})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) audit(ctx context.Context, ev reconcile.AuditEvent) {
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	a := reconcile.TrailAuditor{Trail: trail.Open(cfg, s.st, s.log)}
	if err := a.Record(ctx, ev); err != nil {
		s.log.Error("audit record failed", "type", ev.Type, "err", err)
	}
}

// worker runs the queued people: one targeted run per batch, so requests
// that arrive while a run waits for the lock join the next batch.
func (h *hookState) worker(s *Server) {
	defer close(h.done)
	for {
		select {
		case <-h.stopped:
			h.mu.Lock()
			left := len(h.pending)
			h.mu.Unlock()
			if left > 0 {
				s.log.Warn("shutting down with webhook people not yet run: the next full run covers them", "people", left)
			}
			return
		case <-h.wake:
		}
		h.mu.Lock()
		batch := h.pending
		h.pending = nil
		keys := h.keys
		h.mu.Unlock()
		if len(batch) > 0 {
			s.hookRun(batch, keys)
		}
	}
}

// hookRun resolves a batch to employee IDs and runs them.
func (s *Server) hookRun(batch []hookItem, keys hookKeys) {
	s.running.Add(1)
	defer s.running.Done()
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	var reqs []string
	for _, it := range batch {
		if !slices.Contains(reqs, it.requestID) {
			reqs = append(reqs, it.requestID)
		}
	}
	engineLog := s.log.With("request_ids", strings.Join(reqs, ","))
	log := engineLog.With("job", "hook")
	ctx, cancel := context.WithTimeout(s.stopping, keys.timeout)
	defer cancel()

	var bamboo *bamboohr.Source
	var closeWired func()
	for _, it := range batch {
		if it.employeeID == "" && bamboo == nil {
			if w, err := config.Wire(ctx, cfg, log); err == nil {
				closeWired = w.Close
				for _, src := range w.Spec.Sources {
					if b, ok := src.Source.(*bamboohr.Source); ok {
						bamboo = b
						break
					}
				}
			}
			break
		}
	}
	var ids []string
	var events []store.HREvent
	for _, it := range batch {
		id := it.employeeID
		if id == "" && bamboo != nil {
			got, err := bamboo.EmployeeIDFor(ctx, it.internalID)
			if err != nil {
				log.Warn("resolving a BambooHR id failed: using it as the employee ID", "bamboohr_id", it.internalID, "err", err)
			} else {
				id = got
			}
		}
		if id == "" {
			id = it.internalID
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
		events = append(events, store.HREvent{RequestID: it.requestID, Source: it.source, EmployeeID: id, ReceivedAt: it.receivedAt})
	}
	if closeWired != nil {
		closeWired()
	}
	if err := s.st.SaveHREvents(context.WithoutCancel(ctx), events); err != nil {
		log.Error("recording webhook receipts failed", "err", err)
	}
	s.audit(context.WithoutCancel(ctx), reconcile.AuditEvent{Type: "webhook_received", Actor: "webhook",
		Detail: map[string]any{"request_ids": reqs, "employee_ids": ids, "received_at": batch[0].receivedAt}})
	_, release, err := s.lock.Hold(ctx, "hook run", keys.timeout)
	if err != nil {
		log.Error("webhook run not started: the store lock stayed held", "employee_ids", ids, "err", err)
		return
	}
	defer release()
	// No findings.json and no reports: the leaver fast path depends on
	// nothing but the store and the targets (its results are in the store,
	// the audit trail and \`findings --run N\`).
	req := runner.Request{Job: "hook", Mode: keys.mode, EmployeeIDs: ids, Timeout: keys.timeout, Reports: runner.Set{}}
	res, err := runner.Run(s.runCtx, cfg, runner.Env{Store: s.st, Log: log, EngineLog: engineLog}, req)
	if res == nil {
		log.Error("webhook run failed before it started", "err", err)
		return
	}
	log.Info("webhook run finished", "run", res.Run.ID, "status", res.Run.Status, "employee_ids", ids, "findings", len(res.Findings), "actions", len(res.Actions), "err", err)
}
