package reconcile

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"
)

// Evidence is what was seen for a finding: values keyed by what they are,
// each key once. In JSON it is an object with its keys in sorted order,
// byte for byte what encoding/json writes for a map[string]string of the
// same pairs (the findings stored before it was a slice were such maps).
//
// A slice, not a map: a run holds a hundred thousand findings and more,
// and a two-entry map costs some 300 bytes where two pairs cost 64.
type Evidence []Fact

// Fact is one piece of evidence.
type Fact struct {
	Key, Value string
}

// Get returns the value of key ("" when there is none; the last one
// given when the key was given twice, as MarshalJSON and a map keep).
func (ev Evidence) Get(key string) string {
	for i := len(ev) - 1; i >= 0; i-- {
		if ev[i].Key == key {
			return ev[i].Value
		}
	}
	return ""
}

// Set gives key the value v, replacing the value Get returns if there is
// one.
func (ev *Evidence) Set(key, v string) {
	for i := len(*ev) - 1; i >= 0; i-- {
		if (*ev)[i].Key == key {
			(*ev)[i].Value = v
			return
		}
	}
	*ev = append(*ev, Fact{key, v})
}

// Map returns the evidence as a map.
func (ev Evidence) Map() map[string]string {
	m := make(map[string]string, len(ev))
	for _, f := range ev {
		m[f.Key] = f.Value
	}
	return m
}

// Sorted returns the evidence in key order, each key once (with its last
// value, as a map would hold it): ev itself when it already is so.
func (ev Evidence) Sorted() Evidence {
	if slices.IsSortedFunc(ev, func(a, b Fact) int { return cmp.Or(compareFacts(a, b), -1) }) {
		return ev // strictly ascending: no key twice
	}
	s := slices.Clone(ev)
	slices.SortStableFunc(s, compareFacts)
	out := s[:0]
	for i, f := range s {
		if i+1 < len(s) && s[i+1].Key == f.Key {
			continue // a later value of the same key follows
		}
		out = append(out, f)
	}
	return out
}

func compareFacts(a, b Fact) int { return strings.Compare(a.Key, b.Key) }

// MarshalJSON writes the evidence as a JSON object in key order (null when
// nil, as a nil map is).
func (ev Evidence) MarshalJSON() ([]byte, error) {
	n := 2
	for _, f := range ev {
		n += len(f.Key) + len(f.Value) + 6
	}
	return ev.appendJSON(make([]byte, 0, n)), nil
}

// appendJSON appends what MarshalJSON returns.
func (ev Evidence) appendJSON(b []byte) []byte {
	if ev == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	for i, f := range ev.Sorted() {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, f.Key)
		b = append(b, ':')
		b = appendJSONString(b, f.Value)
	}
	return append(b, '}')
}

// UnmarshalJSON reads a JSON object of strings (null leaves ev nil).
func (ev *Evidence) UnmarshalJSON(b []byte) error {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if m == nil {
		*ev = nil
		return nil
	}
	out := make(Evidence, 0, len(m))
	for k, v := range m {
		out = append(out, Fact{k, v})
	}
	slices.SortFunc(out, compareFacts)
	*ev = out
	return nil
}

// jsonPlain says which bytes appendJSONString copies as they are: ASCII
// but control characters, quote, backslash, <, > and &: one look-up a byte
// instead of six comparisons (BenchmarkMarshalFindings -cpu 1: 1,360-1,430
// ns a finding instead of 1,590-1,660).
var jsonPlain = func() (plain [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		plain[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return plain
}()

// appendJSONString appends s as encoding/json's Marshal writes a string:
// quoted, with <, > and & escaped as \u003c, \u003e and \u0026, control
// characters escaped, invalid UTF-8 replaced by \ufffd, and U+2028 and
// U+2029 escaped.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if jsonPlain[s[i]] {
			i++
			continue
		}
		if c := s[i]; c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
