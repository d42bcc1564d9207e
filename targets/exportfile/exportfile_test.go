package exportfile_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets/exportfile"
)

func fifo(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hr.csv")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	return p
}

// returns runs f and fails the test when it has not returned within a
// minute: the bound is a safety net for a hang, not a measurement.
func returns(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("still blocked a minute after the context ended")
	}
}

// A FIFO nobody writes to: the open ends with the context.
func TestOpenFIFOWithoutWriter(t *testing.T) {
	p := fifo(t)
	ctx, cancel := context.WithCancel(context.Background())
	var err error
	returns(t, func() {
		go cancel()
		_, err = exportfile.Open(ctx, p)
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Open: %v, want context.Canceled", err)
	}
}

// A FIFO whose writer never writes: the read ends with the context.
func TestReadFIFOSilentWriter(t *testing.T) {
	p := fifo(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wdone := make(chan *os.File, 1)
	go func() {
		w, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			wdone <- nil
			return
		}
		wdone <- w
	}()
	f, err := exportfile.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if w := <-wdone; w != nil {
		defer w.Close()
	}
	var rerr error
	returns(t, func() {
		go cancel()
		_, rerr = f.Read(make([]byte, 10))
	})
	if !errors.Is(rerr, context.Canceled) {
		t.Fatalf("Read: %v, want context.Canceled", rerr)
	}
}

// A regular file reads as usual.
func TestOpenRegularFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.csv")
	if err := os.WriteFile(p, []byte("x,y\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := exportfile.Open(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 10)
	n, err := f.Read(b)
	if err != nil || string(b[:n]) != "x,y\n" {
		t.Fatalf("Read: %q %v", b[:n], err)
	}
	if _, err := exportfile.Open(context.Background(), p+".missing"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}
