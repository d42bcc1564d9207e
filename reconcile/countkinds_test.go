package reconcile

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// CountKinds counts as a map of pairs does, in the order each pair first
// comes, whether the findings come grouped by kind (as a run's do) or not.
func TestCountKinds(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	dispositions := []Disposition{AutoRevoke, ManualRevoke, Review, Exempt}
	for round := range 200 {
		fs := make([]*Finding, r.IntN(300))
		for i := range fs {
			fs[i] = &Finding{Kind: Kinds[r.IntN(len(Kinds))], Disposition: dispositions[r.IntN(len(dispositions))]}
		}
		if round%2 == 0 {
			slices.SortStableFunc(fs, func(a, b *Finding) int { return slices.Index(Kinds, a.Kind) - slices.Index(Kinds, b.Kind) })
		}
		type pair struct {
			k Kind
			d Disposition
		}
		want, order := map[pair]int{}, []pair{}
		for _, f := range fs {
			p := pair{f.Kind, f.Disposition}
			if want[p] == 0 {
				order = append(order, p)
			}
			want[p]++
		}
		got := CountKinds(fs)
		if len(got) != len(order) {
			t.Fatalf("round %d: %d pairs, want %d", round, len(got), len(order))
		}
		for i, c := range got {
			if p := (pair{c.Kind, c.Disposition}); p != order[i] || c.N != want[p] {
				t.Fatalf("round %d: pair %d is %+v, want %v counted %d", round, i, c, order[i], want[order[i]])
			}
		}
	}
}
