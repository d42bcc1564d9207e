package reconcile

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
)

// A chunkList keeps every item in the order added, across chunks, each
// where it was added: a pointer to one never moves, a change made through
// All stays, and at(i) is the i-th added.
func TestChunkList(t *testing.T) {
	var l findingList
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

// inParts calls its function on every item once, whatever the count.
func TestInParts(t *testing.T) {
	for _, n := range []int{0, 1, minPart - 1, minPart, minPart + 1, 3*minPart + 7, 100_003} {
		seen := make([]int32, n)
		var calls atomic.Int32
		inParts(n, func(lo, hi int) {
			calls.Add(1)
			if lo >= hi {
				t.Errorf("n=%d: part [%d, %d)", n, lo, hi)
			}
			for i := lo; i < hi; i++ {
				seen[i]++
			}
		})
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("n=%d: item %d seen %d times", n, i, c)
			}
		}
		if want := min(max(n, 1), runtime.GOMAXPROCS(0)); n > 0 && int(calls.Load()) > want {
			t.Errorf("n=%d: %d parts, more than %d", n, calls.Load(), want)
		}
	}
}
