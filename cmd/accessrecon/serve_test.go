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

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runlock"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/serve"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/sla"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/targets/targettest"
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
	return startServeOn(tb, "", bin, config, env...)
}

// startServeOn is startServe with the process's host name set to host (in
// a UTS namespace of its own, see ownHostName): two processes on two host
// names are, to the store lock, on two machines. host "" leaves it.
func startServeOn(tb testing.TB, host, bin, config string, env ...string) *serveProc {
	tb.Helper()
	p := &serveProc{addr: fmt.Sprintf("127.0.0.1:%d", targettest.MustFreePort(tb)), exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve", "--config", config, "--listen", p.addr)
	if host != "" {
		ownHostName(tb)
		// unshare and sh exec in turn: the PID is serve's.
		p.cmd = exec.Command("unshare", "--uts", "sh", "-c", `hostname "$0" && exec "$@"`, host, bin, "serve", "--config", config, "--listen", p.addr)
	}
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
	deadline := time.Now().Add(time.Minute)
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

// smallSetup writes a csv HR file, a csv target (vpn) and an SQLite target
// (app), and a schedule.yaml reading them with extra appended.
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
		INSERT INTO users VALUES ('1', 'E1', 1), ('2', 'E2', 1);`); err != nil {
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
      accounts_query: SELECT id AS account_id, emp AS employee_id, active AS enabled FROM users
      disable_statement: UPDATE users SET active = 0 WHERE id = :account_id
policy: {mode: report}
serve: {grace: 1s}
`+jobs)
	return dir, config
}

// vpnCSV is smallSetup's vpn export.
const vpnCSV = "account_id,username,email,employee_id,display_name,enabled,privileged,groups\nv1,a,a@example.com,E1,A One,true,false,\nv2,b,b@example.com,E2,B Two,true,false,\n"

// gate makes smallSetup's vpn target block: its export becomes a FIFO, so
// every run waits at the vpn collection until the test lets it through.
type gate struct{ path string }

func newGate(tb testing.TB, dir string) gate {
	tb.Helper()
	g := gate{path: filepath.Join(dir, "vpn.csv")}
	if err := os.Remove(g.path); err != nil {
		tb.Fatal(err)
	}
	if err := syscall.Mkfifo(g.path, 0o600); err != nil {
		tb.Skipf("no FIFOs here: %v", err)
	}
	return g
}

// release lets one run through: it waits for a run to open the export,
// hands it the accounts and closes. The minute is a safety net for a hang.
func (g gate) release(tb testing.TB) {
	tb.Helper()
	done := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(g.path, os.O_WRONLY, 0) // blocks until a run reads
		if err != nil {
			done <- err
			return
		}
		_, err = f.WriteString(vpnCSV)
		done <- errors.Join(err, f.Close())
	}()
	select {
	case err := <-done:
		if err != nil {
			tb.Fatal(err)
		}
	case <-time.After(time.Minute):
		tb.Fatal("no run reached the vpn target within a minute")
	}
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
		dir, config := smallSetup(t, "jobs:\n  - {name: tick, schedule: \"@every 1s\"}\n")
		g := newGate(t, dir)
		db := filepath.Join(dir, "accessrecon.db")
		p := startServe(t, bin, config)
		// The catch-up run waits at the gate, longer than the 1 s interval:
		// the activations meanwhile are skipped, not stacked.
		waitFor(t, time.Minute, "an activation skipped while a run is held", func() bool {
			return strings.Contains(p.logs(), `"msg":"cron: skip"`)
		})
		if rs := jobRuns(t, db, "tick"); len(rs) != 1 || rs[0].Status != "running" {
			t.Errorf("while one run is held: runs %+v, want that one, running", rs)
		}
		completed := func(n int) func() bool {
			return func() bool {
				c := 0
				for _, r := range jobRuns(t, db, "tick") {
					if r.Status == "completed" {
						c++
					}
				}
				return c >= n
			}
		}
		// One run through at a time: the next writer must not open the
		// FIFO while the previous run still reads it.
		g.release(t)
		waitFor(t, time.Minute, "the first run to complete", completed(1))
		g.release(t) // the next activation's run
		waitFor(t, time.Minute, "two completed runs", completed(2))
		// SIGTERM while a run is held: the grace period (1 s) passes, the
		// run is cancelled, serve exits 0.
		waitFor(t, time.Minute, "a run in progress", func() bool {
			rs := jobRuns(t, db, "tick")
			return len(rs) == 3 && rs[2].Status == "running"
		})
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-p.exited:
		case <-time.After(time.Minute):
			t.Fatal("serve did not exit after SIGTERM")
		}
		if p.err != nil {
			t.Errorf("serve exit after SIGTERM: %v (want 0)", p.err)
		}
		if !strings.Contains(p.logs(), `"msg":"grace period over: cancelling the running work"`) {
			t.Errorf("the held run was not cancelled at the end of the grace period")
		}
		rs := jobRuns(t, db, "tick")
		if last := rs[len(rs)-1]; last.Status != "cancelled" {
			t.Errorf("the run interrupted by SIGTERM is %q, want cancelled (error %q)", last.Status, last.Error)
		}
		noOverlap(t, rs)
	})

	t.Run("two serves one store", func(t *testing.T) {
		t.Parallel()
		dir, config := smallSetup(t, "jobs:\n  - {name: tick, schedule: \"@every 2s\"}\n")
		db := filepath.Join(dir, "accessrecon.db")
		a := startServe(t, bin, config)
		b := startServe(t, bin, config)
		waitFor(t, time.Minute, "three completed runs", func() bool {
			n := 0
			for _, r := range jobRuns(t, db, "tick") {
				if r.Status == "completed" {
					n++
				}
			}
			return n >= 3
		})
		for _, p := range []*serveProc{a, b} {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			<-p.exited
			if p.err != nil {
				t.Errorf("exit: %v", p.err)
			}
		}
		rs := jobRuns(t, db, "tick")
		noOverlap(t, rs)
		// One scheduler's worth: under the lock, a serve starts the job only
		// when its previous start's next slot (2 s later) is at most 1 s
		// away, so two starts less than 1 s apart are one slot run twice.
		for i := 1; i < len(rs); i++ {
			if gap := rs[i].StartedAt.Sub(rs[i-1].StartedAt); gap < time.Second {
				t.Errorf("runs %d and %d started %s apart: the job ran twice for one slot", rs[i-1].ID, rs[i].ID, gap)
			}
		}
	})

	t.Run("log is JSON lines", func(t *testing.T) {
		t.Parallel()
		dir, config := smallSetup(t, "jobs:\n  - {name: nightly, schedule: \"@daily\", reports: [xlsx]}\n")
		p := startServe(t, bin, config)
		waitFor(t, time.Minute, "the catch-up run's workbook", func() bool {
			wb, _ := filepath.Glob(filepath.Join(dir, "out", "nightly", "*.xlsx"))
			return len(wb) == 1
		})
		_ = p.cmd.Process.Signal(syscall.SIGTERM) // serve lets the job finish its reports
		<-p.exited
		if !strings.Contains(p.logs(), `"msg":"workbook written"`) {
			t.Error("serve's log does not say the workbook was written")
		}
		for _, line := range strings.Split(strings.TrimSpace(p.logs()), "\n") {
			if !json.Valid([]byte(line)) {
				t.Errorf("serve's log has a line that is not JSON: %q", line)
			}
		}
	})

	t.Run("webhook", func(t *testing.T) {
		t.Parallel()
		testWebhook(t, bin)
	})
}

// panicking job: in process, with the test-only hook.
func TestServeJobPanicDoesNotStopLaterRuns(t *testing.T) {
	_, cfgPath := smallSetup(t, "jobs:\n  - {name: tick, schedule: \"@every 1s\"}\n")
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := storefile.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := serve.New(ctx, cfgPath, cfg, st, log)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	s.PanicHook = func(job string) {
		if calls.Add(1) <= 3 { // the catch-up and the first two ticks
			panic("test panic in job " + job)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		done <- s.Serve(ctx, ln)
	}()
	waitFor(t, time.Minute, "two runs after the panics", func() bool {
		n := 0
		for _, r := range jobRuns(t, cfg.StorePath(), "tick") {
			if r.Status == "completed" {
				n++
			}
		}
		return n >= 2
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve returned %v", err)
	}
	if got := strings.Count(logs.String(), "test panic in job tick"); got < 3 {
		t.Errorf("%d panics logged, want 3 (cron.Recover inside SkipIfStillRunning)", got)
	}
	noOverlap(t, jobRuns(t, cfg.StorePath(), "tick"))
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
	if got, _, _, err := st.TryLock(ctx, runlock.Name, me, store.LockPolicy{}); err != nil || !got {
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
	if err := st.Unlock(ctx, runlock.Name, "t1"); err != nil {
		t.Fatal(err)
	}
	// A holder on this host whose process is gone: taken over.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	gone := store.LockHolder{Token: "t2", Host: host, PID: dead.ProcessState.Pid(), Purpose: "job crashed"}
	if got, _, _, err := st.TryLock(ctx, runlock.Name, gone, store.LockPolicy{}); err != nil || !got {
		t.Fatalf("TryLock: %v %v", got, err)
	}
	stderr.Reset()
	if code := run(ctx, []string{"run", "--config", config, "--out", dir}, &stdout, &stderr); code != exitOK {
		t.Errorf("run over a dead holder's lock: exit %d: %s", code, stderr.String())
	}
	// And a heartbeat older than the stale threshold.
	l := runlock.New(st, time.Second, slog.New(slog.DiscardHandler))
	old := store.LockHolder{Token: "t3", Host: "elsewhere", PID: 1, Purpose: "job on another host"}
	if got, _, _, _ := st.TryLock(ctx, runlock.Name, old, store.LockPolicy{Now: func() time.Time { return time.Now().Add(-time.Minute) }}); !got {
		t.Fatal("could not plant the stale lock")
	}
	_, release, err := l.Hold(ctx, "test", 0)
	if err != nil {
		t.Fatalf("a lock with a heartbeat a minute old (stale after 1s) was not taken over: %v", err)
	}
	release()
}

// sendHook posts a signed BambooHR webhook.
func sendHook(t testing.TB, addr string, key, body []byte, ts time.Time, badSig bool) (int, string) {
	t.Helper()
	tss := strconv.FormatInt(ts.Unix(), 10)
	sig := serve.SignHook(key, body, tss)
	if badSig {
		sig = serve.SignHook([]byte("not the key"), body, tss)
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
	waitFor(t, time.Minute, "u0012 disabled and verified", func() bool {
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
	// Rejected requests are counted in /metrics (checkMetrics), not audited.
	var rejected int
	err = st.Audit("").Records(context.Background(), 0, func(r store.AuditRecord) error {
		if r.Type == "webhook_rejected" {
			rejected++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rejected != 0 {
		t.Errorf("%d webhook_rejected audit records: rejected requests are counted, not audited", rejected)
	}
	// The metrics are read once the hook run has finished: the revocation
	// is verified before the run writes its end.
	waitFor(t, time.Minute, "the hook run to finish", func() bool {
		rs := jobRuns(t, filepath.Join(dir, "accessrecon.db"), "hook")
		return len(rs) == 1 && rs[0].Status != "running"
	})
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
	for _, r := range []string{serve.HookAccepted, serve.HookBadSignature, serve.HookStale, serve.HookReplayed} {
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
	full, err := sla.LatestFinishedFullRun(ctx, st)
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
	var rep sla.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	// E000012 left on 2026-11-21: revoked days later, against a 15m
	// critical SLA: a breach, clocked from HR's effective date (earlier
	// than the webhook).
	i := slices.IndexFunc(rep.Breaches, func(e sla.Entry) bool { return e.AccountID == "u0012" && !e.Open })
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

// TestServeHTTP: health, readiness across a failed and a good reload, and
// the generic HR hook with a bearer token.
func TestServeHTTP(t *testing.T) {
	dir, cfgPath := smallSetup(t, "hooks: {hr: {token_env: TEST_HR_TOKEN}, mode: report}\n")
	t.Setenv("TEST_HR_TOKEN", "tok-123")
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := storefile.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := serve.New(ctx, cfgPath, cfg, st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- s.Serve(ctx, ln) }()
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
	good, _ := os.ReadFile(cfgPath)
	if err := os.WriteFile(cfgPath, append(good, []byte("jobs: [{name: x, schedule: 'never'}]\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Reload()
	if c := get("/readyz"); c != 503 {
		t.Errorf("/readyz after an invalid reload: %d, want 503", c)
	}
	if err := os.WriteFile(cfgPath, good, 0o644); err != nil {
		t.Fatal(err)
	}
	s.Reload()
	if c := get("/readyz"); c != 200 {
		t.Errorf("/readyz after a good reload: %d", c)
	}
	post := func(token, body string) int {
		req, _ := http.NewRequest(http.MethodPost, base+"/hooks/hr", strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("X-Accessrecon-Timestamp", strconv.FormatInt(time.Now().Unix(), 10))
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
	waitFor(t, time.Minute, "the hook run", func() bool {
		rs := jobRuns(t, filepath.Join(dir, "accessrecon.db"), "hook")
		return len(rs) == 1 && rs[0].Status == "completed" && rs[0].Scope == "people:E3"
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
}
