// Package upcoming is the schedule of known leavers: terminations HR
// recorded ahead (a termination date after the latest HR snapshot), each
// due for a targeted run of that person at its effective time. The
// schedule is derived from the store, never held in memory: it survives
// restarts, and it moves or disappears as soon as a run reads HR again
// and sees the termination changed or cancelled.
package upcoming

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// Job names the targeted runs the schedule starts (in the store's runs,
// `accessrecon history` and the job metrics).
const Job = "scheduled-leaver"

// Leaver is one termination HR recorded ahead.
type Leaver struct {
	EmployeeID string `json:"employee_id"`
	Name       string `json:"name,omitempty"`
	// Status is HR's status as recorded (terminated, or still active
	// until the date).
	Status string `json:"hr_status"`
	// EffectiveAt is HR's termination date: when the targeted run is due.
	EffectiveAt time.Time `json:"effective_at"`
	// KnownBy is the run whose HR snapshot recorded the termination ahead.
	KnownBy int64 `json:"known_by_run"`
	// TakenBy is the run that dealt with the person at or after the
	// effective time (a scheduled run, a leavers sweep, a full run); 0
	// while that is still to come.
	TakenBy int64 `json:"taken_by_run,omitempty"`
}

// Due says whether the leaver's run should start now: its time has come
// and no run has dealt with the person since.
func (l Leaver) Due(now time.Time) bool { return l.TakenBy == 0 && !l.EffectiveAt.After(now) }

// Leavers is the schedule, by effective time: the people whose
// termination date in the latest whole HR snapshot (store.PrevHRRun: a
// full run or a leavers sweep, never a targeted run) lies after that
// snapshot's as-of time. A termination date that a later hire follows is
// an earlier spell's, not a leaver. None when no run has read HR yet.
func Leavers(ctx context.Context, st storefile.Store) ([]Leaver, error) {
	hrRun, err := st.PrevHRRun(ctx, math.MaxInt64)
	if err != nil || hrRun == 0 {
		return nil, err
	}
	run, err := st.GetRun(ctx, hrRun)
	if err != nil {
		return nil, err
	}
	var out []Leaver
	for p, err := range st.Leavers(ctx, hrRun, run.AsOf) {
		if err != nil {
			return nil, err
		}
		td := p.TerminationDate
		if !p.HireDate.IsZero() && p.HireDate.After(td) {
			continue
		}
		out = append(out, Leaver{EmployeeID: p.EmployeeID, Name: p.Name(), Status: string(p.Status), EffectiveAt: td.UTC(), KnownBy: hrRun})
	}
	if len(out) == 0 {
		return nil, nil
	}
	later, err := runsAfter(ctx, st, hrRun)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].TakenBy = takenBy(later, out[i])
	}
	slices.SortFunc(out, func(a, b Leaver) int {
		if c := a.EffectiveAt.Compare(b.EffectiveAt); c != 0 {
			return c
		}
		return strings.Compare(a.EmployeeID, b.EmployeeID)
	})
	return out, nil
}

// runsAfter lists the runs after run id, oldest first: few, those since
// the last HR snapshot (read newest first until id is reached).
func runsAfter(ctx context.Context, st storefile.Store, id int64) ([]store.Run, error) {
	for limit := 64; ; limit *= 4 {
		runs, err := st.Runs(ctx, limit)
		if err != nil {
			return nil, fmt.Errorf("upcoming leavers: runs after %d: %w", id, err)
		}
		if i := slices.IndexFunc(runs, func(r store.Run) bool { return r.ID <= id }); i >= 0 || len(runs) < limit {
			if i >= 0 {
				runs = runs[:i]
			}
			slices.Reverse(runs)
			return runs, nil
		}
	}
}

// takenBy is the first run that dealt with l at or after its effective
// time: not a dry run, finished (a crashed or cancelled run did not, and
// is retried), and covering the person: a full run, a sweep of
// terminations, or a targeted run naming them (which counts even when it
// failed: the sweeps and the nightly run take over, rather than a retry
// every moment).
func takenBy(runs []store.Run, l Leaver) int64 {
	id := reconcile.NormalizeID(l.EmployeeID)
	for _, r := range runs {
		if r.DryRun || r.StartedAt.Before(l.EffectiveAt) {
			continue
		}
		switch r.Status {
		case reconcile.StatusRunning, reconcile.StatusCancelled, reconcile.StatusCrashed:
			continue
		}
		if people, ok := strings.CutPrefix(r.Scope, "people:"); ok {
			if slices.ContainsFunc(strings.Split(people, ","), func(p string) bool { return reconcile.NormalizeID(p) == id }) {
				return r.ID
			}
			continue
		}
		if r.Status == reconcile.StatusFailed {
			continue
		}
		if r.Scope == "full" || slices.Contains(strings.Split(r.Scope, ","), string(reconcile.TerminatedActive)) {
			return r.ID
		}
	}
	return 0
}
