package upstream_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/upstream"
)

func client(waits *[]time.Duration) *upstream.Client {
	return &upstream.Client{
		Component: "vendor",
		Redactor:  targets.NewRedactor("tok-123456789"),
		Sleep: func(ctx context.Context, d time.Duration) error {
			*waits = append(*waits, d)
			return ctx.Err()
		},
	}
}

func TestReadRetriedWithRetryAfterThenBackoff(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.WriteHeader(http.StatusBadGateway)
		default:
			_, _ = w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()
	var waits []time.Duration
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/users", nil)
	resp, err := client(&waits).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if n.Load() != 3 || len(waits) != 2 || waits[0] != 7*time.Second || waits[1] != 2*time.Second {
		t.Fatalf("requests %d, waits %v; want 3 requests, waits [7s 2s]", n.Load(), waits)
	}
}

func TestWriteSentOnceAndTransient(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	var waits []time.Duration
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/users/1/lifecycle/suspend", strings.NewReader("{}"))
	_, err := client(&waits).Do(req)
	var te *targets.TransientError
	if !errors.As(err, &te) || te.RetryAfter != 3*time.Second || n.Load() != 1 || len(waits) != 0 {
		t.Fatalf("err %v, requests %d, waits %v", err, n.Load(), waits)
	}
}

func TestStatusMappingAndEchoedSecret(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte("admin:tok-123456789"))
	for code, want := range map[int]error{401: targets.ErrPermission, 403: targets.ErrPermission, 404: targets.ErrNotFound, 410: targets.ErrNotFound, 400: nil} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(code)
			_, _ = w.Write([]byte("you sent Authorization: " + r.Header.Get("Authorization") + " and token tok-123456789\x1b[2J"))
		}))
		var waits []time.Duration
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/users?token=tok-123456789", nil)
		req.Header.Set("Authorization", "Basic "+basic)
		_, err := client(&waits).Do(req)
		srv.Close()
		var se *upstream.StatusError
		if !errors.As(err, &se) || se.Code != code {
			t.Fatalf("%d: err %v", code, err)
		}
		if want != nil && !errors.Is(err, want) {
			t.Fatalf("%d: %v does not wrap %v", code, err, want)
		}
		msg := err.Error()
		if strings.Contains(msg, "tok-123456789") || strings.Contains(msg, basic) || strings.Contains(msg, "\x1b") || strings.Contains(msg, "token=") {
			t.Fatalf("%d: error leaks: %q", code, msg)
		}
		if !strings.HasPrefix(msg, "vendor: GET /users: HTTP") || len(waits) != 0 {
			t.Fatalf("%d: message %q, waits %v", code, msg, waits)
		}
	}
}

func TestRetryableHookAndGiveUp(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"error":{"errors":[{"reason":"userRateLimitExceeded"}]}}`))
	}))
	defer srv.Close()
	var waits []time.Duration
	c := client(&waits)
	c.Retries = 2
	c.Retryable = func(resp *http.Response, body []byte) bool {
		return strings.Contains(string(body), "RateLimitExceeded")
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/users", nil)
	_, err := c.Do(req)
	var te *targets.TransientError
	if !errors.As(err, &te) || errors.Is(err, targets.ErrPermission) || n.Load() != 3 {
		t.Fatalf("err %v (requests %d)", err, n.Load())
	}
	if len(waits) != 2 || waits[0] != time.Second || waits[1] != 2*time.Second {
		t.Fatalf("waits %v", waits)
	}
}

func TestCancelledWaitStops(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/users", nil)
	start := time.Now()
	_, err := (&upstream.Client{}).Do(req)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("err %v after %s", err, time.Since(start))
	}
}

// A secret in the URL path (an incoming-webhook URL) never reaches an error,
// whether the server answers or the connection fails.
func TestSecretInPathRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
	}))
	red := targets.NewRedactor("hookSECRET0123456789")
	for _, base := range []string{srv.URL, "http://127.0.0.1:1"} {
		req, _ := http.NewRequest(http.MethodPost, base+"/services/T1/B2/hookSECRET0123456789", strings.NewReader("{}"))
		_, err := (&upstream.Client{Component: "slack", Redactor: red}).Do(req)
		if err == nil || strings.Contains(err.Error(), "hookSECRET0123456789") {
			t.Fatalf("%s: %v", base, err)
		}
	}
	srv.Close()
}

// A POST that Resend allows is retried (its body sent again each time); one
// it does not allow is sent once.
func TestResend(t *testing.T) {
	var n atomic.Int32
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 64)
		k, _ := r.Body.Read(b)
		bodies = append(bodies, string(b[:k]))
		if n.Add(1) < 3 {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	var waits []time.Duration
	c := client(&waits)
	c.Resend = func(req *http.Request, code int) bool { return code == http.StatusTooManyRequests }
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/report", strings.NewReader(`{"q":1}`))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if n.Load() != 3 || len(waits) != 2 || bodies[2] != `{"q":1}` {
		t.Fatalf("requests %d, waits %v, bodies %q", n.Load(), waits, bodies)
	}
	// 503 is not allowed by this Resend: sent once.
	n.Store(0)
	srv503 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv503.Close()
	req, _ = http.NewRequest(http.MethodPost, srv503.URL+"/report", strings.NewReader(`{}`))
	_, err = c.Do(req)
	var te *targets.TransientError
	if !errors.As(err, &te) || n.Load() != 1 {
		t.Fatalf("err %v, requests %d", err, n.Load())
	}
}

// Retry-After beyond MaxWait: cut to MaxWait by default, an immediate
// ErrWaitTooLong with FailLongWait.
func TestLongRetryAfter(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	var waits []time.Duration
	c := client(&waits)
	c.MaxWait = 5 * time.Second
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/users", nil)
	resp, err := c.Do(req)
	if err != nil || len(waits) != 1 || waits[0] != 5*time.Second {
		t.Fatalf("err %v, waits %v", err, waits)
	}
	_ = resp.Body.Close()
	n.Store(0)
	waits = nil
	c.FailLongWait = true
	_, err = c.Do(req)
	if !errors.Is(err, upstream.ErrWaitTooLong) || n.Load() != 1 || len(waits) != 0 {
		t.Fatalf("err %v, requests %d, waits %v", err, n.Load(), waits)
	}
}

// Retry on its own (callers that classify errors themselves): transient
// errors are retried Retries times with backoff, others end at once.
func TestRetryDo(t *testing.T) {
	var waits []time.Duration
	r := upstream.Retry{Retries: 2, Sleep: func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return nil
	}}
	tries := 0
	err := r.Do(t.Context(), func(int) error { tries++; return targets.Transient(errors.New("busy"), 0) })
	if tries != 3 || len(waits) != 2 || waits[0] != time.Second || waits[1] != 2*time.Second || err == nil {
		t.Fatalf("tries %d, waits %v, err %v", tries, waits, err)
	}
	tries, waits = 0, nil
	err = r.Do(t.Context(), func(int) error { tries++; return errors.New("bad request") })
	if tries != 1 || len(waits) != 0 || err == nil {
		t.Fatalf("tries %d, waits %v, err %v", tries, waits, err)
	}
}

// A body that cannot be read again (no GetBody) is never resent: a retry
// would send it empty.
func TestUnrewindableBodySentOnce(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	var waits []time.Duration
	c := client(&waits)
	c.Resend = func(*http.Request, int) bool { return true }
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/report", io.NopCloser(strings.NewReader(`{"q":1}`)))
	_, err := c.Do(req)
	if err == nil || n.Load() != 1 || len(waits) != 0 {
		t.Fatalf("err %v, requests %d, waits %v", err, n.Load(), waits)
	}
}
