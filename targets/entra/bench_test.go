package entra

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets/entra/entrafake"
)

// seedBench makes n users in a tenant shaped like a real one: everyone in
// "All Staff", each in one of 100 departments, every seventh in one of 20
// projects; 10 users and one group hold directory roles; half the users
// signed in recently.
func seedBench(f *entrafake.Graph, n int) {
	f.Logging = false
	created := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	last := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	all := &entrafake.Group{ID: entrafake.GUID('g', 0), Name: "All Staff"}
	depts := make([]*entrafake.Group, 100)
	for i := range depts {
		depts[i] = &entrafake.Group{ID: entrafake.GUID('d', i), Name: fmt.Sprintf("Dept %02d", i)}
	}
	projects := make([]*entrafake.Group, 20)
	for i := range projects {
		projects[i] = &entrafake.Group{ID: entrafake.GUID('p', i), Name: fmt.Sprintf("Project %02d", i)}
	}
	for i := range n {
		u := &entrafake.User{ID: entrafake.GUID('u', i), UPN: "user" + strconv.Itoa(i) + "@contoso.example", Mail: "user" + strconv.Itoa(i) + "@contoso.example",
			EmployeeID: fmt.Sprintf("E%06d", i), UserType: "Member", Enabled: i%50 != 0, Created: created.Add(time.Duration(i) * time.Minute)}
		if i%2 == 0 {
			u.LastSignIn, u.LastOK = &last, &last
		}
		f.Users = append(f.Users, u)
		f.UserByID[u.ID] = u
		all.Add(u.ID)
		depts[i%100].Add(u.ID)
		if i%7 == 0 {
			projects[i%20].Add(u.ID)
		}
	}
	for _, g := range append(append([]*entrafake.Group{all}, depts...), projects...) {
		f.Groups = append(f.Groups, g)
		f.GroupByID[g.ID] = g
	}
	ga := f.AddRole("Global Administrator", "62e90394-69f5-4237-9190-012177145e10")
	for i := range 10 {
		f.Assign(entrafake.GUID('u', i*97), ga)
	}
	f.Assign(depts[0].ID, ga)
}

// peakHeap samples HeapInuse every 5 ms until stop is called.
func peakHeap() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return peak.Load() }
}

// vmHWM is the process's peak resident set (Linux), in bytes.
func vmHWM() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkList lists ACCESSRECON_BENCH_USERS (default 50,000) users with
// groups and roles from the TLS fake, in both group modes. The fake runs in
// the same process: heap and RSS figures include its copy of the tenant;
// fake-heap-MiB is that baseline, measured before the listing.
//
//	go test -run '^$' -bench BenchmarkList -benchtime=1x -benchmem ./targets/entra/
func BenchmarkList(b *testing.B) {
	n := 50000
	if s := os.Getenv("ACCESSRECON_BENCH_USERS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		n = v
	}
	for _, mode := range []string{GroupsMembers, GroupsMemberOf} {
		b.Run(fmt.Sprintf("%s/%d", mode, n), func(b *testing.B) {
			f := entrafake.New(b)
			seedBench(f, n)
			tg, _ := newTestTarget(b, f, func(c *Config) { c.Groups = mode })
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			base := ms.HeapInuse
			f.Mu.Lock()
			reqBefore := f.N
			f.Mu.Unlock()
			stop := peakHeap()
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				count, groups, priv := 0, 0, 0
				for a, err := range tg.Accounts(context.Background()) {
					if err != nil {
						b.Fatal(err)
					}
					count++
					groups += len(a.Groups)
					if a.Privileged {
						priv++
					}
				}
				if count != n || groups < 2*n || priv < 10 {
					b.Fatalf("listed %d users, %d memberships, %d privileged", count, groups, priv)
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			peak := stop()
			f.Mu.Lock()
			reqs := f.N - reqBefore
			f.Mu.Unlock()
			b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "users/s")
			b.ReportMetric(float64(reqs)/float64(b.N), "requests/op")
			b.ReportMetric(float64(base)/(1<<20), "fake-heap-MiB")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(peak-min(peak, base))/(1<<20), "listing-heap-MiB")
			b.ReportMetric(float64(vmHWM())/(1<<20), "peak-RSS-MiB")
		})
	}
}
