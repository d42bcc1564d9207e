package x509ca

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
)

// entry is one line of an `openssl ca` / easy-rsa index.txt: six
// tab-separated fields: status (V valid, R revoked, E expired), expiry,
// revocation time[,reason], serial (hex), file name (usually "unknown"),
// subject in OpenSSL's one-line form (/C=SA/O=Example/CN=alice).
type entry struct {
	Status  byte
	Expires time.Time
	Revoked time.Time
	Reason  string
	Serial  string // upper-case hex, as the index writes it
	Subject string
	attrs   [][2]string
}

// attr returns the first value of a subject attribute (case-insensitive
// name: CN, emailAddress, serialNumber, UID, …).
func (e entry) attr(name string) string {
	for _, kv := range e.attrs {
		if strings.EqualFold(kv[0], name) {
			return kv[1]
		}
	}
	return ""
}

// readIndex calls fn for each line of index.txt, in order.
func readIndex(r io.Reader, fn func(entry) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		e, err := parseEntry(line)
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return sc.Err()
}

func parseEntry(line string) (entry, error) {
	f := strings.Split(line, "\t")
	if len(f) != 6 {
		return entry{}, fmt.Errorf("%d tab-separated fields, want 6", len(f))
	}
	var e entry
	if len(f[0]) != 1 || !strings.Contains("VRE", f[0]) {
		return entry{}, fmt.Errorf("status %q is not V, R or E", f[0])
	}
	e.Status = f[0][0]
	var err error
	if e.Expires, err = parseASN1Time(f[1]); err != nil {
		return entry{}, fmt.Errorf("expiry: %w", err)
	}
	if f[2] != "" {
		t, reason, _ := strings.Cut(f[2], ",")
		if e.Revoked, err = parseASN1Time(t); err != nil {
			return entry{}, fmt.Errorf("revocation time: %w", err)
		}
		e.Reason = reason
	}
	if e.Status == 'R' && e.Revoked.IsZero() {
		return entry{}, fmt.Errorf("revoked without a revocation time")
	}
	e.Serial = strings.ToUpper(f[3])
	if e.Serial == "" || strings.Trim(e.Serial, "0123456789ABCDEF") != "" {
		return entry{}, fmt.Errorf("serial %q is not hexadecimal", f[3])
	}
	e.Subject = f[5]
	e.attrs = parseSubject(f[5])
	return e, nil
}

// parseASN1Time reads UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime
// (YYYYMMDDHHMMSSZ), as index.txt stores them.
func parseASN1Time(s string) (time.Time, error) {
	switch len(s) {
	case 13:
		t, err := time.Parse("060102150405Z", s)
		if err != nil {
			return time.Time{}, err
		}
		if t.Year() >= 2050 { // RFC 5280: UTCTime YY >= 50 is 19YY
			t = t.AddDate(-100, 0, 0)
		}
		return t, nil
	case 15:
		return time.Parse("20060102150405Z", s)
	}
	return time.Time{}, fmt.Errorf("%q is no ASN.1 time", s)
}

// parseSubject splits /A=x/B=y; a '/' not followed by name= belongs to the
// previous value (OpenSSL's one-line form does not escape it).
func parseSubject(s string) [][2]string {
	var out [][2]string
	for _, part := range strings.Split(strings.TrimPrefix(s, "/"), "/") {
		name, val, ok := strings.Cut(part, "=")
		if ok && name != "" && !strings.ContainsAny(name, " ,") {
			out = append(out, [2]string{name, val})
			continue
		}
		if len(out) > 0 {
			out[len(out)-1][1] += "/" + part
		}
	}
	return out
}
