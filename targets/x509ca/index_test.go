package x509ca

import (
	"strings"
	"testing"
	"time"
)

func TestParseEntry(t *testing.T) {
	e, err := parseEntry("R\t20500101000000Z\t240301120000Z,keyCompromise\t0a1f\tunknown\t/C=SA/O=Example/OU=a/b/CN=Alice Smith/emailAddress=alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != 'R' || e.Serial != "0A1F" || e.Reason != "keyCompromise" || !e.Expires.Equal(time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC)) ||
		!e.Revoked.Equal(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)) || e.attr("cn") != "Alice Smith" || e.attr("OU") != "a/b" || e.attr("emailaddress") != "alice@example.com" {
		t.Fatalf("entry = %+v", e)
	}
	if e, _ := parseEntry("V\t991231235959Z\t\t01\tunknown\t/CN=old"); e.Expires.Year() != 1999 {
		t.Fatalf("UTCTime 99 is 1999: %v", e.Expires)
	}
	for line, want := range map[string]string{
		"V\t301231235959Z\t\t01\tunknown":                 "5 tab-separated fields",
		"X\t301231235959Z\t\t01\tunknown\t/CN=a":          "status",
		"V\t3012\t\t01\tunknown\t/CN=a":                   "expiry",
		"R\t301231235959Z\t\t01\tunknown\t/CN=a":          "without a revocation time",
		"V\t301231235959Z\t\t01XZ\tunknown\t/CN=a":        "not hexadecimal",
		"R\t301231235959Z\tyesterday\t01\tunknown\t/CN=a": "revocation time",
	} {
		if _, err := parseEntry(line); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", line, err, want)
		}
	}
	n := 0
	err = readIndex(strings.NewReader("V\t301231235959Z\t\t01\tunknown\t/CN=a\n\nbroken\n"), func(entry) error { n++; return nil })
	if err == nil || !strings.Contains(err.Error(), "line 3") || n != 1 {
		t.Fatalf("readIndex: %v after %d entries", err, n)
	}
}
