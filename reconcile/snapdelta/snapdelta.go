// Package snapdelta is the bookkeeping that reconcile/store (SQLite) and
// reconcile/pgstore (PostgreSQL) share to save snapshots as deltas: a run's
// saves of one side (HR, or one target) form a Session that starts from the
// store's current hash of every person or account (ID → hash, loaded once),
// says which rows of each batch need a new version (Plan), and at the end
// which current versions the run did not see (a complete snapshot ends
// them) or which rows it saw (an incomplete snapshot lists them).
package snapdelta

import (
	"fmt"
	"sync"

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

// Session is one run's snapshot of one side being saved. Lock it around
// Plan and the writes that follow.
type Session struct {
	sync.Mutex
	cur map[string]Current
}

// NewSession starts a session from the current hashes.
func NewSession(cur map[string]Current) *Session { return &Session{cur: cur} }

// Sessions are the snapshots being saved. The zero value is ready.
type Sessions struct {
	mu sync.Mutex
	m  map[Key]*Session
}

// Get returns the session of k, loading the current hashes with load when
// it starts.
func (ss *Sessions) Get(k Key, load func() (map[string]Current, error)) (*Session, error) {
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
// the current version it replaces (Had false: none).
type Change struct {
	ID   string
	I    int
	Hash uint64
	Was  Current
	Had  bool
}

// Plan works out which of a batch's n rows need a new version, marking
// every row seen. It fails, changing nothing, on a row the run saved before
// or one whose current version a later run wrote. When the writes of the
// changes fail, Restore them.
func (s *Session) Plan(run int64, n int, id func(i int) string, hash func(i int) uint64) ([]Change, error) {
	var out []Change
	marked := make([]string, 0, n)
	fail := func(err error) ([]Change, error) {
		s.Restore(out)
		for _, id := range marked {
			c := s.cur[id]
			c.Seen = false
			s.cur[id] = c
		}
		return nil, err
	}
	for i := range n {
		key := id(i)
		h := hash(i)
		c, ok := s.cur[key]
		if ok && c.Seen {
			return fail(fmt.Errorf("%s saved twice in run %d", key, run))
		}
		if ok && c.Hash == h {
			c.Seen = true
			s.cur[key] = c
			marked = append(marked, key)
			continue
		}
		if ok && c.From >= run {
			return fail(fmt.Errorf("%s: run %d saves after run %d wrote it", key, run, c.From))
		}
		out = append(out, Change{ID: key, I: i, Hash: h, Was: c, Had: ok})
		s.cur[key] = Current{Hash: h, From: run, Seen: true}
	}
	return out, nil
}

// Restore undoes Plan's record of changes whose writes failed.
func (s *Session) Restore(changes []Change) {
	for _, c := range changes {
		if c.Had {
			s.cur[c.ID] = c.Was
		} else {
			delete(s.cur, c.ID)
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
	for id, c := range s.cur {
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
