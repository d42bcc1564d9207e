package csv

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/accessrecon/accessrecon/reconcile/gen"
)

// BenchmarkAccountsGen reads a generated export of ACCESSRECON_BENCH_PEOPLE
// (default 100,000) accounts, as one target of a nightly run does.
func BenchmarkAccountsGen(b *testing.B) {
	people, err := gen.PeopleFromEnv(100000)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if err := gen.WriteCSV(gen.Spec{People: people, Targets: 1, Seed: 1, Day: 2}, dir); err != nil {
		b.Fatal(err)
	}
	t, err := New(Config{Path: filepath.Join(dir, gen.TargetName(0)+".csv")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, err := range t.Accounts(context.Background()) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n < people/2 {
			b.Fatalf("%d accounts, want about %d", n, people)
		}
	}
}

// Reading an account costs one allocation (the record's string, which the
// account's fields share), not one per group list or duplicate-check key.
func TestAllocationsPerAccount(t *testing.T) {
	const people = 5000
	dir := t.TempDir()
	if err := gen.WriteCSV(gen.Spec{People: people, Targets: 1, Seed: 1, Day: 2}, dir); err != nil {
		t.Fatal(err)
	}
	tg, err := New(Config{Path: filepath.Join(dir, gen.TargetName(0)+".csv")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	allocs := testing.AllocsPerRun(3, func() {
		n = 0
		for _, err := range tg.Accounts(context.Background()) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
	})
	if perRow := allocs / float64(n); perRow > 1.2 {
		t.Errorf("%v allocations for %d accounts: %.2f per account, want at most 1.2", allocs, n, perRow)
	}
}
