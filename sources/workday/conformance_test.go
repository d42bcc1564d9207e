package workday

import (
	"testing"

	"github.com/accessrecon/accessrecon/sources/sourcetest"
)

// The shared HR source suite, against the fake Workday report: the entries
// of testdata/equivalence.json, and a report whose second entry has a
// status the status map does not know.
func TestConformance(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) sourcetest.Fixture {
		f := newFakeWorkday(t)
		f.load("testdata/equivalence.json")
		broken := newFakeWorkday(t)
		broken.raw = `{"Report_Entry":[` +
			`{"Employee_ID":"A1","Worker_Status":"Active"},` +
			`{"Employee_ID":"A2","Worker_Status":"Furloughed"},` +
			`{"Employee_ID":"A3","Worker_Status":"Active"}]}`
		return sourcetest.Fixture{
			Source:         newSource(t, equivalenceConfig(t, f)),
			People:         equivalencePeople,
			Broken:         newSource(t, Config{URL: broken.url()}),
			BrokenMentions: []string{"record 2", `"A2"`, "Worker_Status (status)"},
		}
	})
}
