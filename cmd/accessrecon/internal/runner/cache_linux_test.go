package runner

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// resident counts the pages of f the page cache holds (mincore of a
// mapping of the whole file).
func resident(t *testing.T, f *os.File, size int) int {
	t.Helper()
	m, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	pages := make([]byte, (size+os.Getpagesize()-1)/os.Getpagesize())
	// x/sys/unix has no wrapper for mincore(2).
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(size), uintptr(unsafe.Pointer(&pages[0]))); e != 0 {
		t.Fatal(e)
	}
	n := 0
	for _, p := range pages {
		n += int(p & 1)
	}
	return n
}

// forgetCached leaves a written file's pages out of the page cache and its
// content as it was; a path that is no regular file, or none, is let be.
func TestForgetCached(t *testing.T) {
	dir := t.TempDir()
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	if fs.Type == unix.TMPFS_MAGIC {
		t.Skip("the temporary directory is on tmpfs, whose pages are the file: nothing to forget")
	}
	path := filepath.Join(dir, FindingsName)
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil { // pages not yet written back are kept
		t.Fatal(err)
	}
	if n := resident(t, f, len(body)); n == 0 {
		t.Fatal("the file just written has no page in the cache: the test proves nothing")
	}
	forgetCached(path)
	if n := resident(t, f, len(body)); n != 0 {
		t.Errorf("%d pages still cached after forgetCached", n)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, body) {
		t.Errorf("content changed (%d bytes, %v)", len(got), err)
	}
	forgetCached(filepath.Join(dir, "missing"))
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	forgetCached(fifo) // returns: opened without blocking, no regular file
}

// A run given an out dir drops the cached pages of the findings.json it
// replaces before it starts.
func TestRunForgetsTheFindingsItReplaces(t *testing.T) {
	cfg, st, dir := setup(t)
	env := Env{Store: st, Log: slog.New(slog.DiscardHandler)}
	out := filepath.Join(dir, "out")
	path := filepath.Join(out, FindingsName)
	if _, err := Run(context.Background(), cfg, env, Request{OutDir: out}); err != nil {
		t.Fatal(err)
	}
	old, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	fi, err := old.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Sync(); err != nil {
		t.Fatal(err)
	}
	if n := resident(t, old, int(fi.Size())); n == 0 {
		t.Skip("the findings.json just written is not in the page cache (tmpfs or none): nothing to forget")
	}
	if _, err := Run(context.Background(), cfg, env, Request{OutDir: out}); err != nil {
		t.Fatal(err)
	}
	if now, err := os.Stat(path); err != nil || os.SameFile(now, fi) {
		t.Fatalf("the second run did not replace findings.json (%v)", err)
	}
	if n := resident(t, old, int(fi.Size())); n != 0 {
		t.Errorf("the replaced findings.json still has %d pages cached", n)
	}
}
