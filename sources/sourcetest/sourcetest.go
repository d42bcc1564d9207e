// Package sourcetest is the conformance suite every HR source runs (Run),
// the counterpart of targets/targettest for package sources. It checks what
// the sources contract promises and nothing more: People yields each person
// once, as HR wrote them (trimmed employee IDs, statuses from the closed
// set, dates read), stops when the consumer breaks, ends with an error when
// ctx ends before it is done or when a record is bad (and yields nothing
// after it); the optional Refresher returns exactly the people asked for,
// and IDResolver resolves known internal IDs and refuses unknown ones.
//
// Each check is also a function returning an error, so that the suite's own
// tests can show that it catches a source breaking the contract.
package sourcetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/sources"
)

// Fixture is what a source's test hands the suite.
type Fixture struct {
	// Source reads an HR system holding exactly People.
	Source sources.Source
	// People is what Source must yield, in any order: at least two.
	People []sources.Person
	// InternalIDs maps the HR system's own IDs of some of People to their
	// employee IDs. Required when Source is an IDResolver; a Refresher is
	// also asked for people by these IDs.
	InternalIDs map[string]string
	// Broken, when set, reads a system holding one bad record (an unknown
	// status, say) after at least one good one; its error must contain
	// every string of BrokenMentions (the record and the field).
	Broken         sources.Source
	BrokenMentions []string
}

// NoSuchID is an ID the suite assumes no HR system holds.
const NoSuchID = "accessrecon-no-such-person"

// Run runs the conformance suite. setup is called once per subtest and
// returns a fixture over a freshly seeded system. Optional capabilities the
// source lacks are skipped.
func Run(t *testing.T, setup func(t *testing.T) Fixture) {
	t.Helper()
	run := func(name string, check func(context.Context, Fixture) error) {
		t.Run(name, func(t *testing.T) {
			fx := setup(t)
			if len(fx.People) < 2 {
				t.Fatalf("the fixture has %d people: seed at least two", len(fx.People))
			}
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			if err := check(ctx, fx); errors.Is(err, errSkip) {
				t.Skip(err)
			} else if err != nil {
				t.Fatal(err)
			}
		})
	}
	run("People", CheckPeople)
	run("EarlyStop", CheckEarlyStop)
	run("Cancelled", CheckCancelled)
	run("CancelledMidway", CheckCancelledMidway)
	run("BadRecord", CheckBadRecord)
	run("Refresher", CheckRefresher)
	run("IDResolver", CheckIDResolver)
}

// errSkip is returned by a check that does not apply to the fixture.
var errSkip = errors.New("does not apply")

// CheckPeople checks that People yields exactly fx.People, each once (employee
// IDs compared as reconcile compares them: case-insensitively), with
// non-empty trimmed employee IDs, statuses from sources.Statuses and every
// field, dates included, as expected.
func CheckPeople(ctx context.Context, fx Fixture) error {
	got, err := collect(fx.Source.People(ctx))
	if err != nil {
		return fmt.Errorf("reading people: %w", err)
	}
	return samePeople("People", got, fx.People)
}

// CheckEarlyStop checks that People stops when the consumer breaks after the
// first person (the runtime panics if yield is called again).
func CheckEarlyStop(ctx context.Context, fx Fixture) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading people after break: %v", r)
		}
	}()
	n := 0
	for _, err := range fx.Source.People(ctx) {
		if err != nil {
			return fmt.Errorf("reading people: %w", err)
		}
		n++
		break
	}
	if n != 1 {
		return fmt.Errorf("got %d people before break, want 1", n)
	}
	return nil
}

// CheckCancelled checks that People under a cancelled context ends promptly
// with an error wrapping context.Canceled: a read that never happened must
// not look like an HR system with nobody in it.
func CheckCancelled(ctx context.Context, fx Fixture) error {
	c, cancel := context.WithCancel(ctx)
	cancel()
	return endsCancelled(fx.Source.People(c), -1)
}

// CheckCancelledMidway checks that when ctx ends after the first person,
// People ends promptly, and that unless it had yielded every person by
// then, it ends with an error wrapping context.Canceled: an interrupted
// read must not look complete.
func CheckCancelledMidway(ctx context.Context, fx Fixture) error {
	c, cancel := context.WithCancel(ctx)
	defer cancel()
	seq := func(yield func(sources.Person, error) bool) {
		first := true
		for p, err := range fx.Source.People(c) {
			if !yield(p, err) {
				return
			}
			if first {
				first = false
				cancel()
			}
		}
	}
	return endsCancelled(seq, len(fx.People))
}

// endsCancelled reads seq in the background and checks that it ends within
// 10 s with nothing after its error, and with an error wrapping
// context.Canceled unless it yielded all (all < 0: never allowed).
func endsCancelled(seq func(func(sources.Person, error) bool), all int) error {
	type result struct {
		n    int
		last error
		bad  error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		for _, err := range seq {
			switch {
			case r.last != nil:
				r.bad = fmt.Errorf("yielded again after the error %v", r.last)
			case err != nil:
				r.last = err
			default:
				r.n++
			}
		}
		done <- r
	}()
	select {
	case r := <-done:
		switch {
		case r.bad != nil:
			return r.bad
		case r.last == nil && (all < 0 || r.n < all):
			return fmt.Errorf("reading people under a cancelled context ended without an error after %d people: it would look complete", r.n)
		case r.last != nil && !errors.Is(r.last, context.Canceled):
			return fmt.Errorf("reading people under a cancelled context: error %v does not wrap context.Canceled", r.last)
		}
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("reading people did not stop within 10s of cancellation")
	}
}

// CheckBadRecord checks, on fx.Broken, that a bad record is yielded as one
// error naming it (BrokenMentions), with a zero Person, and that nothing is
// yielded after it.
func CheckBadRecord(ctx context.Context, fx Fixture) error {
	if fx.Broken == nil {
		return fmt.Errorf("%w: the fixture has no Broken source", errSkip)
	}
	var errs []error
	after := 0
	for p, err := range fx.Broken.People(ctx) {
		switch {
		case len(errs) > 0:
			after++
			if err != nil {
				errs = append(errs, err)
			}
		case err != nil:
			if p != (sources.Person{}) {
				return fmt.Errorf("the error %v came with a person: %+v", err, p)
			}
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return errors.New("a bad record was skipped: People ended without an error")
	}
	if after > 0 {
		return fmt.Errorf("reading people yielded %d more values after the error %v", after, errs[0])
	}
	for _, m := range fx.BrokenMentions {
		if !strings.Contains(errs[0].Error(), m) {
			return fmt.Errorf("the error %q does not mention %q", errs[0], m)
		}
	}
	return nil
}

// CheckRefresher checks that PeopleByID yields exactly the people asked for
// (the first and last of fx.People by employee ID, and one by each internal
// ID of fx.InternalIDs), an unknown ID naming no one.
func CheckRefresher(ctx context.Context, fx Fixture) error {
	r, ok := fx.Source.(sources.Refresher)
	if !ok {
		return fmt.Errorf("%w: the source is no Refresher", errSkip)
	}
	first, last := fx.People[0], fx.People[len(fx.People)-1]
	got, err := collect(r.PeopleByID(ctx, []string{first.EmployeeID, NoSuchID, last.EmployeeID}))
	if err != nil {
		return fmt.Errorf("PeopleByID: %w", err)
	}
	if err := samePeople("PeopleByID", got, []sources.Person{first, last}); err != nil {
		return err
	}
	for internal, emp := range fx.InternalIDs {
		want, ok := byID(fx.People, emp)
		if !ok {
			return fmt.Errorf("fixture: internal ID %s names %s, who is not in People", internal, emp)
		}
		got, err := collect(r.PeopleByID(ctx, []string{internal}))
		if err != nil {
			return fmt.Errorf("PeopleByID(%s): %w", internal, err)
		}
		if err := samePeople("PeopleByID("+internal+")", got, []sources.Person{want}); err != nil {
			return err
		}
	}
	return nil
}

// CheckIDResolver checks that EmployeeIDFor resolves each internal ID of
// fx.InternalIDs and returns an error, not an empty ID, for an unknown one.
func CheckIDResolver(ctx context.Context, fx Fixture) error {
	r, ok := fx.Source.(sources.IDResolver)
	if !ok {
		return fmt.Errorf("%w: the source is no IDResolver", errSkip)
	}
	if len(fx.InternalIDs) == 0 {
		return errors.New("the source is an IDResolver: give the fixture InternalIDs so that it is tested")
	}
	for internal, want := range fx.InternalIDs {
		got, err := r.EmployeeIDFor(ctx, internal)
		if err != nil || got != want {
			return fmt.Errorf("EmployeeIDFor(%s) = %q, %v; want %q", internal, got, err, want)
		}
	}
	if got, err := r.EmployeeIDFor(ctx, NoSuchID); err == nil {
		return fmt.Errorf("EmployeeIDFor of an unknown ID = %q without an error", got)
	}
	return nil
}

// collect reads seq whole; an error ends it, and a value after the error is
// an error of its own.
func collect(seq func(func(sources.Person, error) bool)) ([]sources.Person, error) {
	var out []sources.Person
	var first error
	for p, err := range seq {
		if first != nil {
			return out, fmt.Errorf("%w; then it yielded again (%+v, %v)", first, p, err)
		}
		if err != nil {
			first = err
			continue
		}
		out = append(out, p)
	}
	return out, first
}

// samePeople compares got with want as sets keyed by employee ID, checking
// the contract's rules on got on the way.
func samePeople(what string, got, want []sources.Person) error {
	wantByID := make(map[string]sources.Person, len(want))
	for _, w := range want {
		wantByID[w.EmployeeID] = w
	}
	seen := map[string]bool{}
	for _, p := range got {
		if p.EmployeeID == "" || p.EmployeeID != strings.TrimSpace(p.EmployeeID) {
			return fmt.Errorf("%s: employee ID %q is empty or untrimmed (%+v)", what, p.EmployeeID, p)
		}
		if !slices.Contains(sources.Statuses, p.Status) {
			return fmt.Errorf("%s: %s: status %q is not one of %v", what, p.EmployeeID, p.Status, sources.Statuses)
		}
		k := strings.ToLower(p.EmployeeID)
		if seen[k] {
			return fmt.Errorf("%s: %s yielded twice", what, p.EmployeeID)
		}
		seen[k] = true
		w, ok := wantByID[p.EmployeeID]
		if !ok {
			return fmt.Errorf("%s: %s yielded, not expected", what, p.EmployeeID)
		}
		if d := diff(p, w); d != "" {
			return fmt.Errorf("%s: %s: %s", what, p.EmployeeID, d)
		}
	}
	for _, w := range want {
		if !seen[strings.ToLower(w.EmployeeID)] {
			return fmt.Errorf("%s: %s not yielded (%d of %d people)", what, w.EmployeeID, len(got), len(want))
		}
	}
	return nil
}

// byID finds the person of employee ID id (exactly as HR wrote it).
func byID(ps []sources.Person, id string) (sources.Person, bool) {
	for _, p := range ps {
		if p.EmployeeID == id {
			return p, true
		}
	}
	return sources.Person{}, false
}

// diff names the fields in which got differs from want; dates are compared
// as instants.
func diff(got, want sources.Person) string {
	var d []string
	str := func(name, g, w string) {
		if g != w {
			d = append(d, fmt.Sprintf("%s %q, want %q", name, g, w))
		}
	}
	date := func(name string, g, w time.Time) {
		if !g.Equal(w) {
			d = append(d, fmt.Sprintf("%s %s, want %s", name, g, w))
		}
	}
	str("email", got.Email, want.Email)
	str("first name", got.FirstName, want.FirstName)
	str("last name", got.LastName, want.LastName)
	str("status", string(got.Status), string(want.Status))
	date("status effective", got.StatusEffective, want.StatusEffective)
	date("termination date", got.TerminationDate, want.TerminationDate)
	date("hire date", got.HireDate, want.HireDate)
	str("department", got.Department, want.Department)
	str("job code", got.JobCode, want.JobCode)
	str("manager ID", got.ManagerID, want.ManagerID)
	str("worker type", got.WorkerType, want.WorkerType)
	return strings.Join(d, "; ")
}
