package reconcile

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets"
)

// accountHashJoined is AccountHash as it was first written: the groups
// hashed as JoinGroups encodes them.
func accountHashJoined(a *targets.Account) uint64 {
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
