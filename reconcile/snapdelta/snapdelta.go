// Package snapdelta is the bookkeeping that reconcile/store (SQLite) and
// reconcile/pgstore (PostgreSQL) share to save snapshots as deltas: a run's
// saves of one side (HR, or one target) form a Session that starts from the
// store's current hash of every person or account (ID → hash, loaded once),
// says which rows of each batch need a new version (Plan), and at the end
// which current versions the run did not see (a complete snapshot ends
// them) or which rows it saw (an incomplete snapshot lists them).
//
// A target's session also answers for the engine's baseline, the previous
// good snapshot (Begin): an account whose current version was valid then
// and whose hash is unchanged is as the baseline had it, so the baseline's
// state is read only for what changed since (versions ended after it, and
// the versions a batch replaces), never for every account.
//
// The current hashes a finished snapshot leaves are kept encoded per side
// (Encode, KeepCached), in parts of at most PartSize bytes, which the next
// run reads (Cached) instead of a row per person or account.
package snapdelta

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"iter"
	"math"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/cespare/xxhash/v2"
	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile"
)

// Key names a session: a run's snapshot of HR (SideHR, Target "") or of one
// target (SideTarget).
type Key struct {
	Run    int64
	Side   reconcile.Side
	Target string
}

// Current is what a session knows of one current person or account.
type Current struct {
	Hash uint64
	From int64 // the run its version is valid from
	Seen bool  // saved by the session's run
}

// Currents are the current persons or accounts of a side, by ID, in the
// order they were added. Encode writes them in the order the run saved
// them: a connector that lists its accounts in the same order every run (a
// CSV export, a paged API) finds each one where the previous one ended,
// and Plan hashes an ID only when it is not there.
//
// The IDs are indexed by a table of positions in ids (open addressing,
// linear probing, at most half full): with ids that is 24 to 32 bytes an
// ID, about what a Go map of the strings alone took. An ID's home slot is
// the top bits of its hash, so that a table is built (index) by sorting the
// IDs' hashes and filling the slots in order, not one random slot and ID
// at a time (a 985,000-account target's cached versions took 0.34 s to
// decode so, most of it waiting on memory). A session stores only IDs of
// its own (a connector's ID is sliced from its input line: keeping it
// would keep every line of the input alive until the snapshot ends).
type Currents struct {
	ids  []string // vals[j]'s ID; "" once removed (IDs are never empty)
	vals []Current
	n    int // IDs recorded (removed ones not counted)
	// slots holds positions in ids; empty and removed mark free slots.
	slots []int32
	shift uint // an ID's home slot is its hash >> shift
	used  int  // slots not empty
	seed  maphash.Seed
	next  int // where Plan expects the next ID
}

const (
	emptySlot   = -1
	removedSlot = -2
)

// NewCurrents returns empty Currents with room for n, and for a few more
// besides: the current versions of a day before are read into Currents of
// their number, and a day's new accounts, a handful, would otherwise
// double their slices (80 MB copied across ten targets of 100,000).
func NewCurrents(n int) *Currents {
	c := newCurrents(n)
	_ = c.index(n) // nothing to index: it cannot fail
	return c
}

// newCurrents is NewCurrents without a table: index makes it.
func newCurrents(n int) *Currents {
	room := n + n/32 + 16
	return &Currents{ids: make([]string, 0, room), vals: make([]Current, 0, room), seed: maphash.MakeSeed()}
}

// Add records the current version of id, not seen by the session's run
// (cur.Seen is ignored). It fails, recording nothing, on an empty ID or one
// recorded already.
func (c *Currents) Add(id string, cur Current) error {
	cur.Seen = false
	return c.add(id, cur)
}

func (c *Currents) add(id string, cur Current) error {
	if id == "" {
		return errors.New("an empty ID")
	}
	if 2*(c.used+1) > len(c.slots) {
		if err := c.index(2 * (c.n + 1)); err != nil {
			return err // never: the IDs recorded are each once
		}
	}
	mask := len(c.slots) - 1
	i := c.home(id)
	for ; c.slots[i] != emptySlot; i = (i + 1) & mask {
		if j := c.slots[i]; j >= 0 && c.ids[j] == id {
			return fmt.Errorf("%s is listed twice", id)
		}
	}
	c.slots[i] = int32(len(c.ids))
	c.used++
	c.n++
	c.ids = append(c.ids, id)
	c.vals = append(c.vals, cur)
	return nil
}

// home is id's home slot.
func (c *Currents) home(id string) int { return int(maphash.String(c.seed, id) >> c.shift) }

// index makes a table with room for n IDs and indexes the recorded ones,
// failing on an ID recorded twice. Each ID's position is sorted with the
// top 32 bits of its hash (a radix sort, whose passes each read and write
// in order), and the slots are then filled in that order: the home slots
// come in order, and the IDs that share those 32 bits of their hash (the
// only ones compared) come side by side.
func (c *Currents) index(n int) error {
	bits := uint(4)
	for 1<<bits < 2*n {
		bits++
	}
	c.slots = slices.Repeat([]int32{emptySlot}, 1<<bits)
	c.shift = 64 - bits
	c.used = 0
	keys := make([]uint64, 0, c.n) // hash's top 32 bits, position
	for j, id := range c.ids {
		if id != "" {
			keys = append(keys, maphash.String(c.seed, id)>>32<<32|uint64(j))
		}
	}
	keys = sortHigh32(keys)
	mask := len(c.slots) - 1
	run := 0 // where the keys with key's top 32 bits start
	for k, key := range keys {
		j := int32(uint32(key))
		if key>>32 != keys[run]>>32 {
			run = k
		}
		for _, other := range keys[run:k] {
			if c.ids[j] == c.ids[uint32(other)] {
				return fmt.Errorf("%s is listed twice", c.ids[j])
			}
		}
		i := int(key >> 32 >> (32 - bits))
		for c.slots[i] != emptySlot {
			i = (i + 1) & mask
		}
		c.slots[i] = j
		c.used++
	}
	return nil
}

// sortHigh32 sorts keys by their top 32 bits, keys with the same in the
// order given (three passes of 11 bits, least significant first). It
// returns the sorted keys, in keys or in a slice of its own.
func sortHigh32(keys []uint64) []uint64 {
	if len(keys) < 256 {
		slices.SortStableFunc(keys, func(a, b uint64) int { return cmp.Compare(a>>32, b>>32) })
		return keys
	}
	out := make([]uint64, len(keys))
	for _, shift := range []uint{32, 43, 54} {
		var count [2049]int
		for _, k := range keys {
			count[(k>>shift)&2047+1]++
		}
		for d := range 2048 {
			count[d+1] += count[d]
		}
		for _, k := range keys {
			d := (k >> shift) & 2047
			out[count[d]] = k
			count[d]++
		}
		keys, out = out, keys
	}
	return keys
}

// slot returns the slot of id, or -1.
func (c *Currents) slot(id string) int {
	mask := len(c.slots) - 1
	for i := c.home(id); ; i = (i + 1) & mask {
		switch j := c.slots[i]; {
		case j == emptySlot:
			return -1
		case j >= 0 && c.ids[j] == id:
			return i
		}
	}
}

// lookup returns the position of id.
func (c *Currents) lookup(id string) (int32, bool) {
	if i := c.slot(id); i >= 0 {
		return c.slots[i], true
	}
	return 0, false
}

// find is lookup trying first where the previous ID found ended.
func (c *Currents) find(id string) (int32, bool) {
	if j := c.next; j < len(c.ids) && c.ids[j] == id {
		c.next++
		return int32(j), true
	}
	j, ok := c.lookup(id)
	if ok {
		c.next = int(j) + 1
	}
	return j, ok
}

// remove forgets id.
func (c *Currents) remove(id string) {
	i := c.slot(id)
	if i < 0 {
		return
	}
	j := c.slots[i]
	c.slots[i] = removedSlot
	c.n--
	if int(j) == len(c.ids)-1 { // the last added: its place is reused
		c.ids, c.vals = c.ids[:j], c.vals[:j]
		return
	}
	c.ids[j] = "" // its value is left unreferenced
}

// All yields every current person or account, in the order they were
// added.
func (c *Currents) All() iter.Seq2[string, Current] {
	return func(yield func(string, Current) bool) {
		for j, id := range c.ids {
			if id != "" && !yield(id, c.vals[j]) {
				return
			}
		}
	}
}

// Len is the number of current persons or accounts.
func (c *Currents) Len() int { return c.n }

// Session is one run's snapshot of one side being saved. Lock it around
// Plan and the writes that follow.
type Session struct {
	sync.Mutex
	cur *Currents
	// base is the baseline that Plan gives each account's state in (nil:
	// none).
	base *baseline
	// planned says that Plan ran: a baseline can no longer be set.
	planned bool
	// order holds the positions in cur of the rows the run saved, in the
	// order saved (exactly those seen); mark is its length when the last
	// Plan began.
	order []int32
	mark  int
}

// baseline is a session's baseline: run prev's snapshot of the target.
type baseline struct {
	prev int64
	// all says that states holds every account of prev's snapshot (it is
	// not complete: its members are listed, not implied by the versions).
	// Otherwise states holds the state at prev of the accounts whose
	// version valid at prev has ended since (a later run changed or
	// deleted them); every other account of the snapshot has its current
	// version from prev or before.
	all    bool
	states map[string]reconcile.AccountState
}

// NewSession starts a session from the current hashes.
func NewSession(cur *Currents) *Session { return &Session{cur: cur} }

// Sessions are the snapshots being saved. The zero value is ready.
type Sessions struct {
	mu sync.Mutex
	m  map[Key]*Session
}

// Get returns the session of k, loading the current hashes with load when
// it starts.
func (ss *Sessions) Get(k Key, load func() (*Currents, error)) (*Session, error) {
	ss.mu.Lock()
	sess := ss.m[k]
	if sess == nil {
		sess = &Session{}
		if ss.m == nil {
			ss.m = map[Key]*Session{}
		}
		ss.m[k] = sess
	}
	ss.mu.Unlock()
	sess.Lock()
	defer sess.Unlock()
	if sess.cur == nil {
		cur, err := load()
		if err != nil {
			return nil, err
		}
		sess.cur = cur
	}
	return sess, nil
}

// Take removes and returns the session of k (nil when none started).
func (ss *Sessions) Take(k Key) *Session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	sess := ss.m[k]
	delete(ss.m, k)
	return sess
}

// DropRun forgets the sessions of a run that never finished them.
func (ss *Sessions) DropRun(run int64) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k := range ss.m {
		if k.Run == run {
			delete(ss.m, k)
		}
	}
}

// Change is one version a batch writes: row I of the batch, its hash, and
// the current version it replaces (Had false: none). Base says that the
// version it replaces is the one the baseline has: the writer reads its
// state as it ends it (BaseState) and sets the row's baseline state.
type Change struct {
	ID   string
	I    int
	Hash uint64
	Was  Current
	Had  bool
	Base bool
}

// InKeyOrder returns changes sorted by ID, the order a store writes them
// in: changes itself when it is, else a sorted copy (Plan's order, the
// batch's, is kept for Undo). A batch's versions then go into the key
// index (target, ID, valid_from) one after the other, not at random. A
// first run of 100,000 people x 10 targets whose files list people and
// accounts in random ID order (as a directory lists GUIDs) took 14.0-14.9 s
// instead of 16.9-21.6 (2 pairs), its system time 3.9-4.0 s instead of
// 6.8-7.9: SQLite wrote most of the index's pages into the write-ahead log
// again at every batch. In ID order nothing changes (11.4-12.3 s against
// 11.6-12.0, 3 pairs).
func InKeyOrder(changes []Change) []Change {
	byID := func(a, b Change) int { return strings.Compare(a.ID, b.ID) }
	if slices.IsSortedFunc(changes, byID) {
		return changes
	}
	out := slices.Clone(changes)
	slices.SortFunc(out, byID)
	return out
}

// Plan works out which of a batch's n rows need a new version, marking
// every row seen. It fails, changing nothing, on a row the run saved before
// or one whose current version a later run wrote. When the writes of the
// changes fail, Undo the plan. When prev is not nil, it sets prev[i] to row
// i's state in the session's baseline, but for the changes marked Base.
func (s *Session) Plan(run int64, n int, id func(i int) string, hash func(i int) uint64, prev []reconcile.BaselineState) ([]Change, error) {
	var out []Change
	marked := make([]int32, 0, n)
	s.mark = len(s.order)
	fail := func(err error) ([]Change, error) {
		s.order = s.order[:s.mark]
		s.restore(out)
		for _, j := range marked {
			s.cur.vals[j].Seen = false
		}
		return nil, err
	}
	s.planned = true
	for i := range n {
		key := id(i)
		if key == "" {
			return fail(fmt.Errorf("an empty ID in run %d", run))
		}
		h := hash(i)
		j, ok := s.cur.find(key)
		var c Current
		if ok {
			c = s.cur.vals[j]
		}
		if ok && c.Seen {
			return fail(fmt.Errorf("%s saved twice in run %d", key, run))
		}
		var base bool
		if prev != nil {
			prev[i], base = s.baseState(key, ok, c, h)
		}
		if ok && c.Hash == h {
			s.cur.vals[j].Seen = true
			marked = append(marked, j)
			s.order = append(s.order, j)
			continue
		}
		if ok && c.From >= run {
			return fail(fmt.Errorf("%s: run %d saves after run %d wrote it", key, run, c.From))
		}
		now := Current{Hash: h, From: run, Seen: true}
		if ok {
			s.cur.vals[j] = now
		} else {
			key = strings.Clone(key) // kept: its own memory (see Currents)
			if err := s.cur.add(key, now); err != nil {
				return fail(err)
			}
			j = int32(len(s.cur.ids) - 1)
		}
		s.order = append(s.order, j)
		out = append(out, Change{ID: key, I: i, Hash: h, Was: c, Had: ok, Base: base})
	}
	return out, nil
}

// baseState is the baseline state of an account whose current version is
// c (ok false: none) and whose hash is now h. read says that it is c's
// state, which the caller must read (c is valid at the baseline and the
// account changed since).
func (s *Session) baseState(id string, ok bool, c Current, h uint64) (st reconcile.BaselineState, read bool) {
	b := s.base
	switch {
	case b == nil:
		return st, false
	case b.all:
	case ok && c.From <= b.prev:
		// The current version is the baseline's: the account is as it
		// was then, or changed since and its old state is read as its
		// version ends.
		return reconcile.BaselineState{Found: true, Same: c.Hash == h}, c.Hash != h
	}
	st.State, st.Found = b.states[id]
	return st, false
}

// BaseState reads the state of a version that a change marked Base ends:
// the account's state in the baseline.
func BaseState(enabled, privileged bool, groups string) reconcile.BaselineState {
	return reconcile.BaselineState{Found: true, State: reconcile.AccountState{Enabled: enabled, Privileged: privileged, Groups: groups}}
}

// Undo undoes a Plan of n rows (IDs id(i)) whose changes were not
// written: the changes are restored and the batch's other rows, which Plan
// marked seen, are no longer, so that the batch can be saved again and an
// incomplete snapshot does not list what it never saved.
func (s *Session) Undo(n int, id func(i int) string, changes []Change) {
	s.order = s.order[:s.mark]
	k := 0
	for i := range n {
		if k < len(changes) && changes[k].I == i {
			k++
			continue
		}
		if j, ok := s.cur.lookup(id(i)); ok {
			s.cur.vals[j].Seen = false
		}
	}
	s.restore(changes)
}

// restore undoes Plan's record of changes.
func (s *Session) restore(changes []Change) {
	for _, c := range slices.Backward(changes) { // the rows it added, last first
		if !c.Had {
			s.cur.remove(c.ID)
		} else if j, ok := s.cur.lookup(c.ID); ok {
			s.cur.vals[j] = c.Was
		}
	}
}

// Finish lists what a finished snapshot records: when complete, each
// current version the run did not see (ID and the run it is valid from),
// to end at the run; when not, each ID the run saw (From 0), the members.
func (s *Session) Finish(complete bool) (ids []string, from []int64) {
	if s == nil {
		return nil, nil
	}
	for id, c := range s.cur.All() {
		if c.Seen == complete {
			continue
		}
		ids = append(ids, id)
		if complete {
			from = append(from, c.From)
		} else {
			from = append(from, 0)
		}
	}
	return ids, from
}

// Gone lists the accounts of the session's baseline that the run did not
// save (none when it has no baseline).
func (s *Session) Gone() []string {
	if s == nil || s.base == nil {
		return nil
	}
	var out []string
	if !s.base.all {
		for id, c := range s.cur.All() {
			if !c.Seen && c.From <= s.base.prev {
				out = append(out, id)
			}
		}
	}
	for id := range s.base.states {
		if j, ok := s.cur.lookup(id); !ok || !s.cur.vals[j].Seen {
			out = append(out, id)
		}
	}
	return out
}

// DB is what Begin reads from: a reconcile/store or
// reconcile/pgstore database (queries are written with ? and rebound).
type DB interface {
	sqlx.QueryerContext
	Rebind(query string) string
}

// Begin is reconcile.Store's BeginAccounts for both stores: it starts run
// run's session of target (its current hashes read by load) with run
// prev's snapshot of the target as its baseline (0: none). Of a complete
// snapshot it reads the states of the versions that ended since prev;
// of one that is not complete, every state, with states() (the store's
// AccountStates of prev, whose errors are returned as they are).
func (ss *Sessions) Begin(ctx context.Context, db DB, run, prev int64, target string,
	load func() (*Currents, error), states func() (map[string]reconcile.AccountState, error)) error {
	var b *baseline
	if prev > 0 {
		b = &baseline{prev: prev}
		var complete bool
		err := sqlx.GetContext(ctx, db, &complete, db.Rebind(`SELECT complete FROM snapshots WHERE run_id = ? AND side = 'target' AND target = ?`), prev, target)
		switch {
		case errors.Is(err, sql.ErrNoRows) || (err == nil && !complete):
			// Only a complete snapshot is "every version valid at it".
			b.all = true
			if b.states, err = states(); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("previous accounts of %s: %w", target, err)
		default:
			if b.states, err = endedSince(ctx, db, target, prev); err != nil {
				return fmt.Errorf("previous accounts of %s: %w", target, err)
			}
		}
	}
	sess, err := ss.Get(Key{Run: run, Side: reconcile.SideTarget, Target: target}, load)
	if err != nil {
		return fmt.Errorf("current accounts of %s: %w", target, err)
	}
	sess.Lock()
	defer sess.Unlock()
	if sess.base != nil || sess.planned {
		return fmt.Errorf("accounts of %s in run %d: begun after the run saved some", target, run)
	}
	sess.base = b
	return nil
}

// Accounts is about how many accounts target has: as many as its last
// listing had (0 when never listed). Currents are sized with it: growing a
// map of a hundred thousand entries rehashes it over and over.
func Accounts(ctx context.Context, db DB, target string) (int, error) {
	var n int
	err := sqlx.GetContext(ctx, db, &n, db.Rebind(`SELECT count FROM collections WHERE side = 'target' AND name = ? ORDER BY run_id DESC LIMIT 1`), target)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

// endedSince reads the state at run prev of each account of target whose
// version valid at prev has ended since: few, on a day like most. (The
// target is matched as an expression so that SQLite walks the index of
// ended versions, not every version of the target.)
func endedSince(ctx context.Context, db DB, target string, prev int64) (map[string]reconcile.AccountState, error) {
	rows, err := db.QueryContext(ctx, db.Rebind(`SELECT account_id, enabled, privileged, groups FROM account_versions
		WHERE target || '' = ? AND valid_to > ? AND valid_from <= ?`), target, prev, prev)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]reconcile.AccountState{}
	for rows.Next() {
		var id string
		var st reconcile.AccountState
		if err := rows.Scan(&id, &st.Enabled, &st.Privileged, &st.Groups); err != nil {
			return nil, err
		}
		out[id] = st
	}
	return out, rows.Err()
}

// currentsMagic opens an encoded set of current versions (format 1).
const currentsMagic = "arc1"

// Encode returns the current versions that the session leaves once
// finished (complete: those the run saw, the others end; not complete:
// all of them), for a store to keep beside the versions and read back with
// DecodeCurrents on the next run instead of a row per version: "arc1", the
// count (uint32), each version as the length of its ID (uvarint), the ID,
// its hash (uint64) and the run it is valid from (uvarint), in the order
// the run saved them (kept), then an xxhash of all that (little-endian
// throughout).
func (s *Session) Encode(complete bool) []byte {
	n, size := 0, 0
	for id := range s.kept(complete) {
		n++
		size += len(id) + 2*binary.MaxVarintLen64
	}
	b := BeginFrame(currentsMagic, n, size)
	for id, c := range s.kept(complete) {
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
		b = binary.LittleEndian.AppendUint64(b, c.Hash)
		b = binary.AppendUvarint(b, uint64(c.From))
	}
	return EndFrame(b)
}

// kept yields the current versions Encode writes: those the run saw, in
// the order it saved them, then, when not complete, the others in the
// order Currents keeps.
func (s *Session) kept(complete bool) iter.Seq2[string, Current] {
	return func(yield func(string, Current) bool) {
		for _, j := range s.order {
			if !yield(s.cur.ids[j], s.cur.vals[j]) {
				return
			}
		}
		if complete {
			return
		}
		for id, c := range s.cur.All() {
			if !c.Seen && !yield(id, c) {
				return
			}
		}
	}
}

// The blobs a store keeps beside its rows (the current hashes here, the
// live findings in reconcile/store) are framed alike: a four-byte magic
// naming the format, the count of records (uint32), the records, then an
// xxhash of all that (little-endian).

// BeginFrame starts a frame of n records with room for size bytes of them.
func BeginFrame(magic string, n, size int) []byte {
	b := make([]byte, 0, 16+size)
	b = append(b, magic...)
	return binary.LittleEndian.AppendUint32(b, uint32(n))
}

// EndFrame seals a frame begun by BeginFrame.
func EndFrame(b []byte) []byte { return binary.LittleEndian.AppendUint64(b, xxhash.Sum64(b)) }

// OpenFrame checks a frame of what (named in its errors): its magic, its
// checksum, and that its n records fit at minSize bytes or more each. It
// returns the frame without its checksum: the records start at offset 8.
func OpenFrame(b []byte, magic, what string, minSize int) (body []byte, n int, err error) {
	if len(b) < 16 || string(b[:4]) != magic {
		return nil, 0, fmt.Errorf("%s: not an encoding of them", what)
	}
	body = b[:len(b)-8]
	if xxhash.Sum64(body) != binary.LittleEndian.Uint64(b[len(body):]) {
		return nil, 0, fmt.Errorf("%s: checksum mismatch", what)
	}
	n = int(binary.LittleEndian.Uint32(body[4:8]))
	if n > len(body)/minSize {
		return nil, 0, fmt.Errorf("%s: %d do not fit in %d bytes", what, n, len(body))
	}
	return body, n, nil
}

// DecodeCurrents reads what Encode wrote. It fails on anything else: a
// truncated or altered encoding, an ID twice. The IDs share one copy of
// b (nothing of b is kept): a current set is read as one allocation, not
// one per ID.
func DecodeCurrents(b []byte) (*Currents, error) { return decodeCurrents(b, false) }

// decodeCurrents is DecodeCurrents; with own, the IDs are b's own bytes,
// not a copy (b is the caller's to give: nothing may write to it after).
func decodeCurrents(b []byte, own bool) (*Currents, error) {
	body, n, err := OpenFrame(b, currentsMagic, "current versions", 10) // ID length, ID, hash, run
	if err != nil {
		return nil, err
	}
	ids := unsafe.String(unsafe.SliceData(body), len(body))
	if !own {
		ids = strings.Clone(ids)
	}
	c := newCurrents(n)
	off := 8
	for range n {
		l, k := binary.Uvarint(body[off:])
		if k <= 0 || l > uint64(len(body)-off-k) {
			return nil, fmt.Errorf("current versions: version %d of %d is cut short", len(c.vals)+1, n)
		}
		if l == 0 {
			return nil, fmt.Errorf("current versions: version %d of %d: an empty ID", len(c.vals)+1, n)
		}
		off += k
		id := ids[off : off+int(l)]
		off += int(l)
		if len(body)-off < 8 {
			return nil, fmt.Errorf("current versions: version %d of %d is cut short", len(c.vals)+1, n)
		}
		h := binary.LittleEndian.Uint64(body[off:])
		off += 8
		from, k := binary.Uvarint(body[off:])
		if k <= 0 || from > math.MaxInt64 {
			return nil, fmt.Errorf("current versions: version %d of %d is cut short", len(c.vals)+1, n)
		}
		off += k
		c.ids = append(c.ids, id)
		c.vals = append(c.vals, Current{Hash: h, From: int64(from)})
	}
	c.n = n
	if off != len(body) {
		return nil, fmt.Errorf("current versions: %d bytes after the %d versions", len(body)-off, n)
	}
	if err := c.index(n); err != nil {
		return nil, fmt.Errorf("current versions: %w", err)
	}
	return c, nil
}

// The current versions a finished snapshot leaves are kept encoded (Encode)
// in a store's table current_hashes (side, target, part, body), in parts of
// at most PartSize bytes: the transaction that finishes the snapshot writes
// them (KeepCached), any that writes the side's versions deletes them first
// (DropCached), and the next run reads those rows (Cached) instead of a row
// per version. The versions stay the truth: without rows, or with rows
// that do not decode, a store reads them.

// PartSize is the most bytes of an encoding one row holds (KeepCached,
// WriteParts). SQLite holds a value it reads or writes whole in memory of
// its own, outside Go's limit, and twice while it writes one (the value
// given, and the row made of it): in one row, a million people's live
// findings (66 MB) took up to 108 MiB there at the peak of a run, and a
// target's current versions 22 MB. A part of 256 KiB is 16 pages of 16 KiB.
const PartSize = 256 << 10

// Tx is what DropCached and KeepCached write through: a store's
// transaction (queries are written with ? and rebound).
type Tx interface {
	sqlx.ExecerContext
	Rebind(query string) string
}

// Cached returns the current versions kept for side and target (ok false:
// none kept, or parts that do not decode). Their IDs are the buffer the
// parts were read into, not a copy of it (22 MB a target at a million
// people).
func Cached(ctx context.Context, db DB, side reconcile.Side, target string) (cur *Currents, ok bool, err error) {
	body, ok, err := ReadParts(ctx, db, `current_hashes WHERE side = ? AND target = ?`, string(side), target)
	if err != nil || !ok {
		return nil, false, err
	}
	cur, err = decodeCurrents(body, true)
	if err != nil {
		return nil, false, nil
	}
	return cur, true, nil
}

// ReadParts reads an encoding kept in parts (WriteParts) by the rows of
// from, a table and its condition (written with ?, args its arguments;
// the table has columns part and body): their total size and number
// first, then the parts in order into one buffer of that size, each part
// from the driver's own memory (RawBytes). ok is false when there is no
// part, or the parts read are not those the first query counted (a save
// between the two): the caller reads the truth then, as when the parts do
// not decode.
func ReadParts(ctx context.Context, db DB, from string, args ...any) (enc []byte, ok bool, err error) {
	var total, n int64
	if err := db.QueryRowxContext(ctx, db.Rebind(`SELECT coalesce(sum(length(body)), 0), count(*) FROM `+from), args...).Scan(&total, &n); err != nil {
		return nil, false, err
	}
	if n == 0 {
		return nil, false, nil
	}
	rows, err := db.QueryContext(ctx, db.Rebind(`SELECT body FROM `+from+` ORDER BY part`), args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	enc = make([]byte, 0, total)
	for rows.Next() {
		n--
		var part sql.RawBytes
		if err := rows.Scan(&part); err != nil {
			return nil, false, err
		}
		if len(part) > cap(enc)-len(enc) {
			return nil, false, rows.Close()
		}
		enc = append(enc, part...)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	return enc, n == 0 && len(enc) == cap(enc), rows.Close()
}

// WriteParts inserts enc in parts of at most PartSize bytes (PartWriter).
func WriteParts(ctx context.Context, tx Tx, insert string, enc []byte, cols ...any) error {
	w := NewPartWriter(ctx, tx, insert, cols...)
	w.Write(enc)
	return w.Close()
}

// PartWriter writes an encoding in parts of PartSize bytes as it is made:
// each part's row is insert (a statement written with ?) given cols, then
// the part's number (from 0), then its bytes; Close writes the last (the
// only one, empty, for nothing written).
type PartWriter struct {
	ctx    context.Context
	tx     Tx
	insert string
	args   []any
	buf    []byte
	part   int
	err    error
}

// NewPartWriter returns a PartWriter of rows insert, given cols.
func NewPartWriter(ctx context.Context, tx Tx, insert string, cols ...any) *PartWriter {
	return &PartWriter{ctx: ctx, tx: tx, insert: tx.Rebind(insert), args: append(slices.Clip(cols), 0, nil)}
}

// Write adds p to the encoding, and writes each part it fills. An error
// is the first write's that failed.
func (w *PartWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && w.err == nil {
		if w.buf == nil {
			w.buf = make([]byte, 0, min(PartSize, len(p)))
		}
		k := min(len(p), PartSize-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		if len(w.buf) == PartSize {
			w.flush()
		}
	}
	if w.err != nil {
		return 0, w.err
	}
	return n, nil
}

func (w *PartWriter) flush() {
	w.args[len(w.args)-2], w.args[len(w.args)-1] = w.part, w.buf
	_, w.err = w.tx.ExecContext(w.ctx, w.insert, w.args...)
	w.part++
	w.buf = w.buf[:0]
}

// Close writes the last part (none after a full one, unless it is the
// first), and returns the first error.
func (w *PartWriter) Close() error {
	if w.err == nil && (len(w.buf) > 0 || w.part == 0) {
		if w.buf == nil {
			w.buf = []byte{}
		}
		w.flush()
	}
	return w.err
}

// DropCached deletes the current versions kept for side and target: tx
// writes their versions.
func DropCached(ctx context.Context, tx Tx, side reconcile.Side, target string) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM current_hashes WHERE side = ? AND target = ?`), string(side), target)
	return err
}

// KeepCached keeps enc as the current versions of side and target, in
// place of any kept before: tx finishes their snapshot.
func KeepCached(ctx context.Context, tx Tx, side reconcile.Side, target string, enc []byte) error {
	if err := DropCached(ctx, tx, side, target); err != nil {
		return err
	}
	return WriteParts(ctx, tx, `INSERT INTO current_hashes (side, target, part, body) VALUES (?, ?, ?, ?)`, enc, string(side), target)
}
