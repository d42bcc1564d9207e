package bamboohr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/sources"
	"go.yaml.in/yaml/v3"
)

const keyEnv = "ACCESSRECON_TEST_BAMBOOHR_KEY"

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// equivalencePeople is what testdata/equivalence.json must produce, and what
// the CSV source must produce for the same people.
var equivalencePeople = []sources.Person{
	{EmployeeID: "00042", Email: "alice.archer@example.com", FirstName: "Alice", LastName: "Archer", Status: sources.Active, StatusEffective: day("2019-03-01"), HireDate: day("2019-03-01"), Department: "Engineering", JobCode: "ENG2", ManagerID: "00007", WorkerType: "Employee"},
	{EmployeeID: "00007", Email: "frank.fisher@example.com", FirstName: "Frank", LastName: "Fisher", Status: sources.Active, StatusEffective: day("2015-01-05"), HireDate: day("2015-01-05"), Department: "Engineering", JobCode: "ENG-MGR", WorkerType: "Employee"},
	{EmployeeID: "E100", Email: "bob.baker@example.com", FirstName: "Bob", LastName: "Baker", Status: sources.Leave, StatusEffective: day("2026-10-01"), HireDate: day("2021-06-14"), Department: "Sales", JobCode: "SLS1", ManagerID: "00007", WorkerType: "Employee"},
	{EmployeeID: "E101", Email: "carol.chen@example.com", FirstName: "Carol", LastName: "Chen", Status: sources.Suspended, StatusEffective: day("2026-11-01"), HireDate: day("2020-02-03"), Department: "Finance", JobCode: "FIN3", ManagerID: "00042", WorkerType: "Employee"},
	{EmployeeID: "E102", Email: "dan.diaz@example.com", FirstName: "Dan", LastName: "Diaz", Status: sources.Terminated, StatusEffective: day("2025-06-30"), TerminationDate: day("2025-06-30"), HireDate: day("2018-09-10"), Department: "Sales", JobCode: "SLS2", ManagerID: "00007", WorkerType: "Employee"},
	{EmployeeID: "E103", Email: "erin.evans@example.com", FirstName: "Erin", LastName: "Evans", Status: sources.Active, StatusEffective: day("2022-04-18"), TerminationDate: day("2027-01-31"), HireDate: day("2022-04-18"), Department: "Engineering", JobCode: "ENG1", ManagerID: "00042", WorkerType: "Employee"},
	{EmployeeID: "C200", Email: "gina.gold@example.com", FirstName: "Gina", LastName: "Gold", Status: sources.Active, StatusEffective: day("2026-01-12"), HireDate: day("2026-01-12"), Department: "Engineering", JobCode: "CTR", ManagerID: "00042", WorkerType: "Contractor"},
}

// equivalenceConfig decodes testdata/equivalence.yaml, pointed at the fake.
func equivalenceConfig(t *testing.T, f *fakeBamboo) Config {
	t.Helper()
	b, err := os.ReadFile("testdata/equivalence.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	cfg.BaseURL = f.baseURL()
	return cfg
}

func newSource(t *testing.T, cfg Config) *Source {
	t.Helper()
	if cfg.APIKeyEnv == "" {
		cfg.APIKeyEnv = keyEnv
	}
	if cfg.APIKey == "" { // what the wiring would read from api_key_env
		cfg.APIKey = "test-key-123"
	}
	s, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func collect(ctx context.Context, seq func(func(sources.Person, error) bool)) ([]sources.Person, error) {
	var out []sources.Person
	var errs []error
	for p, err := range seq {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(errs) > 0 {
			return out, fmt.Errorf("person yielded after an error: %v", p)
		}
		out = append(out, p)
	}
	if len(errs) > 1 {
		return out, fmt.Errorf("%d errors yielded: %v", len(errs), errs)
	}
	if len(errs) == 1 {
		return out, errs[0]
	}
	return out, nil
}

func TestEquivalence(t *testing.T) {
	f := newFakeBamboo(t)
	f.load("testdata/equivalence.json")
	s := newSource(t, equivalenceConfig(t, f))
	got, err := collect(t.Context(), s.People(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, equivalencePeople) {
		t.Errorf("people differ:\n got %+v\nwant %+v", got, equivalencePeople)
	}
	// The report asked for exactly the mapped fields.
	want := []string{"id", "employeeNumber", "workEmail", "firstName", "lastName", "employmentHistoryStatus", "customStatusEffective", "terminationDate", "hireDate", "department", "jobTitle", "supervisorEId", "customWorkerType"}
	if !reflect.DeepEqual(f.lastFields, want) {
		t.Errorf("requested fields %v, want %v", f.lastFields, want)
	}
}

func TestDefaultsAndInactive(t *testing.T) {
	// Default mapping: status Active/Inactive; terminated people are included
	// (onlyCurrent=false; the fake leaves Inactive people out otherwise).
	f := newFakeBamboo(t)
	f.load("testdata/equivalence.json")
	s := newSource(t, Config{BaseURL: f.baseURL(), Fields: Fields{WorkerType: "customWorkerType"}})
	got, err := collect(t.Context(), s.People(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 7 {
		t.Fatalf("got %d people, want 7", len(got))
	}
	if got[4].EmployeeID != "E102" || got[4].Status != sources.Terminated || !got[4].StatusEffective.IsZero() {
		t.Errorf("E102 = %+v, want terminated without status_effective", got[4])
	}
	if got[2].Status != sources.Active { // Bob: status Active (leave only visible via employmentHistoryStatus)
		t.Errorf("E100 status %s", got[2].Status)
	}
}

func TestLargeReport(t *testing.T) {
	f := newFakeBamboo(t)
	const n = 20000
	for i := range n {
		st, term := "Active", ""
		if i%10 == 0 {
			st, term = "Inactive", "2024-01-15"
		}
		f.add(map[string]any{"id": fmt.Sprint(1000 + i), "employeeNumber": fmt.Sprintf("%06d", i), "workEmail": fmt.Sprintf("p%d@example.com", i),
			"firstName": "P", "lastName": fmt.Sprint(i), "status": st, "terminationDate": term, "hireDate": "2020-01-01"})
	}
	s := newSource(t, Config{BaseURL: f.baseURL()})
	count, terminated := 0, 0
	for p, err := range s.People(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%06d", count); p.EmployeeID != want {
			t.Fatalf("person %d: id %q want %q", count, p.EmployeeID, want)
		}
		if p.Status == sources.Terminated {
			terminated++
			if !p.TerminationDate.Equal(day("2024-01-15")) {
				t.Fatalf("%s: termination %v", p.EmployeeID, p.TerminationDate)
			}
		}
		count++
	}
	if count != n || terminated != n/10 {
		t.Errorf("got %d people (%d terminated), want %d (%d)", count, terminated, n, n/10)
	}
}

func TestThrottleRetryAfter(t *testing.T) {
	for _, code := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			f := newFakeBamboo(t)
			f.load("testdata/equivalence.json")
			f.throttleAt = code
			// One delay in seconds, then one as an HTTP date (2-3 s ahead, so >= 1 s after the first retry).
			f.throttle = []string{"1", time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)}
			s := newSource(t, equivalenceConfig(t, f))
			start := time.Now()
			got, err := collect(t.Context(), s.People(t.Context()))
			if err != nil {
				t.Fatal(err)
			}
			if el := time.Since(start); el < 1900*time.Millisecond {
				t.Errorf("retried after %s, want the Retry-After delays honoured (>= ~2s)", el)
			}
			if len(f.requests) != 3 || len(got) != len(equivalencePeople) {
				t.Errorf("requests %v, people %d", f.requests, len(got))
			}
		})
	}
}

func TestThrottleBounded(t *testing.T) {
	f := newFakeBamboo(t)
	f.load("testdata/equivalence.json")
	f.throttle = []string{"0", "0", "0", "0", "0", "0"}
	cfg := equivalenceConfig(t, f)
	cfg.MaxTries = 3
	s := newSource(t, cfg)
	_, err := collect(t.Context(), s.People(t.Context()))
	if err == nil || !strings.Contains(err.Error(), "still throttled after 3 tries") {
		t.Fatalf("err = %v", err)
	}
	if len(f.requests) != 3 {
		t.Errorf("%d requests, want 3", len(f.requests))
	}
	// A Retry-After beyond max_retry_wait fails at once.
	f2 := newFakeBamboo(t)
	f2.throttle = []string{"3600"}
	cfg.BaseURL = f2.baseURL()
	s = newSource(t, cfg)
	_, err = collect(t.Context(), s.People(t.Context()))
	if err == nil || !strings.Contains(err.Error(), "exceeds max_retry_wait") {
		t.Fatalf("err = %v", err)
	}
	// Cancelling while waiting ends promptly with ctx's error.
	f3 := newFakeBamboo(t)
	f3.throttle = []string{"30"}
	cfg.BaseURL = f3.baseURL()
	s = newSource(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err = collect(ctx, s.People(ctx))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

// A failing server (502, no Retry-After) is retried with the shared
// policy's backoff, through the injectable sleep: the custom report, a POST
// that only reads, included.
func TestServerErrorRetried(t *testing.T) {
	f := newFakeBamboo(t)
	f.load("testdata/equivalence.json")
	f.throttleAt = http.StatusBadGateway
	f.throttle = []string{"", ""}
	s := newSource(t, equivalenceConfig(t, f))
	var waits []time.Duration
	s.http.Sleep = func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return ctx.Err() }
	got, err := collect(t.Context(), s.People(t.Context()))
	if err != nil || len(got) != len(equivalencePeople) {
		t.Fatalf("people %d, err %v", len(got), err)
	}
	if len(f.requests) != 3 || !reflect.DeepEqual(waits, []time.Duration{time.Second, 2 * time.Second}) {
		t.Fatalf("requests %v, waits %v", f.requests, waits)
	}
}

func TestAuthFailure(t *testing.T) {
	f := newFakeBamboo(t)
	f.load("testdata/equivalence.json")
	f.key = "another-key"
	var logs bytes.Buffer
	s, err := New(Config{BaseURL: f.baseURL(), APIKeyEnv: keyEnv, APIKey: "test-key-123"}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = collect(t.Context(), s.People(t.Context()))
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), keyEnv) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "test-key-123") || strings.Contains(logs.String(), "test-key-123") {
		t.Error("the API key leaked into an error or log")
	}
	if _, err := s.Changed(t.Context(), time.Now()); !errors.Is(err, ErrAuth) {
		t.Errorf("Changed: %v", err)
	}
}

func TestMalformed(t *testing.T) {
	row := func(id, num, extra string) string {
		return `{"id":"` + id + `","employeeNumber":` + num + `,"status":"Active","hireDate":"2020-01-01"` + extra + `}`
	}
	ok := row("1", `"A1"`, "")
	cases := []struct {
		name string
		body string
		want []string
		good int // people yielded before the error
	}{
		{"truncated", `{"fields":[],"employees":[` + ok + `,{"id":"2","employeeNumber":"A2","sta`, []string{"read custom report", "unexpected EOF"}, 1},
		{"truncated between records", `{"fields":[],"employees":[` + ok + `,`, []string{"unexpected EOF"}, 1},
		{"not an object", `[1,2]`, []string{"want a JSON object"}, 0},
		{"no employees", `{"fields":[]}`, []string{"no employees array"}, 0},
		{"empty report", `{"fields":[],"employees":[]}`, []string{"no employees (an HR system with nobody"}, 0},
		{"record not an object", `{"employees":[` + ok + `,"x"]}`, []string{"employee record 2", "not a JSON object"}, 1},
		{"missing employee ID", `{"employees":[` + ok + `,` + row("77", `""`, "") + `]}`, []string{"record 2", "id 77", "employeeNumber", "missing employee ID"}, 1},
		{"null employee ID", `{"employees":[` + row("78", `null`, "") + `]}`, []string{"record 1", "id 78", "missing employee ID"}, 0},
		{"wrong type employee ID", `{"employees":[` + row("79", `{"a":1}`, "") + `]}`, []string{"record 1", "id 79", "employeeNumber", "wrong type"}, 0},
		{"wrong type email", `{"employees":[` + row("80", `"A9"`, `,"workEmail":["a@x"]`) + `]}`, []string{`"A9"`, "workEmail (email)", "wrong type"}, 0},
		{"wrong type bool", `{"employees":[` + row("80", `"A9"`, `,"department":true`) + `]}`, []string{`"A9"`, "department", "wrong type"}, 0},
		{"duplicate", `{"employees":[` + ok + `,` + row("2", `" a1 "`, "") + `]}`, []string{`"a1"`, "record 2", "duplicate employee ID", "record 1"}, 1},
		{"unknown status", `{"employees":[{"id":"5","employeeNumber":"A5","status":"Furloughed"}]}`, []string{`"A5"`, "status (status)", `unknown status "Furloughed"`}, 0},
		{"empty status", `{"employees":[{"id":"5","employeeNumber":"A5","status":""}]}`, []string{`"A5"`, "status (status)", "empty status"}, 0},
		{"bad date", `{"employees":[` + row("6", `"A6"`, `,"terminationDate":"31/12/2025"`) + `]}`, []string{`"A6"`, "terminationDate (termination_date)", "unparseable date"}, 0},
		{"invalid JSON number", `{"employees":[` + ok + `,` + row("7", `0042`, "") + `]}`, []string{"read custom report", "employee record 2"}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeBamboo(t)
			f.raw = c.body
			s := newSource(t, Config{BaseURL: f.baseURL()})
			got, err := collect(t.Context(), s.People(t.Context()))
			if err == nil {
				t.Fatalf("no error; got %v", got)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if len(got) != c.good {
				t.Errorf("%d people before the error, want %d", len(got), c.good)
			}
		})
	}
}

func TestNumericEmployeeID(t *testing.T) {
	f := newFakeBamboo(t)
	f.raw = `{"employees":[{"id":7,"employeeNumber":1234,"status":"Active"}]}`
	s := newSource(t, Config{BaseURL: f.baseURL()})
	got, err := collect(t.Context(), s.People(t.Context()))
	if err != nil || len(got) != 1 || got[0].EmployeeID != "1234" {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestBreakAndCancel(t *testing.T) {
	f := newFakeBamboo(t)
	for i := range 2000 {
		f.add(map[string]any{"id": fmt.Sprint(i), "employeeNumber": fmt.Sprint("E", i), "status": "Active"})
	}
	s := newSource(t, Config{BaseURL: f.baseURL()})
	n := 0
	for _, err := range s.People(t.Context()) { // the runtime panics if yield is called after break
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 3 {
			break
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	n = 0
	var last error
	for _, err := range s.People(ctx) {
		if err != nil {
			last = err
			continue
		}
		if n++; n == 10 {
			cancel()
		}
	}
	if !errors.Is(last, context.Canceled) {
		t.Errorf("cancelled listing ended with %v, want context.Canceled", last)
	}
	if n >= 2000 {
		t.Errorf("cancelled listing looked complete (%d people)", n)
	}
}

func TestChangedAndRefresh(t *testing.T) {
	f := newFakeBamboo(t)
	f.load("testdata/equivalence.json")
	s := newSource(t, equivalenceConfig(t, f))
	since := f.now.Add(time.Hour)
	if ids, err := s.Changed(t.Context(), since); err != nil || len(ids) != 0 {
		t.Fatalf("Changed before any change = %v, %v", ids, err)
	}
	// HR terminates Erin (internal id 106) and moves Alice (101).
	f.set("106", since.Add(time.Minute), "status", "Inactive", "employmentHistoryStatus", "Terminated", "terminationDate", "2026-11-20", "customStatusEffective", "2026-11-20")
	f.set("101", since.Add(2*time.Minute), "department", "Research")
	ids, err := s.Changed(t.Context(), since)
	if err != nil || !reflect.DeepEqual(ids, []string{"101", "106"}) {
		t.Fatalf("Changed = %v, %v", ids, err)
	}
	emp, err := s.EmployeeIDFor(t.Context(), "106")
	if err != nil || emp != "E103" {
		t.Fatalf("EmployeeIDFor(106) = %q, %v", emp, err)
	}
	if _, err := s.EmployeeIDFor(t.Context(), "999"); !errors.Is(err, ErrNotFound) {
		t.Errorf("EmployeeIDFor(999) = %v, want ErrNotFound", err)
	}
	// By internal id and by employee ID (case-insensitive, trimmed).
	got, err := collect(t.Context(), s.PeopleByID(t.Context(), []string{"106", " 00042 ", "nobody"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].EmployeeID != "00042" || got[0].Department != "Research" ||
		got[1].EmployeeID != "E103" || got[1].Status != sources.Terminated || !got[1].TerminationDate.Equal(day("2026-11-20")) {
		t.Errorf("PeopleByID = %+v", got)
	}
	got, err = collect(t.Context(), s.PeopleByID(t.Context(), []string{"c200"}))
	if err != nil || len(got) != 1 || got[0].EmployeeID != "C200" {
		t.Errorf("PeopleByID(c200) = %v, %v", got, err)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{APIKeyEnv: keyEnv, APIKey: "k123"}, "bamboohr: company: required"},
		{Config{Company: "acme"}, "bamboohr: api_key_env"},
		{Config{Company: "acme", APIKeyEnv: keyEnv, APIKey: "k123", BaseURL: "ftp://x"}, "bamboohr: base_url"},
		{Config{Company: "acme", APIKeyEnv: keyEnv, APIKey: "k123", StatusMap: sources.StatusMap{"Gone": "fired"}}, `status_map["Gone"]`},
		{Config{Company: "acme", APIKeyEnv: keyEnv, APIKey: "k123", Fields: Fields{Status: "-"}}, "fields.status"},
	}
	for _, c := range cases {
		_, err := New(c.cfg, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want %q", c.cfg, err, c.want)
		}
	}
	s, err := New(Config{Company: "acme", APIKeyEnv: keyEnv, APIKey: "k123"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.base != "https://api.bamboohr.com/api/gateway.php/acme/v1" {
		t.Errorf("base = %s", s.base)
	}
}

// BambooHR dates carry no zone: they are local to the configured location
// (issue 18).
func TestLocation(t *testing.T) {
	riyadh, err := time.LoadLocation("Asia/Riyadh")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	f := newFakeBamboo(t)
	f.add(map[string]any{"id": "900", "employeeNumber": "E900", "status": "Inactive", "terminationDate": "2026-11-25", "hireDate": "2020-01-01"})
	s := newSource(t, Config{BaseURL: f.baseURL(), Location: riyadh})
	got, err := collect(t.Context(), s.People(t.Context()))
	if err != nil || len(got) != 1 {
		t.Fatalf("got %v, %v", got, err)
	}
	if want := time.Date(2026, 11, 24, 21, 0, 0, 0, time.UTC); !got[0].TerminationDate.Equal(want) {
		t.Errorf("terminationDate 2026-11-25 in Asia/Riyadh read as %v, want %v", got[0].TerminationDate, want)
	}
}
