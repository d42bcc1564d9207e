package workday

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/sources"
	"go.yaml.in/yaml/v3"
)

const (
	userEnv = "ACCESSRECON_TEST_WORKDAY_USER"
	passEnv = "ACCESSRECON_TEST_WORKDAY_PASSWORD"
)

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// equivalencePeople is what testdata/equivalence.json must produce, and what
// the CSV and BambooHR sources produce for the same people.
var equivalencePeople = []sources.Person{
	{EmployeeID: "00042", Email: "alice.archer@example.com", FirstName: "Alice", LastName: "Archer", Status: sources.Active, StatusEffective: day("2019-03-01"), HireDate: day("2019-03-01"), Department: "Engineering", JobCode: "ENG2", ManagerID: "00007", WorkerType: "Employee"},
	{EmployeeID: "00007", Email: "frank.fisher@example.com", FirstName: "Frank", LastName: "Fisher", Status: sources.Active, StatusEffective: day("2015-01-05"), HireDate: day("2015-01-05"), Department: "Engineering", JobCode: "ENG-MGR", WorkerType: "Employee"},
	{EmployeeID: "E100", Email: "bob.baker@example.com", FirstName: "Bob", LastName: "Baker", Status: sources.Leave, StatusEffective: day("2026-10-01"), HireDate: day("2021-06-14"), Department: "Sales", JobCode: "SLS1", ManagerID: "00007", WorkerType: "Employee"},
	{EmployeeID: "E101", Email: "carol.chen@example.com", FirstName: "Carol", LastName: "Chen", Status: sources.Suspended, StatusEffective: day("2026-11-01"), HireDate: day("2020-02-03"), Department: "Finance", JobCode: "FIN3", ManagerID: "00042", WorkerType: "Employee"},
	{EmployeeID: "E102", Email: "dan.diaz@example.com", FirstName: "Dan", LastName: "Diaz", Status: sources.Terminated, StatusEffective: day("2025-06-30"), TerminationDate: day("2025-06-30"), HireDate: day("2018-09-10"), Department: "Sales", JobCode: "SLS2", ManagerID: "00007", WorkerType: "Employee"},
	{EmployeeID: "E103", Email: "erin.evans@example.com", FirstName: "Erin", LastName: "Evans", Status: sources.Active, StatusEffective: day("2022-04-18"), TerminationDate: day("2027-01-31"), HireDate: day("2022-04-18"), Department: "Engineering", JobCode: "ENG1", ManagerID: "00042", WorkerType: "Employee"},
	{EmployeeID: "C200", Email: "gina.gold@example.com", FirstName: "Gina", LastName: "Gold", Status: sources.Active, StatusEffective: day("2026-01-12"), HireDate: day("2026-01-12"), Department: "Engineering", JobCode: "CTR", ManagerID: "00042", WorkerType: "Contractor"},
}

func equivalenceConfig(t *testing.T, f *fakeWorkday) Config {
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
	cfg.URL = f.url()
	return cfg
}

func newSource(t testing.TB, cfg Config) *Source {
	t.Helper()
	if cfg.UserEnv == "" {
		cfg.UserEnv, cfg.PasswordEnv = userEnv, passEnv
	}
	if cfg.User == "" { // what the wiring would read from user_env, password_env
		cfg.User, cfg.Password = "ISU_accessrecon", "s3cret"
	}
	s, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func collect(seq func(func(sources.Person, error) bool)) ([]sources.Person, error) {
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
	for _, format := range []string{"json", "csv"} {
		t.Run(format, func(t *testing.T) {
			f := newFakeWorkday(t)
			f.load("testdata/equivalence.json")
			cfg := equivalenceConfig(t, f)
			cfg.Format = format
			s := newSource(t, cfg)
			got, err := collect(s.People(t.Context()))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, equivalencePeople) {
				t.Errorf("people differ:\n got %+v\nwant %+v", got, equivalencePeople)
			}
			if len(f.requests) != 1 || !strings.HasSuffix(f.requests[0], "?format="+format) {
				t.Errorf("requests %v", f.requests)
			}
		})
	}
}

func TestFormatOverriddenAndPromptsKept(t *testing.T) {
	f := newFakeWorkday(t)
	f.load("testdata/equivalence.json")
	s := newSource(t, Config{URL: f.url() + "?format=simplexml&Effective_as_of_Date=2026-11-20", Format: "json"})
	got, err := collect(s.People(t.Context()))
	if err != nil || len(got) != 7 {
		t.Fatalf("got %d, %v", len(got), err)
	}
	if want := reportPath + "?Effective_as_of_Date=2026-11-20&format=json"; f.requests[0] != want {
		t.Errorf("request %s, want %s", f.requests[0], want)
	}
}

func TestGroupsStatusAndDates(t *testing.T) {
	f := newFakeWorkday(t)
	f.entries = []map[string]any{
		{"Employee_ID": "1", "Active_Status": "1", "Termination_Date": "2026-11-24-08:00",
			"Worker_group": []any{map[string]any{"Work_Email": "one@example.com", "Job_Code": "J1"}, map[string]any{"Work_Email": "other@example.com"}}},
		{"Employee_ID": "2", "Active_Status": false, "Hire_Date": "2020-01-01T09:30:00+02:00"},
	}
	s := newSource(t, Config{Fields: Fields{Email: "Worker_group.Work_Email"}, URL: f.url()})
	got, err := collect(s.People(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	want := []sources.Person{
		{EmployeeID: "1", Status: sources.Active, Email: "one@example.com", JobCode: "J1", TerminationDate: time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)},
		{EmployeeID: "2", Status: sources.Terminated, HireDate: time.Date(2020, 1, 1, 7, 30, 0, 0, time.UTC)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestLargeReport(t *testing.T) {
	f := newFakeWorkday(t)
	const n = 20000
	f.gen = func(w *bufio.Writer) { writeLargeReport(w, n) }
	s := newSource(t, Config{URL: f.url()})
	count, terminated := 0, 0
	for p, err := range s.People(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%07d", count); p.EmployeeID != want || p.Email != fmt.Sprintf("worker%d@example.com", count) {
			t.Fatalf("person %d: %+v", count, p)
		}
		if p.Status == sources.Terminated {
			terminated++
			if !p.TerminationDate.Equal(time.Date(2024, 1, 15, 8, 0, 0, 0, time.UTC)) {
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
			f := newFakeWorkday(t)
			f.load("testdata/equivalence.json")
			f.throttleAt = code
			f.throttle = []string{"1", time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)}
			s := newSource(t, equivalenceConfig(t, f))
			start := time.Now()
			got, err := collect(s.People(t.Context()))
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
	f := newFakeWorkday(t)
	f.throttle = []string{"0", "0", "0", "0"}
	s := newSource(t, Config{URL: f.url(), MaxTries: 2})
	_, err := collect(s.People(t.Context()))
	if err == nil || !strings.Contains(err.Error(), "still throttled after 2 tries") || len(f.requests) != 2 {
		t.Fatalf("err = %v, requests %d", err, len(f.requests))
	}
	f.throttle = []string{"30"}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := collect(s.People(ctx)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

// A failing server (502, no Retry-After) is retried with the shared
// policy's backoff, through the injectable sleep; a Retry-After beyond
// max_retry_wait fails at once, without waiting.
func TestServerErrorRetried(t *testing.T) {
	f := newFakeWorkday(t)
	f.load("testdata/equivalence.json")
	f.throttleAt = http.StatusBadGateway
	f.throttle = []string{"", ""}
	s := newSource(t, equivalenceConfig(t, f))
	var waits []time.Duration
	s.http.Sleep = func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return ctx.Err() }
	got, err := collect(s.People(t.Context()))
	if err != nil || len(got) != len(equivalencePeople) {
		t.Fatalf("people %d, err %v", len(got), err)
	}
	if len(f.requests) != 3 || !reflect.DeepEqual(waits, []time.Duration{time.Second, 2 * time.Second}) {
		t.Fatalf("requests %v, waits %v", f.requests, waits)
	}
	f.requests, waits = nil, nil
	f.throttleAt = http.StatusTooManyRequests
	f.throttle = []string{"3600"}
	_, err = collect(s.People(t.Context()))
	if err == nil || !strings.Contains(err.Error(), "exceeds max_retry_wait") || len(f.requests) != 1 || len(waits) != 0 {
		t.Fatalf("err %v, requests %v, waits %v", err, f.requests, waits)
	}
}

func TestAuthFailure(t *testing.T) {
	f := newFakeWorkday(t)
	f.pass = "rotated"
	var logs bytes.Buffer
	s, err := New(Config{URL: f.url(), UserEnv: userEnv, PasswordEnv: passEnv, User: "ISU_accessrecon", Password: "s3cret"}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = collect(s.People(t.Context()))
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), passEnv) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "s3cret") || strings.Contains(logs.String(), "s3cret") {
		t.Error("the password leaked")
	}
}

func TestMalformedJSON(t *testing.T) {
	ok := `{"Employee_ID":"A1","Worker_Status":"Active"}`
	cases := []struct {
		name string
		body string
		want []string
		good int
	}{
		{"truncated", `{"Report_Entry":[` + ok + `,{"Employee_ID":"A2","Wor`, []string{"read report", "unexpected EOF"}, 1},
		{"truncated after array", `{"Report_Entry":[` + ok + `]`, []string{"unexpected EOF"}, 1},
		{"not an object", `"hello"`, []string{"want a JSON object"}, 0},
		{"no Report_Entry", `{"Report_Something":[]}`, []string{"no Report_Entry"}, 0},
		{"empty report", `{"Report_Entry":[]}`, []string{"no entries"}, 0},
		{"Report_Entry not array", `{"Report_Entry":{}}`, []string{"Report_Entry: want an array"}, 0},
		{"entry not object", `{"Report_Entry":[` + ok + `,42]}`, []string{"record 2", "not a JSON object"}, 1},
		{"missing employee ID", `{"Report_Entry":[` + ok + `,{"Worker_Status":"Active"}]}`, []string{"record 2", "Employee_ID (employee_id)", "missing employee ID"}, 1},
		{"blank employee ID", `{"Report_Entry":[{"Employee_ID":"  ","Worker_Status":"Active"}]}`, []string{"record 1", "missing employee ID"}, 0},
		{"wrong type ID", `{"Report_Entry":[{"Employee_ID":["A3"],"Worker_Status":"Active"}]}`, []string{"record 1", "Employee_ID", "wrong type"}, 0},
		{"wrong type email", `{"Report_Entry":[{"Employee_ID":"A4","Worker_Status":"Active","Email_Address":{"x":1}}]}`, []string{`"A4"`, "record 1", "Email_Address (email)", "wrong type"}, 0},
		{"duplicate", `{"Report_Entry":[` + ok + `,{"Employee_ID":"a1 ","Worker_Status":"Active"}]}`, []string{`"a1"`, "record 2", "duplicate employee ID", "record 1"}, 1},
		{"unknown status", `{"Report_Entry":[{"Employee_ID":"A5","Worker_Status":"Furloughed"}]}`, []string{`"A5"`, "Worker_Status (status)", `unknown status "Furloughed"`}, 0},
		{"missing status", `{"Report_Entry":[{"Employee_ID":"A5"}]}`, []string{`"A5"`, "Worker_Status (status)", "empty status"}, 0},
		{"bad date", `{"Report_Entry":[{"Employee_ID":"A6","Worker_Status":"Terminated","Termination_Date":"11/24/2026"}]}`, []string{`"A6"`, "Termination_Date (termination_date)", "unparseable date"}, 0},
		{"bad date in group", `{"Report_Entry":[{"Employee_ID":"A7","Worker_Status":"Active","Hire_group":[{"Hire_Date":"soon"}]}]}`, []string{`"A7"`, "Hire_Date (hire_date)", "unparseable date"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeWorkday(t)
			f.raw = c.body
			s := newSource(t, Config{URL: f.url()})
			got, err := collect(s.People(t.Context()))
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

func TestMalformedCSV(t *testing.T) {
	cases := []struct {
		name, body string
		want       []string
		good       int
	}{
		{"empty", "", []string{"no header row"}, 0},
		{"header only", "Employee_ID,Worker_Status\n", []string{"no entries"}, 0},
		{"ragged", "Employee_ID,Worker_Status\nA1,Active\nA2\n", []string{"record 2", "wrong number of fields"}, 1},
		{"truncated quote", "Employee_ID,Worker_Status\nA1,Active\nA2,\"Act", []string{"record 2"}, 1},
		{"missing ID", "\ufeffEmployee_ID,Worker_Status\nA1,Active\n,Active\n", []string{"record 2, line 3", "Employee_ID", "missing employee ID"}, 1},
		{"duplicate", "Employee_ID,Worker_Status\nA1,Active\na1,Active\n", []string{`"a1"`, "record 2, line 3", "duplicate"}, 1},
		{"bad date", "Employee_ID,Worker_Status,Hire_Date\nA1,Active,yesterday\n", []string{`"A1"`, "Hire_Date (hire_date)", "unparseable"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeWorkday(t)
			f.raw = c.body
			s := newSource(t, Config{URL: f.url(), Format: "csv"})
			got, err := collect(s.People(t.Context()))
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

func TestBreakCancelAndRefresh(t *testing.T) {
	f := newFakeWorkday(t)
	f.gen = func(w *bufio.Writer) { writeLargeReport(w, 3000) }
	s := newSource(t, Config{URL: f.url()})
	n := 0
	for _, err := range s.People(t.Context()) {
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
	if !errors.Is(last, context.Canceled) || n >= 3000 {
		t.Errorf("cancelled listing: %d people, last error %v", n, last)
	}

	f2 := newFakeWorkday(t)
	f2.load("testdata/equivalence.json")
	s2 := newSource(t, equivalenceConfig(t, f2))
	f2.set("E103", "Worker_Status", "Terminated", "Termination_Date", "2026-11-20")
	got, err := collect(s2.PeopleByID(t.Context(), []string{" e103", "00042", "nobody"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].EmployeeID != "00042" || got[1].EmployeeID != "E103" ||
		got[1].Status != sources.Terminated || !got[1].TerminationDate.Equal(day("2026-11-20")) {
		t.Errorf("PeopleByID = %+v", got)
	}
}

func TestConfigErrors(t *testing.T) {
	base := Config{URL: "https://wd2.example.com/ccx/service/customreport2/t/o/r", UserEnv: userEnv, PasswordEnv: passEnv, User: "u", Password: "p123"}
	mod := func(f func(*Config)) Config { c := base; f(&c); return c }
	cases := []struct {
		cfg  Config
		want string
	}{
		{mod(func(c *Config) { c.URL = "" }), "workday: url: required"},
		{mod(func(c *Config) { c.URL = "wd2/report" }), "workday: url:"},
		{mod(func(c *Config) { c.User = "" }), "workday: user_env"},
		{mod(func(c *Config) { c.Password = "" }), "workday: password_env or password_file: required"},
		{mod(func(c *Config) { c.Format = "xml" }), "workday: format"},
		{mod(func(c *Config) { c.Fields.EmployeeID = "-" }), "fields.employee_id"},
		{mod(func(c *Config) { c.Fields.Email = "A_group.B_group.C" }), "fields.email"},
		{mod(func(c *Config) { c.StatusMap = sources.StatusMap{"x": "gone"} }), `status_map["x"]`},
	}
	for _, c := range cases {
		if _, err := New(c.cfg, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want %q", c.cfg, err, c.want)
		}
	}
}

// BenchmarkWorkdayJSON100k reads a deterministic 100,000-worker JSON report
// served by httptest through the source. peak-heap-MiB is the highest live
// heap (objects) seen while reading, above the baseline that holds the
// pre-generated response body.
func BenchmarkWorkdayJSON100k(b *testing.B) {
	const n = 100000
	var body bytes.Buffer
	bw := bufio.NewWriter(&body)
	writeLargeReport(bw, n)
	_ = bw.Flush()
	raw := body.String()
	f := newFakeWorkday(b)
	f.raw = raw
	s := newSource(b, Config{URL: f.url()})
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()

	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	runtime.GC()
	baseline := read()
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if v := read(); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	}()
	b.ResetTimer()
	for b.Loop() {
		count := 0
		for _, err := range s.People(b.Context()) {
			if err != nil {
				b.Fatal(err)
			}
			count++
		}
		if count != n {
			b.Fatalf("%d people", count)
		}
	}
	b.StopTimer()
	close(done)
	p := peak.Load()
	if p < baseline {
		p = baseline
	}
	b.ReportMetric(float64(p-baseline)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(len(raw))/(1<<20), "body-MiB")
}

// Dates without a zone are local to the configured location; Workday's own
// offsets win (issue 18).
func TestLocation(t *testing.T) {
	riyadh, err := time.LoadLocation("Asia/Riyadh")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	f := newFakeWorkday(t)
	f.raw = "Employee_ID,Worker_Status,Termination_Date,Hire_Date\nA1,Terminated,2026-11-25,2020-01-01-08:00\n"
	s := newSource(t, Config{URL: f.url(), Format: "csv", Location: riyadh})
	got, err := collect(s.People(t.Context()))
	if err != nil || len(got) != 1 {
		t.Fatalf("got %v, %v", got, err)
	}
	if want := time.Date(2026, 11, 24, 21, 0, 0, 0, time.UTC); !got[0].TerminationDate.Equal(want) {
		t.Errorf("Termination_Date 2026-11-25 in Asia/Riyadh read as %v, want %v", got[0].TerminationDate, want)
	}
	if want := time.Date(2020, 1, 1, 8, 0, 0, 0, time.UTC); !got[0].HireDate.Equal(want) {
		t.Errorf("Hire_Date 2020-01-01-08:00 read as %v, want %v", got[0].HireDate, want)
	}
}
