package main

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/evidence"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

// readZip reads every file of a zip.
func readZip(t *testing.T, path string) map[string][]byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = b
	}
	return out
}

// The evidence pack of a period: the period and run workbooks (which
// LibreOffice opens), the audit export with its verification, the SLA
// summary, the drills, exemptions and holds, the runs with their
// configuration's SHA-256 (none for a run made before it was kept), and a
// manifest whose sums match every file.
func TestEvidencePack(t *testing.T) {
	dir, cfg := smallSetup(t, `reports: {xlsx: {dir: books}}
drills:
  canaries:
    - {employee_id: CANARY-9, first_name: Canary, last_name: Nine, accounts: {app: "9"}}
`)
	body, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", filepath.Join(dir, "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO users VALUES ('9', 'CANARY-9', 1)`); err != nil {
		t.Fatal(err)
	}
	e2eRun(t, "run", "--config", cfg, "--out", filepath.Join(dir, "out"))
	e2eRun(t, "drill", "--config", cfg, "--by", "Officer O")
	today := time.Now().UTC().Format(time.DateOnly)
	pack := filepath.Join(dir, "pack.zip")
	out := e2eRun(t, "evidence", "--config", cfg, "--from", today, "--to", today, "--out", pack)
	t.Logf("evidence output:\n%s", out)
	files := readZip(t, pack)

	// The manifest names every other file with its SHA-256.
	manifest := string(files[evidence.ManifestName])
	lines := strings.Split(strings.TrimSpace(manifest), "\n")
	if len(lines) != len(files)-1 {
		t.Errorf("manifest has %d lines for %d other files:\n%s", len(lines), len(files)-1, manifest)
	}
	for _, l := range lines {
		sum, name, ok := strings.Cut(l, "  ")
		s := sha256.Sum256(files[name])
		if !ok || files[name] == nil || hex.EncodeToString(s[:]) != sum {
			t.Errorf("manifest line %q does not match the file", l)
		}
	}
	cfgSum := sha256.Sum256(body)
	for name, want := range map[string][]string{
		"runs.csv":                  {"run,started_at", hex.EncodeToString(cfgSum[:]), ",drill,people:CANARY-9,enforce,completed,yes,"},
		"audit/verification.json":   {`"intact": true`},
		"audit/audit-export.jsonl":  {`"type":"drill"`, `"actor":"Officer O"`},
		"drills.json":               {`"by": "Officer O"`, `"scenario": "terminate"`},
		"sla-summary.json":          {`"figures"`, "drill runs are excluded"},
		"exemptions-and-holds.json": {`"config_exemptions"`, `"cli_exemptions"`, `"holds"`},
		"README.txt":                {"1-9-5", "sha256sum -c"},
	} {
		for _, w := range want {
			if !strings.Contains(string(files[name]), w) {
				t.Errorf("%s lacks %q:\n%s", name, w, files[name])
			}
		}
	}
	var books []string
	for name := range files {
		if strings.HasSuffix(name, ".xlsx") {
			books = append(books, name)
		}
	}
	if len(books) != 2 || files["workbooks/accessrecon-period-"+today+"-"+time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)+".xlsx"] == nil {
		t.Errorf("workbooks %v: want the period's and run 1's", books)
	}
	var drills []store.Drill
	if err := json.Unmarshal(files["drills.json"], &drills); err != nil || len(drills) != 1 || !drills[0].Passed {
		t.Errorf("drills.json: %v %s", err, files["drills.json"])
	}

	// A run made before the hash was kept says so.
	sdb, err := sql.Open("sqlite3", filepath.Join(dir, "accessrecon.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	if _, err := sdb.Exec(`DELETE FROM run_configs WHERE run_id = 1`); err != nil {
		t.Fatal(err)
	}
	out = e2eRun(t, "evidence", "--config", cfg, "--from", today, "--to", today, "--out", pack)
	if !strings.Contains(out, "1 run(s) were made before") || !strings.Contains(string(readZip(t, pack)["runs.csv"]), evidence.NoConfigHash) {
		t.Errorf("a run without a config hash is not said so:\n%s", out)
	}

	// LibreOffice opens every workbook of the pack.
	soffice, err := exec.LookPath("soffice")
	if err != nil {
		targettest.NeedIntegration(t, "soffice (LibreOffice) not on PATH; install libreoffice-calc-nogui")
	}
	xdir := t.TempDir()
	for _, b := range books {
		path := filepath.Join(xdir, filepath.Base(b))
		if err := os.WriteFile(path, files[b], 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		cmd := exec.CommandContext(ctx, soffice, "-env:UserInstallation=file://"+filepath.Join(t.TempDir(), "lo"), "--headless",
			"--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1", "--outdir", filepath.Join(xdir, "csv"), path)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
		lo, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("soffice %s: %v\n%s", b, err, lo)
		}
		drillsCSV := filepath.Join(xdir, "csv", strings.TrimSuffix(filepath.Base(b), ".xlsx")+"-Drills.csv")
		got, err := os.ReadFile(drillsCSV)
		if err != nil {
			t.Fatalf("LibreOffice did not open %s (no Drills sheet converted): %v\n%s", b, err, lo)
		}
		if strings.Contains(b, "period") && !strings.Contains(string(got), "Officer O") {
			t.Errorf("%s: the Drills sheet as LibreOffice reads it lacks the drill:\n%s", b, got)
		}
	}
}
