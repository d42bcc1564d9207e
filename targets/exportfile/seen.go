package exportfile

import (
	"hash/maphash"
	"math"
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
type Seen struct {
	fold     bool
	seed     maphash.Seed
	byHash   map[uint64]seenEntry
	buf      []byte         // the (folded) IDs, one after another
	collided map[string]int // IDs whose hash is another ID's: ID -> line
	scratch  []byte         // the folded form of the ID being added
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
func (s *Seen) Len() int { return len(s.byHash) + len(s.collided) }

// Add records id as seen on line, unless it was seen before: then it
// returns the line it was first seen on and true, and records nothing.
func (s *Seen) Add(id string, line int) (first int, dup bool) {
	s.init(0)
	if s.fold {
		if k, ok := s.foldASCII(id); ok {
			return add(s, maphash.Bytes(s.seed, k), k, line)
		}
		id = strings.ToLower(id)
	}
	return add(s, maphash.String(s.seed, id), id, line)
}

func add[K string | []byte](s *Seen, h uint64, key K, line int) (int, bool) {
	if e, ok := s.byHash[h]; ok && string(s.buf[e.off:e.off+int(e.n)]) == string(key) {
		return int(e.line), true
	} else if !ok && uint64(len(key)) <= math.MaxUint32 && uint64(line) <= math.MaxUint32 {
		s.byHash[h] = seenEntry{off: len(s.buf), n: uint32(len(key)), line: uint32(line)}
		s.buf = append(s.buf, key...)
		return 0, false
	}
	// Another ID has this hash (or the line is past 4 billion).
	if first, ok := s.collided[string(key)]; ok {
		return first, true
	}
	if s.collided == nil {
		s.collided = map[string]int{}
	}
	s.collided[strings.Clone(string(key))] = line // not key: it may pin a whole CSV line
	return 0, false
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
