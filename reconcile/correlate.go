package reconcile

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/accessrecon/accessrecon/targets"
)

// NormalizeID is the comparison form of an employee ID: trimmed and
// case-folded; leading zeros stay significant ("007" is not "7").
func NormalizeID(id string) string { return strings.ToLower(strings.TrimSpace(id)) }

func normalizeEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

// The attributes an account may be correlated on.
const (
	AttrEmployeeID = "employee_id"
	AttrEmail      = "email"
	AttrUsername   = "username"
	AttrLink       = "link"
)

// Link is a confirmed manual link of an account to a person.
type Link struct {
	Target     string
	AccountID  string
	EmployeeID string
}

// People is the HR snapshot of a run, indexed for correlation.
type People struct {
	all     []*PersonRow
	byID    map[string]*PersonRow
	byEmail map[string]personSet
	// byUser indexes the local part of email addresses, for targets that
	// correlate on username: made the first time one does (userOnce).
	byUser   map[string]personSet
	userOnce sync.Once
	// conflicts holds the people whose HR sources disagree (normalised
	// employee IDs): nothing of theirs is revoked.
	conflicts map[string]bool
	// refs holds each person's PersonRef once a finding needed it (by
	// their place in all, PersonRow.at): the findings of one person, on
	// every target, share it.
	refs []atomic.Pointer[PersonRef]
}

// personSet is the people of one index entry: one, or (more set) several.
// Most entries hold one person, who costs no slice of their own; a set is
// two words, the slice behind a pointer (a slice in each entry made the
// index of a million people's email addresses 108 MB).
type personSet struct {
	one  *PersonRow
	more *[]*PersonRow // every person of the entry, when there are several
}

// add adds x to the set.
func (s personSet) add(x *PersonRow) personSet {
	switch {
	case s.one == nil:
		s.one = x
	case s.more == nil:
		s.more = &[]*PersonRow{s.one, x}
	default:
		*s.more = append(*s.more, x)
	}
	return s
}

// list is the people of the set, in buf when there is one.
func (s personSet) list(buf *[1]*PersonRow) []*PersonRow {
	switch {
	case s.more != nil:
		return *s.more
	case s.one != nil:
		buf[0] = s.one
		return buf[:]
	}
	return nil
}

// NewPeople indexes a snapshot. Employee IDs must already be unique. It
// numbers the rows (numberRows), then indexes them (indexPeople).
func NewPeople(people []*PersonRow) *People {
	numberRows(people)
	return indexPeople(people)
}

// numberRows records each row's place in people (PersonRow.at), where
// People.ref finds the row's PersonRef. It writes to the rows: never while
// anything else reads them (the engine numbers its snapshot before the
// snapshot is saved and indexed at once).
func numberRows(people []*PersonRow) {
	for i, x := range people {
		x.at = int32(i)
	}
}

// indexPeople indexes rows numbered by numberRows, only reading them. The
// two indexes every run uses are made side by side: the targets wait for
// them.
func indexPeople(people []*PersonRow) *People {
	p := &People{all: people, refs: make([]atomic.Pointer[PersonRef], len(people))}
	var wg sync.WaitGroup
	wg.Go(func() {
		p.byID = make(map[string]*PersonRow, len(people))
		for i, k := range idKeys(len(people), func(i int) string { return people[i].EmployeeID }) {
			p.byID[k] = people[i]
		}
	})
	p.byEmail = make(map[string]personSet, len(people))
	for _, x := range people {
		if e := normalizeEmail(x.Email); e != "" {
			p.byEmail[e] = p.byEmail[e].add(x)
		}
	}
	wg.Wait()
	return p
}

// ref returns the PersonRef of x, which findings only read: the same one
// for every finding of a person of p (a hundred and thirty bytes a finding
// otherwise, most of a person's findings being on several targets), a new
// one for anyone else (p nil, or x not one of its people).
func (p *People) ref(x *PersonRow) *PersonRef {
	if p == nil {
		return personRef(x)
	}
	i := int(x.at)
	if i >= len(p.all) || p.all[i] != x {
		return personRef(x)
	}
	if r := p.refs[i].Load(); r != nil {
		return r
	}
	p.refs[i].CompareAndSwap(nil, personRef(x)) // the first of targets asking at once wins
	return p.refs[i].Load()
}

// personRef is what a finding says of x. Its strings are copied, into
// one allocation: a source's strings may be cut from the whole record it
// read (a CSV line), which the findings would otherwise keep once the HR
// snapshot is let go.
func personRef(x *PersonRow) *PersonRef {
	parts := [...]string{x.EmployeeID, x.Name(), x.Email, x.JobCode, x.Department}
	text := strings.Join(parts[:], "")
	for i, p := range parts {
		parts[i], text = text[:len(p)], text[len(p):]
	}
	r := &PersonRef{EmployeeID: parts[0], Name: parts[1], Email: parts[2], Status: x.Status, JobCode: parts[3], Department: parts[4]}
	if !x.TerminationDate.IsZero() {
		td := x.TerminationDate
		r.TerminationDate = &td
	}
	return r
}

// idKeys returns the normalised form (NormalizeID) of the n IDs id gives,
// all in one string: a hundred thousand keys of a map, one allocation.
func idKeys(n int, id func(i int) string) []string {
	var b []byte
	ends := make([]int, n)
	for i := range n {
		s := strings.TrimSpace(id(i))
		if k, ok := lowerASCII(slices.Grow(b, len(s)), s); ok {
			b = k
		} else {
			b = append(b, NormalizeID(s)...)
		}
		ends[i] = len(b)
	}
	all, keys, start := string(b), make([]string, n), 0
	for i, end := range ends {
		keys[i], start = all[start:end], end
	}
	return keys
}

// users is the index of local parts.
func (p *People) users() map[string]personSet {
	p.userOnce.Do(func() {
		p.byUser = map[string]personSet{}
		for _, x := range p.all {
			e := normalizeEmail(x.Email)
			if i := strings.IndexByte(e, '@'); i > 0 {
				p.byUser[e[:i]] = p.byUser[e[:i]].add(x)
			}
		}
	})
	return p.byUser
}

// Len is the number of people.
func (p *People) Len() int { return len(p.byID) }

// ByID finds a person by employee ID. It allocates nothing for an ASCII ID
// (it runs for every account).
func (p *People) ByID(id string) *PersonRow {
	x, _ := byNormalID(p.byID, id)
	return x
}

// byNormalID looks id up in m, whose keys are normalised IDs
// (NormalizeID), without allocating for an ASCII ID.
func byNormalID[V any](m map[string]V, id string) (V, bool) {
	var buf [64]byte
	if k, ok := lowerASCII(buf[:0], strings.TrimSpace(id)); ok {
		v, found := m[string(k)] // indexing with string(k) does not allocate
		return v, found
	}
	v, found := m[NormalizeID(id)]
	return v, found
}

// lowerASCII appends s lower-cased to dst when s is ASCII and fits in dst's
// capacity (then the result is NormalizeID's of s, trimmed).
func lowerASCII(dst []byte, s string) ([]byte, bool) {
	if len(s) > cap(dst)-len(dst) {
		return dst, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80:
			return dst, false
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst, true
}

// sameID says whether two employee IDs are the same once normalised,
// without allocating for ASCII IDs.
func sameID(a, b string) bool {
	var ba, bb [64]byte
	ka, okA := lowerASCII(ba[:0], strings.TrimSpace(a))
	kb, okB := lowerASCII(bb[:0], strings.TrimSpace(b))
	if okA && okB {
		return string(ka) == string(kb)
	}
	return NormalizeID(a) == NormalizeID(b)
}

// indexedUnder says whether x is in the entry of key in byEmail (local
// false: key is a normalised address) or in byUser (local true: key is a
// local part). The person an earlier attribute found is then in the entry,
// which can neither contradict nor add to the match: for most accounts
// this spares a second lookup in a map as large as HR.
func indexedUnder(x *PersonRow, key string, local bool) bool {
	if x == nil {
		return false
	}
	e := normalizeEmail(x.Email)
	if !local {
		return e == key
	}
	i := strings.IndexByte(e, '@')
	return i > 0 && e[:i] == key
}

// Match is the outcome of correlating one account.
type Match struct {
	Person *PersonRow
	// Via is the attribute that found Person.
	Via string
	// Strong: found through a trusted attribute or a confirmed link.
	Strong bool
	// Conflict explains a contradiction (the account's own employee ID names
	// someone else, or nobody HR knows): never acted upon.
	Conflict string
	// Candidates lists the employee IDs when more than one person matched.
	Candidates []string
}

// Clear says whether the match may lead to revocation.
func (m Match) Clear() bool {
	return m.Person != nil && m.Strong && m.Conflict == "" && len(m.Candidates) == 0
}

// Correlation is one target's correlation settings.
type Correlation struct {
	Target    string
	Correlate []string // attributes tried in order (default employee_id, email)
	Trusted   []string // attributes whose match is strong (default employee_id)
	Links     map[string]string
}

// Validate checks the attribute names.
func (c *Correlation) Validate() error {
	if len(c.Correlate) == 0 {
		c.Correlate = []string{AttrEmployeeID, AttrEmail}
	}
	if len(c.Trusted) == 0 {
		c.Trusted = []string{AttrEmployeeID}
	}
	for _, a := range append(slices.Clone(c.Correlate), c.Trusted...) {
		switch a {
		case AttrEmployeeID, AttrEmail, AttrUsername:
		default:
			return fmt.Errorf("unknown correlation attribute %q (employee_id, email, username)", a)
		}
	}
	return nil
}

// Correlate finds the person an account belongs to.
func (p *People) Correlate(c *Correlation, a targets.Account) Match {
	ownID := strings.TrimSpace(a.EmployeeID)
	if eid, ok := c.Links[a.ID]; ok {
		m := Match{Person: p.ByID(eid), Via: AttrLink, Strong: true}
		if m.Person == nil {
			m.Conflict = fmt.Sprintf("linked to employee %s, who is not in HR", eid)
		}
		return m
	}
	var m Match
	var buf [1]*PersonRow
	for _, attr := range c.Correlate {
		var found []*PersonRow
		switch attr {
		case AttrEmployeeID:
			if ownID != "" {
				if x := p.ByID(ownID); x != nil {
					found = append(buf[:0], x)
				}
			}
		case AttrEmail:
			if e := normalizeEmail(a.Email); e != "" && !indexedUnder(m.Person, e, false) {
				found = p.byEmail[e].list(&buf)
			}
		case AttrUsername:
			if u := normalizeEmail(a.Username); u != "" {
				if i := strings.IndexByte(u, '@'); i > 0 {
					if !indexedUnder(m.Person, u, false) {
						found = p.byEmail[u].list(&buf)
					}
				} else if !indexedUnder(m.Person, u, true) {
					found = p.users()[u].list(&buf)
				}
			}
		}
		switch {
		case len(found) == 0:
			continue
		case len(found) > 1 && m.Person != nil && slices.Contains(found, m.Person):
			continue // an earlier attribute already chose among them
		case len(found) > 1:
			ids := make([]string, len(found))
			for i, x := range found {
				ids[i] = x.EmployeeID
			}
			slices.Sort(ids)
			return Match{Via: attr, Candidates: ids}
		}
		x := found[0]
		if m.Person == nil {
			m = Match{Person: x, Via: attr, Strong: slices.Contains(c.Trusted, attr)}
			continue
		}
		if m.Person != x {
			m.Conflict = fmt.Sprintf("%s matches employee %s but %s matches employee %s", m.Via, m.Person.EmployeeID, attr, x.EmployeeID)
			m.Candidates = []string{m.Person.EmployeeID, x.EmployeeID}
			return m
		}
	}
	if m.Person != nil && ownID != "" && !sameID(ownID, m.Person.EmployeeID) {
		m.Conflict = fmt.Sprintf("account's employee ID %s contradicts employee %s found by %s", ownID, m.Person.EmployeeID, m.Via)
	}
	return m
}
