package reconcile

import (
	"bytes"
	"encoding/binary"
	"iter"
	"slices"
	"time"
	"unsafe"

	"github.com/accessrecon/accessrecon/targets"
)

// findingList is a target's findings while the targets are collected:
// each full chunk of them packed into a few byte slices. The findings of
// every target, held as Findings until the last target was judged, were
// the largest part of a run's peak of memory: 1.2 GB of the 2.2 GB live
// at a million people, while the HR snapshot every target is judged
// against was still needed. Packed, a dormant account's finding is about
// a hundred bytes instead of about five hundred; the findings are
// unpacked (take) once the targets are done and the HR snapshot is let
// go.
//
// A finding that holds what the codec does not pack (the account the
// executor acts on, an exemption, an outcome) is kept as it is, in its
// place among the others.
type findingList struct {
	packed []packedChunk
	open   []Finding // the findings not packed yet (fewer than chunkSize)
	n      int
	// The packer, kept from one chunk to the next: its scratch, and the
	// zones of the packed findings' times (the chunks number them).
	packer *packer
}

// packedChunk is chunkSize findings, or the list's last few, packed.
//
// code holds, for each finding, a tag (packed or raw) and then its fields
// in the order packer.finding writes them: numbers as varints; a string
// as 0 when it is "", else the first time it comes in the chunk as 1 and
// its length (its bytes appended to text), and then as n+2 for the n-th
// string (from 0) that came first in the chunk. A string findings share (a
// kind, a target, a dormant day's reason) is written once per chunk, and
// shared again once unpacked; those no other finding has (an account's
// ID, a step's instruction) are written without looking (packer.lit).
// (packer.seen finds a string that came before by where its bytes are:
// one with the same bytes elsewhere in memory is written again, as the
// next string.)
type packedChunk struct {
	n int
	// How many facts, steps and EffectiveAt times the packed findings
	// have: each is unpacked into one slice of the chunk's.
	facts, steps, moments int
	strings               int // the chunk's strings (see code)
	code                  []byte
	text                  []byte
	people                []*PersonRef // of the packed findings, in order
	raw                   []Finding    // the findings kept as they are, in order
}

const (
	tagPacked byte = iota
	tagRaw
)

// add appends xs.
func (l *findingList) add(xs ...Finding) {
	for _, x := range xs {
		if l.open == nil {
			l.open = make([]Finding, 0, chunkSize)
		}
		l.open = append(l.open, x)
		l.n++
		if len(l.open) == chunkSize {
			l.pack()
		}
	}
}

// Len is the number of findings.
func (l *findingList) Len() int { return l.n }

// packable says whether f holds nothing but what packer.finding writes.
func packable(f *Finding) bool {
	return f.account == nil && f.Exemption == nil && f.RevokedAt == nil && f.WithinSLA == nil
}

// pack packs the open findings into a chunk of their own.
func (l *findingList) pack() {
	if l.packer == nil {
		l.packer = &packer{}
	}
	p := l.packer
	p.code, p.text, p.strings = p.code[:0], p.text[:0], 0
	p.gen++
	people := p.people[:0]
	c := packedChunk{n: len(l.open)}
	for i := range l.open {
		f := &l.open[i]
		if !packable(f) {
			p.code = append(p.code, tagRaw)
			c.raw = append(c.raw, *f)
			continue
		}
		p.code = append(p.code, tagPacked)
		people = append(people, f.Person)
		p.finding(f)
		c.facts += len(f.Evidence)
		c.steps += len(f.Actions)
		if f.EffectiveAt != nil {
			c.moments++
		}
	}
	// Each of the chunk's slices is its exact size: the scratch grows,
	// the chunks do not.
	c.code, c.text, c.people, c.strings = bytes.Clone(p.code), bytes.Clone(p.text), slices.Clone(people), int(p.strings)
	p.people = people
	clear(people)
	clear(l.open) // what the findings held is the chunk's now
	l.open = l.open[:0]
	l.packed = append(l.packed, c)
}

// take yields every finding in the order added, unpacking each chunk as it
// comes to it and letting its packed form go: the list is empty once take
// begins (a caller that stops early loses the rest). The findings stay
// where take put them; a pointer to one stays valid.
func (l *findingList) take() iter.Seq[*Finding] {
	return func(yield func(*Finding) bool) {
		packed, open := l.packed, l.open
		var locs []*time.Location
		if l.packer != nil {
			locs = l.packer.locs
		}
		*l = findingList{}
		for i := range packed {
			fs := packed[i].unpack(locs)
			packed[i] = packedChunk{}
			for k := range fs {
				if !yield(&fs[k]) {
					return
				}
			}
		}
		for k := range open {
			if !yield(&open[k]) {
				return
			}
		}
	}
}

// packer writes one chunk.
type packer struct {
	code, text []byte
	people     []*PersonRef     // the chunk's packed findings' people
	locs       []*time.Location // every zone written so far, in number order
	// seen finds a string written before in the chunk by where its bytes
	// are, not by what they are: the strings findings share (a kind, a
	// target, a reason made once for many) are one string in memory, and
	// a table keyed by their bytes cost 2.5 CPU-s at a million people,
	// hashing strings no other finding has. A slot holds where the string
	// last seen there is (an address, not a pointer: the chunk's findings
	// hold their strings while it is packed, and a slot keeps nothing
	// alive after); gen tells this chunk's from an earlier one's.
	seen    [1 << packBits]packSlot
	gen     uint32
	strings uint32 // the chunk's strings so far
}

const packBits = 10

type packSlot struct {
	at     uintptr
	n      int
	gen, k uint32
}

func (p *packer) uint(v uint64) { p.code = binary.AppendUvarint(p.code, v) }

// str writes s: its number in the chunk, or its bytes the first time.
func (p *packer) str(s string) {
	if s == "" {
		p.uint(0)
		return
	}
	at := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	slot := &p.seen[uint64(at)*0x9E3779B97F4A7C15>>(64-packBits)]
	if slot.at == at && slot.n == len(s) && slot.gen == p.gen {
		p.uint(uint64(slot.k) + 2)
		return
	}
	*slot = packSlot{at: at, n: len(s), gen: p.gen, k: p.strings}
	p.strings++
	p.uint(1)
	p.uint(uint64(len(s)))
	p.text = append(p.text, s...)
}

// lit writes s, a string no other finding has (an account's ID, a step's
// instruction): its bytes, without looking for it among the chunk's.
func (p *packer) lit(s string) {
	if s == "" {
		p.uint(0)
		return
	}
	p.strings++
	p.uint(1)
	p.uint(uint64(len(s)))
	p.text = append(p.text, s...)
}

// time writes t: 0 for the zero Time, else its zone's number in the
// list (from 1), its Unix seconds (zigzag) and nanoseconds.
func (p *packer) time(t time.Time) {
	if t == (time.Time{}) {
		p.uint(0)
		return
	}
	loc := t.Location()
	k := 0
	for i, l := range p.locs {
		if l == loc {
			k = i + 1
			break
		}
	}
	if k == 0 {
		p.locs = append(p.locs, loc)
		k = len(p.locs)
	}
	p.uint(uint64(k))
	p.code = binary.AppendVarint(p.code, t.Unix())
	p.uint(uint64(t.Nanosecond()))
}

// finding writes every field of f but Person (the chunk's people hold it)
// and those packable leaves empty.
func (p *packer) finding(f *Finding) {
	for _, s := range [...]string{f.Fingerprint, f.AccountID, f.Username, f.DisplayName, f.EmployeeID} {
		p.lit(s)
	}
	for _, s := range [...]string{string(f.Kind), string(f.Severity), f.Target, string(f.Disposition), f.Reason, f.Match,
		f.Tier, f.Elapsed, string(f.Outcome), f.JiraKey} {
		p.str(s)
	}
	p.time(f.FirstSeen)
	if f.EffectiveAt == nil {
		p.uint(0)
	} else {
		p.uint(1)
		p.time(*f.EffectiveAt)
	}
	// A nil slice is 0, else its length + 1: both are written back as
	// they were (the JSON of one is null, of the other []).
	if f.Evidence == nil {
		p.uint(0)
	} else {
		p.uint(uint64(len(f.Evidence)) + 1)
		for _, x := range f.Evidence {
			p.str(x.Key)
			p.str(x.Value)
		}
	}
	if f.Actions == nil {
		p.uint(0)
	} else {
		p.uint(uint64(len(f.Actions)) + 1)
		for _, s := range f.Actions {
			p.str(string(s.Op))
			p.lit(s.Arg)
			p.str(s.Name)
			p.lit(s.Manual)
			if s.Auto {
				p.uint(1)
			} else {
				p.uint(0)
			}
		}
	}
}

// unpacker reads one chunk.
type unpacker struct {
	code    []byte
	text    string // the chunk's strings' bytes, one allocation
	strs    []string
	locs    []*time.Location
	facts   []Fact      // what the chunk's evidence is cut from (its exact size)
	steps   []Step      // the same of steps
	moments []time.Time // what EffectiveAt points at
}

func (u *unpacker) uint() uint64 {
	v, n := binary.Uvarint(u.code)
	if n <= 0 {
		panic("reconcile: a packed finding is cut short")
	}
	u.code = u.code[n:]
	return v
}

func (u *unpacker) str() string {
	switch k := u.uint(); k {
	case 0:
		return ""
	case 1:
	default:
		return u.strs[k-2]
	}
	n := int(u.uint())
	s := u.text[:n]
	u.text = u.text[n:]
	u.strs = append(u.strs, s)
	return s
}

func (u *unpacker) time() time.Time {
	k := u.uint()
	if k == 0 {
		return time.Time{}
	}
	sec, n := binary.Varint(u.code)
	if n <= 0 {
		panic("reconcile: a packed finding is cut short")
	}
	u.code = u.code[n:]
	return time.Unix(sec, int64(u.uint())).In(u.locs[k-1])
}

// unpack returns the chunk's findings.
func (c *packedChunk) unpack(locs []*time.Location) []Finding {
	fs := make([]Finding, c.n)
	// The chunk's text becomes its strings' bytes as it is: nothing
	// writes to it after pack, and the chunk is let go once unpacked.
	var text string
	if len(c.text) > 0 {
		text = unsafe.String(&c.text[0], len(c.text))
	}
	u := &unpacker{code: c.code, text: text, locs: locs, strs: make([]string, 0, c.strings),
		facts: make([]Fact, 0, c.facts), steps: make([]Step, 0, c.steps), moments: make([]time.Time, 0, c.moments)}
	var raw, people int
	for i := range fs {
		f := &fs[i]
		tag := u.code[0]
		u.code = u.code[1:]
		if tag == tagRaw {
			*f = c.raw[raw]
			raw++
			continue
		}
		f.Person = c.people[people]
		people++
		f.Fingerprint, f.AccountID, f.Username, f.DisplayName, f.EmployeeID = u.str(), u.str(), u.str(), u.str(), u.str()
		f.Kind, f.Severity, f.Target, f.Disposition = Kind(u.str()), Severity(u.str()), u.str(), Disposition(u.str())
		f.Reason, f.Match, f.Tier = u.str(), u.str(), u.str()
		f.Elapsed, f.Outcome, f.JiraKey = u.str(), Outcome(u.str()), u.str()
		f.FirstSeen = u.time()
		if u.uint() == 1 {
			u.moments = append(u.moments, u.time())
			f.EffectiveAt = &u.moments[len(u.moments)-1]
		}
		if n := int(u.uint()); n > 0 {
			start := len(u.facts)
			for range n - 1 {
				u.facts = append(u.facts, Fact{Key: u.str(), Value: u.str()})
			}
			f.Evidence = u.facts[start:len(u.facts):len(u.facts)]
		}
		if n := int(u.uint()); n > 0 {
			start := len(u.steps)
			for range n - 1 {
				s := Step{Op: targets.Capability(u.str()), Arg: u.str(), Name: u.str(), Manual: u.str()}
				s.Auto = u.uint() == 1
				u.steps = append(u.steps, s)
			}
			f.Actions = u.steps[start:len(u.steps):len(u.steps)]
		}
	}
	return fs
}
