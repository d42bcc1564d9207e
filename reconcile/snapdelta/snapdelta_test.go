package snapdelta

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// A session outlives the batches it plans: the IDs it keeps must not be
// the caller's strings, which a connector slices from its input lines (a
// kept ID would keep its whole line alive until the snapshot ends).
func TestPlanKeepsNoCallersID(t *testing.T) {
	line := "a1,x,y,z," + strings.Repeat("-", 200) + ",a2,a3"
	ids := []string{line[0:2], line[len(line)-5 : len(line)-3], line[len(line)-2:]}
	// a1 is unchanged, a2 changed, a3 new.
	// More than a small map holds: the runtime's table maps replace the
	// key they hold by the one a store under it gives.
	cur := NewCurrents(0)
	cur.Add("a1", Current{Hash: 1, From: 1})
	cur.Add("a2", Current{Hash: 2, From: 1})
	for i := range 20 {
		cur.Add(fmt.Sprint("other", i), Current{Hash: 7, From: 1, Seen: true})
	}
	s := NewSession(cur)
	hashes := []uint64{1, 9, 3}
	changes, err := s.Plan(2, len(ids), func(i int) string { return ids[i] }, func(i int) uint64 { return hashes[i] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || changes[0].ID != "a2" || changes[1].ID != "a3" {
		t.Fatalf("changes %+v, want a2 (changed) and a3 (new)", changes)
	}
	lo := uintptr(unsafe.Pointer(unsafe.StringData(line)))
	hi := lo + uintptr(len(line))
	for id, j := range s.cur.idx {
		if c := s.cur.vals[j]; !c.Seen {
			t.Errorf("%s not marked seen", id)
		}
		if p := uintptr(unsafe.Pointer(unsafe.StringData(id))); p >= lo && p < hi {
			t.Errorf("the session keeps ID %q in the caller's line", id)
		}
	}
}

// A batch that fails changes nothing: what it marked seen is unmarked,
// what it added is gone, and what it replaced is back.
func TestPlanFailsWhole(t *testing.T) {
	cur := NewCurrents(0)
	cur.Add("a1", Current{Hash: 1, From: 1})
	cur.Add("a2", Current{Hash: 2, From: 1})
	s := NewSession(cur)
	ids := []string{"a1", "a2", "a3", "a1"} // a1 twice: the batch fails
	hashes := []uint64{1, 9, 3, 1}
	if _, err := s.Plan(2, len(ids), func(i int) string { return ids[i] }, func(i int) uint64 { return hashes[i] }, nil); err == nil {
		t.Fatal("a batch with a1 twice was planned")
	}
	ended, from := s.Finish(true)
	got := map[string]int64{}
	for i, id := range ended {
		got[id] = from[i]
	}
	if len(got) != 2 || got["a1"] != 1 || got["a2"] != 1 {
		t.Fatalf("after the failed batch a complete snapshot would end %v, want a1 and a2 as they were (from run 1)", got)
	}
	// The same batch without the repeat is planned as if the first never was.
	changes, err := s.Plan(2, 3, func(i int) string { return ids[i] }, func(i int) uint64 { return hashes[i] }, nil)
	if err != nil || len(changes) != 2 || changes[0].ID != "a2" || changes[0].Was.Hash != 2 || changes[1].ID != "a3" || changes[1].Had {
		t.Fatalf("changes %+v, %v: want a2 (was hash 2) and a3 (new)", changes, err)
	}
	if ended, _ := s.Finish(true); len(ended) != 0 {
		t.Fatalf("every account seen, yet %v would end", ended)
	}
}

// A batch whose writes failed is undone whole: its unchanged rows are no
// longer seen (an incomplete snapshot does not list them; the batch can be
// saved again), its changes are as before.
func TestUndoForgetsTheBatch(t *testing.T) {
	cur := NewCurrents(0)
	cur.Add("a1", Current{Hash: 1, From: 1})
	cur.Add("a2", Current{Hash: 2, From: 1})
	cur.Add("a3", Current{Hash: 3, From: 1})
	s := NewSession(cur)
	ids := []string{"a1", "a2", "a4"} // a1 unchanged, a2 changed, a4 new
	hashes := []uint64{1, 9, 4}
	id, hash := func(i int) string { return ids[i] }, func(i int) uint64 { return hashes[i] }
	changes, err := s.Plan(2, 3, id, hash, nil)
	if err != nil || len(changes) != 2 {
		t.Fatalf("changes %+v, %v", changes, err)
	}
	s.Undo(3, id, changes)
	if seen, _ := s.Finish(false); len(seen) != 0 {
		t.Fatalf("after the undone batch an incomplete snapshot would list %v", seen)
	}
	again, err := s.Plan(2, 3, id, hash, nil)
	if err != nil || len(again) != 2 || again[0].ID != "a2" || again[0].Was.Hash != 2 || again[1].ID != "a4" || again[1].Had {
		t.Fatalf("the batch saved again: %+v, %v; want a2 (was hash 2) and a4 (new)", again, err)
	}
	if seen, _ := s.Finish(false); len(seen) != 3 {
		t.Fatalf("the batch saved: an incomplete snapshot lists %v, want a1, a2, a4", seen)
	}
}

// What a finished session encodes is what the versions would say: of a
// complete snapshot the versions the run saw (as they are after it), of
// one that is not complete every current version; a change whose write
// failed is not in it.
func TestEncodeIsWhatFinishLeaves(t *testing.T) {
	for _, complete := range []bool{true, false} {
		cur := NewCurrents(0)
		for i := range 50 {
			cur.Add(fmt.Sprint("a", i), Current{Hash: uint64(i), From: int64(1 + i%3)})
		}
		s := NewSession(cur)
		// Run 5 sees a0..a29: a0..a9 unchanged, a10..a29 changed, and
		// a new b0..b4; a write of b3 and b4 fails.
		var ids []string
		var hashes []uint64
		for i := range 30 {
			ids, hashes = append(ids, fmt.Sprint("a", i)), append(hashes, uint64(i+100*min(1, i/10)))
		}
		for i := range 3 {
			ids, hashes = append(ids, fmt.Sprint("b", i)), append(hashes, uint64(500+i))
		}
		if _, err := s.Plan(5, len(ids), func(i int) string { return ids[i] }, func(i int) uint64 { return hashes[i] }, nil); err != nil {
			t.Fatal(err)
		}
		bid := func(i int) string { return fmt.Sprint("b", 3+i) }
		failed, err := s.Plan(5, 2, bid, func(i int) uint64 { return 9 }, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.Undo(2, bid, failed)

		want := map[string]Current{}
		for i := range 50 {
			switch {
			case i < 10:
				want[fmt.Sprint("a", i)] = Current{Hash: uint64(i), From: int64(1 + i%3)}
			case i < 30:
				want[fmt.Sprint("a", i)] = Current{Hash: uint64(i + 100), From: 5}
			case !complete:
				want[fmt.Sprint("a", i)] = Current{Hash: uint64(i), From: int64(1 + i%3)}
			}
		}
		for i := range 3 {
			want[fmt.Sprint("b", i)] = Current{Hash: uint64(500 + i), From: 5}
		}
		got, err := DecodeCurrents(s.Encode(complete))
		if err != nil {
			t.Fatal(err)
		}
		if len(got.idx) != len(want) {
			t.Errorf("complete %v: %d current versions decoded, want %d", complete, len(got.idx), len(want))
		}
		for id, w := range want {
			j, ok := got.idx[id]
			if !ok || got.vals[j] != w {
				t.Errorf("complete %v: %s decodes as %+v (found %v), want %+v", complete, id, got.vals[j], ok, w)
			}
		}
	}
}

// An encoding that was cut short or altered anywhere is refused, never read
// as a different set of versions.
func TestDecodeRefusesDamage(t *testing.T) {
	cur := NewCurrents(0)
	for i := range 20 {
		cur.Add(fmt.Sprint("account-", i), Current{Hash: uint64(i) * 0x9e3779b97f4a7c15, From: int64(i)})
	}
	b := NewSession(cur).Encode(false)
	if c, err := DecodeCurrents(b); err != nil || len(c.idx) != 20 {
		t.Fatalf("the intact encoding: %v", err)
	}
	for n := range len(b) {
		if _, err := DecodeCurrents(b[:n]); err == nil {
			t.Fatalf("the first %d of %d bytes decode", n, len(b))
		}
	}
	for i := range b {
		for _, bit := range []byte{1, 0x80} {
			d := append([]byte(nil), b...)
			d[i] ^= bit
			if _, err := DecodeCurrents(d); err == nil {
				t.Fatalf("byte %d with bit %#x flipped decodes", i, bit)
			}
		}
	}
	if _, err := DecodeCurrents(append(b, 0)); err == nil {
		t.Fatal("a byte more decodes")
	}
}

// Behind a valid checksum, an encoding that does not add up is refused too:
// an ID twice, a count that is not the versions', bytes after them.
func TestDecodeRefusesWhatDoesNotAddUp(t *testing.T) {
	seal := func(body []byte) []byte { return binary.LittleEndian.AppendUint64(body, xxhash.Sum64(body)) }
	version := func(b []byte, id string) []byte {
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
		b = binary.LittleEndian.AppendUint64(b, 7)
		return binary.AppendUvarint(b, 3)
	}
	head := func(n uint32) []byte { return binary.LittleEndian.AppendUint32([]byte(currentsMagic), n) }
	if c, err := DecodeCurrents(seal(version(version(head(2), "a"), "b"))); err != nil || len(c.idx) != 2 {
		t.Fatalf("a and b: %v", err)
	}
	for name, b := range map[string][]byte{
		"an ID twice":        seal(version(version(head(2), "a"), "a")),
		"a count too high":   seal(version(version(head(3), "a"), "b")),
		"a count too low":    seal(version(version(head(1), "a"), "b")),
		"another format":     seal(append([]byte("arc2"), version(version(head(2), "a"), "b")[4:]...)),
		"a huge count":       seal(version(head(1<<31), "a")),
		"an ID past the end": seal(binary.AppendUvarint(head(1), 1<<40)),
	} {
		if _, err := DecodeCurrents(b); err == nil {
			t.Errorf("%s decodes", name)
		}
	}
}
