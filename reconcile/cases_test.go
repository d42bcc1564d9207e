package reconcile

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	csvsource "github.com/accessrecon/accessrecon/sources/csv"
	"github.com/accessrecon/accessrecon/targets"
	csvtarget "github.com/accessrecon/accessrecon/targets/csv"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

var update = flag.Bool("update", false, "rewrite testdata/*/want.json from the engine's output")

// caseFile is testdata/<case>/case.yaml.
type caseFile struct {
	// AsOf is day 2; day 1 is 24h earlier.
	AsOf   Date   `yaml:"as_of"`
	Mode   Mode   `yaml:"mode"`
	Status string `yaml:"status"` // the expected run status of day 2
	Policy Policy `yaml:"policy"`
	// Sources by name: <name>.csv in each day's folder (default: one
	// source, hr, read from hr.csv).
	Sources map[string]struct {
		Priority int `yaml:"priority"`
	} `yaml:"sources"`
	// Disabled lists target/account of every account accessrecon must have
	// disabled on day 2, and no other (checked when set).
	Disabled []string `yaml:"disabled"`
	// Resolutions maps the employee ID of each person several sources
	// report on day 2 to the rule that resolved them (checked when set).
	Resolutions map[string]string `yaml:"resolutions"`
	// Targets by name: <name>.csv in each day's folder.
	Targets map[string]struct {
		// Fake loads the export into a targettest.Fake, a target with every
		// capability (the CSV connector itself is read-only).
		Fake      bool     `yaml:"fake"`
		Tier      string   `yaml:"tier"`
		Correlate []string `yaml:"correlate"`
		Trusted   []string `yaml:"trusted"`
	} `yaml:"targets"`
}

type wantFinding struct {
	Kind        Kind        `json:"kind"`
	Target      string      `json:"target"`
	AccountID   string      `json:"account_id"`
	Disposition Disposition `json:"disposition"`
}

func TestCases(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/case.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, cf := range dirs {
		dir := filepath.Dir(cf)
		t.Run(filepath.Base(dir), func(t *testing.T) { runCase(t, dir) })
	}
}

func runCase(t *testing.T, dir string) {
	raw, err := os.ReadFile(filepath.Join(dir, "case.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c caseFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("case.yaml: %v", err)
	}
	e := newEngine(t)
	var fakes []*targettest.Fake
	var fakeNames []string
	var disabled []string // target/account that were enabled at the start of day 2 and are not now
	var res *Result
	for i, day := range []string{"day1", "day2"} {
		asOf := c.AsOf.Add(time.Duration(i-1) * 24 * time.Hour)
		spec := RunSpec{AsOf: asOf, Mode: cmp.Or(c.Mode, Report), Policy: c.Policy}
		srcNames := []string{"hr"}
		if len(c.Sources) > 0 {
			srcNames = slices.Sorted(maps.Keys(c.Sources))
		}
		for _, n := range srcNames {
			src, err := csvsource.New(csvsource.Config{Path: filepath.Join(dir, day, n+".csv")}, e.Log)
			if err != nil {
				t.Fatal(err)
			}
			spec.Sources = append(spec.Sources, SourceSpec{Name: n, Type: "csv", Source: src, Priority: c.Sources[n].Priority})
		}
		disabledBefore := map[string]bool{}
		names := make([]string, 0, len(c.Targets))
		for n := range c.Targets {
			names = append(names, n)
		}
		slices.Sort(names)
		fakes, fakeNames = fakes[:0], fakeNames[:0]
		for _, n := range names {
			tc := c.Targets[n]
			ct, err := csvtarget.New(csvtarget.Config{Path: filepath.Join(dir, day, n+".csv")}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			var tg targets.Target = ct
			if tc.Fake {
				f := targettest.NewFake()
				for a, err := range ct.Accounts(context.Background()) {
					if err != nil {
						t.Fatalf("%s/%s: %v", day, n, err)
					}
					f.Put(a)
					if day == "day2" && a.Enabled {
						disabledBefore[n+"/"+a.ID] = false
					}
				}
				fakes = append(fakes, f)
				fakeNames = append(fakeNames, n)
				tg = f
			}
			spec.Targets = append(spec.Targets, TargetSpec{Name: n, Type: "csv", Tier: tc.Tier, Target: tg,
				Correlation: Correlation{Correlate: tc.Correlate, Trusted: tc.Trusted}})
		}
		res, err = e.Run(context.Background(), spec)
		if day == "day1" && err != nil {
			t.Fatalf("day 1: %v", err)
		}
		if day == "day2" {
			t.Logf("day 2: status %s err %v guards %v", res.Run.Status, err, res.Run.Guards)
			for i, f := range fakes {
				for key := range disabledBefore {
					tgt, id, _ := strings.Cut(key, "/")
					if a, _ := f.Get(id); tgt == fakeNames[i] && !a.Enabled {
						disabled = append(disabled, key)
					}
				}
			}
			slices.Sort(disabled)
		}
	}
	if want := cmp.Or(Status(c.Status), StatusCompleted); res.Run.Status != want {
		t.Errorf("day 2 status %s, want %s (error %q)", res.Run.Status, want, res.Run.Error)
	}
	if c.Resolutions != nil {
		got := map[string]string{}
		for _, r := range res.HRResolutions {
			got[r.EmployeeID] = r.Rule
		}
		if !maps.Equal(got, c.Resolutions) {
			t.Errorf("day 2 resolved people %v, want %v (%+v)", got, c.Resolutions, res.HRResolutions)
		}
	}
	if c.Disabled != nil && !slices.Equal(disabled, slices.Sorted(slices.Values(c.Disabled))) {
		t.Errorf("day 2 disabled %v, want exactly %v", disabled, c.Disabled)
	}
	if res.Run.Status == StatusGuardTripped {
		for _, f := range fakes {
			if len(f.Log()) != 0 {
				t.Errorf("a guarded run acted: %v", f.Log())
			}
		}
		for _, f := range res.Findings {
			if f.Outcome == OutcomeDone {
				t.Errorf("guarded run: finding %s %s done", f.Kind, f.AccountID)
			}
		}
	}
	got := []wantFinding{}
	for _, f := range res.Findings {
		got = append(got, wantFinding{f.Kind, f.Target, f.AccountID, f.Disposition})
	}
	slices.SortFunc(got, func(a, b wantFinding) int {
		return cmp.Or(cmp.Compare(a.Target, b.Target), cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.Kind, b.Kind))
	})
	wantPath := filepath.Join(dir, "want.json")
	if *update {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(wantPath, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(wantPath)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	var want []wantFinding
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		gb, _ := json.MarshalIndent(got, "", "  ")
		t.Errorf("day 2 findings differ from %s:\n%s", wantPath, gb)
	}
}
