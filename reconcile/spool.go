package reconcile

import (
	"bufio"
	"cmp"
	"errors"
	"io"
	"os"
	"sync"
)

// findingSpool keeps a run's findings' JSON on disk between their save and
// findings.json: the bodies of a hundred thousand findings, the largest
// thing a run holds once it has collected, are then not kept in memory
// while the run acts and writes its reports. The file has no name while
// the run lasts (O_TMPFILE; elsewhere it is unlinked as soon as it is
// made): nothing is left behind, whatever ends the process. It is laid out
// as findings.json starts (findingsHead, then each body on a line of its
// own, in the findings' order), so that, when no finding changed since,
// findings.json is the spool with its tail written and a name given (link),
// not a second copy of the bodies.
type findingSpool struct {
	f       *os.File
	mu      sync.Mutex // guards what follows
	unnamed bool       // link can give f a name
	turn    sync.Cond  // a batch waits for the findings before it
	written int        // the findings before this one are written (or skipped)
	size    int64
	err     error       // the first write that failed, or a batch skipped
	spans   []spoolSpan // by finding
	// win is the file from winOff, read ahead by ahead bytes for bodies
	// read in the file's order: next is where the last body read ends.
	win         []byte
	winOff      int64
	next        int64
	ahead       int
	read, reads int64          // bytes read from the file, and reads (the tests bound them)
	flushing    sync.WaitGroup // writeBack's
}

// findingsHead is how findings.json starts: the findings come first
// (Result.WriteFindingsFile), then the run's other parts.
const findingsHead = `{"findings": [`

// findingSeparator is what comes before finding i's body in findings.json.
func findingSeparator(i int) string {
	if i == 0 {
		return "\n"
	}
	return ",\n"
}

// errSkipped: a batch of findings was not marshalled (the save failed).
var errSkipped = errors.New("findings not marshalled")

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
	f, unnamed := openUnnamed(dir)
	if !unnamed {
		var err error
		if f, err = os.CreateTemp(dir, ".accessrecon-findings-*.json"); err != nil {
			return nil, err
		}
		if err := os.Remove(f.Name()); err != nil {
			f.Close()
			return nil, err
		}
	}
	if _, err := f.WriteString(findingsHead); err != nil {
		f.Close()
		return nil, err
	}
	sp := &findingSpool{f: f, unnamed: unnamed, size: int64(len(findingsHead)), spans: make([]spoolSpan, n)}
	sp.turn.L = &sp.mu
	for i := range sp.spans {
		sp.spans[i].n = -1
	}
	return sp, nil
}

// put writes the bodies of findings lo, lo+1, …, which buf holds, each
// after its separator (findingSeparator), the k-th from bounds[2k] to
// bounds[2k+1]. Batches are laid out in the findings' order: put waits
// until the findings before lo have their place, then writes without the
// lock, while the next batch is given its place and written beside (the
// writes, each a copy into the page cache, were one at a time: 1.3 GB at
// a million people). When it fails, those findings have no body in the
// spool. Their spans are set here, and read only once every batch is put.
func (sp *findingSpool) put(lo int, buf []byte, bounds []int) error {
	sp.mu.Lock()
	for sp.written != lo {
		sp.turn.Wait()
	}
	off := sp.size
	sp.size += int64(len(buf))
	sp.written = lo + len(bounds)/2
	sp.turn.Broadcast()
	sp.mu.Unlock()
	if _, err := sp.f.WriteAt(buf, off); err != nil {
		sp.mu.Lock()
		sp.err = cmp.Or(sp.err, err)
		sp.mu.Unlock()
		return err
	}
	for k := 0; k < len(bounds); k += 2 {
		sp.spans[lo+k/2] = spoolSpan{off: off + int64(bounds[k]), n: int32(bounds[k+1] - bounds[k])}
	}
	return nil
}

// writeBack starts writing the spool's pages to disk, on a goroutine of
// its own, once every batch is put (nil: none). When findings.json
// replaces a file of that name, ext4 starts writing the new file's pages
// out before the rename returns (auto_da_alloc), while the run waits: at
// 100,000 people the rename took 58 ms, and 8-16 ms once the pages were
// on their way while the run saved its findings (strace, two runs each).
// The data is as safe as before, only sooner on its way to disk.
func (sp *findingSpool) writeBack() {
	if sp != nil {
		sp.flushing.Go(func() { startWriteBack(sp.f) })
	}
}

// close closes the spool's file once writeBack is done with it.
func (sp *findingSpool) close() error {
	sp.flushing.Wait()
	return sp.f.Close()
}

// skip lets the batches after findings lo..hi go on without them.
func (sp *findingSpool) skip(lo, hi int) {
	if sp == nil {
		return
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for sp.written != lo {
		sp.turn.Wait()
	}
	sp.written = hi
	sp.err = cmp.Or(sp.err, errSkipped)
	sp.turn.Broadcast()
}

// WriteFindingsFile writes the findings file path (findings.json)
// atomically, readable by its owner only: findingsHead, each finding as
// AppendFindingJSON gives it on a line of its own (with a comma before each
// but the first), then tail, which closes the array and the document. When
// no finding changed since the run spooled it (Engine.Spool), the spool,
// laid out so, becomes the file with tail written after it: the bodies are
// written once. Else (no spool, a finding changed since, a ticket's key;
// a spool that failed or cannot be named) the file is streamed: a hundred
// thousand findings never sit in memory twice.
func (r *Result) WriteFindingsFile(path string, tail []byte) error {
	if r.spool != nil {
		if ok, _ := r.spool.link(path, tail); ok {
			return nil
		}
	}
	tmp := path + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600) // personal data: owner only
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // a no-op once renamed
	bw := bufio.NewWriterSize(out, 1<<20)
	bw.WriteString(findingsHead)
	var b []byte
	for i := range r.Findings {
		if b, err = r.AppendFindingJSON(b[:0], i); err != nil {
			out.Close()
			return err
		}
		bw.WriteString(findingSeparator(i))
		bw.Write(b)
	}
	bw.Write(tail)
	if err := bw.Flush(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// link makes the spool findings.json when it holds every finding's body as
// saved (none changed since, no write failed) and can be named: it writes
// tail after the bodies and names the file path, replacing the file there
// (through path+".tmp"). ok false: nothing was done (the caller writes the
// file); an error: the spool could not be named.
func (sp *findingSpool) link(path string, tail []byte) (ok bool, err error) {
	sp.flushing.Wait()
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if !sp.unnamed || sp.err != nil || sp.written != len(sp.spans) {
		return false, nil
	}
	for _, s := range sp.spans {
		if s.n < 0 {
			return false, nil
		}
	}
	if _, err := sp.f.WriteAt(tail, sp.size); err != nil {
		return false, err
	}
	if err := sp.f.Truncate(sp.size + int64(len(tail))); err != nil { // a tail written before was longer
		return false, err
	}
	tmp := path + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	if err := nameFile(sp.f, tmp); err != nil {
		return false, err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return false, err
	}
	sp.unnamed = false // it has one now: a second link would move it
	return true, nil
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
		if gap := s.off - sp.next; gap >= 0 && gap <= int64(len(findingSeparator(1))) { // the next body
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
