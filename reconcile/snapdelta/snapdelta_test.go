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
	// key they hold by the one a store gives.
	cur := map[string]Current{"a1": {Hash: 1, From: 1}, "a2": {Hash: 2, From: 1}}
	for i := range 20 {
		cur[fmt.Sprint("other", i)] = Current{Hash: 7, From: 1, Seen: true}
	}
	s := NewSession(cur)
	hashes := []uint64{1, 9, 3}
	changes, err := s.Plan(2, len(ids), func(i int) string { return ids[i] }, func(i int) uint64 { return hashes[i] })
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || changes[0].ID != "a2" || changes[1].ID != "a3" {
		t.Fatalf("changes %+v, want a2 (changed) and a3 (new)", changes)
	}
	lo := uintptr(unsafe.Pointer(unsafe.StringData(line)))
	hi := lo + uintptr(len(line))
	for id, c := range s.cur {
		if !c.Seen {
			t.Errorf("%s not marked seen", id)
		}
		if p := uintptr(unsafe.Pointer(unsafe.StringData(id))); p >= lo && p < hi {
			t.Errorf("the session keeps ID %q in the caller's line", id)
		}
	}
}
