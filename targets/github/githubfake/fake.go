// Package githubfake is a stateful fake of the parts of GitHub's REST API
// (and the SAML identities GraphQL query) the github connector uses, an
// http.Handler, for tests of the connector and of whatever drives it
// (end-to-end tests of the command). Tests put it behind Prism with GitHub's
// own description (SpecPath, cut down by PruneSpec to UsedOperations).
package githubfake

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

// GitHub is a stateful fake of the part of GitHub's REST API (and of the
// GraphQL SAML identity query) that the connector uses. Its REST responses
// are shaped by GitHub's own OpenAPI description (ghec.json of
// @octokit/openapi): the tests run it behind the Prism validating proxy, so
// a field the description does not allow, or one it requires and the fake
// leaves out, fails the test. GraphQL is not OpenAPI: the query the
// connector sends is validated against GitHub's GraphQL schema instead
// (graphql_test.go).
type GitHub struct {
	Org   string
	Token string

	Mu         sync.Mutex
	Users      map[int64]*User // every GitHub user the fake knows
	ByLogin    map[string]*User
	Members    map[string]string // login -> role (admin | member)
	Pending    map[string]bool   // login -> invitation not yet accepted
	Outside    map[string]bool   // outside collaborators
	Teams      []*Team
	Creds      []*Cred
	SAML       bool              // the org uses SAML SSO
	NameIDs    map[string]string // login -> SAML nameId
	NextCredID int64

	// fail, when set, may answer a request itself (throttling, errors);
	// it returns false to let the request through.
	Fail func(w http.ResponseWriter, r *http.Request) bool

	Calls   atomic.Int64 // REST and GraphQL requests served
	GraphQL atomic.Int64 // GraphQL requests served
	Queries []string     // GraphQL query texts received
}

type User struct {
	ID    int64
	Login string
	Name  string
}

type Team struct {
	ID      int64
	Slug    string
	Name    string
	Members map[string]bool
}

type Cred struct {
	ID           int64
	Login        string
	Type         string // "personal access token" | "SSH key" | ...
	Authorized   time.Time
	Accessed     *time.Time // nil: never used
	UnderlyingID int64
	Title        string
}

func New(org, token string) *GitHub {
	return &GitHub{
		Org: org, Token: token,
		Users: map[int64]*User{}, ByLogin: map[string]*User{},
		Members: map[string]string{}, Pending: map[string]bool{}, Outside: map[string]bool{},
		SAML: true, NameIDs: map[string]string{}, NextCredID: 1000,
	}
}

// addUser creates a GitHub user (not yet in the org).
func (f *GitHub) AddUser(id int64, login, name string) *User {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	u := &User{ID: id, Login: login, Name: name}
	f.Users[id], f.ByLogin[login] = u, u
	return u
}

// addMember creates a user and makes it an org member with role.
func (f *GitHub) AddMember(id int64, login, role, nameID string) {
	f.AddUser(id, login, strings.ToUpper(login[:1])+login[1:])
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.Members[login] = role
	if nameID != "" {
		f.NameIDs[login] = nameID
	}
}

func (f *GitHub) AddTeam(id int64, slug, name string, members ...string) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	t := &Team{ID: id, Slug: slug, Name: name, Members: map[string]bool{}}
	for _, m := range members {
		t.Members[m] = true
	}
	f.Teams = append(f.Teams, t)
}

func (f *GitHub) AddCred(login, typ string, authorized time.Time, accessed *time.Time) int64 {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.NextCredID++
	f.Creds = append(f.Creds, &Cred{ID: f.NextCredID, Login: login, Type: typ, Authorized: authorized,
		Accessed: accessed, UnderlyingID: f.NextCredID * 7, Title: typ + " of " + login})
	return f.NextCredID
}

func (f *GitHub) IsMember(login string) bool {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	_, ok := f.Members[login]
	return ok
}

func (f *GitHub) CredCount(login string) int {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	n := 0
	for _, c := range f.Creds {
		if c.Login == login {
			n++
		}
	}
	return n
}

func (f *GitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.Calls.Add(1)
	if f.Fail != nil && f.Fail(w, r) {
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.Token {
		f.ErrorJSON(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	if r.URL.Path == "/graphql" || r.URL.Path == "/api/graphql" {
		f.ServeGraphQL(w, r)
		return
	}
	seg := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	// Every path starts /orgs/{org}/... except /user/{account_id}.
	if len(seg) == 2 && seg[0] == "user" && r.Method == http.MethodGet {
		f.GetUserByID(w, seg[1])
		return
	}
	if len(seg) < 3 || seg[0] != "orgs" {
		f.ErrorJSON(w, http.StatusNotFound, "Not Found")
		return
	}
	if seg[1] != f.Org {
		f.ErrorJSON(w, http.StatusNotFound, "Not Found")
		return
	}
	f.Mu.Lock()
	defer f.Mu.Unlock()
	rest := seg[2:]
	switch {
	case rest[0] == "members" && len(rest) == 1 && r.Method == http.MethodGet:
		f.ListMembers(w, r)
	case rest[0] == "outside_collaborators":
		f.serveOutsideCollaborators(w, r, rest)
	case rest[0] == "teams":
		f.serveTeams(w, r, rest)
	case rest[0] == "memberships" && len(rest) == 2:
		f.serveOrgMembership(w, r, rest[1])
	case rest[0] == "credential-authorizations":
		f.serveCredentialAuthorizations(w, r, rest)
	default:
		f.ErrorJSON(w, http.StatusNotFound, "Not Found")
	}
}

// serveOutsideCollaborators answers /orgs/{org}/outside_collaborators: the
// listing, and removal of one.
func (f *GitHub) serveOutsideCollaborators(w http.ResponseWriter, r *http.Request, rest []string) {
	switch {
	case r.Method == http.MethodGet && len(rest) == 1:
		var out []*User
		for _, l := range SortedKeys(f.Outside) {
			out = append(out, f.ByLogin[l])
		}
		f.Page(w, r, len(out), func(i int) any { return f.SimpleUser(out[i]) })
	case len(rest) == 2 && r.Method == http.MethodDelete:
		delete(f.Outside, rest[1])
		w.WriteHeader(http.StatusNoContent)
	default:
		f.ErrorJSON(w, http.StatusNotFound, "Not Found")
	}
}

// serveTeams answers /orgs/{org}/teams and below: the teams, one team, its
// members, and one member's team membership.
func (f *GitHub) serveTeams(w http.ResponseWriter, r *http.Request, rest []string) {
	switch {
	case r.Method == http.MethodGet && len(rest) == 1:
		f.Page(w, r, len(f.Teams), func(i int) any { return f.Team(f.Teams[i]) })
	case r.Method == http.MethodGet && len(rest) == 2:
		t := f.TeamBySlug(rest[1])
		if t == nil {
			f.ErrorJSON(w, http.StatusNotFound, "Not Found")
			return
		}
		f.WriteJSON(w, http.StatusOK, f.TeamFull(t))
	case r.Method == http.MethodGet && len(rest) == 3 && rest[2] == "members":
		t := f.TeamBySlug(rest[1])
		if t == nil {
			f.ErrorJSON(w, http.StatusNotFound, "Not Found")
			return
		}
		ms := SortedKeys(t.Members)
		f.Page(w, r, len(ms), func(i int) any { return f.SimpleUser(f.ByLogin[ms[i]]) })
	case len(rest) == 4 && rest[2] == "memberships":
		f.serveTeamMembership(w, r, rest[1], rest[3])
	default:
		f.ErrorJSON(w, http.StatusNotFound, "Not Found")
	}
}

// serveTeamMembership answers /orgs/{org}/teams/{slug}/memberships/{login}:
// reading and removing one member's membership of a team.
func (f *GitHub) serveTeamMembership(w http.ResponseWriter, r *http.Request, slug, login string) {
	t := f.TeamBySlug(slug)
	if t == nil || !t.Members[login] {
		f.ErrorJSON(w, http.StatusNotFound, "Not Found")
		return
	}
	switch r.Method {
	case http.MethodGet:
		f.WriteJSON(w, http.StatusOK, map[string]any{
			"url":  "https://api.github.com/teams/" + strconv.FormatInt(t.ID, 10) + "/memberships/" + login,
			"role": "member", "state": "active",
		})
	case http.MethodDelete:
		delete(t.Members, login)
		w.WriteHeader(http.StatusNoContent)
	default:
		f.ErrorJSON(w, http.StatusNotFound, "Not Found")
	}
}

// serveOrgMembership answers /orgs/{org}/memberships/{login}: reading one
// member's organization membership, and removing the member (from the
// organization and all its teams).
func (f *GitHub) serveOrgMembership(w http.ResponseWriter, r *http.Request, login string) {
	role, ok := f.Members[login]
	if !ok {
		f.ErrorJSON(w, http.StatusNotFound, "Not Found")
		return
	}
	switch r.Method {
	case http.MethodGet:
		state := "active"
		if f.Pending[login] {
			state = "pending"
		}
		f.WriteJSON(w, http.StatusOK, map[string]any{
			"url":              "https://api.github.com/orgs/" + f.Org + "/memberships/" + login,
			"state":            state,
			"role":             role,
			"organization_url": "https://api.github.com/orgs/" + f.Org,
			"organization":     f.OrgSimple(),
			"user":             f.SimpleUser(f.ByLogin[login]),
		})
	case http.MethodDelete:
		delete(f.Members, login)
		delete(f.Pending, login)
		for _, t := range f.Teams {
			delete(t.Members, login)
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		f.ErrorJSON(w, http.StatusNotFound, "Not Found")
	}
}

// serveCredentialAuthorizations answers
// /orgs/{org}/credential-authorizations (SAML organizations only): the
// listing, optionally for one login, and revoking one.
func (f *GitHub) serveCredentialAuthorizations(w http.ResponseWriter, r *http.Request, rest []string) {
	switch {
	case r.Method == http.MethodGet && len(rest) == 1:
		if !f.SAML {
			f.ErrorJSON(w, http.StatusNotFound, "Not Found")
			return
		}
		login := r.URL.Query().Get("login")
		var out []*Cred
		for _, c := range f.Creds {
			if login == "" || strings.EqualFold(c.Login, login) {
				out = append(out, c)
			}
		}
		f.Page(w, r, len(out), func(i int) any { return CredJSON(out[i]) })
	case r.Method == http.MethodDelete && len(rest) == 2:
		id, err := strconv.ParseInt(rest[1], 10, 64)
		i := slices.IndexFunc(f.Creds, func(c *Cred) bool { return c.ID == id })
		if err != nil || i < 0 {
			f.ErrorJSON(w, http.StatusNotFound, "Not Found")
			return
		}
		f.Creds = slices.Delete(f.Creds, i, i+1)
		w.WriteHeader(http.StatusNoContent)
	default:
		f.ErrorJSON(w, http.StatusNotFound, "Not Found")
	}
}

func (f *GitHub) ListMembers(w http.ResponseWriter, r *http.Request) {
	role := r.URL.Query().Get("role")
	var out []*User
	for _, l := range SortedKeys(f.Members) {
		if f.Pending[l] {
			continue // /members lists only members who accepted
		}
		if role == "" || role == "all" || role == f.Members[l] {
			out = append(out, f.ByLogin[l])
		}
	}
	f.Page(w, r, len(out), func(i int) any { return f.SimpleUser(out[i]) })
}

// page writes items [start,end) of a list of n for the request's page and
// per_page, with a Link header as GitHub sends it.
func (f *GitHub) Page(w http.ResponseWriter, r *http.Request, n int, item func(i int) any) {
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
	f.WriteJSON(w, http.StatusOK, out)
}

func (f *GitHub) GetUserByID(w http.ResponseWriter, s string) {
	id, err := strconv.ParseInt(s, 10, 64)
	f.Mu.Lock()
	u, ok := f.Users[id]
	f.Mu.Unlock()
	if err != nil || !ok {
		f.ErrorJSON(w, http.StatusNotFound, "Not Found")
		return
	}
	pu := f.SimpleUser(u)
	delete(pu, "email")
	for k, v := range map[string]any{
		"name": u.Name, "bio": nil, "blog": nil, "company": nil, "email": nil, "followers": 0, "following": 0,
		"hireable": nil, "location": nil, "public_gists": 0, "public_repos": 0,
		"created_at": "2020-01-02T03:04:05Z", "updated_at": "2024-01-02T03:04:05Z",
	} {
		pu[k] = v
	}
	f.WriteJSON(w, http.StatusOK, pu)
}

func (f *GitHub) SimpleUser(u *User) map[string]any {
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

func (f *GitHub) OrgSimple() map[string]any {
	api := "https://api.github.com/orgs/" + f.Org
	return map[string]any{
		"login": f.Org, "url": api, "id": 4242, "node_id": "MDEyOk9yZ2FuaXphdGlvbjQyNDI=",
		"repos_url": api + "/repos", "events_url": api + "/events", "hooks_url": api + "/hooks",
		"issues_url": api + "/issues", "members_url": api + "/members{/member}",
		"public_members_url": api + "/public_members{/member}",
		"avatar_url":         "https://avatars.githubusercontent.com/u/4242", "description": nil,
	}
}

func (f *GitHub) Team(t *Team) map[string]any {
	api := "https://api.github.com/organizations/4242/team/" + strconv.FormatInt(t.ID, 10)
	return map[string]any{
		"id": t.ID, "node_id": fmt.Sprintf("MDQ6VGVhbT%d", t.ID), "url": api, "members_url": api + "/members{/member}",
		"name": t.Name, "slug": t.Slug, "description": nil, "permission": "pull", "privacy": "closed",
		"html_url": "https://github.com/orgs/" + f.Org + "/teams/" + t.Slug, "repositories_url": api + "/repos",
		"parent": nil, "type": "organization",
	}
}

// teamFull is the team-full schema (GET /orgs/{org}/teams/{team_slug}).
func (f *GitHub) TeamFull(t *Team) map[string]any {
	m := f.Team(t)
	delete(m, "parent")
	m["members_count"], m["repos_count"] = len(t.Members), 0
	m["created_at"], m["updated_at"] = "2020-01-02T03:04:05Z", "2024-01-02T03:04:05Z"
	m["organization"] = f.TeamOrg()
	return m
}

func (f *GitHub) TeamOrg() map[string]any {
	m := f.OrgSimple()
	for k, v := range map[string]any{
		"html_url": "https://github.com/" + f.Org, "has_organization_projects": true, "has_repository_projects": true,
		"public_repos": 0, "public_gists": 0, "followers": 0, "following": 0, "type": "Organization",
		"created_at": "2019-01-02T03:04:05Z", "updated_at": "2024-01-02T03:04:05Z", "archived_at": nil,
	} {
		m[k] = v
	}
	return m
}

func CredJSON(c *Cred) map[string]any {
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

func (f *GitHub) TeamBySlug(slug string) *Team {
	for _, t := range f.Teams {
		if t.Slug == slug {
			return t
		}
	}
	return nil
}

func (f *GitHub) WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-RateLimit-Limit", "5000")
	w.Header().Set("X-RateLimit-Remaining", "4999")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *GitHub) ErrorJSON(w http.ResponseWriter, code int, msg string) {
	f.WriteJSON(w, code, map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

// ---- GraphQL ------------------------------------------------------------

// serveGraphQL answers the connector's SAML identity query:
// organization(login).samlIdentityProvider.externalIdentities(first, after,
// login), with GitHub's cursor paging (pageInfo.hasNextPage/endCursor).
func (f *GitHub) ServeGraphQL(w http.ResponseWriter, r *http.Request) {
	f.GraphQL.Add(1)
	var req struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&req) != nil {
		f.WriteJSON(w, http.StatusBadRequest, map[string]any{"message": "Problems parsing JSON"})
		return
	}
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.Queries = append(f.Queries, req.Query)
	org, _ := req.Variables["org"].(string)
	if org != f.Org {
		f.WriteJSON(w, http.StatusOK, map[string]any{
			"data":   map[string]any{"organization": nil},
			"errors": []any{map[string]any{"type": "NOT_FOUND", "path": []string{"organization"}, "message": "Could not resolve to an Organization with the login of '" + org + "'."}},
		})
		return
	}
	if !f.SAML {
		f.WriteJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"organization": map[string]any{"samlIdentityProvider": nil}}})
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
			f.WriteJSON(w, http.StatusOK, map[string]any{"errors": []any{map[string]any{"message": "invalid cursor"}}})
			return
		}
		after = n
	}
	logins := SortedKeys(f.NameIDs)
	if login != "" {
		logins = slices.DeleteFunc(logins, func(l string) bool { return l != login })
	}
	end := min(after+first, len(logins))
	var nodes []any
	for i := min(after, end); i < end; i++ {
		l := logins[i]
		var user any
		if u := f.ByLogin[l]; u != nil {
			user = map[string]any{"login": u.Login, "databaseId": u.ID}
		}
		nodes = append(nodes, map[string]any{
			"samlIdentity": map[string]any{"nameId": f.NameIDs[l]},
			"user":         user,
		})
	}
	f.WriteJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"organization": map[string]any{
		"samlIdentityProvider": map[string]any{"externalIdentities": map[string]any{
			"pageInfo": map[string]any{"hasNextPage": end < len(logins), "endCursor": "cur:" + strconv.Itoa(end)},
			"nodes":    nodes,
		}},
	}}})
}

func SortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

var _ = url.Values{}
