package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/accessrecon/accessrecon/reconcile/store"
)

// buildAccessrecon builds the binary once for the calling test (and its
// subtests) into its temp dir.
func buildAccessrecon(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "accessrecon")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// serveProc is a running `accessrecon serve`.
type serveProc struct {
	cmd    *exec.Cmd
	addr   string
	mu     sync.Mutex
	log    bytes.Buffer
	exited chan struct{}
	err    error
}

func (p *serveProc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

type lockedWriter struct{ p *serveProc }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.log.Write(b)
}

// startServe starts serve and waits for /healthz. It is stopped by PID
// (SIGKILL) at cleanup if still running.
func startServe(tb testing.TB, bin, config string, env ...string) *serveProc {
	tb.Helper()
	p := &serveProc{addr: freePort(tb), exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve", "--config", config, "--listen", p.addr)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = lockedWriter{p}
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	tb.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if tb.Failed() {
			tb.Logf("serve %d log:\n%s", p.cmd.Process.Pid, p.logs())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + p.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.exited:
			tb.Fatalf("serve exited early: %v\n%s", p.err, p.logs())
		case <-time.After(50 * time.Millisecond):
		}
	}
	tb.Fatalf("serve did not answer /healthz\n%s", p.logs())
	return nil
}

// jobRuns reads the runs of a job straight from the store file.
func jobRuns(tb testing.TB, storePath, job string) []store.Run {
	tb.Helper()
	st, err := store.Open(context.Background(), storePath)
	if err != nil {
		tb.Fatal(err)
	}
	defer st.Close()
	all, err := st.Runs(context.Background(), 0)
	if err != nil {
		tb.Fatal(err)
	}
	var out []store.Run
	for _, r := range all {
		if r.Job == job {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b store.Run) int { return a.StartedAt.Compare(b.StartedAt) })
	return out
}

// noOverlap fails when a run started before the previous one finished.
func noOverlap(tb testing.TB, runs []store.Run) {
	tb.Helper()
	for i := 1; i < len(runs); i++ {
		prev := runs[i-1]
		if prev.FinishedAt.IsZero() || runs[i].StartedAt.Before(prev.FinishedAt) {
			tb.Errorf("run %d started at %s while run %d (started %s, finished %s) was still going",
				runs[i].ID, runs[i].StartedAt.Format(time.StampMilli), prev.ID, prev.StartedAt.Format(time.StampMilli), prev.FinishedAt.Format(time.StampMilli))
		}
	}
}

func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("timed out after %s waiting for %s", timeout, what)
}

// smallSetup writes a csv HR file, a csv target and an SQLite target whose
// accounts query burns CPU for as many iterations as its knob table says.
func smallSetup(tb testing.TB, jobs string) (dir, config string) {
	tb.Helper()
	dir = tb.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	write("hr.csv", "employee_id,email,first_name,last_name,status\nE1,a@example.com,A,One,active\nE2,b@example.com,B,Two,active\nE3,c@example.com,C,Three,terminated\n")
	write("vpn.csv", "account_id,username,email,employee_id,display_name,enabled,privileged,groups\nv1,a,a@example.com,E1,A One,true,false,\nv2,b,b@example.com,E2,B Two,true,false,\n")
	db, err := sql.Open("sqlite3", filepath.Join(dir, "app.db"))
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE users (id TEXT PRIMARY KEY, emp TEXT, active INTEGER);
		INSERT INTO users VALUES ('1', 'E1', 1), ('2', 'E2', 1);
		CREATE TABLE knob (n INTEGER); INSERT INTO knob VALUES (1);`); err != nil {
		tb.Fatal(err)
	}
	config = filepath.Join(dir, "schedule.yaml")
	write("schedule.yaml", `store: accessrecon.db
sources:
  - {name: hr, type: csv, config: {path: hr.csv}}
targets:
  - {name: vpn, type: csv, config: {path: vpn.csv}}
  - name: app
    type: sql
    config:
      driver: sqlite3
      dsn: app.db
      accounts_query: >-
        SELECT id AS account_id, emp AS employee_id, active AS enabled FROM users
        WHERE (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < (SELECT n FROM knob)) SELECT count(*) FROM c) > 0
      disable_statement: UPDATE users SET active = 0 WHERE id = :account_id
policy: {mode: report}
serve: {grace: 1s}
`+jobs)
	return dir, config
}

// setKnob sets how many iterations the app target's listing burns.
func setKnob(tb testing.TB, dir string, n int) {
	tb.Helper()
	db, err := sql.Open("sqlite3", filepath.Join(dir, "app.db")+"?_busy_timeout=5000")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE knob SET n = ?`, n); err != nil {
		tb.Fatal(err)
	}
}

// slowKnob calibrates the iterations that take about d on this machine now.
func slowKnob(tb testing.TB, d time.Duration) int {
	tb.Helper()
	db, err := sql.Open("sqlite3", ":memory:")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	const probe = 300000
	start := time.Now()
	var n int
	if err := db.QueryRow(`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) SELECT count(*) FROM c`, probe).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	per := time.Since(start) / probe
	return int(d / max(per, time.Nanosecond))
}

// TestServe drives real serve processes: the schedule without overlap,
// skipping instead of stacking, SIGTERM with a grace period, two serves on
// one store, and the webhook fast path.
func TestServe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs serve processes")
	}
	bin := buildAccessrecon(t)

	t.Run("schedule", func(t *testing.T) {
		t.Parallel()
		dir, config := smallSetup(t, "jobs:\n  - {name: tick, schedule: \"@every 2s\"}\n")
		db := filepath.Join(dir, "accessrecon.db")
		p := startServe(t, bin, config)
		// Fast runs: at least two, never overlapping.
		waitFor(t, 12*time.Second, "two completed runs", func() bool {
			n := 0
			for _, r := range jobRuns(t, db, "tick") {
				if r.Status == "completed" {
					n++
				}
			}
			return n >= 2
		})
		// Slow runs (~3.5 s, longer than the 2 s interval): skipped, not stacked.
		setKnob(t, dir, slowKnob(t, 3500*time.Millisecond))
		before := len(jobRuns(t, db, "tick"))
		waitFor(t, 25*time.Second, "two slow runs", func() bool {
			n := 0
			for _, r := range jobRuns(t, db, "tick")[before:] {
				if r.Status == "completed" && r.FinishedAt.Sub(r.StartedAt) > 2200*time.Millisecond {
					n++
				}
			}
			return n >= 2
		})
		if !strings.Contains(p.logs(), `"msg":"cron: skip"`) {
			t.Errorf("a run slower than the interval, but no activation was skipped")
		}
		// SIGTERM during a run: exit 0 after the 1 s grace, the run cancelled.
		waitFor(t, 10*time.Second, "a run in progress", func() bool {
			rs := jobRuns(t, db, "tick")
			return len(rs) > 0 && rs[len(rs)-1].Status == "running" && time.Since(rs[len(rs)-1].StartedAt) < time.Second
		})
		sent := time.Now()
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-p.exited:
		case <-time.After(20 * time.Second):
			t.Fatal("serve did not exit after SIGTERM")
		}
		took := time.Since(sent)
		if p.err != nil {
			t.Errorf("serve exit after SIGTERM: %v (want 0)", p.err)
		}
		if took < time.Second {
			t.Errorf("serve exited %s after SIGTERM: before the 1 s grace period", took)
		}
		rs := jobRuns(t, db, "tick")
		last := rs[len(rs)-1]
		if last.Status != "cancelled" {
			t.Errorf("the run interrupted by SIGTERM is %q, want cancelled (error %q)", last.Status, last.Error)
		}
		noOverlap(t, rs)
		t.Logf("%d runs; SIGTERM to exit %s", len(rs), took.Round(time.Millisecond))
	})

	t.Run("two serves one store", func(t *testing.T) {
		t.Parallel()
		dir, config := smallSetup(t, "jobs:\n  - {name: tick, schedule: \"@every 2s\"}\n")
		db := filepath.Join(dir, "accessrecon.db")
		start := time.Now()
		a := startServe(t, bin, config)
		b := startServe(t, bin, config)
		time.Sleep(9 * time.Second)
		for _, p := range []*serveProc{a, b} {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			<-p.exited
			if p.err != nil {
				t.Errorf("exit: %v", p.err)
			}
		}
		elapsed := time.Since(start)
		rs := jobRuns(t, db, "tick")
		noOverlap(t, rs)
		// One scheduler's worth: the catch-up run plus one per 2 s slot.
		if limit := int(elapsed/(2*time.Second)) + 2; len(rs) > limit {
			t.Errorf("%d runs in %s from two serves: more than one scheduler's %d", len(rs), elapsed.Round(time.Second), limit)
		}
		for i := 1; i < len(rs); i++ {
			if gap := rs[i].StartedAt.Sub(rs[i-1].StartedAt); gap < 900*time.Millisecond {
				t.Errorf("runs %d and %d started %s apart: the job ran twice for one slot", rs[i-1].ID, rs[i].ID, gap)
			}
		}
		if len(rs) < 3 {
			t.Errorf("only %d runs in %s", len(rs), elapsed.Round(time.Second))
		}
		t.Logf("%d runs in %s from two serves", len(rs), elapsed.Round(time.Second))
	})

	t.Run("webhook", func(t *testing.T) {
		t.Parallel()
		testWebhook(t, bin)
	})
}

// panicking job: in process, with the test-only hook.
func TestServeJobPanicDoesNotStopLaterRuns(t *testing.T) {
	_, config := smallSetup(t, "jobs:\n  - {name: tick, schedule: \"@every 1s\"}\n")
	cfg, err := loadConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), cfg.storePath())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := newServer(ctx, config, cfg, st, log, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	s.panicHook = func(job string) {
		if calls.Add(1) <= 3 { // the catch-up and the first two ticks
			panic("test panic in job " + job)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan int)
	go func() {
		code, _ := s.serve(ctx, ln)
		done <- code
	}()
	waitFor(t, 15*time.Second, "two runs after the panics", func() bool {
		n := 0
		for _, r := range jobRuns(t, cfg.storePath(), "tick") {
			if r.Status == "completed" {
				n++
			}
		}
		return n >= 2
	})
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("serve returned %d", code)
	}
	if got := strings.Count(logs.String(), "test panic in job tick"); got < 3 {
		t.Errorf("%d panics logged, want 3 (cron.Recover inside SkipIfStillRunning)", got)
	}
	noOverlap(t, jobRuns(t, cfg.storePath(), "tick"))
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunRefusesWhileLocked: a manual run refuses (exit 1, naming the
// holder) while the store lock is held, and takes over a dead holder's lock.
func TestRunRefusesWhileLocked(t *testing.T) {
	dir, config := smallSetup(t, "")
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "accessrecon.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	host, _ := os.Hostname()
	me := store.LockHolder{Token: "t1", Host: host, PID: os.Getpid(), Purpose: "job nightly"}
	if got, _, _, err := st.TryLock(ctx, runLockName, me, store.LockPolicy{}); err != nil || !got {
		t.Fatalf("TryLock: %v %v", got, err)
	}
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"run", "--config", config, "--out", dir}, &stdout, &stderr)
	if code != exitFail || !strings.Contains(stderr.String(), "job nightly") || !strings.Contains(stderr.String(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Errorf("run with the lock held: exit %d, stderr %q; want 1 naming the holder", code, stderr.String())
	}
	start := time.Now()
	stderr.Reset()
	code = run(ctx, []string{"run", "--config", config, "--out", dir, "--wait", "700ms"}, &stdout, &stderr)
	if code != exitFail || time.Since(start) < 700*time.Millisecond {
		t.Errorf("run --wait 700ms: exit %d after %s", code, time.Since(start))
	}
	if err := st.Unlock(ctx, runLockName, "t1"); err != nil {
		t.Fatal(err)
	}
	// A holder on this host whose process is gone: taken over.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	gone := store.LockHolder{Token: "t2", Host: host, PID: dead.ProcessState.Pid(), Purpose: "job crashed"}
	if got, _, _, err := st.TryLock(ctx, runLockName, gone, store.LockPolicy{}); err != nil || !got {
		t.Fatalf("TryLock: %v %v", got, err)
	}
	stderr.Reset()
	if code := run(ctx, []string{"run", "--config", config, "--out", dir}, &stdout, &stderr); code != exitOK {
		t.Errorf("run over a dead holder's lock: exit %d: %s", code, stderr.String())
	}
	// And a heartbeat older than the stale threshold.
	l := newRunLock(st, time.Second, slog.New(slog.DiscardHandler))
	old := store.LockHolder{Token: "t3", Host: "elsewhere", PID: 1, Purpose: "job on another host"}
	if got, _, _, _ := st.TryLock(ctx, runLockName, old, store.LockPolicy{Now: func() time.Time { return time.Now().Add(-time.Minute) }}); !got {
		t.Fatal("could not plant the stale lock")
	}
	release, err := l.acquire(ctx, "test", 0)
	if err != nil {
		t.Fatalf("a lock with a heartbeat a minute old (stale after 1s) was not taken over: %v", err)
	}
	release()
}

// sendHook posts a signed BambooHR webhook.
func sendHook(t testing.TB, addr string, key, body []byte, ts time.Time, badSig bool) (int, string) {
	t.Helper()
	tss := strconv.FormatInt(ts.Unix(), 10)
	sig := signHook(key, body, tss)
	if badSig {
		sig = signHook([]byte("not the key"), body, tss)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/hooks/bamboohr", bytes.NewReader(body))
	req.Header.Set("X-BambooHR-Signature", sig)
	req.Header.Set("X-BambooHR-Timestamp", tss)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func leaverBody(i int) []byte {
	return fmt.Appendf(nil, `{"employees":[{"id":"112","action":"Updated","changedFields":["employmentHistoryStatus","n%d"],"fields":{"employeeNumber":"E000012"}}]}`, i)
}

// demoForHooks writes the demo, adds the hooks, and turns the terminated
// E000012's directory account u0012 back on.
func demoForHooks(tb testing.TB) (dir, config string) {
	tb.Helper()
	dir = filepath.Join(tb.TempDir(), "demo")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"demo", "--out", dir}, &out, &errb); code != exitOK {
		tb.Fatalf("demo: exit %d: %s", code, errb.String())
	}
	config = filepath.Join(dir, "schedule.yaml")
	f, err := os.OpenFile(config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	fmt.Fprint(f, "hooks:\n  bamboohr: {secret_env: TEST_BAMBOOHR_SECRET}\n")
	f.Close()
	reenable(tb, dir)
	return dir, config
}

func reenable(tb testing.TB, dir string) {
	tb.Helper()
	db, err := sql.Open("sqlite3", filepath.Join(dir, "directory.db")+"?_busy_timeout=5000")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE users SET active = 1 WHERE id = 'u0012'`); err != nil {
		tb.Fatal(err)
	}
}

// verifiedDisable returns the newest verified disable of u0012 after action
// id `after`.
func verifiedDisable(tb testing.TB, dir string, after int64) (int64, bool) {
	tb.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "accessrecon.db")+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	var id int64
	err = db.QueryRow(`SELECT id FROM actions WHERE target = 'directory' AND account_id = 'u0012' AND op = 'disable' AND status = 'done' AND verified = 1 AND id > ? ORDER BY id DESC LIMIT 1`, after).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false
	}
	if err != nil {
		tb.Fatal(err)
	}
	return id, true
}

func active(tb testing.TB, dir string) bool {
	tb.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "directory.db")+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	var a bool
	if err := db.QueryRow(`SELECT active FROM users WHERE id = 'u0012'`).Scan(&a); err != nil {
		tb.Fatal(err)
	}
	return a
}

func testWebhook(t *testing.T, bin string) {
	key := []byte("test-webhook-secret")
	dir, config := demoForHooks(t)
	p := startServe(t, bin, config, "TEST_BAMBOOHR_SECRET="+string(key))
	if !active(t, dir) {
		t.Fatal("setup: u0012 is not active")
	}
	base, _ := verifiedDisable(t, dir, 0) // the demo's own runs disabled it before
	body := leaverBody(0)
	sent := time.Now()
	code, resp := sendHook(t, p.addr, key, body, sent, false)
	if code != http.StatusAccepted || !strings.Contains(resp, "request_id") {
		t.Fatalf("POST: %d %s", code, resp)
	}
	waitFor(t, 5*time.Second, "u0012 disabled and verified", func() bool {
		_, ok := verifiedDisable(t, dir, base)
		return ok && !active(t, dir)
	})
	t.Logf("webhook to verified revocation: %s", time.Since(sent).Round(time.Millisecond))

	// Refused: a bad signature, a stale timestamp, a replay of the first.
	if code, resp := sendHook(t, p.addr, key, leaverBody(1), time.Now(), true); code != http.StatusUnauthorized {
		t.Errorf("bad signature: %d %s", code, resp)
	}
	if code, resp := sendHook(t, p.addr, key, leaverBody(2), time.Now().Add(-6*time.Minute), false); code != http.StatusUnauthorized {
		t.Errorf("stale timestamp: %d %s", code, resp)
	}
	if code, resp := sendHook(t, p.addr, key, body, sent, false); code != http.StatusUnauthorized {
		t.Errorf("replay: %d %s", code, resp)
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "accessrecon.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var reasons []string
	err = st.Audit("").Records(context.Background(), 0, func(r store.AuditRecord) error {
		if r.Type == "webhook_rejected" {
			reasons = append(reasons, string(r.Detail))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{hookBadSignature, hookStale, hookReplayed} {
		if !slices.ContainsFunc(reasons, func(s string) bool { return strings.Contains(s, `"reason":"`+want+`"`) }) {
			t.Errorf("no webhook_rejected audit record with reason %s (have %q)", want, reasons)
		}
	}
	checkMetrics(t, p.addr, st)
	checkSLA(t, config)
}

func parseMetrics(t *testing.T, r io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(r)
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// metricValue finds the sample of family name whose labels include want.
func metricValue(mfs map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		ok := true
		for k, v := range want {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			ok = ok && found
		}
		if !ok {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

func checkMetrics(t *testing.T, addr string, st *store.Store) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	mfs := parseMetrics(t, resp.Body)
	ctx := context.Background()
	expect := func(name string, labels map[string]string, want float64) {
		t.Helper()
		got, ok := metricValue(mfs, name, labels)
		if !ok || got != want {
			t.Errorf("%s%v = %v (present %v), want %v", name, labels, got, ok, want)
		}
	}
	for _, r := range []string{hookAccepted, hookBadSignature, hookStale, hookReplayed} {
		expect("accessrecon_webhook_requests_total", map[string]string{"endpoint": "bamboohr", "result": r}, 1)
	}
	hook, err := st.LastRunOf(ctx, "hook")
	if err != nil {
		t.Fatal(err)
	}
	expect("accessrecon_job_last_run_status", map[string]string{"job": "hook", "status": string(hook.Status)}, 1)
	expect("accessrecon_job_last_run_timestamp_seconds", map[string]string{"job": "hook"}, float64(hook.FinishedAt.UnixMilli())/1000)
	var done int
	runs, err := st.Runs(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		acts, err := st.Actions(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range acts {
			if a.Target == "directory" && a.Status == "done" {
				done++
			}
		}
	}
	expect("accessrecon_revocations_total", map[string]string{"target": "directory", "outcome": "done"}, float64(done))
	full, err := latestFullRun(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	bodies, err := st.FindingBodies(ctx, full.ID)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, m := range mfs["accessrecon_findings"].GetMetric() {
		sum += m.GetGauge().GetValue()
	}
	if int(sum) != len(bodies) {
		t.Errorf("accessrecon_findings sum to %v, run %d has %d findings", sum, full.ID, len(bodies))
	}
	colls, err := st.Collections(ctx, full.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range colls {
		expect("accessrecon_collection_accounts", map[string]string{"side": string(c.Side), "name": c.Name}, float64(c.Count))
	}
	// The hook run's revocation is in the critical tier's histogram.
	if n, ok := metricValue(mfs, "accessrecon_time_to_revoke_seconds", map[string]string{"tier": "critical"}); !ok || n < 1 {
		t.Errorf("time_to_revoke{tier=critical} count %v (present %v), want >= 1", n, ok)
	}
}

func checkSLA(t *testing.T, config string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"sla", "--config", config, "--json"}, &out, &errb); code != exitOK {
		t.Fatalf("sla: exit %d: %s", code, errb.String())
	}
	var rep slaReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	// E000012 left on 2026-11-21: revoked days later, against a 15m
	// critical SLA: a breach, clocked from HR's effective date (earlier
	// than the webhook).
	i := slices.IndexFunc(rep.Breaches, func(e slaEntry) bool { return e.AccountID == "u0012" && !e.Open })
	if i < 0 {
		t.Fatalf("no breach for u0012 in %s", out.String())
	}
	if e := rep.Breaches[i]; e.Tier != "critical" || e.StartFrom != "hr_effective" || e.Within {
		t.Errorf("u0012 breach: %+v", e)
	}
	if rep.Revoked < 1 || rep.Percent > 100 {
		t.Errorf("sla report: %+v", rep)
	}
}

// TestRunMetricsFile: run --metrics-file writes the textfile format.
func TestRunMetricsFile(t *testing.T) {
	dir, config := smallSetup(t, "")
	path := filepath.Join(dir, "accessrecon.prom")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"run", "--config", config, "--out", dir, "--metrics-file", path}, &out, &errb); code != exitOK {
		t.Fatalf("run: exit %d: %s", code, errb.String())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mfs := parseMetrics(t, f)
	if v, ok := metricValue(mfs, "accessrecon_job_last_run_status", map[string]string{"job": "manual", "status": "completed"}); !ok || v != 1 {
		t.Errorf("job_last_run_status{manual,completed} = %v %v", v, ok)
	}
	if v, ok := metricValue(mfs, "accessrecon_collection_accounts", map[string]string{"side": "target", "name": "app"}); !ok || v != 2 {
		t.Errorf("collection_accounts{app} = %v %v, want 2", v, ok)
	}
	if v, ok := metricValue(mfs, "accessrecon_findings", map[string]string{"kind": "orphaned", "target": "app"}); ok {
		t.Errorf("findings{orphaned, app} = %v: app has no orphan", v)
	}
}

// BenchmarkWebhookToRevocation measures, against a real serve, the time
// from POSTing a signed leaver webhook to the verified disable of the
// account in the store (-benchtime=20x; reports the median).
func BenchmarkWebhookToRevocation(b *testing.B) {
	bin := buildAccessrecon(b)
	key := []byte("bench-secret")
	dir, config := demoForHooks(b)
	p := startServe(b, bin, config, "TEST_BAMBOOHR_SECRET="+string(key))
	var took []time.Duration
	last, _ := verifiedDisable(b, dir, 0)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		reenable(b, dir)
		b.StartTimer()
		sent := time.Now()
		if code, resp := sendHook(b, p.addr, key, leaverBody(100+i), sent, false); code != http.StatusAccepted {
			b.Fatalf("POST: %d %s", code, resp)
		}
		for {
			if id, ok := verifiedDisable(b, dir, last); ok {
				last = id
				break
			}
			if time.Since(sent) > 30*time.Second {
				b.Fatal("no verified revocation within 30 s")
			}
			time.Sleep(5 * time.Millisecond)
		}
		took = append(took, time.Since(sent))
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Milliseconds()), "median-ms")
	b.ReportMetric(float64(took[len(took)-1].Milliseconds()), "max-ms")
}

func TestJobsConfig(t *testing.T) {
	base := "store: x.db\nsources: [{name: hr, type: csv, config: {path: hr.csv}}]\n"
	for _, c := range []struct{ yaml, err string }{
		{"timezone: Asia/Riyadh\njobs: [{name: a, schedule: '0 2 * * *', scope: full}, {name: b, schedule: '@every 10m', scope: [terminated_active]}, {name: c, schedule: '*/30 * * * * *', timezone: UTC}]", ""},
		{"jobs: [{name: a, schedule: 'not cron'}]", "jobs[0] (a).schedule"},
		{"jobs: [{name: a, schedule: '@daily', timezone: Mars/Olympus}]", "jobs[0] (a).timezone"},
		{"timezone: Nowhere/Else", "timezone:"},
		{"jobs: [{name: a, schedule: '@daily', scope: [made_up]}]", "unknown finding kind"},
		{"jobs: [{name: a, schedule: '@daily'}, {name: a, schedule: '@hourly'}]", "used twice"},
		{"jobs: [{name: a, schedule: '@daily', reports: [pdf]}]", "not xlsx or jira"},
		{"jobs: [{name: a, schedule: '@daily', mode: yolo}]", "not report or enforce"},
		{"hooks: {mode: later}", "hooks.mode"},
		{"serve: {listen: nonsense}", "serve.listen"},
	} {
		_, err := parseConfig([]byte(base+c.yaml+"\n"), "schedule.yaml")
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.yaml, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want one containing %q", c.yaml, err, c.err)
		}
	}
	cfg, err := parseConfig([]byte(base+"timezone: Asia/Riyadh\njobs: [{name: a, schedule: '0 2 * * *'}]\n"), "schedule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sched, err := cfg.jobSchedule(cfg.Jobs[0])
	if err != nil {
		t.Fatal(err)
	}
	// 02:00 in Riyadh (UTC+3) is 23:00 UTC the day before.
	if got := sched.Next(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)).UTC(); !got.Equal(time.Date(2026, 11, 25, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("next 02:00 Asia/Riyadh after noon UTC: %s", got)
	}
}

// TestServeHTTP: health, readiness across a failed and a good reload, and
// the generic HR hook with a bearer token.
func TestServeHTTP(t *testing.T) {
	dir, config := smallSetup(t, "hooks: {hr: {token_env: TEST_HR_TOKEN}, mode: report}\n")
	t.Setenv("TEST_HR_TOKEN", "tok-123")
	cfg, err := loadConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), cfg.storePath())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := newServer(ctx, config, cfg, st, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan int)
	go func() { code, _ := s.serve(ctx, ln); done <- code }()
	base := "http://" + ln.Addr().String()
	get := func(path string) int {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := get("/healthz"); c != 200 {
		t.Errorf("/healthz: %d", c)
	}
	if c := get("/readyz"); c != 200 {
		t.Errorf("/readyz: %d", c)
	}
	good, _ := os.ReadFile(config)
	if err := os.WriteFile(config, append(good, []byte("jobs: [{name: x, schedule: 'never'}]\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	s.reload()
	if c := get("/readyz"); c != 503 {
		t.Errorf("/readyz after an invalid reload: %d, want 503", c)
	}
	if err := os.WriteFile(config, good, 0o644); err != nil {
		t.Fatal(err)
	}
	s.reload()
	if c := get("/readyz"); c != 200 {
		t.Errorf("/readyz after a good reload: %d", c)
	}
	post := func(token, body string) int {
		req, _ := http.NewRequest(http.MethodPost, base+"/hooks/hr", strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post("wrong", `{"employee_ids":["E3"]}`); c != 401 {
		t.Errorf("wrong token: %d", c)
	}
	if c := post("", `{"employee_ids":["E3"]}`); c != 401 {
		t.Errorf("no token: %d", c)
	}
	if c := post("tok-123", `{"employee_ids":[]}`); c != 400 {
		t.Errorf("empty ids: %d", c)
	}
	if c := post("tok-123", `{"employee_ids":["E3"]}`); c != 202 {
		t.Errorf("good token: %d", c)
	}
	if c := get("/hooks/bamboohr"); c != 404 && c != 405 {
		t.Errorf("unconfigured bamboohr endpoint: %d", c)
	}
	waitFor(t, 10*time.Second, "the hook run", func() bool {
		rs := jobRuns(t, filepath.Join(dir, "accessrecon.db"), "hook")
		return len(rs) == 1 && rs[0].Status == "completed" && rs[0].Scope == "people:E3"
	})
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("serve: %d", code)
	}
}
