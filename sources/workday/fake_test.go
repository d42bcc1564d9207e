package workday

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
)

const reportPath = "/ccx/service/customreport2/acme/ISU_accessrecon/accessrecon_workers"

// fakeWorkday is a stateful fake of one Workday RaaS report: the worker rows
// it holds (in report order) are served as ?format=json (Report_Entry) or
// ?format=csv (header of aliases; *_group arrays flattened to their first
// element's columns), behind Basic auth, with optional throttling.
type fakeWorkday struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	user, pass string
	entries    []map[string]any
	throttle   []string // Retry-After of the next throttled responses
	throttleAt int
	raw        string // served verbatim when set
	requests   []string
	gen        func(w *bufio.Writer) // when set, writes the JSON body (large reports)
}

func newFakeWorkday(t testing.TB) *fakeWorkday {
	f := &fakeWorkday{user: "ISU_accessrecon", pass: "s3cret", throttleAt: http.StatusTooManyRequests}
	if tt, ok := t.(*testing.T); ok {
		f.t = tt
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+reportPath, f.report)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeWorkday) url() string { return f.srv.URL + reportPath }

func (f *fakeWorkday) load(path string) {
	f.t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		f.t.Fatal(err)
	}
	var rep struct {
		Report_Entry []map[string]any
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		f.t.Fatal(err)
	}
	f.entries = append(f.entries, rep.Report_Entry...)
}

// set changes a field of the entry with Employee_ID id, as an HR user would.
func (f *fakeWorkday) set(id string, kv ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.entries {
		if e["Employee_ID"] == id {
			for i := 0; i+1 < len(kv); i += 2 {
				e[kv[i]] = kv[i+1]
			}
		}
	}
}

func (f *fakeWorkday) report(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.URL.RequestURI())
	user, pass, ok := r.BasicAuth()
	if !ok || user != f.user || pass != f.pass {
		f.mu.Unlock()
		w.Header().Set("WWW-Authenticate", `Basic realm="Workday"`)
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	if len(f.throttle) > 0 {
		ra := f.throttle[0]
		f.throttle = f.throttle[1:]
		f.mu.Unlock()
		if ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		http.Error(w, "too many requests", f.throttleAt)
		return
	}
	raw, gen := f.raw, f.gen
	entries := make([]map[string]any, len(f.entries))
	for i, e := range f.entries {
		c := make(map[string]any, len(e))
		for k, v := range e {
			c[k] = v
		}
		entries[i] = c
	}
	f.mu.Unlock()
	if raw != "" {
		_, _ = io.WriteString(w, raw)
		return
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	switch r.URL.Query().Get("format") {
	case "json":
		w.Header().Set("Content-Type", "application/json")
		if gen != nil {
			gen(bw)
			return
		}
		enc := json.NewEncoder(bw)
		_, _ = bw.WriteString(`{"Report_Entry":[`)
		for i, e := range entries {
			if i > 0 {
				_ = bw.WriteByte(',')
			}
			_ = enc.Encode(e)
		}
		_, _ = bw.WriteString("]}")
	case "csv":
		w.Header().Set("Content-Type", "text/csv")
		var cols []string
		seen := map[string]bool{}
		flat := make([]map[string]string, len(entries))
		for i, e := range entries {
			flat[i] = map[string]string{}
			for _, k := range sortedKeys(e) {
				v := e[k]
				if g, ok := v.([]any); ok && strings.HasSuffix(k, "_group") {
					if len(g) > 0 {
						if m, ok := g[0].(map[string]any); ok {
							for _, gk := range sortedKeys(m) {
								flat[i][gk] = fmt.Sprint(m[gk])
								if !seen[gk] {
									seen[gk] = true
									cols = append(cols, gk)
								}
							}
						}
					}
					continue
				}
				flat[i][k] = fmt.Sprint(v)
				if !seen[k] {
					seen[k] = true
					cols = append(cols, k)
				}
			}
		}
		cw := csv.NewWriter(bw)
		_ = cw.Write(cols)
		for _, m := range flat {
			row := make([]string, len(cols))
			for j, c := range cols {
				row[j] = m[c]
			}
			_ = cw.Write(row)
		}
		cw.Flush()
	default:
		http.Error(w, "unsupported format", http.StatusBadRequest)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Employee_ID first, then alphabetical: a stable column order.
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if keys[j] == "Employee_ID" || (keys[i] != "Employee_ID" && keys[j] < keys[i]) {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	return keys
}

// writeLargeReport writes a deterministic report of n workers: every tenth
// terminated, every seventh with the email in an Email_group.
func writeLargeReport(w *bufio.Writer, n int) {
	_, _ = w.WriteString(`{"Report_Entry":[`)
	for i := range n {
		if i > 0 {
			_ = w.WriteByte(',')
		}
		status, term := "Active", ""
		if i%10 == 0 {
			status, term = "Terminated", `,"Termination_Date":"2024-01-15-08:00"`
		}
		email := fmt.Sprintf(`"Email_Address":"worker%d@example.com"`, i)
		if i%7 == 0 {
			email = fmt.Sprintf(`"Email_group":[{"Email_Address":"worker%d@example.com","Primary":"1"}]`, i)
		}
		fmt.Fprintf(w, `{"Employee_ID":"%07d","Legal_Name_First_Name":"Worker","Legal_Name_Last_Name":"Number %d",%s,"Worker_Status":"%s"%s,"Hire_Date":"2019-05-01","Supervisory_Organization":"Org %d","Job_Code":"J%d","Manager_Employee_ID":"%07d","Worker_Type":"Employee"}`,
			i, i, email, status, term, i%50, i%200, i/10)
	}
	_, _ = w.WriteString("]}")
}
