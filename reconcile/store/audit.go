package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
)

// AuditRecord is one event of the audit trail. Hash is the SHA-256 of the
// record's canonical content, which includes PrevHash, the previous record's
// hash: deleting, changing or reordering any record breaks the chain.
type AuditRecord struct {
	Seq      int64           `json:"seq"`
	At       time.Time       `json:"at"`
	RunID    int64           `json:"run_id"`
	Type     string          `json:"type"`
	Actor    string          `json:"actor"`
	Target   string          `json:"target,omitempty"`
	Detail   json.RawMessage `json:"detail"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

// Genesis is the PrevHash of the first record.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// ComputeHash returns the hash a record must carry.
func (r AuditRecord) ComputeHash() string {
	c := r
	c.Hash = ""
	c.At = c.At.UTC()
	var buf bytes.Buffer
	if len(c.Detail) > 0 {
		_ = json.Compact(&buf, c.Detail)
		c.Detail = json.RawMessage(buf.Bytes())
	}
	b, _ := json.Marshal(c)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// AuditTrail appends to the hash-chained audit table and mirrors every
// record as a JSON line in a file beside the store.
//
// The store is the source of truth: a record's line is written only once
// its transaction committed. Before committing, the record's sequence number
// and hash are written to a marker file (path + ".pending"), so that a crash
// between the commit and the line leaves a file behind by exactly the marked
// record, which Verify accepts and the next append completes. Appends are
// serialised across processes by an flock on path + ".lock", so lines are in
// sequence order whoever writes them. Before each append the file's tail is
// reconciled with the store: a torn last line is cut, records the file lacks
// are appended from the store, and lines the store never committed (a file
// ahead of it: written by a version that wrote the line before its commit,
// or a commit lost with the machine) are dropped; each repair is recorded in
// the trail (audit_file_repaired) with what it dropped.
//
// The trail keeps its records in an AuditDB: this package's SQLite store
// (Store.Audit), or another store's table (NewAuditTrail). Where processes
// on several machines append to one table (AuditDB.AuditShared), each
// machine's file is caught up from the store before each append, and that
// is no repair; a trail without a file (path "") keeps the store alone.
type AuditTrail struct {
	db   AuditDB
	path string
	// OnAppend, when set, is given every record once it is stored (a
	// syslog sink forwards it to a SIEM, which anchors the chain outside
	// the store).
	OnAppend func(AuditRecord)
	// Checkpoints signs the chain head (see Checkpoint); the zero value
	// signs nothing.
	Checkpoints CheckpointPolicy

	mu sync.Mutex // serialises this trail's appends; the flock does it across trails and processes
	// What this trail last left: the file's size and the store's last
	// sequence number right after its last line. When both are still so,
	// the file needs no reconciling (the fast path of every append).
	leftSize int64
	leftSeq  int64
	// crash, when set (tests), is asked at every write boundary whether the
	// process "dies" there: the append stops as a kill would stop it.
	crash func(point string) bool
}

// Write boundaries of an append, in order (for the crash hook).
const (
	crashBeforeCommit = "before-commit" // record inserted and marked pending, not committed
	crashAfterCommit  = "after-commit"  // committed, no line written
	crashMidLine      = "mid-line"      // half the line written
	crashAfterLine    = "after-line"    // line written, OnAppend not called
)

// errCrashed is what an append "killed" by the crash hook returns.
var errCrashed = errors.New("simulated crash")

// RepairEvent is the type of the record that says how the file was
// reconciled with the store.
const RepairEvent = "audit_file_repaired"

// Audit returns the store's audit trail, mirrored to the JSON Lines file at
// path ("" for the default: the store's file name + ".audit.jsonl").
func (s *Store) Audit(path string) *AuditTrail {
	if path == "" {
		path = s.path + ".audit.jsonl"
	}
	return NewAuditTrail(sqliteAudit{s}, path)
}

// Path is the JSON Lines mirror's file name ("" when there is none).
func (a *AuditTrail) Path() string { return a.path }

func (a *AuditTrail) pendingPath() string { return a.path + ".pending" }

// mark writes the pending marker: the record whose line may be missing
// (seq 0: none). It overwrites a fixed-width record in place (creating a
// file per append costs more than the append itself).
func (a *AuditTrail) mark(seq int64, hash string) error {
	if a.path == "" {
		return nil
	}
	f, err := os.OpenFile(a.pendingPath(), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(fmt.Appendf(nil, "%20d %-64s\n", seq, hash), 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// lock takes the in-process mutex, the trail's file lock (when it has a
// file) and the store's lock on whole appends (AuditDB.AuditLock).
func (a *AuditTrail) lock(ctx context.Context) (func(), error) {
	a.mu.Lock()
	var f *os.File
	if a.path != "" {
		var err error
		f, err = os.OpenFile(a.path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			a.mu.Unlock()
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			a.mu.Unlock()
			return nil, err
		}
	}
	release := func() {
		if f != nil {
			_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
			f.Close()
		}
		a.mu.Unlock()
	}
	unlockDB, err := a.db.AuditLock(ctx)
	if err != nil {
		release()
		return nil, err
	}
	return func() {
		unlockDB()
		release()
	}, nil
}

// Append adds one record; Seq, PrevHash and Hash are set here, under the
// store's write lock, so the chain has no forks.
func (a *AuditTrail) Append(ctx context.Context, r AuditRecord) (AuditRecord, error) {
	unlock, err := a.lock(ctx)
	if err != nil {
		return r, fmt.Errorf("audit: append %s: %w", r.Type, err)
	}
	defer unlock()
	repair, err := a.reconcile(ctx)
	if err != nil {
		return r, fmt.Errorf("audit: append %s: reconcile %s with the store: %w", r.Type, a.path, err)
	}
	if repair != nil {
		detail, _ := json.Marshal(repair)
		if _, err := a.appendLocked(ctx, AuditRecord{At: time.Now(), Type: RepairEvent, Actor: "accessrecon", Detail: detail}); err != nil {
			return r, fmt.Errorf("audit: append %s: %w", r.Type, err)
		}
	}
	r, err = a.appendLocked(ctx, r)
	if err != nil {
		return r, err
	}
	if err := a.checkpointDue(ctx, r.Seq); err != nil {
		return r, fmt.Errorf("audit: append %s: committed, but %w", r.Type, err)
	}
	return r, nil
}

// Reconcile brings the file in line with the store (see AuditTrail) and
// records the repair, if one was needed. Append does it before every record.
func (a *AuditTrail) Reconcile(ctx context.Context) (*Repair, error) {
	unlock, err := a.lock(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: reconcile: %w", err)
	}
	defer unlock()
	repair, err := a.reconcile(ctx)
	if err != nil || repair == nil {
		if err != nil {
			err = fmt.Errorf("audit: reconcile %s with the store: %w", a.path, err)
		}
		return nil, err
	}
	detail, _ := json.Marshal(repair)
	if _, err := a.appendLocked(ctx, AuditRecord{At: time.Now(), Type: RepairEvent, Actor: "accessrecon", Detail: detail}); err != nil {
		return repair, fmt.Errorf("audit: reconcile: %w", err)
	}
	return repair, nil
}

func (a *AuditTrail) appendLocked(ctx context.Context, r AuditRecord) (AuditRecord, error) {
	return a.appendWith(ctx, r, nil)
}

// appendWith appends r; prepare, when set, completes r inside the
// transaction that inserts it (a checkpoint signs the head it follows).
func (a *AuditTrail) appendWith(ctx context.Context, r AuditRecord, prepare func(AuditTx, *AuditRecord) error) (AuditRecord, error) {
	if len(r.Detail) == 0 {
		r.Detail = json.RawMessage("{}")
	}
	died := a.died
	err := a.db.AuditWrite(ctx, func(tx AuditTx) error {
		if prepare != nil {
			if err := prepare(tx, &r); err != nil {
				return err
			}
		}
		if err := a.insert(ctx, tx, &r); err != nil {
			return err
		}
		if died(crashBeforeCommit) {
			return errCrashed
		}
		return nil
	})
	if err != nil {
		return r, fmt.Errorf("audit: append %s: %w", r.Type, err)
	}
	if died(crashAfterCommit) {
		return r, errCrashed
	}
	if a.path == "" {
		if a.OnAppend != nil {
			a.OnAppend(r)
		}
		return r, nil
	}
	line, err := json.Marshal(r)
	if err != nil {
		return r, fmt.Errorf("audit: append %s: %w", r.Type, err)
	}
	line = append(line, '\n')
	f, err := os.OpenFile(a.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return r, fmt.Errorf("audit: append %s: committed, but %w", r.Type, err)
	}
	if died(crashMidLine) {
		_, _ = f.Write(line[:len(line)/2])
		f.Close()
		return r, errCrashed
	}
	if _, err := f.Write(line); err != nil {
		f.Close()
		return r, fmt.Errorf("audit: append %s: committed, but %w", r.Type, err)
	}
	a.leftSeq, a.leftSize = 0, 0
	if fi, err := f.Stat(); err == nil {
		a.leftSeq, a.leftSize = r.Seq, fi.Size()
	}
	if err := f.Close(); err != nil {
		return r, fmt.Errorf("audit: append %s: committed, but %w", r.Type, err)
	}
	// The line is written: nothing is pending any more.
	if err := a.mark(0, "-"); err != nil {
		return r, fmt.Errorf("audit: append %s: %w", r.Type, err)
	}
	if died(crashAfterLine) {
		return r, errCrashed
	}
	if a.OnAppend != nil {
		a.OnAppend(r)
	}
	return r, nil
}

func (a *AuditTrail) died(point string) bool { return a.crash != nil && a.crash(point) }

// insert chains r to the store's last record, inserts it and marks it
// pending (its line is not written yet), in the caller's transaction.
func (a *AuditTrail) insert(ctx context.Context, tx AuditTx, r *AuditRecord) error {
	if len(r.Detail) == 0 {
		r.Detail = json.RawMessage("{}")
	}
	seq, hash, err := tx.Head(ctx)
	if err != nil {
		return err
	}
	r.Seq, r.PrevHash = seq+1, Genesis
	if seq > 0 {
		r.PrevHash = hash
	}
	r.At = r.At.UTC()
	r.Hash = r.ComputeHash()
	if err := tx.Insert(ctx, *r); err != nil {
		return err
	}
	return a.mark(r.Seq, r.Hash)
}

// Repair is what reconciling the file with the store did.
type Repair struct {
	// TornBytes is the length of a cut-short last line that was removed.
	TornBytes int `json:"torn_bytes,omitempty"`
	// Appended counts the records the file lacked, written from the store
	// (first and last sequence numbers).
	Appended int   `json:"appended,omitempty"`
	FirstSeq int64 `json:"first_appended_seq,omitempty"`
	LastSeq  int64 `json:"last_appended_seq,omitempty"`
	// Dropped are the lines of records the store never committed, removed
	// from the file (up to 100 kept here; DroppedCount counts them all).
	Dropped      []json.RawMessage `json:"dropped,omitempty"`
	DroppedCount int               `json:"dropped_count,omitempty"`
	Reason       string            `json:"reason"`
}

// fileTail is the end of the JSON Lines file.
type fileTail struct {
	size  int64
	lines []tailLine // the last complete lines read, in file order
	torn  int        // bytes after the last newline
	whole bool       // lines starts at the beginning of the file
}

type tailLine struct {
	off int64
	raw []byte
	rec AuditRecord
	bad bool // not a valid record
}

// readTail reads complete lines from the end of the file until it has one
// whose sequence number is at most seq (or the whole file).
func readTail(path string, seq int64) (fileTail, error) {
	var t fileTail
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		t.whole = true
		return t, nil
	}
	if err != nil {
		return t, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return t, err
	}
	t.size = st.Size()
	for chunk := int64(4096); ; chunk *= 4 {
		from := max(t.size-chunk, 0)
		buf := make([]byte, t.size-from)
		if _, err := f.ReadAt(buf, from); err != nil && !errors.Is(err, io.EOF) {
			return t, err
		}
		t.lines, t.torn, t.whole = nil, 0, from == 0
		end := bytes.LastIndexByte(buf, '\n') + 1
		t.torn = len(buf) - end
		body := buf[:end]
		start := 0
		if from > 0 {
			// The first bytes may be the end of a line that began earlier.
			start = bytes.IndexByte(body, '\n') + 1
		}
		for off := start; off < len(body); {
			n := bytes.IndexByte(body[off:], '\n') + 1
			t.lines = append(t.lines, tailLine{off: from + int64(off), raw: body[off : off+n]})
			off += n
		}
		// Parse from the end, only as far back as needed.
		for k := len(t.lines) - 1; k >= 0; k-- {
			l := &t.lines[k]
			l.bad = json.Unmarshal(l.raw, &l.rec) != nil
			if l.bad || l.rec.Seq <= seq {
				t.whole = t.whole && k == 0
				t.lines = t.lines[k:]
				return t, nil
			}
		}
		if t.whole {
			return t, nil
		}
	}
}

// reconcile compares the file's tail with the store and repairs what a crash
// can leave (see AuditTrail). Anything else, a file that disagrees with the
// store on a committed record, is left alone for Verify to report. It
// returns nil when nothing was repaired. The caller holds the lock.
func (a *AuditTrail) reconcile(ctx context.Context) (*Repair, error) {
	if a.path == "" {
		return nil, nil
	}
	storeSeq, storeHash, err := a.db.AuditHead(ctx)
	if err != nil {
		return nil, err
	}
	if a.leftSeq > 0 && a.leftSeq == storeSeq {
		if fi, err := os.Stat(a.path); err == nil && fi.Size() == a.leftSize {
			return nil, nil
		}
	}
	t, err := readTail(a.path, storeSeq)
	if err != nil {
		return nil, err
	}
	if rep, err := a.finishPendingTrim(ctx, t, storeSeq, storeHash); rep != nil || err != nil {
		return rep, err
	}
	rep := &Repair{TornBytes: t.torn}
	cut := t.size - int64(t.torn) // the file is cut here
	// Lines of records the store does not hold, from the end.
	i := len(t.lines)
	for i > 0 && !t.lines[i-1].bad && t.lines[i-1].rec.Seq > storeSeq {
		i--
	}
	if i < len(t.lines) {
		// The line before them must be the store's last record (or the
		// file holds nothing else): otherwise this is not what a crash does.
		if i > 0 && (t.lines[i-1].bad || t.lines[i-1].rec.Seq != storeSeq || t.lines[i-1].rec.Hash != storeHash) {
			return nil, nil
		}
		if i == 0 && (!t.whole || storeSeq > 0) {
			return nil, nil
		}
		for _, l := range t.lines[i:] {
			if len(rep.Dropped) < 100 {
				rep.Dropped = append(rep.Dropped, json.RawMessage(bytes.TrimSpace(l.raw)))
			}
			rep.DroppedCount++
		}
		cut = t.lines[i].off
		rep.Reason = "the file held records the store never committed"
	}
	fileSeq := int64(0)
	if i > 0 {
		l := t.lines[i-1]
		if l.bad {
			return nil, nil
		}
		fileSeq = l.rec.Seq
		h := storeHash
		if fileSeq != storeSeq {
			if h, err = a.db.AuditHash(ctx, fileSeq); err != nil {
				h = "" // trimmed away, or unreadable
			}
		}
		if h != l.rec.Hash {
			// Not the store's record: not a crash's doing.
			return nil, nil
		}
	} else if !t.whole {
		return nil, nil
	}
	if rep.TornBytes == 0 && rep.DroppedCount == 0 && fileSeq == storeSeq {
		return nil, nil
	}
	if cut < t.size {
		var dropped []tailLine
		if rep.DroppedCount > 0 {
			dropped = t.lines[i:]
		}
		if err := a.cutFile(cut, dropped); err != nil {
			return nil, err
		}
	}
	if fileSeq < storeSeq {
		trimmedTo, err := a.appendMissing(ctx, fileSeq, rep)
		if err != nil {
			return nil, err
		}
		if a.db.AuditShared() && rep.TornBytes == 0 && rep.DroppedCount == 0 {
			// Records other machines appended: this file's catching up,
			// and when one of them trimmed, the file follows the trim.
			a.leftSeq, a.leftSize = 0, 0
			if trimmedTo > 0 {
				return nil, a.rewriteFrom(trimmedTo, nil)
			}
			return nil, nil
		}
		if rep.Reason == "" {
			rep.Reason = "the file lacked records the store committed (an interrupted append)"
		}
	}
	if rep.Reason == "" {
		rep.Reason = "the last line was cut short (an interrupted append)"
	}
	return rep, nil
}

// finishPendingTrim finishes a trim committed without its file rewrite,
// and says so (nil when there was none to finish).
func (a *AuditTrail) finishPendingTrim(ctx context.Context, t fileTail, storeSeq int64, storeHash string) (*Repair, error) {
	seq, hash := a.pending()
	if seq <= 0 || seq != storeSeq || hash != storeHash ||
		!(len(t.lines) == 0 || t.lines[len(t.lines)-1].bad || t.lines[len(t.lines)-1].rec.Seq < storeSeq) {
		return nil, nil
	}
	var rec AuditRecord
	if err := a.Records(ctx, storeSeq, func(r AuditRecord) error { rec = r; return nil }); err != nil {
		return nil, err
	}
	var d trimDetail
	if rec.Type != TrimEvent || json.Unmarshal(rec.Detail, &d) != nil {
		return nil, nil
	}
	if err := a.finishTrim(d.FirstKeptSeq, rec); err != nil {
		return nil, err
	}
	return &Repair{Reason: fmt.Sprintf("an interrupted trim was finished: the file was rewritten from record %d", d.FirstKeptSeq)}, nil
}

// cutFile truncates the file at cut, keeping the lines it drops (if any)
// in path + ".dropped".
func (a *AuditTrail) cutFile(cut int64, dropped []tailLine) error {
	if len(dropped) > 0 {
		var out [][]byte
		for _, l := range dropped {
			out = append(out, l.raw)
		}
		if err := appendFile(a.path+".dropped", bytes.Join(out, nil)); err != nil {
			return err
		}
	}
	return os.Truncate(a.path, cut)
}

// appendMissing appends to the file the store's records after fileSeq (all
// of them when the file holds none), counting them in rep. It returns the
// first record kept by the last trim among them (0: none).
func (a *AuditTrail) appendMissing(ctx context.Context, fileSeq int64, rep *Repair) (trimmedTo int64, err error) {
	var buf bytes.Buffer
	from := fileSeq + 1
	if fileSeq == 0 {
		from = 0 // a trimmed store starts after 1
	}
	err = a.Records(ctx, from, func(r AuditRecord) error {
		line, err := json.Marshal(r)
		if err != nil {
			return err
		}
		var d trimDetail
		if r.Type == TrimEvent && json.Unmarshal(r.Detail, &d) == nil {
			trimmedTo = d.FirstKeptSeq
		}
		if rep.FirstSeq == 0 {
			rep.FirstSeq = r.Seq
		}
		rep.LastSeq = r.Seq
		rep.Appended++
		buf.Write(line)
		buf.WriteByte('\n')
		return nil
	})
	if err != nil {
		return 0, err
	}
	return trimmedTo, appendFile(a.path, buf.Bytes())
}

func appendFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Records streams the audit table in sequence order, from seq `from` on.
func (a *AuditTrail) Records(ctx context.Context, from int64, fn func(AuditRecord) error) error {
	var fnErr error
	err := a.db.AuditRecords(ctx, from, func(r AuditRecord) error {
		if err := fn(r); err != nil {
			fnErr = err
			return err
		}
		return nil
	})
	if err != nil && fnErr == nil {
		return fmt.Errorf("audit: read: %w", err)
	}
	return err
}

// BrokenError names the first record where a chain breaks.
type BrokenError struct {
	Where  string // "store" or the file name
	Seq    int64  // the record's sequence number (0 if unreadable)
	Line   int    // line in the file (0 for the store)
	Reason string
}

func (e *BrokenError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("audit chain broken in %s at line %d (record %d): %s", e.Where, e.Line, e.Seq, e.Reason)
	}
	return fmt.Sprintf("audit chain broken in %s at record %d: %s", e.Where, e.Seq, e.Reason)
}

// chain checks records one after another.
type chain struct {
	where string
	n     int
	prev  *AuditRecord
	first AuditRecord
	// firstLine is the file line of the first record (0 in the store).
	firstLine int
	// vouched is set when an audit_trimmed record names the first record
	// of the chain as the point retention trimmed to.
	vouched bool
	// signed, when set, also checks the chain against signed checkpoints.
	signed *signedCheck
}

func (c *chain) next(r AuditRecord, line int) error {
	c.n++
	broken := func(reason string) error { return &BrokenError{Where: c.where, Seq: r.Seq, Line: line, Reason: reason} }
	if got := r.ComputeHash(); got != r.Hash {
		return broken("content does not match its hash (the record was changed)")
	}
	if c.prev == nil {
		if r.Seq == 1 && r.PrevHash != Genesis {
			return broken("first record does not start the chain")
		}
		c.first, c.firstLine = r, line
	} else {
		if r.Seq != c.prev.Seq+1 {
			return broken(fmt.Sprintf("follows record %d (records missing or reordered)", c.prev.Seq))
		}
		if r.PrevHash != c.prev.Hash {
			return broken(fmt.Sprintf("does not chain to record %d (a record was removed, changed or moved)", c.prev.Seq))
		}
	}
	if c.signed != nil {
		if err := c.signed.next(c, r, line); err != nil {
			return err
		}
	}
	if r.Type == TrimEvent {
		var d trimDetail
		if json.Unmarshal(r.Detail, &d) == nil && d.FirstKeptSeq == c.first.Seq && d.FirstKeptPrevHash == c.first.PrevHash {
			c.vouched = true
		}
	}
	c.prev = &r
	return nil
}

// end checks what can only be checked once the whole chain was read: a chain
// that does not start at record 1 must have been trimmed to exactly there.
func (c *chain) end() error {
	if c.n == 0 || c.first.Seq == 1 || c.vouched {
		if c.signed != nil {
			return c.signed.end(c)
		}
		return nil
	}
	return &BrokenError{Where: c.where, Seq: c.first.Seq, Line: c.firstLine, Reason: fmt.Sprintf("chain starts at record %d, not 1, and no trim record vouches for it (records were deleted)", c.first.Seq)}
}

// TrimEvent is the type of the record retention appends when it trims.
const TrimEvent = "audit_trimmed"

type trimDetail struct {
	Before            time.Time `json:"before"`
	Removed           int64     `json:"removed"`
	FirstKeptSeq      int64     `json:"first_kept_seq"`
	FirstKeptPrevHash string    `json:"first_kept_prev_hash"`
}

// Trim removes the whole prefix of records older than before (never a record
// in the middle), from the table and the file, and appends a record saying
// where the chain now starts, so that it stays verifiable from there. It is
// the only way records ever leave the trail.
//
// The deletion and the trim record are one transaction; the file is then
// rewritten (a new file renamed over the old one). A crash between the two
// leaves the trim record pending: Verify accepts the file as it was, and
// the next append (or Reconcile) finishes the rewrite.
func (a *AuditTrail) Trim(ctx context.Context, before time.Time) (int64, error) {
	unlock, err := a.lock(ctx)
	if err != nil {
		return 0, fmt.Errorf("audit: trim: %w", err)
	}
	defer unlock()
	// The file must be the store's before it is rewritten from it.
	if repair, err := a.reconcile(ctx); err != nil {
		return 0, fmt.Errorf("audit: trim: %w", err)
	} else if repair != nil {
		detail, _ := json.Marshal(repair)
		if _, err := a.appendLocked(ctx, AuditRecord{At: time.Now(), Type: RepairEvent, Actor: "accessrecon", Detail: detail}); err != nil {
			return 0, fmt.Errorf("audit: trim: %w", err)
		}
	}
	var d trimDetail
	var rec AuditRecord
	err = a.db.AuditWrite(ctx, func(tx AuditTx) error {
		// The first record to keep: the oldest at or after the cut, and
		// everything after it (a prefix is cut, whatever the clock did).
		firstSeq, firstPrev, ok, err := tx.FirstKept(ctx, before)
		if err != nil {
			return err
		}
		if !ok {
			return nil // nothing newer: keep everything rather than empty the trail
		}
		removed, err := tx.DeleteBefore(ctx, firstSeq)
		if err != nil {
			return err
		}
		d = trimDetail{Before: before.UTC(), FirstKeptSeq: firstSeq, FirstKeptPrevHash: firstPrev, Removed: removed}
		if d.Removed == 0 {
			return nil
		}
		detail, _ := json.Marshal(d)
		rec = AuditRecord{At: time.Now(), Type: TrimEvent, Actor: "accessrecon", Detail: detail}
		if err := a.insert(ctx, tx, &rec); err != nil {
			return err
		}
		if a.died(crashBeforeCommit) {
			return errCrashed
		}
		return nil
	})
	if err != nil || d.Removed == 0 {
		if err != nil {
			err = fmt.Errorf("audit: trim: %w", err)
		}
		return 0, err
	}
	if a.died(crashAfterCommit) {
		return d.Removed, errCrashed
	}
	if err := a.finishTrim(d.FirstKeptSeq, rec); err != nil {
		return d.Removed, fmt.Errorf("audit: trim: committed, but %w", err)
	}
	if a.OnAppend != nil {
		a.OnAppend(rec)
	}
	return d.Removed, nil
}

// finishTrim rewrites the file from the first kept record on, with the trim
// record's line at its end, and clears the pending mark.
func (a *AuditTrail) finishTrim(firstKept int64, rec AuditRecord) error {
	if a.path == "" {
		return nil
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := a.rewriteFrom(firstKept, append(line, '\n')); err != nil {
		return err
	}
	if a.died(crashAfterLine) {
		return errCrashed
	}
	a.leftSeq, a.leftSize = 0, 0
	if fi, err := os.Stat(a.path); err == nil {
		a.leftSeq, a.leftSize = rec.Seq, fi.Size()
	}
	return a.mark(0, "-")
}

// rewriteFrom rewrites the JSON Lines file keeping the complete lines of
// records from seq on (and lines that are no record: evidence of tampering
// stays), then the extra lines, through a new file renamed over the old.
func (a *AuditTrail) rewriteFrom(seq int64, extra []byte) error {
	in, err := os.Open(a.path)
	if errors.Is(err, os.ErrNotExist) {
		return appendFile(a.path, extra)
	}
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := a.path + ".trim"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	rd := bufio.NewReaderSize(in, 1<<16)
	for {
		line, err := rd.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			var r struct {
				Seq int64 `json:"seq"`
			}
			if json.Unmarshal(line, &r) != nil || r.Seq >= seq {
				if _, werr := out.Write(line); werr != nil {
					out.Close()
					return werr
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			out.Close()
			return err
		}
	}
	if _, err := out.Write(extra); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, a.path)
}

// VerifyResult is what a verification saw.
type VerifyResult struct {
	StoreRecords int
	FileRecords  int
	LastHash     string
	// Pending is set when the store's last record is not yet in the file
	// because the append that committed it was interrupted before writing
	// its line (the marker file names it): not a break; the next append
	// completes the file.
	Pending int64
	// Signed is what the signed checkpoints vouch for (VerifySigned only).
	Signed *SignedResult
}

// pending reads the marker of the last append begun: its sequence number and
// hash (zero if none).
func (a *AuditTrail) pending() (int64, string) {
	if a.path == "" {
		return 0, ""
	}
	b, err := os.ReadFile(a.pendingPath())
	if err != nil {
		return 0, ""
	}
	var seq int64
	var hash string
	if _, err := fmt.Sscanf(string(b), "%d %s", &seq, &hash); err != nil {
		return 0, ""
	}
	return seq, hash
}

// Verify checks the chain in the store and in the JSON Lines file, and that
// both hold the same records. The error is a *BrokenError naming the first
// broken record.
func (a *AuditTrail) Verify(ctx context.Context) (VerifyResult, error) {
	return a.verify(ctx, nil)
}

// verify is Verify, checking both chains against signed checkpoints too
// when sig is set.
func (a *AuditTrail) verify(ctx context.Context, sig *signedCheck) (VerifyResult, error) {
	var res VerifyResult
	sc := &chain{where: "store", signed: sig.fresh()}
	var beforeLast AuditRecord // the store's record before its last
	if err := a.Records(ctx, 0, func(r AuditRecord) error {
		if sc.prev != nil {
			beforeLast = *sc.prev
		}
		return sc.next(r, 0)
	}); err != nil {
		return res, err
	}
	if err := sc.end(); err != nil {
		return res, err
	}
	res.StoreRecords = sc.n
	if sc.signed != nil {
		res.Signed = sc.signed.result(sc)
	}
	if sc.prev != nil {
		res.LastHash = sc.prev.Hash
	}
	if a.path == "" {
		return res, nil // no file: the store is the record
	}
	// An append interrupted between its commit and its line: the marker
	// names the store's last record, which the file may lack or hold cut
	// short.
	var interrupted bool
	if seq, hash := a.pending(); sc.prev != nil && seq == sc.prev.Seq && hash == sc.prev.Hash {
		interrupted = true
	}
	f, err := os.Open(a.path)
	if errors.Is(err, os.ErrNotExist) && (sc.n == 0 || (sc.n == 1 && interrupted)) {
		if sc.n == 1 {
			res.Pending = sc.prev.Seq
		}
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	fc := &chain{where: a.path, signed: sig.fresh()}
	rd := bufio.NewReaderSize(f, 1<<16)
	for line := 1; ; line++ {
		b, err := rd.ReadBytes('\n')
		if len(b) == 0 && err == io.EOF {
			break
		}
		if err != nil && err != io.EOF {
			return res, fmt.Errorf("audit: read %s: %w", a.path, err)
		}
		if !bytes.HasSuffix(b, []byte("\n")) {
			if interrupted && fc.n == sc.n-1 && (fc.prev == nil || fc.prev.Hash == beforeLast.Hash) {
				if want, err := json.Marshal(sc.prev); err == nil && bytes.HasPrefix(want, b) {
					res.Pending = sc.prev.Seq
					break
				}
			}
			return res, &BrokenError{Where: a.path, Line: line, Reason: "last line is cut short (the file was truncated)"}
		}
		var r AuditRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return res, &BrokenError{Where: a.path, Line: line, Reason: "not a valid record: " + err.Error()}
		}
		if err := fc.next(r, line); err != nil {
			return res, err
		}
	}
	if err := fc.end(); err != nil {
		return res, err
	}
	res.FileRecords = fc.n
	if res.Pending == 0 && interrupted && fc.n == sc.n-1 && (fc.prev == nil || fc.prev.Hash == beforeLast.Hash) {
		res.Pending = sc.prev.Seq
	}
	// A trim whose file rewrite was interrupted: the file still holds the
	// trimmed prefix and lacks the trim record.
	if res.Pending == 0 && interrupted && sc.prev.Type == TrimEvent && fc.prev != nil &&
		fc.prev.Seq == sc.prev.Seq-1 && fc.prev.Hash == beforeLast.Hash && fc.first.Seq <= sc.first.Seq {
		res.Pending = sc.prev.Seq
	}
	if res.Pending > 0 {
		return res, nil
	}
	switch {
	case fc.n < sc.n:
		return res, &BrokenError{Where: a.path, Seq: int64(fc.n + 1), Line: fc.n + 1, Reason: fmt.Sprintf("file ends after %d records but the store holds %d (the file was truncated)", fc.n, sc.n)}
	case fc.n > sc.n:
		return res, &BrokenError{Where: "store", Seq: int64(sc.n + 1), Reason: fmt.Sprintf("store ends after %d records but the file holds %d (records were deleted from the store)", sc.n, fc.n)}
	case fc.prev != nil && fc.prev.Hash != res.LastHash:
		return res, &BrokenError{Where: a.path, Seq: fc.prev.Seq, Line: fc.n, Reason: "file and store disagree on the last record"}
	}
	return res, nil
}

// AppendEvent appends one event of the engine at time at (reconcile.EventTrail).
func (a *AuditTrail) AppendEvent(ctx context.Context, at time.Time, ev reconcile.AuditEvent) error {
	detail, err := json.Marshal(ev.Detail)
	if err != nil {
		return err
	}
	_, err = a.Append(ctx, AuditRecord{At: at, RunID: ev.RunID, Type: string(ev.Type), Actor: ev.Actor, Target: ev.Target, Detail: detail})
	return err
}

var _ reconcile.EventTrail = (*AuditTrail)(nil)
