package main

// Termination drills (issue 16 part 1) against a real slapd, the real SCIM
// server and an SQLite application table: the drill passes and restores the
// canaries; a target made slow (rate_limit) fails its SLA and says so; a
// canary that is also a real HR person is refused. Real people are never
// touched.

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/accessrecon/accessrecon/reconcile/store"
)

const drillCanaryID = "CANARY-1"

// drillLDAPAddCanary adds the canary's entry to slapd.
func drillLDAPAddCanary(t *testing.T, url string) {
	t.Helper()
	ldif := fmt.Sprintf("dn: uid=canary1,%s\nobjectClass: inetOrgPerson\nuid: canary1\ncn: Canary One\nsn: One\nmail: canary1@example.com\nemployeeNumber: %s\nuserPassword: pw-canary\n\n", e2ePeopleDN, drillCanaryID)
	path := filepath.Join(t.TempDir(), "canary.ldif")
	if err := os.WriteFile(path, []byte(ldif), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ldapadd", "-x", "-H", url, "-D", e2eAdminDN, "-w", e2eLDAPPass, "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ldapadd: %v: %s", err, out)
	}
}

// drillLDAPAddGroup adds group cn of the canary and the orphan service
// account (a groupOfNames cannot lose its last member).
func drillLDAPAddGroup(t *testing.T, url, cn string) {
	t.Helper()
	ldif := fmt.Sprintf("dn: cn=%s,ou=groups,%s\nobjectClass: groupOfNames\ncn: %s\nmember: uid=%s,%s\nmember: uid=canary1,%s\n\n", cn, e2eSuffix, cn, e2eExtraUID, e2ePeopleDN, e2ePeopleDN)
	path := filepath.Join(t.TempDir(), "group.ldif")
	if err := os.WriteFile(path, []byte(ldif), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ldapadd", "-x", "-H", url, "-D", e2eAdminDN, "-w", e2eLDAPPass, "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ldapadd: %v: %s", err, out)
	}
}

// drillLDAPMembers lists the members of group cn.
func drillLDAPMembers(t *testing.T, url, cn string) string {
	t.Helper()
	out, err := exec.Command("ldapsearch", "-x", "-LLL", "-H", url, "-D", e2eAdminDN, "-w", e2eLDAPPass, "-b", "cn="+cn+",ou=groups,"+e2eSuffix,
		"-s", "base", "member").CombinedOutput()
	if err != nil {
		t.Fatalf("ldapsearch: %v: %s", err, out)
	}
	var m []string
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "member: "); ok {
			m = append(m, strings.TrimSpace(v))
		}
	}
	return strings.Join(m, ",")
}

// drillLDAPLocked lists the uids slapd holds locked.
func drillLDAPLocked(t *testing.T, url string) []string {
	t.Helper()
	out, err := exec.Command("ldapsearch", "-x", "-LLL", "-H", url, "-D", e2eAdminDN, "-w", e2eLDAPPass, "-b", e2ePeopleDN,
		"(pwdAccountLockedTime=*)", "uid").CombinedOutput()
	if err != nil {
		t.Fatalf("ldapsearch: %v: %s", err, out)
	}
	var uids []string
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "uid: "); ok {
			uids = append(uids, strings.TrimSpace(v))
		}
	}
	return uids
}

// drillSQLApp creates the application table: the e2e people and the canary,
// each in group staff.
func drillSQLApp(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", filepath.Join(dir, "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	stmts := []string{
		`CREATE TABLE users (account_id TEXT PRIMARY KEY, username TEXT, email TEXT, employee_id TEXT, enabled INTEGER, sessions INTEGER)`,
		`CREATE TABLE user_groups (account_id TEXT, group_name TEXT, PRIMARY KEY (account_id, group_name))`,
	}
	for _, p := range append(e2ePeople, e2ePerson{id: drillCanaryID, uid: "canary1"}) {
		stmts = append(stmts,
			fmt.Sprintf(`INSERT INTO users VALUES ('u-%s', '%s', '%s@example.com', '%s', 1, 3)`, p.uid, p.uid, p.uid, p.id),
			fmt.Sprintf(`INSERT INTO user_groups VALUES ('u-%s', 'staff')`, p.uid))
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return db
}

// drillSQLState is each account's enabled flag and groups.
func drillSQLState(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	rows, err := db.Query(`SELECT u.username, u.enabled, COALESCE(group_concat(g.group_name), '') FROM users u LEFT JOIN user_groups g USING (account_id) GROUP BY u.username`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, groups string
		var enabled int
		if err := rows.Scan(&name, &enabled, &groups); err != nil {
			t.Fatal(err)
		}
		out[name] = fmt.Sprintf("enabled=%d groups=%s", enabled, groups)
	}
	return out
}

// drillSetup writes hr.csv (with extra lines) and a schedule.yaml with the
// three targets and the canary; sqlRate and critical make the SQL target
// slow and its tier's SLA short.
func drillSetup(t *testing.T, dir, ldapURL, scimBase string, extraHR string, sqlRate float64, critical string, policyExtra ...string) string {
	t.Helper()
	var hr strings.Builder
	hr.WriteString("employee_id,email,first_name,last_name,status,status_effective,termination_date,department,hire_date\n")
	for _, p := range e2ePeople {
		fmt.Fprintf(&hr, "%s,%s@example.com,%s,%s,%s,%s,%s,Ops,2020-01-06\n", p.id, p.uid, p.first, p.last, p.status, p.effective, p.termination)
	}
	hr.WriteString(extraHR)
	if err := os.WriteFile(filepath.Join(dir, "hr.csv"), []byte(hr.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ACCESSRECON_E2E_LDAP_PW", e2eLDAPPass)
	t.Setenv("ACCESSRECON_E2E_SCIM_USER", e2eSCIMUser)
	t.Setenv("ACCESSRECON_E2E_SCIM_PW", e2eSCIMPass)
	rate := ""
	if sqlRate > 0 {
		rate = fmt.Sprintf("    rate_limit: %g\n", sqlRate)
	}
	schedule := fmt.Sprintf(`store: accessrecon.db
timeout: 2m
sources:
  - name: hr
    type: csv
    config:
      path: hr.csv
targets:
  - name: directory
    type: ldap
    tier: standard
    config:
      url: %s
      start_tls: false   # loopback test server only
      bind_dn: %s
      password_env: ACCESSRECON_E2E_LDAP_PW
      flavor: openldap
      base_dn: %s
      timeout: 10s
  - name: app
    type: scim
    tier: standard
    config:
      base_url: %s
      auth: basic
      user_env: ACCESSRECON_E2E_SCIM_USER
      password_env: ACCESSRECON_E2E_SCIM_PW
      timeout: 10s
  - name: ledger
    type: sql
    tier: critical
%s    config:
      driver: sqlite3
      dsn: app.db
      accounts_query: SELECT account_id, username, email, employee_id, enabled FROM users
      groups_query: SELECT account_id, group_name FROM user_groups
      disable_statement: UPDATE users SET enabled = 0 WHERE account_id = :account_id
      revoke_sessions_statement: UPDATE users SET sessions = 0 WHERE account_id = :account_id
      remove_group_statement: DELETE FROM user_groups WHERE account_id = :account_id AND group_name = :group
      enable_statement: UPDATE users SET enabled = 1 WHERE account_id = :account_id
      add_group_statement: INSERT OR IGNORE INTO user_groups VALUES (:account_id, :group)
policy:
  mode: report     # the drill enforces on its canaries only
  guards:
    max_revocations_percent: 100
  sla:
    critical: %s
    standard: 1m
%sdrills:
  canaries:
    - employee_id: %s
      first_name: Canary
      last_name: One
      email: canary1@example.com
      accounts:
        directory: canary1
        app: canary1
        ledger: u-canary1
`, ldapURL, e2eAdminDN, e2ePeopleDN, scimBase, rate, critical, strings.Join(policyExtra, ""), drillCanaryID)
	config := filepath.Join(dir, "schedule.yaml")
	if err := os.WriteFile(config, []byte(schedule), 0o600); err != nil {
		t.Fatal(err)
	}
	return config
}

func drillRun(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := run(ctx, args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestDrillAgainstRealServers(t *testing.T) {
	node, scimDir := e2eSCIMServer(t)
	ldapURL := e2eStartSlapd(t)
	drillLDAPAddCanary(t, ldapURL)
	sc := e2eStartSCIM(t, node, scimDir)
	var created struct {
		ID string `json:"id"`
	}
	sc.call(t, http.MethodPost, "/Users", map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User", e2eEnterprise},
		"userName": "canary1", "displayName": "Canary One", "active": true,
		"emails":      []map[string]any{{"value": "canary1@example.com", "type": "work", "primary": true}},
		e2eEnterprise: map[string]any{"employeeNumber": drillCanaryID},
	}, &created)
	// The canary's groups: a suspension with remove_from_group takes them,
	// the restore puts them back.
	sc.call(t, http.MethodPost, "/Groups", map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "canary-staff", "members": []map[string]any{{"value": created.ID}},
	}, nil)
	scimGroupMembers := func() string {
		t.Helper()
		var list struct {
			Resources []struct {
				DisplayName string `json:"displayName"`
				Members     []struct {
					Value string `json:"value"`
				} `json:"members"`
			} `json:"Resources"`
		}
		sc.call(t, http.MethodGet, "/Groups", nil, &list)
		var out []string
		for _, g := range list.Resources {
			for _, m := range g.Members {
				if m.Value == created.ID {
					out = append(out, g.DisplayName)
				}
			}
		}
		return strings.Join(out, ",")
	}
	drillLDAPAddGroup(t, ldapURL, "canary-staff")
	scimActive := func(user string) bool {
		t.Helper()
		var list struct {
			Resources []struct {
				UserName string `json:"userName"`
				Active   bool   `json:"active"`
			} `json:"Resources"`
		}
		sc.call(t, http.MethodGet, "/Users?startIndex=1&count=100", nil, &list)
		for _, r := range list.Resources {
			if r.UserName == user {
				return r.Active
			}
		}
		t.Fatalf("SCIM has no user %s", user)
		return false
	}

	t.Run("passes and restores, touching nobody real", func(t *testing.T) {
		dir := t.TempDir()
		db := drillSQLApp(t, dir)
		cfg := drillSetup(t, dir, ldapURL, sc.base, "", 0, "1m")
		sqlBefore := drillSQLState(t, db)
		code, out, errOut := drillRun("drill", "--config", cfg, "--by", "Auditor A")
		t.Logf("drill output:\n%s", out)
		if code != exitOK {
			t.Fatalf("drill: exit %d\n%s\n%s", code, out, errOut)
		}
		for _, want := range []string{"PASSED", "directory", "app", "ledger", "restored: directory", "restored: app", "restored: ledger"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q", want)
			}
		}
		if strings.Contains(out, "FAIL") || strings.Contains(out, "NOT RESTORED") {
			t.Errorf("a target failed or was not restored")
		}
		// Restored: everything is as before, the canary included; the
		// terminated real people of hr.csv (E003, E004, E005) were not
		// touched although policy would revoke them in a full run.
		if got := drillLDAPLocked(t, ldapURL); len(got) != 0 {
			t.Errorf("slapd holds locked entries after the drill: %v", got)
		}
		if !scimActive("canary1") || !scimActive("cy") {
			t.Error("SCIM: the canary was not restored, or a real person was deactivated")
		}
		if got := drillSQLState(t, db); fmt.Sprint(got) != fmt.Sprint(sqlBefore) {
			t.Errorf("ledger changed:\n before %v\n after  %v", sqlBefore, got)
		}
		// Evidence: the store's drill record and the audit trail.
		st, err := store.Open(context.Background(), filepath.Join(dir, "accessrecon.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ds, err := st.Drills(context.Background(), time.Time{}, time.Time{})
		if err != nil || len(ds) != 1 || !ds[0].Passed || ds[0].By != "Auditor A" || len(ds[0].Targets) != 3 {
			t.Fatalf("drill record: %+v %v", ds, err)
		}
		for _, tg := range ds[0].Targets {
			if !tg.Revoked || tg.TimeTaken <= 0 || tg.TimeTaken > tg.SLA || len(tg.Steps) == 0 {
				t.Errorf("target %s: %+v", tg.Target, tg)
			}
		}
		audit, err := os.ReadFile(filepath.Join(dir, "accessrecon.db.audit.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(audit), `"type":"drill"`) {
			t.Error("no drill record in the audit trail")
		}
		code, hist, _ := drillRun("drill", "--config", cfg, "--history")
		if code != exitOK || !strings.Contains(hist, "Auditor A") || strings.Count(hist, "terminate") != 3 {
			t.Errorf("history: exit %d\n%s", code, hist)
		}
		t.Logf("drill --history:\n%s", hist)
	})

	t.Run("a nightly run leaves the canaries alone, a drill still exercises them", func(t *testing.T) {
		dir := t.TempDir()
		drillSQLApp(t, dir)
		cfg := drillSetup(t, dir, ldapURL, sc.base, "", 0, "1m")
		out := filepath.Join(dir, "nightly")
		if code, _, errOut := drillRun("run", "--config", cfg, "--out", out); code != exitOK {
			t.Fatalf("run: exit %d\n%s", code, errOut)
		}
		canary := 0
		for _, f := range readFindings(t, filepath.Join(out, "findings.json")).Findings {
			if f.Username != "canary1" && f.AccountID != "u-canary1" {
				continue
			}
			canary++
			if f.Disposition != "exempt" || f.Exemption == nil || f.Exemption.Owner != "drills.canaries" {
				t.Errorf("a canary account's finding in a nightly run: %s %s on %s, exemption %+v; want it exempt by drills.canaries", f.Kind, f.Disposition, f.Target, f.Exemption)
			}
		}
		if canary != 3 {
			t.Errorf("%d findings on the canary accounts, want 3 (orphans on directory, app and ledger, each exempt)", canary)
		}
		if code, outText, errOut := drillRun("drill", "--config", cfg, "--by", "Auditor A"); code != exitOK || !strings.Contains(outText, "PASSED") {
			t.Fatalf("drill after the nightly run: exit %d\n%s\n%s", code, outText, errOut)
		}
	})

	t.Run("suspend takes the groups, the restore puts them back", func(t *testing.T) {
		dir := t.TempDir()
		db := drillSQLApp(t, dir)
		cfg := drillSetup(t, dir, ldapURL, sc.base, "", 0, "1m", "  lifecycle:\n    suspended_active: [disable, remove_from_group]\n")
		sqlBefore, ldapBefore, scimBefore := drillSQLState(t, db), drillLDAPMembers(t, ldapURL, "canary-staff"), scimGroupMembers()
		if ldapBefore != "uid="+e2eExtraUID+","+e2ePeopleDN+",uid=canary1,"+e2ePeopleDN || scimBefore != "canary-staff" {
			t.Fatalf("before: LDAP group members %q, SCIM groups %q", ldapBefore, scimBefore)
		}
		code, out, errOut := drillRun("drill", "--config", cfg, "--scenario", "suspend", "--by", "Auditor D")
		t.Logf("drill output:\n%s", out)
		if code != exitOK {
			t.Fatalf("drill: exit %d\n%s\n%s", code, out, errOut)
		}
		if strings.Count(out, "remove_from_group") != 3 || strings.Contains(out, "NOT RESTORED") {
			t.Errorf("want a verified group removal on each target, and every canary restored")
		}
		if got := drillSQLState(t, db); fmt.Sprint(got) != fmt.Sprint(sqlBefore) {
			t.Errorf("ledger not restored:\n before %v\n after  %v", sqlBefore, got)
		}
		if got := drillLDAPMembers(t, ldapURL, "canary-staff"); got != ldapBefore {
			t.Errorf("LDAP group members %q, want %q", got, ldapBefore)
		}
		if got := scimGroupMembers(); got != scimBefore {
			t.Errorf("SCIM groups of the canary %q, want %q", got, scimBefore)
		}
		if !scimActive("canary1") || len(drillLDAPLocked(t, ldapURL)) != 0 {
			t.Error("the canary was not re-enabled")
		}
	})

	t.Run("a slow target fails its SLA and says so", func(t *testing.T) {
		dir := t.TempDir()
		drillSQLApp(t, dir)
		// One call every 4s: disable, then revoke sessions 4s later, past
		// the 2s the critical tier allows.
		cfg := drillSetup(t, dir, ldapURL, sc.base, "", 0.25, "2s")
		code, out, errOut := drillRun("drill", "--config", cfg, "--by", "Auditor B")
		t.Logf("drill output:\n%s", out)
		if code != exitFail || !strings.Contains(errOut, "FAILED") {
			t.Fatalf("drill: exit %d, want %d\n%s\n%s", code, exitFail, out, errOut)
		}
		if !strings.Contains(out, "past the 2s SLA of tier critical") {
			t.Errorf("the output does not say the ledger missed its SLA")
		}
		var ledger, directory string
		for _, l := range strings.Split(out, "\n") {
			f := strings.Fields(l)
			if len(f) > 5 && f[0] == "ledger" {
				ledger = f[5]
			}
			if len(f) > 5 && f[0] == "directory" {
				directory = f[5]
			}
		}
		if ledger != "FAIL" || directory != "pass" {
			t.Errorf("ledger %q (want FAIL), directory %q (want pass)", ledger, directory)
		}
	})

	t.Run("a canary that is a real HR person is refused", func(t *testing.T) {
		dir := t.TempDir()
		db := drillSQLApp(t, dir)
		cfg := drillSetup(t, dir, ldapURL, sc.base, drillCanaryID+",canary1@example.com,Real,Person,active,,,Ops,2020-01-06\n", 0, "1m")
		before := drillSQLState(t, db)
		code, out, errOut := drillRun("drill", "--config", cfg, "--by", "Auditor C")
		if code != exitFail || !strings.Contains(errOut, "is a real person in HR source hr") {
			t.Fatalf("drill: exit %d\n%s\n%s", code, out, errOut)
		}
		if got := drillSQLState(t, db); fmt.Sprint(got) != fmt.Sprint(before) {
			t.Errorf("a refused drill changed the ledger: %v", got)
		}
		if !scimActive("canary1") || len(drillLDAPLocked(t, ldapURL)) != 0 {
			t.Error("a refused drill changed a target")
		}
		audit, err := os.ReadFile(filepath.Join(dir, "accessrecon.db.audit.jsonl"))
		if err != nil || !strings.Contains(string(audit), `"type":"drill_refused","actor":"Auditor C"`) {
			t.Errorf("the refusal is not in the audit trail (%v):\n%s", err, audit)
		}
	})

	t.Run("move takes the old role's groups only, the restore puts them back", func(t *testing.T) {
		dir := t.TempDir()
		db := drillSQLApp(t, dir)
		if _, err := db.Exec(`INSERT INTO user_groups VALUES ('u-canary1', 'sales')`); err != nil {
			t.Fatal(err)
		}
		drillLDAPAddGroup(t, ldapURL, "canary-sales")
		var sales struct {
			ID string `json:"id"`
		}
		sc.call(t, http.MethodPost, "/Groups", map[string]any{
			"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
			"displayName": "canary-sales", "members": []map[string]any{{"value": created.ID}},
		}, &sales)
		// The old role holds staff and sales, the new one staff only.
		roles := "  roles:\n" +
			"    CANARY-SALES: {directory: [canary-staff, canary-sales], app: [canary-staff, canary-sales], ledger: [staff, sales]}\n" +
			"    CANARY-ENG: {directory: [canary-staff], app: [canary-staff], ledger: [staff]}\n"
		cfg := drillSetup(t, dir, ldapURL, sc.base, "", 0, "1m", roles)

		// Without the roles of the move on the canary, nothing is done.
		code, out, errOut := drillRun("drill", "--config", cfg, "--scenario", "move", "--by", "Auditor E")
		if code != exitFail || !strings.Contains(errOut, "a move needs its job_code (the old role) and move_to (the new one)") {
			t.Fatalf("move without job_code/move_to: exit %d\n%s\n%s", code, out, errOut)
		}
		b, err := os.ReadFile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		b = []byte(strings.Replace(string(b), "      email: canary1@example.com\n", "      email: canary1@example.com\n      job_code: CANARY-SALES\n      move_to: CANARY-ENG\n", 1))
		if err := os.WriteFile(cfg, b, 0o600); err != nil {
			t.Fatal(err)
		}

		sqlBefore := drillSQLState(t, db)
		staffBefore, salesBefore, scimBefore := drillLDAPMembers(t, ldapURL, "canary-staff"), drillLDAPMembers(t, ldapURL, "canary-sales"), scimGroupMembers()
		if sqlBefore["canary1"] != "enabled=1 groups=staff,sales" && sqlBefore["canary1"] != "enabled=1 groups=sales,staff" || !strings.Contains(scimBefore, "canary-sales") {
			t.Fatalf("before: ledger %q, SCIM groups %q", sqlBefore["canary1"], scimBefore)
		}
		code, out, errOut = drillRun("drill", "--config", cfg, "--scenario", "move", "--by", "Auditor E")
		t.Logf("drill output:\n%s", out)
		if code != exitOK || !strings.Contains(out, "PASSED") || strings.Contains(out, "NOT RESTORED") {
			t.Fatalf("move drill: exit %d\n%s\n%s", code, out, errOut)
		}
		st, err := store.Open(context.Background(), filepath.Join(dir, "accessrecon.db"))
		if err != nil {
			t.Fatal(err)
		}
		ds, err := st.Drills(context.Background(), time.Time{}, time.Time{})
		st.Close()
		if err != nil || len(ds) != 1 || ds[0].Scenario != "move" || !ds[0].Passed || len(ds[0].Targets) != 3 {
			t.Fatalf("drill record: %+v %v", ds, err)
		}
		// Exactly one step per target: the old role's group, removed and
		// verified; the account neither disabled nor stripped of staff
		// (the drill re-read it before restoring: Passed says so).
		wantArg := map[string]string{"directory": "cn=canary-sales,ou=groups," + e2eSuffix, "app": sales.ID, "ledger": "sales"}
		for _, tg := range ds[0].Targets {
			if len(tg.Steps) != 1 || tg.Steps[0].Op != "remove_from_group" || !strings.EqualFold(tg.Steps[0].Arg, wantArg[tg.Target]) ||
				!tg.Steps[0].Verified || !tg.Revoked || !tg.Passed {
				t.Errorf("target %s: %+v, want one verified removal of %s", tg.Target, tg, wantArg[tg.Target])
			}
		}
		// Restored: every group is back, nobody else changed.
		if got := drillSQLState(t, db); fmt.Sprint(got) != fmt.Sprint(sqlBefore) {
			t.Errorf("ledger not restored:\n before %v\n after  %v", sqlBefore, got)
		}
		if got := drillLDAPMembers(t, ldapURL, "canary-sales"); got != salesBefore {
			t.Errorf("LDAP canary-sales members %q, want %q", got, salesBefore)
		}
		if got := drillLDAPMembers(t, ldapURL, "canary-staff"); got != staffBefore {
			t.Errorf("LDAP canary-staff members %q, want %q", got, staffBefore)
		}
		if got := scimGroupMembers(); got != scimBefore {
			t.Errorf("SCIM groups of the canary %q, want %q", got, scimBefore)
		}
		if !scimActive("canary1") || len(drillLDAPLocked(t, ldapURL)) != 0 {
			t.Error("a move disabled the canary")
		}
		code, hist, _ := drillRun("drill", "--config", cfg, "--history")
		if code != exitOK || strings.Count(hist, "move") != 3 {
			t.Errorf("history: exit %d\n%s", code, hist)
		}
		// The period workbook's Drills sheet names the scenario.
		book := filepath.Join(dir, "period.xlsx")
		day := time.Now().UTC().Format("2006-01-02")
		if code, out, errOut := drillRun("report", "--config", cfg, "--from", day, "--to", day, "--out", book); code != exitOK {
			t.Fatalf("report: exit %d\n%s\n%s", code, out, errOut)
		}
		f, err := excelize.OpenFile(book)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := f.GetRows("Drills")
		if err != nil {
			t.Fatal(err)
		}
		moves := 0
		for _, r := range rows {
			if len(r) > 2 && r[2] == "move" {
				moves++
			}
		}
		if moves != 3 {
			t.Errorf("Drills sheet: %d rows of scenario move, want 3:\n%v", moves, rows)
		}
	})

	t.Run("the result goes to the sinks that want it, through the outbox", func(t *testing.T) {
		dir := t.TempDir()
		drillSQLApp(t, dir)
		cfg := drillSetup(t, dir, ldapURL, sc.base, "", 0, "1m")
		port := drillFreePort(t)
		sinks := fmt.Sprintf(`reports:
  notify:
    run_url: https://accessrecon.example.com/runs/{run}
    sinks:
      - name: it-mail
        events: [drill]
        email: {host: 127.0.0.1, port: %d, tls: none, from: accessrecon@example.com, to: [it@example.com]}
      - name: sla-mail
        events: [sla_breach]
        email: {host: 127.0.0.1, port: %d, tls: none, from: accessrecon@example.com, to: [sla@example.com]}
`, port, port)
		f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(sinks); err != nil {
			t.Fatal(err)
		}
		f.Close()
		// The mail server is down: the drill passes all the same, and its
		// notification waits in the store's outbox.
		code, out, errOut := drillRun("drill", "--config", cfg, "--by", "Auditor F")
		if code != exitOK {
			t.Fatalf("drill with the mail server down: exit %d\n%s\n%s", code, out, errOut)
		}
		st, err := store.Open(context.Background(), filepath.Join(dir, "accessrecon.db"))
		if err != nil {
			t.Fatal(err)
		}
		pending, err := st.OutboxPending(context.Background(), "notify")
		st.Close()
		if err != nil || len(pending) != 1 || !strings.HasPrefix(pending[0].ID, "it-mail/drill-") {
			t.Fatalf("outbox %+v (%v), want the drill's notification for it-mail only", pending, err)
		}
		// The next drill delivers both, the first one first.
		mailDir := drillStartSMTP(t, port)
		code, out, errOut = drillRun("drill", "--config", cfg, "--by", "Auditor F")
		if code != exitOK {
			t.Fatalf("second drill: exit %d\n%s\n%s", code, out, errOut)
		}
		msgs := drillMailbox(t, mailDir)
		if len(msgs) != 2 {
			t.Fatalf("%d messages delivered, want 2 (the kept one and the new one)", len(msgs))
		}
		for i, m := range msgs {
			t.Logf("message %d:\n%s", i+1, m.text)
			if m.to != "it@example.com" {
				t.Errorf("message %d went to %s, want it@example.com only (sla-mail wants sla_breach only)", i+1, m.to)
			}
			// Scenario, verdict, each target's result and the run's link.
			for _, want := range []string{"terminate drill PASSED: 3 of 3 targets within SLA", "run by Auditor F",
				"directory canary1 (tier standard): revoked in", "app canary1 (tier standard): revoked in", "ledger canary1 (tier critical): revoked in",
				"SLA 1m0s: pass", "Run: https://accessrecon.example.com/runs/"} {
				if !strings.Contains(m.text, want) {
					t.Errorf("message %d lacks %q", i+1, want)
				}
			}
		}
		st, err = store.Open(context.Background(), filepath.Join(dir, "accessrecon.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ds, err := st.Drills(context.Background(), time.Time{}, time.Time{})
		if err != nil || len(ds) != 2 {
			t.Fatalf("drills %+v %v", ds, err)
		}
		for i, d := range ds {
			link := fmt.Sprintf("Run: https://accessrecon.example.com/runs/%d\n", d.RunID)
			if !strings.Contains(msgs[0].text+msgs[1].text, link) {
				t.Errorf("drill %d: no message links its run (%s)", i+1, strings.TrimSpace(link))
			}
		}
		if pending, err := st.OutboxPending(context.Background(), "notify"); err != nil || len(pending) != 0 {
			t.Errorf("outbox after delivery: %+v %v", pending, err)
		}
	})
}

// drillFreePort is a loopback port nothing listens on now.
func drillFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// drillStartSMTP starts the notify package's real SMTP server (aiosmtpd,
// plain relay: no TLS, no login) on port, stopped by its PID at the end;
// it returns the directory it delivers into.
func drillStartSMTP(t *testing.T, port int) string {
	t.Helper()
	py := ""
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(p, "-c", "import aiosmtpd").Run() == nil {
			py = p
			break
		}
	}
	if py == "" {
		if os.Getenv("ACCESSRECON_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("no python3 with aiosmtpd: apt-get install -y python3-aiosmtpd")
		}
		t.Skip("no python3 with aiosmtpd")
	}
	dir := t.TempDir()
	// Plain mode reads neither certificate nor key.
	cmd := exec.Command(py, "../../reports/notify/testdata/smtpd.py", strconv.Itoa(port), dir, "-", "-", "-", "-", "plain")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill() // the one python process this test started
		_ = cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case line := <-ready:
		if strings.TrimSpace(line) != "READY" {
			t.Fatalf("smtpd.py: %q\n%s", line, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("smtpd.py not ready in 30s\n%s", stderr.String())
	}
	return dir
}

type drillMail struct{ to, text string }

// drillMailbox reads back the delivered messages in order: recipient, and
// the subject and decoded body.
func drillMailbox(t *testing.T, dir string) []drillMail {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	var out []drillMail
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
		if err != nil {
			t.Fatal(err)
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if err != nil {
			t.Fatal(err)
		}
		to, err := mail.ParseAddress(msg.Header.Get("To"))
		if err != nil {
			t.Fatalf("%s: To: %v", name, err)
		}
		text := strings.ReplaceAll("Subject: "+subject+"\n\n"+string(body), "\r\n", "\n")
		out = append(out, drillMail{to: to.Address, text: text})
	}
	return out
}
