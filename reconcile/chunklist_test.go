package reconcile

import (
	"fmt"
	"testing"
)

// A chunkList keeps every item in the order added, across chunks, each
// where it was added: a pointer to one never moves, a change made through
// All stays, and at(i) is the i-th added.
func TestChunkList(t *testing.T) {
	var l chunkList[Finding]
	n := 2*chunkSize + 5
	var first *Finding
	for i := range n {
		l.add(Finding{AccountID: fmt.Sprint(i)})
		if i == 0 {
			first = l.at(0)
		}
	}
	l.add() // nothing
	i := 0
	for f := range l.All() {
		if f.AccountID != fmt.Sprint(i) {
			t.Fatalf("finding %d is %s", i, f.AccountID)
		}
		if i == 0 && f != first {
			t.Fatal("the first finding moved")
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
