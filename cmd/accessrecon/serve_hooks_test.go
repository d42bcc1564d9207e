package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runlock"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/serve"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// hookSetup is smallSetup with E3 (terminated in HR) holding an enabled
// app account, and the generic HR hook signed with hrKey, in enforce mode.
func hookSetup(tb testing.TB, extra string) (dir, config string) {
	tb.Helper()
	dir, config = smallSetup(tb, "hooks:\n  hr: {secret_env: TEST_HR_SECRET}\n  mode: enforce\n"+extra)
	db, err := sql.Open("sqlite3", filepath.Join(dir, "app.db"))
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO users VALUES ('3', 'E3', 1)`); err != nil {
		tb.Fatal(err)
	}
	return dir, config
}

var hrKey = []byte("test-hr-secret")

// postHR posts a signed /hooks/hr request.
func postHR(tb testing.TB, c *http.Client, addr string, body []byte, ts time.Time) (int, string) {
	tb.Helper()
	tss := strconv.FormatInt(ts.Unix(), 10)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/hooks/hr", bytes.NewReader(body))
	req.Header.Set("X-Accessrecon-Signature", serve.SignHook(hrKey, body, tss))
	req.Header.Set("X-Accessrecon-Timestamp", tss)
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func appActive(tb testing.TB, dir, id string) bool {
	tb.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "app.db")+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	var a bool
	if err := db.QueryRow(`SELECT active FROM users WHERE id = ?`, id).Scan(&a); err != nil {
		tb.Fatal(err)
	}
	return a
}

// storeCount is one COUNT(*) query on the store file.
func storeCount(tb testing.TB, dir, q string, args ...any) int {
	tb.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "accessrecon.db")+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// TestServeWebhookSurvivesKill (issue 11 item 5): an accepted webhook is in
// the store (hr_events row, audit record) when the 202 is answered; after a
// kill -9 right after it, the next serve runs it, and a run whose wait for
// the lock times out stays queued and is retried.
func TestServeWebhookSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs serve processes")
	}
	bin := buildAccessrecon(t)
	dir, config := hookSetup(t, "  timeout: 2s\n")
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "accessrecon.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Another process holds the run lock: nothing can run.
	other := store.LockHolder{Token: "other", Host: "elsewhere", PID: 1, Purpose: "a long run elsewhere"}
	if got, _, _, err := st.TryLock(ctx, runlock.Name, other, store.LockPolicy{}); err != nil || !got {
		t.Fatalf("TryLock: %v %v", got, err)
	}
	a := startServe(t, bin, config, "TEST_HR_SECRET="+string(hrKey))
	code, resp := postHR(t, http.DefaultClient, a.addr, []byte(`{"employee_ids":["E3"]}`), time.Now())
	if code != http.StatusAccepted {
		t.Fatalf("POST: %d %s", code, resp)
	}
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.exited
	if n := storeCount(t, dir, `SELECT COUNT(*) FROM hr_events WHERE employee_id = 'E3'`); n != 1 {
		t.Errorf("after kill -9 right after the 202: %d hr_events rows for E3, want 1", n)
	}
	if n := storeCount(t, dir, `SELECT COUNT(*) FROM audit WHERE type = 'webhook_received' AND detail LIKE '%E3%'`); n != 1 {
		t.Errorf("after kill -9 right after the 202: %d webhook_received audit records for E3, want 1", n)
	}
	if !appActive(t, dir, "3") {
		t.Fatal("E3's account was disabled while the lock was held elsewhere")
	}

	// The next serve picks the event up; its first wait for the lock
	// (hooks.timeout 2s) times out, and the batch is retried.
	b := startServe(t, bin, config, "TEST_HR_SECRET="+string(hrKey))
	waitFor(t, time.Minute, "the webhook run to be deferred for the lock", func() bool {
		return strings.Contains(b.logs(), `"msg":"webhook run deferred: the store lock stayed held; the people stay queued"`)
	})
	if err := st.Unlock(ctx, runlock.Name, "other"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "E3's account disabled by the retried webhook run", func() bool {
		return !appActive(t, dir, "3")
	})
	waitFor(t, time.Minute, "the hook run to finish", func() bool {
		rs := jobRuns(t, filepath.Join(dir, "accessrecon.db"), "hook")
		return len(rs) == 1 && rs[0].Status != "running"
	})
	rs := jobRuns(t, filepath.Join(dir, "accessrecon.db"), "hook")
	if rs[0].Status != "completed" || rs[0].Scope != "people:E3" {
		t.Errorf("hook run: %s %s %q, want completed people:E3", rs[0].Status, rs[0].Scope, rs[0].Error)
	}
	// serve records the event as run once the run has finished: a moment
	// after the run's own status.
	waitFor(t, time.Minute, fmt.Sprintf("the event recorded as run by run %d", rs[0].ID), func() bool {
		return storeCount(t, dir, `SELECT COUNT(*) FROM hr_events WHERE employee_id = 'E3' AND run_id = ?`, rs[0].ID) == 1
	})
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	<-b.exited
}

// latencies are request durations; p is a percentile.
type latencies []time.Duration

func (l latencies) p(q float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// TestServeFlood (issue 11 items 9 and 10): 5,000 requests with bad
// signatures are answered 401, counted in /metrics by reason, sampled to
// the log, and neither the audit trail nor the store grows by them;
// oversized bodies and requests naming too many people get 413; 300
// connections that send a body slowly are closed by the read timeout.
func TestServeFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs serve processes")
	}
	bin := buildAccessrecon(t)
	dir, config := hookSetup(t, "  max_ids: 50\nserve: {grace: 1s, read_timeout: 1s}\n")
	// smallSetup's serve block is replaced by this one.
	b, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, bytes.Replace(b, []byte("serve: {grace: 1s}\n"), nil, 1), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, bin, config, "TEST_HR_SECRET="+string(hrKey))
	audit := filepath.Join(dir, "accessrecon.db.audit.jsonl")
	size := func(path string) int64 {
		fi, err := os.Stat(path)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	auditBefore := storeCount(t, dir, `SELECT COUNT(*) FROM audit`)
	fileBefore := size(audit)
	storeBefore := size(filepath.Join(dir, "accessrecon.db")) + size(filepath.Join(dir, "accessrecon.db-wal"))

	const n, workers = 5000, 8
	var answered, unauthorized atomic.Int64
	lat := make([]latencies, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			c := &http.Client{Timeout: 30 * time.Second}
			for i := w; i < n; i += workers {
				body := fmt.Appendf(nil, `{"employee_ids":["E%d"]}`, i)
				req, _ := http.NewRequest(http.MethodPost, "http://"+p.addr+"/hooks/hr", bytes.NewReader(body))
				req.Header.Set("X-Accessrecon-Signature", serve.SignHook([]byte("wrong key"), body, strconv.FormatInt(time.Now().Unix(), 10)))
				req.Header.Set("X-Accessrecon-Timestamp", strconv.FormatInt(time.Now().Unix(), 10))
				t0 := time.Now()
				resp, err := c.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[w] = append(lat[w], time.Since(t0))
				answered.Add(1)
				if resp.StatusCode == http.StatusUnauthorized {
					unauthorized.Add(1)
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	all := slices.Concat(lat...)
	auditAfter := storeCount(t, dir, `SELECT COUNT(*) FROM audit`)
	runs := storeCount(t, dir, `SELECT COUNT(*) FROM runs`)
	revocations := storeCount(t, dir, `SELECT COUNT(*) FROM actions WHERE status = 'done'`)
	t.Logf("flood: %d bad requests in %s: answered %d (401: %d), runs %d, revocations %d, p50 %s p95 %s; audit records +%d, audit file +%d B, store +%d B",
		n, took.Round(time.Millisecond), answered.Load(), unauthorized.Load(), runs, revocations, all.p(0.5), all.p(0.95),
		auditAfter-auditBefore, size(audit)-fileBefore,
		size(filepath.Join(dir, "accessrecon.db"))+size(filepath.Join(dir, "accessrecon.db-wal"))-storeBefore)
	if answered.Load() != n || unauthorized.Load() != n {
		t.Errorf("answered %d, 401 %d of %d", answered.Load(), unauthorized.Load(), n)
	}
	if auditAfter != auditBefore || size(audit) != fileBefore {
		t.Errorf("the audit trail grew by %d records (%d bytes of file) for rejected requests", auditAfter-auditBefore, size(audit)-fileBefore)
	}
	for _, q := range []string{`SELECT COUNT(*) FROM hr_events`, `SELECT COUNT(*) FROM webhook_signatures`} {
		if c := storeCount(t, dir, q); c != 0 {
			t.Errorf("%s = %d after rejected requests only", q, c)
		}
	}
	if runs != 0 || revocations != 0 {
		t.Errorf("rejected requests led to %d runs, %d revocations", runs, revocations)
	}
	if logged := strings.Count(p.logs(), `"msg":"webhook rejected"`); logged > 3*10 {
		t.Errorf("%d rejections logged one by one: want a sample (10 a minute)", logged)
	}
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mfs := parseMetrics(t, resp.Body)
	resp.Body.Close()
	if v, _ := metricValue(mfs, "accessrecon_webhook_requests_total", map[string]string{"endpoint": "hr", "result": serve.HookBadSignature}); v != n {
		t.Errorf("accessrecon_webhook_requests_total{hr,bad_signature} = %v, want %d", v, n)
	}

	// 413: a body over 1 MiB (signed: the cut is not a signature
	// mismatch), and more people than hooks.max_ids.
	big := append([]byte(`{"employee_ids":["E3"],"pad":"`), bytes.Repeat([]byte("x"), serve.MaxHookBody)...)
	big = append(big, `"}`...)
	if code, resp := postHR(t, http.DefaultClient, p.addr, big, time.Now()); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over 1 MiB: %d %s, want 413", code, resp)
	}
	var ids []string
	for i := range 51 {
		ids = append(ids, strconv.Quote(fmt.Sprintf("E%d", 100+i)))
	}
	code, body := postHR(t, http.DefaultClient, p.addr, []byte(`{"employee_ids":[`+strings.Join(ids, ",")+`]}`), time.Now())
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "hooks.max_ids") {
		t.Errorf("51 people with hooks.max_ids 50: %d %s, want 413 naming hooks.max_ids", code, body)
	}

	// 300 connections send their headers and part of a body, then stall:
	// each is closed by the read timeout (1s), 64 at a time.
	const slow = 300
	var closed atomic.Int64
	var cwg sync.WaitGroup
	deadline := time.Now().Add(45 * time.Second)
	start = time.Now()
	for range slow {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "POST /hooks/hr HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"employee_ids\":"); err != nil {
			t.Fatal(err)
		}
		cwg.Go(func() {
			_ = c.SetReadDeadline(deadline)
			_, err := io.Copy(io.Discard, bufio.NewReader(c)) // returns at the server's close
			var ne net.Error
			if err == nil || !(errors.As(err, &ne) && ne.Timeout()) {
				closed.Add(1)
			}
		})
	}
	cwg.Wait()
	t.Logf("slow bodies: %d of %d connections closed by the server within %s", closed.Load(), slow, time.Since(start).Round(time.Millisecond))
	if closed.Load() != slow {
		t.Errorf("%d of %d slow-body connections still open after 45s", slow-closed.Load(), slow)
	}
	// And serve still answers.
	if code, resp := postHR(t, http.DefaultClient, p.addr, []byte(`{"employee_ids":["E3"]}`), time.Now()); code != http.StatusAccepted {
		t.Errorf("a good webhook after the flood: %d %s", code, resp)
	}
}

// TestServeBearerHook (issue 11 item 11): the bearer mode of /hooks/hr
// requires the "Bearer" scheme, a timestamp within the replay window, and
// refuses a replay.
func TestServeBearerHook(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs serve processes")
	}
	bin := buildAccessrecon(t)
	dir, config := smallSetup(t, "hooks: {hr: {token_env: TEST_HR_TOKEN}, mode: report}\n")
	p := startServe(t, bin, config, "TEST_HR_TOKEN=tok-123")
	post := func(authz, ts, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+p.addr+"/hooks/hr", strings.NewReader(body))
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		if ts != "" {
			req.Header.Set("X-Accessrecon-Timestamp", ts)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	now := strconv.FormatInt(time.Now().Unix(), 10)
	body := `{"employee_ids":["E3"]}`
	for _, c := range []struct{ name, authz, ts, want string }{
		{"raw token without the scheme", "tok-123", now, serve.HookBadScheme},
		{"another scheme", "Basic tok-123", now, serve.HookBadScheme},
		{"no timestamp", "Bearer tok-123", "", serve.HookStale},
		{"stale timestamp", "Bearer tok-123", strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10), serve.HookStale},
		{"wrong token", "Bearer nope", now, serve.HookBadSignature},
	} {
		if code, resp := post(c.authz, c.ts, body); code != http.StatusUnauthorized || !strings.Contains(resp, c.want) {
			t.Errorf("%s: %d %s, want 401 %s", c.name, code, resp, c.want)
		}
	}
	if code, resp := post("Bearer tok-123", now, body); code != http.StatusAccepted {
		t.Fatalf("good bearer request: %d %s", code, resp)
	}
	if code, resp := post("Bearer tok-123", now, body); code != http.StatusUnauthorized || !strings.Contains(resp, serve.HookReplayed) {
		t.Errorf("the same request again: %d %s, want 401 %s", code, resp, serve.HookReplayed)
	}
	waitFor(t, time.Minute, "the hook run", func() bool {
		rs := jobRuns(t, filepath.Join(dir, "accessrecon.db"), "hook")
		return len(rs) == 1 && rs[0].Status == "completed"
	})
}

// TestServeWebhookAuditFails (issue 11 item 9): when the audit trail cannot
// be appended to (its file is a directory here), a webhook is not accepted
// (503, the sender retries) and nothing is revoked; before, it was answered
// 202 with no webhook_received record. The sender's retry of the same
// request, once the trail works, is accepted (not refused as a replay).
func TestServeWebhookAuditFails(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs serve processes")
	}
	bin := buildAccessrecon(t)
	dir, config := hookSetup(t, "audit: {file: audit-is-a-dir}\n")
	if err := os.Mkdir(filepath.Join(dir, "audit-is-a-dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, bin, config, "TEST_HR_SECRET="+string(hrKey))
	sent := time.Now()
	code, resp := postHR(t, http.DefaultClient, p.addr, []byte(`{"employee_ids":["E3"]}`), sent)
	if code != http.StatusServiceUnavailable || !strings.Contains(resp, serve.HookStoreError) {
		t.Errorf("POST with the audit trail failing: %d %s, want 503 %s", code, resp, serve.HookStoreError)
	}
	if n := storeCount(t, dir, `SELECT COUNT(*) FROM hr_events`); n != 0 {
		t.Errorf("%d hr_events rows for a webhook that could not be audited", n)
	}
	if !appActive(t, dir, "3") {
		t.Error("E3's account was disabled although the audit trail could not be written")
	}
	// The sender retries the same request once the trail is writable: it
	// was not recorded, so it is no replay.
	if err := os.Remove(filepath.Join(dir, "audit-is-a-dir")); err != nil {
		t.Fatal(err)
	}
	if code, resp := postHR(t, http.DefaultClient, p.addr, []byte(`{"employee_ids":["E3"]}`), sent); code != http.StatusAccepted {
		t.Errorf("the sender's retry once the trail is writable: %d %s, want 202", code, resp)
	} else {
		waitFor(t, time.Minute, "E3's account disabled by the retried webhook", func() bool { return !appActive(t, dir, "3") })
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.exited
}

// TestServeFloodValid: 500 valid webhooks for one leaver, 8 at a time: every
// one is answered 202 (each recorded before its answer), they join a few
// batched runs, and the leaver's account is disabled exactly once.
func TestServeFloodValid(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs serve processes")
	}
	bin := buildAccessrecon(t)
	dir, config := hookSetup(t, "")
	p := startServe(t, bin, config, "TEST_HR_SECRET="+string(hrKey))
	const n, workers = 500, 8
	var accepted atomic.Int64
	lat := make([]latencies, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			c := &http.Client{Timeout: 30 * time.Second}
			for i := w; i < n; i += workers {
				body := fmt.Appendf(nil, `{"employee_ids":["E3"],"n":%d}`, i)
				t0 := time.Now()
				code, _ := postHR(t, c, p.addr, body, time.Now())
				lat[w] = append(lat[w], time.Since(t0))
				if code == http.StatusAccepted {
					accepted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	if accepted.Load() != n {
		t.Errorf("%d of %d valid webhooks accepted", accepted.Load(), n)
	}
	waitFor(t, time.Minute, "every accepted event run", func() bool {
		return storeCount(t, dir, `SELECT COUNT(*) FROM hr_events WHERE run_id > 0`) == n
	})
	all := slices.Concat(lat...)
	runs := storeCount(t, dir, `SELECT COUNT(*) FROM runs WHERE job = 'hook'`)
	revocations := storeCount(t, dir, `SELECT COUNT(*) FROM actions WHERE status = 'done'`)
	t.Logf("valid flood: %d webhooks in %s: accepted %d, runs %d, revocations %d, p50 %s p95 %s",
		n, took.Round(time.Millisecond), accepted.Load(), runs, revocations, all.p(0.5), all.p(0.95))
	if revocations != 1 || appActive(t, dir, "3") {
		t.Errorf("%d revocations for one leaver named %d times (account still active: %v), want 1", revocations, n, appActive(t, dir, "3"))
	}
}
