package main

// End-to-end test of issue 6: an HR CSV, a real OpenLDAP slapd and a real
// SCIM server, one `accessrecon run` in enforce mode, then a second run.
// The servers are the ones the connector packages test against:
// ../../targets/ldap/testdata/slapd-start.sh and
// ../../targets/scim/testdata/scim-server (node + npm scimmy).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runner"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

const (
	e2eSuffix     = "dc=example,dc=com"
	e2eAdminDN    = "cn=admin," + e2eSuffix
	e2ePeopleDN   = "ou=people," + e2eSuffix
	e2eLDAPPass   = "e2e-slapd-pw"
	e2eSCIMUser   = "scim-e2e"
	e2eSCIMPass   = "e2e-scim-pw"
	e2eEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	e2eLocked     = "000001010000Z"
	e2eAsOf       = "2026-11-25"
)

// e2ePerson is one line of hr.csv and its accounts.
type e2ePerson struct {
	id, uid, first, last, status, effective, termination string
	// revoke: HR says the person is gone as of e2eAsOf.
	revoke bool
}

var e2ePeople = []e2ePerson{
	{id: "E001", uid: "ann", first: "Ann", last: "Lee", status: "active"},
	{id: "E002", uid: "bo", first: "Bo", last: "Ng", status: "active"},
	{id: "E003", uid: "cy", first: "Cy", last: "Oh", status: "terminated", effective: "2026-10-01", termination: "2026-10-01", revoke: true},
	{id: "E004", uid: "di", first: "Di", last: "Poe", status: "terminated", effective: "2026-11-20", revoke: true},
	{id: "E005", uid: "ed", first: "Ed", last: "Roe", status: "suspended", effective: "2026-11-01", revoke: true},
	// leaves in December: not a departure yet
	{id: "E006", uid: "fay", first: "Fay", last: "Su", status: "active", termination: "2026-12-31"},
	// leave is not a finding by default
	{id: "E007", uid: "gus", first: "Gus", last: "Tan", status: "leave", effective: "2026-11-10"},
	{id: "E008", uid: "hal", first: "Hal", last: "Uy", status: "active"},
}

// e2eExtraUID is an LDAP account nobody in HR owns (an orphan: never
// revoked automatically).
const e2eExtraUID = "svc-legacy"

// e2eStartSlapd starts slapd on a free loopback port with the people of
// e2ePeople plus the extra account, and returns its URL.
func e2eStartSlapd(t *testing.T) string {
	t.Helper()
	for _, bin := range []string{"/usr/sbin/slapd", "/usr/bin/ldapadd", "/usr/bin/ldapsearch"} {
		if _, err := os.Stat(bin); err != nil {
			targettest.NeedIntegration(t, bin+" not installed (apt-get install slapd ldap-utils)")
		}
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "targets", "ldap", "testdata", "slapd-start.sh"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "slapd")
	port := targettest.MustFreePort(t)
	start := exec.Command("sh", script, dir, strconv.Itoa(port), e2eSuffix)
	start.Env = append(os.Environ(), "ROOTPW="+e2eLDAPPass)
	out, err := start.Output()
	if err != nil {
		if b, rerr := os.ReadFile(filepath.Join(dir, "slapd.pid")); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
				targettest.StopPID(t, pid)
			}
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			out = append(out, ee.Stderr...)
		}
		t.Fatalf("slapd-start.sh: %v: %s", err, out)
	}
	fields := strings.Fields(string(out))
	if len(fields) == 0 {
		t.Fatal("slapd-start.sh printed no PID")
	}
	pid, err := strconv.Atoi(fields[len(fields)-1])
	if err != nil {
		t.Fatalf("slapd-start.sh: PID %q: %v", out, err)
	}
	t.Cleanup(func() { targettest.StopPID(t, pid) })
	url := fmt.Sprintf("ldap://127.0.0.1:%d", port)

	var ldif strings.Builder
	for _, p := range e2ePeople {
		fmt.Fprintf(&ldif, "dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s %s\nsn: %s\ngivenName: %s\nmail: %s@example.com\nemployeeNumber: %s\nuserPassword: pw-%s\n\n",
			p.uid, e2ePeopleDN, p.uid, p.first, p.last, p.last, p.first, p.uid, p.id, p.uid)
	}
	fmt.Fprintf(&ldif, "dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: Legacy Service\nsn: Service\nmail: %s@example.com\nuserPassword: pw-%s\n\n",
		e2eExtraUID, e2ePeopleDN, e2eExtraUID, e2eExtraUID, e2eExtraUID)
	path := filepath.Join(t.TempDir(), "people.ldif")
	if err := os.WriteFile(path, []byte(ldif.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	add := exec.Command("ldapadd", "-x", "-H", url, "-D", e2eAdminDN, "-w", e2eLDAPPass, "-f", path)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ldapadd: %v: %s", err, out)
	}
	return url
}

// e2eLDAPEntry is what the test compares of one entry.
type e2eLDAPEntry struct {
	locked string // pwdAccountLockedTime ("" when absent)
	csn    string // entryCSN: changes on every write
}

// e2eLDAPState reads every user entry straight from slapd, keyed by uid.
func e2eLDAPState(t *testing.T, url string) map[string]e2eLDAPEntry {
	t.Helper()
	c, err := goldap.DialURL(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(e2eAdminDN, e2eLDAPPass); err != nil {
		t.Fatal(err)
	}
	res, err := c.Search(goldap.NewSearchRequest(e2ePeopleDN, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=inetOrgPerson)", []string{"uid", "pwdAccountLockedTime", "entryCSN"}, nil))
	if err != nil {
		t.Fatalf("ldap search: %v", err)
	}
	out := map[string]e2eLDAPEntry{}
	for _, e := range res.Entries {
		uid := e.GetAttributeValue("uid")
		out[uid] = e2eLDAPEntry{locked: e.GetAttributeValue("pwdAccountLockedTime"), csn: e.GetAttributeValue("entryCSN")}
		if out[uid].csn == "" {
			t.Fatalf("slapd returned no entryCSN for %s: cannot tell whether a run wrote to it", uid)
		}
	}
	if len(out) != len(e2ePeople)+1 {
		t.Fatalf("slapd holds %d users, want %d: %v", len(out), len(e2ePeople)+1, out)
	}
	return out
}

// e2eBindCode binds as a user: 0 on success, else the LDAP result code.
func e2eBindCode(t *testing.T, url, uid string) uint16 {
	t.Helper()
	c, err := goldap.DialURL(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Bind(fmt.Sprintf("uid=%s,%s", uid, e2ePeopleDN), "pw-"+uid)
	if err == nil {
		return 0
	}
	var le *goldap.Error
	if errors.As(err, &le) {
		return le.ResultCode
	}
	t.Fatalf("bind %s: %v", uid, err)
	return 0
}

// e2eSCIM is the node SCIM server.
type e2eSCIM struct {
	base   string
	client *http.Client
}

// e2eSCIMServer finds node and the SCIM server's folder, or skips (fails
// under ACCESSRECON_REQUIRE_INTEGRATION=1) when either is not ready.
func e2eSCIMServer(t *testing.T) (node, dir string) {
	t.Helper()
	var err error
	node, err = exec.LookPath("node")
	if err != nil {
		targettest.NeedIntegration(t, "node not found on PATH (install Node.js 20)")
	}
	dir, err = filepath.Abs(filepath.Join("..", "..", "targets", "scim", "testdata", "scim-server"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"scimmy", "scimmy-routers", "express"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", p)); err != nil {
			targettest.NeedIntegration(t, fmt.Sprintf("node_modules/%s missing: run `npm ci --no-audit --no-fund` in %s", p, dir))
		}
	}
	return node, dir
}

// e2eStartSCIM starts the SCIM server (no seeded users) on a free loopback
// port and creates one user per person.
func e2eStartSCIM(t *testing.T, node, dir string) *e2eSCIM {
	t.Helper()
	port := targettest.MustFreePort(t)
	s := &e2eSCIM{base: fmt.Sprintf("http://127.0.0.1:%d/scim/v2", port), client: &http.Client{Timeout: 10 * time.Second}}
	var log bytes.Buffer
	cmd := exec.Command(node, "server.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "SEED=0", "SCIM_USER="+e2eSCIMUser, "SCIM_PASS="+e2eSCIMPass)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // by PID: the node process we started
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, s.base+"/ServiceProviderConfig", nil)
		req.SetBasicAuth(e2eSCIMUser, e2eSCIMPass)
		if resp, err := s.client.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			t.Fatalf("SCIM server exited before it was ready: %s", log.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited // the log is complete (and no longer written) once Wait returned
			t.Fatalf("SCIM server not ready within 20s: %s", log.String())
		}
	}
	for _, p := range e2ePeople {
		s.call(t, http.MethodPost, "/Users", map[string]any{
			"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:User", e2eEnterprise},
			"userName":    p.uid,
			"displayName": p.first + " " + p.last,
			"active":      true,
			"emails":      []map[string]any{{"value": p.uid + "@example.com", "type": "work", "primary": true}},
			e2eEnterprise: map[string]any{"employeeNumber": p.id},
		}, nil)
	}
	return s
}

func (s *e2eSCIM) call(t *testing.T, method, path string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(e2eSCIMUser, e2eSCIMPass)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode > 299 {
		t.Fatalf("SCIM %s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("SCIM %s %s: %v: %s", method, path, err, data)
		}
	}
}

// e2eSCIMUserState is what the test compares of one SCIM user.
type e2eSCIMUserState struct {
	id, employeeNumber string
	active             bool
	lastModified       string
}

// state reads every user straight from the server, keyed by userName.
func (s *e2eSCIM) state(t *testing.T) map[string]e2eSCIMUserState {
	t.Helper()
	var list struct {
		TotalResults int `json:"totalResults"`
		Resources    []struct {
			ID       string `json:"id"`
			UserName string `json:"userName"`
			Active   *bool  `json:"active"`
			Meta     struct {
				LastModified string `json:"lastModified"`
			} `json:"meta"`
			Enterprise struct {
				EmployeeNumber string `json:"employeeNumber"`
			} `json:"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`
		} `json:"Resources"`
	}
	s.call(t, http.MethodGet, "/Users?startIndex=1&count=100", nil, &list)
	if list.TotalResults != len(e2ePeople) || len(list.Resources) != len(e2ePeople) {
		t.Fatalf("SCIM holds %d users (%d returned), want %d", list.TotalResults, len(list.Resources), len(e2ePeople))
	}
	out := map[string]e2eSCIMUserState{}
	for _, r := range list.Resources {
		if r.Active == nil {
			t.Fatalf("SCIM user %s has no active attribute", r.UserName)
		}
		out[r.UserName] = e2eSCIMUserState{id: r.ID, employeeNumber: r.Enterprise.EmployeeNumber, active: *r.Active, lastModified: r.Meta.LastModified}
	}
	return out
}

// e2eWriteSetup writes hr.csv and schedule.yaml into a fresh folder and
// returns the config path.
func e2eWriteSetup(t *testing.T, ldapURL, scimBase string) string {
	t.Helper()
	dir := t.TempDir()
	var hr strings.Builder
	hr.WriteString("employee_id,email,first_name,last_name,status,status_effective,termination_date,department,hire_date\n")
	for _, p := range e2ePeople {
		fmt.Fprintf(&hr, "%s,%s@example.com,%s,%s,%s,%s,%s,Ops,2020-01-06\n", p.id, p.uid, p.first, p.last, p.status, p.effective, p.termination)
	}
	if err := os.WriteFile(filepath.Join(dir, "hr.csv"), []byte(hr.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ACCESSRECON_E2E_LDAP_PW", e2eLDAPPass)
	t.Setenv("ACCESSRECON_E2E_SCIM_USER", e2eSCIMUser)
	t.Setenv("ACCESSRECON_E2E_SCIM_PW", e2eSCIMPass)
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
    tier: critical
    config:
      url: %s
      start_tls: false   # loopback test server only
      bind_dn: %s
      password_env: ACCESSRECON_E2E_LDAP_PW
      flavor: openldap
      base_dn: %s
      page_size: 3       # pages even with nine users
      timeout: 10s
  - name: app
    type: scim
    config:
      base_url: %s
      auth: basic
      user_env: ACCESSRECON_E2E_SCIM_USER
      password_env: ACCESSRECON_E2E_SCIM_PW
      page_size: 3
      timeout: 10s
policy:
  mode: enforce
  guards:
    max_revocations_percent: 100
`, ldapURL, e2eAdminDN, e2ePeopleDN, scimBase)
	config := filepath.Join(dir, "schedule.yaml")
	if err := os.WriteFile(config, []byte(schedule), 0o600); err != nil {
		t.Fatal(err)
	}
	return config
}

// e2eFindings reads findings.json.
func e2eFindings(t *testing.T, path string) runner.FindingsFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f runner.FindingsFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

// e2eRun runs the command in-process and fails the test unless it exits 0.
func e2eRun(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if code := run(ctx, args, &stdout, &stderr); code != exitOK {
		t.Fatalf("accessrecon %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func TestE2EDirectoryEnforce(t *testing.T) {
	node, scimDir := e2eSCIMServer(t) // check every prerequisite before starting anything
	ldapURL := e2eStartSlapd(t)
	sc := e2eStartSCIM(t, node, scimDir)
	config := e2eWriteSetup(t, ldapURL, sc.base)

	// Before: everybody enabled on both systems.
	ldap0 := e2eLDAPState(t, ldapURL)
	for uid, e := range ldap0 {
		if e.locked != "" {
			t.Fatalf("before the run %s already has pwdAccountLockedTime %q", uid, e.locked)
		}
	}
	scim0 := sc.state(t)
	for name, u := range scim0 {
		if !u.active {
			t.Fatalf("before the run SCIM user %s is already inactive", name)
		}
	}

	// Run 1: enforce.
	out1 := filepath.Join(t.TempDir(), "run1")
	e2eRun(t, "run", "--config", config, "--out", out1, "--as-of", e2eAsOf)

	ldap1 := e2eLDAPState(t, ldapURL)
	scim1 := sc.state(t)
	for _, p := range e2ePeople {
		l, ok := ldap1[p.uid]
		if !ok {
			t.Fatalf("slapd lost %s", p.uid)
		}
		s, ok := scim1[p.uid]
		if !ok {
			t.Fatalf("SCIM lost %s", p.uid)
		}
		if p.revoke {
			if l.locked != e2eLocked {
				t.Errorf("%s (%s, %s): pwdAccountLockedTime %q, want %q", p.uid, p.id, p.status, l.locked, e2eLocked)
			}
			if s.active {
				t.Errorf("%s (%s, %s): SCIM user still active", p.uid, p.id, p.status)
			}
		} else {
			if l.locked != "" {
				t.Errorf("%s (%s, %s, termination %q): locked in slapd (%q), must not be", p.uid, p.id, p.status, p.termination, l.locked)
			}
			if !s.active {
				t.Errorf("%s (%s, %s, termination %q): SCIM user made inactive, must not be", p.uid, p.id, p.status, p.termination)
			}
		}
	}
	if e := ldap1[e2eExtraUID]; e.locked != "" || e.csn != ldap0[e2eExtraUID].csn {
		t.Errorf("the orphan %s was changed (pwdAccountLockedTime %q): an orphan is never revoked automatically", e2eExtraUID, e.locked)
	}

	// findings.json of run 1: one done, verified disable per revoked account
	// on each target, nothing else acted upon.
	f1 := e2eFindings(t, filepath.Join(out1, "findings.json"))
	if f1.Run.Mode != "enforce" {
		t.Errorf("run 1 mode %q, want enforce", f1.Run.Mode)
	}
	if len(f1.Run.Guards) != 0 {
		t.Errorf("run 1 tripped guards: %v", f1.Run.Guards)
	}
	uuidToUID := e2eUUIDs(t, ldapURL)
	idToName := map[string]string{}
	for name, u := range scim1 {
		idToName[u.id] = name
	}
	var want, got []string
	for _, p := range e2ePeople {
		if p.revoke {
			want = append(want, "directory/"+p.uid+"/disable/done", "app/"+p.uid+"/disable/done",
				// Neither system can end sessions: a person's step, open
				// until acknowledged (issue 10 item 4).
				"directory/"+p.uid+"/revoke_sessions/manual", "app/"+p.uid+"/revoke_sessions/manual")
		}
	}
	for _, a := range f1.Actions {
		name := a.AccountID
		switch a.Target {
		case "directory":
			name = uuidToUID[a.AccountID]
		case "app":
			name = idToName[a.AccountID]
		}
		got = append(got, fmt.Sprintf("%s/%s/%s/%s", a.Target, name, a.Op, a.Status))
		if a.Status == "done" && !a.Verified {
			t.Errorf("action %s %s %s done but not verified", a.Target, name, a.Op)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("run 1 actions:\n got  %v\n want %v", got, want)
	}
	kinds := map[string]string{}
	for _, f := range f1.Findings {
		name := f.AccountID
		switch f.Target {
		case "directory":
			name = uuidToUID[f.AccountID]
		case "app":
			name = idToName[f.AccountID]
		}
		kinds[f.Target+"/"+name+"/"+string(f.Kind)] = string(f.Disposition)
	}
	for _, p := range e2ePeople {
		kind := "terminated_active"
		if p.status == "suspended" {
			kind = "suspended_active"
		}
		for _, tg := range []string{"directory", "app"} {
			_, has := kinds[tg+"/"+p.uid+"/"+kind]
			if has != p.revoke {
				t.Errorf("run 1: finding %s/%s/%s present=%v, want %v (findings: %v)", tg, p.uid, kind, has, p.revoke, kinds)
			}
		}
	}
	if _, ok := kinds["directory/"+e2eExtraUID+"/orphaned"]; !ok {
		t.Errorf("run 1: no orphaned finding for %s (findings: %v)", e2eExtraUID, kinds)
	}

	// Run 2: nothing left to do; neither server is touched.
	out2 := filepath.Join(t.TempDir(), "run2")
	e2eRun(t, "run", "--config", config, "--out", out2, "--as-of", e2eAsOf)
	f2 := e2eFindings(t, filepath.Join(out2, "findings.json"))
	if f2.Run.ID == f1.Run.ID {
		t.Fatalf("run 2 has the id of run 1 (%d)", f1.Run.ID)
	}
	if len(f2.Actions) != 0 {
		t.Errorf("run 2 acted: %+v", f2.Actions)
	}
	for _, f := range f2.Findings {
		for _, s := range f.Actions {
			if s.Auto {
				t.Errorf("run 2 still plans an automatic %s on %s %s (%s)", s.Op, f.Target, f.AccountID, f.Kind)
			}
		}
	}
	if ldap2 := e2eLDAPState(t, ldapURL); !maps.Equal(ldap2, ldap1) {
		t.Errorf("run 2 changed slapd:\n before %v\n after  %v", ldap1, ldap2)
	}
	if scim2 := sc.state(t); !maps.Equal(scim2, scim1) {
		t.Errorf("run 2 changed the SCIM server:\n before %v\n after  %v", scim1, scim2)
	}

	// The audit trail of both runs verifies.
	if out := e2eRun(t, "audit", "verify", "--config", config); !strings.Contains(out, "audit trail intact") {
		t.Errorf("audit verify: %q", out)
	}

	// Last (binding changes ppolicy state): a locked person can no longer
	// bind, everybody else still can.
	for _, p := range e2ePeople {
		code := e2eBindCode(t, ldapURL, p.uid)
		switch {
		case p.revoke && code != goldap.LDAPResultInvalidCredentials:
			t.Errorf("locked %s binds with result %d, want 49", p.uid, code)
		case !p.revoke && code != 0:
			t.Errorf("%s cannot bind (result %d)", p.uid, code)
		}
	}
}

// e2eUUIDs maps entryUUID (the ldap target's account ID) to uid.
func e2eUUIDs(t *testing.T, url string) map[string]string {
	t.Helper()
	c, err := goldap.DialURL(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(e2eAdminDN, e2eLDAPPass); err != nil {
		t.Fatal(err)
	}
	res, err := c.Search(goldap.NewSearchRequest(e2ePeopleDN, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=inetOrgPerson)", []string{"uid", "entryUUID"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range res.Entries {
		out[e.GetAttributeValue("entryUUID")] = e.GetAttributeValue("uid")
	}
	return out
}
