package workday

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/accessrecon/accessrecon/sources"
)

// entry is one report row, JSON or CSV.
type entry interface {
	// value returns the text of alias; found is false when the entry does
	// not have it. An error means the field has the wrong type.
	value(alias string) (v string, found bool, err error)
}

// collector validates entries one by one: duplicate IDs, the want filter.
type collector struct {
	s    *Source
	want map[string]bool
	seen map[string]int // lower-cased employee ID -> record number
	emit func(sources.Person) bool
}

// add maps entry n; it returns false (and no error) when the consumer stopped.
func (c *collector) add(e entry, n int, where string) (bool, error) {
	if c.want != nil {
		_, id, err := lookup(e, c.s.id)
		if err != nil || !c.want[strings.ToLower(strings.TrimSpace(id))] {
			return true, nil
		}
	}
	p, err := c.s.person(e, where)
	if err != nil {
		return false, err
	}
	k := strings.ToLower(p.EmployeeID)
	if first, dup := c.seen[k]; dup {
		return false, fmt.Errorf("workday: employee %q (%s): field %s (employee_id): duplicate employee ID (also record %d)", p.EmployeeID, where, c.s.id.aliases[0], first)
	}
	c.seen[k] = n
	return c.emit(p), nil
}

// lookup returns the first alias of m that e has with a non-blank value,
// and that value (a CSV report has every column, blank or not).
func lookup(e entry, m mapping) (alias, v string, err error) {
	for _, a := range m.aliases {
		v, found, err := e.value(a)
		if err != nil {
			return a, "", err
		}
		if found && strings.TrimSpace(v) != "" {
			return a, v, nil
		}
	}
	return m.aliases[0], "", nil
}

// person maps one entry onto a Person; where names the entry ("record 3").
func (s *Source) person(e entry, where string) (sources.Person, error) {
	var p sources.Person
	alias, id, err := lookup(e, s.id)
	if err != nil {
		return p, fmt.Errorf("workday: employee %s: field %s (employee_id): %w", where, alias, err)
	}
	p.EmployeeID = strings.TrimSpace(id)
	if p.EmployeeID == "" {
		return p, fmt.Errorf("workday: employee %s: field %s (employee_id): missing employee ID", where, alias)
	}
	for _, m := range s.fields {
		alias, v, err := lookup(e, m)
		bad := func(err error) error {
			return fmt.Errorf("workday: employee %q (%s): field %s (%s): %w", p.EmployeeID, where, alias, m.canon, err)
		}
		if err != nil {
			return p, bad(err)
		}
		if err := p.Set(m.canon, v, s.statusMap, s.location); err != nil {
			return p, bad(err)
		}
	}
	return p, nil
}

// jsonEntry is one Report_Entry element.
type jsonEntry map[string]json.RawMessage

func (e jsonEntry) value(alias string) (string, bool, error) {
	if group, field, ok := strings.Cut(alias, "."); ok {
		raw, ok := e[group]
		if !ok {
			return "", false, nil
		}
		return fromGroup(raw, field)
	}
	if raw, ok := e[alias]; ok {
		v, err := text(raw)
		return v, true, err
	}
	// Not at the top level: look one level into the *_group values.
	var groups []string
	for k := range e {
		if strings.HasSuffix(k, "_group") {
			groups = append(groups, k)
		}
	}
	sort.Strings(groups)
	for _, g := range groups {
		v, found, err := fromGroup(e[g], alias)
		if err != nil || found {
			return v, found, err
		}
	}
	return "", false, nil
}

// fromGroup reads field from the first element of a *_group array (or from a
// *_group object).
func fromGroup(raw json.RawMessage, field string) (string, bool, error) {
	raw = json.RawMessage(strings.TrimSpace(string(raw)))
	if len(raw) == 0 || raw[0] == 'n' {
		return "", false, nil
	}
	var first map[string]json.RawMessage
	switch raw[0] {
	case '[':
		var all []json.RawMessage
		if err := json.Unmarshal(raw, &all); err != nil {
			return "", false, err
		}
		if len(all) == 0 {
			return "", false, nil
		}
		if err := json.Unmarshal(all[0], &first); err != nil {
			return "", false, errors.New("wrong type: group element is not a JSON object")
		}
	case '{':
		if err := json.Unmarshal(raw, &first); err != nil {
			return "", false, err
		}
	default:
		return "", false, errors.New("wrong type: group is not a JSON array or object")
	}
	v, ok := first[field]
	if !ok {
		return "", false, nil
	}
	s, err := text(v)
	return s, true, err
}

// text reads a JSON scalar as text: strings as they are, numbers as written,
// booleans as Workday writes them ("1"/"0"), null as "". Objects and arrays
// are the wrong type.
func text(raw json.RawMessage) (string, error) {
	if len(raw) == 0 {
		return "", nil
	}
	switch raw[0] {
	case '"':
		if len(raw) >= 2 && !strings.ContainsRune(string(raw[1:len(raw)-1]), '\\') {
			return string(raw[1 : len(raw)-1]), nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("bad string: %w", err)
		}
		return s, nil
	case 'n':
		return "", nil
	case 't':
		return "1", nil
	case 'f':
		return "0", nil
	case '{':
		return "", errors.New("wrong type: got a JSON object, want a string")
	case '[':
		return "", errors.New("wrong type: got a JSON array, want a string (map a *_group field as Group_group.Field)")
	default:
		if _, err := strconv.ParseFloat(string(raw), 64); err != nil {
			return "", fmt.Errorf("wrong type: %s", raw)
		}
		return string(raw), nil
	}
}

// decodeJSON streams {"Report_Entry":[{...},...]} one entry at a time.
func (s *Source) decodeJSON(ctx context.Context, r io.Reader, want map[string]bool, emit func(sources.Person) bool) error {
	dec := json.NewDecoder(r)
	fail := func(err error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("workday: read report: %w", ctx.Err())
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("workday: read report: %w", err)
	}
	tok, err := dec.Token()
	if err != nil {
		return fail(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("workday: read report: want a JSON object, got %v", tok)
	}
	c := &collector{s: s, want: want, seen: make(map[string]int), emit: emit}
	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail(err)
		}
		if key, _ := tok.(string); key != "Report_Entry" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fail(err)
			}
			continue
		}
		found = true
		tok, err = dec.Token()
		if err != nil {
			return fail(err)
		}
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return fmt.Errorf("workday: read report: Report_Entry: want an array, got %v", tok)
		}
		e := make(jsonEntry, 32) // reused: cleared before each entry
		for n := 1; dec.More(); n++ {
			if n%256 == 0 && ctx.Err() != nil {
				return fmt.Errorf("workday: read report: %w", ctx.Err())
			}
			clear(e)
			if err := dec.Decode(&e); err != nil {
				var te *json.UnmarshalTypeError
				if errors.As(err, &te) {
					return fmt.Errorf("workday: read report: record %d: not a JSON object", n)
				}
				return fail(fmt.Errorf("record %d: %w", n, err))
			}
			more, err := c.add(e, n, "record "+strconv.Itoa(n))
			if err != nil || !more {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return fail(err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return fail(err)
	}
	if !found {
		return errors.New("workday: read report: no Report_Entry array in the response")
	}
	return nil
}

// csvEntry is one CSV row with the header's column index.
type csvEntry struct {
	cols map[string]int
	rec  []string
}

func (e csvEntry) value(alias string) (string, bool, error) {
	i, ok := e.cols[alias]
	if !ok {
		if _, field, dotted := strings.Cut(alias, "."); dotted {
			i, ok = e.cols[field]
		}
	}
	if !ok {
		return "", false, nil
	}
	return e.rec[i], true, nil
}

// decodeCSV streams the CSV form of the report: a header row of aliases
// (a Group_group.Field mapping reads the column "Group_group.Field" or else
// "Field"), then one row per entry.
func (s *Source) decodeCSV(ctx context.Context, r io.Reader, want map[string]bool, emit func(sources.Person) bool) error {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	fail := func(err error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("workday: read report: %w", ctx.Err())
		}
		return fmt.Errorf("workday: read report: %w", err)
	}
	head, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("workday: read report: empty CSV (no header row)")
		}
		return fail(err)
	}
	cols := make(map[string]int, len(head))
	for i, h := range head {
		h = strings.TrimSpace(h)
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		if _, dup := cols[h]; !dup {
			cols[h] = i
		}
	}
	c := &collector{s: s, want: want, seen: make(map[string]int), emit: emit}
	for n := 1; ; n++ {
		if n%256 == 0 && ctx.Err() != nil {
			return fmt.Errorf("workday: read report: %w", ctx.Err())
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fail(fmt.Errorf("record %d: %w", n, err))
		}
		line, _ := cr.FieldPos(0)
		more, err := c.add(csvEntry{cols: cols, rec: rec}, n, fmt.Sprintf("record %d, line %d", n, line))
		if err != nil || !more {
			return err
		}
	}
}
