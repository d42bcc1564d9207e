package main

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile/store"
)

// serve runs a job of kind drill: the drill is recorded with the job as
// who ran it, the canary's SQL account is revoked, and, with no
// enable_statement configured, the drill says the canary could not be
// restored; its result is emailed (a real SMTP server) to the sink that
// wants drills.
func TestServeRunsDrillJob(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a serve process")
	}
	bin := buildAccessrecon(t)
	port := drillFreePort(t)
	mailDir := drillStartSMTP(t, port)
	dir, config := smallSetup(t, fmt.Sprintf(`jobs:
  - {name: quarterly-drill, schedule: "@every 1h", kind: drill, scenario: terminate}
drills:
  canaries:
    - {employee_id: CANARY-9, first_name: Canary, last_name: Nine, accounts: {app: "9"}}
reports:
  notify:
    sinks:
      - name: drills
        events: [drill]
        email: {host: 127.0.0.1, port: %d, tls: none, from: accessrecon@example.com, to: [audit@example.com]}
`, port))
	db, err := sql.Open("sqlite3", filepath.Join(dir, "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO users VALUES ('9', 'CANARY-9', 1)`); err != nil {
		t.Fatal(err)
	}
	startServe(t, bin, config) // the job never ran: its catch-up runs it now
	var drills []store.Drill
	waitFor(t, time.Minute, "the drill job's record", func() bool {
		st, err := store.Open(context.Background(), filepath.Join(dir, "accessrecon.db"))
		if err != nil {
			return false
		}
		defer st.Close()
		drills, err = st.Drills(context.Background(), time.Time{}, time.Time{})
		return err == nil && len(drills) > 0
	})
	d := drills[0]
	if d.By != "serve job quarterly-drill" || d.Scenario != "terminate" || !d.Passed || len(d.Targets) != 1 || !d.Targets[0].Revoked {
		t.Fatalf("drill: %+v", d)
	}
	if len(d.Restored) != 1 || d.Restored[0].Restored || !strings.Contains(d.Restored[0].Note, "cannot re-enable") {
		t.Fatalf("restoration: %+v (want: not restored, the target cannot re-enable)", d.Restored)
	}
	var active, real int
	if err := db.QueryRow(`SELECT active FROM users WHERE id = '9'`).Scan(&active); err != nil || active != 0 {
		t.Fatalf("canary active=%d (%v), want 0: revoked and not restorable", active, err)
	}
	if err := db.QueryRow(`SELECT SUM(active) FROM users WHERE id IN ('1', '2')`).Scan(&real); err != nil || real != 2 {
		t.Fatalf("real people's accounts: %d active (%v), want 2", real, err)
	}
	var msgs []drillMail
	waitFor(t, 30*time.Second, "the drill's email", func() bool { msgs = drillMailbox(t, mailDir); return len(msgs) > 0 })
	m := msgs[0]
	if len(msgs) != 1 || m.to != "audit@example.com" || !strings.Contains(m.text, "terminate drill PASSED: 1 of 1 targets within SLA (run by serve job quarterly-drill); 1 canaries not restored") ||
		!strings.Contains(m.text, "- app 9 (tier standard): revoked in") {
		t.Fatalf("%d messages; the first:\n%s", len(msgs), m.text)
	}
}
