package slack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const fakeTeamID = "T0123456789"

// fakeSlack is a stateful fake of the Slack Web API methods the connector
// calls and of Slack's SCIM API for deactivation, sharing one state: a user
// deactivated through SCIM is deleted in the next users.list, as on Slack.
// The Web API responses are shaped by Slack's own OpenAPI (Swagger 2.0)
// description: the tests run the fake behind the Prism validating proxy. The
// SCIM part (/scim/v2/...) is served on its own listener, not through Prism
// (Slack publishes no OpenAPI description of it); the connector reaches it
// through targets/scim.
type fakeSlack struct {
	token     string
	scimToken string

	mu           sync.Mutex
	users        []*fakeUser // in users.list order
	byID         map[string]*fakeUser
	groups       []*fakeGroup
	logins       []fakeLogin // newest first, as team.accessLogs returns them
	resetAllowed bool        // the token has admin.users:write
	resets       map[string]int

	// fail, when set, may answer a request itself (throttling, errors).
	fail func(w http.ResponseWriter, r *http.Request, method string) bool

	calls  atomic.Int64
	byCall sync.Map // method -> *atomic.Int64
}

type fakeUser struct {
	ID, Name, Email, RealName                string
	Deleted, Admin, Owner, PrimaryOwner, Bot bool
}

type fakeGroup struct {
	ID, Name, Handle string
	Users            []string
}

type fakeLogin struct {
	UserID, Username string
	Last             time.Time
}

func newFakeSlack(token, scimToken string) *fakeSlack {
	return &fakeSlack{token: token, scimToken: scimToken, byID: map[string]*fakeUser{}, resets: map[string]int{}}
}

func (f *fakeSlack) addUser(u fakeUser) *fakeUser {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := &u
	f.users = append(f.users, p)
	f.byID[u.ID] = p
	return p
}

func (f *fakeSlack) addGroup(id, name, handle string, users ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups = append(f.groups, &fakeGroup{ID: id, Name: name, Handle: handle, Users: users})
}

func (f *fakeSlack) addLogin(userID string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logins = append(f.logins, fakeLogin{UserID: userID, Username: f.byID[userID].Name, Last: at})
	slices.SortStableFunc(f.logins, func(a, b fakeLogin) int { return b.Last.Compare(a.Last) })
}

func (f *fakeSlack) count(method string) int64 {
	v, _ := f.byCall.LoadOrStore(method, new(atomic.Int64))
	return v.(*atomic.Int64).Load()
}

func (f *fakeSlack) deleted(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byID[id].Deleted
}

// ServeHTTP serves the Web API: /{method} (also under /api/), with the
// arguments in the query string (GET) or a form body (POST), and the token
// only as Authorization: Bearer. A token in the body or query is refused:
// the connector must not put it there.
func (f *fakeSlack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	method := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/api"), "/")
	v, _ := f.byCall.LoadOrStore(method, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	if f.fail != nil && f.fail(w, r, method) {
		return
	}
	if err := r.ParseForm(); err != nil {
		f.fault(w, "invalid_form_data")
		return
	}
	if r.Form.Has("token") {
		http.Error(w, "fake: token sent in the query or body", http.StatusBadRequest)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		f.fault(w, "invalid_auth")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch method {
	case "users.list":
		f.usersList(w, r.Form)
	case "users.info":
		u := f.byID[r.Form.Get("user")]
		if u == nil {
			f.fault(w, "user_not_found")
			return
		}
		f.ok(w, map[string]any{"user": userJSON(u)})
	case "usergroups.list":
		var gs []any
		for _, g := range f.groups {
			gs = append(gs, groupJSON(g, r.Form.Get("include_users") == "true"))
		}
		if gs == nil {
			gs = []any{}
		}
		f.ok(w, map[string]any{"usergroups": gs})
	case "usergroups.users.update":
		i := slices.IndexFunc(f.groups, func(g *fakeGroup) bool { return g.ID == r.Form.Get("usergroup") })
		if i < 0 {
			f.fault(w, "no_such_subteam")
			return
		}
		var ids []string
		for _, id := range strings.Split(r.Form.Get("users"), ",") {
			if id = strings.TrimSpace(id); id == "" {
				continue
			}
			if f.byID[id] == nil {
				f.fault(w, "invalid_users")
				return
			}
			ids = append(ids, id)
		}
		if len(ids) == 0 {
			f.fault(w, "no_users_provided")
			return
		}
		f.groups[i].Users = ids
		f.ok(w, map[string]any{"usergroup": groupJSON(f.groups[i], true)})
	case "team.accessLogs":
		f.accessLogs(w, r.Form)
	case "admin.users.session.reset":
		if !f.resetAllowed {
			f.ok2(w, map[string]any{"ok": false, "error": "missing_scope", "needed": "admin.users:write", "provided": "users:read,usergroups:write"})
			return
		}
		if f.byID[r.Form.Get("user_id")] == nil {
			f.fault(w, "user_not_found")
			return
		}
		f.resets[r.Form.Get("user_id")]++
		f.ok(w, nil)
	default:
		f.fault(w, "unknown_method")
	}
}

func (f *fakeSlack) usersList(w http.ResponseWriter, form url.Values) {
	limit := 0 // Slack: no limit means everything at once
	if s := form.Get("limit"); s != "" {
		limit, _ = strconv.Atoi(s)
	}
	start := 0
	if c := form.Get("cursor"); c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, "dXNlcjo"))
		if err != nil || n < 0 || n > len(f.users) {
			f.fault(w, "invalid_cursor")
			return
		}
		start = n
	}
	end := len(f.users)
	if limit > 0 {
		end = min(start+limit, end)
	}
	members := make([]any, 0, end-start)
	for _, u := range f.users[start:end] {
		members = append(members, userJSON(u))
	}
	next := ""
	if end < len(f.users) {
		next = "dXNlcjo" + strconv.Itoa(end)
	}
	f.ok(w, map[string]any{"members": members, "cache_ts": time.Now().Unix(), "response_metadata": map[string]any{"next_cursor": next}})
}

func (f *fakeSlack) accessLogs(w http.ResponseWriter, form url.Values) {
	limit := 100
	if s := form.Get("limit"); s != "" {
		limit, _ = strconv.Atoi(s)
	}
	start := 0
	if c := form.Get("cursor"); c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, "bG9nOg"))
		if err != nil || n < 0 || n > len(f.logins) {
			f.fault(w, "invalid_cursor")
			return
		}
		start = n
	}
	end := min(start+limit, len(f.logins))
	var out []any
	for _, l := range f.logins[start:end] {
		out = append(out, map[string]any{
			"user_id": l.UserID, "username": l.Username, "date_first": l.Last.Add(-time.Hour).Unix(), "date_last": l.Last.Unix(),
			"count": 3, "ip": "192.0.2.7", "user_agent": "Slack/4.41 (Mac OS X)", "isp": nil, "country": "SA", "region": nil,
		})
	}
	next := ""
	if end < len(f.logins) {
		next = "bG9nOg" + strconv.Itoa(end)
	}
	pages := max((len(f.logins)+limit-1)/limit, 1)
	f.ok(w, map[string]any{
		"logins":            out,
		"paging":            map[string]any{"count": limit, "total": len(f.logins), "page": start/limit + 1, "pages": pages},
		"response_metadata": map[string]any{"next_cursor": next},
	})
}

func userJSON(u *fakeUser) map[string]any {
	m := map[string]any{
		"id": u.ID, "team_id": fakeTeamID, "name": u.Name, "deleted": u.Deleted, "color": "9f69e7",
		"real_name": u.RealName, "tz": "Asia/Riyadh", "tz_label": "Arabia Standard Time", "tz_offset": 10800,
		"is_admin": u.Admin, "is_owner": u.Owner, "is_primary_owner": u.PrimaryOwner,
		"is_restricted": false, "is_ultra_restricted": false, "is_bot": u.Bot, "is_app_user": false,
		"updated": 1700000000, "has_2fa": false,
		"profile": map[string]any{
			"real_name": u.RealName, "real_name_normalized": u.RealName, "display_name": u.Name, "display_name_normalized": u.Name,
			"avatar_hash": "ge3b51ca72de", "title": "", "phone": "", "skype": "", "status_text": "", "status_emoji": "",
			"fields": nil, "email": u.Email, "team": fakeTeamID,
		},
	}
	if u.Bot || u.Email == "" {
		delete(m["profile"].(map[string]any), "email") // Slack sends none
	}
	return m
}

func groupJSON(g *fakeGroup, withUsers bool) map[string]any {
	m := map[string]any{
		"id": g.ID, "team_id": fakeTeamID, "is_usergroup": true, "is_subteam": true, "name": g.Name,
		"description": "", "handle": g.Handle, "is_external": false, "date_create": 1600000000,
		"date_update": 1700000000, "date_delete": 0, "auto_type": nil, "auto_provision": false,
		"enterprise_subteam_id": "", "created_by": "U00000001", "updated_by": "U00000001", "deleted_by": nil,
		"prefs": map[string]any{"channels": []string{}, "groups": []string{}}, "user_count": len(g.Users),
	}
	if withUsers {
		m["users"] = slices.Clone(g.Users)
	}
	return m
}

func (f *fakeSlack) ok(w http.ResponseWriter, body map[string]any) {
	if body == nil {
		body = map[string]any{}
	}
	body["ok"] = true
	f.ok2(w, body)
}

func (f *fakeSlack) ok2(w http.ResponseWriter, body map[string]any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(body)
}

// fault is Slack's error answer: HTTP 200 with ok false.
func (f *fakeSlack) fault(w http.ResponseWriter, code string) {
	f.ok2(w, map[string]any{"ok": false, "error": code})
}

// ---- SCIM -----------------------------------------------------------------

// scimHandler serves Slack's SCIM user endpoints on the shared state:
// GET /scim/v2/Users/{id}, PATCH (active false deactivates) and DELETE
// (deactivates, as Slack's does).
func (f *fakeSlack) scimHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer "+f.scimToken {
			scimError(w, http.StatusUnauthorized, "invalid_authentication")
			return
		}
		id, ok := strings.CutPrefix(r.URL.Path, "/scim/v2/Users/")
		if !ok || id == "" || strings.Contains(id, "/") {
			scimError(w, http.StatusNotFound, "not found")
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		u := f.byID[id]
		if u == nil || u.Bot {
			scimError(w, http.StatusNotFound, "user_not_found")
			return
		}
		switch r.Method {
		case http.MethodGet:
			w.Header().Set("Content-Type", "application/scim+json")
			_ = json.NewEncoder(w).Encode(map[string]any{
				"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "id": u.ID, "userName": u.Name,
				"displayName": u.RealName, "active": !u.Deleted,
				"emails": []any{map[string]any{"value": u.Email, "primary": true}},
			})
		case http.MethodDelete:
			u.Deleted = true
			w.WriteHeader(http.StatusNoContent)
		case http.MethodPatch:
			var op struct {
				Operations []struct {
					Op, Path string
					Value    any
				}
			}
			if err := json.NewDecoder(r.Body).Decode(&op); err != nil {
				scimError(w, http.StatusBadRequest, "invalid json")
				return
			}
			for _, o := range op.Operations {
				if strings.EqualFold(o.Op, "replace") && o.Path == "active" && fmt.Sprint(o.Value) == "false" {
					u.Deleted = true
				}
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			scimError(w, http.StatusMethodNotAllowed, "method not allowed")
		}
	})
}

func scimError(w http.ResponseWriter, code int, detail string) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"}, "status": strconv.Itoa(code), "detail": detail,
	})
}
