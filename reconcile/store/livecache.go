package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/accessrecon/accessrecon/reconcile/snapdelta"
)

// The live finding versions as the last full save left them, encoded in
// parts (live_findings, migrations 016 and 018; snapdelta.WriteParts): each
// full save starts from them, and reading them from the versions joins
// every live version with its body's hash, a random read per finding. The
// parts are written by the full save's transaction and name that save;
// they are used only while that save is still the last full one. Only a full save changes which versions are
// live (a partial save's versions end where they start), and retention
// can delete a live version only with the last full save (every live
// version spans it): either way the record no longer names the last full
// save (seqs are never reused). The versions stay the truth.

// liveMagic opens an encoding of live versions (format 1).
const liveMagic = "alv1"

// encodeLive encodes the live versions fps[i] -> (ids[i], hashes[i]) (each
// hash 16 bytes): "alv1", the count (uint32), each version as the length of
// its fingerprint (uvarint), the fingerprint, its row ID (uvarint) and its
// body's hash, then an xxhash of all that.
func encodeLive(n int, fp func(i int) string, id func(i int) int64, hash func(i int) []byte) []byte {
	size := 0
	for i := range n {
		size += len(fp(i)) + 2*binary.MaxVarintLen64 + 16
	}
	b := snapdelta.BeginFrame(liveMagic, n, size)
	for i := range n {
		b = binary.AppendUvarint(b, uint64(len(fp(i))))
		b = append(b, fp(i)...)
		b = binary.AppendUvarint(b, uint64(id(i)))
		b = append(b, hash(i)...)
	}
	return snapdelta.EndFrame(b)
}

// openLive checks the frame of an encoding of live versions (encodeLive
// wrote b: its magic and checksum) and returns a walk of its versions.
// walk calls each (when not nil) with every version, in order, and fails on
// a version cut short, fingerprints not in strictly increasing order
// (saveLive writes them in the order of the save's rows), or bytes after
// the versions. Each fingerprint and hash given is b's own memory: each
// keeps none of it. At a million people the versions are 100 MB, walked
// where the driver read them rather than copied into 220 MB of
// fingerprints, hashes and versions first.
func openLive(b []byte) (walk func(each func(fp []byte, id int64, hash []byte)) error, err error) {
	body, n, err := snapdelta.OpenFrame(b, liveMagic, "live versions", 18) // length, fingerprint, ID, 16-byte hash
	if err != nil {
		return nil, err
	}
	return func(each func(fp []byte, id int64, hash []byte)) error { return walkLive(body, n, each) }, nil
}

// walkLive is openLive's walk of the n versions of body, a checked frame.
func walkLive(body []byte, n int, each func(fp []byte, id int64, hash []byte)) error {
	var last []byte
	off := 8
	short := func(k int) error { return fmt.Errorf("live versions: version %d of %d is cut short", k+1, n) }
	for k := range n {
		l, w := binary.Uvarint(body[off:])
		if w <= 0 || l > uint64(len(body)-off-w) {
			return short(k)
		}
		off += w
		fp := body[off : off+int(l) : off+int(l)]
		off += int(l)
		id, w := binary.Uvarint(body[off:])
		if w <= 0 || id > 1<<62 || len(body)-off-w < 16 {
			return short(k)
		}
		off += w
		if k > 0 && bytes.Compare(last, fp) >= 0 {
			return fmt.Errorf("live versions: %q after %q", fp, last)
		}
		if each != nil {
			each(fp, int64(id), body[off:off+16:off+16])
		}
		last = fp
		off += 16
	}
	if off != len(body) {
		return fmt.Errorf("live versions: %d bytes after the %d versions", len(body)-off, n)
	}
	return nil
}

// cachedLive calls each with the live versions that the full save prev
// left, when it wrote them and they decode (ok false otherwise: each was
// not called). They are walked twice, once to check them and once for
// each; the checksum is read once.
func cachedLive(ctx context.Context, tx *sqlx.Tx, prev int64, each func(fp []byte, id int64, hash []byte)) (ok bool, err error) {
	body, ok, err := snapdelta.ReadParts(ctx, tx, `live_findings WHERE seq = ?`, prev)
	if err != nil || !ok {
		return false, err
	}
	walk, err := openLive(body)
	if err != nil || walk(nil) != nil {
		return false, nil
	}
	if err := walk(each); err != nil {
		return false, err
	}
	return true, nil
}
