package reconcile

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

// takeAll takes l's findings as values.
func takeAll(l *findingList) []Finding {
	var out []Finding
	for f := range l.take() {
		out = append(out, *f)
	}
	return out
}

// Every field of a Finding comes back from its pack as it went in: a
// finding made with every field set (by reflection, so that a field added
// to Finding and not to the codec fails here), and the same with each of
// the fields packable leaves to a finding kept whole.
func TestPackKeepsEveryField(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	riyadh := time.FixedZone("AST", 3*3600)
	var want []Finding
	var l findingList
	for i := range 3*chunkSize + 17 {
		var f Finding
		fill(t, r, reflect.ValueOf(&f).Elem(), []*time.Location{time.UTC, riyadh, time.Local})
		f.account, f.Exemption, f.RevokedAt, f.WithinSLA = nil, nil, nil, nil
		switch i % 7 {
		case 1:
			f.account = &targets.Account{ID: f.AccountID}
		case 2:
			f.Exemption = &Exemption{Owner: "ops"}
		case 3:
			f.RevokedAt = new(time.Now())
		case 4:
			f.WithinSLA = new(true)
		case 5:
			f.Evidence, f.Actions, f.EffectiveAt, f.Person = nil, nil, nil, nil // nil, not empty
		case 6:
			f.Evidence, f.Actions, f.FirstSeen = Evidence{}, []Step{}, time.Time{}
		}
		want = append(want, f)
		l.add(f)
	}
	if l.Len() != len(want) || len(l.packed) != 3 {
		t.Fatalf("Len %d, %d chunks packed: want %d and 3", l.Len(), len(l.packed), len(want))
	}
	got := takeAll(&l)
	if len(got) != len(want) {
		t.Fatalf("took %d findings, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("finding %d came back as\n%+v\nwant\n%+v", i, got[i], want[i])
		}
		if got[i].account != want[i].account || got[i].Person != want[i].Person || got[i].Exemption != want[i].Exemption {
			t.Fatalf("finding %d: the account, person or exemption it points at is a copy", i)
		}
	}
	if l.Len() != 0 || l.packed != nil || l.open != nil {
		t.Error("the list still holds its findings once taken")
	}
}

// fill sets every field v holds (exported or not) to a value drawn from
// r; a time to one in one of locs.
func fill(t *testing.T, r *rand.Rand, v reflect.Value, locs []*time.Location) {
	if v.Type() == reflect.TypeFor[time.Time]() {
		tm := time.Unix(r.Int64N(4e9)-1e9, r.Int64N(1e9)).In(locs[r.IntN(len(locs))])
		reflect.NewAt(v.Type(), v.Addr().UnsafePointer()).Elem().Set(reflect.ValueOf(tm))
		return
	}
	v = reflect.NewAt(v.Type(), v.Addr().UnsafePointer()).Elem() // settable, unexported or not
	switch v.Kind() {
	case reflect.String:
		// Strings that repeat, one string in memory each (a chunk writes
		// each once), one of them the start of another (the same bytes
		// in memory, a shorter length), and strings of their own.
		const shared = "shared-string"
		if r.IntN(2) == 0 {
			v.SetString([...]string{shared, shared[:6], "shared-1", "shared-2", "shared-3"}[r.IntN(5)])
		} else {
			v.SetString(fmt.Sprint("own-", r.Uint64(), strings.Repeat("é", r.IntN(3))))
		}
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(r.Int64N(1000) - 500)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, r, v.Elem(), locs)
	case reflect.Slice:
		n := 1 + r.IntN(3)
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		for i := range n {
			fill(t, r, v.Index(i), locs)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			fill(t, r, v.Field(i), locs)
		}
	default:
		t.Fatalf("fill: a %s (%s): teach fill and the codec about it", v.Type(), v.Kind())
	}
}

// The findings the judge makes pack small: a dormant account's in about a
// hundred bytes (it was about five hundred as a Finding, with its evidence
// and strings), a terminated person's with its steps in a few hundred; and
// they come back as they were made.
func TestPackJudgedFindings(t *testing.T) {
	asOf := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	const n = 4 * chunkSize
	rows := make([]*PersonRow, n)
	var accounts []targets.Account
	for i := range n {
		rows[i] = &PersonRow{Person: sources.Person{EmployeeID: fmt.Sprintf("E%06d", i), Email: fmt.Sprintf("p%06d@example.com", i),
			FirstName: "Given", LastName: fmt.Sprint("Family", i), Status: sources.Active, JobCode: "ENG", Department: "Engineering",
			HireDate: asOf.AddDate(-3, 0, 0)}}
		if i%4 == 0 {
			rows[i].Status, rows[i].TerminationDate = sources.Terminated, asOf.AddDate(0, 0, -7)
		}
		accounts = append(accounts, targets.Account{ID: fmt.Sprintf("app-%06d", i), Username: fmt.Sprintf("user%06d", i), EmployeeID: rows[i].EmployeeID,
			DisplayName: fmt.Sprint("User ", i), Enabled: true, LoginTracked: true, LastLogin: asOf.AddDate(0, 0, -100-i%300).Add(time.Duration(i) * time.Second),
			Created: asOf.AddDate(-1, 0, 0)})
	}
	people := NewPeople(rows)
	policy := validPolicy(t, Policy{})
	for _, caps := range []targets.Capabilities{{}, allCaps()} { // steps a person's, then accessrecon's
		j := newJudge(asOf, policy, "app", "standard", caps)
		j.people = people
		var l findingList
		var want []Finding
		for i := range accounts {
			fs := j.classify(&accounts[i], Match{Person: rows[i], Via: AttrEmployeeID, Strong: true}, seen{})
			want = append(want, fs...)
			l.add(fs...)
		}
		kinds := map[Kind]int{}
		for _, f := range want {
			kinds[f.Kind]++
		}
		if kinds[Dormant] < n/2 || kinds[TerminatedActive] != n/4 {
			t.Fatalf("the judge found %v", kinds)
		}
		size, raw := 0, 0
		for _, c := range l.packed {
			size += len(c.code) + len(c.text) + 8*len(c.people)
			raw += len(c.raw)
		}
		if caps.Disabler == nil {
			// Every finding packed: a dormant one in ~100 bytes, a
			// terminated person's, with its steps, in ~400.
			if raw > 0 {
				t.Fatalf("%d findings without an automatic step kept whole", raw)
			}
			if limit := 130*kinds[Dormant] + 450*kinds[TerminatedActive]; size > limit {
				t.Errorf("%d findings packed in %d bytes, more than %d", len(want), size, limit)
			}
		} else if raw != kinds[TerminatedActive] {
			t.Fatalf("%d findings kept whole, want the %d with automatic steps", raw, kinds[TerminatedActive])
		}
		got := takeAll(&l)
		if !reflect.DeepEqual(got, want) {
			for i := range want {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("finding %d came back as\n%+v\nwant\n%+v", i, got[i], want[i])
				}
			}
			t.Fatalf("%d findings came back, want %d", len(got), len(want))
		}
	}
}

// judgedFindings are the findings the judge makes of a target's 20
// chunks of accounts: three in four accounts dormant, one in four a
// leaver's.
func judgedFindings(b *testing.B) []Finding {
	asOf := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	const n = 20 * chunkSize
	people := make([]*PersonRow, n)
	accounts := make([]targets.Account, n)
	for i := range n {
		people[i] = &PersonRow{Person: sources.Person{EmployeeID: fmt.Sprintf("E%06d", i), Email: fmt.Sprintf("p%06d@example.com", i),
			FirstName: "Given", LastName: fmt.Sprint("Family", i), Status: sources.Active, JobCode: "ENG", HireDate: asOf.AddDate(-3, 0, 0)}}
		if i%4 == 0 {
			people[i].Status, people[i].TerminationDate = sources.Terminated, asOf.AddDate(0, 0, -7)
		}
		accounts[i] = targets.Account{ID: fmt.Sprintf("app-%06d", i), Username: fmt.Sprintf("user%06d", i), EmployeeID: people[i].EmployeeID,
			DisplayName: fmt.Sprint("User ", i), Enabled: true, LoginTracked: true, LastLogin: asOf.AddDate(0, 0, -100-i%300), Created: asOf.AddDate(-1, 0, 0)}
	}
	j := newJudge(asOf, validPolicy(b, Policy{}), "app", "standard", targets.Capabilities{})
	j.people = NewPeople(people)
	var all []Finding
	for i := range accounts {
		all = append(all, j.classify(&accounts[i], Match{Person: people[i], Via: AttrEmployeeID, Strong: true}, seen{})...)
	}
	return all
}

// BenchmarkPack packs and unpacks a target's findings as the judge makes
// them (judgedFindings).
func BenchmarkPack(b *testing.B) {
	all := judgedFindings(b)
	b.ReportAllocs()
	for b.Loop() {
		var l findingList
		l.add(all...)
		for range l.take() {
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(all)), "ns/finding")
}

// BenchmarkMarshalFindings marshals and hashes a target's findings
// (judgedFindings) as a run does before it saves them, on one processor
// with -cpu 1 (no spool: each body kept).
func BenchmarkMarshalFindings(b *testing.B) {
	all := judgedFindings(b)
	fs := make([]*Finding, len(all))
	for i := range all {
		fs[i] = &all[i]
	}
	hashes := make([]byte, 16*len(fs))
	b.ReportAllocs()
	for b.Loop() {
		if err := marshalFindings(fs, nil, hashes, &keptBodies{n: len(fs)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(all)), "ns/finding")
}
