package github

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets/github/githubfake"
)

// BenchmarkList5000Members lists an organisation of 5,000 members in 20
// teams of 250, each with a SAML identity and one credential authorization,
// from the fake directly (no Prism: the figures are the connector's and
// the fake's, not the validator's). Reported: API calls per listing and the
// peak live heap during a listing (fake included).
func BenchmarkList5000Members(b *testing.B) {
	const members, teams = 5000, 20
	f := githubfake.New(testOrg, testToken)
	now := time.Now()
	for i := range members {
		role := "member"
		if i%100 == 0 {
			role = "admin"
		}
		f.AddMember(int64(10000+i), fmt.Sprintf("user%05d", i), role, fmt.Sprintf("user%05d@example.com", i))
		f.AddCred(fmt.Sprintf("user%05d", i), "personal access token", now.Add(-time.Hour), nil)
	}
	for tm := range teams {
		var ms []string
		for i := tm; i < members; i += teams {
			ms = append(ms, fmt.Sprintf("user%05d", i))
		}
		f.AddTeam(int64(500+tm), fmt.Sprintf("team-%02d", tm), fmt.Sprintf("Team %02d", tm), ms...)
	}
	url := newDirectB(b, f)
	tg, err := New(Config{Org: testOrg, BaseURL: url + "/", GraphQLURL: url + "/graphql", Token: testToken}, testLogger(b))
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
			if len(a.Groups) != 1 || len(a.Credentials) != 1 || a.Email == "" {
				b.Fatalf("%+v", a)
			}
			n++
		}
		if n != members {
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

func newDirectB(b *testing.B, h http.Handler) string {
	s := httptest.NewServer(h)
	b.Cleanup(s.Close)
	return s.URL
}
