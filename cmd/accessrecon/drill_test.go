package main

// Termination drills (issue 16 part 1) against a real slapd, the real SCIM
// server and an SQLite application table: the drill passes and restores the
// canaries; a target made slow (rate_limit) fails its SLA and says so; a
// canary that is also a real HR person is refused. Real people are never
// touched.

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// drillLDAPAddGroup adds a group of the canary and the orphan service
// account (a groupOfNames cannot lose its last member).
func drillLDAPAddGroup(t *testing.T, url string) {
	t.Helper()
	ldif := fmt.Sprintf("dn: cn=canary-staff,ou=groups,%s\nobjectClass: groupOfNames\ncn: canary-staff\nmember: uid=%s,%s\nmember: uid=canary1,%s\n\n", e2eSuffix, e2eExtraUID, e2ePeopleDN, e2ePeopleDN)
	path := filepath.Join(t.TempDir(), "group.ldif")
	if err := os.WriteFile(path, []byte(ldif), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ldapadd", "-x", "-H", url, "-D", e2eAdminDN, "-w", e2eLDAPPass, "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ldapadd: %v: %s", err, out)
	}
}

// drillLDAPMembers lists the members of the canary's group.
func drillLDAPMembers(t *testing.T, url string) string {
	t.Helper()
	out, err := exec.Command("ldapsearch", "-x", "-LLL", "-H", url, "-D", e2eAdminDN, "-w", e2eLDAPPass, "-b", "cn=canary-staff,ou=groups,"+e2eSuffix,
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
	drillLDAPAddGroup(t, ldapURL)
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

	t.Run("suspend takes the groups, the restore puts them back", func(t *testing.T) {
		dir := t.TempDir()
		db := drillSQLApp(t, dir)
		cfg := drillSetup(t, dir, ldapURL, sc.base, "", 0, "1m", "  lifecycle:\n    suspended_active: [disable, remove_from_group]\n")
		sqlBefore, ldapBefore, scimBefore := drillSQLState(t, db), drillLDAPMembers(t, ldapURL), scimGroupMembers()
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
		if got := drillLDAPMembers(t, ldapURL); got != ldapBefore {
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
}
