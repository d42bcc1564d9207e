package reconcile

import (
	"crypto/sha256"
	"encoding/binary"
)

// ContentHashes returns, for each row, the identity under which the stores
// keep a finding's body once (ContentHash), or the row's Hash when it
// has one. The rows are hashed on every core, each without allocating.
func ContentHashes(rows []FindingRow) [][]byte {
	out := make([][]byte, len(rows))
	sums := make([]byte, 16*len(rows))
	inParts(len(rows), func(lo, hi int) {
		var buf []byte
		for i := lo; i < hi; i++ {
			if rows[i].Hash != nil {
				out[i] = rows[i].Hash
				continue
			}
			out[i] = sums[16*i : 16*i+16 : 16*i+16]
			buf = contentHash(out[i], buf, &rows[i], rows[i].Body)
		}
	})
	return out
}

// ContentHash is the identity under which the stores keep a finding's
// body once: the first 16 bytes of a SHA-256 over the row's indexed fields
// (each preceded by its length, 8 bytes big-endian) and its body. FirstSeen
// is left out: no reader of stored findings returns it from the body's
// row. Stored hashes are compared with these: the format never changes.
func ContentHash(r *FindingRow, body []byte) []byte {
	out := make([]byte, 16)
	contentHash(out, nil, r, body)
	return out
}

// contentHash writes the content hash of r with body into dst (16 bytes),
// using buf, which it returns for the next.
func contentHash(dst, buf []byte, r *FindingRow, body []byte) []byte {
	buf = buf[:0]
	for _, s := range [...]string{r.Fingerprint, r.Kind, r.Severity, r.Disposition, r.Target, r.AccountID, r.EmployeeID} {
		buf = binary.BigEndian.AppendUint64(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	buf = append(buf, body...)
	sum := sha256.Sum256(buf)
	copy(dst, sum[:16])
	return buf
}
