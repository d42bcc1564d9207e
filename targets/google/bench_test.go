package google

import (
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets/google/googlefake"
)

// BenchmarkList50k lists 50,000 users from the fake, 500 per page, with
// their groups (100 groups, three memberships per user, read once through
// members.list) and, in the second case, their OAuth tokens and app
// passwords (two more requests per user). The fake runs in the same
// process, so time, calls and memory include serving the requests.
//
//	go test ./targets/google -run '^$' -bench List50k -benchtime 1x
func BenchmarkList50k(b *testing.B) {
	for _, creds := range []string{"skip", "list"} {
		b.Run("credentials="+creds, func(b *testing.B) {
			f := seedLarge(b, 50000)
			tg, _ := newTarget(b, f, func(c *Config) { c.Credentials = creds; c.Concurrency = 8 })
			base := heapNow() // the fake's 50,000 users
			peak := watchHeap()
			var n int
			var live10k, live40k uint64
			var paused time.Duration
			start := time.Now()
			for b.Loop() {
				n = 0
				for a, err := range tg.Accounts(b.Context()) {
					if err != nil {
						b.Fatal(err)
					}
					if len(a.Groups) == 0 {
						b.Fatalf("account %s without groups", a.ID)
					}
					n++
					// The live heap (after a collection) early and late in
					// the listing: equal when the listing streams.
					if n == 10000 || n == 40000 {
						t0 := time.Now()
						h := heapNow() - base
						if n == 10000 {
							live10k = h
						} else {
							live40k = h
						}
						paused += time.Since(t0)
					}
				}
			}
			elapsed := (time.Since(start) - paused) / time.Duration(b.N)
			heap := peak()
			if n != 50000 {
				b.Fatalf("listed %d users, want 50000", n)
			}
			calls := 0
			f.Mu.Lock()
			for _, c := range f.Calls {
				calls += c
			}
			f.Mu.Unlock()
			b.ReportMetric(float64(n)/elapsed.Seconds(), "users/s")
			b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
			b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(base)/(1<<20), "fake-heap-MiB")
			b.ReportMetric(float64(live10k)/(1<<20), "live-MiB@10k")
			b.ReportMetric(float64(live40k)/(1<<20), "live-MiB@40k")
			b.ReportMetric(float64(vmHWM())/(1<<10), "peak-RSS-MiB")
		})
	}
}

func seedLarge(b *testing.B, n int) *googlefake.Fake {
	f := googlefake.New(b)
	f.Record = false
	groups := make([]*googlefake.Group, 100)
	for i := range groups {
		groups[i] = f.AddGroup(&googlefake.Group{Email: fmt.Sprintf("team%03d@example.com", i), Name: fmt.Sprintf("Team %d", i)})
	}
	login := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		u := &googlefake.User{
			Email: fmt.Sprintf("user%06d@example.com", i), FullName: "User " + strconv.Itoa(i),
			LastLogin:   login.Add(-time.Duration(i) * time.Minute),
			ExternalIDs: []googlefake.ExtID{{Type: "organization", Value: fmt.Sprintf("E%06d", i)}},
			Suspended:   i%50 == 0, IsAdmin: i%1000 == 0,
		}
		if i%10 == 0 {
			u.Tokens = []googlefake.Token{{ClientID: "123-app.apps.googleusercontent.com", DisplayText: "App"}}
			u.ASPs = []googlefake.ASP{{CodeID: 1, Name: "Mail", Created: login}}
		}
		f.AddUser(u)
		in := map[int]bool{i % 100: true, (i/100 + 1) % 100: true, (i/100 + 37) % 100: true}
		for g := range in {
			groups[g].Members = append(groups[g].Members, u.ID)
		}
	}
	return f
}

// heapNow is the live heap after a collection.
func heapNow() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// watchHeap samples the Go heap (live and not yet collected objects) every
// 5 ms until the returned function is called, which returns the peak.
func watchHeap() func() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var (
		mu   sync.Mutex
		peak uint64
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	wg.Go(func() {
		tk := time.NewTicker(5 * time.Millisecond)
		defer tk.Stop()
		for {
			metrics.Read(s)
			mu.Lock()
			peak = max(peak, s[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-done:
				return
			case <-tk.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// vmHWM is the process's peak resident set size in KiB (Linux), 0 elsewhere.
func vmHWM() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
