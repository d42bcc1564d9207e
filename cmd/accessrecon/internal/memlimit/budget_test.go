package memlimit

import (
	"context"
	"runtime"
	"testing"
)

// fakeRuntime records the limits a Budget sets and reports a live heap and
// a count of collections the test chooses.
type fakeRuntime struct {
	limits []int64
	heap   uint64
	cycles uint64
}

func (f *fakeRuntime) live() (heap, cycles uint64) { return f.heap, f.cycles }

// collected is a collection after which heap is live.
func (f *fakeRuntime) collected(heap uint64) {
	f.heap = heap
	f.cycles++
}

func (f *fakeRuntime) set(n int64) int64 {
	f.limits = append(f.limits, n)
	return 0
}

func (f *fakeRuntime) last() int64 { return f.limits[len(f.limits)-1] }

// The limit is the ceiling with no run, the Base plus what the runs need
// while they last (two runs at once: both), never above the ceiling, and
// the ceiling again once every run released its reservation (released
// twice, once).
func TestBudgetFollowsTheRuns(t *testing.T) {
	f := &fakeRuntime{}
	b := newBudget(8<<30, f.set, f.live)
	if f.last() != 8<<30 {
		t.Fatalf("limit %d with no run, want the ceiling", f.last())
	}
	r1 := b.Reserve(300 << 20)
	if f.last() != Base+300<<20 || b.Limit() != f.last() {
		t.Fatalf("limit %d during a run of 300 MiB, want %d", f.last(), Base+300<<20)
	}
	r2 := b.Reserve(200 << 20)
	if f.last() != Base+500<<20 {
		t.Fatalf("limit %d during two runs, want %d", f.last(), Base+500<<20)
	}
	r1()
	r1()
	if f.last() != Base+200<<20 {
		t.Fatalf("limit %d after the first run (released twice), want %d", f.last(), Base+200<<20)
	}
	r3 := b.Reserve(16 << 30)
	if f.last() != 8<<30 {
		t.Fatalf("limit %d for more than the ceiling, want the ceiling", f.last())
	}
	r3()
	r2()
	if f.last() != 8<<30 {
		t.Fatalf("limit %d after every run, want the ceiling", f.last())
	}
}

// A live heap past four fifths of the limit after two collections in a
// row raises it to half as much again as the heap (an estimate too low
// must not keep the collector running), never above the ceiling. A heap
// at four fifths or below leaves it; so does one collection past (what is
// allocated while a collection marks counts as live), the same collection
// seen twice, and two past with one below between them. The raise lasts
// until no run is left, and the next run starts afresh.
func TestBudgetRaisedNearTheHeap(t *testing.T) {
	f := &fakeRuntime{}
	b := newBudget(2<<30, f.set, f.live)
	release := b.Reserve(200 << 20)
	limit := int64(Base + 200<<20)
	past := uint64(limit/5*4) + 1<<20
	left := func(why string) {
		t.Helper()
		b.check()
		if f.last() != limit {
			t.Fatalf("limit %d %s, want it left at %d", f.last(), why, limit)
		}
	}
	f.collected(uint64(limit / 5 * 4))
	left("with the heap at four fifths")
	f.collected(uint64(limit / 5 * 4))
	left("with the heap at four fifths twice")
	f.collected(past)
	left("after one collection past four fifths")
	left("with that collection seen again")
	f.collected(100 << 20)
	left("after a collection below")
	f.collected(past)
	left("after one collection past four fifths, one below before it")
	f.collected(past + 1<<20)
	b.check()
	if want := int64(f.heap) / 2 * 3; f.last() != want {
		t.Fatalf("limit %d after two collections past four fifths, want %d", f.last(), want)
	}
	raised := f.last()
	f.collected(10 << 20)
	b.check()
	if f.last() != raised {
		t.Fatalf("limit %d once the heap shrank, want the raise kept (%d)", f.last(), raised)
	}
	f.collected(1900 << 20)
	b.check()
	f.collected(1900 << 20)
	b.check()
	if f.last() != 2<<30 {
		t.Fatalf("limit %d, want the ceiling", f.last())
	}
	release()
	again := b.Reserve(200 << 20)
	defer again()
	if f.last() != limit {
		t.Fatalf("limit %d for the next run, want %d: the raise ends with the runs", f.last(), limit)
	}
	// The last run's heap past four fifths does not count for this one.
	f.collected(past)
	left("for a new run after one collection past four fifths")
}

// On the figures measured, a run's need with the base is a quarter to a
// half more than the live heap at its peak: enough that the watch (four
// fifths) does not raise the limit at the peak, not much more.
func TestNeedSizedToTheData(t *testing.T) {
	for _, c := range []struct {
		people, accounts, findings int
		peakLive                   int64 // the most live after a collection (GODEBUG=gctrace=1)
	}{
		{100_000, 984_993, 183_612, 238 << 20},        // day 2, 2026-12-03: no account copy for a person's steps (the most of three runs)
		{1_000_000, 9_849_824, 1_834_739, 2176 << 20}, // day 2, 2026-12-03
	} {
		need := Need(c.people, c.accounts, c.findings) + Base
		if need < c.peakLive*5/4 || need > c.peakLive*3/2 {
			t.Errorf("%d people: need %d MiB with the Base, for a peak of %d MiB", c.people, need>>20, c.peakLive>>20)
		}
	}
}

func TestBudgetInContext(t *testing.T) {
	if FromContext(context.Background()) != nil {
		t.Fatal("a Budget without one given")
	}
	b := newBudget(1<<30, (&fakeRuntime{}).set, func() (uint64, uint64) { return 0, 0 })
	if FromContext(WithBudget(context.Background(), b)) != b {
		t.Fatal("the Budget given is not the one found")
	}
}

// liveHeap reads the runtime's figure.
func TestLiveHeap(t *testing.T) {
	keep := make([]byte, 8<<20)
	_, before := liveHeap()
	runtime.GC()
	heap, cycles := liveHeap()
	if heap < 8<<20 {
		t.Fatalf("live heap %d, with 8 MiB held", heap)
	}
	if cycles <= before {
		t.Fatalf("%d collections after one more than %d", cycles, before)
	}
	runtime.KeepAlive(keep)
}
