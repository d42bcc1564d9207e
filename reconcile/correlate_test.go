package reconcile

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

func person(id, email string) *PersonRow {
	return &PersonRow{Person: sources.Person{EmployeeID: id, Email: email, Status: sources.Active}}
}

func TestCorrelate(t *testing.T) {
	people := NewPeople([]*PersonRow{
		person("E001", "Alice@Example.com"),
		person("007", "bond@example.com"),
		person("E002", "shared@example.com"),
		person("E003", "shared@example.com"),
		person("E004", "dave@example.com"),
		person("E005", "bob"), // an address without a domain, as some HR exports hold
		person("E006", "bob@example.com"),
		person("E007", "bob@other.example"),
	})
	def := Correlation{}
	if err := def.Validate(); err != nil {
		t.Fatal(err)
	}
	trustEmail := Correlation{Trusted: []string{AttrEmployeeID, AttrEmail}}
	if err := trustEmail.Validate(); err != nil {
		t.Fatal(err)
	}
	byUser := Correlation{Correlate: []string{AttrEmployeeID, AttrUsername}}
	if err := byUser.Validate(); err != nil {
		t.Fatal(err)
	}
	linked := Correlation{Links: map[string]string{"acc-link": "E004", "acc-ghost": "E999"}}
	if err := linked.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		c          Correlation
		a          targets.Account
		wantID     string // "" = no person
		wantVia    string
		strong     bool
		conflict   bool
		candidates []string
		clear      bool
	}{
		{"id trimmed case-insensitive", def, targets.Account{ID: "a", EmployeeID: " e001 "}, "E001", AttrEmployeeID, true, false, nil, true},
		{"leading zeros significant", def, targets.Account{ID: "a", EmployeeID: "7"}, "", "", false, false, nil, false},
		{"leading zeros exact", def, targets.Account{ID: "a", EmployeeID: "007"}, "007", AttrEmployeeID, true, false, nil, true},
		{"email fallback case/space", def, targets.Account{ID: "a", Email: "  ALICE@example.COM "}, "E001", AttrEmail, false, false, nil, false},
		{"email trusted is strong", trustEmail, targets.Account{ID: "a", Email: "alice@example.com"}, "E001", AttrEmail, true, false, nil, true},
		{"own id contradicts email person", def, targets.Account{ID: "a", EmployeeID: "E004", Email: "alice@example.com"}, "E004", AttrEmployeeID, true, true, []string{"E004", "E001"}, false},
		{"id not in HR but email matches", def, targets.Account{ID: "a", EmployeeID: "E999", Email: "alice@example.com"}, "E001", AttrEmail, false, true, nil, false},
		{"ambiguous email", def, targets.Account{ID: "a", Email: "shared@example.com"}, "", AttrEmail, false, false, []string{"E002", "E003"}, false},
		{"id chooses among shared email", def, targets.Account{ID: "a", EmployeeID: "E003", Email: "shared@example.com"}, "E003", AttrEmployeeID, true, false, nil, true},
		{"email is the id person's own", def, targets.Account{ID: "a", EmployeeID: "e004", Email: " Dave@Example.com"}, "E004", AttrEmployeeID, true, false, nil, true},
		{"email without domain names another", def, targets.Account{ID: "a", EmployeeID: "E006", Email: "bob"}, "E006", AttrEmployeeID, true, true, []string{"E006", "E005"}, false},
		{"username is the id person's local part", byUser, targets.Account{ID: "a", EmployeeID: "E001", Username: "ALICE"}, "E001", AttrEmployeeID, true, false, nil, true},
		{"username local part shared by the id person", byUser, targets.Account{ID: "a", EmployeeID: "E007", Username: "bob"}, "E007", AttrEmployeeID, true, false, nil, true},
		{"username names another", byUser, targets.Account{ID: "a", EmployeeID: "E001", Username: "dave"}, "E001", AttrEmployeeID, true, true, []string{"E001", "E004"}, false},
		{"username address is the id person's", byUser, targets.Account{ID: "a", EmployeeID: "E004", Username: "dave@example.com"}, "E004", AttrEmployeeID, true, false, nil, true},
		{"username address names another", byUser, targets.Account{ID: "a", EmployeeID: "E004", Username: "bob@example.com"}, "E004", AttrEmployeeID, true, true, []string{"E004", "E006"}, false},
		{"username is not an address without domain", byUser, targets.Account{ID: "a", EmployeeID: "E005", Username: "bob"}, "", AttrUsername, false, false, []string{"E006", "E007"}, false},
		{"nothing", def, targets.Account{ID: "a", Email: "nobody@example.com"}, "", "", false, false, nil, false},
		{"confirmed link wins", linked, targets.Account{ID: "acc-link", EmployeeID: "E001", Email: "alice@example.com"}, "E004", AttrLink, true, false, nil, true},
		{"link to someone not in HR", linked, targets.Account{ID: "acc-ghost", EmployeeID: "E001"}, "", AttrLink, true, true, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := people.Correlate(&tt.c, tt.a)
			gotID := ""
			if m.Person != nil {
				gotID = m.Person.EmployeeID
			}
			if gotID != tt.wantID {
				t.Errorf("person = %q, want %q (match %+v)", gotID, tt.wantID, m)
			}
			if m.Via != tt.wantVia {
				t.Errorf("via = %q, want %q", m.Via, tt.wantVia)
			}
			if m.Strong != tt.strong {
				t.Errorf("strong = %v, want %v", m.Strong, tt.strong)
			}
			if (m.Conflict != "") != tt.conflict {
				t.Errorf("conflict = %q, want conflict=%v", m.Conflict, tt.conflict)
			}
			if tt.candidates != nil && !slices.Equal(m.Candidates, tt.candidates) {
				t.Errorf("candidates = %v, want %v", m.Candidates, tt.candidates)
			}
			if m.Clear() != tt.clear {
				t.Errorf("clear = %v, want %v", m.Clear(), tt.clear)
			}
		})
	}
}

func TestCorrelationValidate(t *testing.T) {
	c := Correlation{Correlate: []string{"phone"}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `"phone"`) {
		t.Fatalf("Validate = %v, want an error naming phone", err)
	}
}

func TestNormalizeID(t *testing.T) {
	if NormalizeID(" E001 ") != NormalizeID("e001") || NormalizeID("007") == NormalizeID("7") {
		t.Fatal("NormalizeID: trimming/case or leading zeros wrong")
	}
}

// ByID and sameID, which spare the allocation of NormalizeID for ASCII IDs,
// agree with NormalizeID on every ID, ASCII or not, short or long.
func TestIDsWithoutAllocation(t *testing.T) {
	long := strings.Repeat("X", 70)
	ids := []string{"E001", "e001", " E001 ", "e0O1", "007", "7", "", " ", "ÄBC", "äbc", "Straße", "STRASSE", "K", "\u212a", "k",
		long, strings.ToLower(long), long + "ä", "İd", "i̇d", "ID\t", "e\x00"}
	people := make([]*PersonRow, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if n := NormalizeID(id); n != "" && !seen[n] {
			seen[n] = true
			people = append(people, person(strings.TrimSpace(id), ""))
		}
	}
	p := NewPeople(people)
	for _, a := range ids {
		want := p.byID[NormalizeID(a)]
		if got := p.ByID(a); got != want {
			t.Errorf("ByID(%q) = %v, want %v", a, got, want)
		}
		for _, b := range ids {
			if got, want := sameID(a, b), NormalizeID(a) == NormalizeID(b); got != want {
				t.Errorf("sameID(%q, %q) = %v, NormalizeID says %v", a, b, got, want)
			}
		}
	}
}

// lowerASCII gives NormalizeID's answer for every ASCII byte, letters at
// the ends of the alphabet and the bytes beside them included.
func TestLowerASCIIIsNormalizeID(t *testing.T) {
	for c := range 0x80 {
		s := "x" + string(rune(c)) + "y" // inside: not trimmed
		var buf [64]byte
		got, ok := lowerASCII(buf[:0], s)
		if !ok || string(got) != NormalizeID(s) {
			t.Errorf("lowerASCII(%q) = %q, %v; NormalizeID: %q", s, got, ok, NormalizeID(s))
		}
	}
	people := NewPeople([]*PersonRow{person("AZ-09", ""), person("@[`{", "")})
	for _, id := range []string{"AZ-09", "az-09", "Az-09", "@[`{"} {
		if p := people.ByID(id); p == nil {
			t.Errorf("ByID(%q) found nobody", id)
		}
	}
	if p := people.ByID("`{@["); p != nil {
		t.Errorf("ByID(%q) = %s", "`{@[", p.EmployeeID)
	}
}

// Correlating an account costs no allocation when its employee ID is
// ASCII, whatever its case (the nightly run correlates a million), and
// NormalizeID none when the ID is already normal.
func TestCorrelateAllocs(t *testing.T) {
	people := NewPeople([]*PersonRow{person("E001", "alice@example.com"), person("E002", "bob@example.com")})
	c := Correlation{}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	a := targets.Account{ID: "u1", EmployeeID: "E001", Email: "alice@example.com", Username: "alice"}
	if n := testing.AllocsPerRun(100, func() {
		if m := people.Correlate(&c, a); !m.Clear() {
			t.Fatalf("no clear match: %+v", m)
		}
	}); n != 0 {
		t.Errorf("Correlate: %v allocations, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = NormalizeID("e001") }); n != 0 {
		t.Errorf("NormalizeID of a normal ID: %v allocations, want 0", n)
	}
}

// BenchmarkCorrelate correlates 100,000 accounts, each with its owner's
// employee ID and address, against 100,000 people (a generated day's
// target): the common case, where the address only confirms the match.
func BenchmarkCorrelate(b *testing.B) {
	const n = 100000
	rows := make([]*PersonRow, n)
	accts := make([]targets.Account, n)
	for i := range n {
		id, email := fmt.Sprintf("E%06d", i), fmt.Sprintf("user%06d@example.com", i)
		rows[i] = person(id, email)
		accts[i] = targets.Account{ID: fmt.Sprint(i), EmployeeID: id, Email: email}
	}
	p := NewPeople(rows)
	var c Correlation
	if err := c.Validate(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, a := range accts {
			if m := p.Correlate(&c, a); !m.Clear() {
				b.Fatalf("account %s: %+v", a.ID, m)
			}
		}
	}
}

// BenchmarkNewPeople indexes 100,000 people: every target of a run waits
// for it.
func BenchmarkNewPeople(b *testing.B) {
	rows := make([]*PersonRow, 100000)
	for i := range rows {
		rows[i] = person(fmt.Sprintf("E%06d", i), fmt.Sprintf("user%06d@example.com", i))
	}
	b.ReportAllocs()
	for b.Loop() {
		if p := NewPeople(rows); p.Len() != len(rows) {
			b.Fatalf("%d people indexed, want %d", p.Len(), len(rows))
		}
	}
}

// Each person is found by their employee ID in any case and spacing, the
// IDs that are not ASCII too, and the people of a shared address or local
// part are all in its entry, in HR's order.
func TestPeopleIndex(t *testing.T) {
	rows := []*PersonRow{person("E001", "a@example.com"), person(" e002 ", "shared@example.com"), person("É003", "Shared@Example.com"),
		person("Straße4", "shared@other.example"), person("X5", "")}
	p := NewPeople(rows)
	for _, c := range []struct{ id, want string }{{"e001", "E001"}, {" E002", " e002 "}, {"é003", "É003"}, {"É003 ", "É003"},
		{"STRASSE4", ""}, {"straße4", "Straße4"}, {"x5", "X5"}, {"E00", ""}, {"", ""}} {
		got := ""
		if x := p.ByID(c.id); x != nil {
			got = x.EmployeeID
		}
		if got != c.want {
			t.Errorf("ByID(%q) = %q, want %q", c.id, got, c.want)
		}
	}
	ids := func(xs []*PersonRow) (out []string) {
		for _, x := range xs {
			out = append(out, x.EmployeeID)
		}
		return out
	}
	var buf [1]*PersonRow
	if got := ids(p.byEmail["shared@example.com"].list(&buf)); !slices.Equal(got, []string{" e002 ", "É003"}) {
		t.Errorf("shared address: %q", got)
	}
	if got := ids(p.byEmail["a@example.com"].list(&buf)); !slices.Equal(got, []string{"E001"}) {
		t.Errorf("one address: %q", got)
	}
	if got := ids(p.users()["shared"].list(&buf)); !slices.Equal(got, []string{" e002 ", "É003", "Straße4"}) {
		t.Errorf("shared local part: %q", got)
	}
	if got := p.byEmail[""].list(&buf); got != nil || len(p.byEmail) != 3 {
		t.Errorf("no address indexed as %v; %d addresses", ids(got), len(p.byEmail))
	}
}

// Every finding of a person of the run shares one PersonRef, made once
// even when targets ask at the same time; anyone else gets their own.
// Each says what HR says of the person.
func TestPersonRefShared(t *testing.T) {
	term := person("E1", "a@example.com")
	term.Status, term.TerminationDate, term.JobCode, term.Department = sources.Terminated, time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC), "OPS", "Dept1"
	active := person("E2", "b@example.com")
	people := NewPeople([]*PersonRow{term, active})
	refs := make([]*PersonRef, 8)
	var wg sync.WaitGroup
	for i := range refs {
		wg.Go(func() { refs[i] = people.ref(term) })
	}
	wg.Wait()
	for _, r := range refs {
		if r != refs[0] {
			t.Fatal("two findings of one person got PersonRefs of their own")
		}
	}
	want := PersonRef{EmployeeID: "E1", Name: term.Name(), Email: "a@example.com", Status: sources.Terminated, JobCode: "OPS", Department: "Dept1"}
	if got := *refs[0]; got.TerminationDate == nil || !got.TerminationDate.Equal(term.TerminationDate) {
		t.Fatalf("termination date %v, want %s", got.TerminationDate, term.TerminationDate)
	} else if got.TerminationDate = nil; got != want {
		t.Fatalf("PersonRef %+v, want %+v", got, want)
	}
	if r := people.ref(active); r == refs[0] || r.EmployeeID != "E2" || r.TerminationDate != nil || people.ref(active) != r {
		t.Fatalf("the other person's PersonRef: %+v", r)
	}
	stranger := person("E1", "a@example.com") // the same ID, not one of the run's people
	if r := people.ref(stranger); r == refs[0] || r.EmployeeID != "E1" {
		t.Fatalf("someone not of the run shares a PersonRef: %+v", r)
	}
	if r := (*People)(nil).ref(term); r == refs[0] || r.TerminationDate == nil {
		t.Fatalf("without people: %+v", r)
	}
}

// A PersonRef says what HR said of the person, in strings of its own: not
// cut from the record the source read, which the findings would keep
// alive after the HR snapshot is let go.
func TestPersonRefOwnsItsStrings(t *testing.T) {
	line := "E042,ada@example.com,Ada,Lovelace,ENG,Engineering," + strings.Repeat("x", 4096)
	f := strings.Split(line, ",")
	x := &PersonRow{Person: sources.Person{EmployeeID: f[0], Email: f[1], FirstName: f[2], LastName: f[3], JobCode: f[4], Department: f[5],
		Status: sources.Terminated, TerminationDate: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}}
	r := personRef(x)
	want := PersonRef{EmployeeID: "E042", Name: x.Name(), Email: "ada@example.com", Status: sources.Terminated, JobCode: "ENG", Department: "Engineering",
		TerminationDate: &x.TerminationDate}
	if !reflect.DeepEqual(*r, want) {
		t.Fatalf("personRef = %+v, want %+v", *r, want)
	}
	start := uintptr(unsafe.Pointer(unsafe.StringData(line)))
	for _, s := range []string{r.EmployeeID, r.Name, r.Email, r.JobCode, r.Department} {
		if at := uintptr(unsafe.Pointer(unsafe.StringData(s))); at >= start && at < start+uintptr(len(line)) {
			t.Errorf("%q is cut from the source's line", s)
		}
	}
}
