package reconcile

import (
	"cmp"
	"time"
)

// Tier names an SLA tier: how fast access must go once HR says so.
type Tier string

// The tiers every installation has (policy.sla may add more).
const (
	TierCritical Tier = "critical"
	TierStandard Tier = "standard"
	TierLow      Tier = "low"
)

// TierOf is a target's or finding's tier as written, standard when unset.
func TierOf(s string) Tier { return Tier(cmp.Or(s, string(TierStandard))) }

// SLAFor is the time the policy allows tier t (0 when the policy names no
// such tier: nothing is ever within it).
func (p *Policy) SLAFor(t Tier) time.Duration { return p.SLA[string(t)].D() }

// Clock is one finding measured against its tier's SLA: the one SLA
// computation behind the executor's within_sla, `accessrecon sla`, /metrics
// and the workbook.
type Clock struct {
	Tier    Tier
	Allowed time.Duration
	// Start is when the clock started: HR's effective time, or an earlier
	// HR event (a webhook) when the caller knows one.
	Start     time.Time
	StartFrom string // "hr_effective" or "webhook"
	// End is the verified revocation, or the time of measurement while the
	// finding is open.
	End     time.Time
	Open    bool
	Elapsed time.Duration
	Within  bool
}

// The starts of a clock.
const (
	StartHREffective = "hr_effective"
	StartWebhook     = "webhook"
)

// Clock measures f at asOf. A finding is on the clock when HR gave an
// effective time, it is not exempt, and it is a departure (terminated or
// suspended but active) or was revoked; ok is false otherwise. earlier,
// when not zero and before HR's effective time, starts the clock instead (the
// receipt of an HR webhook).
func (p *Policy) Clock(f *Finding, asOf, earlier time.Time) (c Clock, ok bool) {
	if f.EffectiveAt == nil || f.Disposition == Exempt {
		return Clock{}, false
	}
	if f.RevokedAt == nil && f.Kind != TerminatedActive && f.Kind != SuspendedActive {
		return Clock{}, false
	}
	c = Clock{Tier: TierOf(f.Tier), Start: f.EffectiveAt.UTC(), StartFrom: StartHREffective}
	c.Allowed = p.SLAFor(c.Tier)
	if !earlier.IsZero() && earlier.Before(c.Start) {
		c.Start, c.StartFrom = earlier.UTC(), StartWebhook
	}
	if f.RevokedAt != nil {
		c.End = f.RevokedAt.UTC()
	} else {
		c.End, c.Open = asOf.UTC(), true
	}
	c.Elapsed = max(c.End.Sub(c.Start), 0)
	c.Within = c.Elapsed <= c.Allowed
	return c, true
}
