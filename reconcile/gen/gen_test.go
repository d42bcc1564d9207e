package gen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/sources"
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

// Day d is day d-1 with about 0.1% of the accounts changed, a few leavers
// and joiners; day 0 and day 1 are the same data set.
func TestDays(t *testing.T) {
	base := Spec{People: 20000, Targets: 2, Seed: 5}
	d1, d2, d3 := base, base, base
	d1.Day, d2.Day, d3.Day = 1, 2, 3
	if !d2.DayAsOf().Equal(base.DayAsOf().AddDate(0, 0, 1)) {
		t.Fatalf("day 2 as of %v, day 1 as of %v", d2.DayAsOf(), base.DayAsOf())
	}
	accounts := func(s Spec, tg int) map[string]string {
		out := map[string]string{}
		for a, err := range (Target{Spec: s, Index: tg}).Accounts(context.Background()) {
			if err != nil {
				t.Fatal(err)
			}
			out[a.ID] = fmt.Sprintf("%+v", a)
		}
		return out
	}
	people := func(s Spec) map[string]sources.Person {
		out := map[string]sources.Person{}
		for p, err := range (Source{Spec: s}).People(context.Background()) {
			if err != nil {
				t.Fatal(err)
			}
			out[p.EmployeeID] = p
		}
		return out
	}
	if !reflect.DeepEqual(accounts(base, 1), accounts(d1, 1)) || !reflect.DeepEqual(people(base), people(d1)) {
		t.Fatal("day 0 and day 1 differ")
	}
	for _, pair := range [][2]Spec{{d1, d2}, {d2, d3}} {
		prev, cur := pair[0], pair[1]
		for tg := range 2 {
			a, b := accounts(prev, tg), accounts(cur, tg)
			changed, added := 0, 0
			for id, x := range b {
				if y, ok := a[id]; !ok {
					added++
				} else if x != y {
					changed++
				}
			}
			if len(b)-added != len(a) {
				t.Fatalf("day %d target %d: %d accounts of day %d gone", cur.Day, tg, len(a)-(len(b)-added), prev.Day)
			}
			// 0.1% of ~20,000 accounts is 20 (a change may undo nothing
			// visible, e.g. removing a group from none: a few less).
			if changed < 8 || changed > 40 {
				t.Fatalf("day %d target %d: %d of %d accounts changed, want about 0.1%%", cur.Day, tg, changed, len(a))
			}
			if added < 1 || added > cur.JoinersPerDay() {
				t.Fatalf("day %d target %d: %d accounts added, want the day's joiners (%d)", cur.Day, tg, added, cur.JoinersPerDay())
			}
		}
		a, b := people(prev), people(cur)
		if len(b) != len(a)+cur.JoinersPerDay() {
			t.Fatalf("day %d has %d people, day %d had %d: want %d joiners", cur.Day, len(b), prev.Day, len(a), cur.JoinersPerDay())
		}
		leavers := 0
		for id, p := range a {
			q := b[id]
			switch {
			case q == p:
			case p.Status != sources.Terminated && q.Status == sources.Terminated && q.TerminationDate.Equal(cur.DayAsOf()):
				leavers++
			default:
				t.Fatalf("day %d: %s changed other than by leaving: %+v -> %+v", cur.Day, id, p, q)
			}
		}
		if leavers == 0 || leavers > 10 {
			t.Fatalf("day %d: %d leavers of %d people, want about 0.01%%", cur.Day, leavers, len(a))
		}
	}
}

// A shuffled spec lists the same people and accounts, each once, out of ID
// order (no two neighbours in the list neighbours by ID), in the same order
// every day, the day's joiners last.
func TestShuffled(t *testing.T) {
	for _, people := range []int{1, 2, 3, 200, 1000, 20000} {
		inOrder := Spec{People: people, Targets: 1, Seed: 5, Day: 2}
		shuffled := inOrder
		shuffled.Shuffled = true
		for _, c := range []struct {
			what     string
			got, ids func() []int
		}{
			{"people", func() []int { return slices.Collect(shuffled.PersonIndexes()) }, func() []int { return slices.Collect(inOrder.PersonIndexes()) }},
			{"accounts", func() []int { return slices.Collect(shuffled.AccountIndexes(1)) }, func() []int { return slices.Collect(inOrder.AccountIndexes(1)) }},
		} {
			got, want := c.got(), c.ids()
			joiners := inOrder.JoinersPerDay()
			base := len(want) - joiners
			if !slices.Equal(got[base:], want[base:]) {
				t.Errorf("%d people: the %s' joiners %v, want them last in order %v", people, c.what, got[base:], want[base:])
			}
			near := 0
			for k := 1; k < base; k++ {
				if d := got[k] - got[k-1]; d == 1 || d == -1 {
					near++
				}
			}
			if base >= 100 && near > 0 {
				t.Errorf("%d people: %d of the %s listed next to their neighbour by ID", people, near, c.what)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%d people: the %s listed are not the same set", people, c.what)
			}
		}
	}
	// Each file in an order of its own.
	sp := Spec{People: 20000, Targets: 2, Seed: 5, Shuffled: true}
	hr, t0, t1 := slices.Collect(sp.PersonIndexes()), slices.Collect(sp.AccountIndexes(0)), slices.Collect(sp.AccountIndexes(1))
	if slices.Equal(hr[:100], t0[:100]) || slices.Equal(t0[:100], t1[:100]) {
		t.Errorf("HR, target 0 and target 1 list in the same order: %v, %v, %v", hr[:5], t0[:5], t1[:5])
	}
	// The same order every day.
	d1 := Spec{People: 1000, Targets: 1, Seed: 5, Day: 1, Shuffled: true}
	d3 := d1
	d3.Day = 3
	first := slices.Collect(d1.AccountIndexes(0))
	if later := slices.Collect(d3.AccountIndexes(0)); !slices.Equal(later[:len(first)], first) {
		t.Error("day 3 lists day 1's accounts in another order")
	}
}
