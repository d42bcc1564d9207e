package reconcile

import (
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	p := DefaultPolicy()
	eff := asOf.Add(-2 * time.Hour)
	rev := asOf.Add(-2*time.Hour + 10*time.Minute)
	hook := asOf.Add(-3 * time.Hour)
	atLimit := eff.Add(15 * time.Minute)
	early := eff.Add(-time.Minute)
	for _, tc := range []struct {
		name    string
		f       Finding
		earlier time.Time
		ok      bool
		want    Clock
	}{
		{name: "revoked within the critical SLA", f: Finding{Kind: TerminatedActive, Tier: "critical", EffectiveAt: &eff, RevokedAt: &rev},
			ok: true, want: Clock{Tier: TierCritical, Allowed: 15 * time.Minute, Start: eff, StartFrom: StartHREffective, End: rev, Elapsed: 10 * time.Minute, Within: true}},
		{name: "open past the standard SLA", f: Finding{Kind: SuspendedActive, EffectiveAt: &eff},
			ok: true, want: Clock{Tier: TierStandard, Allowed: time.Hour, Start: eff, StartFrom: StartHREffective, End: asOf, Open: true, Elapsed: 2 * time.Hour}},
		{name: "a webhook started the clock earlier", f: Finding{Kind: TerminatedActive, Tier: "low", EffectiveAt: &eff, RevokedAt: &rev}, earlier: hook,
			ok: true, want: Clock{Tier: TierLow, Allowed: 24 * time.Hour, Start: hook, StartFrom: StartWebhook, End: rev, Elapsed: 70 * time.Minute, Within: true}},
		{name: "exempt is never on the clock", f: Finding{Kind: TerminatedActive, Disposition: Exempt, EffectiveAt: &eff}},
		{name: "no effective time", f: Finding{Kind: TerminatedActive}},
		{name: "a dormant account is not a departure", f: Finding{Kind: Dormant, EffectiveAt: &eff}},
		{name: "an unknown tier allows nothing", f: Finding{Kind: TerminatedActive, Tier: "gold", EffectiveAt: &eff, RevokedAt: &rev},
			ok: true, want: Clock{Tier: "gold", Start: eff, StartFrom: StartHREffective, End: rev, Elapsed: 10 * time.Minute}},
		{name: "revoked at the very end of the SLA is within it", f: Finding{Kind: TerminatedActive, Tier: "critical", EffectiveAt: &eff, RevokedAt: &atLimit},
			ok: true, want: Clock{Tier: TierCritical, Allowed: 15 * time.Minute, Start: eff, StartFrom: StartHREffective, End: atLimit, Elapsed: 15 * time.Minute, Within: true}},
		{name: "a webhook after HR's effective time does not start the clock", f: Finding{Kind: TerminatedActive, Tier: "critical", EffectiveAt: &eff, RevokedAt: &rev},
			earlier: eff.Add(5 * time.Minute),
			ok:      true, want: Clock{Tier: TierCritical, Allowed: 15 * time.Minute, Start: eff, StartFrom: StartHREffective, End: rev, Elapsed: 10 * time.Minute, Within: true}},
		{name: "revoked before HR's effective time: no time elapsed", f: Finding{Kind: TerminatedActive, Tier: "critical", EffectiveAt: &eff, RevokedAt: &early},
			ok: true, want: Clock{Tier: TierCritical, Allowed: 15 * time.Minute, Start: eff, StartFrom: StartHREffective, End: early, Within: true}},
		{name: "a revocation of another kind is on the clock", f: Finding{Kind: Reenabled, Tier: "critical", EffectiveAt: &eff, RevokedAt: &rev},
			ok: true, want: Clock{Tier: TierCritical, Allowed: 15 * time.Minute, Start: eff, StartFrom: StartHREffective, End: rev, Elapsed: 10 * time.Minute, Within: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := p.Clock(&tc.f, asOf, tc.earlier)
			if ok != tc.ok || got != tc.want {
				t.Fatalf("Clock = %+v, %v\nwant   %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
