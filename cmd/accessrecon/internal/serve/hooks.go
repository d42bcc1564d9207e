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
	"log/slog"
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
	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

// The leaver fast path: HR systems call POST /hooks/bamboohr or /hooks/hr
// when someone changes; accessrecon answers 202 at once and runs a targeted
// reconciliation of those people across every target, serialised with the
// scheduled jobs through the run lock.

// Webhook request results, the label of accessrecon_webhook_requests_total:
// every request is counted by its result. Rejected requests are counted and
// sampled to the log (the first few per minute), never audited one by one:
// an unauthenticated sender must not grow the audit trail or the store.
const (
	HookAccepted     = "accepted"
	HookBadSignature = "bad_signature"
	HookBadScheme    = "bad_auth_scheme" // an Authorization header that is not "Bearer <token>"
	HookStale        = "stale_timestamp"
	HookReplayed     = "replayed"
	HookBadPayload   = "bad_payload"
	HookTooLarge     = "too_large"    // a body over MaxHookBody
	HookTooManyIDs   = "too_many_ids" // more people than hooks.max_ids
	HookReadError    = "read_error"   // the body could not be read (e.g. the read timeout)
	HookStoreError   = "store_error"  // the event could not be recorded: not accepted
	HookDisabled     = "disabled"
	HookUnavailable  = "shutting_down"
)

// MaxHookBody is the largest webhook body read; a larger one is refused
// with 413.
const MaxHookBody = 1 << 20

// DefaultMaxIDs is hooks.max_ids unset: the people one request may name.
const DefaultMaxIDs = 1000

// rejectLogPerMinute is how many rejected requests a minute are logged; the
// rest are counted, and the next logged one says how many were not.
const rejectLogPerMinute = 10

// hookKeys are the secrets of the hooks, read from the environment.
type hookKeys struct {
	bamboo  []byte
	hrKey   []byte
	hrToken []byte
	window  time.Duration
	mode    reconcile.Mode
	timeout time.Duration
	maxIDs  int
}

func loadHookKeys(cfg *config.Config) (hookKeys, error) {
	k := hookKeys{window: config.DurOr(cfg.Hooks.ReplayWindow, 5*time.Minute), mode: cfg.Hooks.Mode, timeout: config.DurOr(cfg.Hooks.Timeout, 10*time.Minute),
		maxIDs: cfg.Hooks.MaxIDs}
	if k.maxIDs == 0 {
		k.maxIDs = DefaultMaxIDs
	}
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
	eventID    int64 // its hr_events row
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
	rejects sampler
}

// sampler lets through the first per events of each minute.
type sampler struct {
	mu      sync.Mutex
	per     int
	window  time.Time
	n       int
	dropped int
}

// allow says whether to log this event, and how many were not logged
// since the last one that was.
func (s *sampler) allow(now time.Time) (bool, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.window) >= time.Minute {
		s.window, s.n = now, 0
	}
	if s.n >= s.per {
		s.dropped++
		return false, 0
	}
	s.n++
	d := s.dropped
	s.dropped = 0
	return true, d
}

func newHookState(cfg *config.Config) (*hookState, error) {
	k, err := loadHookKeys(cfg)
	if err != nil {
		return nil, err
	}
	return &hookState{keys: k, wake: make(chan struct{}, 1),
		stopped: make(chan struct{}), done: make(chan struct{}), counts: metrics.NewWebhookCounter(),
		rejects: sampler{per: rejectLogPerMinute}}, nil
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

// claimFunc records a signature (or a bearer request's digest) against
// replays in the store: false when it was already claimed.
type claimFunc func(sig string, expires time.Time) (bool, error)

// verify checks a request's HMAC (hex SHA-256 over body + timestamp), its
// timestamp against the replay window, and the signature against replays:
// claim records it in the store, so that a replay is refused by every serve
// on the store and after a restart.
func verify(keys hookKeys, key []byte, sig, ts string, body []byte, now time.Time, claim claimFunc) (string, string) {
	if sig == "" || ts == "" {
		return HookBadSignature, "signature or timestamp header missing"
	}
	if r, why := inWindow(ts, now, keys.window); r != "" {
		return r, why
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	mac.Write([]byte(ts))
	want := mac.Sum(nil)
	got, err := hex.DecodeString(strings.TrimPrefix(strings.ToLower(strings.TrimSpace(sig)), "sha256="))
	if err != nil || !hmac.Equal(got, want) {
		return HookBadSignature, "signature does not match"
	}
	return claimOnce(claim, hex.EncodeToString(got), now, keys.window)
}

// verifyBearer checks the bearer mode of /hooks/hr: "Authorization: Bearer
// <token>", a timestamp within the replay window, and the request (its
// timestamp and body) not seen before within the window.
func verifyBearer(keys hookKeys, authz, ts string, body []byte, now time.Time, claim claimFunc) (string, string) {
	if authz == "" {
		return HookBadSignature, "bearer token missing"
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(authz), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return HookBadScheme, `Authorization must be "Bearer <token>"`
	}
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), keys.hrToken) != 1 {
		return HookBadSignature, "bearer token does not match"
	}
	if ts == "" {
		return HookStale, "timestamp header (X-Accessrecon-Timestamp) missing"
	}
	if r, why := inWindow(ts, now, keys.window); r != "" {
		return r, why
	}
	d := sha256.New()
	d.Write([]byte("bearer\n" + strings.TrimSpace(ts) + "\n"))
	d.Write(body)
	return claimOnce(claim, "bearer:"+hex.EncodeToString(d.Sum(nil)), now, keys.window)
}

// inWindow checks a request's timestamp against the replay window ("" when
// it is within).
func inWindow(ts string, now time.Time, window time.Duration) (string, string) {
	at, err := parseHookTime(ts)
	if err != nil {
		return HookStale, "timestamp: " + err.Error()
	}
	if d := now.Sub(at); d > window || d < -window {
		return HookStale, fmt.Sprintf("timestamp %s is %s from now, outside the %s window", at.UTC().Format(time.RFC3339), d.Round(time.Second), window)
	}
	return "", ""
}

// claimOnce records sig against replays until twice the window has passed.
func claimOnce(claim claimFunc, sig string, now time.Time, window time.Duration) (string, string) {
	fresh, err := claim(sig, now.Add(2*window))
	switch {
	case err != nil:
		return HookStoreError, "cannot record the signature against replays: " + err.Error()
	case !fresh:
		return HookReplayed, "this request was already accepted within the replay window"
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

// errTooManyIDs is a request naming more people than hooks.max_ids.
type errTooManyIDs struct{ n, max int }

func (e *errTooManyIDs) Error() string {
	return fmt.Sprintf("the request names %d people, over hooks.max_ids (%d): split it", e.n, e.max)
}

// bambooSourceByID marks an hr_events row whose employee_id is BambooHR's
// internal id, still to resolve to the employee number.
const bambooSourceByID = "bamboohr-id"

func (s *Server) hookBambooHR(w http.ResponseWriter, r *http.Request) {
	s.hook(w, r, "bamboohr", func(k hookKeys) []byte { return k.bamboo }, "X-BambooHR-Signature", "X-BambooHR-Timestamp",
		func(body []byte, id string, at time.Time, maxIDs int) ([]hookItem, error) {
			var p bambooPayload
			if err := json.Unmarshal(body, &p); err != nil {
				return nil, err
			}
			if len(p.Employees) == 0 {
				return nil, errors.New("no employees in the payload")
			}
			if len(p.Employees) > maxIDs {
				return nil, &errTooManyIDs{n: len(p.Employees), max: maxIDs}
			}
			out := make([]hookItem, 0, len(p.Employees))
			seen := make(map[[2]string]bool, len(p.Employees))
			for _, e := range p.Employees {
				it := hookItem{requestID: id, source: "bamboohr", receivedAt: at, internalID: strings.TrimSpace(e.ID)}
				if v, ok := e.Fields["employeeNumber"]; ok && v != nil {
					it.employeeID = strings.TrimSpace(fmt.Sprint(v))
				}
				if it.employeeID == "" && it.internalID == "" {
					return nil, errors.New("an employee without id")
				}
				k := [2]string{strings.ToUpper(it.employeeID), it.internalID}
				if !seen[k] {
					seen[k] = true
					out = append(out, it)
				}
			}
			return out, nil
		})
}

func (s *Server) hookHR(w http.ResponseWriter, r *http.Request) {
	s.hook(w, r, "hr", func(k hookKeys) []byte { return k.hrKey }, "X-Accessrecon-Signature", "X-Accessrecon-Timestamp",
		func(body []byte, id string, at time.Time, maxIDs int) ([]hookItem, error) {
			var p struct {
				EmployeeIDs []string `json:"employee_ids"`
			}
			if err := json.Unmarshal(body, &p); err != nil {
				return nil, err
			}
			if len(p.EmployeeIDs) > maxIDs {
				return nil, &errTooManyIDs{n: len(p.EmployeeIDs), max: maxIDs}
			}
			out := make([]hookItem, 0, len(p.EmployeeIDs))
			seen := make(map[string]bool, len(p.EmployeeIDs))
			for _, e := range p.EmployeeIDs {
				e = strings.TrimSpace(e)
				if k := strings.ToUpper(e); e != "" && !seen[k] {
					seen[k] = true
					out = append(out, hookItem{requestID: id, source: "hr", receivedAt: at, employeeID: e})
				}
			}
			if len(out) == 0 {
				return nil, errors.New("employee_ids: empty")
			}
			return out, nil
		})
}

// hook is the common handling of both endpoints. An accepted request is
// recorded (its audit record, then its hr_events rows) before the 202: a
// crash after the answer loses nothing, the next serve runs it.
func (s *Server) hook(w http.ResponseWriter, r *http.Request, endpoint string, key func(hookKeys) []byte, sigHeader, tsHeader string,
	parse func(body []byte, requestID string, at time.Time, maxIDs int) ([]hookItem, error)) {
	h := s.hooks
	q := &hookRequest{s: s, w: w, r: r, endpoint: endpoint}
	q.received = s.now()
	q.requestID = runlock.NewToken()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	h.mu.Lock()
	keys, closed := h.keys, h.closed
	h.mu.Unlock()
	bearer := endpoint == "hr" && len(keys.hrToken) > 0 &&
		(len(keys.hrKey) == 0 || (r.Header.Get(sigHeader) == "" && r.Header.Get("Authorization") != ""))
	if len(key(keys)) == 0 && !bearer {
		h.counts.Inc(endpoint, HookDisabled)
		http.NotFound(w, r)
		return
	}
	body, ok := q.readBody()
	if !ok || !q.authenticate(keys, key(keys), bearer, sigHeader, tsHeader, body) {
		return
	}
	if closed {
		q.unclaim()
		h.counts.Inc(endpoint, HookUnavailable)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "shutting down", "request_id": q.requestID})
		return
	}
	items, err := parse(body, q.requestID, q.received, keys.maxIDs)
	var many *errTooManyIDs
	switch {
	case errors.As(err, &many):
		q.reject(http.StatusRequestEntityTooLarge, HookTooManyIDs, err.Error())
		return
	case err != nil:
		q.reject(http.StatusBadRequest, HookBadPayload, "bad payload: "+err.Error())
		return
	}
	if !q.record(items) {
		return
	}
	h.counts.Inc(endpoint, HookAccepted)
	h.enqueue(items...)
	s.log.Info("webhook accepted", "endpoint", endpoint, "request_id", q.requestID, "remote", r.RemoteAddr, "people", len(items))
	writeJSON(w, http.StatusAccepted, map[string]any{"request_id": q.requestID, "people": len(items)})
}

// hookRequest is one request to a webhook endpoint as hook handles it.
type hookRequest struct {
	s         *Server
	w         http.ResponseWriter
	r         *http.Request
	endpoint  string
	requestID string
	received  time.Time
	claimed   string // the signature claimed against replays, if any
}

// reject answers the request with an error, counts it and logs it (as
// often as the rejection log allows).
func (q *hookRequest) reject(code int, result, why string) {
	h := q.s.hooks
	h.counts.Inc(q.endpoint, result)
	if ok, dropped := h.rejects.allow(q.received); ok {
		q.s.log.Warn("webhook rejected", "endpoint", q.endpoint, "request_id", q.requestID, "remote", q.r.RemoteAddr,
			"reason", result, "detail", why, "rejections_not_logged_before", dropped)
	}
	writeJSON(q.w, code, map[string]string{"error": result, "detail": why, "request_id": q.requestID})
}

// readBody is the request's body, up to MaxHookBody; false when it was
// rejected.
func (q *hookRequest) readBody() ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(q.w, q.r.Body, MaxHookBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			q.reject(http.StatusRequestEntityTooLarge, HookTooLarge, fmt.Sprintf("the body is over %d bytes", MaxHookBody))
			return nil, false
		}
		q.reject(http.StatusBadRequest, HookReadError, "reading the body: "+err.Error())
		return nil, false
	}
	return body, true
}

// claim records sig as used until expires: false when it was already (a
// replay).
func (q *hookRequest) claim(sig string, expires time.Time) (bool, error) {
	fresh, err := q.s.st.ClaimSignature(q.r.Context(), sig, q.received, expires)
	if fresh {
		q.claimed = sig
	}
	return fresh, err
}

// unclaim lets the sender retry a request that was not recorded: its
// retry is not a replay.
func (q *hookRequest) unclaim() {
	if q.claimed == "" {
		return
	}
	if err := q.s.st.ForgetSignature(context.WithoutCancel(q.r.Context()), q.claimed); err != nil {
		q.s.log.Error("forgetting the signature of a request not recorded failed: its retry will be refused as a replay", "request_id", q.requestID, "err", err)
	}
}

// authenticate checks the request's signature (or, on the hr endpoint,
// its bearer token) and claims it against replays; false when it was
// rejected.
func (q *hookRequest) authenticate(keys hookKeys, key []byte, bearer bool, sigHeader, tsHeader string, body []byte) bool {
	var result, why string
	if bearer {
		result, why = verifyBearer(keys, q.r.Header.Get("Authorization"), q.r.Header.Get(tsHeader), body, q.received, q.claim)
	} else {
		result, why = verify(keys, key, q.r.Header.Get(sigHeader), q.r.Header.Get(tsHeader), body, q.received, q.claim)
	}
	switch result {
	case HookAccepted:
		return true
	case HookStoreError:
		q.reject(http.StatusServiceUnavailable, result, why)
	default:
		q.reject(http.StatusUnauthorized, result, why)
	}
	return false
}

// record writes the request down before it is answered: the audit record,
// then the events the worker (or, after a crash, the next serve) runs; it
// sets each item's event ID. False when it was rejected.
func (q *hookRequest) record(items []hookItem) bool {
	ctx := context.WithoutCancel(q.r.Context())
	ids := make([]string, 0, len(items))
	events := make([]store.HREvent, len(items))
	for i, it := range items {
		ev := store.HREvent{RequestID: q.requestID, Source: it.source, EmployeeID: it.employeeID, ReceivedAt: q.received, RunID: store.HREventPending}
		if it.employeeID == "" {
			ev.Source, ev.EmployeeID = bambooSourceByID, it.internalID
		}
		events[i] = ev
		ids = append(ids, ev.EmployeeID)
	}
	if err := q.s.audit(ctx, reconcile.AuditEvent{Type: "webhook_received", Actor: "webhook:" + q.endpoint,
		Detail: map[string]any{"request_id": q.requestID, "employee_ids": ids, "received_at": q.received, "remote": q.r.RemoteAddr}}); err != nil {
		q.unclaim()
		q.reject(http.StatusServiceUnavailable, HookStoreError, "the event could not be recorded (audit): retry later")
		return false
	}
	if err := q.s.st.SaveHREvents(ctx, events); err != nil {
		q.s.log.Error("recording a webhook's events failed", "request_id", q.requestID, "err", err)
		q.unclaim()
		q.reject(http.StatusServiceUnavailable, HookStoreError, "the event could not be recorded: retry later")
		return false
	}
	for i := range items {
		items[i].eventID = events[i].ID
	}
	return true
}

// enqueue adds people to the queue and wakes the worker.
func (h *hookState) enqueue(items ...hookItem) {
	h.mu.Lock()
	h.pending = append(h.pending, items...)
	h.mu.Unlock()
	h.poke()
}

func (h *hookState) poke() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// audit appends a record to the trail; an error means it is not there.
func (s *Server) audit(ctx context.Context, ev reconcile.AuditEvent) error {
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	a := reconcile.TrailAuditor{Trail: trail.Open(cfg, s.st, s.log)}
	if err := a.Record(ctx, ev); err != nil {
		s.log.Error("audit record failed", "type", ev.Type, "err", err)
		return err
	}
	return nil
}

// loadPending queues the events accepted and not yet run: those of a serve
// that stopped (or crashed) after answering 202.
func (h *hookState) loadPending(s *Server) {
	evs, err := s.st.PendingHREvents(s.stopping)
	if err != nil {
		s.log.Error("reading the webhook events not yet run failed: the next full run covers them", "err", err)
		return
	}
	if len(evs) == 0 {
		return
	}
	items := make([]hookItem, 0, len(evs))
	for _, e := range evs {
		it := hookItem{eventID: e.ID, requestID: e.RequestID, source: e.Source, receivedAt: e.ReceivedAt, employeeID: e.EmployeeID}
		if e.Source == bambooSourceByID {
			it.source, it.employeeID, it.internalID = "bamboohr", "", e.EmployeeID
		}
		items = append(items, it)
	}
	s.log.Info("webhook events accepted earlier and not yet run: running them", "events", len(items))
	h.enqueue(items...)
}

// worker runs the queued people: one targeted run per batch, so requests
// that arrive while a run waits for the lock join the next batch. A batch
// that could not take the lock stays queued and is retried.
func (h *hookState) worker(s *Server) {
	defer close(h.done)
	h.loadPending(s)
	for {
		select {
		case <-h.stopped:
			h.mu.Lock()
			left := len(h.pending)
			h.mu.Unlock()
			if left > 0 {
				s.log.Warn("shutting down with webhook people not yet run: they are kept in the store and run at the next start", "people", left)
			}
			return
		case <-h.wake:
		}
		h.mu.Lock()
		batch := h.pending
		h.pending = nil
		keys := h.keys
		h.mu.Unlock()
		if len(batch) == 0 || s.hookRun(batch, keys) {
			continue
		}
		h.mu.Lock()
		h.pending = append(batch, h.pending...)
		h.mu.Unlock()
		retry := min(max(keys.timeout/10, time.Second), time.Minute)
		s.log.Warn("webhook run deferred: the store lock stayed held; the people stay queued", "people", len(batch), "retry_in", retry)
		select {
		case <-h.stopped:
		case <-time.After(retry):
		}
		h.poke()
	}
}

// resolveIDs returns the distinct employee IDs of a batch (in order) and its
// events. An item without an employee ID has its HR system's internal ID
// resolved by the first source of that system's type (the webhook's source,
// "bamboohr") implementing sources.IDResolver: never by another system's
// source, whose ID space means nothing for it. Without a resolver, or when
// resolving fails, the internal ID stands for the employee ID.
func resolveIDs(ctx context.Context, log *slog.Logger, batch []hookItem, wired []reconcile.SourceSpec) ([]string, []store.HREvent) {
	resolver := func(kind string) sources.IDResolver {
		for _, sp := range wired {
			if r, ok := sp.Source.(sources.IDResolver); ok && sp.Type == kind {
				return r
			}
		}
		return nil
	}
	var ids []string
	seenID := map[string]bool{}
	events := make([]store.HREvent, 0, len(batch))
	for _, it := range batch {
		id := it.employeeID
		if id == "" {
			if r := resolver(it.source); r != nil {
				got, err := r.EmployeeIDFor(ctx, it.internalID)
				switch {
				case err != nil:
					log.Warn("resolving an HR system's internal id failed: using it as the employee ID", "source", it.source, "internal_id", it.internalID, "err", err)
				case strings.TrimSpace(got) == "":
					log.Warn("an HR system's internal id resolved to no employee ID: using it as the employee ID", "source", it.source, "internal_id", it.internalID)
				default:
					id = strings.TrimSpace(got)
				}
			}
		}
		if id == "" {
			id = it.internalID
		}
		if k := strings.ToUpper(id); !seenID[k] {
			seenID[k] = true
			ids = append(ids, id)
		}
		events = append(events, store.HREvent{ID: it.eventID, RequestID: it.requestID, Source: it.source, EmployeeID: id, ReceivedAt: it.receivedAt})
	}
	return ids, events
}

// hookRun resolves a batch to employee IDs and runs them. It returns false
// when the run could not take the lock (the batch is to be retried).
func (s *Server) hookRun(batch []hookItem, keys hookKeys) bool {
	s.running.Add(1)
	defer s.running.Done()
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	var reqs []string
	seenReq := map[string]bool{}
	for _, it := range batch {
		if !seenReq[it.requestID] {
			seenReq[it.requestID] = true
			reqs = append(reqs, it.requestID)
		}
	}
	engineLog := s.log.With("request_ids", strings.Join(reqs, ","))
	log := engineLog.With("job", "hook")
	ctx, cancel := context.WithTimeout(s.stopping, keys.timeout)
	defer cancel()

	var wired []reconcile.SourceSpec
	var closeWired func()
	if slices.ContainsFunc(batch, func(it hookItem) bool { return it.employeeID == "" }) {
		if w, err := config.Wire(ctx, cfg, log); err == nil {
			closeWired = w.Close
			wired = w.Spec.Sources
		}
	}
	ids, events := resolveIDs(ctx, log, batch, wired)
	if closeWired != nil {
		closeWired()
	}
	runCtx, release, err := s.lock.HoldFor(ctx, s.runCtx, "hook run", keys.timeout)
	if err != nil {
		log.Error("webhook run not started: the store lock stayed held", "employee_ids", ids, "err", err)
		return false
	}
	defer release()
	// No findings.json and no reports: the leaver fast path depends on
	// nothing but the store and the targets (its results are in the store,
	// the audit trail and `findings --run N`).
	req := runner.Request{Job: "hook", Mode: keys.mode, EmployeeIDs: ids, Timeout: keys.timeout, Reports: runner.Set{}}
	res, err := runner.Run(runCtx, cfg, runner.Env{Store: s.st, Log: log, EngineLog: engineLog}, req)
	if res == nil {
		log.Error("webhook run failed before it started: its events stay pending for the next start", "employee_ids", ids, "err", err)
		return true
	}
	for i := range events {
		events[i].RunID = res.Run.ID
	}
	if ferr := s.st.FinishHREvents(context.WithoutCancel(ctx), events); ferr != nil {
		log.Error("recording that the webhook events were run failed", "run", res.Run.ID, "err", ferr)
	}
	// A run whose audit append failed stopped enforcing (the engine's
	// rule): said loudly here, with the run's status.
	if err != nil {
		log.Error("webhook run ended with an error", "run", res.Run.ID, "status", res.Run.Status, "employee_ids", ids, "err", err)
		return true
	}
	log.Info("webhook run finished", "run", res.Run.ID, "status", res.Run.Status, "employee_ids", ids, "findings", len(res.Findings), "actions", len(res.Actions))
	return true
}
