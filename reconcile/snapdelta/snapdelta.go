// Package snapdelta is the bookkeeping that reconcile/store (SQLite) and
// reconcile/pgstore (PostgreSQL) share to save snapshots as deltas: a run's
// saves of one side (HR, or one target) form a Session that starts from the
// store's current hash of every person or account (ID → hash, loaded once),
// says which rows of each batch need a new version (Plan), and at the end
// which current versions the run did not see (a complete snapshot ends
// them) or which rows it saw (an incomplete snapshot lists them).
// Baseline starts a target's session in the same read as the engine's
// baseline (the previous complete snapshot).
package snapdelta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

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

// Currents are the current persons or accounts of a side, by ID. A
// session updates them in place, never storing under a key the map has:
// Go's map would take the key it is given, and a connector's ID is sliced
// from its input line (storing it would keep every line of the input alive
// until the snapshot ends).
type Currents struct {
	idx  map[string]int32 // ID -> index in vals
	vals []Current
}

// NewCurrents returns empty Currents with room for n.
func NewCurrents(n int) *Currents {
	return &Currents{idx: make(map[string]int32, n), vals: make([]Current, 0, n)}
}

// Add records the current version of id, which must not be recorded yet.
func (c *Currents) Add(id string, cur Current) {
	c.idx[id] = int32(len(c.vals))
	c.vals = append(c.vals, cur)
}

// Session is one run's snapshot of one side being saved. Lock it around
// Plan and the writes that follow.
type Session struct {
	sync.Mutex
	cur *Currents
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
	marked := make([]int32, 0, n)
	fail := func(err error) ([]Change, error) {
		s.Restore(out)
		for _, j := range marked {
			s.cur.vals[j].Seen = false
		}
		return nil, err
	}
	for i := range n {
		key := id(i)
		h := hash(i)
		j, ok := s.cur.idx[key]
		var c Current
		if ok {
			c = s.cur.vals[j]
		}
		if ok && c.Seen {
			return fail(fmt.Errorf("%s saved twice in run %d", key, run))
		}
		if ok && c.Hash == h {
			s.cur.vals[j].Seen = true
			marked = append(marked, j)
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
			s.cur.Add(key, now)
		}
		out = append(out, Change{ID: key, I: i, Hash: h, Was: c, Had: ok})
	}
	return out, nil
}

// Restore undoes Plan's record of changes whose writes failed.
func (s *Session) Restore(changes []Change) {
	for _, c := range changes {
		if c.Had {
			s.cur.vals[s.cur.idx[c.ID]] = c.Was
		} else {
			delete(s.cur.idx, c.ID) // its value is left unreferenced
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
	for id, j := range s.cur.idx {
		c := s.cur.vals[j]
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

// DB is what Baseline reads from: a reconcile/store or
// reconcile/pgstore database (queries are written with ? and rebound).
type DB interface {
	sqlx.QueryerContext
	Rebind(query string) string
}

// Baseline is reconcile.Store's BaselineAccounts for both stores: the
// state of every account of target in run prev's snapshot, read in the
// same pass as the current hashes that start run's session of target
// (loadBaseline). When prev's snapshot is not complete, or the session had
// already begun, it is states(), the store's AccountStates of prev (whose
// errors are returned as they are).
func (ss *Sessions) Baseline(ctx context.Context, db DB, run, prev int64, target string,
	states func() (map[string]reconcile.AccountState, error)) (map[string]reconcile.AccountState, error) {
	var complete bool
	err := sqlx.GetContext(ctx, db, &complete, db.Rebind(`SELECT complete FROM snapshots WHERE run_id = ? AND side = 'target' AND target = ?`), prev, target)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !complete) {
		// Only a complete snapshot is "every version valid at it".
		return states()
	}
	if err != nil {
		return nil, fmt.Errorf("previous accounts of %s: %w", target, err)
	}
	var base map[string]reconcile.AccountState
	k := Key{Run: run, Side: reconcile.SideTarget, Target: target}
	if _, err := ss.Get(k, func() (cur *Currents, err error) {
		cur, base, err = loadBaseline(ctx, db, target, prev)
		return cur, err
	}); err != nil {
		return nil, fmt.Errorf("previous accounts of %s: %w", target, err)
	}
	if base == nil { // the session had begun: its hashes were read before
		return states()
	}
	return base, nil
}

// loadBaseline reads, in one query over a target's account versions, the
// current hash of every account (a session's start) and the state of
// every version valid at run prev, which must be a complete snapshot: a
// version current since prev or before is in both.
func loadBaseline(ctx context.Context, db DB, target string, prev int64) (cur *Currents, base map[string]reconcile.AccountState, err error) {
	// Sized up front (growing maps of a hundred thousand entries rehashes
	// them over and over): the previous run's count of the target's
	// accounts is near enough.
	var n int
	if err := sqlx.GetContext(ctx, db, &n, db.Rebind(`SELECT count FROM collections WHERE run_id = ? AND side = 'target' AND name = ?`), prev, target); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, nil, err
	}
	rows, err := db.QueryContext(ctx, db.Rebind(`SELECT account_id, hash, valid_from, valid_to IS NULL, enabled, privileged, groups
		FROM account_versions WHERE target = ? AND (valid_to IS NULL OR (valid_from <= ? AND valid_to > ?))`), target, prev, prev)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	cur, base = NewCurrents(n), make(map[string]reconcile.AccountState, n)
	// Accounts share few distinct group lists (those of a role): each is
	// kept once, not once per account (up to maxInterned lists: a target
	// whose every account has its own is not indexed all over again).
	const maxInterned = 4096
	groups := map[string]string{}
	var raw sql.RawBytes
	for rows.Next() {
		var id string
		var h, from int64
		var current bool
		var st reconcile.AccountState
		if err := rows.Scan(&id, &h, &from, &current, &st.Enabled, &st.Privileged, &raw); err != nil {
			return nil, nil, err
		}
		if current {
			cur.Add(id, Current{Hash: uint64(h), From: from})
		}
		if from <= prev {
			var ok bool
			if st.Groups, ok = groups[string(raw)]; !ok {
				st.Groups = string(raw)
				if len(groups) < maxInterned {
					groups[st.Groups] = st.Groups
				}
			}
			base[id] = st
		}
	}
	return cur, base, rows.Err()
}
