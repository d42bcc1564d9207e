// Package slackfake is a stateful fake of the Slack Web API methods the
// slack connector calls and of Slack's SCIM user endpoints (SCIMHandler),
// sharing one state, for tests of the connector and of whatever drives it
// (end-to-end tests of the command). Tests put the Web API behind Prism with
// Slack's own description (SpecPath, SpecOptions).
package slackfake

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

const TeamID = "T0123456789"

// Slack is a stateful fake of the Slack Web API methods the connector
// calls and of Slack's SCIM API for deactivation, sharing one state: a user
// deactivated through SCIM is deleted in the next users.list, as on Slack.
// The Web API responses are shaped by Slack's own OpenAPI (Swagger 2.0)
// description: the tests run the fake behind the Prism validating proxy. The
// SCIM part (/scim/v2/...) is served on its own listener, not through Prism
// (Slack publishes no OpenAPI description of it); the connector reaches it
// through targets/scim.
type Slack struct {
	Token     string
	ScimToken string

	Mu           sync.Mutex
	Users        []*User // in users.list order
	ByID         map[string]*User
	Groups       []*Group
	Logins       []Login // newest first, as team.accessLogs returns them
	ResetAllowed bool    // the token has admin.users:write
	Resets       map[string]int

	// fail, when set, may answer a request itself (throttling, errors).
	Fail func(w http.ResponseWriter, r *http.Request, method string) bool

	Calls  atomic.Int64
	ByCall sync.Map // method -> *atomic.Int64
}

type User struct {
	ID, Name, Email, RealName                string
	Deleted, Admin, Owner, PrimaryOwner, Bot bool
}

type Group struct {
	ID, Name, Handle string
	Users            []string
}

type Login struct {
	UserID, Username string
	Last             time.Time
}

func New(token, scimToken string) *Slack {
	return &Slack{Token: token, ScimToken: scimToken, ByID: map[string]*User{}, Resets: map[string]int{}}
}

func (f *Slack) AddUser(u User) *User {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	p := &u
	f.Users = append(f.Users, p)
	f.ByID[u.ID] = p
	return p
}

func (f *Slack) AddGroup(id, name, handle string, users ...string) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.Groups = append(f.Groups, &Group{ID: id, Name: name, Handle: handle, Users: users})
}

func (f *Slack) AddLogin(userID string, at time.Time) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.Logins = append(f.Logins, Login{UserID: userID, Username: f.ByID[userID].Name, Last: at})
	slices.SortStableFunc(f.Logins, func(a, b Login) int { return b.Last.Compare(a.Last) })
}

func (f *Slack) Count(method string) int64 {
	v, _ := f.ByCall.LoadOrStore(method, new(atomic.Int64))
	return v.(*atomic.Int64).Load()
}

func (f *Slack) Deleted(id string) bool {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return f.ByID[id].Deleted
}

// ServeHTTP serves the Web API: /{method} (also under /api/), with the
// arguments in the query string (GET) or a form body (POST), and the token
// only as Authorization: Bearer. A token in the body or query is refused:
// the connector must not put it there.
func (f *Slack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.Calls.Add(1)
	method := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/api"), "/")
	v, _ := f.ByCall.LoadOrStore(method, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	if f.Fail != nil && f.Fail(w, r, method) {
		return
	}
	if err := r.ParseForm(); err != nil {
		f.Fault(w, "invalid_form_data")
		return
	}
	if r.Form.Has("token") {
		http.Error(w, "fake: token sent in the query or body", http.StatusBadRequest)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.Token {
		f.Fault(w, "invalid_auth")
		return
	}
	f.Mu.Lock()
	defer f.Mu.Unlock()
	switch method {
	case "users.list":
		f.UsersList(w, r.Form)
	case "users.info":
		u := f.ByID[r.Form.Get("user")]
		if u == nil {
			f.Fault(w, "user_not_found")
			return
		}
		f.OK(w, map[string]any{"user": UserJSON(u)})
	case "usergroups.list":
		var gs []any
		for _, g := range f.Groups {
			gs = append(gs, GroupJSON(g, r.Form.Get("include_users") == "true"))
		}
		if gs == nil {
			gs = []any{}
		}
		f.OK(w, map[string]any{"usergroups": gs})
	case "usergroups.users.update":
		i := slices.IndexFunc(f.Groups, func(g *Group) bool { return g.ID == r.Form.Get("usergroup") })
		if i < 0 {
			f.Fault(w, "no_such_subteam")
			return
		}
		var ids []string
		for _, id := range strings.Split(r.Form.Get("users"), ",") {
			if id = strings.TrimSpace(id); id == "" {
				continue
			}
			if f.ByID[id] == nil {
				f.Fault(w, "invalid_users")
				return
			}
			ids = append(ids, id)
		}
		if len(ids) == 0 {
			f.Fault(w, "no_users_provided")
			return
		}
		f.Groups[i].Users = ids
		f.OK(w, map[string]any{"usergroup": GroupJSON(f.Groups[i], true)})
	case "team.accessLogs":
		f.AccessLogs(w, r.Form)
	case "admin.users.session.reset":
		if !f.ResetAllowed {
			f.OK2(w, map[string]any{"ok": false, "error": "missing_scope", "needed": "admin.users:write", "provided": "users:read,usergroups:write"})
			return
		}
		if f.ByID[r.Form.Get("user_id")] == nil {
			f.Fault(w, "user_not_found")
			return
		}
		f.Resets[r.Form.Get("user_id")]++
		f.OK(w, nil)
	default:
		f.Fault(w, "unknown_method")
	}
}

func (f *Slack) UsersList(w http.ResponseWriter, form url.Values) {
	limit := 0 // Slack: no limit means everything at once
	if s := form.Get("limit"); s != "" {
		limit, _ = strconv.Atoi(s)
	}
	start := 0
	if c := form.Get("cursor"); c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, "dXNlcjo"))
		if err != nil || n < 0 || n > len(f.Users) {
			f.Fault(w, "invalid_cursor")
			return
		}
		start = n
	}
	end := len(f.Users)
	if limit > 0 {
		end = min(start+limit, end)
	}
	members := make([]any, 0, end-start)
	for _, u := range f.Users[start:end] {
		members = append(members, UserJSON(u))
	}
	next := ""
	if end < len(f.Users) {
		next = "dXNlcjo" + strconv.Itoa(end)
	}
	f.OK(w, map[string]any{"members": members, "cache_ts": time.Now().Unix(), "response_metadata": map[string]any{"next_cursor": next}})
}

func (f *Slack) AccessLogs(w http.ResponseWriter, form url.Values) {
	limit := 100
	if s := form.Get("limit"); s != "" {
		limit, _ = strconv.Atoi(s)
	}
	start := 0
	if c := form.Get("cursor"); c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, "bG9nOg"))
		if err != nil || n < 0 || n > len(f.Logins) {
			f.Fault(w, "invalid_cursor")
			return
		}
		start = n
	}
	end := min(start+limit, len(f.Logins))
	var out []any
	for _, l := range f.Logins[start:end] {
		out = append(out, map[string]any{
			"user_id": l.UserID, "username": l.Username, "date_first": l.Last.Add(-time.Hour).Unix(), "date_last": l.Last.Unix(),
			"count": 3, "ip": "192.0.2.7", "user_agent": "Slack/4.41 (Mac OS X)", "isp": nil, "country": "SA", "region": nil,
		})
	}
	next := ""
	if end < len(f.Logins) {
		next = "bG9nOg" + strconv.Itoa(end)
	}
	pages := max((len(f.Logins)+limit-1)/limit, 1)
	f.OK(w, map[string]any{
		"logins":            out,
		"paging":            map[string]any{"count": limit, "total": len(f.Logins), "page": start/limit + 1, "pages": pages},
		"response_metadata": map[string]any{"next_cursor": next},
	})
}

func UserJSON(u *User) map[string]any {
	m := map[string]any{
		"id": u.ID, "team_id": TeamID, "name": u.Name, "deleted": u.Deleted, "color": "9f69e7",
		"real_name": u.RealName, "tz": "Asia/Riyadh", "tz_label": "Arabia Standard Time", "tz_offset": 10800,
		"is_admin": u.Admin, "is_owner": u.Owner, "is_primary_owner": u.PrimaryOwner,
		"is_restricted": false, "is_ultra_restricted": false, "is_bot": u.Bot, "is_app_user": false,
		"updated": 1700000000, "has_2fa": false,
		"profile": map[string]any{
			"real_name": u.RealName, "real_name_normalized": u.RealName, "display_name": u.Name, "display_name_normalized": u.Name,
			"avatar_hash": "ge3b51ca72de", "title": "", "phone": "", "skype": "", "status_text": "", "status_emoji": "",
			"fields": nil, "email": u.Email, "team": TeamID,
		},
	}
	if u.Bot || u.Email == "" {
		delete(m["profile"].(map[string]any), "email") // Slack sends none
	}
	return m
}

func GroupJSON(g *Group, withUsers bool) map[string]any {
	m := map[string]any{
		"id": g.ID, "team_id": TeamID, "is_usergroup": true, "is_subteam": true, "name": g.Name,
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

func (f *Slack) OK(w http.ResponseWriter, body map[string]any) {
	if body == nil {
		body = map[string]any{}
	}
	body["ok"] = true
	f.OK2(w, body)
}

func (f *Slack) OK2(w http.ResponseWriter, body map[string]any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(body)
}

// fault is Slack's error answer: HTTP 200 with ok false.
func (f *Slack) Fault(w http.ResponseWriter, code string) {
	f.OK2(w, map[string]any{"ok": false, "error": code})
}

// ---- SCIM -----------------------------------------------------------------

// SCIMHandler serves Slack's SCIM user endpoints on the shared state:
// GET /scim/v2/Users/{id}, PATCH (active false deactivates) and DELETE
// (deactivates, as Slack's does).
func (f *Slack) SCIMHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.Calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer "+f.ScimToken {
			ScimError(w, http.StatusUnauthorized, "invalid_authentication")
			return
		}
		id, ok := strings.CutPrefix(r.URL.Path, "/scim/v2/Users/")
		if !ok || id == "" || strings.Contains(id, "/") {
			ScimError(w, http.StatusNotFound, "not found")
			return
		}
		f.Mu.Lock()
		defer f.Mu.Unlock()
		u := f.ByID[id]
		if u == nil || u.Bot {
			ScimError(w, http.StatusNotFound, "user_not_found")
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
				ScimError(w, http.StatusBadRequest, "invalid json")
				return
			}
			for _, o := range op.Operations {
				if strings.EqualFold(o.Op, "replace") && o.Path == "active" && fmt.Sprint(o.Value) == "false" {
					u.Deleted = true
				}
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			ScimError(w, http.StatusMethodNotAllowed, "method not allowed")
		}
	})
}

func ScimError(w http.ResponseWriter, code int, detail string) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"}, "status": strconv.Itoa(code), "detail": detail,
	})
}
