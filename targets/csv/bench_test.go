package csv

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/accessrecon/accessrecon/reconcile/gen"
)

// BenchmarkAccountsGen reads a generated export of ACCESSRECON_BENCH_PEOPLE
// (default 100,000) accounts, as one target of a nightly run does.
func BenchmarkAccountsGen(b *testing.B) {
	people := 100000
	if v := os.Getenv("ACCESSRECON_BENCH_PEOPLE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		people = n
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
