package bamboohr

import (
	"testing"

	"github.com/accessrecon/accessrecon/sources/sourcetest"
)

// The shared HR source suite, against the fake BambooHR API: the custom
// report of testdata/equivalence.json, and one whose second record has a
// status the status map does not know.
func TestConformance(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) sourcetest.Fixture {
		f := newFakeBamboo(t)
		f.load("testdata/equivalence.json")
		broken := newFakeBamboo(t)
		broken.raw = `{"fields":[],"employees":[` +
			`{"id":"1","employeeNumber":"A1","status":"Active"},` +
			`{"id":"2","employeeNumber":"A2","status":"Furloughed"},` +
			`{"id":"3","employeeNumber":"A3","status":"Active"}]}`
		return sourcetest.Fixture{
			Source:         newSource(t, equivalenceConfig(t, f)),
			People:         equivalencePeople,
			InternalIDs:    map[string]string{"101": "00042", "106": "E103"},
			Broken:         newSource(t, Config{BaseURL: broken.baseURL()}),
			BrokenMentions: []string{"record 2", `"A2"`, "status (status)"},
		}
	})
}
