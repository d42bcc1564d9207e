package reconcile

import (
	"encoding/binary"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/accessrecon/accessrecon/targets"
)

// The stores keep one current state per account and person with a content
// hash, and write a new version only when the hash of what a run collected
// differs. The hash covers every field a store keeps of the account or
// person, each length-prefixed (no two different contents encode alike),
// times as seconds and nanoseconds in UTC (the location is not content).
// It is xxHash64: a stable, documented algorithm (stored hashes stay valid
// across releases) that runs at several GB/s, where FNV-1a from the
// standard library works a byte at a time — a day-2 run hashes every
// account it collects. A collision (2^-64 per change) would hide one
// change of one account until its next change.

// hashWriter feeds fields into an xxHash64 digest.
type hashWriter struct {
	d   xxhash.Digest
	buf [binary.MaxVarintLen64 + 12]byte
}

func (h *hashWriter) str(s string) {
	n := binary.PutUvarint(h.buf[:], uint64(len(s)))
	_, _ = h.d.Write(h.buf[:n])
	_, _ = h.d.WriteString(s)
}

// groups writes gs as str(JoinGroups(gs)) does, without making the
// string (AccountHash runs for every account a run collects).
func (h *hashWriter) groups(gs []targets.Group) {
	n := 0
	for i, g := range gs {
		if i > 0 {
			n++
		}
		n += len(g.Name)
		if g.ID != g.Name {
			n += 1 + len(g.ID)
		}
	}
	k := binary.PutUvarint(h.buf[:], uint64(n))
	_, _ = h.d.Write(h.buf[:k])
	for i, g := range gs {
		if i > 0 {
			_, _ = h.d.WriteString("\n")
		}
		_, _ = h.d.WriteString(g.Name)
		if g.ID != g.Name {
			_, _ = h.d.WriteString("\t")
			_, _ = h.d.WriteString(g.ID)
		}
	}
}

func (h *hashWriter) flag(b bool) {
	h.buf[0] = 0
	if b {
		h.buf[0] = 1
	}
	_, _ = h.d.Write(h.buf[:1])
}

func (h *hashWriter) time(t time.Time) {
	if t.IsZero() {
		h.flag(false)
		return
	}
	h.buf[0] = 1
	binary.LittleEndian.PutUint64(h.buf[1:9], uint64(t.Unix()))
	binary.LittleEndian.PutUint32(h.buf[9:13], uint32(t.Nanosecond()))
	_, _ = h.d.Write(h.buf[:13])
}

// AccountHash is the content hash of an account as the stores keep it: ID,
// names, email, employee ID, DN, flags, last login, created, groups (IDs
// and names, in order) and credentials (ID, kind, created, last used,
// active, in order).
func AccountHash(a *targets.Account) uint64 {
	var h hashWriter
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
	h.groups(a.Groups)
	for _, c := range a.Credentials {
		h.str(c.ID)
		h.str(c.Kind)
		h.time(c.Created)
		h.time(c.LastUsed)
		h.flag(c.Active)
	}
	return h.d.Sum64()
}

// PersonHash is the content hash of a person as the stores keep them: the
// HR fields and the role history the engine derives.
func PersonHash(p *PersonRow) uint64 {
	var h hashWriter
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
