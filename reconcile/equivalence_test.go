package reconcile_test

// The equivalence test feeds the same seven people through the three HR
// sources (a CSV export, BambooHR's custom report API, a Workday RaaS report)
// and checks that they produce the same sources.Person values and, run
// through the engine against one target, the same findings. The fixtures:
//
//   - ../sources/bamboohr/testdata/equivalence.{json,yaml}: the custom report
//     payload and the source's configuration;
//   - ../sources/workday/testdata/equivalence.{json,yaml}: the RaaS payload
//     and configuration;
//   - testdata/equivalence/hr.csv: the same people written by hand in the
//     canonical CSV columns.
//
// The seven people: 00042 (active, leading zeros significant), 00007 (active,
// no manager), E100 (on leave since 2026-10-01), E101 (suspended since
// 2026-11-01), E102 (terminated 2025-06-30), E103 (active with a termination
// date in the future, 2027-01-31) and C200 (a contractor).
//
// The API quirks the connectors must absorb, and which the CSV therefore
// writes in canonical form:
//   - BambooHR: the lifecycle comes from employmentHistoryStatus (status_map:
//     Full-Time/Contractor -> active, Leave of Absence -> leave, ...), not
//     from the coarse `status` field (Active/Inactive, which says "Active" for
//     the suspended and on-leave people); an unset date is "0000-00-00" or
//     null; supervisorEId null is "no manager".
//   - Workday: dates carry zones ("2026-10-01Z", "2026-11-01-00:00",
//     "2022-04-18T00:00:00Z"), all at UTC midnight, so they are the same
//     instants as the CSV's plain dates (sources.ParseDate returns UTC); one
//     entry names its email only inside Email_group (the primary address is
//     first) and one uses First_Name/Last_Name instead of the
//     Legal_Name_* aliases; "Suspended" is a lifecycle word itself.
//
// Nothing is normalised here: the three []sources.Person must be deeply
// equal as the connectors return them.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/sources/bamboohr"
	srccsv "github.com/accessrecon/accessrecon/sources/csv"
	"github.com/accessrecon/accessrecon/sources/workday"
	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

// equivalenceAsOf lies after every past date of the fixture (E102's
// termination 2025-06-30, E101's suspension 2026-11-01) and before E103's
// future termination date (2027-01-31).
var equivalenceAsOf = time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)

// equivalenceTarget is the name of the one target every run judges.
const equivalenceTarget = "app"

// decodeStrict decodes a YAML file into v, rejecting unknown keys.
func decodeStrict(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readFixture(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bambooSource serves ../sources/bamboohr/testdata/equivalence.json as
// BambooHR's custom report and returns the source configured by
// equivalence.yaml, pointed at that server.
func bambooSource(t *testing.T) sources.Source {
	t.Helper()
	dir := filepath.Join("..", "sources", "bamboohr", "testdata")
	payload := readFixture(t, filepath.Join(dir, "equivalence.json"))
	var cfg bamboohr.Config
	decodeStrict(t, filepath.Join(dir, "equivalence.yaml"), &cfg)
	const key = "equivalence-bamboohr-key"
	cfg.APIKey = targets.Secret(key) // as the wiring resolves api_key_env

	// The fields the report can return: a request for any other field would
	// come back empty from BambooHR, so it is refused here.
	var report struct {
		Fields []struct {
			ID string `json:"id"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(payload, &report); err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, f := range report.Fields {
		known[f.ID] = true
	}

	const base = "/api/gateway.php/acme/v1"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != key || pass != "x" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		q := r.URL.Query()
		if r.Method != http.MethodPost || r.URL.Path != base+"/reports/custom" || q.Get("format") != "JSON" || q.Get("onlyCurrent") != "false" {
			http.Error(w, fmt.Sprintf("unexpected request %s %s", r.Method, r.URL), http.StatusNotFound)
			return
		}
		var req struct {
			Fields []string `json:"fields"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Fields) == 0 {
			http.Error(w, "bad report request", http.StatusBadRequest)
			return
		}
		for _, f := range req.Fields {
			if !known[f] {
				http.Error(w, "field "+f+" is not in the fixture's report", http.StatusBadRequest)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(payload)
	}))
	t.Cleanup(srv.Close)
	if cfg.Company != "acme" {
		t.Fatalf("equivalence.yaml: company %q, the fake serves acme", cfg.Company)
	}
	cfg.BaseURL = srv.URL + base
	src, err := bamboohr.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// workdaySource serves ../sources/workday/testdata/equivalence.json as the
// RaaS report at the path of equivalence.yaml's url and returns the source
// configured by equivalence.yaml, pointed at that server.
func workdaySource(t *testing.T) sources.Source {
	t.Helper()
	dir := filepath.Join("..", "sources", "workday", "testdata")
	payload := readFixture(t, filepath.Join(dir, "equivalence.json"))
	var cfg workday.Config
	decodeStrict(t, filepath.Join(dir, "equivalence.yaml"), &cfg)
	const user, password = "ISU_accessrecon", "equivalence-workday-password"
	cfg.User = targets.Secret(user) // as the wiring resolves user_env and password_env
	cfg.Password = targets.Secret(password)
	u, err := url.Parse(cfg.URL)
	if err != nil {
		t.Fatal(err)
	}
	path := u.Path
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gu, gp, ok := r.BasicAuth()
		if !ok || gu != user || gp != password {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet || r.URL.Path != path || r.URL.Query().Get("format") != "json" {
			http.Error(w, fmt.Sprintf("unexpected request %s %s", r.Method, r.URL), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(payload)
	}))
	t.Cleanup(srv.Close)
	su, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.Scheme, u.Host = su.Scheme, su.Host
	cfg.URL = u.String()
	src, err := workday.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func csvSource(t *testing.T) sources.Source {
	t.Helper()
	src, err := srccsv.New(srccsv.Config{Path: filepath.Join("testdata", "equivalence", "hr.csv")}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// collectPeople reads a source whole, sorted by employee ID.
func collectPeople(ctx context.Context, t *testing.T, name string, src sources.Source) []sources.Person {
	t.Helper()
	var out []sources.Person
	for p, err := range src.People(ctx) {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b sources.Person) int { return cmp.Compare(a.EmployeeID, b.EmployeeID) })
	return out
}

// personDiff names the fields in which a and b differ.
func personDiff(a, b sources.Person) string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var out []string
	for i := range va.NumField() {
		fa, fb := va.Field(i).Interface(), vb.Field(i).Interface()
		if !reflect.DeepEqual(fa, fb) {
			out = append(out, fmt.Sprintf("%s: %#v vs %#v", va.Type().Field(i).Name, fa, fb))
		}
	}
	return strings.Join(out, "; ")
}

// equivalencePolicy counts leave as a finding and gives every job code a
// baseline on the target, so that status, status date and job code all reach
// the findings.
func equivalencePolicy() reconcile.Policy {
	role := func(groups ...string) map[string][]string { return map[string][]string{equivalenceTarget: groups} }
	return reconcile.Policy{
		Mode:           reconcile.Report,
		LeaveIsFinding: true,
		Roles: map[string]map[string][]string{
			"ENG-MGR": role("eng", "eng-leads", "vpn"),
			"ENG1":    role("eng", "vpn"),
			"ENG2":    role("eng", "vpn"),
			"SLS1":    role("sales", "vpn"),
			"SLS2":    role("sales", "vpn"),
			"FIN3":    role("finance", "vpn"),
			"CTR":     role("eng"),
		},
	}
}

// equivalenceAccounts holds one enabled account per person, with the groups
// of the person's role (E103 has one group more), plus an orphan whose
// employee ID is 00042 without its leading zeros, which is nobody.
func equivalenceAccounts(people []sources.Person, pol reconcile.Policy) []targets.Account {
	var as []targets.Account
	for _, p := range people {
		groups := slices.Clone(pol.Roles[p.JobCode][equivalenceTarget])
		if p.EmployeeID == "E103" {
			groups = append(groups, "finance")
		}
		as = append(as, targets.Account{
			ID: "acct-" + strings.ToLower(p.EmployeeID), Username: strings.ToLower(p.FirstName), Email: p.Email,
			EmployeeID: p.EmployeeID, DisplayName: p.Name(), Enabled: true, Groups: targets.NamedGroups(groups...),
		})
	}
	return append(as, targets.Account{ID: "acct-orphan", Username: "ghost", Email: "ghost@example.com", EmployeeID: "42", Enabled: true, Groups: targets.NamedGroups("eng")})
}

// findingRow is what must not depend on the HR source.
type findingRow struct {
	Kind        reconcile.Kind
	Target      string
	AccountID   string
	EmployeeID  string
	Disposition reconcile.Disposition
	Severity    reconcile.Severity
	Reason      string
	EffectiveAt string
}

func (r findingRow) String() string {
	return fmt.Sprintf("%s %s/%s emp=%q %s %s eff=%s %q", r.Kind, r.Target, r.AccountID, r.EmployeeID, r.Disposition, r.Severity, r.EffectiveAt, r.Reason)
}

// runEquivalence runs the engine in report mode on a fresh store with one
// source against fake.
func runEquivalence(ctx context.Context, t *testing.T, name string, src sources.Source, fake *targettest.Fake) []findingRow {
	t.Helper()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng := &reconcile.Engine{Store: st, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return equivalenceAsOf }}
	res, err := eng.Run(ctx, reconcile.RunSpec{
		AsOf:    equivalenceAsOf,
		Job:     "equivalence-" + name,
		Mode:    reconcile.Report,
		Sources: []reconcile.SourceSpec{{Name: "hr", Type: name, Source: src}},
		Targets: []reconcile.TargetSpec{{Name: equivalenceTarget, Type: "fake", Target: fake}},
		Policy:  equivalencePolicy(),
	})
	if err != nil {
		t.Fatalf("%s: run: %v", name, err)
	}
	if res.Run.Status != reconcile.StatusCompleted || res.PeopleCount != 7 {
		t.Fatalf("%s: run status %s with %d people, want completed with 7", name, res.Run.Status, res.PeopleCount)
	}
	rows := make([]findingRow, 0, len(res.Findings))
	for _, f := range res.Findings {
		r := findingRow{Kind: f.Kind, Target: f.Target, AccountID: f.AccountID, EmployeeID: f.EmployeeID,
			Disposition: f.Disposition, Severity: f.Severity, Reason: f.Reason}
		if f.EffectiveAt != nil {
			r.EffectiveAt = f.EffectiveAt.UTC().Format(time.RFC3339)
		}
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b findingRow) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.Kind, b.Kind))
	})
	return rows
}

func TestEquivalenceOfHRSources(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	names := []string{"csv", "bamboohr", "workday"}
	srcs := map[string]sources.Source{"csv": csvSource(t), "bamboohr": bambooSource(t), "workday": workdaySource(t)}

	// 1. The same people, field for field.
	people := map[string][]sources.Person{}
	for _, n := range names {
		people[n] = collectPeople(ctx, t, n, srcs[n])
	}
	want := people["csv"]
	var ids []string
	for _, p := range want {
		ids = append(ids, p.EmployeeID)
	}
	if got := strings.Join(ids, ","); got != "00007,00042,C200,E100,E101,E102,E103" {
		t.Fatalf("csv: employee IDs %s, want the fixture's seven (leading zeros kept)", got)
	}
	for _, n := range names[1:] {
		got := people[n]
		if len(got) != len(want) {
			t.Errorf("%s: %d people, csv %d", n, len(got), len(want))
			continue
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("%s vs csv: person %s differs: %s", n, want[i].EmployeeID, personDiff(got[i], want[i]))
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// 2. The same findings from the same target.
	pol := equivalencePolicy()
	fake := targettest.NewFake(equivalenceAccounts(want, pol)...)
	findings := map[string][]findingRow{}
	for _, n := range names {
		findings[n] = runEquivalence(ctx, t, n, srcs[n], fake)
	}
	if log := fake.Log(); len(log) > 0 {
		t.Errorf("report mode changed the target: %v", log)
	}
	for _, r := range findings["csv"] {
		t.Logf("csv finding: %s", r)
	}
	for _, n := range names[1:] {
		if !reflect.DeepEqual(findings[n], findings["csv"]) {
			t.Errorf("%s findings differ from csv's:\n%s", n, rowsDiff(findings[n], findings["csv"]))
		}
	}

	// The findings must be about something: what the fixture's people mean
	// at the as-of date.
	byAccount := map[string][]reconcile.Kind{}
	for _, r := range findings["csv"] {
		byAccount[r.AccountID] = append(byAccount[r.AccountID], r.Kind)
	}
	expect := map[string]reconcile.Kind{
		"acct-e102":   reconcile.TerminatedActive, // terminated 2025-06-30
		"acct-e101":   reconcile.SuspendedActive,  // suspended
		"acct-e100":   reconcile.SuspendedActive,  // on leave, and policy counts leave
		"acct-e103":   reconcile.ExcessAccess,     // termination date still in the future; one group too many
		"acct-orphan": reconcile.Orphaned,         // employee ID 42 is not 00042
	}
	for acct, k := range expect {
		if !slices.Equal(byAccount[acct], []reconcile.Kind{k}) {
			t.Errorf("csv: account %s has findings %v, want [%s]", acct, byAccount[acct], k)
		}
	}
	for _, acct := range []string{"acct-00042", "acct-00007", "acct-c200"} {
		if len(byAccount[acct]) > 0 {
			t.Errorf("csv: account %s of an active person with the role's groups has findings %v, want none", acct, byAccount[acct])
		}
	}
}

// rowsDiff lists the rows only in got (+) and only in want (-).
func rowsDiff(got, want []findingRow) string {
	var b strings.Builder
	for _, r := range got {
		if !slices.Contains(want, r) {
			fmt.Fprintf(&b, "  + %s\n", r)
		}
	}
	for _, r := range want {
		if !slices.Contains(got, r) {
			fmt.Fprintf(&b, "  - %s\n", r)
		}
	}
	if b.Len() == 0 {
		fmt.Fprintf(&b, "  same rows, different order or multiplicity (%d vs %d)", len(got), len(want))
	}
	return b.String()
}
