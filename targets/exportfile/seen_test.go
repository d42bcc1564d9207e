package exportfile

import (
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestSeen(t *testing.T) {
	var s Seen
	for i, id := range []string{"u1", "U1", "u2", ""} {
		if first, dup := s.Add(id, i+2); dup {
			t.Fatalf("%q: duplicate of line %d", id, first)
		}
	}
	if first, dup := s.Add("U1", 9); !dup || first != 3 {
		t.Errorf("U1 again: %d, %v; want line 3", first, dup)
	}
	if first, dup := s.Add("", 10); !dup || first != 5 {
		t.Errorf("empty again: %d, %v; want line 5", first, dup)
	}
	if s.Len() != 4 {
		t.Errorf("Len = %d, want 4", s.Len())
	}
}

func TestSeenFold(t *testing.T) {
	s := NewSeenFold()
	s.Reserve(100)
	for i, id := range []string{"E1", "Émile", "e2"} {
		if first, dup := s.Add(id, i+2); dup {
			t.Fatalf("%q: duplicate of line %d", id, first)
		}
	}
	for _, c := range []struct {
		id    string
		first int
	}{{"e1", 2}, {"ÉMILE", 3}, {"émile", 3}, {"E2", 4}} {
		if first, dup := s.Add(c.id, 7); !dup || first != c.first {
			t.Errorf("%q: %d, %v; want line %d", c.id, first, dup, c.first)
		}
	}
	if first, dup := s.Add("e3", 8); dup {
		t.Errorf("e3: duplicate of line %d", first)
	}
}

// A folding Seen tells IDs apart exactly as strings.ToLower does, whatever
// byte they hold: its quick path for ASCII folds what strings.ToLower
// folds (the letters at the ends of the alphabet, and the bytes beside
// them, included), and leaves every other byte to it.
func TestSeenFoldEveryByte(t *testing.T) {
	s := NewSeenFold()
	first := map[string]int{} // by the ToLower form
	line := 0
	for c := range 256 {
		for _, id := range []string{"x" + string([]byte{byte(c)}) + "Y", "X" + strings.ToLower(string([]byte{byte(c)})) + "y"} {
			line++
			want, wantDup := first[strings.ToLower(id)]
			if !wantDup {
				first[strings.ToLower(id)] = line
			}
			if got, dup := s.Add(id, line); dup != wantDup || got != want {
				t.Errorf("%q: %d, %v; strings.ToLower says %d, %v", id, got, dup, want, wantDup)
			}
		}
	}
}

// Two IDs with the same hash stay two IDs, each with its own first line.
func TestSeenCollision(t *testing.T) {
	var s Seen
	s.Add("z", 1)
	s.Add("a", 2) // not after z: the IDs are in the map from here on
	// Make "b" collide with "a": its hash now names a's bytes.
	s.byHash[maphash.String(s.seed, "b")] = s.byHash[maphash.String(s.seed, "a")]
	if first, dup := s.Add("b", 3); dup {
		t.Fatalf("b: duplicate of line %d", first)
	}
	if first, dup := s.Add("b", 4); !dup || first != 3 {
		t.Errorf("b again: %d, %v; want line 3", first, dup)
	}
	if first, dup := s.Add("a", 5); !dup || first != 2 {
		t.Errorf("a again: %d, %v; want line 2", first, dup)
	}
}

// Reserve keeps what was added, and makes room for the IDs' bytes: as
// many more IDs as it was told of, as long as those so far, go into the
// buffer it made.
func TestSeenReserve(t *testing.T) {
	var s Seen
	s.Add("x", 2)
	s.Reserve(1000)
	if first, dup := s.Add("x", 3); !dup || first != 2 {
		t.Errorf("x after Reserve: %d, %v; want line 2", first, dup)
	}
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("id-%06d", i)
	}
	var o Seen
	o.Add(ids[0], 1)
	o.Reserve(len(ids))
	buf := &o.buf[0]
	for i, id := range ids[1:] {
		o.Add(id, i+2)
	}
	if &o.buf[0] != buf {
		t.Errorf("the IDs' bytes moved while adding the %d IDs Reserve made room for", len(ids))
	}
}

// IDs added in order that collide when they go into the map (the first
// ID out of order) stay apart too.
func TestSeenCollisionOnUnorder(t *testing.T) {
	var s Seen
	s.Add("a", 2)
	s.Add("b", 3)
	s.init(0)
	s.byHash[maphash.String(s.seed, "b")] = s.ordered[0] // b's hash names a's bytes
	if first, dup := s.Add("0", 4); dup {
		t.Fatalf("0: duplicate of line %d", first)
	}
	for _, c := range []struct {
		id   string
		line int
	}{{"b", 3}, {"a", 2}, {"0", 4}} {
		if first, dup := s.Add(c.id, 9); !dup || first != c.line {
			t.Errorf("%s again: %d, %v; want line %d", c.id, first, dup, c.line)
		}
	}
}

// Add agrees with a map of every ID to its first line, on exports in ID
// order, in order with a repeat, in order then not, and in no order, IDs
// exact or folded, with Reserve at any point.
func TestSeenAsAMap(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for round := range 400 {
		n := 1 + r.IntN(300)
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("ID-%05d", i*3)
		}
		switch round % 4 {
		case 1: // in order, one repeat somewhere
			k := r.IntN(n)
			ids = slices.Insert(ids, k+r.IntN(n-k)+1, ids[k])
		case 2: // in order, then shuffled from some point, some repeats
			k := r.IntN(n)
			r.Shuffle(n-k, func(i, j int) { ids[k+i], ids[k+j] = ids[k+j], ids[k+i] })
			for range r.IntN(4) {
				ids = append(ids, ids[r.IntN(len(ids))])
			}
		case 3: // no order, case differences
			r.Shuffle(n, func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
			for range r.IntN(4) {
				ids = append(ids, strings.ToLower(ids[r.IntN(len(ids))]))
			}
		}
		fold := round%2 == 1
		s := &Seen{}
		if fold {
			s = NewSeenFold()
		}
		want := map[string]int{}
		reserveAt := r.IntN(len(ids) + 1)
		for i, id := range ids {
			if i == reserveAt {
				s.Reserve(len(ids))
			}
			key := id
			if fold {
				key = strings.ToLower(id)
			}
			first, dup := s.Add(id, i+2)
			w, seen := want[key]
			if dup != seen || (dup && first != w) {
				t.Fatalf("round %d (fold %v), %q on line %d: %d, %v; want %d, %v", round, fold, id, i+2, first, dup, w, seen)
			}
			if !seen {
				want[key] = i + 2
			}
		}
		if s.Len() != len(want) {
			t.Fatalf("round %d: Len %d, want %d", round, s.Len(), len(want))
		}
	}
}
