package reconcile

import (
	"fmt"
	"testing"
)

// All yields every finding in the order added, across chunks, each where
// it was added (a change made through it stays).
func TestFindingListAll(t *testing.T) {
	var l findingList
	n := 2*findingChunk + 5
	for i := range n {
		l.add(Finding{AccountID: fmt.Sprint(i)})
	}
	i := 0
	for f := range l.All() {
		if f.AccountID != fmt.Sprint(i) {
			t.Fatalf("finding %d is %s", i, f.AccountID)
		}
		f.Reason = "seen"
		i++
	}
	if i != n || l.Len() != n {
		t.Errorf("yielded %d of %d; Len %d", i, n, l.Len())
	}
	for f := range l.All() {
		if f.Reason != "seen" {
			t.Fatalf("finding %s: the change made through All is lost", f.AccountID)
		}
	}
}
