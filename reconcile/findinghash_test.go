package reconcile

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"testing"
)

// The body identity the stores have written since migration 013: the hash
// of a row as it was computed then (a streamed SHA-256), and one fixed value.
func TestContentHashesKeepTheStoredFormat(t *testing.T) {
	old := func(f *FindingRow) []byte {
		h := sha256.New()
		for _, s := range []string{f.Fingerprint, f.Kind, f.Severity, f.Disposition, f.Target, f.AccountID, f.EmployeeID} {
			var n [8]byte
			binary.BigEndian.PutUint64(n[:], uint64(len(s)))
			h.Write(n[:])
			h.Write([]byte(s))
		}
		h.Write(f.Body)
		return h.Sum(nil)[:16]
	}
	rows := []FindingRow{{Fingerprint: "fp", Kind: "dormant", Severity: "low", Disposition: "review", Target: "app", AccountID: "a1", EmployeeID: "E1",
		Body: []byte(`{"kind":"dormant"}`)}, {}, {Target: "ünïcode", Body: nil}}
	for i := range 2500 { // more than one goroutine's share
		rows = append(rows, FindingRow{Fingerprint: fmt.Sprint("fp", i), AccountID: fmt.Sprint(i), Body: bytes.Repeat([]byte("x"), i%700)})
	}
	got := ContentHashes(rows)
	for i := range rows {
		if want := old(&rows[i]); !bytes.Equal(got[i], want) {
			t.Fatalf("row %d: hash %x, want %x", i, got[i], want)
		}
	}
	if h := hex.EncodeToString(got[0]); h != "86b06e559016a9c1fc3bdec52066d2eb" {
		t.Errorf("row 0 hashes to %s, stored as 86b06e559016a9c1fc3bdec52066d2eb", h)
	}
	// One row's hash alone (the engine's, as it spools bodies) is the
	// same, and a row that carries its hash is not hashed again.
	for i := range rows {
		if h := ContentHash(&rows[i], rows[i].Body); !bytes.Equal(h, got[i]) {
			t.Fatalf("row %d: ContentHash %x, ContentHashes %x", i, h, got[i])
		}
	}
	spooled := []FindingRow{{Fingerprint: "fp", Hash: []byte("given-hash-bytes")}}
	if h := ContentHashes(spooled)[0]; string(h) != "given-hash-bytes" {
		t.Errorf("a row with its hash hashed to %x", h)
	}
}
