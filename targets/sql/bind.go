package sqltarget

import (
	"fmt"
	"slices"
	"strings"
)

// statement is a configured statement with its named parameters replaced by
// the driver's positional placeholders.
type statement struct {
	text  string   // as configured, for messages
	query string   // with placeholders
	names []string // parameter name of each placeholder, in order
}

// compile replaces :name parameters (outside string literals, quoted
// identifiers and comments; a PostgreSQL cast such as x::text is left alone)
// by placeholders. Every parameter must be one of allowed, and every allowed
// parameter must be used: a disable statement without :account_id would
// disable everyone.
//
// We bind ourselves rather than with sqlx.Named because sqlx turns "::" into
// ":", which breaks PostgreSQL casts.
func compile(text string, allowed []string, bind int) (*statement, error) {
	d := dialect{bind: bind}
	st := &statement{text: text}
	var b strings.Builder
	s := text
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for j < len(s) {
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c { // doubled quote
						j += 2
						continue
					}
					break
				}
				j++
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated %c quote", c)
			}
			b.WriteString(s[i : j+1])
			i = j + 1
		case c == '-' && strings.HasPrefix(s[i:], "--"):
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				j = len(s) - i
			}
			b.WriteString(s[i : i+j])
			i += j
		case c == '/' && strings.HasPrefix(s[i:], "/*"):
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				return nil, fmt.Errorf("unterminated /* comment")
			}
			b.WriteString(s[i : i+2+j+2])
			i += 2 + j + 2
		case c == ':' && i+1 < len(s) && s[i+1] == ':':
			b.WriteString("::")
			i += 2
		case c == ':' && i+1 < len(s) && identStart(s[i+1]):
			j := i + 1
			for j < len(s) && identPart(s[j]) {
				j++
			}
			name := s[i+1 : j]
			if !slices.Contains(allowed, name) {
				return nil, fmt.Errorf("unknown parameter :%s (this statement takes %s)", name, params(allowed))
			}
			st.names = append(st.names, name)
			b.WriteString(d.placeholder(len(st.names)))
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	for _, name := range allowed {
		if !slices.Contains(st.names, name) {
			return nil, fmt.Errorf("must use :%s (this statement takes %s)", name, params(allowed))
		}
	}
	st.query = b.String()
	return st, nil
}

func params(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = ":" + n
	}
	return strings.Join(out, " and ")
}

func identStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func identPart(c byte) bool { return identStart(c) || (c >= '0' && c <= '9') }

// args returns the placeholder arguments for values.
func (st *statement) args(d dialect, values map[string]string) []any {
	out := make([]any, len(st.names))
	for i, n := range st.names {
		out[i] = d.arg(i+1, values[n])
	}
	return out
}
