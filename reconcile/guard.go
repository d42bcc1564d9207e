package reconcile

import (
	"fmt"
	"slices"
)

// GuardKind names a safety rail. The set is closed: the engine decides on
// kinds, never on the text of a reason.
type GuardKind string

// The safety rails.
const (
	// GuardHRShrink: the HR snapshot shrank past policy.guards.hr_shrink_percent
	// since the last good run. HR is suspect: the run draws no conclusion
	// from people it cannot see, acts nowhere, and touches no ticket but the
	// guard's own.
	GuardHRShrink GuardKind = "hr_shrink"
	// GuardMaxRevocations and GuardMaxRevocationsPercent: one target would
	// see more revocations than the blast-radius limit; nothing is revoked
	// there.
	GuardMaxRevocations        GuardKind = "max_revocations"
	GuardMaxRevocationsPercent GuardKind = "max_revocations_percent"
)

// Guard is one tripped safety rail. Target is empty for a run-wide rail.
type Guard struct {
	Kind   GuardKind `json:"kind"`
	Target string    `json:"target,omitempty"`
	Reason string    `json:"reason"`
}

func (g Guard) String() string { return fmt.Sprintf("%s: %s", g.Kind, g.Reason) }

// trip records a tripped rail in the result (and in the run's record, which
// keeps the text for people).
func (r *Result) trip(g Guard) {
	r.Guards = append(r.Guards, g)
	r.Run.Guards = append(r.Run.Guards, g.String())
}

// Tripped says whether a rail of kind k tripped in this run.
func (r *Result) Tripped(k GuardKind) bool {
	return slices.ContainsFunc(r.Guards, func(g Guard) bool { return g.Kind == k })
}

// Trusted says whether the run's conclusions may be acted upon by the
// reports: false once any rail tripped. An untrusted run's findings are
// shown, marked as such, but open, change or close no ticket; only the
// guard findings themselves go to people.
func (r *Result) Trusted() bool { return len(r.Guards) == 0 }
