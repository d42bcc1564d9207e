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

// The fields are laid out as the stored hashes were made (each string
// length-prefixed) into one buffer on the stack, hashed at the end in one
// call: feeding a digest two writes per field cost half as much again.

func hashStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// hashGroups lays gs out as hashStr(JoinGroups(gs)) does, without making
// the string (AccountHash runs for every account a run collects).
func hashGroups(b []byte, gs []targets.Group) []byte {
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
	b = binary.AppendUvarint(b, uint64(n))
	for i, g := range gs {
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, g.Name...)
		if g.ID != g.Name {
			b = append(b, '\t')
			b = append(b, g.ID...)
		}
	}
	return b
}

func hashFlag(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func hashTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.LittleEndian.AppendUint64(b, uint64(t.Unix()))
	return binary.LittleEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

// AccountHash is the content hash of an account as the stores keep it: ID,
// names, email, employee ID, DN, flags, last login, created, groups (IDs
// and names, in order) and credentials (ID, kind, created, last used,
// active, in order).
func AccountHash(a *targets.Account) uint64 {
	var buf [256]byte
	b := buf[:0]
	b = hashStr(b, a.ID)
	b = hashStr(b, a.Username)
	b = hashStr(b, a.Email)
	b = hashStr(b, a.EmployeeID)
	b = hashStr(b, a.DisplayName)
	b = hashStr(b, a.DN)
	b = hashFlag(b, a.Enabled)
	b = hashFlag(b, a.LoginTracked)
	b = hashFlag(b, a.Privileged)
	b = hashTime(b, a.LastLogin)
	b = hashTime(b, a.Created)
	b = hashGroups(b, a.Groups)
	for _, c := range a.Credentials {
		b = hashStr(b, c.ID)
		b = hashStr(b, c.Kind)
		b = hashTime(b, c.Created)
		b = hashTime(b, c.LastUsed)
		b = hashFlag(b, c.Active)
	}
	return xxhash.Sum64(b)
}

// PersonHash is the content hash of a person as the stores keep them: the
// HR fields and the role history the engine derives.
func PersonHash(p *PersonRow) uint64 {
	var buf [256]byte
	b := buf[:0]
	b = hashStr(b, p.EmployeeID)
	b = hashStr(b, p.Email)
	b = hashStr(b, p.FirstName)
	b = hashStr(b, p.LastName)
	b = hashStr(b, string(p.Status))
	b = hashTime(b, p.StatusEffective)
	b = hashTime(b, p.TerminationDate)
	b = hashTime(b, p.HireDate)
	b = hashStr(b, p.Department)
	b = hashStr(b, p.JobCode)
	b = hashStr(b, p.PrevJobCode)
	b = hashTime(b, p.JobChangedAt)
	b = hashStr(b, p.ManagerID)
	b = hashStr(b, p.WorkerType)
	return xxhash.Sum64(b)
}
