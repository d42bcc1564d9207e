package reconcile

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

// digestWriter is how the stored hashes were first made: each field fed
// into an xxHash64 digest as it came. hashWriter must lay out the same
// bytes.
type digestWriter struct {
	d   xxhash.Digest
	buf [binary.MaxVarintLen64 + 12]byte
}

func (h *digestWriter) str(s string) {
	n := binary.PutUvarint(h.buf[:], uint64(len(s)))
	_, _ = h.d.Write(h.buf[:n])
	_, _ = h.d.WriteString(s)
}

func (h *digestWriter) flag(b bool) {
	h.buf[0] = 0
	if b {
		h.buf[0] = 1
	}
	_, _ = h.d.Write(h.buf[:1])
}

func (h *digestWriter) time(t time.Time) {
	if t.IsZero() {
		h.flag(false)
		return
	}
	h.buf[0] = 1
	binary.LittleEndian.PutUint64(h.buf[1:9], uint64(t.Unix()))
	binary.LittleEndian.PutUint32(h.buf[9:13], uint32(t.Nanosecond()))
	_, _ = h.d.Write(h.buf[:13])
}

// accountHashJoined is AccountHash as it was first written: fed into a
// digest field by field, the groups hashed as JoinGroups encodes them.
func accountHashJoined(a *targets.Account) uint64 {
	var h digestWriter
	h.d.Reset()
	h.str(a.ID)
	h.str(a.Username)
	h.str(a.Email)
	h.str(a.EmployeeID)
	h.str(a.DisplayName)
	h.str(a.DN)
	h.flag(a.Enabled)
	h.flag(a.LoginTracked)
	h.flag(a.Privileged)
	h.time(a.LastLogin)
	h.time(a.Created)
	h.str(JoinGroups(a.Groups))
	for _, c := range a.Credentials {
		h.str(c.ID)
		h.str(c.Kind)
		h.time(c.Created)
		h.time(c.LastUsed)
		h.flag(c.Active)
	}
	return h.d.Sum64()
}

// personHashFirst is PersonHash as it was first written.
func personHashFirst(p *PersonRow) uint64 {
	var h digestWriter
	h.d.Reset()
	h.str(p.EmployeeID)
	h.str(p.Email)
	h.str(p.FirstName)
	h.str(p.LastName)
	h.str(string(p.Status))
	h.time(p.StatusEffective)
	h.time(p.TerminationDate)
	h.time(p.HireDate)
	h.str(p.Department)
	h.str(p.JobCode)
	h.str(p.PrevJobCode)
	h.time(p.JobChangedAt)
	h.str(p.ManagerID)
	h.str(p.WorkerType)
	return h.d.Sum64()
}

// randText is a string of up to n bytes, sometimes empty, sometimes
// longer than 127 (a two-byte length prefix), sometimes not ASCII.
func randText(r *rand.Rand, n int) string {
	switch r.IntN(8) {
	case 0:
		return ""
	case 1:
		return strings.Repeat("é", 64+r.IntN(200))
	}
	b := make([]byte, r.IntN(n)+1)
	for i := range b {
		b[i] = byte('a' + r.IntN(26))
	}
	return string(b)
}

// randTime is zero, or a time with seconds and nanoseconds, before or
// after 1970.
func randTime(r *rand.Rand) time.Time {
	if r.IntN(4) == 0 {
		return time.Time{}
	}
	return time.Unix(r.Int64N(4e9)-1e9, r.Int64N(1e9)).UTC()
}

// The buffered hashes are the digest-fed ones for accounts and people of
// every field, lengths of one and two bytes, zero and non-zero times,
// and accounts whose fields outgrow the stack buffer.
func TestHashesAsFirstMade(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := range 3000 {
		a := targets.Account{ID: randText(r, 20), Username: randText(r, 20), Email: randText(r, 40), EmployeeID: randText(r, 10),
			DisplayName: randText(r, 30), DN: randText(r, 90), Enabled: r.IntN(2) == 0, LoginTracked: r.IntN(2) == 0,
			Privileged: r.IntN(2) == 0, LastLogin: randTime(r), Created: randTime(r)}
		for range r.IntN(6) {
			a.Groups = append(a.Groups, targets.Group{ID: randText(r, 50), Name: randText(r, 20)})
		}
		for range r.IntN(3) {
			a.Credentials = append(a.Credentials, targets.Credential{ID: randText(r, 20), Kind: randText(r, 10),
				Created: randTime(r), LastUsed: randTime(r), Active: r.IntN(2) == 0})
		}
		if got, want := AccountHash(&a), accountHashJoined(&a); got != want {
			t.Fatalf("account %d %+v: hash %#x, first made %#x", i, a, got, want)
		}
		p := PersonRow{Person: sources.Person{EmployeeID: randText(r, 10), Email: randText(r, 30), FirstName: randText(r, 10),
			LastName: randText(r, 10), Status: sources.Status(randText(r, 10)), StatusEffective: randTime(r), TerminationDate: randTime(r),
			HireDate: randTime(r), Department: randText(r, 10), JobCode: randText(r, 10), ManagerID: randText(r, 10), WorkerType: randText(r, 10)},
			PrevJobCode: randText(r, 10), JobChangedAt: randTime(r)}
		if got, want := PersonHash(&p), personHashFirst(&p); got != want {
			t.Fatalf("person %d %+v: hash %#x, first made %#x", i, p, got, want)
		}
	}
}

// The stores compare the hashes they keep with AccountHash's: its value
// for an account never changes (else every account would look changed the
// day after an upgrade). Fixed values, and the original encoding of the
// groups for random accounts.
func TestAccountHashKeepsTheStoredFormat(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 9, 30, 0, 5, time.UTC)
	fixed := []struct {
		a    targets.Account
		want uint64
	}{
		{targets.Account{}, 0xef6eb604187a17fa},
		{targets.Account{ID: "a1", Username: "amy", Email: "amy@example.com", EmployeeID: "E1", DisplayName: "Amy", DN: "cn=amy",
			Enabled: true, LoginTracked: true, LastLogin: t0, Created: t0.AddDate(-1, 0, 0),
			Groups:      []targets.Group{{ID: "eng", Name: "eng"}, {ID: "cn=ops,dc=x", Name: "ops"}},
			Credentials: []targets.Credential{{ID: "k1", Kind: "access_key", Created: t0, Active: true}}}, 0xc505c592750ec62f},
	}
	for i, c := range fixed {
		if got := AccountHash(&c.a); got != c.want {
			t.Errorf("account %d: hash %#x, stored as %#x", i, got, c.want)
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 2000 {
		a := targets.Account{ID: fmt.Sprint("id", i), Enabled: r.IntN(2) == 0}
		for range r.IntN(5) {
			name := fmt.Sprint("g", r.IntN(30))
			id := name
			if r.IntN(2) == 0 {
				id = "cn=" + name + ",dc=example"
			}
			if r.IntN(10) == 0 {
				name = ""
			}
			a.Groups = append(a.Groups, targets.Group{ID: id, Name: name})
		}
		if r.IntN(20) == 0 {
			a.Groups = []targets.Group{}
		}
		if got, want := AccountHash(&a), accountHashJoined(&a); got != want {
			t.Fatalf("account %+v: hash %#x, stored as %#x", a, got, want)
		}
	}
}

// BenchmarkAccountHash hashes an account of three groups (every account a
// run collects is hashed): as now, and as first written.
func BenchmarkAccountHash(b *testing.B) {
	a := targets.Account{ID: "app00-0000004", Username: "user000004", Email: "user000004@example.com", EmployeeID: "E000004",
		DisplayName: "User 4", Enabled: true, LoginTracked: true, LastLogin: time.Date(2026, 6, 25, 4, 0, 0, 0, time.UTC),
		Groups: []targets.Group{{ID: "eng", Name: "eng"}, {ID: "cn=ops,dc=x", Name: "ops"}, {ID: "all", Name: "all"}}}
	b.Run("now", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			AccountHash(&a)
		}
	})
	b.Run("joined", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			accountHashJoined(&a)
		}
	})
}
