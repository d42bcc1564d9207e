package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
)

// BenchmarkSaveFindingsDay2 times the second day's SaveFindings of 20,000
// findings of ~700 bytes, two in three of them with a changed body (as the
// dormant findings' "no login for N days" changes daily), on a store whose
// first day is not timed; it reports the bytes the day added to the file.
func BenchmarkSaveFindingsDay2(b *testing.B) {
	benchSaveFindings(b, 20000, func(i int) bool { return i%3 != 0 })
}

// BenchmarkSaveFindingsUnchanged is BenchmarkSaveFindingsDay2 with the
// findings of a 100,000-person day (183,000), one in a thousand changed.
func BenchmarkSaveFindingsUnchanged(b *testing.B) {
	benchSaveFindings(b, 183000, func(i int) bool { return i%1000 == 0 })
}

// benchSaveFindings times day 2's save of n findings, those changed
// says with a changed body.
func benchSaveFindings(b *testing.B, n int, changed func(i int) bool) {
	ctx := context.Background()
	day1 := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	pad := strings.Repeat("x", 600)
	rows := func(day int) []reconcile.FindingRow {
		out := make([]reconcile.FindingRow, n)
		for i := range out {
			fp := fmt.Sprintf("%016x", i*7919)
			days := 100
			if changed(i) {
				days += day
			}
			out[i] = reconcile.FindingRow{Fingerprint: fp, Kind: "dormant", Severity: "low", Disposition: "review", Target: "app",
				AccountID: fmt.Sprint("acct-", i), EmployeeID: fmt.Sprint("E", i), FirstSeen: day1,
				Body: fmt.Appendf(nil, `{"fingerprint":%q,"reason":"no login for %d days","pad":%q}`, fp, days, pad)}
		}
		for i, h := range reconcile.ContentHashes(out) { // as a run's rows come: hashed as marshalled
			out[i].Hash = h
		}
		return out
	}
	days := [][]reconcile.FindingRow{rows(0), rows(1)}
	all := func(string, string) bool { return true }
	var grew int64
	for b.Loop() {
		b.StopTimer()
		st, err := Open(ctx, filepath.Join(b.TempDir(), "state.db"))
		if err != nil {
			b.Fatal(err)
		}
		save := func(day int, rows reconcile.FindingRows) {
			asOf := day1.AddDate(0, 0, day)
			id, err := st.BeginRun(ctx, reconcile.Run{AsOf: asOf, StartedAt: asOf, Mode: "report", Scope: "full"})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := st.SaveFindings(ctx, id, asOf, rows, all); err != nil {
				b.Fatal(err)
			}
		}
		size := func() int64 {
			var pages, free, size int64
			st.db.Get(&pages, `PRAGMA page_count`)
			st.db.Get(&free, `PRAGMA freelist_count`)
			st.db.Get(&size, `PRAGMA page_size`)
			return (pages - free) * size
		}
		save(0, reconcile.SortedRows(days[0]...))
		before := size()
		next := reconcile.SortedRows(days[1]...)
		b.StartTimer()
		save(1, next)
		b.StopTimer()
		grew = size() - before
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(grew), "B/day")
}
