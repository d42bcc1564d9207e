package memlimit

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"testing"
)

// fakeRuntime records the limits a Budget sets and reports the figures of
// collections the test chooses.
type fakeRuntime struct {
	limits []int64
	st     gcStats
	gogc   int
}

func (f *fakeRuntime) pace(n int) int {
	was := f.gogc
	f.gogc = n
	return was
}

func (f *fakeRuntime) stats() gcStats { return f.st }

// collected is a collection after which heap is live, the collector having
// taken share of the busy CPU seconds since the last one.
func (f *fakeRuntime) collected(heap uint64, busy, share float64) {
	f.st.Heap = heap
	f.st.Cycles++
	f.st.Busy += busy
	f.st.GC += busy * share
}

func (f *fakeRuntime) set(n int64) int64 {
	f.limits = append(f.limits, n)
	return 0
}

func (f *fakeRuntime) last() int64 { return f.limits[len(f.limits)-1] }

// The limit is the ceiling with no run, the Base plus what the runs need
// while they last (two runs at once: both), never above the ceiling, and
// the ceiling again once every run released its reservation (released
// twice, once). While runs last the limit alone paces the collector (GOGC
// off), and GOGC is what it was once none is left.
func TestBudgetFollowsTheRuns(t *testing.T) {
	f := &fakeRuntime{gogc: 150}
	b := newBudget(8<<30, f.set, f.stats)
	b.pace = f.pace
	if f.last() != 8<<30 || f.gogc != 150 {
		t.Fatalf("limit %d, GOGC %d with no run, want the ceiling and 150", f.last(), f.gogc)
	}
	r1 := b.Reserve(300 << 20)
	if f.last() != Base+300<<20 || b.Limit() != f.last() || f.gogc != -1 {
		t.Fatalf("limit %d, GOGC %d during a run of 300 MiB, want %d and off", f.last(), f.gogc, Base+300<<20)
	}
	r2 := b.Reserve(200 << 20)
	if f.last() != Base+500<<20 {
		t.Fatalf("limit %d during two runs, want %d", f.last(), Base+500<<20)
	}
	r1()
	r1()
	if f.last() != Base+200<<20 || f.gogc != -1 {
		t.Fatalf("limit %d, GOGC %d after the first run (released twice), want %d and off", f.last(), f.gogc, Base+200<<20)
	}
	r3 := b.Reserve(16 << 30)
	if f.last() != 8<<30 {
		t.Fatalf("limit %d for more than the ceiling, want the ceiling", f.last())
	}
	r3()
	r2()
	if f.last() != 8<<30 || f.gogc != 150 {
		t.Fatalf("limit %d, GOGC %d after every run, want the ceiling and 150", f.last(), f.gogc)
	}
	r4 := b.Reserve(1 << 20)
	defer r4()
	if f.gogc != -1 {
		t.Fatalf("GOGC %d in the next run, want off", f.gogc)
	}
}

// A collector that took more than GCShare of the CPU from each of two
// collections in a row to the next raises the limit to half as much again
// as the live heap (an estimate too low must not keep the collector
// running), never above the ceiling. A share under GCShare leaves
// it, whatever the heap (a heap near the limit that costs the collector
// little is the limit working); so does one stretch past, the same
// collection seen twice, and two past with one below between them. The
// share counts from the run's start, not from the process's, and the raise
// lasts until no run is left; the next run starts afresh.
func TestBudgetRaisedWhenTheCollectorTakesTheCPU(t *testing.T) {
	f := &fakeRuntime{}
	b := newBudget(2<<30, f.set, f.stats)
	f.collected(10<<20, 100, 0.9) // before any run: not counted
	release := b.Reserve(200 << 20)
	limit := int64(Base + 200<<20)
	left := func(why string) {
		t.Helper()
		b.check()
		if f.last() != limit {
			t.Fatalf("limit %d %s, want it left at %d", f.last(), why, limit)
		}
	}
	near := uint64(limit / 10 * 9)
	f.collected(near, 1, 0.1)
	left("with the collector's share small since the run started")
	f.collected(near, 1, 0.5)
	left("after one stretch past its share, the run's first below it")
	f.collected(near, 1, 0.3)
	left("with the collector under its share")
	f.collected(near, 1, 0.3)
	left("with the collector under its share twice, the heap at nine tenths of the limit")
	f.collected(near, 1, 0.5)
	left("after one stretch past its share")
	left("with that collection seen again")
	f.collected(100<<20, 1, 0.1)
	left("after a stretch below")
	f.collected(near, 1, 0.5)
	left("after one stretch past, one below before it")
	f.collected(near+1<<20, 1, 0.5)
	b.check()
	if want := int64(f.st.Heap) / 2 * 3; f.last() != want {
		t.Fatalf("limit %d after two stretches past the collector's share, want %d", f.last(), want)
	}
	raised := f.last()
	f.collected(10<<20, 1, 0)
	b.check()
	if f.last() != raised {
		t.Fatalf("limit %d once the heap shrank, want the raise kept (%d)", f.last(), raised)
	}
	f.collected(1900<<20, 1, 0.5)
	b.check()
	f.collected(1900<<20, 1, 0.5)
	b.check()
	if f.last() != 2<<30 {
		t.Fatalf("limit %d, want the ceiling", f.last())
	}
	f.collected(1900<<20, 1, 0.5) // the last stretch of those runs
	release()
	again := b.Reserve(200 << 20)
	defer again()
	if f.last() != limit {
		t.Fatalf("limit %d for the next run, want %d: the raise ends with the runs", f.last(), limit)
	}
	// The last run's stretches past the share do not count for this one.
	f.collected(near, 1, 0.5)
	left("for a new run after one stretch past its share")
}

// On the figures measured, a run's need with the base is at least a
// quarter more than the live heap at its peak, and what it adds to the
// base at most three fifths more: enough that the collector runs a little
// more often there, well under GCShare of the CPU, not much more. (The
// smallest run's need is mostly the base.)
func TestNeedSizedToTheData(t *testing.T) {
	for _, c := range []struct {
		people, accounts, findings int
		peakLive                   int64 // the most live after a collection (GODEBUG=gctrace=1)
	}{
		// Day 2 of the benchmarks' data, the most of three runs each,
		// 2026-12-04, evening: the live findings saved and read in parts,
		// the index of people without a map of rows (26, 161 and 1,539
		// MB that afternoon; 43, 238 and 2,176 MiB the day before, the
		// findings not packed).
		{10_001, 98_545, 18_415, 25_000_000},
		{100_000, 984_993, 183_612, 168_000_000},
		{1_000_000, 9_849_824, 1_834_739, 1_532_000_000},
	} {
		need := Need(c.people, c.accounts, c.findings)
		if need+Base < c.peakLive*5/4 || need > c.peakLive*8/5 {
			t.Errorf("%d people: need %d MB (%d MB with the Base), for a peak of %d MB", c.people, need/1e6, (need+Base)/1e6, c.peakLive/1e6)
		}
	}
}

// GOGC set in the environment is the operator's: runs leave it as it is.
func TestBudgetKeepsGOGCSet(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	t.Setenv("GOGC", "80")
	if NewBudget(1<<40).pace != nil {
		t.Error("GOGC=80: runs would turn it off")
	}
	os.Unsetenv("GOGC") // t.Setenv puts it back
	if NewBudget(1<<40).pace == nil {
		t.Error("GOGC not set: runs would not turn it off")
	}
}

func TestBudgetInContext(t *testing.T) {
	if FromContext(context.Background()) != nil {
		t.Fatal("a Budget without one given")
	}
	b := newBudget(1<<30, (&fakeRuntime{}).set, func() gcStats { return gcStats{} })
	if FromContext(WithBudget(context.Background(), b)) != b {
		t.Fatal("the Budget given is not the one found")
	}
}

// readGCStats reads the runtime's figures: a collection with 8 MiB held
// counts it live, and after work the program used CPU time, of which the
// collector took a part.
func TestReadGCStats(t *testing.T) {
	keep := make([]byte, 8<<20)
	before := readGCStats()
	var sink [][]byte
	for i := range 2000 { // garbage, for collections to do
		sink = append(sink, make([]byte, 64<<10))
		if len(sink) > 100 {
			sink = sink[:0]
		}
		keep[i] = 1
	}
	runtime.GC()
	st := readGCStats()
	if st.Heap < 8<<20 {
		t.Fatalf("live heap %d, with 8 MiB held", st.Heap)
	}
	if st.Cycles <= before.Cycles {
		t.Fatalf("%d collections after one more than %d", st.Cycles, before.Cycles)
	}
	busy, gc := st.Busy-before.Busy, st.GC-before.GC
	if busy <= 0 || gc <= 0 || gc > busy {
		t.Fatalf("from one collection to the next the program used %g CPU seconds and the collector %g", busy, gc)
	}
	runtime.KeepAlive(keep)
}
