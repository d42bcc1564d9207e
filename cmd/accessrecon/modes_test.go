package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
)

// Files with personal data are not world-readable: the store (and SQLite's
// -wal and -shm) and findings.json 0600, the workbook 0640; the systemd
// units set UMask=0077 (issue 11 item 7).
func TestPersonalDataFileModes(t *testing.T) {
	dir, cfgPath := smallSetup(t, "reports: {xlsx: {dir: workbooks}}\n")
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"run", "--config", cfgPath, "--out", out}, &stdout, &stderr); code != exitOK {
		t.Fatalf("run: exit %d: %s", code, stderr.String())
	}
	want := map[string]fs.FileMode{
		filepath.Join(dir, "accessrecon.db"):     0o600,
		filepath.Join(out, "findings.json"):      0o600,
		filepath.Join(dir, "accessrecon.db-wal"): 0o600,
		filepath.Join(dir, "accessrecon.db-shm"): 0o600,
	}
	// The store as a run holds it open: with its -wal and -shm.
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := storefile.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Runs(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	wbs, _ := filepath.Glob(filepath.Join(dir, "workbooks", "*.xlsx"))
	if len(wbs) != 1 {
		t.Fatalf("workbooks: %v", wbs)
	}
	want[wbs[0]] = 0o640
	for path, mode := range want {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != mode {
			t.Errorf("%s: mode %04o, want %04o", filepath.Base(path), got, mode)
		}
	}
	units, _ := filepath.Glob("deploy/systemd/*.service")
	if len(units) == 0 {
		t.Fatal("no systemd units under deploy/systemd")
	}
	for _, u := range units {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "\nUMask=0077\n") {
			t.Errorf("%s: no UMask=0077", u)
		}
	}
}
