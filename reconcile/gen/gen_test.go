package gen

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// The same spec always yields the same data (that is what makes benchmarks
// comparable), a different seed other data, and the CSV files say the same
// as the in-memory source and targets.
func TestReproducible(t *testing.T) {
	spec := Spec{People: 500, Targets: 2, Seed: 3, AsOf: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)}
	if !reflect.DeepEqual(spec.Person(17), spec.Person(17)) {
		t.Fatal("Person(17) differs between two calls")
	}
	a1, ok1 := spec.Account(1, 42)
	a2, ok2 := spec.Account(1, 42)
	if ok1 != ok2 || !reflect.DeepEqual(a1, a2) {
		t.Fatal("Account(1, 42) differs between two calls")
	}
	other := spec
	other.Seed = 4
	same := 0
	for i := range 100 {
		x, _ := spec.Account(0, i)
		y, _ := other.Account(0, i)
		if reflect.DeepEqual(x, y) {
			same++
		}
	}
	if same > 90 {
		t.Fatalf("seed 3 and seed 4 give %d identical accounts of 100", same)
	}

	count := func(tg Target) int {
		n := 0
		for _, err := range tg.Accounts(context.Background()) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}
	n := count(Target{Spec: spec, Index: 0})
	if n < spec.People*9/10 || n > spec.People+spec.Orphans() {
		t.Fatalf("target 0 has %d accounts for %d people", n, spec.People)
	}

	dir := t.TempDir()
	if err := WriteCSV(spec, dir); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(filepath.Join(dir, "app00.csv"))
	if err != nil {
		t.Fatal(err)
	}
	dir2 := t.TempDir()
	if err := WriteCSV(spec, dir2); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(filepath.Join(dir2, "app00.csv"))
	if string(first) != string(second) {
		t.Fatal("two WriteCSV of one spec wrote different files")
	}
	lines := 0
	for _, c := range first {
		if c == '\n' {
			lines++
		}
	}
	if lines != n+1 { // header
		t.Fatalf("app00.csv has %d lines, the in-memory target %d accounts", lines-1, n)
	}
}
