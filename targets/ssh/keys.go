package sshtarget

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// authorizedKey is one key line of an authorized_keys file.
type authorizedKey struct {
	Fingerprint string // SHA256:…
	Type        string // ssh-ed25519, ssh-rsa, …
	Comment     string
	Options     []string
	Expired     bool // an expiry-time="…" option in the past
}

// parseAuthorizedKeys returns the key lines of an authorized_keys file, in
// order. Comments, blank lines and lines sshd would not accept are skipped
// (they grant nothing); line numbers are not kept because a rewrite compares
// fingerprints, not positions.
func parseAuthorizedKeys(data []byte, now time.Time) []authorizedKey {
	var out []authorizedKey
	for _, line := range bytes.Split(data, []byte("\n")) {
		k, ok := parseKeyLine(line, now)
		if ok {
			out = append(out, k)
		}
	}
	return out
}

func parseKeyLine(line []byte, now time.Time) (authorizedKey, bool) {
	t := bytes.TrimSpace(line)
	if len(t) == 0 || t[0] == '#' {
		return authorizedKey{}, false
	}
	pub, comment, opts, _, err := ssh.ParseAuthorizedKey(t)
	if err != nil {
		return authorizedKey{}, false
	}
	k := authorizedKey{Fingerprint: ssh.FingerprintSHA256(pub), Type: pub.Type(), Comment: comment, Options: opts}
	for _, o := range opts {
		name, val, ok := strings.Cut(o, "=")
		if !ok || !strings.EqualFold(name, "expiry-time") {
			continue
		}
		if exp, ok := parseExpiry(strings.Trim(val, `"`)); ok && !exp.After(now) {
			k.Expired = true
		}
	}
	return k, true
}

// parseExpiry reads sshd's expiry-time: YYYYMMDD[HHMM[SS]], local time of the
// server (taken as UTC here; a day's error is the price), or with a Z suffix.
func parseExpiry(v string) (time.Time, bool) {
	v = strings.TrimSuffix(strings.TrimSuffix(v, "Z"), "z")
	for _, layout := range []string{"20060102150405", "200601021504", "20060102"} {
		if len(v) == len(layout) {
			if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// removeKey returns data without the key lines whose fingerprint is fp, and
// how many lines went. Every other byte (comments, blank lines, other keys,
// the final newline or its absence) is kept.
func removeKey(data []byte, fp string) ([]byte, int) {
	var out bytes.Buffer
	removed := 0
	rest := data
	for len(rest) > 0 {
		line, tail, found := bytes.Cut(rest, []byte("\n"))
		if k, ok := parseKeyLine(line, time.Time{}); ok && k.Fingerprint == fp {
			removed++
		} else {
			out.Write(line)
			if found {
				out.WriteByte('\n')
			}
		}
		rest = tail
	}
	return out.Bytes(), removed
}

// keyOwner is a key registry row.
type keyOwner struct{ EmployeeID, Email string }

// readRegistry reads the key registry CSV: a header with the columns
// fingerprint and employee_id (email optional, other columns ignored).
func readRegistry(path string) (map[string]keyOwner, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("key_registry: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.Comment = '#'
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("key_registry %s: header: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	fpCol, ok1 := col["fingerprint"]
	idCol, ok2 := col["employee_id"]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("key_registry %s: the header must name the columns fingerprint and employee_id, has %q", path, header)
	}
	emCol, hasEmail := col["email"]
	out := map[string]keyOwner{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("key_registry %s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		get := func(i int) string {
			if i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		fp, err := normalizeFingerprint(get(fpCol))
		if err != nil {
			return nil, fmt.Errorf("key_registry %s line %d: %w", path, line, err)
		}
		o := keyOwner{EmployeeID: get(idCol)}
		if hasEmail {
			o.Email = get(emCol)
		}
		if o.EmployeeID == "" && o.Email == "" {
			return nil, fmt.Errorf("key_registry %s line %d: neither employee_id nor email", path, line)
		}
		if prev, dup := out[fp]; dup && prev != o {
			return nil, fmt.Errorf("key_registry %s line %d: %s is listed twice with different owners", path, line, fp)
		}
		out[fp] = o
	}
	return out, nil
}

var sha256FP = regexp.MustCompile(`^[A-Za-z0-9+/]{43}$`)

// normalizeFingerprint accepts SHA256:<base64> (as ssh-keygen -l prints it)
// or the bare base64.
func normalizeFingerprint(s string) (string, error) {
	b := strings.TrimPrefix(s, "SHA256:")
	b = strings.TrimRight(b, "=")
	if !sha256FP.MatchString(b) {
		return "", fmt.Errorf("fingerprint %q is not an SHA256 fingerprint (ssh-keygen -lf KEY prints SHA256:…)", s)
	}
	return "SHA256:" + b, nil
}

var commentEmail = regexp.MustCompile(`(?i)^[a-z0-9._%+\-]+@([a-z0-9\-]+\.)+[a-z]{2,}$`)

// emailOf returns the e-mail address a key comment holds, if any.
func emailOf(comment string, domains []string) string {
	for _, w := range strings.Fields(comment) {
		w = strings.Trim(w, "<>(),;")
		if !commentEmail.MatchString(w) {
			continue
		}
		if len(domains) == 0 {
			return strings.ToLower(w)
		}
		_, d, _ := strings.Cut(w, "@")
		for _, ok := range domains {
			if strings.EqualFold(d, ok) {
				return strings.ToLower(w)
			}
		}
	}
	return ""
}
