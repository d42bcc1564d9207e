package memlimit

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// Budget keeps the process's soft memory limit sized to the runs in it.
// With no run, the limit is the ceiling (Soft). While runs last it is what
// their data needs (Need, summed over the runs) above a Base, never above
// the ceiling: the garbage collector then works a little harder near a
// run's peak instead of letting the heap grow to twice what is live (a
// 100,000-person day held 300 MB and had 700 MB resident). An estimate
// too low must not leave the collector running without pause: while runs
// last, the collector's share of the CPU is watched, and when it took more
// than a third of the CPU the program used (GCShare) over two stretches in
// a row, each ending at a collection, the limit is raised to half as much
// again as the live heap. (The live heap alone is a poor sign: what is
// allocated while a collection marks counts as live, and a limit kept far
// enough above the peak for a rule on the heap cost 40 MiB at 100,000
// people, where the collector's share peaked at 27% from one collection
// to the next, 9% of the run.)
//
// While runs hold a reservation the limit alone paces the collector
// (GOGC off, unless the environment sets GOGC): it runs when the heap
// reaches the limit, not each time the heap doubles. The peak is the same,
// bounded by the limit either way, and the collector ran 6 times instead of
// 15 in a 100,000-person day 2 (0.24-0.28 CPU-s instead of 0.34-0.42), and
// took 9.4-10.7 CPU-s instead of 10.8 at a million people (2026-12-04).
type Budget struct {
	ceiling int64
	set     func(int64) int64 // debug.SetMemoryLimit
	stats   func() gcStats
	pace    func(int) int // debug.SetGCPercent; nil: GOGC is left as it is
	gcWas   int           // GOGC before the first run's reservation

	mu     sync.Mutex
	need   int64 // of the runs that hold a reservation
	runs   int
	raised int64   // added by check while runs last
	seen   gcStats // at the collection check looked at last
	high   bool    // the collector's share was past GCShare up to it
	stop   chan struct{}
}

// gcStats are the runtime's figures as of its last collection.
type gcStats struct {
	Heap   uint64 // live after the collection
	Cycles uint64 // collections so far
	// GC is the CPU seconds the collector took from the program (its
	// work on otherwise idle processors not counted), Busy the CPU
	// seconds the program used, the collector's included.
	GC, Busy float64
}

// GCShare is the share of the CPU the collector may take, from one
// collection to another, before the limit is raised.
const GCShare = 1.0 / 3

// Base is what a process needs besides its runs' data: the runtime, the
// connectors' buffers, serve's own state, and room for a run's garbage
// between two collections that does not grow with the run. With 40 MiB, a
// 100,000-person day 2 (its findings packed) ran 18 collections instead of
// 15 and took 8% longer (five runs in turn with each, 2026-12-04), for 50
// MiB less RSS (about 300 MiB instead of 350); at a million people the two
// are the same, the need being a little lower per finding.
const Base = 96 << 20

// LargeC is the size from which MapLargeC has C's malloc map each block
// on its own: past SQLite's usual allocations (pages of 16 KiB, a
// statement's rows), and large enough that a mapping costs nothing beside
// filling it.
const LargeC = 1 << 20

// watchEvery is how often the collector's share is looked at.
const watchEvery = 100 * time.Millisecond

// NewBudget returns a Budget with the given ceiling, and sets the limit to
// it.
func NewBudget(ceiling int64) *Budget {
	b := newBudget(ceiling, debug.SetMemoryLimit, readGCStats)
	if _, set := os.LookupEnv("GOGC"); !set {
		b.pace = debug.SetGCPercent
	}
	return b
}

func newBudget(ceiling int64, set func(int64) int64, stats func() gcStats) *Budget {
	b := &Budget{ceiling: ceiling, set: set, stats: stats}
	set(ceiling)
	return b
}

// Need is the memory a run over this many people, accounts and findings
// needs besides the Base: with the Base, at least a quarter more than it
// holds at its peak, a third at a million people (the findings, each with
// its reason, evidence and steps, and the store's record of it; the HR
// snapshot while the targets are judged, the findings then packed; the
// current version of each account while its target is read), so that the
// collector runs a little more often near the peak, not all the time. Measured with
// GODEBUG=gctrace=1 on the data of cmd/accessrecon's benchmarks
// (TestNeedSizedToTheData). At a million people the limit is then what
// bounds the resident memory, with little besides: 1,878 MiB, and a peak
// RSS of 1,934-1,971 MiB (2026-12-04, day 2; 1,959 MiB and 2,014-2,018
// with the 4.5% more this allowed before, for the same share of the CPU
// in the collector, 19.6-21.4%).
func Need(people, accounts, findings int) int64 {
	return int64(findings)*650 + int64(people)*430 + int64(accounts)*25
}

// WorkbookNeed is what writing the workbook of a run with this many
// findings needs besides the run's Need, held while it is written: the
// workbook's rows beside the findings, which the run holds until its
// reports are written. Without it, at a million people the live heap there
// (1,620 MB) left the collector about 100 MB of room, and it ran ten times
// in 15 s; with it, five (2026-12-04: 13.9-16.1 of the run's CPU seconds in
// the collector instead of 17.4-25.3, two runs each).
func WorkbookNeed(findings int) int64 {
	return int64(findings) * 80
}

// Reserve holds need for a run until release is called (once).
func (b *Budget) Reserve(need int64) (release func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.need += need
	b.runs++
	if b.runs == 1 {
		// The collector's share is watched from the first run's start.
		b.seen = b.stats()
		b.stop = make(chan struct{})
		go b.watch(b.stop)
	}
	b.set(b.limit())
	if b.runs == 1 && b.pace != nil {
		b.gcWas = b.pace(-1)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.need -= need
			b.runs--
			if b.runs == 0 {
				close(b.stop)
				b.raised, b.high = 0, false
				if b.pace != nil {
					b.pace(b.gcWas)
				}
			}
			b.set(b.limit())
		})
	}
}

// Limit is the limit the Budget set last.
func (b *Budget) Limit() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.limit()
}

func (b *Budget) limit() int64 {
	if b.runs == 0 {
		return b.ceiling
	}
	return min(b.ceiling, Base+b.need+b.raised)
}

func (b *Budget) watch(stop chan struct{}) {
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			b.check()
		}
	}
}

// check raises the limit when the collector's share of the CPU was past
// GCShare from each of the last two collections it saw to the next, to
// half as much again as the live heap.
func (b *Budget) check() {
	st := b.stats()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.runs == 0 || st.Cycles == b.seen.Cycles {
		return
	}
	wasHigh := b.high
	busy := st.Busy - b.seen.Busy
	b.high = busy > 0 && (st.GC-b.seen.GC)/busy > GCShare
	b.seen = st
	if !b.high || !wasHigh {
		return
	}
	b.raised = max(b.raised, int64(st.Heap)/2*3-Base-b.need)
	b.set(b.limit())
}

// readGCStats reads the runtime's figures (runtime/metrics; its CPU figures
// are those of its last collection).
func readGCStats() gcStats {
	s := []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/cycles/total:gc-cycles"},
		{Name: "/cpu/classes/gc/total:cpu-seconds"},
		{Name: "/cpu/classes/gc/mark/idle:cpu-seconds"},
		{Name: "/cpu/classes/total:cpu-seconds"},
		{Name: "/cpu/classes/idle:cpu-seconds"},
	}
	metrics.Read(s)
	for _, v := range s[:2] {
		if v.Value.Kind() != metrics.KindUint64 {
			return gcStats{}
		}
	}
	var f [4]float64
	for i, v := range s[2:] {
		if v.Value.Kind() != metrics.KindFloat64 {
			return gcStats{}
		}
		f[i] = v.Value.Float64()
	}
	gc, gcIdle, total, idle := f[0], f[1], f[2], f[3]
	return gcStats{Heap: s[0].Value.Uint64(), Cycles: s[1].Value.Uint64(), GC: gc - gcIdle, Busy: total - idle - gcIdle}
}

type budgetKey struct{}

// WithBudget returns ctx carrying b, for the runs started under it.
func WithBudget(ctx context.Context, b *Budget) context.Context {
	return context.WithValue(ctx, budgetKey{}, b)
}

// FromContext is the Budget ctx carries (nil: none; the limit is left as
// it is).
func FromContext(ctx context.Context) *Budget {
	b, _ := ctx.Value(budgetKey{}).(*Budget)
	return b
}
