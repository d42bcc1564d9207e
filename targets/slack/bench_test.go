package slack

import (
	"fmt"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets/slack/slackfake"
)

// BenchmarkList20000Users lists a workspace of 20,000 users in 50 user
// groups of 400, with one access-log entry each (access_logs: true), from
// the fake directly (no Prism: the figures are the connector's and the
// fake's, not the validator's), page_size 200 (the default). Reported: API
// calls per listing and the peak live heap during a listing (fake included).
func BenchmarkList20000Users(b *testing.B) {
	const users, groups = 20000, 50
	f := slackfake.New(testToken, testSCIMToken)
	now := time.Now()
	ids := make([]string, users)
	for i := range users {
		ids[i] = fmt.Sprintf("U%08d", i)
		f.AddUser(slackfake.User{ID: ids[i], Name: fmt.Sprintf("user%05d", i), Email: fmt.Sprintf("user%05d@example.com", i), RealName: "User", Admin: i%500 == 0})
	}
	f.Mu.Lock()
	for i := range users {
		f.Logins = append(f.Logins, slackfake.Login{UserID: ids[i], Username: fmt.Sprintf("user%05d", i), Last: now.Add(-time.Duration(i) * time.Minute)})
	}
	f.Mu.Unlock()
	for g := range groups {
		var ms []string
		for i := g; i < users; i += groups {
			ms = append(ms, ids[i])
		}
		f.AddGroup(fmt.Sprintf("S%08d", g), fmt.Sprintf("Group %02d", g), fmt.Sprintf("group-%02d", g), ms...)
	}
	srv := httptest.NewServer(f)
	b.Cleanup(srv.Close)
	tg, err := New(Config{APIURL: srv.URL + "/", Token: testToken, AccessLogs: true}, testLogger(b))
	if err != nil {
		b.Fatal(err)
	}
	peak := peakHeap(b)
	b.ResetTimer()
	start := f.Calls.Load()
	for b.Loop() {
		n := 0
		for a, err := range tg.Accounts(b.Context()) {
			if err != nil {
				b.Fatal(err)
			}
			if len(a.Groups) != 1 || a.LastLogin.IsZero() || a.Email == "" {
				b.Fatalf("%+v", a)
			}
			n++
		}
		if n != users {
			b.Fatalf("listed %d", n)
		}
	}
	b.ReportMetric(float64(f.Calls.Load()-start)/float64(b.N), "calls/op")
	b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MiB")
}

// peakHeap samples the live heap every 2 ms until the benchmark ends and
// returns a function reporting the highest value seen.
func peakHeap(b *testing.B) func() uint64 {
	runtime.GC()
	var max atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > max.Load() {
				max.Store(v)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	var once sync.Once
	b.Cleanup(func() { once.Do(func() { close(stop); wg.Wait() }) })
	return func() uint64 { once.Do(func() { close(stop); wg.Wait() }); return max.Load() }
}
