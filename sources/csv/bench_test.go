package csv

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/accessrecon/accessrecon/reconcile/gen"
)

// BenchmarkPeopleGen reads a generated HR export of ACCESSRECON_BENCH_PEOPLE
// (default 100,000) people, as the source of a nightly run does.
func BenchmarkPeopleGen(b *testing.B) {
	people, err := gen.PeopleFromEnv(100000)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if err := gen.WriteCSV(gen.Spec{People: people, Targets: 0, Seed: 1, Day: 2}, dir); err != nil {
		b.Fatal(err)
	}
	s, err := New(Config{Path: filepath.Join(dir, "hr.csv")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, err := range s.People(context.Background()) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n < people {
			b.Fatalf("%d people, want at least %d", n, people)
		}
	}
}

// Reading a person costs one allocation (the record's string, which the
// person's fields share), not one per duplicate-check key or row.
func TestAllocationsPerPerson(t *testing.T) {
	const people = 5000
	dir := t.TempDir()
	if err := gen.WriteCSV(gen.Spec{People: people, Targets: 0, Seed: 1, Day: 2}, dir); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Path: filepath.Join(dir, "hr.csv")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	allocs := testing.AllocsPerRun(3, func() {
		n = 0
		for _, err := range s.People(context.Background()) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
	})
	if perRow := allocs / float64(n); perRow > 1.2 {
		t.Errorf("%v allocations for %d people: %.2f per person, want at most 1.2", allocs, n, perRow)
	}
}
