package scim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeSCIM is a stateful SCIM service provider for what the real server
// cannot show: lenient encodings, short pages, throttling, error bodies, a
// server that ignores startIndex, and Slack's deactivate-on-DELETE.
type fakeSCIM struct {
	mu     sync.Mutex
	token  string
	users  []map[string]any // in listing order
	groups []*fakeGroup

	maxPage     int    // the most resources per page, whatever count asks (0: no cap)
	lenient     bool   // booleans and numbers as strings, no itemsPerPage, no Resources when empty, application/json
	throttle    int    // answer this many next requests with 429 Retry-After: 1
	samePage    bool   // ignore startIndex: the first page forever
	fakeTotal   int    // announce this totalResults instead of the real one (0: real)
	patchError  bool   // PATCH /Users answers 400 invalidValue
	deleteMeans string // "deactivate" (Slack) or "delete"
	requests    []string
}

type fakeGroup struct {
	id, name string
	members  []string
}

func newFake(t *testing.T, f *fakeSCIM) (*fakeSCIM, *httptest.Server) {
	t.Helper()
	if f.token == "" {
		f.token = "s3cr3t-token"
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

// seedUsers adds n users u1..un (enabled, enterprise employeeNumber N-i,
// member of "staff"; u1 also of "admins").
func (f *fakeSCIM) seedUsers(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	staff := &fakeGroup{id: "g-staff", name: "staff"}
	admins := &fakeGroup{id: "g-admins", name: "admins"}
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("id-%d", i)
		u := map[string]any{
			"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User", enterpriseURN},
			"id":       id,
			"userName": fmt.Sprintf("u%d", i),
			"active":   true,
			"emails":   []any{map[string]any{"value": fmt.Sprintf("u%d@example.com", i), "primary": true}},
			"meta":     map[string]any{"created": "2026-01-02T03:04:05Z"},
			enterpriseURN: map[string]any{
				"employeeNumber": fmt.Sprintf("N-%d", i),
			},
		}
		f.users = append(f.users, u)
		staff.members = append(staff.members, id)
		if i == 1 {
			admins.members = append(admins.members, id)
		}
	}
	f.groups = append(f.groups, staff, admins)
}

func (f *fakeSCIM) reqs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func (f *fakeSCIM) user(id string) (int, map[string]any) {
	for i, u := range f.users {
		if u["id"] == id {
			return i, u
		}
	}
	return -1, nil
}

// groupsOf renders the read-only groups attribute of a user.
func (f *fakeSCIM) groupsOf(id string) []any {
	var out []any
	for _, g := range f.groups {
		for _, m := range g.members {
			if m == id {
				out = append(out, map[string]any{"value": g.id, "display": g.name})
			}
		}
	}
	return out
}

// render copies a stored user for output, adding groups and, in lenient
// mode, turning booleans into capitalised strings.
func (f *fakeSCIM) render(u map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range u {
		out[k] = v
	}
	if g := f.groupsOf(u["id"].(string)); g != nil {
		out["groups"] = g
	}
	if f.lenient {
		if b, ok := out["active"].(bool); ok {
			out["active"] = map[bool]string{true: "True", false: "False"}[b]
		}
	}
	return out
}

func (f *fakeSCIM) write(w http.ResponseWriter, status int, v any) {
	ct := "application/scim+json"
	if f.lenient {
		ct = "application/json; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

func (f *fakeSCIM) fail(w http.ResponseWriter, status int, scimType, detail string) {
	body := map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"},
		"status":  strconv.Itoa(status),
		"detail":  detail,
	}
	if scimType != "" {
		body["scimType"] = scimType
	}
	f.write(w, status, body)
}

var displayNameEq = regexp.MustCompile(`^displayName eq "(.*)"$`)
var memberFilter = regexp.MustCompile(`^members\[value eq "(.*)"\]$`)

func (f *fakeSCIM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		f.fail(w, http.StatusUnauthorized, "", "invalid token")
		return
	}
	if f.throttle > 0 {
		f.throttle--
		w.Header().Set("Retry-After", "1")
		f.fail(w, http.StatusTooManyRequests, "", "slow down")
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/scim/v2")
	switch {
	case path == "/Users" && r.Method == http.MethodGet:
		f.list(w, r, len(f.users), func(i int) any { return f.render(f.users[i]) })
	case path == "/Groups" && r.Method == http.MethodGet:
		gs := f.groups
		if m := displayNameEq.FindStringSubmatch(r.URL.Query().Get("filter")); m != nil {
			gs = nil
			for _, g := range f.groups {
				if g.name == m[1] {
					gs = append(gs, g)
				}
			}
		} else if r.URL.Query().Get("filter") != "" {
			f.fail(w, http.StatusBadRequest, "invalidFilter", "unsupported filter")
			return
		}
		f.list(w, r, len(gs), func(i int) any {
			var ms []any
			for _, m := range gs[i].members {
				ms = append(ms, map[string]any{"value": m})
			}
			return map[string]any{"id": gs[i].id, "displayName": gs[i].name, "members": ms}
		})
	case strings.HasPrefix(path, "/Users/"):
		f.userOp(w, r, strings.TrimPrefix(path, "/Users/"))
	case strings.HasPrefix(path, "/Groups/") && r.Method == http.MethodPatch:
		f.groupPatch(w, r, strings.TrimPrefix(path, "/Groups/"))
	default:
		f.fail(w, http.StatusNotFound, "", "no such endpoint")
	}
}

func (f *fakeSCIM) list(w http.ResponseWriter, r *http.Request, total int, item func(int) any) {
	start, _ := strconv.Atoi(r.URL.Query().Get("startIndex"))
	count, _ := strconv.Atoi(r.URL.Query().Get("count"))
	if start < 1 || f.samePage {
		start = 1
	}
	if count <= 0 {
		count = 100
	}
	if f.maxPage > 0 && count > f.maxPage {
		count = f.maxPage
	}
	var res []any
	for i := start - 1; i < total && len(res) < count; i++ {
		res = append(res, item(i))
	}
	announced := total
	if f.fakeTotal > 0 {
		announced = f.fakeTotal
	}
	body := map[string]any{
		"schemas":      []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
		"totalResults": announced,
		"startIndex":   start,
	}
	if f.lenient {
		body["totalResults"] = strconv.Itoa(announced)
	} else {
		body["itemsPerPage"] = len(res)
	}
	if len(res) > 0 || !f.lenient {
		body["Resources"] = res
	}
	f.write(w, http.StatusOK, body)
}

func (f *fakeSCIM) userOp(w http.ResponseWriter, r *http.Request, id string) {
	i, u := f.user(id)
	if u == nil {
		f.fail(w, http.StatusNotFound, "", "Resource "+id+" not found")
		return
	}
	switch r.Method {
	case http.MethodGet:
		f.write(w, http.StatusOK, f.render(u))
	case http.MethodPatch:
		if f.patchError {
			f.fail(w, http.StatusBadRequest, "invalidValue", "active is immutable here")
			return
		}
		var p struct {
			Schemas    []string
			Operations []struct {
				Op, Path string
				Value    any
			}
		}
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil || len(p.Schemas) != 1 || p.Schemas[0] != patchOpURN {
			f.fail(w, http.StatusBadRequest, "invalidSyntax", "bad PatchOp")
			return
		}
		for _, op := range p.Operations {
			if !strings.EqualFold(op.Op, "replace") || op.Path != "active" {
				f.fail(w, http.StatusBadRequest, "invalidPath", "unsupported op")
				return
			}
			v, ok := op.Value.(bool)
			if !ok {
				f.fail(w, http.StatusBadRequest, "invalidValue", "active must be a boolean")
				return
			}
			u["active"] = v
		}
		f.write(w, http.StatusOK, f.render(u))
	case http.MethodPut:
		var nu map[string]any
		if err := json.NewDecoder(r.Body).Decode(&nu); err != nil || nu["userName"] == nil {
			f.fail(w, http.StatusBadRequest, "invalidValue", "userName required")
			return
		}
		if v, ok := nu["active"].(bool); !ok {
			f.fail(w, http.StatusBadRequest, "invalidValue", fmt.Sprintf("active must be a boolean, got %v", nu["active"]))
			return
		} else {
			nu["active"] = v
		}
		delete(nu, "groups") // read-only
		nu["id"] = id
		f.users[i] = nu
		f.write(w, http.StatusOK, f.render(nu))
	case http.MethodDelete:
		if f.deleteMeans == "deactivate" {
			u["active"] = false
		} else {
			f.users = append(f.users[:i], f.users[i+1:]...)
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		f.fail(w, http.StatusMethodNotAllowed, "", "method not allowed")
	}
}

func (f *fakeSCIM) groupPatch(w http.ResponseWriter, r *http.Request, id string) {
	var g *fakeGroup
	for _, x := range f.groups {
		if x.id == id {
			g = x
		}
	}
	if g == nil {
		f.fail(w, http.StatusNotFound, "", "group not found")
		return
	}
	var p struct {
		Operations []struct{ Op, Path string }
	}
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil || len(p.Operations) != 1 {
		f.fail(w, http.StatusBadRequest, "invalidSyntax", "bad PatchOp")
		return
	}
	m := memberFilter.FindStringSubmatch(p.Operations[0].Path)
	if !strings.EqualFold(p.Operations[0].Op, "remove") || m == nil {
		f.fail(w, http.StatusBadRequest, "invalidPath", "unsupported op")
		return
	}
	for k, mem := range g.members {
		if mem == m[1] {
			g.members = append(g.members[:k], g.members[k+1:]...)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	// Strict servers answer noTarget when the filter matches no member.
	f.fail(w, http.StatusBadRequest, "noTarget", "no member matched")
}
