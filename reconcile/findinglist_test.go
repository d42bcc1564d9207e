package reconcile

import (
	"fmt"
	"testing"
)

// Drain yields every finding in order, letting go of each chunk before
// the next is yielded, and leaves the list empty.
func TestFindingListDrain(t *testing.T) {
	var l findingList
	n := 2*findingChunk + 5
	for i := range n {
		l.add(Finding{AccountID: fmt.Sprint(i)})
	}
	i := 0
	for f := range l.Drain() {
		if f.AccountID != fmt.Sprint(i) {
			t.Fatalf("finding %d is %s", i, f.AccountID)
		}
		if k := i / findingChunk; k > 0 && l.chunks[k-1] != nil {
			t.Fatalf("finding %d yielded while chunk %d is still held", i, k-1)
		}
		i++
	}
	if i != n || l.Len() != 0 || l.chunks != nil {
		t.Errorf("drained %d of %d; the list has %d left", i, n, l.Len())
	}
}
