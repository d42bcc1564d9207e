package csv

import (
	"os"
	"regexp"
	"testing"

	"github.com/accessrecon/accessrecon/targets/targettest"
)

func readme(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadmeConfig(t *testing.T) {
	var cfg Config
	if err := targettest.DecodeStrict(targettest.READMEYAML(t, "README.md", 1)[0], &cfg); err != nil {
		t.Fatalf("README config: %v", err)
	}
	if cfg.Path != "/srv/exports/legacy-app-users.csv" || cfg.CredentialsPath != "/srv/exports/legacy-app-keys.csv" || cfg.Columns["account_id"] != "User ID" {
		t.Fatalf("README config decoded as %+v", cfg)
	}
	if _, err := New(cfg, nil); err != nil {
		t.Fatalf("README config rejected by New: %v", err)
	}
}

// TestReadmeExampleFiles reads the README's two example files.
func TestReadmeExampleFiles(t *testing.T) {
	blocks := regexp.MustCompile("(?s)\n```\n(account_id,.*?)```").FindAllSubmatch(readme(t), -1)
	if len(blocks) != 2 {
		t.Fatalf("found %d example file blocks, want 2", len(blocks))
	}
	cfg := Config{Path: write(t, "app.csv", string(blocks[0][1])), CredentialsPath: write(t, "keys.csv", string(blocks[1][1]))}
	got, err := list(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !got[0].Privileged || len(got[0].Groups) != 2 || got[1].Enabled || got[1].DisplayName != "Ng, Bo" ||
		len(got[0].Credentials) != 1 || !got[1].Credentials[0].Active || !got[2].Enabled {
		t.Fatalf("example files read as %+v", got)
	}
}
