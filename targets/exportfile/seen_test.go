package exportfile

import (
	"hash/maphash"
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

// Two IDs with the same hash stay two IDs, each with its own first line.
func TestSeenCollision(t *testing.T) {
	var s Seen
	s.Add("a", 2)
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

// Reserve keeps what was added.
func TestSeenReserve(t *testing.T) {
	var s Seen
	s.Add("x", 2)
	s.Reserve(1000)
	if first, dup := s.Add("x", 3); !dup || first != 2 {
		t.Errorf("x after Reserve: %d, %v; want line 2", first, dup)
	}
}
