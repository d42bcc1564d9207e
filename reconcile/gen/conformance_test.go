package gen

import (
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/sources/sourcetest"
)

// The generated source keeps the HR source contract. 5,000 people: more
// than the 4,096 between two looks at ctx, so cancellation is seen midway.
func TestSourceConformance(t *testing.T) {
	spec := Spec{People: 5000, Seed: 7, AsOf: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)}
	want := make([]sources.Person, spec.People)
	for i := range want {
		want[i] = spec.Person(i)
	}
	sourcetest.Run(t, func(t *testing.T) sourcetest.Fixture {
		return sourcetest.Fixture{Source: Source{Spec: spec}, People: want}
	})
}
