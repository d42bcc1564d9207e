package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/targets"
)

// recorder is an httptest handler that keeps what it received and answers
// with a status the test sets.
type recorder struct {
	mu     sync.Mutex
	status int
	reqs   []recorded
}

type recorded struct {
	Path   string
	Header http.Header
	Body   []byte
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, recorded{Path: req.URL.Path, Header: req.Header.Clone(), Body: b})
	st := r.status
	if st == 0 {
		st = http.StatusOK
	}
	if st >= 400 {
		http.Error(w, `{"error":"upstream says no"}`, st)
		return
	}
	w.WriteHeader(st)
	_, _ = w.Write([]byte("ok"))
}

func (r *recorder) set(status int) { r.mu.Lock(); r.status = status; r.mu.Unlock() }

func (r *recorder) got() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

// runResult has a revocation digest (low) and a guard (critical).
func runResult(id int64) *reconcile.Result {
	res := result(id, reconcile.StatusGuardTripped,
		revoked(finding("ldap", "jdoe", "E1001", "Jane Doe", reconcile.AutoRevoke, ""), 10*time.Minute))
	res.Run.Guards = []string{"blast_radius: okta: 40 revocations (limit 25): nothing revoked there"}
	return res
}

const webhookSecret = "0123456789abcdef-shared-secret"

func TestWebhookPayloadAndSignature(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	now := time.Unix(1_772_000_000, 0)
	n := newNotifier(t, Config{RunURL: "https://ar.example.com/runs/", Sinks: []Sink{{Name: "siem", Webhook: &WebhookConfig{URL: srv.URL + "/hook", Secret: webhookSecret}}}}, now)
	out := NewMemOutbox()
	oc, err := n.Send(context.Background(), runResult(42), out)
	if err != nil {
		t.Fatal(err)
	}
	if oc.Stats.Delivered != 2 || oc.Stats.Pending != 0 || oc.Stats.Sinks["siem"].Delivered != 2 {
		t.Fatalf("stats %+v", oc.Stats)
	}
	reqs := rec.got()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Path != "/hook" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("path %s, content type %s", r.Path, r.Header.Get("Content-Type"))
	}
	// The signature, recomputed here from the documented recipe.
	ts := r.Header.Get("X-Accessrecon-Timestamp")
	if ts != strconv.FormatInt(now.Unix(), 10) {
		t.Errorf("timestamp %q", ts)
	}
	m := hmac.New(sha256.New, []byte(webhookSecret))
	m.Write([]byte(ts + "." + string(r.Body)))
	if want := "v1=" + hex.EncodeToString(m.Sum(nil)); r.Header.Get("X-Accessrecon-Signature") != want {
		t.Errorf("signature %q, want %q", r.Header.Get("X-Accessrecon-Signature"), want)
	}
	if r.Header.Get("X-Accessrecon-Event") != "revocations" || r.Header.Get("X-Accessrecon-Delivery") != "siem/run-42/revocations" {
		t.Errorf("event/delivery headers %v", r.Header)
	}
	var body struct {
		Key, Type, Severity, Title, URL string
		RunID                           int64 `json:"run_id"`
		Lines                           []string
		Subjects                        []Subject
	}
	dec := json.NewDecoder(strings.NewReader(string(r.Body)))
	if err := dec.Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Type != "revocations" || body.Severity != "low" || body.RunID != 42 || body.URL != "https://ar.example.com/runs/42" ||
		len(body.Lines) != 1 || body.Lines[0] != "Jane Doe (E1001): ldap jdoe" ||
		len(body.Subjects) != 1 || body.Subjects[0] != (Subject{EmployeeID: "E1001", Name: "Jane Doe", Target: "ldap", AccountID: "id-jdoe", Username: "jdoe", Kind: "terminated_active", Outcome: "done"}) {
		t.Errorf("body %s", r.Body)
	}
	// A tampered body no longer matches.
	if Sign([]byte(webhookSecret), ts, append(r.Body, ' ')) == r.Header.Get("X-Accessrecon-Signature") {
		t.Error("the signature does not cover the body")
	}
}

func TestTeamsDelivery(t *testing.T) {
	rec := &recorder{status: http.StatusAccepted}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	url := srv.URL + "/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=TopSecretSignature123"
	n := newNotifier(t, Config{RunURL: "https://ar.example.com/runs/", Sinks: []Sink{{Name: "teams", Events: []EventType{EventGuardTripped}, Teams: &TeamsConfig{URL: targets.Secret(url)}}}}, asOf)
	oc, err := n.Send(context.Background(), runResult(43), NewMemOutbox())
	if err != nil || oc.Stats.Delivered != 1 {
		t.Fatalf("delivered %d: %v", oc.Stats.Delivered, err)
	}
	reqs := rec.got()
	if len(reqs) != 1 || reqs[0].Path != "/workflows/abc/triggers/manual/paths/invoke" {
		t.Fatalf("requests %+v", reqs)
	}
	var p struct {
		Type        string
		Attachments []struct {
			ContentType string
			Content     struct {
				Schema  string `json:"$schema"`
				Type    string
				Version string
				Body    []struct {
					Type    string
					Inlines []struct{ Type, Text, Weight string }
				}
				Actions []struct{ Type, Title, URL string }
			}
		}
	}
	if err := json.Unmarshal(reqs[0].Body, &p); err != nil {
		t.Fatal(err)
	}
	c := p.Attachments[0].Content
	if p.Type != "message" || len(p.Attachments) != 1 || p.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" ||
		c.Schema != "http://adaptivecards.io/schemas/adaptive-card.json" || c.Type != "AdaptiveCard" || c.Version != "1.4" {
		t.Fatalf("payload %s", reqs[0].Body)
	}
	if len(c.Body) != 2 || c.Body[0].Inlines[0].Weight != "Bolder" || c.Body[0].Inlines[0].Text != "accessrecon run 43: a safety rail stopped enforcement (1)" ||
		c.Body[1].Inlines[0].Text != "• blast_radius: okta: 40 revocations (limit 25): nothing revoked there" {
		t.Errorf("body %s", reqs[0].Body)
	}
	if len(c.Actions) != 1 || c.Actions[0].URL != "https://ar.example.com/runs/43" {
		t.Errorf("actions %+v", c.Actions)
	}
}

func TestSlackIncomingWebhook(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	n := newNotifier(t, Config{Sinks: []Sink{{Name: "it", MinSeverity: reconcile.High, Slack: &SlackConfig{WebhookURLEnv: "X", WebhookURL: targets.Secret(srv.URL + "/services/T0/B0/hooksecret123")}}}}, asOf)
	oc, err := n.Send(context.Background(), runResult(44), NewMemOutbox())
	if err != nil || oc.Stats.Delivered != 1 {
		t.Fatalf("delivered %d (want the guard only: min_severity high): %v", oc.Stats.Delivered, err)
	}
	var p map[string]any
	if err := json.Unmarshal(rec.got()[0].Body, &p); err != nil {
		t.Fatal(err)
	}
	if p["mrkdwn"] != false || p["unfurl_links"] != false || !strings.HasPrefix(p["text"].(string), "accessrecon run 44: a safety rail") {
		t.Errorf("payload %v", p)
	}
}

// closedURL is an http URL on a port nobody listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestDownSinkIsKeptForTheNextRun(t *testing.T) {
	good := &recorder{}
	goodSrv := httptest.NewServer(good)
	defer goodSrv.Close()
	failing := &recorder{status: http.StatusInternalServerError}
	failSrv := httptest.NewServer(failing)
	defer failSrv.Close()
	refusedURL := closedURL(t)

	cfg := Config{Sinks: []Sink{
		{Name: "refused", Slack: &SlackConfig{WebhookURLEnv: "X", WebhookURL: targets.Secret(refusedURL + "/services/T0/B0/refusedsecret")}},
		{Name: "five-hundred", Teams: &TeamsConfig{URL: targets.Secret(failSrv.URL + "/invoke?sig=FiveHundredSig99")}},
		{Name: "good", Webhook: &WebhookConfig{URL: goodSrv.URL, Secret: webhookSecret}},
	}}
	now := asOf.Add(5 * time.Minute)
	n := newNotifier(t, cfg, now)
	out := &jsonOutbox{items: map[string][]byte{}}
	start := time.Now()
	oc, err := n.Send(context.Background(), runResult(45), out)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("a down sink held the run for %s", took)
	}
	if !errors.Is(err, ErrDeferred) {
		t.Fatalf("error %v, want ErrDeferred", err)
	}
	for _, secret := range []string{"refusedsecret", "FiveHundredSig99"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error names the URL's secret %q: %v", secret, err)
		}
	}
	// Each down sink was tried once (its second notification kept without
	// trying), the good one took both.
	if len(failing.got()) != 1 || len(good.got()) != 2 {
		t.Errorf("requests: 500 sink %d (want 1), good sink %d (want 2)", len(failing.got()), len(good.got()))
	}
	want := Stats{SinkStats: SinkStats{Delivered: 2, Pending: 4}, Sinks: map[string]SinkStats{
		"refused": {Pending: 2}, "five-hundred": {Pending: 2}, "good": {Delivered: 2}}}
	if !statsEqual(oc.Stats, want) {
		t.Errorf("stats %+v, want %+v", oc.Stats, want)
	}
	pending, _ := out.Pending(context.Background())
	if len(pending) != 4 {
		t.Fatalf("%d pending, want 4", len(pending))
	}
	for _, p := range pending {
		if p.Sink == "good" || !p.Queued.Equal(now) {
			t.Errorf("pending %+v", p)
		}
		if p.ID == "refused/run-45/revocations" || p.ID == "five-hundred/run-45/revocations" {
			if p.Attempts != 1 || p.LastError == "" {
				t.Errorf("tried notification %s: attempts %d, last error %q", p.ID, p.Attempts, p.LastError)
			}
		}
	}
	byS, _ := PendingBySink(context.Background(), out)
	if byS["refused"] != 2 || byS["five-hundred"] != 2 || len(byS) != 2 {
		t.Errorf("PendingBySink %v", byS)
	}

	// Next run: the 500 sink is back; the refused one still down. The kept
	// notifications go first, then the new run's.
	failing.set(http.StatusAccepted)
	n.now = func() time.Time { return now.Add(24 * time.Hour) }
	oc, err = n.Send(context.Background(), runResult(46), out)
	if !errors.Is(err, ErrDeferred) {
		t.Fatalf("error %v", err)
	}
	var ids []string
	for _, d := range oc.Delivered {
		if d.Sink == "five-hundred" {
			ids = append(ids, d.ID)
		}
	}
	if strings.Join(ids, " ") != "five-hundred/run-45/guard_tripped five-hundred/run-45/revocations five-hundred/run-46/revocations five-hundred/run-46/guard_tripped" {
		t.Errorf("delivered to the recovered sink: %v", ids)
	}
	pending, _ = out.Pending(context.Background())
	if len(pending) != 4 || oc.Stats.Sinks["refused"].Pending != 4 {
		t.Errorf("pending %d (refused sink: %+v), want the refused sink's 4", len(pending), oc.Stats.Sinks["refused"])
	}
	// Each run tried the down sink once: its oldest kept notification.
	attempts := 0
	for _, p := range pending {
		if strings.Contains(p.ID, "/run-45/") {
			attempts += p.Attempts
			if !p.Queued.Equal(now.UTC()) {
				t.Errorf("%s: queued %s, want the first run's time", p.ID, p.Queued)
			}
		}
	}
	if attempts != 2 {
		t.Errorf("the refused sink's run-45 notifications were tried %d times, want 2", attempts)
	}

	// A week later the refused sink's run-45 notifications are dropped.
	n.now = func() time.Time { return now.Add(7*24*time.Hour + time.Minute) }
	oc, _ = n.SendEvents(context.Background(), nil, out)
	if oc.Stats.Dropped != 2 || oc.Stats.Pending != 2 {
		t.Errorf("after max_age: %+v", oc.Stats)
	}
}

func TestRefusedMessageIsDroppedNotRetried(t *testing.T) {
	rec := &recorder{status: http.StatusBadRequest}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	n := newNotifier(t, Config{Sinks: []Sink{{Name: "siem", Webhook: &WebhookConfig{URL: srv.URL, Secret: webhookSecret}}}}, asOf)
	out := NewMemOutbox()
	oc, err := n.Send(context.Background(), runResult(47), out)
	if err == nil || errors.Is(err, ErrDeferred) {
		t.Fatalf("error %v: want a refusal, not a deferral", err)
	}
	if p, _ := out.Pending(context.Background()); len(p) != 0 || oc.Stats.Dropped != 2 || len(rec.got()) != 2 {
		t.Errorf("pending %d, stats %+v, requests %d", len(p), oc.Stats, len(rec.got()))
	}
}

func TestSinkRemovedFromConfigDropsItsPending(t *testing.T) {
	out := NewMemOutbox()
	_ = out.Save(context.Background(), []Notification{{ID: "gone/run-1/drill", Sink: "gone", Queued: asOf}})
	n := newNotifier(t, Config{}, asOf)
	oc, err := n.SendEvents(context.Background(), nil, out)
	if err != nil || oc.Stats.Sinks["gone"].Dropped != 1 {
		t.Errorf("stats %+v, err %v", oc.Stats, err)
	}
	if p, _ := out.Pending(context.Background()); len(p) != 0 {
		t.Errorf("still pending: %+v", p)
	}
}

func statsEqual(a, b Stats) bool {
	if a.SinkStats != b.SinkStats || len(a.Sinks) != len(b.Sinks) {
		return false
	}
	for k, v := range a.Sinks {
		if b.Sinks[k] != v {
			return false
		}
	}
	return true
}

// jsonOutbox keeps notifications as JSON in ID order, as the store's
// outbox table does (kind "notify"): what the Outbox keeps survives the
// round trip.
type jsonOutbox struct {
	mu    sync.Mutex
	items map[string][]byte
}

func (o *jsonOutbox) Save(_ context.Context, ns []Notification) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, n := range ns {
		b, err := json.Marshal(n)
		if err != nil {
			return err
		}
		o.items[n.ID] = b
	}
	return nil
}

func (o *jsonOutbox) Pending(context.Context) ([]Notification, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ids := make([]string, 0, len(o.items))
	for id := range o.items {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]Notification, len(ids))
	for i, id := range ids {
		if err := json.Unmarshal(o.items[id], &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (o *jsonOutbox) Done(_ context.Context, id string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.items, id)
	return nil
}

func TestHangingSinkTimesOutAndIsKept(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	n := newNotifier(t, Config{Timeout: 300 * time.Millisecond, Sinks: []Sink{{Name: "siem", Webhook: &WebhookConfig{URL: srv.URL, Secret: webhookSecret}}}}, asOf)
	start := time.Now()
	oc, err := n.Send(context.Background(), runResult(48), NewMemOutbox())
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("a hanging sink held Send for %s (timeout 300ms, one try per sink)", took)
	}
	if !errors.Is(err, ErrDeferred) || oc.Stats.Pending != 2 || oc.Stats.Delivered != 0 {
		t.Fatalf("stats %+v, err %v", oc.Stats, err)
	}
}

func TestSendDrillToTheSinksThatWantIt(t *testing.T) {
	drills, others := &recorder{}, &recorder{}
	dSrv, oSrv := httptest.NewServer(drills), httptest.NewServer(others)
	defer dSrv.Close()
	defer oSrv.Close()
	n := newNotifier(t, Config{RunURL: "https://ar.example.com/runs/", Sinks: []Sink{
		{Name: "drills", Events: []EventType{EventDrill}, Webhook: &WebhookConfig{URL: dSrv.URL, Secret: webhookSecret}},
		{Name: "ops", Events: []EventType{EventRunFailed, EventGuardTripped}, Webhook: &WebhookConfig{URL: oSrv.URL, Secret: webhookSecret}},
	}}, asOf)
	d := DrillResult{ID: "q1-2026", Scenario: "terminate", By: "Nora Admin", RunID: 80, FinishedAt: asOf,
		Targets: []DrillTarget{{Target: "ldap", Tier: "critical", Canary: "canary1", Elapsed: 40 * time.Second, SLA: 15 * time.Minute, Passed: true, Restored: true},
			{Target: "app", Tier: "standard", Canary: "canary1", Elapsed: 352 * time.Millisecond, SLA: time.Minute, Passed: true, Restored: true}}}
	oc, err := n.SendDrill(context.Background(), d, NewMemOutbox())
	if err != nil || oc.Stats.Sinks["drills"].Delivered != 1 || len(others.got()) != 0 {
		t.Fatalf("stats %+v, other sink got %d, err %v", oc.Stats, len(others.got()), err)
	}
	var ev Event
	if err := json.Unmarshal(drills.got()[0].Body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Key != "drill-q1-2026" || ev.Type != EventDrill || ev.URL != "https://ar.example.com/runs/80" ||
		ev.Lines[0] != "ldap canary1 (tier critical): revoked in 40s, SLA 15m0s: pass" ||
		ev.Lines[1] != "app canary1 (tier standard): revoked in 352ms, SLA 1m0s: pass" {
		t.Errorf("drill event %+v", ev)
	}
}
