package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/metrics"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/sla"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reports/xlsx"
)

// One SLA computation (issue 10 item 6): the executor's within_sla,
// `accessrecon sla --json`, the workbook's Leavers sheet and /metrics'
// time-to-revoke histogram measure the same scenario the same way. An
// account counts as revoked once its automatic steps are verified AND
// every step a person must do is acknowledged (the Leavers sheet's
// reading, the safer one): sla left the open manual step out before.
func TestOneSLAComputation(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// E2 left two hours ago (past the standard 1h SLA), E3 ten minutes ago
	// (within it), E4 two hours ago but exempt on app.
	write("hr.csv", "employee_id,email,first_name,last_name,status,termination_date\nE1,a@x,A,One,active,\n"+
		"E2,b@x,B,Two,terminated,"+now.Add(-2*time.Hour).Format(time.RFC3339)+"\n"+
		"E3,c@x,C,Three,terminated,"+now.Add(-10*time.Minute).Format(time.RFC3339)+"\n"+
		"E4,d@x,D,Four,terminated,"+now.Add(-2*time.Hour).Format(time.RFC3339)+"\n")
	write("vpn.csv", "account_id,username,email,employee_id,enabled\nv1,a,a@x,E1,true\nv3,c,c@x,E3,true\n")
	db, err := sql.Open("sqlite3", filepath.Join(dir, "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE users (id TEXT PRIMARY KEY, emp TEXT, active INTEGER);
		INSERT INTO users VALUES ('1', 'E1', 1), ('2', 'E2', 1), ('3', 'E3', 1), ('4', 'E4', 1);`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	cfgPath := filepath.Join(dir, "schedule.yaml")
	write("schedule.yaml", `store: accessrecon.db
sources: [{name: hr, type: csv, config: {path: hr.csv}}]
targets:
  - {name: vpn, type: csv, tier: critical, config: {path: vpn.csv}}
  - name: app
    type: sql
    config:
      driver: sqlite3
      dsn: app.db
      accounts_query: SELECT id AS account_id, emp AS employee_id, active AS enabled FROM users
      disable_statement: UPDATE users SET active = 0 WHERE id = :account_id
policy:
  mode: enforce
  sla: {critical: 15m, standard: 1h, low: 24h}
  exemptions:
    - {target: app, account_id: "4", owner: o@x, reason: handover, approver: ciso@x, expires: 2099-01-01}
`)
	ctx := context.Background()
	out := filepath.Join(dir, "out")
	var so, se bytes.Buffer
	if code := run(ctx, []string{"run", "--config", cfgPath, "--out", out}, &so, &se); code != exitOK {
		t.Fatalf("run: exit %d: %s", code, se.String())
	}
	fj := readFindings(t, filepath.Join(out, "findings.json"))
	byAcct := map[string]reconcile.Finding{}
	for _, f := range fj.Findings {
		if f.Kind == reconcile.TerminatedActive {
			byAcct[f.Target+"/"+f.AccountID] = f
		}
	}
	manualOpen := func(f reconcile.Finding) bool {
		for _, s := range f.Actions {
			if !s.Auto {
				return true
			}
		}
		return false
	}
	// The executor: app's disables verified, E2's late and E3's in time.
	for acct, want := range map[string]bool{"app/2": false, "app/3": true} {
		f := byAcct[acct]
		if f.RevokedAt == nil || f.WithinSLA == nil || *f.WithinSLA != want {
			t.Fatalf("%s: revoked %v within_sla %v, want revoked, within %v", acct, f.RevokedAt, f.WithinSLA, want)
		}
	}
	app3 := byAcct["app/3"]
	if !manualOpen(app3) {
		t.Fatalf("app/3 has no person's step beside its disable (%+v): the scenario proves nothing", app3.Actions)
	}

	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := storefile.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// compare runs `sla --json`, writes the workbook and reads /metrics,
	// and checks the four agree on revoked and within per tier.
	compare := func(stage string, wantRevoked, wantWithin int) sla.Report {
		t.Helper()
		var jo, je bytes.Buffer
		if code := run(ctx, []string{"sla", "--config", cfgPath, "--json"}, &jo, &je); code != exitOK {
			t.Fatalf("%s: sla: exit %d: %s", stage, code, je.String())
		}
		var rep sla.Report
		if err := json.Unmarshal(jo.Bytes(), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Revoked != wantRevoked || rep.Within != wantWithin {
			t.Errorf("%s: sla: %d revoked, %d within; want %d, %d (%+v)", stage, rep.Revoked, rep.Within, wantRevoked, wantWithin, rep)
		}
		// The workbook of the latest run, from the store: the Leavers
		// sheet's per-account count is sla's.
		full, err := st.LatestFullRun(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res := &reconcile.Result{Run: full, Policy: cfg.Policy.Policy}
		for _, b := range must(st.FindingBodies(ctx, full.ID)) {
			var f reconcile.Finding
			if err := json.Unmarshal(b, &f); err != nil {
				t.Fatal(err)
			}
			res.Findings = append(res.Findings, &f)
		}
		acts, err := st.Actions(ctx, full.ID)
		if err != nil {
			t.Fatal(err)
		}
		res.Actions = append(res.Actions, acts...)
		book := filepath.Join(t.TempDir(), "book.xlsx")
		if err := xlsx.WriteContext(ctx, book, res, xlsx.Options{Store: st, Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
		f, err := excelize.OpenFile(book)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := f.GetRows(xlsx.SheetLeavers)
		if err != nil {
			t.Fatal(err)
		}
		// The SLA sheet: a row per leaver's account, Within SLA yes/no
		// once revoked (one run here: the same revocations as sla's).
		slaRows, err := f.GetRows(xlsx.SheetSLA)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		sheetRevoked, sheetWithin := 0, 0
		for _, r := range slaRows[1:] {
			switch r[len(r)-1] {
			case "Yes":
				sheetWithin++
				sheetRevoked++
			case "No":
				sheetRevoked++
			}
		}
		if sheetRevoked != rep.Revoked || sheetWithin != rep.Within {
			t.Errorf("%s: SLA sheet %d revoked, %d within; sla %d, %d\n%q", stage, sheetRevoked, sheetWithin, rep.Revoked, rep.Within, slaRows)
		}
		overall := ""
		for _, r := range rows {
			if len(r) > 8 && r[0] == "overall" {
				overall = r[8]
			}
		}
		if want := fmt.Sprintf("%d of %d", rep.Within, rep.Revoked); overall != want {
			t.Errorf("%s: Leavers sheet, accounts in SLA %q; sla says %q", stage, overall, want)
		}
		// /metrics: the time-to-revoke histogram counts sla's revocations.
		reg, err := metrics.Registry(ctx, cfg, st)
		if err != nil {
			t.Fatal(err)
		}
		counted := map[string]uint64{}
		for _, mf := range must(reg.Gather()) {
			if mf.GetName() != "accessrecon_time_to_revoke_seconds" {
				continue
			}
			for _, m := range mf.GetMetric() {
				counted[m.GetLabel()[0].GetValue()] = m.GetHistogram().GetSampleCount()
			}
		}
		// Every tier is on /metrics (zeros included); each counts sla's.
		for tier := range rep.ByTier {
			if _, ok := counted[tier]; !ok {
				counted[tier] = 0 // absent from /metrics: checked as 0
			}
		}
		for tier, n := range counted {
			if n != uint64(rep.ByTier[tier].Revoked) {
				t.Errorf("%s: /metrics counts %d revocations in tier %s, sla %d", stage, n, tier, rep.ByTier[tier].Revoked)
			}
		}
		return rep
	}

	// app/2 has only automatic steps... or, like app/3, a person's step
	// too: then neither counts as revoked until it is acknowledged. The
	// exempt app/4 is never on the clock.
	revoked, within := 0, 0
	for acct, in := range map[string]bool{"app/2": false, "app/3": true} {
		if !manualOpen(byAcct[acct]) {
			revoked++
			if in {
				within++
			}
		}
	}
	rep := compare("before the acknowledgements", revoked, within)
	for _, b := range rep.Breaches {
		if b.Target == "app" && b.AccountID == "3" {
			t.Errorf("app/3, ten minutes into a 1h SLA, is a breach: %+v", b)
		}
	}

	// A person does the steps: app/3 is revoked at the acknowledgement,
	// within its SLA (vpn/v3, a person's steps only, stays open: nothing
	// records them but the next run seeing the account gone).
	for _, f := range []reconcile.Finding{app3} {
		for _, s := range f.Actions {
			if !s.Auto {
				if _, err := st.AckManualStep(ctx, f.Fingerprint, string(s.Op), s.Arg, "it-oncall", time.Now().UTC()); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if manualOpen(byAcct["app/2"]) {
		for _, s := range byAcct["app/2"].Actions {
			if !s.Auto {
				if _, err := st.AckManualStep(ctx, byAcct["app/2"].Fingerprint, string(s.Op), s.Arg, "it-oncall", time.Now().UTC()); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	rep = compare("after the acknowledgements", 2, 1)
	if fg := rep.ByTier["standard"]; fg.Revoked != 2 || fg.Within != 1 {
		t.Errorf("standard tier: %+v, want app/2 late and app/3 within", fg)
	}
	for _, b := range rep.Breaches {
		if b.AccountID != "2" {
			t.Errorf("breach %+v: only app/2 (revoked two hours after HR's time) is one", b)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
