package main

import (
	"context"
	"database/sql"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runlock"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/serve"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// TestServeJobFencedByLease: a serve job holds the run lock through its
// lease, like `run`. The lock is taken over while the job's run waits at
// its collection; once let through, the run must not act (the store's
// fencing check refuses its actions) and must not end completed. With a
// bare acquire, the run carried no lease and disabled the account anyway.
func TestServeJobFencedByLease(t *testing.T) {
	dir, cfgPath := smallSetup(t, "jobs:\n  - {name: sweep, schedule: \"@every 1h\", mode: enforce}\n")
	app, err := sql.Open("sqlite3", filepath.Join(dir, "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Exec(`INSERT INTO users VALUES ('3', 'E3', 1)`); err != nil { // E3 is terminated in HR
		t.Fatal(err)
	}
	app.Close()
	g := newGate(t, dir)
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
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()

	// The catch-up run of sweep holds the lock and waits at the vpn export.
	waitFor(t, time.Minute, "the sweep run to start", func() bool {
		rs := jobRuns(t, cfg.StorePath(), "sweep")
		return len(rs) == 1 && rs[0].Status == "running"
	})
	// ... and is past its HR snapshot, whose writes check the lease too
	// (a takeover before them fences the run there, before any target).
	waitFor(t, time.Minute, "the sweep run to store its HR snapshot", func() bool {
		return storeCount(t, dir, `SELECT COUNT(*) FROM snapshots WHERE side = 'hr'`) > 0
	})
	// Another process takes the lock over (as a stale one: its clock is an
	// hour ahead).
	thief := store.LockHolder{Token: "thief", Host: "elsewhere", PID: 1, Purpose: "another serve"}
	got, _, took, err := st.TryLock(ctx, runlock.Name, thief, store.LockPolicy{Stale: time.Minute, Now: func() time.Time { return time.Now().Add(time.Hour) }})
	if err != nil || !got || !took {
		t.Fatalf("taking the lock over: got %v took %v err %v", got, took, err)
	}
	g.release(t)
	// The takeover marked the run crashed; the run itself records its end
	// over that.
	waitFor(t, time.Minute, "the sweep run to record its end", func() bool {
		rs := jobRuns(t, cfg.StorePath(), "sweep")
		return len(rs) == 1 && rs[0].Status != "running" && rs[0].Status != "crashed"
	})
	rs := jobRuns(t, cfg.StorePath(), "sweep")
	t.Logf("run: %s %q", rs[0].Status, rs[0].Error)
	if rs[0].Status == "completed" {
		t.Errorf("the run that lost its lock ended completed (error %q): it was not fenced", rs[0].Error)
	}
	app, err = sql.Open("sqlite3", "file:"+filepath.Join(dir, "app.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	var active bool
	if err := app.QueryRow(`SELECT active FROM users WHERE id = '3'`).Scan(&active); err != nil {
		t.Fatal(err)
	}
	if !active {
		t.Error("the run that lost its lock disabled account 3 of app")
	}
	if done1 := storeCount(t, dir, `SELECT COUNT(*) FROM actions WHERE status = 'done'`); done1 != 0 {
		t.Errorf("%d actions recorded done by a run without its lock", done1)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	_ = os.Remove(g.path)
}
