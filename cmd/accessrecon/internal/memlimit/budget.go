package memlimit

import (
	"context"
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
// last, the live heap is watched, and a limit it comes near after two
// collections in a row is raised to half as much again as the heap. (One
// collection is not enough: what is allocated while it marks counts as
// live, and a collection slowed by a busy machine can count far more
// than the run holds.)
type Budget struct {
	ceiling int64
	set     func(int64) int64            // debug.SetMemoryLimit
	live    func() (heap, cycles uint64) // the heap live after the last collection, and the collections so far

	mu     sync.Mutex
	need   int64 // of the runs that hold a reservation
	runs   int
	raised int64  // added by check while runs last
	seen   uint64 // the collection check looked at last
	high   bool   // the heap was near the limit after it
	stop   chan struct{}
}

// Base is what a process needs besides its runs' data: the runtime, the
// connectors' buffers, serve's own state.
const Base = 64 << 20

// watchEvery is how often the live heap is compared with the limit.
const watchEvery = 100 * time.Millisecond

// NewBudget returns a Budget with the given ceiling, and sets the limit to
// it.
func NewBudget(ceiling int64) *Budget {
	return newBudget(ceiling, debug.SetMemoryLimit, liveHeap)
}

func newBudget(ceiling int64, set func(int64) int64, live func() (heap, cycles uint64)) *Budget {
	b := &Budget{ceiling: ceiling, set: set, live: live}
	set(ceiling)
	return b
}

// Need is the memory a run over this many people, accounts and findings
// needs: about a third more than it holds at its peak (the findings, each
// with its reason, evidence and steps, and the store's record of it; the
// HR snapshot; the current version of each account while its target is
// read), so that the collector runs a little more often near the peak, not
// all the time. Measured with GODEBUG=gctrace=1 on the data of
// cmd/accessrecon's benchmarks (TestNeedSizedToTheData).
func Need(people, accounts, findings int) int64 {
	return int64(findings)*1050 + int64(people)*700 + int64(accounts)*40
}

// Reserve holds need for a run until release is called (once).
func (b *Budget) Reserve(need int64) (release func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.need += need
	b.runs++
	if b.runs == 1 {
		b.stop = make(chan struct{})
		go b.watch(b.stop)
	}
	b.set(b.limit())
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

// check raises the limit when the live heap was past four fifths of it
// after the last two collections it saw, to half as much again as the
// heap.
func (b *Budget) check() {
	heap, cycles := b.live()
	live := int64(heap)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.runs == 0 || cycles == b.seen {
		return
	}
	wasHigh := b.high
	b.seen, b.high = cycles, live > b.limit()/5*4
	if !b.high || !wasHigh {
		return
	}
	b.raised = max(b.raised, live/2*3-Base-b.need)
	b.set(b.limit())
}

// liveHeap is the heap live after the last collection, and the number of
// collections so far.
func liveHeap() (heap, cycles uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindUint64 {
		return 0, 0
	}
	return s[0].Value.Uint64(), s[1].Value.Uint64()
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
