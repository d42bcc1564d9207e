package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
)

// An HR file on a hung share (a FIFO nobody writes to) does not hold a run
// past its signal: the run ends, recorded as cancelled, and exits 1
// (issue 11 item 8).
func TestRunEndsWithHungHRFile(t *testing.T) {
	dir, config := smallSetup(t, "")
	hr := filepath.Join(dir, "hr.csv")
	if err := os.Remove(hr); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(hr, 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	db := filepath.Join(dir, "accessrecon.db")
	jobRuns(t, db, "") // the store's schema, before the run opens it too
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		var stdout, stderr bytes.Buffer
		code := run(ctx, []string{"run", "--config", config, "--out", dir}, &stdout, &stderr)
		done <- result{code, stderr.String()}
	}()
	waitFor(t, time.Minute, "the run to start", func() bool {
		rs := jobRuns(t, db, "")
		return len(rs) == 1 && rs[0].Status == reconcile.StatusRunning
	})
	cancel() // SIGTERM
	var r result
	select {
	case r = <-done:
	case <-time.After(time.Minute):
		t.Fatal("run still blocked on the HR FIFO a minute after its signal")
	}
	if r.code != exitFail {
		t.Errorf("exit %d, want 1: %s", r.code, r.stderr)
	}
	if rs := jobRuns(t, db, ""); len(rs) != 1 || rs[0].Status != reconcile.StatusCancelled {
		t.Errorf("runs %+v, want one cancelled run", rs)
	}
}
