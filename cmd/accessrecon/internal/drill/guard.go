package drill

import (
	"context"
	"fmt"
	"strings"

	"github.com/accessrecon/accessrecon/targets"
)

// CanaryRestorer is the one way into a target's Enabler and GroupAdder:
// it holds the canary accounts of that target (as resolved from
// drills.canaries) and refuses every other account before the target is
// called. Nothing else in accessrecon calls Enable or AddToGroup.
type CanaryRestorer struct {
	target   string
	r        targets.Restorers
	canaries map[string]bool // account IDs
}

// ErrNotCanary is returned for an account that is not a configured canary.
var ErrNotCanary = fmt.Errorf("not a drill canary: accessrecon restores canary accounts only")

// NewCanaryRestorer wraps t's restoring capabilities for the canary
// accounts given (by their native IDs).
func NewCanaryRestorer(name string, t targets.Target, canaries []targets.Account) *CanaryRestorer {
	c := &CanaryRestorer{target: name, r: targets.ResolveRestorers(t), canaries: map[string]bool{}}
	for _, a := range canaries {
		if a.ID != "" {
			c.canaries[a.ID] = true
		}
	}
	return c
}

// CanEnable and CanAddToGroup say whether the target can restore at all.
func (c *CanaryRestorer) CanEnable() bool     { return c.r.Enabler != nil }
func (c *CanaryRestorer) CanAddToGroup() bool { return c.r.GroupAdder != nil }

func (c *CanaryRestorer) check(a targets.Account) error {
	if !c.canaries[a.ID] {
		return fmt.Errorf("%s: account %q: %w", c.target, a.ID, ErrNotCanary)
	}
	return nil
}

// Enable re-enables a canary account.
func (c *CanaryRestorer) Enable(ctx context.Context, a targets.Account) error {
	if err := c.check(a); err != nil {
		return err
	}
	if c.r.Enabler == nil {
		return fmt.Errorf("%s: the target cannot re-enable an account", c.target)
	}
	return c.r.Enabler.Enable(ctx, a)
}

// AddToGroup puts a canary account back into a group.
func (c *CanaryRestorer) AddToGroup(ctx context.Context, a targets.Account, g targets.Group) error {
	if err := c.check(a); err != nil {
		return err
	}
	if c.r.GroupAdder == nil {
		return fmt.Errorf("%s: the target cannot add an account to a group", c.target)
	}
	return c.r.GroupAdder.AddToGroup(ctx, a, g)
}

// matches says whether ref (an ID, username, email or DN, as people write
// it) names a.
func matches(a targets.Account, ref string) bool {
	ref = strings.TrimSpace(ref)
	return a.ID == ref || strings.EqualFold(a.Username, ref) && a.Username != "" ||
		strings.EqualFold(a.Email, ref) && a.Email != "" || strings.EqualFold(a.DN, ref) && a.DN != ""
}
