package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
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

// SIGTERM ends `run` within the grace period whatever the run waits on:
// here the wiring reads a secret file that is a FIFO nobody writes to, a
// read that no context reaches (issue 11 item 8).
func TestRunStopsWithinGraceWhateverItWaitsOn(t *testing.T) {
	dir, config := smallSetup(t, "")
	b, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, bytes.Replace(b, []byte("dsn: app.db"), []byte("dsn_file: dsn.txt"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "dsn.txt")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() { done <- run(ctx, []string{"run", "--config", config, "--out", dir}, io.Discard, &stderr) }()
	// A writer can open the FIFO without blocking once the run reads it;
	// it stays open, silent, so the read goes on waiting.
	var w *os.File
	waitFor(t, time.Minute, "the run to read the secret file", func() bool {
		f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		w = f
		return err == nil
	})
	defer w.Close() // then the abandoned read ends
	cancel()        // SIGTERM; serve.grace is 1s in smallSetup
	select {
	case code := <-done:
		if code != exitFail || !strings.Contains(stderr.String(), "grace period") {
			t.Errorf("exit %d, stderr %q; want 1 saying the grace period ended", code, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("run still blocked a minute after its signal")
	}
}
