package xlsx

import (
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// clock is f measured by the one SLA computation (reconcile's
// Policy.Clock) at the run's as-of time, as `accessrecon sla` and the
// Leavers sheet measure it: the account is revoked once its automatic
// steps are verified and every step a person must do is acknowledged (in
// the run's actions), at the later of the two; until then its clock runs.
// ok is false for a finding not on the clock (exempt, no effective time).
func (w *writer) clock(f *reconcile.Finding) (reconcile.Clock, bool) {
	fc := *f
	fc.RevokedAt = nil
	if t, ok := revokedWithAcks(f, w.res.Actions); ok {
		fc.RevokedAt = &t
	}
	return w.res.Policy.Clock(&fc, w.asOf, time.Time{})
}

// revokedWithAcks is when f's account counts as revoked: its automatic
// steps verified (Finding.RevokedAt) and each person's step acknowledged
// among acts (ok false while one is not).
func revokedWithAcks(f *reconcile.Finding, acts []store.Action) (time.Time, bool) {
	var last time.Time
	hasAuto := false
	for _, s := range f.Actions {
		hasAuto = hasAuto || s.Auto
	}
	if f.RevokedAt != nil {
		last = f.RevokedAt.UTC()
	} else if hasAuto || len(f.Actions) == 0 {
		return time.Time{}, false
	}
	for _, s := range f.Actions {
		if s.Auto {
			continue
		}
		var at time.Time
		for _, a := range acts {
			if a.Status == store.ActionAcknowledged && a.Verified && a.Fingerprint == f.Fingerprint && a.Op == string(s.Op) && a.Arg == s.Arg && a.FinishedAt.After(at) {
				at = a.FinishedAt.UTC()
			}
		}
		if at.IsZero() {
			return time.Time{}, false
		}
		if at.After(last) {
			last = at
		}
	}
	return last, true
}
