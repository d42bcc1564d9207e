package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/demo"
	"github.com/accessrecon/accessrecon/reconcile"
)

// A hold placed with `hold add` keeps an account from being revoked by an
// enforce run, is recorded in the audit trail with the person who placed it,
// and once removed no longer protects it.
func TestHoldCommands(t *testing.T) {
	dir := t.TempDir()
	d := demo.New(dir)
	if err := d.WriteDay(1); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "schedule.yaml")
	if err := os.WriteFile(cfg, []byte(demo.Config), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cli := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(ctx, args, &out, &errb)
		return code, out.String(), errb.String()
	}
	until := time.Now().AddDate(0, 0, 7).Format("2006-01-02")
	holdAdd := func(account string) (int, string, string) {
		return cli("hold", "add", "--config", cfg, "--target", "directory", "--account", account,
			"--reason", "legal hold: litigation 2026-17", "--until", until, "--by", "counsel@example.com")
	}
	// Issue 10 item 1: --account is checked against the last collection,
	// so there must be one; refused before, creating nothing.
	if code, _, errs := holdAdd("u0012"); code != exitFail || !strings.Contains(errs, "no store") {
		t.Fatalf("hold add before any run: exit %d %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "accessrecon.db")); err == nil {
		t.Fatal("hold add before any run created the store")
	}
	db, err := sql.Open("sqlite3", filepath.Join(dir, "directory.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE users SET mail = 'shared@example.com' WHERE id IN ('u0020', 'u0021')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if code, _, errs := cli("run", "--config", cfg, "--mode", "report", "--as-of", demo.Day1.Add(-time.Hour).Format(time.RFC3339), "--out", filepath.Join(dir, "report")); code != exitOK && code != exitGuard {
		t.Fatalf("report run: exit %d %s", code, errs)
	}
	for _, c := range []struct{ account, want string }{
		{"givem12", `"givem12" names no account on target directory at its last collection (run 1): write the account's ID, username, email or DN (did you mean given12`},
		{"shared@example.com", `"shared@example.com" names 2 accounts on target directory at its last collection (run 1): u0020 (`},
	} {
		if code, _, errs := holdAdd(c.account); code != exitFail || !strings.Contains(errs, "hold add: --account: "+c.want) {
			t.Errorf("hold add --account %s: exit %d, want 1 with %q: %s", c.account, code, c.want, errs)
		}
	}
	// u0012 is terminated in the demo: the clearest case there is. The
	// hold names it by username, in capitals; it stores the ID.
	if code, out, errs := holdAdd("GIVEN12"); code != exitOK || !strings.Contains(out, "hold 1: u0012 (given12, user000012@example.com)") {
		t.Fatalf("hold add: exit %d %s %s", code, out, errs)
	}
	if code, out, _ := cli("hold", "list", "--config", cfg, "--json"); code != exitOK || strings.Count(out, `"id":`) != 1 || !strings.Contains(out, `"account_id":"u0012"`) {
		t.Fatalf("hold list --json after one good and two refused hold add: exit %d %s", code, out)
	}
	if code, _, errs := cli("hold", "add", "--config", cfg, "--target", "nosuch", "--account", "x", "--reason", "r", "--until", until, "--by", "me"); code != exitFail || !strings.Contains(errs, `target "nosuch" is not configured`) {
		t.Fatalf("hold add on an unknown target: exit %d %s", code, errs)
	}
	if code, out, _ := cli("hold", "list", "--config", cfg); code != exitOK || !strings.Contains(out, "u0012") || !strings.Contains(out, "active") {
		t.Fatalf("hold list: exit %d\n%s", code, out)
	}

	// Issue 10 item 5: the dry run's plan shows the hold as enforce will
	// apply it, not "AUTO disable".
	if code, out, errs := cli("run", "--config", cfg, "--dry-run", "--as-of", demo.Day1.Format(time.RFC3339), "--out", filepath.Join(dir, "dry")); code == exitFail || code == exitUsage {
		t.Fatalf("dry run: exit %d %s", code, errs)
	} else {
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, " u0012 ") && strings.Contains(l, "terminated_active") && !strings.Contains(l, "HELD") {
				t.Fatalf("dry-run plan line for the held account: %q", l)
			}
		}
		if !strings.Contains(out, "HELD") {
			t.Fatalf("dry-run plan shows no held step:\n%s", out)
		}
	}
	f := runAt(t, dir, demo.Day1)
	if !directoryState(t, dir)["u0012"] {
		t.Fatal("u0012 was disabled despite the hold")
	}
	blocked := false
	for _, x := range f.Findings {
		if x.AccountID == "u0012" && x.Kind == reconcile.TerminatedActive {
			blocked = x.Outcome == reconcile.OutcomeBlocked && strings.Contains(x.Evidence.Get("hold"), "counsel@example.com")
		}
	}
	if !blocked {
		t.Fatal("u0012's terminated_active finding is not marked blocked by the hold")
	}
	if code, out, _ := cli("audit", "export", "--config", cfg); code != exitOK || !strings.Contains(out, `"type":"hold_applied","actor":"counsel@example.com"`) {
		t.Fatalf("no hold_applied audit record by the holder (exit %d)", code)
	}

	if code, out, errs := cli("hold", "remove", "--config", cfg, "--id", "1", "--by", "counsel@example.com"); code != exitOK || !strings.Contains(out, "removed") {
		t.Fatalf("hold remove: exit %d %s %s", code, out, errs)
	}
	runAt(t, dir, demo.Day1.Add(time.Hour))
	if directoryState(t, dir)["u0012"] {
		t.Fatal("u0012 still enabled after its hold was removed")
	}
}
