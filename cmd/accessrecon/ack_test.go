package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/demo"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// cliRun runs the command line in-process: exit code, stdout, stderr.
func cliRun(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// demoWithoutSessions is the demo set up for day 1 with its directory unable
// to end sessions: a terminated person's session step is a person's.
func demoWithoutSessions(t *testing.T) (dir, cfg string) {
	t.Helper()
	dir = t.TempDir()
	if err := demo.New(dir).WriteDay(1); err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, l := range strings.Split(demo.Config, "\n") {
		if !strings.Contains(l, "revoke_sessions_statement") {
			kept = append(kept, l)
		}
	}
	if len(kept) == len(strings.Split(demo.Config, "\n")) {
		t.Fatal("the demo's directory has no revoke_sessions_statement to take out")
	}
	cfg = filepath.Join(dir, "schedule.yaml")
	if err := os.WriteFile(cfg, []byte(strings.Join(kept, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, cfg
}

// openFinding says whether the store still holds fp as an open problem (its
// ticket stays open while it is).
func openFinding(t *testing.T, dir, fp string) bool {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(dir, "accessrecon.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	open, err := st.OpenFindings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, ok := open.Get(fp)
	return ok
}

// Issue 10 item 4, end to end through the command line: a terminated
// person's account is disabled by an enforce run on a target that cannot end
// sessions; the session step stays a manual_revoke finding run after run
// until `accessrecon ack` records it done, audited with who did it; then the
// next run resolves it.
func TestAckManualStep(t *testing.T) {
	dir, cfg := demoWithoutSessions(t)

	// No store yet: refused, and none created.
	if code, _, errs := cliRun("ack", "0123456789abcdef", "--config", cfg, "--step", "revoke_sessions", "--by", "it"); code != exitFail || !strings.Contains(errs, "no store") {
		t.Fatalf("ack before any run: exit %d %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "accessrecon.db")); err == nil {
		t.Fatal("ack before any run created the store")
	}

	first := runAt(t, dir, demo.Day1)
	if directoryState(t, dir)["u0012"] {
		t.Fatal("u0012 (terminated) was not disabled")
	}
	var fp string
	for _, f := range first.Findings {
		if f.AccountID == "u0012" && f.Kind == reconcile.TerminatedActive {
			fp = f.Fingerprint
		}
	}
	manual := false
	for _, a := range first.Actions {
		manual = manual || a.Fingerprint == fp && a.Op == "revoke_sessions" && a.Status == store.ActionManual
	}
	if fp == "" || !manual {
		t.Fatalf("run 1: no open revoke_sessions step for u0012 (fingerprint %q)", fp)
	}
	wantCmd := "accessrecon ack " + fp + " --config " + cfg + " --step revoke_sessions --by NAME"
	if code, out, errs := cliRun("findings", "--config", cfg); code != exitOK || !strings.Contains(out, wantCmd) {
		t.Fatalf("findings does not show the ack command %q (exit %d %s):\n%s", wantCmd, code, errs, out)
	} else if !strings.Contains(out, "USERNAME") || !strings.Contains(out, " u0012 ") {
		// Issue 10 item 7: people read usernames beside account IDs.
		t.Fatalf("findings shows no username beside the account ID:\n%s", out)
	}

	second := runAt(t, dir, demo.Day1.Add(time.Hour))
	stays := false
	for _, f := range second.Findings {
		stays = stays || f.Fingerprint == fp && f.Disposition == reconcile.ManualRevoke
	}
	if !stays || !openFinding(t, dir, fp) {
		t.Fatalf("run 2: u0012's finding is not an open manual_revoke finding although its session step is open")
	}

	// Refusals, each naming what is wrong, nothing recorded.
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"ack", "ffffffffffffffff", "--config", cfg, "--step", "revoke_sessions", "--by", "it"}, exitFail, `no finding has fingerprint "ffffffffffffffff"`},
		{[]string{"ack", fp, "--config", cfg, "--step", "disable", "--by", "it"}, exitFail, "no open manual step disable (--step): its open steps are revoke_sessions"},
		{[]string{"ack", fp, "--config", cfg, "--step", "logout", "--by", "it"}, exitUsage, `--step "logout"`},
		{[]string{"ack", fp, "--config", cfg, "--step", "revoke_sessions", "--by", " "}, exitUsage, "--by"},
		{[]string{"ack", "--config", cfg, "--step", "revoke_sessions", "--by", "it"}, exitUsage, "FINGERPRINT is required"},
	} {
		if code, _, errs := cliRun(c.args...); code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, want %d with %q: %s", c.args, code, c.code, c.want, errs)
		}
	}

	if code, out, errs := cliRun("ack", fp, "--config", cfg, "--step", "revoke_sessions", "--by", "it-oncall@example.com", "--note", "ended in the IdP console"); code != exitOK || !strings.Contains(out, "recorded done by it-oncall@example.com") {
		t.Fatalf("ack: exit %d %s %s", code, out, errs)
	}
	if code, _, errs := cliRun("ack", fp, "--config", cfg, "--step", "revoke_sessions", "--by", "again"); code != exitFail || !strings.Contains(errs, "has no open manual step") {
		t.Fatalf("a second ack of the same step: exit %d %s", code, errs)
	}
	if _, out, _ := cliRun("findings", "--config", cfg); strings.Contains(out, "accessrecon ack "+fp) {
		t.Fatalf("findings still offers the acknowledged step:\n%s", out)
	}

	third := runAt(t, dir, demo.Day1.Add(2*time.Hour))
	for _, f := range third.Findings {
		if f.Fingerprint == fp {
			t.Fatalf("run 3: the acknowledged finding is still there: %+v", f)
		}
	}
	if openFinding(t, dir, fp) {
		t.Fatal("run 3 did not resolve the finding whose step was acknowledged")
	}
	code, out, _ := cliRun("audit", "export", "--config", cfg)
	if code != exitOK || !strings.Contains(out, `"type":"manual_step_acknowledged","actor":"it-oncall@example.com"`) || !strings.Contains(out, "ended in the IdP console") {
		t.Fatalf("the audit trail does not name who acknowledged the step (exit %d)", code)
	}
}
