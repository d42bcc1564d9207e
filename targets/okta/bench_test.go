package okta

import (
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets/okta/oktafake"
)

// BenchmarkList50k lists 50,000 users from the fake (directly, not through
// Prism: the proxy validates, it is not what is measured) with 20 groups of
// 5,000 members each (two groups per user on average), 500 role holders
// and 100 API tokens: 250 user pages, 500 member pages, 5 role pages.
// It reports users/s, requests per listing, the peak heap in use above the
// seeded fake's (sampled every millisecond: garbage of the fake's encoding
// and the connector's decoding included), the heap still reachable half way
// through a listing after a GC (the index and one page: what the connector
// holds), and the process's peak RSS (the 50,000-user fake included).
//
//	go test -run '^$' -bench List50k -benchtime 3x ./targets/okta/
func BenchmarkList50k(b *testing.B) {
	const n = 50_000
	f := oktafake.New()
	f.SSWS = testToken
	var ids []string
	for i := range n {
		ids = append(ids, f.AddUser(fmt.Sprintf("user%05d", i), fmt.Sprintf("E%05d", i), "ACTIVE"))
	}
	for g := range 20 {
		var members []string
		for i := g % 10; i < n; i += 10 { // each user in 2 of the 20 groups
			members = append(members, ids[i])
		}
		f.AddGroup(fmt.Sprintf("group-%02d", g), "OKTA_GROUP", g == 0, members...)
	}
	for i := 0; i < n; i += 100 {
		f.Roles[ids[i]] = []string{"READ_ONLY_ADMIN"}
	}
	for i := 0; i < n; i += 500 {
		f.AddAPIToken(ids[i], "tok")
	}
	srv := httptest.NewServer(f)
	defer srv.Close()
	tg, err := newTarget(Config{OrgURL: srv.URL, Token: testToken}, slog.New(slog.DiscardHandler), deps{})
	if err != nil {
		b.Fatal(err)
	}

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()
	before := len(f.RequestLog())
	var live uint64
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		count, groups, priv := 0, 0, 0
		for a, err := range tg.Accounts(b.Context()) {
			if err != nil {
				b.Fatal(err)
			}
			count++
			if count == n/2 && live == 0 {
				// Half way through the first listing: what stays reachable
				// (the index, one page, the fake's seeded org) after a GC.
				b.StopTimer()
				runtime.GC()
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				live = m.HeapAlloc - min(m.HeapAlloc, base.HeapAlloc)
				b.StartTimer()
			}
			groups += len(a.Groups)
			if a.Privileged {
				priv++
			}
		}
		if count != n || groups != 2*n || priv != n/10 { // group-00 holds a role; the role holders (every 100th) are in it
			b.Fatalf("listed %d users, %d memberships, %d privileged", count, groups, priv)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	close(stop)
	<-done
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "users/s")
	b.ReportMetric(float64(len(f.RequestLog())-before)/float64(b.N), "requests/op")
	b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapInuse))/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(live)/(1<<20), "live-heap-MiB")
	if s, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(s), "\n") {
			if strings.HasPrefix(l, "VmHWM:") {
				kb, _ := strconv.Atoi(strings.Fields(l)[1])
				b.ReportMetric(float64(kb)/1024, "process-peak-RSS-MiB")
			}
		}
	}
}
