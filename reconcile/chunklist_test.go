package reconcile

import (
	"fmt"
	"testing"
)

// All yields every finding in the order added, across chunks, each where
// it was added (a change made through it stays).
func TestFindingListAll(t *testing.T) {
	var l findingList
	n := 2*chunkSize + 5
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
	for i := range n {
		if f := l.at(i); f.AccountID != fmt.Sprint(i) || f.Reason != "seen" {
			t.Fatalf("at(%d) is %s (%q): not the finding added, or the change made through All is lost", i, f.AccountID, f.Reason)
		}
	}
}
