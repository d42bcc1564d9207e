package reconcile

import (
	"crypto/sha256"
	"encoding/binary"
	"runtime"
	"sync"
)

// ContentHashes returns, for each row, the identity under which the stores
// keep a finding's body once: the first 16 bytes of a SHA-256 over the
// row's indexed fields (each preceded by its length, 8 bytes big-endian)
// and its body. FirstSeen is left out: no reader of stored findings
// returns it from the body's row. Stored hashes are compared with these:
// the format never changes. The rows are hashed on every core, each
// without allocating.
func ContentHashes(rows []FindingRow) [][]byte {
	out := make([][]byte, len(rows))
	sums := make([]byte, 16*len(rows))
	var wg sync.WaitGroup
	chunk := max(len(rows)/runtime.GOMAXPROCS(0)+1, 1000)
	for lo := 0; lo < len(rows); lo += chunk {
		hi := min(lo+chunk, len(rows))
		wg.Go(func() {
			var buf []byte
			for i := lo; i < hi; i++ {
				f := &rows[i]
				buf = buf[:0]
				for _, s := range [...]string{f.Fingerprint, f.Kind, f.Severity, f.Disposition, f.Target, f.AccountID, f.EmployeeID} {
					buf = binary.BigEndian.AppendUint64(buf, uint64(len(s)))
					buf = append(buf, s...)
				}
				buf = append(buf, f.Body...)
				sum := sha256.Sum256(buf)
				out[i] = sums[16*i : 16*i+16 : 16*i+16]
				copy(out[i], sum[:16])
			}
		})
	}
	wg.Wait()
	return out
}
