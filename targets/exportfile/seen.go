package exportfile

import (
	"hash/maphash"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// Seen remembers the line on which each ID of an export first appeared, to
// reject duplicates. It is built for files of millions of lines: an ID costs
// its bytes in one shared buffer and one entry in a map keyed by a 64-bit
// hash (no string, no allocation per ID, nothing for the garbage collector
// to scan), and IDs whose hashes collide are still told apart exactly.
//
// The zero Seen compares IDs exactly; a Seen from NewSeenFold compares them
// after strings.ToLower.
//
// An export listed in ID order (most are) costs less: while each ID sorts
// after the one before, none can repeat an earlier one, so the IDs are
// only appended (ordered), and the map is made from them the first time an
// ID does not sort after the last; every later ID goes through the map.
type Seen struct {
	fold     bool
	seed     maphash.Seed
	byHash   map[uint64]seenEntry
	buf      []byte         // the (folded) IDs, one after another
	collided map[string]int // IDs whose hash is another ID's: ID -> line
	scratch  []byte         // the folded form of the ID being added
	// ordered holds the IDs added while each sorted after the one before
	// (all of them until unordered is set); byHash is made from them then.
	ordered   []seenEntry
	unordered bool
	hint      int // Reserve's
}

type seenEntry struct {
	off  int
	n    uint32
	line uint32
}

// NewSeenFold returns a Seen that compares IDs case-insensitively (by
// strings.ToLower).
func NewSeenFold() *Seen { return &Seen{fold: true} }

func (s *Seen) init(hint int) {
	if s.byHash == nil {
		s.seed = maphash.MakeSeed()
		s.byHash = make(map[uint64]seenEntry, hint)
	}
}

// Reserve makes room for about n IDs in all, so that the set does not
// grow step by step; it may be called at any time.
func (s *Seen) Reserve(n int) {
	s.hint = max(s.hint, n)
	// The IDs' bytes too, at the length of those so far: appended one by
	// one, a buffer of a million IDs is copied over and over as it grows
	// (five times its size allocated in all).
	if have := s.Len(); have > 0 && n > have {
		s.buf = slices.Grow(s.buf, (n-have)*(len(s.buf)/have+1))
	}
	if !s.unordered {
		if n > cap(s.ordered) {
			s.ordered = slices.Grow(s.ordered, n-len(s.ordered))
		}
		return
	}
	s.init(n)
	if n <= len(s.byHash) {
		return
	}
	m := make(map[uint64]seenEntry, n)
	for h, e := range s.byHash {
		m[h] = e
	}
	s.byHash = m
}

// Len is the number of distinct IDs added.
func (s *Seen) Len() int { return len(s.ordered) + len(s.byHash) + len(s.collided) }

// Add records id as seen on line, unless it was seen before: then it
// returns the line it was first seen on and true, and records nothing.
func (s *Seen) Add(id string, line int) (first int, dup bool) {
	if s.fold {
		if k, ok := s.foldASCII(id); ok {
			return add(s, k, line)
		}
		id = strings.ToLower(id)
	}
	return add(s, id, line)
}

func add[K string | []byte](s *Seen, key K, line int) (int, bool) {
	fits := uint64(len(key)) <= math.MaxUint32 && uint64(line) <= math.MaxUint32
	if !s.unordered {
		n := len(s.ordered)
		if fits && (n == 0 || string(key) > string(s.key(s.ordered[n-1]))) {
			s.ordered = append(s.ordered, seenEntry{off: len(s.buf), n: uint32(len(key)), line: uint32(line)})
			s.buf = append(s.buf, key...)
			return 0, false
		}
		s.unorder()
	}
	h := hashOf(s.seed, key)
	if e, ok := s.byHash[h]; ok && string(s.key(e)) == string(key) {
		return int(e.line), true
	} else if !ok && fits {
		s.byHash[h] = seenEntry{off: len(s.buf), n: uint32(len(key)), line: uint32(line)}
		s.buf = append(s.buf, key...)
		return 0, false
	}
	// Another ID has this hash (or the line is past 4 billion).
	if first, ok := s.collided[string(key)]; ok {
		return first, true
	}
	s.collide(string(key), line)
	return 0, false
}

// key is the ID of entry e.
func (s *Seen) key(e seenEntry) []byte { return s.buf[e.off : e.off+int(e.n)] }

// hashOf is key's hash under seed.
func hashOf[K string | []byte](seed maphash.Seed, key K) uint64 {
	if b, ok := any(key).([]byte); ok {
		return maphash.Bytes(seed, b)
	}
	return maphash.String(seed, string(key))
}

// collide records key, whose hash another ID has, as seen on line.
func (s *Seen) collide(key string, line int) {
	if s.collided == nil {
		s.collided = map[string]int{}
	}
	s.collided[strings.Clone(key)] = line // not key: it may pin a whole CSV line
}

// unorder puts the ordered IDs in the map, from which every later ID is
// looked up. They are all distinct: only a hash can repeat.
func (s *Seen) unorder() {
	s.unordered = true
	s.init(max(s.hint, len(s.ordered)))
	for _, e := range s.ordered {
		h := maphash.Bytes(s.seed, s.key(e))
		if _, ok := s.byHash[h]; ok {
			s.collide(string(s.key(e)), int(e.line))
			continue
		}
		s.byHash[h] = e
	}
	s.ordered = nil
}

// foldASCII is strings.ToLower(id) for an ASCII id, in a buffer valid until
// the next call; false when id is not ASCII.
func (s *Seen) foldASCII(id string) ([]byte, bool) {
	s.scratch = s.scratch[:0]
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c >= utf8.RuneSelf {
			return nil, false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		s.scratch = append(s.scratch, c)
	}
	return s.scratch, true
}
