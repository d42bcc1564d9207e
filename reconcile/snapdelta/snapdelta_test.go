package snapdelta

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"slices"
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
	mustAdd(t, cur, "a1", Current{Hash: 1, From: 1})
	mustAdd(t, cur, "a2", Current{Hash: 2, From: 1})
	for i := range 20 {
		mustAdd(t, cur, fmt.Sprint("other", i), Current{Hash: 7, From: 1, Seen: true})
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
	for id, c := range s.cur.All() {
		if seen := !strings.HasPrefix(id, "other"); c.Seen != seen {
			t.Errorf("%s marked seen %v, want %v", id, c.Seen, seen)
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
	mustAdd(t, cur, "a1", Current{Hash: 1, From: 1})
	mustAdd(t, cur, "a2", Current{Hash: 2, From: 1})
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
	if kept := keptIDs(t, s, true); !slices.Equal(kept, ids[:3]) {
		t.Fatalf("the snapshot keeps %v, want %v", kept, ids[:3])
	}
}

// A batch whose writes failed is undone whole: its unchanged rows are no
// longer seen (an incomplete snapshot does not list them; the batch can be
// saved again), its changes are as before.
func TestUndoForgetsTheBatch(t *testing.T) {
	cur := NewCurrents(0)
	mustAdd(t, cur, "a1", Current{Hash: 1, From: 1})
	mustAdd(t, cur, "a2", Current{Hash: 2, From: 1})
	mustAdd(t, cur, "a3", Current{Hash: 3, From: 1})
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

// A store writes a batch's changes in ID order (InKeyOrder) and undoes a
// failed write with Plan's own: the sorted changes are a copy, and Undo
// with Plan's leaves the session as before the batch.
func TestInKeyOrderLeavesPlansOrder(t *testing.T) {
	cur := NewCurrents(0)
	mustAdd(t, cur, "b", Current{Hash: 2, From: 1})
	s := NewSession(cur)
	ids := []string{"d", "b", "a", "c"} // b changed, the others new
	id, hash := func(i int) string { return ids[i] }, func(i int) uint64 { return uint64(10 + i) }
	changes, err := s.Plan(2, len(ids), id, hash, nil)
	if err != nil {
		t.Fatal(err)
	}
	byID := InKeyOrder(changes)
	var got, planned []string
	for k := range byID {
		got, planned = append(got, fmt.Sprintf("%s@%d", byID[k].ID, byID[k].I)), append(planned, changes[k].ID)
	}
	if want := []string{"a@2", "b@1", "c@3", "d@0"}; !slices.Equal(got, want) {
		t.Errorf("InKeyOrder = %v, want %v", got, want)
	}
	if !slices.Equal(planned, ids) {
		t.Errorf("Plan's changes after InKeyOrder: %v, want %v", planned, ids)
	}
	if again := InKeyOrder(byID); &again[0] != &byID[0] {
		t.Error("changes already in ID order copied")
	}
	s.Undo(len(ids), id, changes)
	if again, err := s.Plan(2, len(ids), id, hash, nil); err != nil || len(again) != 4 || !again[1].Had || again[1].Was.Hash != 2 {
		t.Errorf("the batch planned again after Undo: %+v, %v", again, err)
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
			mustAdd(t, cur, fmt.Sprint("a", i), Current{Hash: uint64(i), From: int64(1 + i%3)})
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
		if got.Len() != len(want) {
			t.Errorf("complete %v: %d current versions decoded, want %d", complete, got.Len(), len(want))
		}
		for id, w := range want {
			j, ok := got.lookup(id)
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
		mustAdd(t, cur, fmt.Sprint("account-", i), Current{Hash: uint64(i) * 0x9e3779b97f4a7c15, From: int64(i)})
	}
	b := NewSession(cur).Encode(false)
	if c, err := DecodeCurrents(b); err != nil || c.Len() != 20 {
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
	if c, err := DecodeCurrents(seal(version(version(head(2), "a"), "b"))); err != nil || c.Len() != 2 {
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

// Plan finds each ID where the previous one ended before it looks it up:
// whatever order the rows come in (as kept, reversed, shuffled, with rows
// new, gone or undone in between), each row is matched with its own
// current version; Encode keeps the order the rows were saved in (the next
// run's listing, in the same order, then finds each where the last ended).
func TestPlanFindsRowsInAnyOrder(t *testing.T) {
	const n = 300
	for _, order := range []string{"kept", "reversed", "shuffled", "gaps"} {
		cur := NewCurrents(0)
		for i := range n {
			mustAdd(t, cur, fmt.Sprint("a", i), Current{Hash: uint64(i), From: 1})
		}
		var rows []int
		for i := range n {
			rows = append(rows, i)
		}
		r := rand.New(rand.NewPCG(3, uint64(len(order))))
		switch order {
		case "reversed":
			slices.Reverse(rows)
		case "shuffled":
			r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		case "gaps": // every fifth gone, a new one after every seventh
			var out []int
			for _, i := range rows {
				if i%5 != 0 {
					out = append(out, i)
				}
				if i%7 == 0 {
					out = append(out, n+i)
				}
			}
			rows = out
		}
		// Rows whose number is a multiple of 3 changed; those from n on are new.
		hash := func(k int) uint64 {
			if i := rows[k]; i%3 != 0 {
				return uint64(i)
			}
			return uint64(1000 + rows[k])
		}
		id := func(k int) string { return fmt.Sprint("a", rows[k]) }
		s := NewSession(cur)
		// A batch of new rows planned and undone first: what it added is
		// forgotten, wherever the session looks next.
		extra := func(k int) string { return fmt.Sprint("x", k) }
		undone, err := s.Plan(2, 5, extra, func(int) uint64 { return 1 }, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.Undo(5, extra, undone)
		var changed []string
		for lo := 0; lo < len(rows); lo += 64 {
			hi := min(lo+64, len(rows))
			changes, err := s.Plan(2, hi-lo, func(k int) string { return id(lo + k) }, func(k int) uint64 { return hash(lo + k) }, nil)
			if err != nil {
				t.Fatalf("%s: %v", order, err)
			}
			for _, c := range changes {
				i := rows[lo+c.I]
				if wantHad := i < n; c.Had != wantHad || (c.Had && c.Was.Hash != uint64(i)) || c.Hash != hash(lo+c.I) {
					t.Fatalf("%s: row %s planned as %+v", order, c.ID, c)
				}
				changed = append(changed, c.ID)
			}
		}
		var want []string
		for k, i := range rows {
			if i%3 == 0 || i >= n {
				want = append(want, id(k))
			}
		}
		if !slices.Equal(changed, want) {
			t.Errorf("%s: changes %v, want %v", order, changed, want)
		}
		ended, _ := s.Finish(true)
		var wantEnded []string
		if order == "gaps" {
			for i := 0; i < n; i += 5 {
				wantEnded = append(wantEnded, fmt.Sprint("a", i))
			}
		}
		if !slices.Equal(ended, wantEnded) {
			t.Errorf("%s: ended %v, want %v", order, ended, wantEnded)
		}
		// A complete snapshot keeps the rows in the order saved; one that
		// is not complete adds the rows not saved after them, in the order
		// they were; none of the undone batch either way.
		var saved []string
		for k := range rows {
			saved = append(saved, id(k))
		}
		for _, complete := range []bool{true, false} {
			keptOrder := keptIDs(t, s, complete)
			want := saved
			if !complete {
				want = append(slices.Clone(saved), wantEnded...)
			}
			if !slices.Equal(keptOrder, want) {
				t.Errorf("%s, complete %v: kept in the order %v, want %v", order, complete, keptOrder, want)
			}
		}
	}
}

// An empty ID is refused, by Plan and in an encoding: the order Currents
// keep marks a removed ID as "".
func TestEmptyIDRefused(t *testing.T) {
	s := NewSession(NewCurrents(0))
	if _, err := s.Plan(1, 1, func(int) string { return "" }, func(int) uint64 { return 1 }, nil); err == nil {
		t.Error("an empty ID was planned")
	}
	cur := NewCurrents(0)
	mustAdd(t, cur, "a", Current{Hash: 1, From: 1})
	s = NewSession(cur)
	b := s.Encode(false)
	body := b[:len(b)-8]
	body = append(body[:8:8], 0) // one version, its ID empty
	body = binary.LittleEndian.AppendUint64(body, 1)
	body = binary.AppendUvarint(body, 1)
	if _, err := DecodeCurrents(binary.LittleEndian.AppendUint64(body, xxhash.Sum64(body))); err == nil || !strings.Contains(err.Error(), "empty ID") {
		t.Errorf("an encoding with an empty ID: %v", err)
	}
}

func mustAdd(t *testing.T, c *Currents, id string, cur Current) {
	t.Helper()
	if err := c.Add(id, cur); err != nil {
		t.Fatal(err)
	}
}

// The index of Currents: every ID is found at its place through growth
// and removals (a removed ID leaves its probe chain intact), an ID is
// recorded once, and a removed one can be recorded again.
func TestCurrentsIndex(t *testing.T) {
	c := NewCurrents(0)
	const n = 5000
	for i := range n {
		mustAdd(t, c, fmt.Sprint("id", i), Current{Hash: uint64(i)})
	}
	if err := c.Add("id7", Current{}); err == nil || c.Len() != n {
		t.Fatalf("id7 added twice: %v, %d recorded", err, c.Len())
	}
	if err := c.Add("", Current{}); err == nil {
		t.Fatal("an empty ID added")
	}
	for i := 0; i < n; i += 3 {
		c.remove(fmt.Sprint("id", i))
	}
	c.remove("never")
	check := func(stage string) {
		t.Helper()
		var order []string
		for id, cur := range c.All() {
			order = append(order, id)
			if j, ok := c.lookup(id); !ok || c.vals[j] != cur {
				t.Fatalf("%s: %s listed but found %v at %d", stage, id, ok, j)
			}
		}
		if len(order) != c.Len() {
			t.Fatalf("%s: %d listed, Len %d", stage, len(order), c.Len())
		}
		for i := range n {
			id := fmt.Sprint("id", i)
			j, ok := c.lookup(id)
			switch {
			case i%3 == 0 && ok:
				t.Fatalf("%s: removed %s found", stage, id)
			case i%3 != 0 && (!ok || c.vals[j].Hash != uint64(i)):
				t.Fatalf("%s: %s found %v with %+v", stage, id, ok, c.vals[j])
			}
		}
	}
	check("after removals")
	if c.Len() != n-(n+2)/3 {
		t.Fatalf("Len %d after removals", c.Len())
	}
	mustAdd(t, c, "id0", Current{Hash: 99})
	if j, ok := c.lookup("id0"); !ok || c.vals[j].Hash != 99 || int(j) != len(c.ids)-1 {
		t.Fatalf("id0 added again: found %v at %d", ok, j)
	}
	c.remove("id0")
	for i := n; i < 3*n; i++ { // growth with removed slots in the table
		mustAdd(t, c, fmt.Sprint("new", i), Current{Hash: uint64(i)})
	}
	check("after growth")
	if j, ok := c.lookup("new9999"); !ok || c.vals[j].Hash != 9999 {
		t.Fatalf("new9999 found %v at %d", ok, j)
	}
}

// keptIDs are the IDs s encodes, decoded, in their order.
func keptIDs(t *testing.T, s *Session, complete bool) []string {
	t.Helper()
	cur, err := DecodeCurrents(s.Encode(complete))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for id := range cur.All() {
		ids = append(ids, id)
	}
	return ids
}

// index compares every two IDs whose hashes share their top 32 bits, not
// only neighbours: with A and B sharing them, A, B, A is an ID twice.
func TestIndexFindsAnIDTwiceAmongCollisions(t *testing.T) {
	c := newCurrents(0)
	top := map[uint32]string{}
	var a, b string
	for i := 0; a == ""; i++ { // about 80,000 IDs give two that share 32 bits
		id := fmt.Sprint("account-", i)
		h := uint32(maphash.String(c.seed, id) >> 32)
		if other, ok := top[h]; ok {
			a, b = other, id
		}
		top[h] = id
	}
	for _, ids := range [][]string{{a, b}, {a, b, "x", a}, {b, a, b}} {
		c.ids, c.vals, c.n = ids, make([]Current, len(ids)), len(ids)
		err := c.index(len(ids))
		if twice := len(ids) > 2; (err != nil) != twice {
			t.Fatalf("%q: %v", ids, err)
		}
		if err == nil {
			for j, id := range ids {
				if k, ok := c.lookup(id); !ok || int(k) != j {
					t.Fatalf("%q: %s found %v at %d", ids, id, ok, k)
				}
			}
		}
	}
}

// sortHigh32 orders keys by their top 32 bits, keeping the order of keys
// that share them, on the radix path and on the short one.
func TestSortHigh32(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 100, 255, 256, 5000} {
		keys := make([]uint64, n)
		for i := range keys {
			keys[i] = r.Uint64()>>r.UintN(40)<<32 | uint64(i) // many shared tops
		}
		want := slices.Clone(keys)
		slices.SortStableFunc(want, func(a, b uint64) int { return cmp.Compare(a>>32, b>>32) })
		if got := sortHigh32(keys); !slices.Equal(got, want) {
			t.Fatalf("%d keys sorted out of order", n)
		}
	}
}

// A large encoding decodes whole, into memory of its own: every ID found at
// its place after the encoding is gone, and an ID given twice, far apart,
// refused.
func TestDecodeLarge(t *testing.T) {
	cur := NewCurrents(0)
	const n = 200_000
	for i := range n {
		mustAdd(t, cur, fmt.Sprint("acct-", i), Current{Hash: uint64(i), From: 1})
	}
	b := NewSession(cur).Encode(false)
	c, err := DecodeCurrents(b)
	if err != nil || c.Len() != n {
		t.Fatalf("decoded %v: %v", c.Len(), err)
	}
	// DecodeCurrents keeps nothing of b (a driver's buffer); Cached's
	// decode, given a buffer of its own, keeps the IDs in it.
	inside := func(c *Currents, b []byte) (in, out int) {
		lo := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		for id := range c.All() {
			if at := uintptr(unsafe.Pointer(unsafe.StringData(id))); at >= lo && at < lo+uintptr(len(b)) {
				in++
			} else {
				out++
			}
		}
		return in, out
	}
	ob := bytes.Clone(b)
	own, err := decodeCurrents(ob, true)
	if err != nil {
		t.Fatal(err)
	}
	if in, out := inside(c, b); in != 0 {
		t.Fatalf("DecodeCurrents keeps %d IDs in the buffer it was given (%d not)", in, out)
	}
	if in, out := inside(own, ob); out != 0 || in != n {
		t.Fatalf("decodeCurrents(own) copied %d IDs (%d in the buffer)", out, in)
	}
	clear(b)
	for i := range n {
		if j, ok := c.lookup(fmt.Sprint("acct-", i)); !ok || c.vals[j].Hash != uint64(i) {
			t.Fatalf("acct-%d found %v", i, ok)
		}
	}
	if _, ok := c.lookup("acct-x"); ok {
		t.Fatal("acct-x found")
	}
	cur.ids[n-1] = "acct-3" // the encoding's last ID is its fourth's
	if _, err := DecodeCurrents(NewSession(cur).Encode(false)); err == nil || !strings.Contains(err.Error(), "acct-3 is listed twice") {
		t.Fatalf("acct-3 twice: %v", err)
	}
}

// BenchmarkDecodeCurrents decodes the cached versions of a target of
// 985,000 accounts (a 1,000,000-person estate's), IDs as the generator
// makes them.
func BenchmarkDecodeCurrents(b *testing.B) {
	cur := NewCurrents(0)
	for i := range 985_000 {
		if err := cur.Add(fmt.Sprintf("app00-%07d", i), Current{Hash: uint64(i) * 0x9e3779b97f4a7c15, From: 1}); err != nil {
			b.Fatal(err)
		}
	}
	enc := NewSession(cur).Encode(false)
	b.ResetTimer()
	for b.Loop() {
		if _, err := DecodeCurrents(enc); err != nil {
			b.Fatal(err)
		}
	}
}
