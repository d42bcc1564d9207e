package targettest

import (
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets"
)

func TestFakeConforms(t *testing.T) {
	Run(t, func(t *testing.T) Fixture {
		now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		f := NewFake(
			targets.Account{ID: "a1", Username: "alice", Enabled: true, Groups: targets.NamedGroups("dev", "ops"),
				Credentials: []targets.Credential{{ID: "k1", Kind: "api_key", Created: now, Active: true}}},
			targets.Account{ID: "a2", Username: "bob", Enabled: true},
			targets.Account{ID: "a3", Username: "carol", Enabled: false},
		)
		return Fixture{Target: f, Enabled: []string{"a1", "a2"}, MinAccounts: 3}
	})
}
