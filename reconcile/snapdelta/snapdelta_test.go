package snapdelta

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

// A session outlives the batches it plans: the IDs it keeps must not be
// the caller's strings, which a connector slices from its input lines (a
// kept ID would keep its whole line alive until the snapshot ends).
func TestPlanKeepsNoCallersID(t *testing.T) {
	line := "a1,x,y,z," + strings.Repeat("-", 200) + ",a2,a3"
	ids := []string{line[0:2], line[len(line)-5 : len(line)-3], line[len(line)-2:]}
	// a1 is unchanged, a2 changed, a3 new.
	// More than a small map holds: the runtime's table maps replace the
	// key they hold by the one a store under it gives.
	cur := NewCurrents(0)
	cur.Add("a1", Current{Hash: 1, From: 1})
	cur.Add("a2", Current{Hash: 2, From: 1})
	for i := range 20 {
		cur.Add(fmt.Sprint("other", i), Current{Hash: 7, From: 1, Seen: true})
	}
	s := NewSession(cur)
	hashes := []uint64{1, 9, 3}
	changes, err := s.Plan(2, len(ids), func(i int) string { return ids[i] }, func(i int) uint64 { return hashes[i] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || changes[0].ID != "a2" || changes[1].ID != "a3" {
		t.Fatalf("changes %+v, want a2 (changed) and a3 (new)", changes)
	}
	lo := uintptr(unsafe.Pointer(unsafe.StringData(line)))
	hi := lo + uintptr(len(line))
	for id, j := range s.cur.idx {
		if c := s.cur.vals[j]; !c.Seen {
			t.Errorf("%s not marked seen", id)
		}
		if p := uintptr(unsafe.Pointer(unsafe.StringData(id))); p >= lo && p < hi {
			t.Errorf("the session keeps ID %q in the caller's line", id)
		}
	}
}

// A batch that fails changes nothing: what it marked seen is unmarked,
// what it added is gone, and what it replaced is back.
func TestPlanFailsWhole(t *testing.T) {
	cur := NewCurrents(0)
	cur.Add("a1", Current{Hash: 1, From: 1})
	cur.Add("a2", Current{Hash: 2, From: 1})
	s := NewSession(cur)
	ids := []string{"a1", "a2", "a3", "a1"} // a1 twice: the batch fails
	hashes := []uint64{1, 9, 3, 1}
	if _, err := s.Plan(2, len(ids), func(i int) string { return ids[i] }, func(i int) uint64 { return hashes[i] }, nil); err == nil {
		t.Fatal("a batch with a1 twice was planned")
	}
	ended, from := s.Finish(true)
	got := map[string]int64{}
	for i, id := range ended {
		got[id] = from[i]
	}
	if len(got) != 2 || got["a1"] != 1 || got["a2"] != 1 {
		t.Fatalf("after the failed batch a complete snapshot would end %v, want a1 and a2 as they were (from run 1)", got)
	}
	// The same batch without the repeat is planned as if the first never was.
	changes, err := s.Plan(2, 3, func(i int) string { return ids[i] }, func(i int) uint64 { return hashes[i] }, nil)
	if err != nil || len(changes) != 2 || changes[0].ID != "a2" || changes[0].Was.Hash != 2 || changes[1].ID != "a3" || changes[1].Had {
		t.Fatalf("changes %+v, %v: want a2 (was hash 2) and a3 (new)", changes, err)
	}
	if ended, _ := s.Finish(true); len(ended) != 0 {
		t.Fatalf("every account seen, yet %v would end", ended)
	}
}
