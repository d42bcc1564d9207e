package targets

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Redacted replaces a secret in text.
const Redacted = "REDACTED"

// ExcerptLen is how much of an upstream body an error keeps.
const ExcerptLen = 300

// minSecretLen is the shortest value a Redactor removes: shorter ones would
// mangle ordinary text, and are no secret worth the name.
const minSecretLen = 4

// Redactor removes secrets from text that came from upstream (an error body,
// an echoed header): each secret's plain value, its URL- and JSON-escaped
// forms, and any base64 run (standard or URL alphabet, padded or not) that
// encodes text containing it, such as "Basic dXNlcjpwYXNz". The zero value
// and nil redact nothing; a Redactor is safe for concurrent use once built.
type Redactor struct {
	plain   []string // literal forms
	b64     []string // base64 cores: any encoding of text holding the secret contains one
	secrets []string // the values, looked for in what each base64 run decodes to
}

// NewRedactor returns a Redactor for secrets; values shorter than four bytes
// are ignored.
func NewRedactor(secrets ...Secret) *Redactor {
	r := &Redactor{}
	r.Add(secrets...)
	return r
}

// Add registers more secrets.
func (r *Redactor) Add(secrets ...Secret) {
	for _, s := range secrets {
		v := s.Reveal()
		if len(v) < minSecretLen {
			continue
		}
		r.secrets = appendNew(r.secrets, v)
		r.plain = appendNew(r.plain, v, url.QueryEscape(v), url.PathEscape(v))
		if j, err := json.Marshal(v); err == nil {
			// Some encoders also escape the solidus.
			esc := string(j[1 : len(j)-1])
			r.plain = appendNew(r.plain, esc, strings.ReplaceAll(esc, "/", `\/`))
		}
		// In any base64 text, the secret starting at offset p of the
		// encoded bytes yields the encoding of secret[k:k+3m] at a group
		// boundary, k = (3 - p%3) % 3: one core per alignment.
		for k := range 3 {
			sub := v[min(k, len(v)):]
			sub = sub[:len(sub)/3*3]
			if len(sub) < 6 {
				continue
			}
			std := base64.StdEncoding.EncodeToString([]byte(sub))
			r.b64 = appendNew(r.b64, std, base64.URLEncoding.EncodeToString([]byte(sub)))
		}
	}
}

func appendNew(list []string, vs ...string) []string {
	for _, v := range vs {
		if v != "" && !contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Redact returns s with every registered secret replaced by REDACTED.
func (r *Redactor) Redact(s string) string {
	if r == nil || len(r.secrets) == 0 {
		return s
	}
	for _, p := range r.plain {
		s = strings.ReplaceAll(s, p, Redacted)
	}
	for _, core := range r.b64 {
		for {
			i := strings.Index(s, core)
			if i < 0 {
				break
			}
			lo, hi := i, i+len(core)
			for lo > 0 && isBase64(s[lo-1]) {
				lo--
			}
			for hi < len(s) && isBase64(s[hi]) {
				hi++
			}
			s = s[:lo] + Redacted + s[hi:]
		}
	}
	return r.redactDecoded(s)
}

// redactDecoded replaces each base64 run of s that decodes to text holding
// a secret. It finds what the cores cannot: a secret under eight bytes,
// whose encoding has too few whole groups to be looked for as such (the
// password of "Basic dXNlcjpwYXNz"). Each group of four characters decodes
// on its own, so a run is decoded from each of its first four offsets: one
// of them is aligned with the encoding, whatever came before it in the run.
func (r *Redactor) redactDecoded(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if !isBase64(s[i]) || s[i] == '=' {
			i++
			continue
		}
		j := i
		for j < len(s) && isBase64(s[j]) && s[j] != '=' {
			j++
		}
		end := j
		for end < len(s) && s[end] == '=' {
			end++
		}
		if r.decodesToSecret(s[i:j]) {
			b.WriteString(s[last:i])
			b.WriteString(Redacted)
			last = end
		}
		i = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// decodesToSecret says whether run (base64 characters of either alphabet,
// no padding), decoded from one of its first four offsets, holds a secret.
func (r *Redactor) decodesToSecret(run string) bool {
	if len(run) < 6 { // four bytes, the shortest secret, take six
		return false
	}
	std := []byte(run) // in the standard alphabet
	for i, c := range std {
		switch c {
		case '-':
			std[i] = '+'
		case '_':
			std[i] = '/'
		}
	}
	buf := make([]byte, base64.RawStdEncoding.DecodedLen(len(std)))
	for off := range 4 {
		t := std[off:]
		if len(t)%4 == 1 { // a lone last character encodes no byte
			t = t[:len(t)-1]
		}
		n, err := base64.RawStdEncoding.Decode(buf, t)
		if err != nil {
			continue
		}
		text := string(buf[:n])
		for _, v := range r.secrets {
			if strings.Contains(text, v) {
				return true
			}
		}
	}
	return false
}

func isBase64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' || c == '-' || c == '_'
}

// Excerpt returns the start of an upstream body fit for an error message:
// redacted, whitespace runs collapsed to one space, other control and
// non-printable characters escaped (\x1b), invalid UTF-8 shown as \ufffd, and
// cut to about ExcerptLen bytes with "…" when longer.
func (r *Redactor) Excerpt(body []byte) string {
	return Printable(r.Redact(string(body)), ExcerptLen)
}

// Printable makes s safe to show a person on one line: whitespace runs become
// one space, control and other non-printable runes are escaped as \xNN or
// \uNNNN, and the result is cut at limit bytes (0: no limit) with "…".
func Printable(s string, limit int) string {
	var b strings.Builder
	space := false
	for i, w := 0, 0; i < len(s); i += w {
		rn, n := utf8.DecodeRuneInString(s[i:])
		w = n
		if limit > 0 && b.Len() >= limit {
			b.WriteString("…")
			break
		}
		switch {
		case rn == utf8.RuneError && n == 1:
			b.WriteString(`\ufffd`)
		case rn == ' ' || rn == '\n' || rn == '\t' || rn == '\r':
			if !space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = true
			continue
		case !unicode.IsPrint(rn):
			switch {
			case rn < 0x100:
				fmt.Fprintf(&b, `\x%02x`, rn)
			case rn <= 0xffff:
				fmt.Fprintf(&b, `\u%04x`, rn)
			default:
				fmt.Fprintf(&b, `\U%08x`, rn)
			}
		default:
			b.WriteRune(rn)
		}
		space = false
	}
	return strings.TrimRight(b.String(), " ")
}
