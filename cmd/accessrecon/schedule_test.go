package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/upcoming"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// Known leavers are revoked on time (issue 18 item 4): a termination HR
// recorded a few seconds ahead is not acted on early by the full run that
// sees it, survives a restart of serve (the schedule is derived from the
// store), and the restarted serve revokes it within a second or so of its
// effective time: measured with the store's own action timestamps.
func TestServeRevokesKnownLeaverOnTime(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs serve processes")
	}
	bin := buildAccessrecon(t)
	dir, config := smallSetup(t, "jobs:\n  - {name: nightly, schedule: \"0 2 * * *\"}\n")
	db := filepath.Join(dir, "accessrecon.db")
	// Ahead by enough for serve to start, run its catch-up and restart
	// on a loaded machine; checked below before it is relied on.
	at := time.Now().UTC().Add(12 * time.Second).Truncate(time.Second)
	if err := os.WriteFile(filepath.Join(dir, "hr.csv"), []byte("employee_id,email,first_name,last_name,status,termination_date\n"+
		"E1,a@example.com,A,One,active,\nE2,b@example.com,B,Two,terminated,"+at.Format(time.RFC3339)+"\nE3,c@example.com,C,Three,terminated,\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	p1 := startServe(t, bin, config)
	waitFor(t, time.Minute, "the catch-up full run", func() bool {
		rs := jobRuns(t, db, "nightly")
		return len(rs) == 1 && rs[0].Status != "running"
	})
	// Visible before its time: `accessrecon schedule`.
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"schedule", "--config", config, "--json"}, &out, &errb); code != exitOK {
		t.Fatalf("schedule: exit %d: %s", code, errb.String())
	}
	var got struct {
		Leavers []upcoming.Leaver `json:"upcoming_leavers"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("schedule --json: %v\n%s", err, out.String())
	}
	if len(got.Leavers) != 1 || got.Leavers[0].EmployeeID != "E2" || !got.Leavers[0].EffectiveAt.Equal(at) || got.Leavers[0].TakenBy != 0 {
		t.Fatalf("schedule: %+v, want E2 at %s, not yet run", got.Leavers, at)
	}
	if err := p1.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p1.exited:
	case <-time.After(time.Minute):
		t.Fatal("serve did not stop within a minute of SIGTERM")
	}
	if !appAccountActive(t, dir, "2") {
		t.Fatal("E2's app account was disabled before the termination's effective time")
	}

	p2 := startServe(t, bin, config)
	_ = p2
	if !time.Now().Before(at) {
		t.Fatalf("the restarted serve answered only at %s, after the effective time %s: this machine is too slow for the test to prove the schedule", time.Now().UTC().Format(time.StampMilli), at.Format(time.StampMilli))
	}
	var disable store.Action
	waitFor(t, time.Minute, "E2's app account disabled and verified", func() bool {
		var ok bool
		disable, ok = appDisable(t, db, "2")
		return ok
	})
	if appAccountActive(t, dir, "2") {
		t.Fatal("a verified disable, but the app account is still active")
	}
	r, err := runOf(t, db, disable.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Job != upcoming.Job || r.Scope != "people:E2" {
		t.Errorf("the disable came from run %d (job %q, scope %q), want the scheduled targeted run (job %q, scope people:E2)", r.ID, r.Job, r.Scope, upcoming.Job)
	}
	late := disable.FinishedAt.Sub(at)
	t.Logf("effective %s, disable requested %s, verified %s: %s after the effective time",
		at.Format(time.StampMilli), disable.RequestedAt.Format(time.StampMilli), disable.FinishedAt.Format(time.StampMilli), late.Round(time.Millisecond))
	if disable.RequestedAt.Before(at) {
		t.Errorf("disable requested at %s, before the effective time %s", disable.RequestedAt.Format(time.StampMilli), at.Format(time.StampMilli))
	}
	// A second in a quiet machine; slack for 2 cores shared with others.
	if late > 5*time.Second {
		t.Errorf("revoked %s after the effective time, want within a few seconds", late)
	}
}

// appAccountActive says whether smallSetup's app account id is active.
func appAccountActive(tb testing.TB, dir, id string) bool {
	tb.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "app.db")+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	var a bool
	if err := db.QueryRow(`SELECT active FROM users WHERE id = ?`, id).Scan(&a); err != nil {
		tb.Fatal(err)
	}
	return a
}

// appDisable is the verified disable of app account id, from the store.
func appDisable(tb testing.TB, storePath, id string) (store.Action, bool) {
	tb.Helper()
	st, err := store.Open(context.Background(), storePath)
	if err != nil {
		tb.Fatal(err)
	}
	defer st.Close()
	runs, err := st.Runs(context.Background(), 0)
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range runs {
		as, err := st.Actions(context.Background(), r.ID)
		if err != nil {
			tb.Fatal(err)
		}
		for _, a := range as {
			if a.Target == "app" && a.AccountID == id && a.Op == "disable" && a.Status == "done" && a.Verified {
				return a, true
			}
		}
	}
	return store.Action{}, false
}

func runOf(tb testing.TB, storePath string, id int64) (store.Run, error) {
	tb.Helper()
	st, err := store.Open(context.Background(), storePath)
	if err != nil {
		tb.Fatal(err)
	}
	defer st.Close()
	return st.GetRun(context.Background(), id)
}
