package reconcile

import (
	"maps"
	"runtime"
	"testing"
	"time"
)

// OpenFindings gives back exactly what it was given, whichever way it holds
// it: fingerprints as Fingerprint makes them and times nanoseconds can
// hold compactly, anything else as given; a later Add replaces an earlier
// one either way; All lists each once.
func TestOpenFindings(t *testing.T) {
	day := time.Date(2026, 11, 24, 6, 30, 0, 123456789, time.UTC)
	riyadh := time.FixedZone("+03", 3*3600)
	fp := Fingerprint(Dormant, "app", "u1")
	want := map[string]OpenFinding{
		fp:                                 {FirstSeen: day, JiraKey: "SEC-1"},
		Fingerprint(Orphaned, "app", "u2"): {FirstSeen: day.Add(time.Hour)},
		"00000000000000ff":                 {FirstSeen: day.In(riyadh)},                              // given in another zone
		"00000000000000FF":                 {FirstSeen: day, JiraKey: "SEC-2"},                       // upper case: another fingerprint
		"abc":                              {FirstSeen: day, JiraKey: "SEC-3"},                       // not 16 digits
		"0123456789abcdeg":                 {FirstSeen: day},                                         // not hex
		"1111111111111111":                 {},                                                       // never seen
		"2222222222222222":                 {FirstSeen: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}, // past nanoseconds' reach
		"3333333333333333":                 {FirstSeen: time.Unix(0, 0).UTC(), JiraKey: "SEC-4"},
	}
	o := NewOpenFindings(len(want))
	// Each first with other values, then as wanted: the last Add counts,
	// also when it moves a fingerprint from one way of holding to the
	// other.
	for k := range want {
		o.Add(k, OpenFinding{FirstSeen: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), JiraKey: "OLD-1"})
		o.Add(k, OpenFinding{FirstSeen: day.Add(-time.Minute), JiraKey: "OLD-2"})
	}
	for k, v := range want {
		o.Add(k, v)
	}
	if o.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", o.Len(), len(want))
	}
	for k, v := range want {
		got, ok := o.Get(k)
		if !ok || !got.FirstSeen.Equal(v.FirstSeen) || got.JiraKey != v.JiraKey {
			t.Errorf("Get(%q) = %+v, %v; want %+v", k, got, ok, v)
		}
	}
	if got, _ := o.Get(fp); got.FirstSeen.Location() != time.UTC {
		t.Errorf("first seen in %s, want UTC", got.FirstSeen.Location())
	}
	for _, k := range []string{"", Fingerprint(Dormant, "app", "u3"), "ABC"} {
		if got, ok := o.Get(k); ok {
			t.Errorf("Get(%q) = %+v, but it was never added", k, got)
		}
	}
	all := map[string]OpenFinding{}
	for k, v := range o.All() {
		if _, twice := all[k]; twice {
			t.Errorf("All lists %q twice", k)
		}
		all[k] = v
	}
	if !maps.EqualFunc(all, want, func(a, b OpenFinding) bool { return a.FirstSeen.Equal(b.FirstSeen) && a.JiraKey == b.JiraKey }) {
		t.Errorf("All = %v, want %v", all, want)
	}
	var none *OpenFindings
	if _, ok := none.Get(fp); ok || none.Len() != 0 {
		t.Error("a nil OpenFindings is not empty")
	}
	for range none.All() {
		t.Error("a nil OpenFindings lists something")
	}
}

// BenchmarkOpenFindings reads 183,612 open findings (a 100,000-person day)
// into OpenFindings and, as before, into a map by fingerprint; it reports
// the bytes each holds after a collection.
func BenchmarkOpenFindings(b *testing.B) {
	const n = 183612
	fps := make([]string, n)
	for i := range fps {
		fps[i] = Fingerprint(Dormant, "app", string(rune(i)))
	}
	first := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	b.Run("compact", func(b *testing.B) {
		for b.Loop() {
			o := NewOpenFindings(n)
			for _, fp := range fps {
				o.Add(fp, OpenFinding{FirstSeen: first})
			}
		}
		b.ReportMetric(heldBytes(func() any {
			o := NewOpenFindings(n)
			for _, fp := range fps {
				o.Add(fp, OpenFinding{FirstSeen: first})
			}
			return o
		})/n, "held-B/finding")
	})
	b.Run("map", func(b *testing.B) {
		for b.Loop() {
			m := make(map[string]OpenFinding, n)
			for _, fp := range fps {
				m[string([]byte(fp))] = OpenFinding{FirstSeen: first}
			}
		}
		b.ReportMetric(heldBytes(func() any {
			m := make(map[string]OpenFinding, n)
			for _, fp := range fps {
				m[string([]byte(fp))] = OpenFinding{FirstSeen: first} // a store's row gives a string of its own
			}
			return m
		})/n, "held-B/finding")
	})
}

// heldBytes is how much more the heap holds, after a collection, while
// what fill returns is kept.
func heldBytes(fill func() any) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	kept := fill()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(kept)
	return float64(after.HeapAlloc) - float64(before.HeapAlloc)
}
