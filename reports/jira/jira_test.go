package jira

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/targets"
)

var asOf = time.Date(2025, 1, 10, 18, 0, 0, 0, time.UTC)

// newTestClient returns a client of the fake and the waits it was asked for.
func newTestClient(t *testing.T, f *fakeJira, mod func(*Config)) (*Client, *[]time.Duration) {
	t.Helper()
	cfg := Config{
		URL: f.srv.URL, Project: "SEC", UserEnv: "JIRA_TEST_USER", TokenEnv: "JIRA_TEST_TOKEN", User: "bot@example.com", Token: "s3cret",
		Labels:             []string{"iam"},
		PriorityBySeverity: map[string]string{"critical": "Highest", "high": "High"},
		Component:          "IAM",
		AssigneeByTarget:   map[string]string{"ldap": "5b10ac8d82e05b22cc7d4ef5"},
		RunURL:             "https://accessrecon.example.com/runs/",
		MaxRetries:         2,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	waits := &[]time.Duration{}
	c.http.Sleep = func(ctx context.Context, d time.Duration) error { *waits = append(*waits, d); return ctx.Err() }
	return c, waits
}

func finding(account string, disp reconcile.Disposition, outcome reconcile.Outcome) reconcile.Finding {
	eff := time.Date(2025, 1, 10, 17, 0, 0, 0, time.UTC)
	term := time.Date(2025, 1, 10, 0, 0, 0, 0, time.UTC)
	return reconcile.Finding{
		Fingerprint: reconcile.Fingerprint(reconcile.TerminatedActive, "ldap", account),
		Kind:        reconcile.TerminatedActive, Severity: reconcile.Critical, Target: "ldap",
		AccountID: "uid=" + account + ",ou=people", Username: account, EmployeeID: "E" + account,
		Person:      &reconcile.PersonRef{EmployeeID: "E" + account, Name: "Person " + account, Status: "terminated", TerminationDate: &term},
		Disposition: disp, Outcome: outcome,
		Actions: []reconcile.Step{
			{Op: targets.CanDisable, Auto: true},
			{Op: targets.CanRevokeSessions, Auto: false, Manual: "Sign " + account + " out of the VPN console"},
		},
		Reason:      "HR says terminated; the account is enabled",
		Evidence:    reconcile.Evidence{{Key: "hr_status", Value: "terminated"}, {Key: "account_enabled", Value: "true"}},
		FirstSeen:   asOf,
		EffectiveAt: &eff,
		Tier:        "critical",
	}
}

func result(runID int64, fs []reconcile.Finding, resolved ...store.FindingState) *reconcile.Result {
	res := &reconcile.Result{Run: store.Run{ID: runID, AsOf: asOf.Add(time.Duration(runID) * 24 * time.Hour)},
		Resolved: resolved, Policy: reconcile.DefaultPolicy()}
	for i := range fs {
		res.Findings = append(res.Findings, &fs[i])
	}
	return res
}

func resolvedState(f reconcile.Finding, key string) store.FindingState {
	return store.FindingState{Fingerprint: f.Fingerprint, Kind: string(f.Kind), Target: f.Target, AccountID: f.AccountID, Resolved: true, JiraKey: key}
}

// shape lists the requests as "METHOD path" for comparison.
func shape(reqs []captured) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

func wantShape(t *testing.T, run string, reqs []captured, want ...string) {
	t.Helper()
	if got := shape(reqs); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: requests\n got %q\nwant %q", run, got, want)
	}
}

func body(r captured) map[string]any { m, _ := r.Body.(map[string]any); return m }

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	fake := newFakeJira(t)
	c, _ := newTestClient(t, fake, nil)
	out := NewMemOutbox()

	manual := finding("alice", reconcile.ManualRevoke, "")
	exempt := finding("bob", reconcile.Exempt, "")
	autoDone := finding("carol", reconcile.AutoRevoke, reconcile.OutcomeDone)
	autoFailed := finding("dave", reconcile.AutoRevoke, reconcile.OutcomeFailed)

	// Run 1: two tickets, nothing for the exempt and the revoked accounts.
	res := result(1, []reconcile.Finding{manual, exempt, autoDone, autoFailed})
	sum, err := c.Sync(ctx, res, out)
	if err != nil {
		t.Fatal(err)
	}
	if sum != (Summary{Created: 2}) {
		t.Fatalf("run 1 summary %+v", sum)
	}
	reqs := fake.requests()
	wantShape(t, "run 1", reqs, "GET /rest/api/2/search/jql", "POST /rest/api/2/issue", "POST /rest/api/2/issue")
	q := reqs[0].Query
	wantJQL := fmt.Sprintf(`project = "SEC" AND labels in ("accessrecon-%s", "accessrecon-%s") ORDER BY created ASC`, min(manual.Fingerprint, autoFailed.Fingerprint), max(manual.Fingerprint, autoFailed.Fingerprint))
	if q.Get("jql") != wantJQL || q.Get("fields") != "labels,status" {
		t.Fatalf("search query %v, want jql %s", q, wantJQL)
	}
	var created map[string]any
	for _, r := range reqs[1:] {
		if strings.Contains(fmt.Sprint(body(r)), "alice") {
			created = body(r)["fields"].(map[string]any)
		}
	}
	desc, _ := created["description"].(string)
	delete(created, "description")
	want := map[string]any{
		"project":    map[string]any{"key": "SEC"},
		"issuetype":  map[string]any{"name": "Task"},
		"summary":    "[accessrecon] terminated active: alice (Person alice) on ldap",
		"labels":     []any{"accessrecon", "accessrecon-" + manual.Fingerprint, "terminated_active", "accessrecon-h-" + contentHash(&manual), "iam"},
		"priority":   map[string]any{"name": "Highest"},
		"components": []any{map[string]any{"name": "IAM"}},
		"assignee":   map[string]any{"accountId": "5b10ac8d82e05b22cc7d4ef5"},
	}
	if !reflect.DeepEqual(created, want) {
		t.Fatalf("create fields\n got %#v\nwant %#v", created, want)
	}
	for _, s := range []string{
		"{noformat}\n1. Sign alice out of the VPN console\n{noformat}", // the manual step
		"\nhr_status:       terminated\n",                              // evidence
		"\nName:             Person alice\n",                           // the person
		"\n*Revoke by 2025-01-10T17:15:00Z.*\n",                        // EffectiveAt + critical SLA (15m)
		"Run 1 (as of 2025-01-11T18:00:00Z): [evidence|https://accessrecon.example.com/runs/1]",
	} {
		if !strings.Contains(desc, s) {
			t.Errorf("description lacks %q:\n%s", s, desc)
		}
	}
	if strings.Contains(desc, "disable on") {
		t.Errorf("description lists the automatic step of a manual_revoke finding:\n%s", desc)
	}
	key := out.JiraKey(manual.Fingerprint)
	if key == "" || res.Findings[0].JiraKey != key {
		t.Fatalf("key not recorded: outbox %q, finding %q", key, res.Findings[0].JiraKey)
	}
	if p, _ := out.Pending(ctx); len(p) != 0 {
		t.Fatalf("pending after a good sync: %v", p)
	}

	// Run 2: nothing changed -> the search, nothing else.
	sum, err = c.Sync(ctx, result(2, []reconcile.Finding{manual, exempt, autoDone, autoFailed}), out)
	if err != nil || sum != (Summary{Unchanged: 2}) {
		t.Fatalf("run 2: %+v %v", sum, err)
	}
	wantShape(t, "run 2", fake.requests(), "GET /rest/api/2/search/jql")

	// Run 3: the evidence changed -> one comment and the hash label swapped.
	changed := manual
	changed.Evidence = reconcile.Evidence{{Key: "hr_status", Value: "terminated"}, {Key: "account_enabled", Value: "true"}, {Key: "last_login", Value: "2025-01-11"}}
	sum, err = c.Sync(ctx, result(3, []reconcile.Finding{changed, autoFailed}), out)
	if err != nil || sum != (Summary{Updated: 1, Unchanged: 1}) {
		t.Fatalf("run 3: %+v %v", sum, err)
	}
	reqs = fake.requests()
	wantShape(t, "run 3", reqs, "GET /rest/api/2/search/jql", "POST /rest/api/2/issue/"+key+"/comment", "PUT /rest/api/2/issue/"+key)
	if !strings.Contains(body(reqs[1])["body"].(string), "\nlast_login:      2025-01-11\n") {
		t.Errorf("update comment lacks the new evidence: %v", body(reqs[1]))
	}
	wantPut := map[string]any{"update": map[string]any{"labels": []any{
		map[string]any{"remove": "accessrecon-h-" + contentHash(&manual)},
		map[string]any{"add": "accessrecon-h-" + contentHash(&changed)},
	}}}
	if !reflect.DeepEqual(body(reqs[2]), wantPut) {
		t.Fatalf("label update %#v, want %#v", body(reqs[2]), wantPut)
	}
	// Run 3 again: no second comment.
	if sum, err = c.Sync(ctx, result(4, []reconcile.Finding{changed, autoFailed}), out); err != nil || sum != (Summary{Unchanged: 2}) {
		t.Fatalf("run 3 again: %+v %v", sum, err)
	}
	wantShape(t, "run 3 again", fake.requests(), "GET /rest/api/2/search/jql")

	// Run 5: alice's problem is gone -> a comment and the Done transition.
	sum, err = c.Sync(ctx, result(5, []reconcile.Finding{autoFailed}, resolvedState(manual, key)), out)
	if err != nil || sum != (Summary{Closed: 1, Unchanged: 1}) {
		t.Fatalf("run 5: %+v %v", sum, err)
	}
	reqs = fake.requests()
	wantShape(t, "run 5", reqs, "GET /rest/api/2/search/jql", "POST /rest/api/2/issue/"+key+"/comment",
		"GET /rest/api/2/issue/"+key+"/transitions", "POST /rest/api/2/issue/"+key+"/transitions")
	if got := body(reqs[3])["transition"]; !reflect.DeepEqual(got, map[string]any{"id": "31"}) {
		t.Fatalf("close transition %v", got)
	}
	if is := fake.snapshot(key); is.Status != "Done" || !strings.Contains(is.Comments[len(is.Comments)-1], "no longer sees this problem") {
		t.Fatalf("after run 5: status %q comments %q", is.Status, is.Comments)
	}

	// Run 5 again (a run that sees alice's problem resolved once more, or a
	// ticket a person closed first): the ticket is done -> nothing but the
	// search.
	sum, err = c.Sync(ctx, result(5, []reconcile.Finding{autoFailed}, resolvedState(manual, key)), out)
	if err != nil || sum.Closed != 0 {
		t.Fatalf("run 5 again: %+v %v", sum, err)
	}
	wantShape(t, "run 5 again", fake.requests(), "GET /rest/api/2/search/jql")

	// Run 6: nothing about alice -> nothing.
	if _, err = c.Sync(ctx, result(6, []reconcile.Finding{autoFailed}), out); err != nil {
		t.Fatal(err)
	}
	wantShape(t, "run 6", fake.requests(), "GET /rest/api/2/search/jql")

	// Run 7: the problem is back -> the same ticket reopened, no new one.
	sum, err = c.Sync(ctx, result(7, []reconcile.Finding{changed, autoFailed}), out)
	if err != nil || sum != (Summary{Reopened: 1, Unchanged: 1}) {
		t.Fatalf("run 7: %+v %v", sum, err)
	}
	reqs = fake.requests()
	wantShape(t, "run 7", reqs, "GET /rest/api/2/search/jql", "GET /rest/api/2/issue/"+key+"/transitions",
		"POST /rest/api/2/issue/"+key+"/transitions", "POST /rest/api/2/issue/"+key+"/comment")
	if is := fake.snapshot(key); is.Status != "To Do" || len(fake.issues) != 2 {
		t.Fatalf("after run 7: status %q, %d issues", is.Status, len(fake.issues))
	}
}

func TestReopenImpossibleCreatesLinkedTicket(t *testing.T) {
	ctx := context.Background()
	fake := newFakeJira(t)
	fake.noReopen = true
	c, _ := newTestClient(t, fake, nil)
	out := NewMemOutbox()
	f := finding("erin", reconcile.Review, "")
	if _, err := c.Sync(ctx, result(1, []reconcile.Finding{f}), out); err != nil {
		t.Fatal(err)
	}
	first := out.JiraKey(f.Fingerprint)
	if _, err := c.Sync(ctx, result(2, nil, resolvedState(f, first)), out); err != nil {
		t.Fatal(err)
	}
	fake.requests()
	sum, err := c.Sync(ctx, result(3, []reconcile.Finding{f}), out)
	if err != nil || sum.Created != 1 {
		t.Fatalf("%+v %v", sum, err)
	}
	second := out.JiraKey(f.Fingerprint)
	if second == first || second == "" {
		t.Fatalf("keys %q then %q", first, second)
	}
	wantLink := map[string]any{"type": map[string]any{"name": "Relates", "inward": "", "outward": ""},
		"inwardIssue": map[string]any{"key": second}, "outwardIssue": map[string]any{"key": first}}
	if len(fake.links) != 1 || !reflect.DeepEqual(fake.links[0], wantLink) {
		t.Fatalf("links %#v, want %#v", fake.links, wantLink)
	}
	// Next run: the open (newer) ticket is the one tracked; nothing to do.
	sum, err = c.Sync(ctx, result(4, []reconcile.Finding{f}), out)
	if err != nil || sum != (Summary{Unchanged: 1}) || out.JiraKey(f.Fingerprint) != second {
		t.Fatalf("%+v %v %s", sum, err, out.JiraKey(f.Fingerprint))
	}
}

func TestOutageKeepsWork(t *testing.T) {
	ctx := context.Background()
	fake := newFakeJira(t)
	c, waits := newTestClient(t, fake, nil)
	out := NewMemOutbox()
	a, b := finding("frank", reconcile.Review, ""), finding("grace", reconcile.ManualRevoke, "")

	if _, err := c.Sync(ctx, result(1, []reconcile.Finding{a}), out); err != nil {
		t.Fatal(err)
	}
	keyA := out.JiraKey(a.Fingerprint)
	fake.requests()

	// Run 2 while Jira is down: a resolved (close a), b new (create b).
	fake.down = true
	sum, err := c.Sync(ctx, result(2, []reconcile.Finding{b}, resolvedState(a, keyA)), out)
	if !errors.Is(err, ErrDeferred) {
		t.Fatalf("err %v, want ErrDeferred", err)
	}
	if sum.Pending != 2 || sum.Created+sum.Closed != 0 {
		t.Fatalf("summary %+v", sum)
	}
	if reqs := fake.requests(); len(reqs) != 1+c.cfg.MaxRetries || len(*waits) != c.cfg.MaxRetries {
		t.Fatalf("%d requests, %d waits during the outage", len(reqs), len(*waits))
	}
	if p, _ := out.Pending(ctx); len(p) != 2 {
		t.Fatalf("pending %v", p)
	}

	// Run 3, Jira back, a run that sees nothing new: the kept work is sent.
	fake.down = false
	sum, err = c.Sync(ctx, result(3, nil), out)
	if err != nil || sum != (Summary{Created: 1, Closed: 1}) {
		t.Fatalf("run 3: %+v %v", sum, err)
	}
	if fake.snapshot(keyA).Status != "Done" || out.JiraKey(b.Fingerprint) == "" {
		t.Fatalf("a %q, b key %q", fake.snapshot(keyA).Status, out.JiraKey(b.Fingerprint))
	}
	if p, _ := out.Pending(ctx); len(p) != 0 {
		t.Fatalf("pending %v", p)
	}
}

func TestThrottleHonoursRetryAfter(t *testing.T) {
	ctx := context.Background()
	fake := newFakeJira(t)
	c, waits := newTestClient(t, fake, nil)
	fake.throttle = 2
	sum, err := c.Sync(ctx, result(1, []reconcile.Finding{finding("heidi", reconcile.Review, "")}), NewMemOutbox())
	if err != nil || sum.Created != 1 {
		t.Fatalf("%+v %v", sum, err)
	}
	if !reflect.DeepEqual(*waits, []time.Duration{time.Second, time.Second}) {
		t.Fatalf("waits %v, want two of Retry-After's 1s", *waits)
	}
	wantShape(t, "throttled", fake.requests(), "GET /rest/api/2/search/jql", "GET /rest/api/2/search/jql", "GET /rest/api/2/search/jql", "POST /rest/api/2/issue")
}

// A write refused with 429 was not processed: it is sent again. After a 503
// it may have been: it is sent once and kept in the Outbox.
func TestWriteResentOnlyWhenRefused(t *testing.T) {
	ctx := context.Background()
	fake := newFakeJira(t)
	c, waits := newTestClient(t, fake, nil)
	fake.failWrites, fake.writeStatus = 2, http.StatusTooManyRequests
	sum, err := c.Sync(ctx, result(1, []reconcile.Finding{finding("ivan", reconcile.Review, "")}), NewMemOutbox())
	if err != nil || sum.Created != 1 {
		t.Fatalf("429: %+v %v", sum, err)
	}
	if !reflect.DeepEqual(*waits, []time.Duration{time.Second, 2 * time.Second}) {
		t.Fatalf("429: waits %v", *waits)
	}
	wantShape(t, "429", fake.requests(), "GET /rest/api/2/search/jql", "POST /rest/api/2/issue", "POST /rest/api/2/issue", "POST /rest/api/2/issue")

	fake = newFakeJira(t)
	c, waits = newTestClient(t, fake, nil)
	fake.failWrites, fake.writeStatus = 1, http.StatusServiceUnavailable
	out := NewMemOutbox()
	sum, err = c.Sync(ctx, result(1, []reconcile.Finding{finding("judy", reconcile.Review, "")}), out)
	if !errors.Is(err, ErrDeferred) || sum.Pending != 1 || len(*waits) != 0 {
		t.Fatalf("503: %+v %v, waits %v", sum, err, *waits)
	}
	wantShape(t, "503", fake.requests(), "GET /rest/api/2/search/jql", "POST /rest/api/2/issue")
}

func TestNoDuplicateAfterStateLoss(t *testing.T) {
	for _, api := range []string{SearchJQL, SearchLegacy} {
		t.Run(api, func(t *testing.T) {
			ctx := context.Background()
			fake := newFakeJira(t)
			fake.pageSize = 2 // make the search page
			c, _ := newTestClient(t, fake, func(cfg *Config) { cfg.SearchAPI = api })
			var fs []reconcile.Finding
			for i := range 5 {
				fs = append(fs, finding(fmt.Sprintf("user%d", i), reconcile.Review, ""))
			}
			if sum, err := c.Sync(ctx, result(1, fs), NewMemOutbox()); err != nil || sum.Created != 5 {
				t.Fatalf("%+v %v", sum, err)
			}
			fake.requests()
			fresh := NewMemOutbox() // the local state is lost
			sum, err := c.Sync(ctx, result(2, fs), fresh)
			if err != nil || sum != (Summary{Unchanged: 5}) {
				t.Fatalf("%+v %v", sum, err)
			}
			path := "GET /rest/api/2/search/jql"
			if api == SearchLegacy {
				path = "GET /rest/api/2/search"
			}
			wantShape(t, "after state loss", fake.requests(), path, path, path)
			for _, f := range fs {
				if fresh.JiraKey(f.Fingerprint) == "" {
					t.Errorf("key of %s not recovered", f.Username)
				}
			}
		})
	}
}

func TestSearchIsBatched(t *testing.T) {
	ctx := context.Background()
	fake := newFakeJira(t)
	c, _ := newTestClient(t, fake, nil)
	var fs []reconcile.Finding
	for i := range 120 {
		fs = append(fs, finding(fmt.Sprintf("u%03d", i), reconcile.Review, ""))
	}
	acts, err := c.Plan(ctx, result(1, fs), nil)
	if err != nil {
		t.Fatal(err)
	}
	reqs := fake.requests()
	wantShape(t, "plan", reqs, "GET /rest/api/2/search/jql", "GET /rest/api/2/search/jql", "GET /rest/api/2/search/jql")
	if n := strings.Count(reqs[0].Query.Get("jql"), "accessrecon-"); n != 50 {
		t.Fatalf("first chunk has %d labels", n)
	}
	if len(acts) != 120 || acts[0].Kind != Create {
		t.Fatalf("%d actions, first %+v", len(acts), acts[0])
	}
}

func TestPlanSendsNothing(t *testing.T) {
	ctx := context.Background()
	fake := newFakeJira(t)
	c, _ := newTestClient(t, fake, nil)
	out := NewMemOutbox()
	a, b := finding("ivan", reconcile.Review, ""), finding("judy", reconcile.Review, "")
	if _, err := c.Sync(ctx, result(1, []reconcile.Finding{a, b}), out); err != nil {
		t.Fatal(err)
	}
	keyA, keyB := out.JiraKey(a.Fingerprint), out.JiraKey(b.Fingerprint)
	fake.requests()
	changed := b
	changed.Evidence = reconcile.Evidence{{Key: "groups", Value: "admins"}}
	c3 := finding("ken", reconcile.ManualRevoke, "")
	acts, err := c.Plan(ctx, result(2, []reconcile.Finding{changed, c3}, resolvedState(a, keyA)), out)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Action{}
	for _, a := range acts {
		got[a.Fingerprint] = a
	}
	want := map[string]Action{
		a.Fingerprint:  {Kind: Close, Fingerprint: a.Fingerprint, Key: keyA, Summary: "close: " + keyA},
		b.Fingerprint:  {Kind: Update, Fingerprint: b.Fingerprint, Key: keyB, Summary: summaryLine(&b, nil)},
		c3.Fingerprint: {Kind: Create, Fingerprint: c3.Fingerprint, Summary: summaryLine(&c3, nil)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("plan\n got %+v\nwant %+v", got, want)
	}
	for _, r := range fake.requests() {
		if r.Method != "GET" {
			t.Errorf("plan sent %s %s", r.Method, r.Path)
		}
	}
	if p, _ := out.Pending(ctx); len(p) != 0 {
		t.Fatalf("plan queued %v", p)
	}
}

func TestRefusedOpIsCountedAndDropped(t *testing.T) {
	ctx := context.Background()
	fake := newFakeJira(t)
	c, _ := newTestClient(t, fake, func(cfg *Config) { cfg.Project = "OTHER" })
	out := NewMemOutbox()
	sum, err := c.Sync(ctx, result(1, []reconcile.Finding{finding("leo", reconcile.Review, "")}), out)
	if err == nil || errors.Is(err, ErrDeferred) || sum.Failed != 1 || sum.Pending != 0 {
		t.Fatalf("%+v %v", sum, err)
	}
}

func TestNewValidates(t *testing.T) {
	ok := Config{URL: "https://jira.example.com", Project: "SEC", UserEnv: "JIRA_TEST_USER", TokenEnv: "JIRA_TEST_TOKEN", User: "bot@example.com", Token: "s3cret"}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := New(ok, log)
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.IssueType != "Task" || c.cfg.SearchAPI != SearchJQL || c.cfg.DoneTransition != "Done" {
		t.Fatalf("defaults %+v", c.cfg)
	}
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.URL = "" }, "jira: url: required"},
		{func(c *Config) { c.Project = "" }, "jira: project: required"},
		{func(c *Config) { c.SearchAPI = "v3" }, "search_api"},
		{func(c *Config) { c.Auth = "oauth" }, "jira: auth"},
		{func(c *Config) { c.Token = "" }, "jira: token_env or token_file: required"},
		{func(c *Config) { c.UserEnv = "" }, "user_env: required"},
		{func(c *Config) { c.Labels = []string{"two words"} }, "labels[0]"},
		{func(c *Config) { c.PriorityBySeverity = map[string]string{"urgent": "P1"} }, "priority_by_severity"},
	} {
		cfg := ok
		tc.mod(&cfg)
		_, err := New(cfg, log)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err %v, want %q", err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error reveals the token: %v", err)
		}
	}
	pat := ok
	pat.Auth, pat.UserEnv = AuthPAT, ""
	if _, err := New(pat, log); err != nil {
		t.Fatalf("pat: %v", err)
	}
}

// People read tickets by name (issue 10.7): the account's username and
// display name stand beside its ID, also on a finding the engine built
// without them (revocation_failed), and an orphan's summary names the
// account.
func TestTicketShowsNames(t *testing.T) {
	ctx := context.Background()
	fake := newFakeJira(t)
	c, _ := newTestClient(t, fake, nil)
	guid := "0f8fad5b-d9cb-469f-a165-70867728950e"
	orphan := reconcile.Finding{Fingerprint: reconcile.Fingerprint(reconcile.Orphaned, "ad", guid), Kind: reconcile.Orphaned,
		Severity: reconcile.Medium, Target: "ad", AccountID: guid, Username: "noura.aziz", DisplayName: "Noura Aziz",
		Disposition: reconcile.Review, Reason: "enabled account linked to no person in HR", FirstSeen: asOf}
	failed := reconcile.Finding{Fingerprint: reconcile.Fingerprint(reconcile.RevocationFailed, "ad", guid), Kind: reconcile.RevocationFailed,
		Severity: reconcile.High, Target: "ad", AccountID: guid, Disposition: reconcile.Review, Reason: "revoking did not complete", FirstSeen: asOf,
		Actions: []reconcile.Step{{Op: targets.CanRemoveFromGroup, Arg: "CN=VPN Users,OU=Groups,DC=corp", Name: "VPN Users", Auto: true}}}
	if _, err := c.Sync(ctx, result(1, []reconcile.Finding{orphan, failed}), NewMemOutbox()); err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]any{}
	for _, r := range fake.requests() {
		if r.Method == "POST" && r.Path == "/rest/api/2/issue" {
			fields := body(r)["fields"].(map[string]any)
			got[fields["labels"].([]any)[2].(string)] = fields
		}
	}
	if s := got["orphaned"]["summary"]; s != "[accessrecon] orphaned: noura.aziz (Noura Aziz) on ad" {
		t.Errorf("orphan summary %q", s)
	}
	for kind, f := range got {
		d := f["description"].(string)
		for _, want := range []string{"\nAccount ID:   " + guid + "\n", "\nUsername:     noura.aziz\n", "\nDisplay name: Noura Aziz\n"} {
			if !strings.Contains(d, want) {
				t.Errorf("%s ticket lacks %q:\n%s", kind, want, d)
			}
		}
	}
	if d := got["revocation_failed"]["description"].(string); !strings.Contains(d, "remove_from_group on ad for account noura.aziz: VPN Users (CN=VPN Users,OU=Groups,DC=corp)") {
		t.Errorf("the step names neither the account nor the group:\n%s", d)
	}
}

// dormant is a dormant finding as the engine words it on the day asOf+days.
func dormant(days int, lastLogin time.Time) reconcile.Finding {
	day := asOf.Add(time.Duration(days) * 24 * time.Hour)
	return reconcile.Finding{Fingerprint: reconcile.Fingerprint(reconcile.Dormant, "ldap", "uid=olga"), Kind: reconcile.Dormant,
		Severity: reconcile.Low, Target: "ldap", AccountID: "uid=olga", Username: "olga", Disposition: reconcile.Review,
		Reason:   fmt.Sprintf("no login for %d days (limit 90)", int(day.Sub(lastLogin).Hours()/24)),
		Evidence: reconcile.Evidence{{Key: "last_login", Value: lastLogin.Format(time.RFC3339)}, {Key: "account_enabled", Value: "true"}}, FirstSeen: asOf}
}

// A dormant ticket is not commented every day because its text counts the
// days (issue 10.8): the content hash covers the facts that change the
// decision, not a count of days. A new last login date is such a fact.
func TestNoCommentWhenOnlyTheDayChanges(t *testing.T) {
	ctx := context.Background()
	fake := newFakeJira(t)
	c, _ := newTestClient(t, fake, nil)
	out := NewMemOutbox()
	login := asOf.Add(-199 * 24 * time.Hour).Add(7 * time.Hour)
	never := func(days int) reconcile.Finding {
		f := dormant(days, login)
		f.AccountID, f.Username = "uid=piet", "piet"
		f.Fingerprint = reconcile.Fingerprint(reconcile.Dormant, "ldap", f.AccountID)
		f.Reason = fmt.Sprintf("never logged in, created %d days ago", 300+days)
		f.Evidence = reconcile.Evidence{{Key: "last_login", Value: "never"}, {Key: "created", Value: "2024-03-16"}, {Key: "account_enabled", Value: "true"}}
		return f
	}
	if sum, err := c.Sync(ctx, result(0, []reconcile.Finding{dormant(0, login), never(0)}), out); err != nil || sum.Created != 2 {
		t.Fatalf("run 0: %+v %v", sum, err)
	}
	fake.requests()
	for day := 1; day <= 3; day++ {
		sum, err := c.Sync(ctx, result(int64(day), []reconcile.Finding{dormant(day, login), never(day)}), out)
		if err != nil || sum != (Summary{Unchanged: 2}) {
			t.Fatalf("day %d: %+v %v", day, sum, err)
		}
		wantShape(t, fmt.Sprintf("day %d", day), fake.requests(), "GET /rest/api/2/search/jql")
	}
	// The account was used (and is dormant again later): one comment.
	relogin := login.Add(24 * time.Hour)
	sum, err := c.Sync(ctx, result(4, []reconcile.Finding{dormant(4, relogin), never(4)}), out)
	if err != nil || sum != (Summary{Updated: 1, Unchanged: 1}) {
		t.Fatalf("new last login: %+v %v", sum, err)
	}
}

// A ticket written by the previous version carries a hash of the old
// formula (reason included). On the first run after the upgrade an
// unchanged finding gets its hash label swapped, not a comment: the upgrade
// does not comment every open ticket once. A finding that did change is
// commented as ever.
func TestUpgradeSwapsLegacyHashSilently(t *testing.T) {
	ctx := context.Background()
	fake := newFakeJira(t)
	c, _ := newTestClient(t, fake, nil)
	same, changed := finding("quinn", reconcile.Review, ""), finding("rosa", reconcile.Review, "")
	// The tickets as the previous version left them.
	for _, f := range []reconcile.Finding{same, changed} {
		fake.issues = append(fake.issues, &fakeIssue{ID: fmt.Sprint(20000 + len(fake.issues)), Key: fmt.Sprintf("SEC-%d", 900+len(fake.issues)), Status: "To Do",
			Labels: []string{"accessrecon", FingerprintLabel(f.Fingerprint), string(f.Kind), hashLabelPrefix + legacyContentHash(&f)}})
	}
	changed.Evidence = reconcile.Evidence{{Key: "hr_status", Value: "terminated"}, {Key: "account_enabled", Value: "false"}}
	out := NewMemOutbox()
	sum, err := c.Sync(ctx, result(1, []reconcile.Finding{same, changed}), out)
	if err != nil || sum != (Summary{Updated: 1, Unchanged: 1}) {
		t.Fatalf("first run after the upgrade: %+v %v", sum, err)
	}
	reqs := fake.requests()
	got := shape(reqs)
	slices.Sort(got)
	if want := []string{"GET /rest/api/2/search/jql", "POST /rest/api/2/issue/SEC-901/comment", "PUT /rest/api/2/issue/SEC-900",
		"PUT /rest/api/2/issue/SEC-901"}; !slices.Equal(got, want) {
		t.Fatalf("first run: requests %q, want %q", got, want)
	}
	wantPut := map[string]any{"update": map[string]any{"labels": []any{
		map[string]any{"remove": hashLabelPrefix + legacyContentHash(&same)},
		map[string]any{"add": hashLabelPrefix + contentHash(&same)},
	}}}
	for _, r := range reqs {
		if r.Method == "PUT" && r.Path == "/rest/api/2/issue/SEC-900" && !reflect.DeepEqual(body(r), wantPut) {
			t.Fatalf("label swap %#v, want %#v", body(r), wantPut)
		}
	}
	if cs := fake.snapshot("SEC-900").Comments; len(cs) != 0 {
		t.Fatalf("unchanged ticket commented: %q", cs)
	}
	if sum, err := c.Sync(ctx, result(2, []reconcile.Finding{same, changed}), out); err != nil || sum != (Summary{Unchanged: 2}) {
		t.Fatalf("second run: %+v %v", sum, err)
	}
	wantShape(t, "second run", fake.requests(), "GET /rest/api/2/search/jql")
}

// Issue 10 item 3: a run whose HR snapshot tripped a rail (a truncated
// export) opened 761 tickets and the next good run closed 762. An untrusted
// run opens, changes, closes and reopens nothing but the rail's own ticket.
func TestGuardTrippedRunTouchesOnlyTheGuardTicket(t *testing.T) {
	ctx := context.Background()
	fake := newFakeJira(t)
	c, _ := newTestClient(t, fake, nil)
	out := NewMemOutbox()

	alice := finding("alice", reconcile.ManualRevoke, "")
	r1 := result(1, []reconcile.Finding{alice})
	if sum, err := c.Sync(ctx, r1, out); err != nil || sum.Created != 1 {
		t.Fatalf("run 1: %+v %v", sum, err)
	}
	aliceKey := r1.Findings[0].JiraKey

	guard := reconcile.Finding{Fingerprint: reconcile.Fingerprint(reconcile.GuardTripped, "(hr)", "(hr_shrink)"), Kind: reconcile.GuardTripped,
		Severity: reconcile.Critical, Disposition: reconcile.Review, Target: "(hr)", AccountID: "(hr_shrink)",
		Reason: "HR has 31 people, the last good run had 317", FirstSeen: asOf}
	storm := []reconcile.Finding{guard}
	for i := range 40 {
		f := finding(fmt.Sprintf("ghost%02d", i), reconcile.Review, "")
		f.Kind, f.Fingerprint = reconcile.Orphaned, reconcile.Fingerprint(reconcile.Orphaned, "ldap", f.AccountID)
		storm = append(storm, f)
	}
	bad := result(2, storm, resolvedState(alice, aliceKey))
	bad.Guards = []reconcile.Guard{{Kind: reconcile.GuardHRShrink, Reason: "HR has 31 people, the last good run had 317"}}
	sum, err := c.Sync(ctx, bad, out)
	if err != nil || sum != (Summary{Created: 1}) {
		t.Fatalf("guard-tripped run: %+v %v, want only the guard's ticket created", sum, err)
	}
	reqs := fake.requests()[2:]
	wantShape(t, "run 2", reqs, "GET /rest/api/2/search/jql", "POST /rest/api/2/issue")
	if s := fmt.Sprint(body(reqs[1])); !strings.Contains(s, "hr_shrink") && !strings.Contains(s, "guard") {
		t.Fatalf("the one ticket created is not the guard's: %s", s)
	}
	if is := fake.snapshot(aliceKey); is.Status != "To Do" || len(is.Comments) != 0 {
		t.Fatalf("alice's ticket was touched by the untrusted run: %+v", is)
	}

	// The next good run sees alice's problem still there: no change.
	n := len(fake.requests())
	if sum, err := c.Sync(ctx, result(3, []reconcile.Finding{alice}), out); err != nil || sum.Created != 0 || sum.Closed != 0 || sum.Updated != 0 {
		t.Fatalf("run 3: %+v %v", sum, err)
	}
	for _, r := range fake.requests()[n:] {
		if r.Method != "GET" {
			t.Fatalf("run 3 changed a ticket: %s %s", r.Method, r.Path)
		}
	}
}
