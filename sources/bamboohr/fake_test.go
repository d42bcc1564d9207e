package bamboohr

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeBamboo is a stateful fake of the BambooHR API endpoints the source
// uses: POST /reports/custom, GET /employees/changed, GET /employees/{id}.
// It keeps employees (internal id -> field -> value) in report order and the
// time each was last changed.
type fakeBamboo struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	key        string
	order      []string
	emps       map[string]map[string]any
	changed    map[string]time.Time
	now        time.Time
	throttle   []string // Retry-After of the next throttled responses, one per request
	throttleAt int      // status code of throttled responses (429 or 503)
	raw        string   // when set, served verbatim as the custom report
	requests   []string
	lastFields []string
}

const fakeCompany = "acme"

func newFakeBamboo(t *testing.T) *fakeBamboo {
	t.Helper()
	f := &fakeBamboo{t: t, key: "test-key-123", emps: map[string]map[string]any{}, changed: map[string]time.Time{},
		now: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), throttleAt: http.StatusServiceUnavailable}
	mux := http.NewServeMux()
	prefix := "/api/gateway.php/" + fakeCompany + "/v1"
	mux.HandleFunc("POST "+prefix+"/reports/custom", f.report)
	mux.HandleFunc("GET "+prefix+"/employees/changed", f.changedHandler)
	mux.HandleFunc("GET "+prefix+"/employees/{id}", f.employee)
	f.srv = httptest.NewServer(f.gate(mux))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeBamboo) baseURL() string { return f.srv.URL + "/api/gateway.php/" + fakeCompany + "/v1" }

// gate checks auth and applies throttling before any handler.
func (f *fakeBamboo) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.Path)
		user, pass, ok := r.BasicAuth()
		if !ok || user != f.key || pass != "x" {
			f.mu.Unlock()
			w.Header().Set("WWW-Authenticate", `Basic realm="BambooHR"`)
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		if r.Header.Get("Accept") != "application/json" {
			f.mu.Unlock()
			http.Error(w, "want Accept: application/json", http.StatusNotAcceptable)
			return
		}
		if len(f.throttle) > 0 {
			ra := f.throttle[0]
			f.throttle = f.throttle[1:]
			code := f.throttleAt
			f.mu.Unlock()
			if ra != "" {
				w.Header().Set("Retry-After", ra)
			}
			http.Error(w, "rate limited", code)
			return
		}
		f.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// load reads a custom-report payload (testdata/equivalence.json) as the state.
func (f *fakeBamboo) load(path string) {
	f.t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		f.t.Fatal(err)
	}
	var rep struct {
		Employees []map[string]any `json:"employees"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		f.t.Fatal(err)
	}
	for _, e := range rep.Employees {
		f.add(e)
	}
}

func (f *fakeBamboo) add(e map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := e["id"].(string)
	f.order = append(f.order, id)
	f.emps[id] = e
	f.changed[id] = f.now
}

// set changes one field of one employee, as an HR user would, at time at.
func (f *fakeBamboo) set(id string, at time.Time, kv ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 0; i+1 < len(kv); i += 2 {
		f.emps[id][kv[i]] = kv[i+1]
	}
	f.changed[id] = at
}

func (f *fakeBamboo) report(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("format") != "JSON" {
		http.Error(w, "format must be JSON", http.StatusBadRequest)
		return
	}
	var body struct {
		Fields []string `json:"fields"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Fields) == 0 {
		http.Error(w, "bad request body", http.StatusBadRequest)
		return
	}
	onlyCurrent := r.URL.Query().Get("onlyCurrent") != "false"
	f.mu.Lock()
	f.lastFields = body.Fields
	raw := f.raw
	order := append([]string(nil), f.order...)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if raw != "" {
		_, _ = w.Write([]byte(raw))
		return
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	_, _ = bw.WriteString(`{"title":"Report","fields":[`)
	for i, fl := range body.Fields {
		if i > 0 {
			_ = bw.WriteByte(',')
		}
		_ = enc.Encode(map[string]string{"id": fl, "type": "text", "name": fl})
	}
	_, _ = bw.WriteString(`],"employees":[`)
	first := true
	for _, id := range order {
		f.mu.Lock()
		e := f.emps[id]
		out := map[string]any{"id": id}
		for _, fl := range body.Fields {
			out[fl] = e[fl] // absent -> null, as BambooHR does
		}
		f.mu.Unlock()
		if onlyCurrent && e["status"] == "Inactive" {
			continue
		}
		if !first {
			_ = bw.WriteByte(',')
		}
		first = false
		_ = enc.Encode(out)
	}
	_, _ = bw.WriteString("]}")
	_ = bw.Flush()
}

func (f *fakeBamboo) changedHandler(w http.ResponseWriter, r *http.Request) {
	since, err := time.Parse(time.RFC3339, r.URL.Query().Get("since"))
	if err != nil {
		http.Error(w, "since: ISO 8601 required", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	type change struct {
		ID          string `json:"id"`
		Action      string `json:"action"`
		LastChanged string `json:"lastChanged"`
	}
	out := struct {
		Latest    string            `json:"latest"`
		Employees map[string]change `json:"employees"`
	}{Employees: map[string]change{}}
	var latest time.Time
	for id, at := range f.changed {
		if at.After(latest) {
			latest = at
		}
		if !at.Before(since) {
			out.Employees[id] = change{ID: id, Action: "Updated", LastChanged: at.Format(time.RFC3339)}
		}
	}
	out.Latest = latest.Format(time.RFC3339)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (f *fakeBamboo) employee(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.emps[id]
	if !ok {
		http.Error(w, "", http.StatusNotFound)
		return
	}
	out := map[string]any{"id": id}
	for _, fl := range strings.Split(r.URL.Query().Get("fields"), ",") {
		if fl != "" {
			out[fl] = e[fl]
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}
