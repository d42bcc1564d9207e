package main

// The command on a PostgreSQL store: a real PostgreSQL 15 server, started
// once per test binary (targettest.PostgreSQL, stopped in TestMain); each
// test's store is a fresh schema of it.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/storetest"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

// pg is the test binary's PostgreSQL server.
var (
	pg        targettest.PostgreSQL
	pgSchemas atomic.Int64
)

// pgStoreDSN creates a fresh schema and returns a DSN whose search_path is
// that schema.
func pgStoreDSN(t testing.TB) string {
	t.Helper()
	base := pg.DSN(t, "")
	name := fmt.Sprintf("cmd%d", pgSchemas.Add(1))
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE SCHEMA " + name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	return base + "&search_path=" + name
}

// ownHostName skips (or fails, under ACCESSRECON_REQUIRE_INTEGRATION=1)
// unless a process can be given a host name of its own here (unshare
// --uts: root, or a user namespace).
func ownHostName(tb testing.TB) {
	tb.Helper()
	if out, err := exec.Command("unshare", "--uts", "sh", "-c", "hostname accessrecon-test && hostname").CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "accessrecon-test" {
		targettest.NeedIntegration(tb, fmt.Sprintf("cannot give a process its own host name (unshare --uts: %v %s)", err, out))
	}
}

// pgDemo copies the demo's data (CSV HR and targets, a SQLite directory)
// into a new folder whose schedule.yaml keeps the store in PostgreSQL, at
// the URL in $ACCESSRECON_TEST_STORE, with extra appended.
func pgDemo(t *testing.T, extra string) (dir, cfgPath string) {
	t.Helper()
	dir = copyDir(t, demoTemplate(t))
	for _, f := range []string{"accessrecon.db", "accessrecon.db.audit.jsonl", "accessrecon.db.audit.jsonl.lock", "accessrecon.db.audit.jsonl.pending", "findings.json"} {
		os.Remove(filepath.Join(dir, f))
	}
	cfgPath = filepath.Join(dir, "schedule.yaml")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("\nstore: accessrecon.db\n")) {
		t.Fatal("the demo's schedule.yaml no longer says store: accessrecon.db")
	}
	b = bytes.Replace(b, []byte("\nstore: accessrecon.db\n"), []byte("\nstore_env: ACCESSRECON_TEST_STORE\n"), 1)
	if err := os.WriteFile(cfgPath, append(b, []byte("\n"+extra)...), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, cfgPath
}

// openCfgStore opens the store of the config at path.
func openCfgStore(t testing.TB, path string) storefile.Store {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := storefile.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// A PostgreSQL URL's password never shows: not in validate's explanation
// of a URL written with one, not in the error of a server that cannot be
// reached, and no SQLite file is made of the URL.
func TestPostgresStoreErrorsHideThePassword(t *testing.T) {
	const pw = "pw-8c1f3e"
	dir := t.TempDir()
	t.Chdir(dir)
	closed := targettest.MustFreePort(t)
	base := "sources: [{name: hr, type: csv, config: {path: hr.csv}}]\n"
	for _, c := range []struct {
		name, yaml, env string
		want            string
	}{
		{"password in store:", fmt.Sprintf("store: postgres://accessrecon:%s@127.0.0.1:%d/x\n", pw, closed), "",
			"holds a password: put the URL in store_env or store_file"},
		{"unreachable, from store_env", "store_env: ACCESSRECON_TEST_STORE\n",
			fmt.Sprintf("postgres://accessrecon:%s@127.0.0.1:%d/x?sslmode=disable&connect_timeout=5", pw, closed),
			fmt.Sprintf("store postgres://accessrecon:REDACTED@127.0.0.1:%d/x", closed)},
		{"password parameter, from store_env", "store_env: ACCESSRECON_TEST_STORE\n",
			fmt.Sprintf("postgresql://accessrecon@127.0.0.1:%d/x?sslmode=disable&password=%s&connect_timeout=5", closed, pw),
			"password=REDACTED"},
		{"not a URL, from store_env", "store_env: ACCESSRECON_TEST_STORE\n", "host=127.0.0.1 password=" + pw,
			"store_env: ACCESSRECON_TEST_STORE does not hold a postgres:// or postgresql:// URL"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := filepath.Join(dir, "schedule.yaml")
			if err := os.WriteFile(cfg, []byte(base+c.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Setenv("ACCESSRECON_TEST_STORE", c.env)
			for _, args := range [][]string{{"validate", "--config", cfg}, {"history", "--config", cfg}} {
				var out, errb bytes.Buffer
				code := run(context.Background(), args, &out, &errb)
				if code == exitOK {
					t.Fatalf("%s: exit 0 (%s)", args[0], out.String())
				}
				if strings.Contains(out.String()+errb.String(), pw) {
					t.Errorf("%s shows the password:\n%s%s", args[0], out.String(), errb.String())
				}
				if !strings.Contains(errb.String(), c.want) {
					t.Errorf("%s says %q, want it to contain %q", args[0], errb.String(), c.want)
				}
			}
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if e.Name() != "schedule.yaml" {
					t.Errorf("file made: %s", e.Name())
				}
			}
		})
	}
}

// The commands on a PostgreSQL store: run, then what people read and do
// with its results, and the audit trail verifies.
func TestPostgresStoreCommands(t *testing.T) {
	t.Setenv("ACCESSRECON_TEST_STORE", pgStoreDSN(t))
	_, cfg := pgDemo(t, "")
	ctx := context.Background()
	do := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(ctx, append(args, "--config", cfg), &out, &errb); code != exitOK {
			t.Fatalf("%s: exit %d: %s", strings.Join(args, " "), code, errb.String())
		}
		return out.String()
	}
	do("validate")
	do("run", "--out", t.TempDir())
	do("run", "--out", t.TempDir())
	if h := do("history"); strings.Count(h, "completed") < 2 {
		t.Errorf("history does not show two completed runs:\n%s", h)
	}
	if f := do("findings"); !strings.Contains(f, "terminated") {
		t.Errorf("findings lists no terminated person's access:\n%s", f)
	}
	do("hold", "add", "--target", "vpn", "--account", "vpn-0001", "--reason", "legal hold", "--until", time.Now().Add(24*time.Hour).Format("2006-01-02"), "--by", "it@example.com")
	if h := do("hold", "list"); !strings.Contains(h, "legal hold") {
		t.Errorf("hold list does not show the hold:\n%s", h)
	}
	if v := do("audit", "verify"); !strings.Contains(v, "audit trail intact") {
		t.Errorf("audit verify: %s", v)
	}
	st := openCfgStore(t, cfg)
	runs, err := st.Runs(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 {
		t.Errorf("%d runs in the PostgreSQL store, want 2", len(runs))
	}
}

// Two serve processes, as on two machines (each with its own host name),
// share one PostgreSQL store with an @every 2s job: no slot is run twice;
// the process holding the run lock is killed (-9) mid-run, and the other
// takes the lock over once its heartbeat is older than lock_stale, not
// before; the killed run is recorded crashed; nothing is lost and the audit
// trail verifies.
func TestServeTwoOnPostgresKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs serve processes")
	}
	ownHostName(t)
	const stale = 5 * time.Second
	dsn := pgStoreDSN(t)
	t.Setenv("ACCESSRECON_TEST_STORE", dsn)
	dir, cfg := pgDemo(t, fmt.Sprintf("jobs:\n  - {name: tick, schedule: \"@every 2s\"}\nserve: {grace: 1s, lock_stale: %s}\n", stale))
	bin := buildAccessrecon(t)
	st := openCfgStore(t, cfg)
	ctx := context.Background()
	tickRuns := func() []reconcile.Run {
		t.Helper()
		all, err := st.Runs(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []reconcile.Run
		for _, r := range all {
			if r.Job == "tick" {
				out = append(out, r)
			}
		}
		slices.SortFunc(out, func(a, b reconcile.Run) int { return a.StartedAt.Compare(b.StartedAt) })
		return out
	}
	count := func(rs []reconcile.Run, s reconcile.Status) int {
		n := 0
		for _, r := range rs {
			if r.Status == s {
				n++
			}
		}
		return n
	}

	env := "ACCESSRECON_TEST_STORE=" + dsn
	procs := []*serveProc{startServeOn(t, "node-a", bin, cfg, env), startServeOn(t, "node-b", bin, cfg, env)}
	waitFor(t, 2*time.Minute, "four completed runs with both serves up", func() bool { return count(tickRuns(), reconcile.StatusCompleted) >= 4 })

	// Hold the next run at the vpn collection: its export becomes a FIFO.
	vpn := filepath.Join(dir, "vpn.csv")
	vpnBody, err := os.ReadFile(vpn)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(vpn, vpn+".real"); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(vpn, 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	g := gate{path: vpn}
	var held reconcile.Run
	waitFor(t, time.Minute, "a run held at the gate", func() bool {
		rs := tickRuns()
		if last := rs[len(rs)-1]; last.Status == reconcile.StatusRunning && time.Since(last.StartedAt) > 3*time.Second {
			held = last
			return true
		}
		return false
	})
	// The lock's holder, as the store records it, is one of the two.
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var holderPID int
	var holderHost string
	if err := db.QueryRow(`SELECT pid, host FROM locks WHERE name = 'run'`).Scan(&holderPID, &holderHost); err != nil {
		t.Fatal(err)
	}
	var victim, survivor *serveProc
	for i, p := range procs {
		if p.cmd.Process.Pid == holderPID {
			victim, survivor = p, procs[1-i]
		}
	}
	if victim == nil {
		t.Fatalf("the lock is held by pid %d on %s, neither serve (%d, %d)", holderPID, holderHost, procs[0].cmd.Process.Pid, procs[1].cmd.Process.Pid)
	}
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-victim.exited
	killed := time.Now()

	// The survivor takes over after lock_stale, and its run, held at the
	// gate in turn, goes through.
	waitFor(t, 2*time.Minute, "the survivor to take the lock over", func() bool {
		return strings.Contains(survivor.logs(), `"msg":"took over a stale store lock"`)
	})
	tookOver := time.Now()
	g.releaseBody(t, vpnBody)
	waitFor(t, time.Minute, "a completed run after the takeover", func() bool {
		rs := tickRuns()
		return rs[len(rs)-1].StartedAt.After(held.StartedAt) && count(rs, reconcile.StatusCompleted) >= 5
	})
	if err := os.Rename(vpn+".real", vpn); err != nil { // the gate opens for good
		t.Fatal(err)
	}
	n := count(tickRuns(), reconcile.StatusCompleted)
	waitFor(t, time.Minute, "one more completed run", func() bool { return count(tickRuns(), reconcile.StatusCompleted) > n })
	_ = survivor.cmd.Process.Signal(syscall.SIGTERM)
	<-survivor.exited
	if survivor.err != nil {
		t.Errorf("survivor's exit after SIGTERM: %v", survivor.err)
	}
	t.Logf("killed pid %d on %s at %s; takeover seen %s later", holderPID, holderHost, killed.Format(time.StampMilli), tookOver.Sub(killed).Round(time.Millisecond))

	rs := tickRuns()
	for _, r := range rs {
		t.Logf("run %d: %s, started %s, finished %s %s", r.ID, r.Status, r.StartedAt.Format(time.StampMilli), r.FinishedAt.Format(time.StampMilli), r.Error)
	}
	noOverlap(t, rs)
	// One run per slot: each run began once the slot after its
	// predecessor's start had come (less serve's slack, a tenth of the
	// interval).
	sched, err := config.CronParser.Parse("@every 2s")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(rs); i++ {
		if next := sched.Next(rs[i-1].StartedAt); rs[i].StartedAt.Before(next.Add(-200 * time.Millisecond)) {
			t.Errorf("run %d started at %s, in the slot of run %d (started %s, next slot %s): the job ran twice for one slot",
				rs[i].ID, rs[i].StartedAt.Format(time.StampMilli), rs[i-1].ID, rs[i-1].StartedAt.Format(time.StampMilli), next.Format(time.StampMilli))
		}
	}
	var crashed []reconcile.Run
	var after reconcile.Run
	for i, r := range rs {
		switch r.Status {
		case reconcile.StatusCrashed:
			crashed = append(crashed, r)
			if i+1 < len(rs) {
				after = rs[i+1]
			}
		case reconcile.StatusCompleted:
		case reconcile.StatusCancelled:
			if i != len(rs)-1 {
				t.Errorf("run %d cancelled, not the last (SIGTERM's)", r.ID)
			}
		default:
			t.Errorf("run %d is %s: %s", r.ID, r.Status, r.Error)
		}
	}
	if len(crashed) != 1 || crashed[0].ID != held.ID {
		t.Fatalf("crashed runs %+v, want the held run %d alone", crashed, held.ID)
	}
	if !strings.Contains(crashed[0].Error, fmt.Sprintf("pid %d on %s", holderPID, holderHost)) {
		t.Errorf("the crashed run's error does not name its process: %q", crashed[0].Error)
	}
	// The crashed run ended at its holder's last heartbeat; the survivor's
	// next run began only once that heartbeat was older than lock_stale.
	if crashed[0].FinishedAt.After(killed) {
		t.Errorf("the crashed run's end %s is after the kill %s", crashed[0].FinishedAt, killed)
	}
	if wait := after.StartedAt.Sub(crashed[0].FinishedAt); wait <= stale {
		t.Errorf("run %d began %s after the dead holder's last heartbeat: the lock was taken over before lock_stale (%s)", after.ID, wait, stale)
	}

	// Nothing lost: the last run before the kill and the last run after
	// it report the same findings (the data did not change), each still
	// open with its first-seen date from before the takeover; no action is
	// left requested; the audit trail verifies.
	var before, last reconcile.Run
	for _, r := range rs {
		if r.Status != reconcile.StatusCompleted {
			continue
		}
		if r.ID < held.ID {
			before = r
		}
		last = r
	}
	fingerprints := func(run int64) []string {
		t.Helper()
		bodies, err := st.FindingBodies(ctx, run)
		if err != nil {
			t.Fatal(err)
		}
		var fps []string
		for _, b := range bodies {
			var f reconcile.Finding
			if err := json.Unmarshal(b, &f); err != nil {
				t.Fatal(err)
			}
			fps = append(fps, f.Fingerprint)
		}
		slices.Sort(fps)
		return fps
	}
	fpBefore, fpLast := fingerprints(before.ID), fingerprints(last.ID)
	if len(fpLast) == 0 || !slices.Equal(fpBefore, fpLast) {
		t.Errorf("run %d (before the kill) reported %d findings, run %d (after) %d: %v vs %v", before.ID, len(fpBefore), last.ID, len(fpLast), fpBefore, fpLast)
	}
	open := storetest.OpenStates(t, st)
	if len(open) != len(fpLast) {
		t.Errorf("%d open findings, the last run %d reported %d", len(open), last.ID, len(fpLast))
	}
	for fp, f := range open {
		if f.LastRun != last.ID || f.FirstSeen.After(before.AsOf) {
			t.Errorf("finding %s: first seen %s, last run %d; want first seen by run %d or before, last by run %d", fp, f.FirstSeen, f.LastRun, before.ID, last.ID)
		}
	}
	for _, r := range rs {
		acts, err := st.Actions(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range acts {
			if a.Status == reconcile.ActionRequested && r.ID != held.ID {
				t.Errorf("run %d left action %d (%s %s) requested", r.ID, a.ID, a.Op, a.AccountID)
			}
		}
	}
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"audit", "verify", "--config", cfg}, &out, &errb); code != exitOK || !strings.Contains(out.String(), "audit trail intact") {
		t.Errorf("audit verify: exit %d: %s%s", code, out.String(), errb.String())
	}
}

// releaseBody is release with the given export.
func (g gate) releaseBody(tb testing.TB, body []byte) {
	tb.Helper()
	done := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(g.path, os.O_WRONLY, 0)
		if err != nil {
			done <- err
			return
		}
		_, err = f.Write(body)
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
