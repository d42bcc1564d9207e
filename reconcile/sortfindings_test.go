package reconcile

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// sortFindingValues sorts the findings themselves, stably: the order
// sortFindings gives, ties (same severity, kind, target and account) in
// the order given.
func sortFindingValues(fs []Finding) {
	slices.SortStableFunc(fs, compareFindingValues)
}

// ptrs points at each of fs.
func ptrs(fs []Finding) []*Finding {
	out := make([]*Finding, len(fs))
	for i := range fs {
		out[i] = &fs[i]
	}
	return out
}

// compareFindingValues is the order of findings, written out.
func compareFindingValues(a, b Finding) int {
	sevRank := map[Severity]int{Critical: 0, High: 1, Medium: 2, Low: 3}
	return cmp.Or(cmp.Compare(sevRank[a.Severity], sevRank[b.Severity]), cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Target, b.Target), cmp.Compare(a.AccountID, b.AccountID))
}

// compareFindings (sortFindings' check that findings are in order already)
// orders every pair as compareFindingValues does.
func TestCompareFindings(t *testing.T) {
	sevs := []Severity{Critical, High, Medium, Low, "odd"}
	kinds := []Kind{Orphaned, Dormant, TerminatedActive}
	r := rand.New(rand.NewPCG(9, 10))
	mk := func() Finding {
		return Finding{Severity: sevs[r.IntN(len(sevs))], Kind: kinds[r.IntN(len(kinds))], Target: fmt.Sprint("t", r.IntN(3)), AccountID: fmt.Sprint("a", r.IntN(4))}
	}
	for range 20000 {
		a, b := mk(), mk()
		if got, want := compareFindings(&a, &b), compareFindingValues(a, b); got != want {
			t.Fatalf("compareFindings(%+v, %+v) = %d, want %d", a, b, got, want)
		}
	}
}

// BenchmarkSortFindings sorts as many findings as a 100,000-person
// generated day has (183,000): pointers to them by index, and (before)
// the findings themselves by value.
func BenchmarkSortFindings(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	sevs := []Severity{Critical, High, Medium, Low}
	kinds := []Kind{Orphaned, Dormant, TerminatedActive, SuspendedActive}
	in := make([]Finding, 183000)
	for i := range in {
		in[i] = Finding{Severity: sevs[r.IntN(len(sevs))], Kind: kinds[r.IntN(len(kinds))],
			Target: fmt.Sprintf("app%02d", r.IntN(10)), AccountID: fmt.Sprintf("app-%07d", r.IntN(100000))}
	}
	b.Run("index", func(b *testing.B) {
		ps := ptrs(in)
		fs := make([]*Finding, len(ps))
		for b.Loop() {
			b.StopTimer()
			copy(fs, ps)
			b.StartTimer()
			sortFindings(fs)
		}
	})
	b.Run("values", func(b *testing.B) {
		fs := make([]Finding, len(in))
		for b.Loop() {
			b.StopTimer()
			copy(fs, in)
			b.StartTimer()
			sortFindingValues(fs)
		}
	})
}

// TestSortFindingsAsBefore: sorting by index gives the order of sorting
// the findings themselves stably, ties (same severity, kind, target and
// account) and unknown severities included.
func TestSortFindingsAsBefore(t *testing.T) {
	sevs := []Severity{Critical, High, Medium, Low, "odd"}
	kinds := []Kind{Orphaned, Dormant, TerminatedActive}
	for _, n := range []int{0, 1, 2, 7, 12, 13, 50, 1000, 5000} {
		r := rand.New(rand.NewPCG(uint64(n), 1))
		fs := make([]Finding, n)
		for i := range fs {
			fs[i] = Finding{Severity: sevs[r.IntN(len(sevs))], Kind: kinds[r.IntN(len(kinds))],
				Target: fmt.Sprint("t", r.IntN(3)), AccountID: fmt.Sprint("a", r.IntN(n/4+1)), Reason: fmt.Sprint(i)}
		}
		want := slices.Clone(fs)
		sortFindingValues(want)
		// In order already, and in order but for two neighbours (each
		// pair of neighbours that differ, in turn, for small n).
		inputs := [][]Finding{fs, slices.Clone(want)}
		for i := 1; i < len(want) && i < 60; i++ {
			if compareFindings(&want[i-1], &want[i]) != 0 {
				swapped := slices.Clone(want)
				swapped[i-1], swapped[i] = swapped[i], swapped[i-1]
				inputs = append(inputs, swapped)
			}
		}
		for k, vs := range inputs {
			in := ptrs(vs)
			sortFindings(in)
			for i := range in {
				if in[i].Reason != want[i].Reason {
					t.Fatalf("n=%d, input %d: at %d finding %s, want %s", n, k, i, in[i].Reason, want[i].Reason)
				}
			}
		}
	}
}

// SortFindingRows orders rows by fingerprint, each row whole, duplicates
// side by side (the stores refuse them by looking at neighbours) in the
// order given.
func TestSortFindingRows(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	rows := make([]FindingRow, 3000)
	for i := range rows {
		fp := fmt.Sprintf("%016x", r.Uint64()%2500) // some twice
		switch i % 500 {                            // and a few no fingerprint makes
		case 1:
			fp = ""
		case 2:
			fp = "\xffz"
		case 3:
			fp = "é" + fp
		}
		rows[i] = FindingRow{Fingerprint: fp, AccountID: "acct-" + fp, Body: []byte(fp), EmployeeID: fmt.Sprintf("%05d", i)}
	}
	want := slices.Clone(rows)
	slices.SortStableFunc(want, func(a, b FindingRow) int { return cmp.Compare(a.Fingerprint, b.Fingerprint) })
	SortFindingRows(rows)
	for i := range rows {
		if rows[i].Fingerprint != want[i].Fingerprint || rows[i].AccountID != "acct-"+rows[i].Fingerprint || string(rows[i].Body) != rows[i].Fingerprint ||
			rows[i].EmployeeID != want[i].EmployeeID {
			t.Fatalf("row %d: %+v, want fingerprint %s with its own fields", i, rows[i], want[i].Fingerprint)
		}
	}
}

// finishFindings gives the run's own findings and the targets' (in target
// order) their fingerprints, keeps the scope and the guard findings, drops
// the orphans of a suspect HR export, and orders them as sorting the
// findings themselves stably does, ties included, without copying them;
// the targets' lists are let go.
func TestFinishFindingsAsBefore(t *testing.T) {
	sevs := []Severity{Critical, High, Medium, Low, "odd"}
	kinds := []Kind{Orphaned, Dormant, TerminatedActive, GuardTripped}
	asOf := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		scope     []Kind
		hrSuspect bool
	}{{nil, false}, {nil, true}, {[]Kind{Dormant}, false}, {[]Kind{Orphaned, TerminatedActive}, true}} {
		r := rand.New(rand.NewPCG(uint64(len(c.scope)), 7))
		mk := func(i int) Finding {
			return Finding{Severity: sevs[r.IntN(len(sevs))], Kind: kinds[r.IntN(len(kinds))], Target: fmt.Sprint("t", r.IntN(3)),
				AccountID: fmt.Sprint("a", r.IntN(40)), Reason: fmt.Sprint(i)}
		}
		res := &Result{}
		if c.hrSuspect {
			res.trip(Guard{Kind: GuardHRShrink})
		}
		var all []Finding // as the run had them: its own, then each target's
		for i := range 30 {
			f := mk(i)
			res.Findings = append(res.Findings, &f)
			all = append(all, f)
		}
		results := make([]targetResult, 4)
		for ti := range results {
			for i := range ti * 700 { // two targets span chunks; one has none
				f := mk(1000*(ti+1) + i)
				results[ti].findings.add(f)
				if !(f.Kind == Orphaned && c.hrSuspect) {
					all = append(all, f)
				}
			}
		}
		var want []Finding
		for _, f := range all {
			if len(c.scope) > 0 && !slices.Contains(c.scope, f.Kind) && f.Kind != GuardTripped {
				continue
			}
			want = append(want, f)
		}
		sortFindingValues(want)
		// The findings are not copied: each is where the run or its
		// list put it, those of a packed chunk where it was unpacked (a
		// copy held every finding twice at the run's peak).
		made := map[*Finding]bool{}
		for _, f := range res.Findings {
			made[f] = true
		}
		for ti := range results {
			for k := range results[ti].findings.open {
				made[&results[ti].findings.open[k]] = true
			}
		}
		packed := 0
		(&Engine{}).finishFindings(RunSpec{AsOf: asOf, Scope: c.scope}, results, res)
		if len(res.Findings) != len(want) {
			t.Fatalf("scope %v, HR suspect %v: %d findings, want %d", c.scope, c.hrSuspect, len(res.Findings), len(want))
		}
		for i, f := range res.Findings {
			if !made[f] {
				packed++
				made[f] = true // a second pointer to it would be found again
			}
			if f.Reason != want[i].Reason || f.Fingerprint != Fingerprint(f.Kind, f.Target, f.AccountID) || !f.FirstSeen.Equal(asOf) || f.Actions == nil {
				t.Fatalf("scope %v, HR suspect %v: finding %d is %+v, want the one of reason %s, fingerprinted, first seen %s", c.scope, c.hrSuspect, i, f, want[i].Reason, asOf)
			}
		}
		if wantPacked := (700/chunkSize + 1400/chunkSize + 2100/chunkSize) * chunkSize; packed > wantPacked {
			t.Fatalf("scope %v, HR suspect %v: %d findings not where the run or a list put them; %d were packed", c.scope, c.hrSuspect, packed, wantPacked)
		}
		for ti := range results {
			if results[ti].findings.Len() != 0 {
				t.Fatalf("target %d's findings are still held", ti)
			}
		}
	}
}

// inParts calls its function on every item once, whatever the count.
func TestInParts(t *testing.T) {
	for _, n := range []int{0, 1, minPart - 1, minPart, minPart + 1, 3*minPart + 7, 100_003} {
		seen := make([]int32, n)
		var calls atomic.Int32
		inParts(n, func(lo, hi int) {
			calls.Add(1)
			if lo >= hi {
				t.Errorf("n=%d: part [%d, %d)", n, lo, hi)
			}
			for i := lo; i < hi; i++ {
				seen[i]++
			}
		})
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("n=%d: item %d seen %d times", n, i, c)
			}
		}
		if want := min(max(n, 1), runtime.GOMAXPROCS(0)); n > 0 && int(calls.Load()) > want {
			t.Errorf("n=%d: %d parts, more than %d", n, calls.Load(), want)
		}
	}
}
