package bamboohr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/accessrecon/accessrecon/sources"
)

// decodeReport streams a custom report ({"fields":[...],"employees":[...]})
// one employee at a time, never holding the whole body. want, when not nil,
// limits the output to employees whose employee ID or internal id it names.
func (s *Source) decodeReport(ctx context.Context, r io.Reader, want map[string]bool, emit func(sources.Person) bool) error {
	dec := json.NewDecoder(r)
	fail := func(err error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("bamboohr: read custom report: %w", ctx.Err())
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("bamboohr: read custom report: %w", err)
	}
	tok, err := dec.Token()
	if err != nil {
		return fail(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("bamboohr: read custom report: want a JSON object, got %v", tok)
	}
	seen := make(map[string]int) // lower-cased employee ID -> record number
	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail(err)
		}
		key, _ := tok.(string)
		if key != "employees" {
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
			return fmt.Errorf("bamboohr: read custom report: employees: want an array, got %v", tok)
		}
		rec := make(map[string]json.RawMessage, 32) // reused: cleared before each employee
		for n := 1; dec.More(); n++ {
			if n%256 == 0 && ctx.Err() != nil {
				return fmt.Errorf("bamboohr: read custom report: %w", ctx.Err())
			}
			clear(rec)
			if err := dec.Decode(&rec); err != nil {
				var te *json.UnmarshalTypeError
				if errors.As(err, &te) {
					return fmt.Errorf("bamboohr: read custom report: employee record %d: not a JSON object", n)
				}
				return fail(fmt.Errorf("employee record %d: %w", n, err))
			}
			if want != nil && !s.wanted(rec, want) {
				continue
			}
			p, err := s.person(rec, n)
			if err != nil {
				return err
			}
			k := strings.ToLower(p.EmployeeID)
			if first, dup := seen[k]; dup {
				return fmt.Errorf("bamboohr: employee %q (record %d, id %s): field %s (employee_id): duplicate employee ID (also record %d)", p.EmployeeID, n, internalID(rec), s.idField, first)
			}
			seen[k] = n
			if !emit(p) {
				return nil
			}
		}
		if _, err := dec.Token(); err != nil { // ']'
			return fail(err)
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return fail(err)
	}
	if !found {
		return errors.New("bamboohr: read custom report: no employees array in the response")
	}
	return nil
}

func (s *Source) wanted(rec map[string]json.RawMessage, want map[string]bool) bool {
	if v, err := text(rec[s.idField]); err == nil && want[strings.ToLower(strings.TrimSpace(v))] {
		return true
	}
	id := internalID(rec)
	return id != "" && want[strings.ToLower(id)]
}

func internalID(rec map[string]json.RawMessage) string {
	v, err := text(rec["id"])
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(v)
}

// person maps one report record onto a Person. Record n is 1-based.
func (s *Source) person(rec map[string]json.RawMessage, n int) (sources.Person, error) {
	var p sources.Person
	id, err := text(rec[s.idField])
	if err != nil {
		return p, fmt.Errorf("bamboohr: employee record %d (id %s): field %s (employee_id): %w", n, internalID(rec), s.idField, err)
	}
	p.EmployeeID = strings.TrimSpace(id)
	if p.EmployeeID == "" {
		return p, fmt.Errorf("bamboohr: employee record %d (id %s): field %s (employee_id): missing employee ID", n, internalID(rec), s.idField)
	}
	bad := func(m mapping, err error) error {
		return fmt.Errorf("bamboohr: employee %q (record %d, id %s): field %s (%s): %w", p.EmployeeID, n, internalID(rec), m.field, m.canon, err)
	}
	for _, m := range s.fields {
		v, err := text(rec[m.field])
		if err != nil {
			return p, bad(m, err)
		}
		if strings.TrimSpace(v) == "0000-00-00" {
			v = "" // BambooHR's "no date"
		}
		if err := p.Set(m.canon, v, s.statusMap, s.location); err != nil {
			return p, bad(m, err)
		}
	}
	return p, nil
}

// text reads a JSON scalar as text: strings as they are, numbers as written,
// null or absent as "". Objects, arrays and booleans are the wrong type.
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
	case '{':
		return "", errors.New("wrong type: got a JSON object, want a string")
	case '[':
		return "", errors.New("wrong type: got a JSON array, want a string")
	case 't', 'f':
		return "", fmt.Errorf("wrong type: got JSON boolean %s, want a string", raw)
	default:
		if _, err := strconv.ParseFloat(string(raw), 64); err != nil {
			return "", fmt.Errorf("wrong type: %s", raw)
		}
		return string(raw), nil
	}
}
