package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cespare/xxhash/v2"
	"github.com/jmoiron/sqlx"
)

// The live finding versions as the last full save left them, encoded in
// parts (live_findings, migrations 016 and 018; snapdelta.PartWriter): each
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

// encodeLive writes the live versions fps[i] -> (ids[i], hashes[i]) (each
// hash 16 bytes) to w: "alv1", the count (uint32), each version as the
// length of its fingerprint (uvarint), the fingerprint, its row ID
// (uvarint) and its body's hash, then an xxhash of all that. It is written
// as it is made, 64 KiB at a time (saveLive writes it in parts): at a
// million people it is 66 MB, held at the peak of a run when it was made
// whole first.
func encodeLive(w io.Writer, n int, fp func(i int) string, id func(i int) int64, hash func(i int) []byte) error {
	d := xxhash.New()
	out := io.MultiWriter(d, w)
	b := make([]byte, 0, 64<<10)
	b = append(b, liveMagic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	for i := range n {
		b = binary.AppendUvarint(b, uint64(len(fp(i))))
		b = append(b, fp(i)...)
		b = binary.AppendUvarint(b, uint64(id(i)))
		b = append(b, hash(i)...)
		if len(b) > cap(b)-1024 || i == n-1 {
			if _, err := out.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	if _, err := out.Write(b); err != nil { // the header, when n is 0
		return err
	}
	_, err := w.Write(binary.LittleEndian.AppendUint64(b[:0], d.Sum64()))
	return err
}

// liveWalk checks an encoding of live versions (encodeLive's) given in
// parts, in order (part, then end), and calls each (when not nil) with
// every version as it comes. It fails on anything else: a version cut
// short, fingerprints not in strictly increasing order (saveLive writes
// them in the order of the save's rows), bytes after the versions, fewer
// versions than the count, a checksum that does not match (known only at
// the end: cachedLive walks once to check, once for each). Each
// fingerprint and hash given is the walk's memory: each keeps none of it.
type liveWalk struct {
	each func(fp []byte, id int64, hash []byte)
	d    *xxhash.Digest
	buf  []byte // given and not walked yet; its last 8 bytes may be the checksum
	n, k int    // the versions the encoding counts (-1: not read yet), walked so far
	last []byte // the fingerprint walked last
}

func newLiveWalk(each func(fp []byte, id int64, hash []byte)) *liveWalk {
	return &liveWalk{each: each, d: xxhash.New(), n: -1}
}

// part walks the versions that p completes.
func (w *liveWalk) part(p []byte) error {
	w.buf = append(w.buf, p...)
	avail, off := len(w.buf)-8, 0
	if w.n < 0 {
		if avail < 8 {
			return nil
		}
		if string(w.buf[:4]) != liveMagic {
			return errors.New("live versions: not an encoding of them")
		}
		w.n, off = int(binary.LittleEndian.Uint32(w.buf[4:8])), 8
	}
	for off < avail {
		if w.k == w.n {
			return fmt.Errorf("live versions: bytes after the %d versions", w.n)
		}
		rest := w.buf[off:avail]
		l, m := binary.Uvarint(rest)
		if m < 0 {
			return fmt.Errorf("live versions: version %d of %d is cut short", w.k+1, w.n)
		}
		if m == 0 || l > uint64(len(rest)-m) {
			break // in a part to come
		}
		fp := rest[m : m+int(l) : m+int(l)]
		id, m2 := binary.Uvarint(rest[m+int(l):])
		if m2 < 0 || id > 1<<62 {
			return fmt.Errorf("live versions: version %d of %d is cut short", w.k+1, w.n)
		}
		h := m + int(l) + m2
		if m2 == 0 || len(rest)-h < 16 {
			break
		}
		if w.k > 0 && bytes.Compare(w.last, fp) >= 0 {
			return fmt.Errorf("live versions: %q after %q", fp, w.last)
		}
		if w.each != nil {
			w.each(fp, int64(id), rest[h:h+16:h+16])
		}
		w.last = append(w.last[:0], fp...)
		w.k++
		off += h + 16
	}
	w.d.Write(w.buf[:off])
	w.buf = append(w.buf[:0], w.buf[off:]...)
	return nil
}

// end checks that the parts given were the whole encoding.
func (w *liveWalk) end() error {
	switch {
	case w.n < 0:
		return errors.New("live versions: not an encoding of them")
	case len(w.buf) > 8 && w.k == w.n:
		return fmt.Errorf("live versions: %d bytes after the %d versions", len(w.buf)-8, w.n)
	case len(w.buf) != 8 || w.k != w.n:
		return fmt.Errorf("live versions: version %d of %d is cut short", w.k+1, w.n)
	case binary.LittleEndian.Uint64(w.buf) != w.d.Sum64():
		return errors.New("live versions: checksum mismatch")
	}
	return nil
}

// cachedLive calls each with the live versions that the full save prev
// left, when it wrote them and they decode (ok false otherwise: each was
// not called). Their parts are read twice, one at a time: once to check
// them, once for each.
func cachedLive(ctx context.Context, tx *sqlx.Tx, prev int64, each func(fp []byte, id int64, hash []byte)) (ok bool, err error) {
	found, bad, err := walkLiveParts(ctx, tx, prev, nil)
	if err != nil || !found || bad != nil {
		return false, err
	}
	if _, bad, err = walkLiveParts(ctx, tx, prev, each); err == nil && bad != nil {
		err = fmt.Errorf("read again in the same transaction: %w", bad)
	}
	return err == nil, err
}

// walkLiveParts walks the parts of the live versions that the full save
// prev left with each (found false: there are none). bad is what is wrong
// with them, err what went wrong reading them.
func walkLiveParts(ctx context.Context, tx *sqlx.Tx, prev int64, each func(fp []byte, id int64, hash []byte)) (found bool, bad, err error) {
	rows, err := tx.QueryContext(ctx, `SELECT body FROM live_findings WHERE seq = ? ORDER BY part`, prev)
	if err != nil {
		return false, nil, err
	}
	defer rows.Close()
	w := newLiveWalk(each)
	for rows.Next() {
		found = true
		var part sql.RawBytes
		if err := rows.Scan(&part); err != nil {
			return false, nil, err
		}
		if bad = w.part(part); bad != nil {
			return true, bad, rows.Close()
		}
	}
	if err := rows.Err(); err != nil {
		return false, nil, err
	}
	if found {
		bad = w.end()
	}
	return found, bad, rows.Close()
}
