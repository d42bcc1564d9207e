package reconcile

import (
	"encoding/binary"
	"encoding/hex"
	"iter"
	"time"
)

// OpenFindings is what a store knows of each open finding, by fingerprint:
// when it was first seen and its Jira key. A run reads every open finding
// (1.8 million at a million people) and holds them while it collects, so
// they are held compactly: a fingerprint as Fingerprint makes it (16
// lower-case hex digits) as the 8 bytes it spells, its first-seen time as
// nanoseconds, in a map without pointers that the garbage collector does
// not scan; Jira keys apart, for the findings that have one. Any other
// fingerprint, or a time that nanoseconds cannot hold, is kept as given.
// The zero value is empty; Add needs one made by NewOpenFindings.
type OpenFindings struct {
	first map[uint64]int64  // first seen, UnixNano
	jira  map[uint64]string // the Jira keys there are
	other map[string]OpenFinding
}

// NewOpenFindings returns an empty OpenFindings with room for n.
func NewOpenFindings(n int) *OpenFindings {
	return &OpenFindings{first: make(map[uint64]int64, n), jira: map[uint64]string{}, other: map[string]OpenFinding{}}
}

// fingerprintKey is the 8 bytes fp spells when it is 16 lower-case hex
// digits (as Fingerprint makes it).
func fingerprintKey(fp string) (uint64, bool) {
	if len(fp) != 16 {
		return 0, false
	}
	var k uint64
	for i := 0; i < len(fp); i++ {
		c := fp[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		default:
			return 0, false
		}
		k = k<<4 | uint64(c)
	}
	return k, true
}

// Add records fp's first-seen time and Jira key (replacing any before).
func (o *OpenFindings) Add(fp string, f OpenFinding) {
	k, ok := fingerprintKey(fp)
	n := f.FirstSeen.UnixNano()
	if ok && !f.FirstSeen.IsZero() && time.Unix(0, n).Equal(f.FirstSeen) {
		delete(o.other, fp)
		o.first[k] = n
		if f.JiraKey != "" {
			o.jira[k] = f.JiraKey
		} else {
			delete(o.jira, k)
		}
		return
	}
	if ok {
		delete(o.first, k)
		delete(o.jira, k)
	}
	o.other[fp] = f
}

// Get returns fp's first-seen time (in UTC) and Jira key, and whether fp is
// open.
func (o *OpenFindings) Get(fp string) (OpenFinding, bool) {
	if o == nil {
		return OpenFinding{}, false
	}
	if k, ok := fingerprintKey(fp); ok {
		if n, ok := o.first[k]; ok {
			return OpenFinding{FirstSeen: time.Unix(0, n).UTC(), JiraKey: o.jira[k]}, true
		}
	}
	f, ok := o.other[fp]
	return f, ok
}

// Len is the number of open findings.
func (o *OpenFindings) Len() int {
	if o == nil {
		return 0
	}
	return len(o.first) + len(o.other)
}

// All yields every open finding, in no particular order.
func (o *OpenFindings) All() iter.Seq2[string, OpenFinding] {
	return func(yield func(string, OpenFinding) bool) {
		if o == nil {
			return
		}
		var b [8]byte
		for k, n := range o.first {
			binary.BigEndian.PutUint64(b[:], k)
			if !yield(hex.EncodeToString(b[:]), OpenFinding{FirstSeen: time.Unix(0, n).UTC(), JiraKey: o.jira[k]}) {
				return
			}
		}
		for fp, f := range o.other {
			if !yield(fp, f) {
				return
			}
		}
	}
}
