package github

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

// fakeGitHub is a stateful fake of the part of GitHub's REST API (and of the
// GraphQL SAML identity query) that the connector uses. Its REST responses
// are shaped by GitHub's own OpenAPI description (ghec.json of
// @octokit/openapi): the tests run it behind the Prism validating proxy, so
// a field the description does not allow, or one it requires and the fake
// leaves out, fails the test. GraphQL is not OpenAPI: the query the
// connector sends is validated against GitHub's GraphQL schema instead
// (graphql_test.go).
type fakeGitHub struct {
	org   string
	token string

	mu         sync.Mutex
	users      map[int64]*fakeUser // every GitHub user the fake knows
	byLogin    map[string]*fakeUser
	members    map[string]string // login -> role (admin | member)
	pending    map[string]bool   // login -> invitation not yet accepted
	outside    map[string]bool   // outside collaborators
	teams      []*fakeTeam
	creds      []*fakeCred
	saml       bool              // the org uses SAML SSO
	nameIDs    map[string]string // login -> SAML nameId
	nextCredID int64

	// fail, when set, may answer a request itself (throttling, errors);
	// it returns false to let the request through.
	fail func(w http.ResponseWriter, r *http.Request) bool

	calls   atomic.Int64 // REST and GraphQL requests served
	graphql atomic.Int64 // GraphQL requests served
	queries []string     // GraphQL query texts received
}

type fakeUser struct {
	ID    int64
	Login string
	Name  string
}

type fakeTeam struct {
	ID      int64
	Slug    string
	Name    string
	Members map[string]bool
}

type fakeCred struct {
	ID           int64
	Login        string
	Type         string // "personal access token" | "SSH key" | ...
	Authorized   time.Time
	Accessed     *time.Time // nil: never used
	UnderlyingID int64
	Title        string
}

func newFakeGitHub(org, token string) *fakeGitHub {
	return &fakeGitHub{
		org: org, token: token,
		users: map[int64]*fakeUser{}, byLogin: map[string]*fakeUser{},
		members: map[string]string{}, pending: map[string]bool{}, outside: map[string]bool{},
		saml: true, nameIDs: map[string]string{}, nextCredID: 1000,
	}
}

// addUser creates a GitHub user (not yet in the org).
func (f *fakeGitHub) addUser(id int64, login, name string) *fakeUser {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := &fakeUser{ID: id, Login: login, Name: name}
	f.users[id], f.byLogin[login] = u, u
	return u
}

// addMember creates a user and makes it an org member with role.
func (f *fakeGitHub) addMember(id int64, login, role, nameID string) {
	f.addUser(id, login, strings.ToUpper(login[:1])+login[1:])
	f.mu.Lock()
	defer f.mu.Unlock()
	f.members[login] = role
	if nameID != "" {
		f.nameIDs[login] = nameID
	}
}

func (f *fakeGitHub) addTeam(id int64, slug, name string, members ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTeam{ID: id, Slug: slug, Name: name, Members: map[string]bool{}}
	for _, m := range members {
		t.Members[m] = true
	}
	f.teams = append(f.teams, t)
}

func (f *fakeGitHub) addCred(login, typ string, authorized time.Time, accessed *time.Time) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextCredID++
	f.creds = append(f.creds, &fakeCred{ID: f.nextCredID, Login: login, Type: typ, Authorized: authorized,
		Accessed: accessed, UnderlyingID: f.nextCredID * 7, Title: typ + " of " + login})
	return f.nextCredID
}

func (f *fakeGitHub) isMember(login string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.members[login]
	return ok
}

func (f *fakeGitHub) credCount(login string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.creds {
		if c.Login == login {
			n++
		}
	}
	return n
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	if f.fail != nil && f.fail(w, r) {
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		f.errorJSON(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	if r.URL.Path == "/graphql" || r.URL.Path == "/api/graphql" {
		f.serveGraphQL(w, r)
		return
	}
	seg := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	// Every path starts /orgs/{org}/... except /user/{account_id}.
	if len(seg) == 2 && seg[0] == "user" && r.Method == http.MethodGet {
		f.getUserByID(w, seg[1])
		return
	}
	if len(seg) < 3 || seg[0] != "orgs" {
		f.errorJSON(w, http.StatusNotFound, "Not Found")
		return
	}
	if seg[1] != f.org {
		f.errorJSON(w, http.StatusNotFound, "Not Found")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rest := seg[2:]
	switch {
	case r.Method == http.MethodGet && len(rest) == 1 && rest[0] == "members":
		f.listMembers(w, r)
	case r.Method == http.MethodGet && len(rest) == 1 && rest[0] == "outside_collaborators":
		var out []*fakeUser
		for _, l := range sortedKeys(f.outside) {
			out = append(out, f.byLogin[l])
		}
		f.page(w, r, len(out), func(i int) any { return f.simpleUser(out[i]) })
	case len(rest) == 2 && rest[0] == "outside_collaborators" && r.Method == http.MethodDelete:
		delete(f.outside, rest[1])
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodGet && len(rest) == 1 && rest[0] == "teams":
		f.page(w, r, len(f.teams), func(i int) any { return f.team(f.teams[i]) })
	case r.Method == http.MethodGet && len(rest) == 2 && rest[0] == "teams":
		t := f.teamBySlug(rest[1])
		if t == nil {
			f.errorJSON(w, http.StatusNotFound, "Not Found")
			return
		}
		f.writeJSON(w, http.StatusOK, f.teamFull(t))
	case r.Method == http.MethodGet && len(rest) == 3 && rest[0] == "teams" && rest[2] == "members":
		t := f.teamBySlug(rest[1])
		if t == nil {
			f.errorJSON(w, http.StatusNotFound, "Not Found")
			return
		}
		ms := sortedKeys(t.Members)
		f.page(w, r, len(ms), func(i int) any { return f.simpleUser(f.byLogin[ms[i]]) })
	case len(rest) == 4 && rest[0] == "teams" && rest[2] == "memberships":
		t := f.teamBySlug(rest[1])
		if t == nil || !t.Members[rest[3]] {
			f.errorJSON(w, http.StatusNotFound, "Not Found")
			return
		}
		switch r.Method {
		case http.MethodGet:
			f.writeJSON(w, http.StatusOK, map[string]any{
				"url":  "https://api.github.com/teams/" + strconv.FormatInt(t.ID, 10) + "/memberships/" + rest[3],
				"role": "member", "state": "active",
			})
		case http.MethodDelete:
			delete(t.Members, rest[3])
			w.WriteHeader(http.StatusNoContent)
		default:
			f.errorJSON(w, http.StatusNotFound, "Not Found")
		}
	case len(rest) == 2 && rest[0] == "memberships":
		login := rest[1]
		role, ok := f.members[login]
		if !ok {
			f.errorJSON(w, http.StatusNotFound, "Not Found")
			return
		}
		switch r.Method {
		case http.MethodGet:
			state := "active"
			if f.pending[login] {
				state = "pending"
			}
			f.writeJSON(w, http.StatusOK, map[string]any{
				"url":              "https://api.github.com/orgs/" + f.org + "/memberships/" + login,
				"state":            state,
				"role":             role,
				"organization_url": "https://api.github.com/orgs/" + f.org,
				"organization":     f.orgSimple(),
				"user":             f.simpleUser(f.byLogin[login]),
			})
		case http.MethodDelete:
			delete(f.members, login)
			delete(f.pending, login)
			for _, t := range f.teams {
				delete(t.Members, login)
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			f.errorJSON(w, http.StatusNotFound, "Not Found")
		}
	case r.Method == http.MethodGet && len(rest) == 1 && rest[0] == "credential-authorizations":
		if !f.saml {
			f.errorJSON(w, http.StatusNotFound, "Not Found")
			return
		}
		login := r.URL.Query().Get("login")
		var out []*fakeCred
		for _, c := range f.creds {
			if login == "" || strings.EqualFold(c.Login, login) {
				out = append(out, c)
			}
		}
		f.page(w, r, len(out), func(i int) any { return credJSON(out[i]) })
	case r.Method == http.MethodDelete && len(rest) == 2 && rest[0] == "credential-authorizations":
		id, err := strconv.ParseInt(rest[1], 10, 64)
		i := slices.IndexFunc(f.creds, func(c *fakeCred) bool { return c.ID == id })
		if err != nil || i < 0 {
			f.errorJSON(w, http.StatusNotFound, "Not Found")
			return
		}
		f.creds = slices.Delete(f.creds, i, i+1)
		w.WriteHeader(http.StatusNoContent)
	default:
		f.errorJSON(w, http.StatusNotFound, "Not Found")
	}
}

func (f *fakeGitHub) listMembers(w http.ResponseWriter, r *http.Request) {
	role := r.URL.Query().Get("role")
	var out []*fakeUser
	for _, l := range sortedKeys(f.members) {
		if f.pending[l] {
			continue // /members lists only members who accepted
		}
		if role == "" || role == "all" || role == f.members[l] {
			out = append(out, f.byLogin[l])
		}
	}
	f.page(w, r, len(out), func(i int) any { return f.simpleUser(out[i]) })
}

// page writes items [start,end) of a list of n for the request's page and
// per_page, with a Link header as GitHub sends it.
func (f *fakeGitHub) page(w http.ResponseWriter, r *http.Request, n int, item func(i int) any) {
	q := r.URL.Query()
	per := 30
	if s := q.Get("per_page"); s != "" {
		per, _ = strconv.Atoi(s)
	}
	per = min(max(per, 1), 100)
	pg := 1
	if s := q.Get("page"); s != "" {
		pg, _ = strconv.Atoi(s)
	}
	pg = max(pg, 1)
	start := min((pg-1)*per, n)
	end := min(start+per, n)
	out := make([]any, 0, end-start)
	for i := start; i < end; i++ {
		out = append(out, item(i))
	}
	last := max((n+per-1)/per, 1)
	var links []string
	link := func(p int, rel string) {
		u := *r.URL
		u.Scheme, u.Host = "https", "api.github.com"
		qq := u.Query()
		qq.Set("page", strconv.Itoa(p))
		qq.Set("per_page", strconv.Itoa(per))
		u.RawQuery = qq.Encode()
		links = append(links, fmt.Sprintf("<%s>; rel=%q", u.String(), rel))
	}
	if pg < last {
		link(pg+1, "next")
		link(last, "last")
	}
	if pg > 1 {
		link(1, "first")
		link(pg-1, "prev")
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	f.writeJSON(w, http.StatusOK, out)
}

func (f *fakeGitHub) getUserByID(w http.ResponseWriter, s string) {
	id, err := strconv.ParseInt(s, 10, 64)
	f.mu.Lock()
	u, ok := f.users[id]
	f.mu.Unlock()
	if err != nil || !ok {
		f.errorJSON(w, http.StatusNotFound, "Not Found")
		return
	}
	pu := f.simpleUser(u)
	delete(pu, "email")
	for k, v := range map[string]any{
		"name": u.Name, "bio": nil, "blog": nil, "company": nil, "email": nil, "followers": 0, "following": 0,
		"hireable": nil, "location": nil, "public_gists": 0, "public_repos": 0,
		"created_at": "2020-01-02T03:04:05Z", "updated_at": "2024-01-02T03:04:05Z",
	} {
		pu[k] = v
	}
	f.writeJSON(w, http.StatusOK, pu)
}

func (f *fakeGitHub) simpleUser(u *fakeUser) map[string]any {
	api := "https://api.github.com/users/" + u.Login
	return map[string]any{
		"login": u.Login, "id": u.ID, "node_id": fmt.Sprintf("MDQ6VXNlcj%d", u.ID),
		"avatar_url": "https://avatars.githubusercontent.com/u/" + strconv.FormatInt(u.ID, 10), "gravatar_id": "",
		"url": api, "html_url": "https://github.com/" + u.Login,
		"followers_url": api + "/followers", "following_url": api + "/following{/other_user}",
		"gists_url": api + "/gists{/gist_id}", "starred_url": api + "/starred{/owner}{/repo}",
		"subscriptions_url": api + "/subscriptions", "organizations_url": api + "/orgs",
		"repos_url": api + "/repos", "events_url": api + "/events{/privacy}",
		"received_events_url": api + "/received_events", "type": "User", "site_admin": false,
		"name": u.Name, "email": nil, "user_view_type": "public",
	}
}

func (f *fakeGitHub) orgSimple() map[string]any {
	api := "https://api.github.com/orgs/" + f.org
	return map[string]any{
		"login": f.org, "url": api, "id": 4242, "node_id": "MDEyOk9yZ2FuaXphdGlvbjQyNDI=",
		"repos_url": api + "/repos", "events_url": api + "/events", "hooks_url": api + "/hooks",
		"issues_url": api + "/issues", "members_url": api + "/members{/member}",
		"public_members_url": api + "/public_members{/member}",
		"avatar_url":         "https://avatars.githubusercontent.com/u/4242", "description": nil,
	}
}

func (f *fakeGitHub) team(t *fakeTeam) map[string]any {
	api := "https://api.github.com/organizations/4242/team/" + strconv.FormatInt(t.ID, 10)
	return map[string]any{
		"id": t.ID, "node_id": fmt.Sprintf("MDQ6VGVhbT%d", t.ID), "url": api, "members_url": api + "/members{/member}",
		"name": t.Name, "slug": t.Slug, "description": nil, "permission": "pull", "privacy": "closed",
		"html_url": "https://github.com/orgs/" + f.org + "/teams/" + t.Slug, "repositories_url": api + "/repos",
		"parent": nil, "type": "organization",
	}
}

// teamFull is the team-full schema (GET /orgs/{org}/teams/{team_slug}).
func (f *fakeGitHub) teamFull(t *fakeTeam) map[string]any {
	m := f.team(t)
	delete(m, "parent")
	m["members_count"], m["repos_count"] = len(t.Members), 0
	m["created_at"], m["updated_at"] = "2020-01-02T03:04:05Z", "2024-01-02T03:04:05Z"
	m["organization"] = f.teamOrg()
	return m
}

func (f *fakeGitHub) teamOrg() map[string]any {
	m := f.orgSimple()
	for k, v := range map[string]any{
		"html_url": "https://github.com/" + f.org, "has_organization_projects": true, "has_repository_projects": true,
		"public_repos": 0, "public_gists": 0, "followers": 0, "following": 0, "type": "Organization",
		"created_at": "2019-01-02T03:04:05Z", "updated_at": "2024-01-02T03:04:05Z", "archived_at": nil,
	} {
		m[k] = v
	}
	return m
}

func credJSON(c *fakeCred) map[string]any {
	m := map[string]any{
		"login": c.Login, "credential_id": c.ID, "credential_type": c.Type,
		"credential_authorized_at": c.Authorized.UTC().Format(time.RFC3339),
		"credential_accessed_at":   nil,
		"authorized_credential_id": c.UnderlyingID,
	}
	if c.Accessed != nil {
		m["credential_accessed_at"] = c.Accessed.UTC().Format(time.RFC3339)
	}
	switch c.Type {
	case "SSH key":
		m["fingerprint"] = fmt.Sprintf("SHA256:fp%d", c.ID)
		m["authorized_credential_title"] = c.Title
	default:
		m["token_last_eight"] = fmt.Sprintf("%08d", c.ID)
		m["authorized_credential_note"] = c.Title
		m["scopes"] = []string{"repo", "read:org"}
	}
	return m
}

func (f *fakeGitHub) teamBySlug(slug string) *fakeTeam {
	for _, t := range f.teams {
		if t.Slug == slug {
			return t
		}
	}
	return nil
}

func (f *fakeGitHub) writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-RateLimit-Limit", "5000")
	w.Header().Set("X-RateLimit-Remaining", "4999")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeGitHub) errorJSON(w http.ResponseWriter, code int, msg string) {
	f.writeJSON(w, code, map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

// ---- GraphQL ------------------------------------------------------------

// serveGraphQL answers the connector's SAML identity query:
// organization(login).samlIdentityProvider.externalIdentities(first, after,
// login), with GitHub's cursor paging (pageInfo.hasNextPage/endCursor).
func (f *fakeGitHub) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	f.graphql.Add(1)
	var req struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&req) != nil {
		f.writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Problems parsing JSON"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, req.Query)
	org, _ := req.Variables["org"].(string)
	if org != f.org {
		f.writeJSON(w, http.StatusOK, map[string]any{
			"data":   map[string]any{"organization": nil},
			"errors": []any{map[string]any{"type": "NOT_FOUND", "path": []string{"organization"}, "message": "Could not resolve to an Organization with the login of '" + org + "'."}},
		})
		return
	}
	if !f.saml {
		f.writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"organization": map[string]any{"samlIdentityProvider": nil}}})
		return
	}
	login, _ := req.Variables["login"].(string)
	first := 100
	if v, ok := req.Variables["first"].(float64); ok {
		first = int(v)
	}
	after := 0
	if c, _ := req.Variables["cursor"].(string); c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, "cur:"))
		if err != nil {
			f.writeJSON(w, http.StatusOK, map[string]any{"errors": []any{map[string]any{"message": "invalid cursor"}}})
			return
		}
		after = n
	}
	logins := sortedKeys(f.nameIDs)
	if login != "" {
		logins = slices.DeleteFunc(logins, func(l string) bool { return l != login })
	}
	end := min(after+first, len(logins))
	var nodes []any
	for i := min(after, end); i < end; i++ {
		l := logins[i]
		var user any
		if u := f.byLogin[l]; u != nil {
			user = map[string]any{"login": u.Login, "databaseId": u.ID}
		}
		nodes = append(nodes, map[string]any{
			"samlIdentity": map[string]any{"nameId": f.nameIDs[l]},
			"user":         user,
		})
	}
	f.writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"organization": map[string]any{
		"samlIdentityProvider": map[string]any{"externalIdentities": map[string]any{
			"pageInfo": map[string]any{"hasNextPage": end < len(logins), "endCursor": "cur:" + strconv.Itoa(end)},
			"nodes":    nodes,
		}},
	}}})
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

var _ = url.Values{}
