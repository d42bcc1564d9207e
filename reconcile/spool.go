package reconcile

import (
	"cmp"
	"io"
	"os"
	"sync"
)

// findingSpool keeps a run's findings' JSON on disk between their save and
// findings.json: the bodies of a hundred thousand findings, the largest
// thing a run holds once it has collected, are then not kept in memory
// while the run acts and writes its reports. The file is unlinked as soon
// as it is made: nothing is left behind, whatever ends the process.
type findingSpool struct {
	f     *os.File
	mu    sync.Mutex // guards size, err and the window
	size  int64
	err   error       // the first write that failed
	spans []spoolSpan // by finding
	// win is the file from winOff, read ahead by ahead bytes for bodies
	// read in the file's order: next is where the last body read ends.
	win         []byte
	winOff      int64
	next        int64
	ahead       int
	read, reads int64 // bytes read from the file, and reads (the tests bound them)
}

// spoolWindow is the most of the spool one read of the file brings in.
const spoolWindow = 1 << 20

// spoolSpan is where one finding's body is; n < 0: none (the finding
// changed since it was saved).
type spoolSpan struct {
	off int64
	n   int32
}

// newFindingSpool makes the spool of n findings' bodies in dir.
func newFindingSpool(dir string, n int) (*findingSpool, error) {
	f, err := os.CreateTemp(dir, ".accessrecon-findings-*.json")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	sp := &findingSpool{f: f, spans: make([]spoolSpan, n)}
	for i := range sp.spans {
		sp.spans[i].n = -1
	}
	return sp, nil
}

// put writes the bodies of findings lo, lo+1, …, which buf holds back to
// back, the k-th ending at ends[k]. When it fails, those findings have no
// body in the spool.
func (sp *findingSpool) put(lo int, buf []byte, ends []int) error {
	sp.mu.Lock()
	off := sp.size
	sp.size += int64(len(buf))
	sp.mu.Unlock()
	if _, err := sp.f.WriteAt(buf, off); err != nil {
		sp.mu.Lock()
		sp.err = cmp.Or(sp.err, err)
		sp.mu.Unlock()
		return err
	}
	start := 0
	for k, end := range ends {
		sp.spans[lo+k] = spoolSpan{off: off + int64(start), n: int32(end - start)}
		start = end
	}
	return nil
}

// appendBody appends finding i's body to dst; ok is false when it has none.
// Bodies read one after the other as they lie in the file (findings.json
// reads them so, mostly) come through a window read ahead, its size
// doubling with each read that continues the last, up to spoolWindow: a
// read per window instead of one per body. A body read out of that order
// is read alone: no order costs much more than the bodies' own bytes.
func (sp *findingSpool) appendBody(dst []byte, i int) (_ []byte, ok bool, err error) {
	s := sp.spans[i]
	if s.n < 0 {
		return dst, false, nil
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if s.off < sp.winOff || s.off+int64(s.n) > sp.winOff+int64(len(sp.win)) {
		if s.off == sp.next {
			sp.ahead = min(max(2*sp.ahead, 64<<10), spoolWindow)
		} else {
			sp.ahead = 0
		}
		n := max(int(s.n), sp.ahead)
		if cap(sp.win) < n {
			sp.win = make([]byte, n)
		}
		got, err := sp.f.ReadAt(sp.win[:n], s.off)
		sp.read, sp.reads = sp.read+int64(got), sp.reads+1
		if got < int(s.n) {
			sp.win = sp.win[:0]
			return dst, false, cmp.Or(err, io.ErrUnexpectedEOF)
		}
		sp.win, sp.winOff = sp.win[:got], s.off
	}
	sp.next = s.off + int64(s.n)
	start := s.off - sp.winOff
	return append(dst, sp.win[start:start+int64(s.n)]...), true, nil
}

// body reads finding i's body alone (nil when it has none): the store
// loads the bodies it writes in fingerprint order, not the spool's.
func (sp *findingSpool) body(i int) ([]byte, error) {
	s := sp.spans[i]
	if s.n < 0 {
		return nil, nil
	}
	b := make([]byte, s.n)
	if _, err := sp.f.ReadAt(b, s.off); err != nil {
		return nil, err
	}
	return b, nil
}

// drop forgets finding i's body.
func (sp *findingSpool) drop(i int) { sp.spans[i].n = -1 }

// failed returns the first write that failed (nil for a nil spool).
func (sp *findingSpool) failed() error {
	if sp == nil {
		return nil
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.err
}
