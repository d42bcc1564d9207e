package csv

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/accessrecon/accessrecon/reconcile/gen"
)

// BenchmarkPeopleGen reads a generated HR export of ACCESSRECON_BENCH_PEOPLE
// (default 100,000) people, as the source of a nightly run does.
func BenchmarkPeopleGen(b *testing.B) {
	people := 100000
	if v := os.Getenv("ACCESSRECON_BENCH_PEOPLE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		people = n
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
