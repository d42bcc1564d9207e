// Package exportfile opens the files that exports arrive in (HR and
// account CSVs on local disks, network shares or FIFOs) so that neither the
// open nor a read outlives the context: a share that hangs or a FIFO with no
// writer ends with ctx.Err() instead of holding a run (and its lock) forever.
package exportfile

import (
	"context"
	"errors"
	"io"
	"os"
	"time"
)

// File is an open export; Close it.
type File struct {
	f    *os.File
	ctx  context.Context
	stop func() bool
}

// Open opens path for reading. It returns ctx.Err() when ctx ends before
// the open completes (the open itself goes on, and its file is closed, in
// the background). Reads after ctx ends fail with ctx.Err() for files that
// support deadlines (FIFOs, sockets); reads of regular files never block.
func Open(ctx context.Context, path string) (*File, error) {
	type opened struct {
		f   *os.File
		err error
	}
	done := make(chan opened, 1)
	go func() {
		f, err := os.Open(path)
		done <- opened{f, err}
	}()
	select {
	case o := <-done:
		if o.err != nil {
			return nil, o.err
		}
		ef := &File{f: o.f, ctx: ctx}
		ef.stop = context.AfterFunc(ctx, func() { _ = o.f.SetReadDeadline(time.Now()) })
		return ef, nil
	case <-ctx.Done():
		go func() {
			if o := <-done; o.f != nil {
				o.f.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// Read reads from the file; once ctx ends it fails with ctx.Err().
func (f *File) Read(p []byte) (int, error) {
	if err := f.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := f.f.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) && f.ctx.Err() != nil {
		return n, f.ctx.Err()
	}
	return n, err
}

// Close closes the file.
func (f *File) Close() error {
	f.stop()
	return f.f.Close()
}

// Stat is the open file's os.FileInfo.
func (f *File) Stat() (os.FileInfo, error) { return f.f.Stat() }

var _ io.ReadCloser = (*File)(nil)
