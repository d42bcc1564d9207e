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
	// win is the file from winOff, read ahead: bodies read in the order
	// they were written cost a read of the file per window, not one each.
	win    []byte
	winOff int64
}

// spoolWindow is how much of the spool one read of the file brings in.
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
func (sp *findingSpool) appendBody(dst []byte, i int) (_ []byte, ok bool, err error) {
	s := sp.spans[i]
	if s.n < 0 {
		return dst, false, nil
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if s.off < sp.winOff || s.off+int64(s.n) > sp.winOff+int64(len(sp.win)) {
		if cap(sp.win) < max(int(s.n), spoolWindow) {
			sp.win = make([]byte, max(int(s.n), spoolWindow))
		}
		sp.win = sp.win[:cap(sp.win)]
		n, err := sp.f.ReadAt(sp.win, s.off)
		if n < int(s.n) {
			sp.win = sp.win[:0]
			return dst, false, cmp.Or(err, io.ErrUnexpectedEOF)
		}
		sp.win, sp.winOff = sp.win[:n], s.off
	}
	start := s.off - sp.winOff
	return append(dst, sp.win[start:start+int64(s.n)]...), true, nil
}

// body reads finding i's body (nil when it has none).
func (sp *findingSpool) body(i int) ([]byte, error) {
	if sp.spans[i].n < 0 {
		return nil, nil
	}
	b, _, err := sp.appendBody(make([]byte, 0, sp.spans[i].n), i)
	return b, err
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
