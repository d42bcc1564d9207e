package main

// End-to-end test of issue 14: an HR CSV and the stateful fakes of Microsoft
// Entra ID (Graph over TLS, its CA given through ca_file), Google Workspace
// (Directory API, held to Google's discovery document) and Okta (behind
// Prism with Okta's own description), configured the way each README says,
// driven through `accessrecon run`: report mode first, then enforce, then
// enforce again.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/targets/entra/entrafake"
	"github.com/accessrecon/accessrecon/targets/google/googlefake"
	"github.com/accessrecon/accessrecon/targets/okta/oktafake"
	"github.com/accessrecon/accessrecon/targets/targettest/specproxy"
)

// idpPerson is one line of hr.csv and the accounts the person holds on
// each identity provider.
type idpPerson struct {
	id, uid, first, last, status, effective, job string
	// jobAfter is the job code HR reports from the second run on (a mover).
	jobAfter string
	// groups the person is in on every provider (by name).
	groups []string
}

// The as-of date of every run: the day after the fakes' "yesterday".
const idpAsOf = "2026-06-02T12:00:00Z"

var idpPeople = []idpPerson{
	{id: "E101", uid: "ann", first: "Ann", last: "Lee", status: "active", job: "ENG", groups: []string{"Staff", "Engineering"}},
	{id: "E102", uid: "bo", first: "Bo", last: "Ng", status: "active", job: "SALES", groups: []string{"Staff", "Sales"}},
	{id: "E103", uid: "cy", first: "Cy", last: "Oh", status: "terminated", effective: "2026-05-15", job: "ENG", groups: []string{"Staff", "Engineering"}},
	{id: "E104", uid: "di", first: "Di", last: "Poe", status: "suspended", effective: "2026-05-20", job: "SALES", groups: []string{"Staff", "Sales"}},
	// the mover: Engineering to Sales between the report run and the enforce
	// run; keeps Staff (both roles), loses Engineering (the old role's),
	// keeps Project X (no role's: a person judges it).
	{id: "E105", uid: "ed", first: "Ed", last: "Roe", status: "active", job: "ENG", jobAfter: "SALES", groups: []string{"Staff", "Engineering", "Project X"}},
	// holds a group outside the role's baseline that no previous role
	// explains: review, never removed automatically.
	{id: "E106", uid: "fay", first: "Fay", last: "Su", status: "active", job: "ENG", groups: []string{"Staff", "Engineering", "Project X"}},
}

// idpOrphan is an account on each provider that nobody in HR owns.
const idpOrphan = "svc-legacy"

func (p idpPerson) revoke() bool { return p.status == "terminated" || p.status == "suspended" }

func (p idpPerson) jobAt(run int) string {
	if run > 1 && p.jobAfter != "" {
		return p.jobAfter
	}
	return p.job
}

// idpGroups are the groups on every provider.
var idpGroups = []string{"Staff", "Engineering", "Sales", "Project X"}

// ---- Entra -------------------------------------------------------------------

type idpEntra struct {
	f     *entrafake.Graph
	ids   map[string]string // uid -> object ID
	gids  map[string]string // group name -> object ID
	names map[string]string // object ID -> uid
}

func idpStartEntra(t *testing.T) *idpEntra {
	t.Helper()
	e := &idpEntra{f: entrafake.New(t), ids: map[string]string{}, gids: map[string]string{}, names: map[string]string{}}
	last := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	created := time.Date(2024, 1, 8, 9, 0, 0, 0, time.UTC)
	for i, name := range idpGroups {
		g := e.f.AddGroup(&entrafake.Group{ID: entrafake.GUID('g', 100+i), Name: name})
		e.gids[name] = g.ID
	}
	add := func(n int, uid, emp string, groups []string) {
		l := last
		u := e.f.AddUser(&entrafake.User{ID: entrafake.GUID('u', 100+n), UPN: uid + "@contoso.example", Mail: uid + "@contoso.example",
			EmployeeID: emp, UserType: "Member", Enabled: true, Created: created, LastSignIn: &l, LastOK: &l})
		e.ids[uid], e.names[u.ID] = u.ID, uid
		e.f.Mu.Lock()
		for _, g := range groups {
			e.f.GroupByID[e.gids[g]].Add(u.ID)
		}
		e.f.Mu.Unlock()
	}
	for i, p := range idpPeople {
		add(i, p.uid, p.id, p.groups)
	}
	add(len(idpPeople), idpOrphan, "", []string{"Staff"})
	return e
}

// idpUserState is what the test compares of one user on any provider: every
// field a write could change, and the user's group names.
type idpUserState struct {
	Enabled  bool
	Writes   int    // the fake's count of writes naming the user (Entra, Google)
	Updated  string // the user resource's version (Google), status and lastUpdated (Okta)
	Sessions string // sessions valid from (Entra), sign-outs (Google), sessions/OAuth tokens/grants (Okta)
	Tokens   string // OAuth tokens and app passwords (Google), API tokens (Okta)
	Groups   string
}

func (e *idpEntra) state(t *testing.T) map[string]idpUserState {
	t.Helper()
	e.f.Mu.Lock()
	defer e.f.Mu.Unlock()
	out := map[string]idpUserState{}
	for _, u := range e.f.Users {
		var groups []string
		for _, g := range e.f.Groups {
			if g.Set[u.ID] {
				groups = append(groups, g.Name)
			}
		}
		slices.Sort(groups)
		out[e.names[u.ID]] = idpUserState{Enabled: u.Enabled, Writes: e.f.Writes[u.ID],
			Sessions: u.SessionsValidFrom.Format(time.RFC3339Nano), Groups: strings.Join(groups, ",")}
	}
	return out
}

// ---- Google ------------------------------------------------------------------

type idpGoogle struct {
	f     *googlefake.Fake
	ids   map[string]string
	names map[string]string
}

func idpStartGoogle(t *testing.T) *idpGoogle {
	t.Helper()
	g := &idpGoogle{f: googlefake.New(t), ids: map[string]string{}, names: map[string]string{}}
	last := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	members := map[string][]string{}
	add := func(uid, emp string, groups []string, withTokens bool) {
		u := &googlefake.User{Email: uid + "@example.com", FullName: uid, LastLogin: last, Created: last.AddDate(-2, 0, 0)}
		if emp != "" {
			u.ExternalIDs = []googlefake.ExtID{{Type: "organization", Value: emp}}
		}
		if withTokens {
			u.Tokens = []googlefake.Token{{ClientID: "1234-slack.apps.googleusercontent.com", DisplayText: "Slack", Scopes: []string{"openid", "email"}}}
			u.ASPs = []googlefake.ASP{{CodeID: 7, Name: "Thunderbird", Created: last.AddDate(0, -3, 0), LastUsed: last}}
		}
		u = g.f.AddUser(u)
		g.ids[uid], g.names[u.ID] = u.ID, uid
		for _, gr := range groups {
			members[gr] = append(members[gr], u.ID)
		}
	}
	for _, p := range idpPeople {
		add(p.uid, p.id, p.groups, true)
	}
	add(idpOrphan, "", []string{"Staff"}, true)
	for _, name := range idpGroups {
		g.f.AddGroup(&googlefake.Group{Email: strings.ToLower(strings.ReplaceAll(name, " ", "-")) + "@example.com", Name: name, Members: members[name]})
	}
	return g
}

func (g *idpGoogle) state(t *testing.T) map[string]idpUserState {
	t.Helper()
	g.f.Mu.Lock()
	defer g.f.Mu.Unlock()
	out := map[string]idpUserState{}
	for _, u := range g.f.Users {
		var groups []string
		for _, gr := range g.f.Groups {
			if slices.Contains(gr.Members, u.ID) {
				groups = append(groups, gr.Name)
			}
		}
		slices.Sort(groups)
		var tokens []string
		for _, tk := range u.Tokens {
			tokens = append(tokens, "oauth:"+tk.ClientID)
		}
		for _, a := range u.ASPs {
			tokens = append(tokens, fmt.Sprintf("asp:%d", a.CodeID))
		}
		out[g.names[u.ID]] = idpUserState{Enabled: !u.Suspended && !u.Archived && !u.Deleted, Writes: u.Writes, Updated: fmt.Sprintf("version %d", u.Version),
			Sessions: fmt.Sprintf("signouts=%d", u.SignOuts), Tokens: strings.Join(tokens, ","), Groups: strings.Join(groups, ",")}
	}
	return out
}

// ---- Okta --------------------------------------------------------------------

type idpOkta struct {
	f     *oktafake.Okta
	url   string // Prism's
	ids   map[string]string
	names map[string]string
}

const idpOktaToken = "00aBcD-e2e-okta-api-token-0123456789"

// idpStartOkta starts the Okta fake behind a Prism of its own (the
// connector built by the command has its own HTTP client, so it cannot use
// the package-shared Prism's routing header).
func idpStartOkta(t *testing.T) *idpOkta {
	t.Helper()
	o := &idpOkta{f: oktafake.New(), ids: map[string]string{}, names: map[string]string{}}
	o.f.SSWS = idpOktaToken
	var prismHost atomic.Value
	prismHost.Store("")
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// the fake builds its Link headers from Host: send the connector
		// back through Prism for the next page
		if h := prismHost.Load().(string); h != "" {
			r.Host = h
		}
		o.f.ServeHTTP(w, r)
	}))
	t.Cleanup(upstream.Close)
	o.url = specproxy.Start(t, oktafake.SpecPath(), upstream.URL, oktafake.SpecOptions)
	u, err := url.Parse(o.url)
	if err != nil {
		t.Fatal(err)
	}
	prismHost.Store(u.Host)

	members := map[string][]string{}
	add := func(uid, emp string, groups []string) {
		id := o.f.AddUser(uid, emp, "ACTIVE")
		o.ids[uid], o.names[id] = id, uid
		o.f.Mu.Lock()
		usr := o.f.ByID[id]
		usr.Sessions, usr.OAuthTokens, usr.Grants = 2, 1, 1
		o.f.Mu.Unlock()
		o.f.AddAPIToken(id, uid+"-automation")
		for _, g := range groups {
			members[g] = append(members[g], id)
		}
	}
	for _, p := range idpPeople {
		add(p.uid, p.id, p.groups)
	}
	add(idpOrphan, "", []string{"Staff"})
	for _, name := range idpGroups {
		o.f.AddGroup(name, "OKTA_GROUP", false, members[name]...)
	}
	return o
}

func (o *idpOkta) state(t *testing.T) map[string]idpUserState {
	t.Helper()
	o.f.Mu.Lock()
	defer o.f.Mu.Unlock()
	out := map[string]idpUserState{}
	for _, u := range o.f.Users {
		var groups, tokens []string
		for _, g := range o.f.Groups {
			if g.Members[u.ID] {
				groups = append(groups, g.Name)
			}
		}
		slices.Sort(groups)
		for _, tk := range o.f.APITokens {
			if tk.UserID == u.ID {
				tokens = append(tokens, tk.Name)
			}
		}
		out[o.names[u.ID]] = idpUserState{Enabled: u.Status == "ACTIVE", Updated: u.Status + " " + u.LastUpdated.Format(time.RFC3339Nano),
			Sessions: fmt.Sprintf("sessions=%d oauth=%d grants=%d", u.Sessions, u.OAuthTokens, u.Grants),
			Tokens:   strings.Join(tokens, ","), Groups: strings.Join(groups, ",")}
	}
	return out
}

// ---- the run -----------------------------------------------------------------

// idpWriteHR writes hr.csv as HR reports it for the given run.
func idpWriteHR(t *testing.T, dir string, run int) {
	t.Helper()
	var hr strings.Builder
	hr.WriteString("employee_id,email,first_name,last_name,status,status_effective,termination_date,department,job_code,hire_date\n")
	for _, p := range idpPeople {
		term := ""
		if p.status == "terminated" {
			term = p.effective
		}
		fmt.Fprintf(&hr, "%s,%s@example.com,%s,%s,%s,%s,%s,Ops,%s,2020-01-06\n", p.id, p.uid, p.first, p.last, p.status, p.effective, term, p.jobAt(run))
	}
	if err := os.WriteFile(filepath.Join(dir, "hr.csv"), []byte(hr.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// idpWriteConfig writes schedule.yaml the way an administrator would from the
// three READMEs: secrets through *_env, the Graph fake's CA through ca_file,
// role baselines by group name.
func idpWriteConfig(t *testing.T, dir, mode string, e *idpEntra, g *idpGoogle, o *idpOkta) string {
	t.Helper()
	pem, err := os.ReadFile(e.f.CAFile(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "graph-ca.pem"), pem, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ACCESSRECON_E2E_ENTRA_SECRET", e.f.Secret)
	t.Setenv("ACCESSRECON_E2E_GOOGLE_KEY", string(g.f.KeyJSON))
	t.Setenv("ACCESSRECON_E2E_OKTA_TOKEN", idpOktaToken)
	schedule := fmt.Sprintf(`store: accessrecon.db
timeout: 2m
sources:
  - name: hr
    type: csv
    config:
      path: hr.csv
targets:
  - name: entra
    type: entra
    tier: critical
    config:
      tenant_id: %s
      client_id: %s
      auth: client_secret
      client_secret_env: ACCESSRECON_E2E_ENTRA_SECRET
      authority_host: %s/
      graph_url: %s
      ca_file: graph-ca.pem        # the test tenant's TLS CA
      groups: members
      page_size: 3                 # pages even with seven users
      timeout: 20s
  - name: google
    type: google
    tier: critical
    config:
      key_env: ACCESSRECON_E2E_GOOGLE_KEY
      subject: %s
      customer: my_customer
      group_name: name             # baselines name groups as people write them
      base_url: %s/
      timeout: 20s
  - name: okta
    type: okta
    tier: critical
    config:
      org_url: %s
      auth: api_token
      token_env: ACCESSRECON_E2E_OKTA_TOKEN
      disable: suspend
      page_size: 3
      timeout: 20s
policy:
  mode: %s
  guards:
    max_revocations_percent: 100
  lifecycle:
    # issue 14: a suspension ends sessions and tokens too, not only the login
    suspended_active: [disable, revoke_sessions, revoke_credential]
  roles:
    ENG:
      entra: [Staff, Engineering]
      google: [Staff, Engineering]
      okta: [Staff, Engineering]
    SALES:
      entra: [Staff, Sales]
      google: [Staff, Sales]
      okta: [Staff, Sales]
`, entrafake.Tenant, e.f.Client, e.f.Base(), e.f.Base(), g.f.Subject, g.f.Srv.URL, o.url, mode)
	config := filepath.Join(dir, "schedule.yaml")
	if err := os.WriteFile(config, []byte(schedule), 0o600); err != nil {
		t.Fatal(err)
	}
	return config
}

// idpFindings is findings.json as this test reads it.
type idpFindings struct {
	Run struct {
		ID     int64    `json:"id"`
		Mode   string   `json:"mode"`
		Status string   `json:"status"`
		Guards []string `json:"guards"`
		Error  string   `json:"error"`
	} `json:"run"`
	Collections []store.Collection  `json:"collections"`
	Findings    []reconcile.Finding `json:"findings"`
	Actions     []store.Action      `json:"actions"`
}

// cloudRun runs the command in-process and fails the test unless it exits 0.
func cloudRun(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if code := run(ctx, args, &stdout, &stderr); code != exitOK {
		t.Fatalf("accessrecon %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// cloudEnforce runs `accessrecon run` once and reads its findings.json.
func cloudEnforce(t *testing.T, config string, extra ...string) idpFindings {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	cloudRun(t, append([]string{"run", "--config", config, "--out", out}, extra...)...)
	b, err := os.ReadFile(filepath.Join(out, "findings.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f idpFindings
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("findings.json: %v", err)
	}
	for _, c := range f.Collections {
		if c.Status != "ok" {
			t.Fatalf("run %d: collection of %s is %s (%s): the run cannot judge it", f.Run.ID, c.Name, c.Status, c.Error)
		}
	}
	return f
}

// cloudAudit reads the whole audit trail (audit export) and checks each
// record's hash.
func cloudAudit(t *testing.T, config string) []store.AuditRecord {
	t.Helper()
	out := cloudRun(t, "audit", "export", "--config", config)
	var recs []store.AuditRecord
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	for sc.Scan() {
		var r store.AuditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("audit export: %v", err)
		}
		if r.ComputeHash() != r.Hash {
			t.Fatalf("audit record %d does not match its hash", r.Seq)
		}
		recs = append(recs, r)
	}
	return recs
}

// cloudLogPerson logs, for one person's account on one target, the enforce
// run's plan (its findings' steps) and its audit records, and checks that
// the records show the plan, each request, the target's response and a
// verification.
func cloudLogPerson(t *testing.T, f idpFindings, audit []store.AuditRecord, target, accountID, who string) {
	t.Helper()
	var plan strings.Builder
	for _, fd := range f.Findings {
		if fd.Target != target || fd.AccountID != accountID {
			continue
		}
		fmt.Fprintf(&plan, "  finding %s (%s, %s): %s\n", fd.Kind, fd.Severity, fd.Disposition, fd.Reason)
		for _, s := range fd.Actions {
			fmt.Fprintf(&plan, "    step %s %s auto=%v\n", s.Op, s.Arg, s.Auto)
		}
	}
	var recs strings.Builder
	types := map[string]int{}
	for _, r := range audit {
		if r.RunID != f.Run.ID || r.Target != target || !bytes.Contains(r.Detail, []byte(accountID)) {
			continue
		}
		types[r.Type]++
		fmt.Fprintf(&recs, "  #%d %s %s %s\n", r.Seq, r.Type, r.Target, r.Detail)
	}
	t.Logf("%s, %s (account %s): run %d plan\n%s audit records\n%s", who, target, accountID, f.Run.ID, plan.String(), recs.String())
	for _, want := range []string{"action_requested", "target_response", "verification"} {
		if types[want] == 0 {
			t.Errorf("%s on %s: no %s audit record in run %d (have %v)", who, target, want, f.Run.ID, types)
		}
	}
}

func TestE2ECloudIdentityProviders(t *testing.T) {
	start := time.Now()
	o := idpStartOkta(t) // first: skips (fails under CI) without Prism
	e := idpStartEntra(t)
	g := idpStartGoogle(t)
	dir := t.TempDir()
	states := func() map[string]map[string]idpUserState {
		return map[string]map[string]idpUserState{"entra": e.state(t), "google": g.state(t), "okta": o.state(t)}
	}
	ids := map[string]map[string]string{"entra": e.ids, "google": g.ids, "okta": o.ids}
	names := map[string]map[string]string{"entra": e.names, "google": g.names, "okta": o.names}
	targetNames := []string{"entra", "google", "okta"}

	before := states()
	for tg, users := range before {
		if len(users) != len(idpPeople)+1 {
			t.Fatalf("%s holds %d users, want %d", tg, len(users), len(idpPeople)+1)
		}
		for uid, u := range users {
			if !u.Enabled {
				t.Fatalf("before the runs %s/%s is already disabled", tg, uid)
			}
		}
	}

	// Run 1: report. Findings, no writes anywhere.
	idpWriteHR(t, dir, 1)
	config := idpWriteConfig(t, dir, "report", e, g, o)
	f1 := cloudEnforce(t, config, "--as-of", idpAsOf)
	if f1.Run.Mode != "report" || len(f1.Actions) != 0 {
		t.Fatalf("run 1: mode %s, %d actions; want report, none", f1.Run.Mode, len(f1.Actions))
	}
	if after := states(); !maps.EqualFunc(after, before, maps.Equal) {
		t.Fatalf("the report run changed a provider:\n before %v\n after  %v", before, after)
	}
	planned := map[string]bool{}
	for _, fd := range f1.Findings {
		for _, s := range fd.Actions {
			if s.Auto {
				planned[fd.Target+"/"+names[fd.Target][fd.AccountID]] = true
			}
		}
	}
	for _, tg := range targetNames {
		for _, p := range idpPeople {
			if got := planned[tg+"/"+p.uid]; got != p.revoke() {
				t.Errorf("report run: automatic steps planned for %s/%s: %v, want %v", tg, p.uid, got, p.revoke())
			}
		}
	}

	// Run 2: enforce; HR now has the mover in Sales.
	idpWriteHR(t, dir, 2)
	config = idpWriteConfig(t, dir, "enforce", e, g, o)
	f2 := cloudEnforce(t, config, "--as-of", idpAsOf)
	if f2.Run.Mode != "enforce" || len(f2.Run.Guards) != 0 {
		t.Fatalf("run 2: mode %s, guards %v; want enforce, none", f2.Run.Mode, f2.Run.Guards)
	}
	after := states()
	for _, tg := range targetNames {
		for _, p := range idpPeople {
			b, a := before[tg][p.uid], after[tg][p.uid]
			switch {
			case p.revoke():
				if a.Enabled {
					t.Errorf("%s/%s (%s): still enabled", tg, p.uid, p.status)
				}
				if a.Sessions == b.Sessions {
					t.Errorf("%s/%s (%s): sessions not revoked (%s)", tg, p.uid, p.status, a.Sessions)
				}
				if tg != "entra" && a.Tokens != "" {
					t.Errorf("%s/%s (%s): tokens left: %s", tg, p.uid, p.status, a.Tokens)
				}
				if tg == "okta" && a.Sessions != "sessions=0 oauth=0 grants=0" {
					t.Errorf("okta/%s: %s, want every session, OAuth token and grant revoked", p.uid, a.Sessions)
				}
				if a.Groups != b.Groups {
					t.Errorf("%s/%s (%s): groups changed from %s to %s; a leaver is disabled, not stripped", tg, p.uid, p.status, b.Groups, a.Groups)
				}
			case p.jobAfter != "":
				want := b
				want.Groups = strings.Join(slices.DeleteFunc(strings.Split(b.Groups, ","), func(s string) bool { return s == "Engineering" }), ",")
				if tg != "okta" {
					want.Writes++ // the membership removal names the user (Okta's lastUpdated does not move for it)
				}
				if a != want {
					t.Errorf("%s/%s (mover %s -> %s):\n got  %+v\n want %+v (only the old role's group gone)", tg, p.uid, p.job, p.jobAfter, a, want)
				}
			default:
				if a != b {
					t.Errorf("%s/%s (%s) was touched:\n before %+v\n after  %+v", tg, p.uid, p.status, b, a)
				}
			}
		}
		if a, b := after[tg][idpOrphan], before[tg][idpOrphan]; a != b {
			t.Errorf("%s/%s (an orphan: review only) was touched:\n before %+v\n after  %+v", tg, idpOrphan, b, a)
		}
	}
	// Every action of run 2 done and verified, and exactly the expected ones.
	var gotActions []string
	for _, a := range f2.Actions {
		gotActions = append(gotActions, fmt.Sprintf("%s/%s/%s", a.Target, names[a.Target][a.AccountID], a.Op))
		if a.Status != "done" || !a.Verified {
			t.Errorf("action %s %s %s on %s: %s verified=%v (%s)", a.Target, a.Op, a.Arg, names[a.Target][a.AccountID], a.Status, a.Verified, a.Error)
		}
	}
	for _, tg := range targetNames {
		for _, p := range idpPeople {
			ops := map[string]int{}
			for _, a := range f2.Actions {
				if a.Target == tg && a.AccountID == ids[tg][p.uid] {
					ops[a.Op]++
				}
			}
			switch {
			case p.revoke():
				if ops["disable"] != 1 || ops["revoke_sessions"] != 1 {
					t.Errorf("%s/%s: actions %v, want one disable and one revoke_sessions", tg, p.uid, ops)
				}
				wantCreds := map[string]int{"entra": 0, "google": 2, "okta": 1}[tg]
				if ops["revoke_credential"] != wantCreds {
					t.Errorf("%s/%s: %d revoke_credential actions, want %d", tg, p.uid, ops["revoke_credential"], wantCreds)
				}
			case p.jobAfter != "":
				if len(ops) != 1 || ops["remove_from_group"] != 1 {
					t.Errorf("%s/%s (mover): actions %v, want one remove_from_group", tg, p.uid, ops)
				}
			default:
				if len(ops) != 0 {
					t.Errorf("%s/%s: actions %v, want none", tg, p.uid, ops)
				}
			}
		}
	}
	slices.Sort(gotActions)
	t.Logf("run 2 actions: %v", gotActions)
	// Fay keeps Project X: excess with no previous role is for a person.
	for _, fd := range f2.Findings {
		if names[fd.Target][fd.AccountID] == "fay" && fd.Kind == reconcile.ExcessAccess && fd.Disposition != reconcile.Review {
			t.Errorf("%s/fay excess_access: disposition %s, want review", fd.Target, fd.Disposition)
		}
	}

	// The plan and audit records of one terminated person on each target.
	audit := cloudAudit(t, config)
	for _, tg := range targetNames {
		cloudLogPerson(t, f2, audit, tg, ids[tg]["cy"], "cy (E103, terminated)")
	}

	// Run 3: nothing left to do; no provider is touched.
	f3 := cloudEnforce(t, config, "--as-of", idpAsOf)
	if len(f3.Actions) != 0 {
		t.Errorf("run 3 acted: %+v", f3.Actions)
	}
	for _, fd := range f3.Findings {
		for _, s := range fd.Actions {
			if s.Auto {
				t.Errorf("run 3 still plans an automatic %s on %s/%s (%s)", s.Op, fd.Target, names[fd.Target][fd.AccountID], fd.Kind)
			}
		}
	}
	if again := states(); !maps.EqualFunc(again, after, maps.Equal) {
		t.Errorf("run 3 changed a provider:\n before %v\n after  %v", after, again)
	}
	if out := cloudRun(t, "audit", "verify", "--config", config); !strings.Contains(out, "audit trail intact") {
		t.Errorf("audit verify: %q", out)
	}
	t.Logf("three runs against Entra, Google and Okta (behind Prism) in %s", time.Since(start).Round(time.Millisecond))
}
