package reconcile

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/sources"
)

// HRTarget is the Target of findings about HR data itself rather than an
// account on a target (an hr_conflict): their AccountID is the employee ID.
const HRTarget = "(hr)"

// How a person reported by more than one source was resolved.
const (
	// RulePriority: the record of the source with the highest priority won.
	RulePriority = "priority"
	// RuleConversion: one record's employment has ended and the other's
	// current spell started no earlier (contractor converted to employee,
	// HRIS migration): the current record won.
	RuleConversion = "conversion"
	// RuleSameStatus: the records agree on the status; the one whose spell
	// started last won (its other fields are used).
	RuleSameStatus = "same_status"
	// RuleAllEnded: every record's employment has ended; the one whose spell
	// started last won.
	RuleAllEnded = "all_ended"
	// RuleConflict: the records disagree and nothing says which is right
	// (both current with different statuses, or an ended record whose spell
	// started after the current one's): an hr_conflict finding, and nothing
	// of the person is revoked.
	RuleConflict = "conflict"
)

// HRRecord is one source's record of a person reported by several sources.
type HRRecord struct {
	Source          string         `json:"source"`
	Priority        int            `json:"priority,omitempty"`
	Status          sources.Status `json:"status"`
	HireDate        *time.Time     `json:"hire_date,omitempty"`
	TerminationDate *time.Time     `json:"termination_date,omitempty"`
	// Ended: the record says the person's employment is over as of the run.
	Ended bool `json:"ended"`
}

// HRResolution says which record the run used for a person reported by more
// than one HR source, and why. The workbook's Sources section shows them.
type HRResolution struct {
	EmployeeID string `json:"employee_id"`
	// Winner is the source whose record the run used ("" for a conflict:
	// the run kept the first source's record for correlation only).
	Winner  string     `json:"winner,omitempty"`
	Rule    string     `json:"rule"`
	Reason  string     `json:"reason"`
	Records []HRRecord `json:"records"`
}

// hrRecord is one source's record during collection.
type hrRecord struct {
	source   string
	priority int
	row      *PersonRow
}

// ended says whether HR's record says the person's employment is over at
// asOf: terminated with no date or a date passed, or a passed termination
// date that no later hire follows (HR lagging).
func ended(p *PersonRow, asOf time.Time) bool {
	td := termination(p, asOf)
	switch {
	case !td.IsZero() && !td.After(asOf):
		return p.Status == sources.Terminated || !p.HireDate.After(td)
	case p.Status == sources.Terminated:
		return td.IsZero()
	}
	return false
}

// resolvePerson chooses among the records of one person (in source order,
// at least two). A record wins by priority; otherwise a current record wins
// over ended ones when its spell started last (a conversion); records that
// agree on a current status, or that have all ended, are resolved to the
// spell that started last. Anything else is a conflict: nothing says which
// record is right, and a wrong revocation is worse than none.
func resolvePerson(recs []hrRecord, asOf time.Time, loc *time.Location) (winner *hrRecord, res HRResolution) {
	r := &resolving{recs: recs, loc: loc}
	r.res.EmployeeID = recs[0].row.EmployeeID
	for _, rec := range recs {
		x := HRRecord{Source: rec.source, Priority: rec.priority, Status: rec.row.Status, Ended: ended(rec.row, asOf)}
		if t := rec.row.HireDate; !t.IsZero() {
			x.HireDate = &t
		}
		if t := rec.row.TerminationDate; !t.IsZero() {
			x.TerminationDate = &t
		}
		r.res.Records = append(r.res.Records, x)
	}

	idx := make([]int, len(recs))
	for i := range recs {
		idx[i] = i
	}
	top := slices.MaxFunc(recs, func(a, b hrRecord) int { return a.priority - b.priority }).priority
	var cands []int
	for _, i := range idx {
		if recs[i].priority == top {
			cands = append(cands, i)
		}
	}
	if len(cands) == 1 {
		return r.win(cands[0], RulePriority, fmt.Sprintf("%s has the highest priority (%d): %s", recs[cands[0]].source, top, r.all(idx)))
	}

	var current, gone []int
	for _, i := range cands {
		if r.res.Records[i].Ended {
			gone = append(gone, i)
		} else {
			current = append(current, i)
		}
	}
	conflict := func(why string) (*hrRecord, HRResolution) {
		r.res.Rule, r.res.Reason = RuleConflict, why+": "+r.all(idx)
		return &recs[current[0]], r.res
	}
	switch {
	case len(current) == 0:
		i := r.latest(gone)
		return r.win(i, RuleAllEnded, fmt.Sprintf("every record has ended; %s's spell started last: %s", recs[i].source, r.all(cands)))
	case len(current) > 1:
		for _, i := range current[1:] {
			if currentStatus(recs[i].row) != currentStatus(recs[current[0]].row) {
				return conflict("the records disagree on a current status")
			}
		}
	}
	// One current status: it wins over ended records only when its spell
	// started no earlier than theirs (a conversion). An ended record whose
	// spell started later, or spells of unknown order, are a conflict.
	i := r.latest(current)
	start := recs[i].row.HireDate
	for _, g := range gone {
		gs := recs[g].row.HireDate
		if start.IsZero() || gs.IsZero() {
			return conflict("one record has ended and another is current, and without both hire dates nothing says which came last")
		}
		if gs.After(start) {
			return conflict(fmt.Sprintf("%s's record has ended but its spell started after %s's current one", recs[g].source, recs[i].source))
		}
	}
	if len(gone) > 0 {
		return r.win(i, RuleConversion, fmt.Sprintf("%s's current spell started last and the other record has ended (a conversion): %s", recs[i].source, r.all(cands)))
	}
	return r.win(i, RuleSameStatus, fmt.Sprintf("the records agree (%s); %s's spell started last: %s", currentStatus(recs[i].row), recs[i].source, r.all(cands)))
}

// resolving is resolvePerson's work in progress.
type resolving struct {
	recs []hrRecord
	res  HRResolution
	loc  *time.Location
}

// describe is what record i says, for a reason.
func (r *resolving) describe(i int) string {
	x := r.res.Records[i]
	s := fmt.Sprintf("%s says %s", x.Source, x.Status)
	if x.HireDate != nil {
		s += ", hired " + dayIn(*x.HireDate, r.loc)
	}
	if x.TerminationDate != nil {
		s += ", termination date " + dayIn(*x.TerminationDate, r.loc)
	}
	return s
}

// all describes the records idx.
func (r *resolving) all(idx []int) string {
	parts := make([]string, len(idx))
	for k, i := range idx {
		parts[k] = r.describe(i)
	}
	return strings.Join(parts, "; ")
}

// win makes record i the winner by rule.
func (r *resolving) win(i int, rule, why string) (*hrRecord, HRResolution) {
	r.res.Winner, r.res.Rule, r.res.Reason = r.recs[i].source, rule, why
	return &r.recs[i], r.res
}

// latest is the candidate whose spell started last (the first of equals).
func (r *resolving) latest(idx []int) int {
	best := idx[0]
	for _, i := range idx[1:] {
		if r.recs[i].row.HireDate.After(r.recs[best].row.HireDate) {
			best = i
		}
	}
	return best
}

// currentStatus is what a record that has not ended says of the person
// now: a termination recorded ahead (status terminated, date to come) is
// still employment, so a conversion recorded ahead is no conflict.
func currentStatus(p *PersonRow) sources.Status {
	if p.Status == sources.Terminated {
		return sources.Active
	}
	return p.Status
}

// conflictFinding is the review finding for a person whose HR records
// conflict: one per person, no steps.
func conflictFinding(p *PersonRow, r HRResolution, loc *time.Location) Finding {
	ev := Evidence{}
	for _, x := range r.Records {
		v := string(x.Status)
		if x.HireDate != nil {
			v += ", hired " + dayIn(*x.HireDate, loc)
		}
		if x.TerminationDate != nil {
			v += ", termination date " + dayIn(*x.TerminationDate, loc)
		}
		ev.Set("source:"+x.Source, v)
	}
	return Finding{Kind: HRConflict, Severity: High, Disposition: Review, Target: HRTarget, AccountID: p.EmployeeID, EmployeeID: p.EmployeeID,
		Person:   &PersonRef{EmployeeID: p.EmployeeID, Name: p.Name(), Email: p.Email, Status: p.Status, JobCode: p.JobCode, Department: p.Department},
		Reason:   fmt.Sprintf("HR sources disagree about %s (%s); nothing of this person is revoked until HR settles it (or a source is given a priority)", p.EmployeeID, r.Reason),
		Evidence: ev, Actions: []Step{}}
}
