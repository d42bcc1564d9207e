package aws

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/accessrecon/accessrecon/targets/aws/awsfake"
)

const benchUsers = 10000

// seedBench seeds n users, each with two access keys (one used yesterday,
// one never), a console password for every other user, an EmployeeID tag,
// and one of three groups (one of them AdministratorAccess).
func seedBench(n int) func(*awsfake.IAM) {
	return func(f *awsfake.IAM) {
		f.AddGroup("Developers", "arn:aws:iam::aws:policy/ReadOnlyAccess")
		f.AddGroup("Admins", "arn:aws:iam::aws:policy/AdministratorAccess")
		f.AddGroup("Ops").Inline["all"] = `{"Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`
		groups := []string{"Developers", "Admins", "Ops"}
		f.Mu.Lock()
		defer f.Mu.Unlock()
		for i := range n { // names in order: appended, not inserted
			u := &awsfake.User{Name: fmt.Sprintf("user%06d", i), ID: f.NewID("AIDA"), Created: f.Now.AddDate(-1, 0, 0),
				Inline: map[string]string{}, Tags: map[string]string{"EmployeeID": fmt.Sprintf("E%06d", i)},
				Groups: []string{groups[i%3]}}
			if i%2 == 0 {
				u.Console, u.ConsoleCreated, u.PasswordLastUsed = true, f.Now.AddDate(0, -1, 0), f.Now.AddDate(0, 0, -2)
			}
			u.Keys = []*awsfake.Key{
				{ID: f.NewID("AKIA"), Status: "Active", Created: f.Now.AddDate(0, -3, 0), LastUsed: f.Now.AddDate(0, 0, -1)},
				{ID: f.NewID("AKIA"), Status: "Active", Created: f.Now.AddDate(0, -1, 0)},
			}
			f.Users = append(f.Users, u)
		}
	}
}

// peakHeap samples the heap in use until stop is called, and returns the
// highest figure above the level when it started.
func peakHeap() (stop func() uint64) {
	var base, peak atomic.Uint64
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base.Store(ms.HeapInuse)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		if peak.Load() < base.Load() {
			return 0
		}
		return peak.Load() - base.Load()
	}
}

// BenchmarkListing lists 10,000 users with two keys each from the fake in
// both listing modes: time, IAM calls and the peak heap above the seeded
// fake (the fake runs in the same process, so the figure includes its
// answers being built).
//
//	go test -run '^$' -bench BenchmarkListing -benchtime 1x ./targets/aws/
func BenchmarkListing(b *testing.B) {
	for _, mode := range modes {
		b.Run(mode, func(b *testing.B) { benchListing(b, mode) })
	}
}

func benchListing(b *testing.B, mode string) {
	h := newHarness(b, seedBench(benchUsers), listing(mode))
	b.ResetTimer()
	for range b.N {
		h.fake.ResetCalls()
		stop := peakHeap()
		n := 0
		for _, err := range h.target.Accounts(b.Context()) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		peak := stop()
		if n != benchUsers {
			b.Fatalf("listed %d", n)
		}
		calls := h.fake.TotalCalls()
		b.ReportMetric(float64(calls), "calls/op")
		b.ReportMetric(float64(calls)/benchUsers, "calls/user")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		h.fake.Mu.Lock()
		for op, c := range h.fake.Calls {
			b.Logf("%-28s %6d", op, c)
		}
		h.fake.Mu.Unlock()
	}
}

// BenchmarkCredentialReport reads the same account's credential report
// (GenerateCredentialReport until COMPLETE, then GetCredentialReport): the
// one-CSV alternative to per-user GetLoginProfile and GetAccessKeyLastUsed.
//
//	go test -run '^$' -bench BenchmarkCredentialReport -benchtime 1x ./targets/aws/
func BenchmarkCredentialReport(b *testing.B) {
	h := newHarness(b, seedBench(benchUsers))
	c := h.target.client
	b.ResetTimer()
	for range b.N {
		h.fake.Mu.Lock()
		h.fake.Started, h.fake.ReportAt = false, time.Time{}
		h.fake.Mu.Unlock()
		h.fake.ResetCalls()
		stop := peakHeap()
		for {
			r, err := c.GenerateCredentialReport(b.Context(), &iam.GenerateCredentialReportInput{})
			if err != nil {
				b.Fatal(err)
			}
			if r.State == types.ReportStateTypeComplete {
				break
			}
		}
		r, err := c.GetCredentialReport(b.Context(), &iam.GetCredentialReportInput{})
		if err != nil {
			b.Fatal(err)
		}
		rows, err := parseCredentialReport(r.Content)
		if err != nil {
			b.Fatal(err)
		}
		peak := stop()
		if len(rows) != benchUsers {
			b.Fatalf("report has %d users", len(rows))
		}
		b.ReportMetric(float64(h.fake.TotalCalls()), "calls/op")
		b.ReportMetric(float64(len(r.Content))/(1<<20), "report-MB")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	}
}
