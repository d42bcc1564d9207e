package csv

import (
	"os"
	"regexp"
	"testing"

	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

func TestReadmeConfig(t *testing.T) {
	var cfg Config
	if err := targettest.DecodeStrict(targettest.READMEYAML(t, "README.md", 1)[0], &cfg); err != nil {
		t.Fatalf("README config: %v", err)
	}
	if cfg.Path != "/srv/hr/exports/hr.csv" || cfg.Columns["employee_id"] != "Worker ID" || cfg.StatusMap["Withdrawn"] != sources.Terminated {
		t.Fatalf("README config decoded as %+v", cfg)
	}
	if _, err := New(cfg, nil); err != nil {
		t.Fatalf("README config rejected by New: %v", err)
	}
}

// TestReadmeExampleFile reads the README's example file, so that it stays valid.
func TestReadmeExampleFile(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)Example file:\n\n```\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("README.md has no example file block")
	}
	people, err := readAll(t, Config{Path: write(t, string(m[1]))})
	if err != nil {
		t.Fatal(err)
	}
	if len(people) != 3 || people[0].EmployeeID != "007" || people[1].Status != sources.Terminated || people[2].Status != sources.Leave {
		t.Fatalf("example file read as %+v", people)
	}
}
