package sourcetest

import (
	"context"
	"errors"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/sources"
)

var people = []sources.Person{
	{EmployeeID: "E1", Email: "a@example.com", FirstName: "Ann", Status: sources.Active, HireDate: time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)},
	{EmployeeID: "E2", Email: "b@example.com", FirstName: "Ben", Status: sources.Terminated, TerminationDate: time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)},
	{EmployeeID: "E3", Email: "c@example.com", FirstName: "Cid", Status: sources.Leave},
}

// memSource is an in-memory source whose flaws are switched on one at a
// time, to show that each check catches the flaw it is about.
type memSource struct {
	people       []sources.Person
	badAt        int  // > 0: the record at this index is bad
	skipBad      bool // ... and skipped silently
	afterError   bool // ... and reading goes on after the error
	ignoreCtx    bool // never looks at ctx
	silentCancel bool // stops without an error when ctx ends
	refreshAll   bool // PeopleByID yields everyone
	emptyUnknown bool // EmployeeIDFor of an unknown ID is "", nil
}

func (m *memSource) People(ctx context.Context) iter.Seq2[sources.Person, error] {
	return func(yield func(sources.Person, error) bool) {
		for i, p := range m.people {
			if !m.ignoreCtx && ctx.Err() != nil {
				if !m.silentCancel {
					yield(sources.Person{}, ctx.Err())
				}
				return
			}
			if m.badAt > 0 && i == m.badAt {
				if m.skipBad {
					continue
				}
				if !yield(sources.Person{}, errors.New("record 2: status: unknown status \"x\"")) || !m.afterError {
					return
				}
				continue
			}
			if !yield(p, nil) {
				return
			}
		}
	}
}

func (m *memSource) PeopleByID(ctx context.Context, ids []string) iter.Seq2[sources.Person, error] {
	return func(yield func(sources.Person, error) bool) {
		for _, p := range m.people {
			match := m.refreshAll
			for _, id := range ids {
				match = match || strings.EqualFold(id, p.EmployeeID) || id == "x"+p.EmployeeID
			}
			if match && !yield(p, nil) {
				return
			}
		}
	}
}

func (m *memSource) EmployeeIDFor(_ context.Context, internalID string) (string, error) {
	for _, p := range m.people {
		if internalID == "x"+p.EmployeeID {
			return p.EmployeeID, nil
		}
	}
	if m.emptyUnknown {
		return "", nil
	}
	return "", errors.New("no such id")
}

func fixture(m *memSource) Fixture {
	if m.people == nil {
		m.people = people
	}
	broken := *m
	if broken.badAt == 0 {
		broken.badAt = 1
	}
	return Fixture{Source: m, People: people, InternalIDs: map[string]string{"xE2": "E2"}, Broken: &broken, BrokenMentions: []string{"record 2", "status"}}
}

// A source keeping the contract passes the whole suite.
func TestConformingSource(t *testing.T) {
	Run(t, func(t *testing.T) Fixture { return fixture(&memSource{}) })
}

// Each check fails on the flaw it is about.
func TestChecksCatchFlaws(t *testing.T) {
	dup := append(append([]sources.Person{}, people...), sources.Person{EmployeeID: "e1", Status: sources.Active})
	untrimmed := append([]sources.Person{}, people...)
	untrimmed[0].EmployeeID = " E1"
	badStatus := append([]sources.Person{}, people...)
	badStatus[1].Status = "gone"
	wrongDate := append([]sources.Person{}, people...)
	wrongDate[0].HireDate = wrongDate[0].HireDate.AddDate(0, 0, 1)
	cases := []struct {
		name  string
		m     *memSource
		check func(context.Context, Fixture) error
		want  string
	}{
		{"duplicate (case-insensitive)", &memSource{people: dup}, CheckPeople, "yielded twice"},
		{"untrimmed ID", &memSource{people: untrimmed}, CheckPeople, "untrimmed"},
		{"status outside the set", &memSource{people: badStatus}, CheckPeople, "is not one of"},
		{"date misread", &memSource{people: wrongDate}, CheckPeople, "hire date"},
		{"person missing", &memSource{people: people[:2]}, CheckPeople, "E3 not yielded"},
		{"cancelled ignored", &memSource{ignoreCtx: true}, CheckCancelled, "would look complete"},
		{"cancelled silently", &memSource{silentCancel: true}, CheckCancelled, "would look complete"},
		{"cancelled midway silently", &memSource{silentCancel: true}, CheckCancelledMidway, "would look complete"},
		{"bad record skipped", &memSource{badAt: 1, skipBad: true}, CheckBadRecord, "skipped"},
		{"yield after the error", &memSource{badAt: 1, afterError: true}, CheckBadRecord, "after the error"},
		{"refresh yields everyone", &memSource{refreshAll: true}, CheckRefresher, "not expected"},
		{"unknown internal ID resolved to nothing", &memSource{emptyUnknown: true}, CheckIDResolver, "without an error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.check(t.Context(), fixture(c.m))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one mentioning %q", err, c.want)
			}
		})
	}
	// A bad record whose error does not name it.
	fx := fixture(&memSource{})
	fx.BrokenMentions = []string{"line 7"}
	if err := CheckBadRecord(t.Context(), fx); err == nil || !strings.Contains(err.Error(), "does not mention") {
		t.Fatalf("err %v", err)
	}
}
