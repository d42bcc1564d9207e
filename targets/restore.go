package targets

import "context"

// Enabler re-enables an account: the inverse of Disable. It exists for one
// purpose, restoring the canary accounts of a termination drill after the
// drill revoked them; the wiring in cmd wraps it so that it refuses every
// account that is not a configured canary. accessrecon never re-enables a
// real person's account (a person does: see the Returned finding).
type Enabler interface {
	Enable(ctx context.Context, a Account) error
}

// GroupAdder adds the account to one group, identified by g.ID (Name is for
// messages): the inverse of RemoveFromGroup. Like Enabler it is used only to
// restore drill canaries, through a wrapper in cmd that refuses any other
// account.
type GroupAdder interface {
	AddToGroup(ctx context.Context, a Account, g Group) error
}

// The restoring capabilities, as Configurable lists them.
const (
	CanEnable     Capability = "enable"
	CanAddToGroup Capability = "add_to_group"
)

// Restorers is a target's restoring capabilities, resolved once like
// Capabilities: a nil field means the target cannot restore that.
type Restorers struct {
	Enabler    Enabler
	GroupAdder GroupAdder
}

// ResolveRestorers finds t's restoring capabilities by type assertion,
// narrowed by Configurable when t implements it.
func ResolveRestorers(t Target) Restorers {
	var r Restorers
	r.Enabler, _ = t.(Enabler)
	r.GroupAdder, _ = t.(GroupAdder)
	if cf, ok := t.(Configurable); ok {
		on := map[Capability]bool{}
		for _, x := range cf.Capabilities() {
			on[x] = true
		}
		if !on[CanEnable] {
			r.Enabler = nil
		}
		if !on[CanAddToGroup] {
			r.GroupAdder = nil
		}
	}
	return r
}
