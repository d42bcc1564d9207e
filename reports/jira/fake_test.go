package jira

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeJira is a stateful fake of the Jira REST v2 endpoints go-jira uses
// here. Every request is captured with its JSON body decoded.
type fakeJira struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	issues   []*fakeIssue
	links    []any
	reqs     []captured
	pageSize int  // largest page the search answers (default 50)
	down     bool // answer every request 503
	throttle int  // answer the next n requests 429 Retry-After: 1
	noReopen bool // the workflow has no way out of Done
	// failWrites answers the next n writes (not GET) with writeStatus.
	failWrites  int
	writeStatus int
}

type fakeIssue struct {
	ID, Key  string
	Fields   map[string]any
	Labels   []string
	Status   string // "To Do" or "Done"
	Comments []string
}

type captured struct {
	Method, Path string
	Query        url.Values
	Body         any
	Status       int
}

func newFakeJira(t *testing.T) *fakeJira {
	f := &fakeJira{t: t, pageSize: 50}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// requests returns the captured requests and forgets them.
func (f *fakeJira) requests() []captured {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.reqs
	f.reqs = nil
	return r
}

func (f *fakeJira) issue(key string) *fakeIssue {
	for _, is := range f.issues {
		if is.Key == key {
			return is
		}
	}
	return nil
}

func (f *fakeJira) snapshot(key string) fakeIssue {
	f.mu.Lock()
	defer f.mu.Unlock()
	is := f.issue(key)
	if is == nil {
		return fakeIssue{}
	}
	c := *is
	c.Labels = slices.Clone(is.Labels)
	c.Comments = slices.Clone(is.Comments)
	return c
}

var (
	quotedRe = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"`)
	jqlRe    = regexp.MustCompile(`^project = "([A-Z]+)" AND labels (?:=|in) \((.*)\)(?: ORDER BY created ASC)?$`)
)

func (f *fakeJira) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := captured{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query()}
	if b, _ := io.ReadAll(r.Body); len(b) > 0 {
		if err := json.Unmarshal(b, &c.Body); err != nil {
			f.t.Errorf("fake jira: %s %s: body is not JSON: %v", r.Method, r.URL.Path, err)
		}
	}
	status := f.handle(w, r, c)
	c.Status = status
	f.reqs = append(f.reqs, c)
}

func reply(w http.ResponseWriter, status int, v any) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
	return status
}

func (f *fakeJira) handle(w http.ResponseWriter, r *http.Request, c captured) int {
	if f.throttle > 0 {
		f.throttle--
		w.Header().Set("Retry-After", "1")
		return reply(w, http.StatusTooManyRequests, map[string]any{"errorMessages": []string{"rate limited"}})
	}
	if f.failWrites > 0 && r.Method != http.MethodGet {
		f.failWrites--
		return reply(w, f.writeStatus, map[string]any{"errorMessages": []string{"refused"}})
	}
	if f.down {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "<html>maintenance</html>")
		return http.StatusServiceUnavailable
	}
	if u, p, ok := r.BasicAuth(); !ok || u != "bot@example.com" || p != "s3cret" {
		return reply(w, http.StatusUnauthorized, map[string]any{"errorMessages": []string{"unauthorized"}})
	}
	path := strings.TrimPrefix(r.URL.Path, "/rest/api/2/")
	body, _ := c.Body.(map[string]any)
	switch {
	case r.Method == http.MethodPost && path == "issue":
		fields, _ := body["fields"].(map[string]any)
		proj, _ := fields["project"].(map[string]any)
		typ, _ := fields["issuetype"].(map[string]any)
		if proj["key"] != "SEC" || typ["name"] == nil || fields["summary"] == nil {
			return reply(w, http.StatusBadRequest, map[string]any{"errors": map[string]string{"project": "project, issuetype and summary are required"}})
		}
		n := len(f.issues) + 1
		is := &fakeIssue{ID: strconv.Itoa(10000 + n), Key: fmt.Sprintf("SEC-%d", n), Fields: fields, Status: "To Do"}
		for _, l := range fields["labels"].([]any) {
			is.Labels = append(is.Labels, l.(string))
		}
		f.issues = append(f.issues, is)
		return reply(w, http.StatusCreated, map[string]any{"id": is.ID, "key": is.Key, "self": f.srv.URL + "/rest/api/2/issue/" + is.ID})
	case r.Method == http.MethodGet && (path == "search/jql" || path == "search"):
		return f.search(w, r, path == "search")
	case r.Method == http.MethodPost && path == "issueLink":
		f.links = append(f.links, c.Body)
		return reply(w, http.StatusCreated, nil)
	}
	parts := strings.Split(path, "/")
	if len(parts) < 2 || parts[0] != "issue" {
		return reply(w, http.StatusNotFound, map[string]any{"errorMessages": []string{"no such endpoint"}})
	}
	is := f.issue(parts[1])
	if is == nil {
		return reply(w, http.StatusNotFound, map[string]any{"errorMessages": []string{"Issue does not exist"}})
	}
	switch {
	case r.Method == http.MethodPut && len(parts) == 2:
		upd, _ := body["update"].(map[string]any)
		edits, _ := upd["labels"].([]any)
		for _, e := range edits {
			m := e.(map[string]any)
			if l, ok := m["remove"].(string); ok {
				is.Labels = slices.DeleteFunc(is.Labels, func(x string) bool { return x == l })
			}
			if l, ok := m["add"].(string); ok && !slices.Contains(is.Labels, l) {
				is.Labels = append(is.Labels, l)
			}
		}
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent
	case r.Method == http.MethodPost && len(parts) == 3 && parts[2] == "comment":
		b, _ := body["body"].(string)
		if b == "" {
			return reply(w, http.StatusBadRequest, map[string]any{"errors": map[string]string{"comment": "empty"}})
		}
		is.Comments = append(is.Comments, b)
		return reply(w, http.StatusCreated, map[string]any{"id": strconv.Itoa(len(is.Comments)), "body": b})
	case r.Method == http.MethodGet && len(parts) == 3 && parts[2] == "transitions":
		return reply(w, http.StatusOK, map[string]any{"transitions": f.transitions(is)})
	case r.Method == http.MethodPost && len(parts) == 3 && parts[2] == "transitions":
		tr, _ := body["transition"].(map[string]any)
		for _, t := range f.transitions(is) {
			if t["id"] == tr["id"] {
				is.Status = t["to"].(map[string]any)["name"].(string)
				w.WriteHeader(http.StatusNoContent)
				return http.StatusNoContent
			}
		}
		return reply(w, http.StatusBadRequest, map[string]any{"errorMessages": []string{"transition not valid"}})
	}
	return reply(w, http.StatusNotFound, map[string]any{"errorMessages": []string{"no such endpoint"}})
}

func (f *fakeJira) transitions(is *fakeIssue) []map[string]any {
	if is.Status == "Done" {
		if f.noReopen {
			return []map[string]any{}
		}
		return []map[string]any{{"id": "41", "name": "Reopen", "to": statusJSON("To Do")}}
	}
	return []map[string]any{{"id": "21", "name": "In Progress", "to": statusJSON("In Progress")}, {"id": "31", "name": "Done", "to": statusJSON("Done")}}
}

func statusJSON(name string) map[string]any {
	cat := "new"
	if name == "Done" {
		cat = "done"
	} else if name == "In Progress" {
		cat = "indeterminate"
	}
	return map[string]any{"name": name, "statusCategory": map[string]any{"key": cat}}
}

func (f *fakeJira) search(w http.ResponseWriter, r *http.Request, legacy bool) int {
	q := r.URL.Query()
	m := jqlRe.FindStringSubmatch(q.Get("jql"))
	if m == nil {
		return reply(w, http.StatusBadRequest, map[string]any{"errorMessages": []string{"fake cannot parse JQL: " + q.Get("jql")}})
	}
	want := map[string]bool{}
	for _, l := range quotedRe.FindAllStringSubmatch(m[2], -1) {
		want[l[1]] = true
	}
	var hits []*fakeIssue
	for _, is := range f.issues {
		if strings.HasPrefix(is.Key, m[1]+"-") && slices.ContainsFunc(is.Labels, func(l string) bool { return want[l] }) {
			hits = append(hits, is)
		}
	}
	size := f.pageSize
	if n, err := strconv.Atoi(q.Get("maxResults")); err == nil && n > 0 && n < size {
		size = n
	}
	start := 0
	if legacy {
		start, _ = strconv.Atoi(q.Get("startAt"))
	} else if tok := q.Get("nextPageToken"); tok != "" {
		var err error
		if start, err = strconv.Atoi(strings.TrimPrefix(tok, "tok-")); err != nil {
			return reply(w, http.StatusBadRequest, map[string]any{"errorMessages": []string{"bad token"}})
		}
	}
	end := min(start+size, len(hits))
	start = min(start, end)
	fields := strings.Split(q.Get("fields"), ",")
	page := []map[string]any{}
	for _, is := range hits[start:end] {
		j := map[string]any{"id": is.ID}
		if q.Get("fields") != "" || legacy {
			j["key"], j["self"] = is.Key, f.srv.URL+"/rest/api/2/issue/"+is.ID
			fj := map[string]any{}
			if slices.Contains(fields, "labels") {
				fj["labels"] = is.Labels
			}
			if slices.Contains(fields, "status") {
				fj["status"] = statusJSON(is.Status)
			}
			j["fields"] = fj
		}
		page = append(page, j)
	}
	if legacy {
		return reply(w, http.StatusOK, map[string]any{"startAt": start, "maxResults": size, "total": len(hits), "issues": page})
	}
	out := map[string]any{"issues": page, "isLast": end >= len(hits)}
	if end < len(hits) {
		out["nextPageToken"] = fmt.Sprintf("tok-%d", end)
	}
	return reply(w, http.StatusOK, out)
}
