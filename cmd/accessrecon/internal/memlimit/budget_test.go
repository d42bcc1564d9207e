package memlimit

import (
	"context"
	"runtime"
	"testing"
)

// fakeRuntime records the limits a Budget sets and reports a live heap the
// test chooses.
type fakeRuntime struct {
	limits []int64
	heap   uint64
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
	b := newBudget(8<<30, f.set, func() uint64 { return f.heap })
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

// A live heap past four fifths of the limit raises it to half as much
// again as the heap (an estimate too low must not keep the collector
// running), never above the ceiling; a heap below leaves it; the raise
// lasts until no run is left.
func TestBudgetRaisedNearTheHeap(t *testing.T) {
	f := &fakeRuntime{}
	b := newBudget(2<<30, f.set, func() uint64 { return f.heap })
	release := b.Reserve(200 << 20)
	limit := int64(Base + 200<<20)
	f.heap = uint64(limit / 5 * 4)
	b.check()
	if f.last() != limit {
		t.Fatalf("limit %d with the heap at four fifths, want it left at %d", f.last(), limit)
	}
	f.heap = uint64(limit/5*4) + 1<<20
	b.check()
	if want := int64(f.heap) / 2 * 3; f.last() != want {
		t.Fatalf("limit %d with the heap past four fifths, want %d", f.last(), want)
	}
	raised := f.last()
	f.heap = 10 << 20
	b.check()
	if f.last() != raised {
		t.Fatalf("limit %d once the heap shrank, want the raise kept (%d)", f.last(), raised)
	}
	f.heap = 1900 << 20
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
}

// On the figures measured, a run's need with the base is a quarter to a
// half more than the live heap at its peak: enough that the watch (four
// fifths) does not raise the limit at the peak, not much more.
func TestNeedSizedToTheData(t *testing.T) {
	for _, c := range []struct {
		people, accounts, findings int
		peakLive                   int64 // the most live after a collection (GODEBUG=gctrace=1)
	}{
		{100_000, 984_993, 183_612, 264 << 20},        // day 2, 2026-12-02 evening: findings by pointer, open findings compact
		{1_000_000, 9_849_824, 1_834_739, 2364 << 20}, // day 2, 2026-12-02 evening
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
	b := newBudget(1<<30, (&fakeRuntime{}).set, func() uint64 { return 0 })
	if FromContext(WithBudget(context.Background(), b)) != b {
		t.Fatal("the Budget given is not the one found")
	}
}

// liveHeap reads the runtime's figure.
func TestLiveHeap(t *testing.T) {
	keep := make([]byte, 8<<20)
	runtime.GC()
	if liveHeap() < 8<<20 {
		t.Fatalf("live heap %d, with 8 MiB held", liveHeap())
	}
	runtime.KeepAlive(keep)
}
