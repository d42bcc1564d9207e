package okta

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// fakeOkta is a stateful Okta org: users with lifecycle states, groups
// (OKTA_GROUP, APP_GROUP, BUILT_IN) and their members, admin role
// assignments, sessions, OAuth grants and tokens, API tokens, and the org
// authorization server's token endpoint for private_key_jwt service apps. It
// serves the Management API routes the connector uses, shaped as
// testdata/management-minimal.yaml describes them (tests run it behind Prism,
// which holds it to that description), with Okta's error bodies, cursor paging
// through Link headers, per-endpoint X-Rate-Limit-* headers (enforced with
// 429), and faults a test injects. Its clock is fake: the connector's sleeps
// advance it.
type fakeOkta struct {
	mu sync.Mutex

	clock time.Time

	ssws         string                    // the accepted API token ("" : none)
	clients      map[string]*rsa.PublicKey // OAuth service apps: client_id → public key
	clientScope  map[string][]string       // scopes each client was granted
	tokenURL     string                    // the aud a client assertion must carry
	tokenTTL     time.Duration
	access       map[string]fakeAccess
	jtis         map[string]bool
	tokensIssued int

	users           []*fUser // kept sorted by id: the listing order
	byID            map[string]*fUser
	groups          []*fGroup
	groupByID       map[string]*fGroup
	roles           map[string][]string // user id → role types assigned to the user directly
	apiTokens       []*fAPIToken
	seq             int
	maxLimit        int // the most results a page holds whatever limit asks (Okta: 200 for users)
	rateLimit       int // requests per endpoint per minute (0: unlimited, no headers)
	buckets         map[string]*fBucket
	faults          []*fault
	echoAuth        bool // error bodies echo the request's Authorization header (a careless proxy)
	invalidateAfter int  // after this many more API requests, every access token stops working (0: never)

	requests []string // "METHOD /path?query" of every request, token requests included
	got429   int
}

type fakeAccess struct {
	expires time.Time
	scopes  []string
}

type fUser struct {
	ID            string
	Status        string
	Created       time.Time
	Activated     time.Time
	StatusChanged time.Time
	LastLogin     time.Time
	LastUpdated   time.Time
	Profile       map[string]any
	Sessions      int
	OAuthTokens   int
	Grants        int
}

type fGroup struct {
	ID      string
	Type    string // OKTA_GROUP, APP_GROUP, BUILT_IN
	Name    string
	Admin   bool // a role is assigned to the group (its members hold it)
	Members map[string]bool
}

type fAPIToken struct {
	ID, Name, UserID  string
	Created, LastUsed time.Time // Okta renews expiresAt = last use + tokenWindow on every use
}

type fBucket struct {
	windowStart time.Time
	used        int
}

// fault answers the next matching request (after skip matching ones) with
// status, headers and body instead of serving it.
type fault struct {
	method, path string // path without query; "" matches any
	skip         int
	times        int // how many requests it answers (0 counts as 1)
	status       int
	header       map[string]string
	body         string
}

var fakeEpoch = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

func newFakeOkta() *fakeOkta {
	return &fakeOkta{
		clock:       fakeEpoch,
		clients:     map[string]*rsa.PublicKey{},
		clientScope: map[string][]string{},
		tokenTTL:    time.Hour,
		access:      map[string]fakeAccess{},
		jtis:        map[string]bool{},
		byID:        map[string]*fUser{},
		groupByID:   map[string]*fGroup{},
		roles:       map[string][]string{},
		maxLimit:    200,
		buckets:     map[string]*fBucket{},
	}
}

// now and sleep are the connector's clock in tests: sleeping advances the
// fake's time.
func (f *fakeOkta) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.clock
}

func (f *fakeOkta) advance(d time.Duration) {
	f.mu.Lock()
	f.clock = f.clock.Add(d)
	f.mu.Unlock()
}

func (f *fakeOkta) nextID(prefix string) string {
	f.seq++
	return fmt.Sprintf("%s%017d", prefix, f.seq)
}

// addUser adds a user with login <name>@example.com and employeeNumber emp
// in status. It returns the user's id.
func (f *fakeOkta) addUser(name, emp, status string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := &fUser{
		ID:          f.nextID("00u"),
		Status:      status,
		Created:     fakeEpoch.Add(-400 * 24 * time.Hour),
		LastUpdated: fakeEpoch.Add(-24 * time.Hour),
		Profile: map[string]any{
			"login":     name + "@example.com",
			"email":     name + "@example.com",
			"firstName": "First",
			"lastName":  name,
		},
	}
	if emp != "" {
		u.Profile["employeeNumber"] = emp
	}
	if status != "STAGED" && status != "PROVISIONED" {
		u.Activated = u.Created
		u.LastLogin = fakeEpoch.Add(-2 * 24 * time.Hour)
	}
	u.StatusChanged = u.Created
	f.users = append(f.users, u)
	f.byID[u.ID] = u
	return u.ID
}

func (f *fakeOkta) addGroup(name, typ string, admin bool, members ...string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := &fGroup{ID: f.nextID("00g"), Type: typ, Name: name, Admin: admin, Members: map[string]bool{}}
	for _, m := range members {
		g.Members[m] = true
	}
	f.groups = append(f.groups, g)
	f.groupByID[g.ID] = g
	return g.ID
}

func (f *fakeOkta) addAPIToken(userID, name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fAPIToken{ID: f.nextID("00T"), Name: name, UserID: userID, Created: fakeEpoch.Add(-90 * 24 * time.Hour), LastUsed: fakeEpoch.Add(-3 * 24 * time.Hour)}
	f.apiTokens = append(f.apiTokens, t)
	return t.ID
}

func (f *fakeOkta) user(id string) fUser {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.byID[id]
}

func (f *fakeOkta) inject(ft *fault) {
	f.mu.Lock()
	f.faults = append(f.faults, ft)
	f.mu.Unlock()
}

func (f *fakeOkta) requestLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// count returns how many requests started with prefix ("GET /api/v1/users").
func (f *fakeOkta) count(prefix string) int {
	n := 0
	for _, r := range f.requestLog() {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

// ---- serving --------------------------------------------------------------

func (f *fakeOkta) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	line := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" {
		line += "?" + r.URL.RawQuery
	}
	f.requests = append(f.requests, line)
	w.Header().Set("Content-Type", "application/json")

	if r.Method == http.MethodPost && r.URL.Path == "/oauth2/v1/token" {
		f.token(w, r)
		return
	}
	route, params := matchRoute(r.Method, r.URL.Path)
	if route == nil {
		f.fail(w, r, http.StatusNotFound, "E0000022", "The endpoint does not support the provided HTTP method")
		return
	}
	if !f.authorized(w, r, route.scope) {
		return
	}
	if f.invalidateAfter > 0 {
		f.invalidateAfter--
		if f.invalidateAfter == 0 {
			clear(f.access) // as if every token had expired early
		}
	}
	for i, ft := range f.faults {
		if (ft.method != "" && ft.method != r.Method) || (ft.path != "" && ft.path != r.URL.Path) {
			continue
		}
		if ft.skip > 0 {
			ft.skip--
			continue
		}
		if ft.times <= 1 {
			f.faults = slices.Delete(f.faults, i, i+1)
		} else {
			ft.times--
		}
		for k, v := range ft.header {
			w.Header().Set(k, v)
		}
		if ft.status == http.StatusTooManyRequests {
			f.got429++
		}
		w.WriteHeader(ft.status)
		_, _ = w.Write([]byte(ft.body))
		return
	}
	if !f.rateLimited(w, route.bucket) {
		return
	}
	route.serve(f, w, r, params)
}

// rateLimited writes the X-Rate-Limit-* headers of the endpoint's bucket and
// answers 429 when the bucket is spent. It reports whether to go on.
func (f *fakeOkta) rateLimited(w http.ResponseWriter, bucket string) bool {
	if f.rateLimit == 0 {
		return true
	}
	b := f.buckets[bucket]
	if b == nil || f.clock.Sub(b.windowStart) >= time.Minute {
		b = &fBucket{windowStart: f.clock.Truncate(time.Minute)}
		f.buckets[bucket] = b
	}
	reset := b.windowStart.Add(time.Minute)
	w.Header().Set("X-Rate-Limit-Limit", strconv.Itoa(f.rateLimit))
	w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(reset.Unix(), 10))
	if b.used >= f.rateLimit {
		w.Header().Set("X-Rate-Limit-Remaining", "0")
		f.got429++
		f.writeError(w, http.StatusTooManyRequests, "E0000047", "API call exceeded rate limit due to too many requests.")
		return false
	}
	b.used++
	w.Header().Set("X-Rate-Limit-Remaining", strconv.Itoa(f.rateLimit-b.used))
	return true
}

func (f *fakeOkta) authorized(w http.ResponseWriter, r *http.Request, scope string) bool {
	h := r.Header.Get("Authorization")
	switch {
	case f.ssws != "" && h == "SSWS "+f.ssws:
		return true
	case strings.HasPrefix(h, "Bearer "):
		a, ok := f.access[strings.TrimPrefix(h, "Bearer ")]
		if !ok || !f.clock.Before(a.expires) {
			break
		}
		if !slices.Contains(a.scopes, scope) {
			f.fail(w, r, http.StatusForbidden, "E0000006", "You do not have permission to perform the requested action")
			return false
		}
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="http://okta.example/oauth2/v1/authorize", realm="http://okta.example", scope="`+scope+`", error="invalid_token", error_description="The access token is invalid."`)
	f.fail(w, r, http.StatusUnauthorized, "E0000011", "Invalid token provided")
	return false
}

// fail writes an Okta error body; with echoAuth it quotes the request's
// Authorization header, as a careless proxy or WAF might.
func (f *fakeOkta) fail(w http.ResponseWriter, r *http.Request, status int, code, summary string) {
	if f.echoAuth {
		summary += " (request had Authorization: " + r.Header.Get("Authorization") + ")"
	}
	f.writeError(w, status, code, summary)
}

func (f *fakeOkta) writeError(w http.ResponseWriter, status int, code, summary string) {
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errorCode":    code,
		"errorSummary": summary,
		"errorLink":    code,
		"errorId":      "oae" + strconv.Itoa(len(f.requests)),
		"errorCauses":  []any{},
	})
}

type route struct {
	method  string
	pattern []string // path segments; "{x}" binds
	scope   string   // the OAuth scope Okta's description requires
	bucket  string   // rate-limit bucket
	serve   func(f *fakeOkta, w http.ResponseWriter, r *http.Request, p map[string]string)
}

var routes = []route{
	{http.MethodGet, seg("/api/v1/users"), "okta.users.read", "users", (*fakeOkta).listUsers},
	{http.MethodGet, seg("/api/v1/users/{id}"), "okta.users.read", "user", (*fakeOkta).getUser},
	{http.MethodGet, seg("/api/v1/users/{id}/groups"), "okta.users.read", "user", (*fakeOkta).userGroups},
	{http.MethodGet, seg("/api/v1/users/{id}/roles"), "okta.roles.read", "roles", (*fakeOkta).userRoles},
	{http.MethodPost, seg("/api/v1/users/{id}/lifecycle/suspend"), "okta.users.manage", "lifecycle", (*fakeOkta).suspend},
	{http.MethodPost, seg("/api/v1/users/{id}/lifecycle/deactivate"), "okta.users.manage", "lifecycle", (*fakeOkta).deactivate},
	{http.MethodDelete, seg("/api/v1/users/{id}/sessions"), "okta.users.manage", "sessions", (*fakeOkta).revokeSessions},
	{http.MethodDelete, seg("/api/v1/users/{id}/grants"), "okta.users.manage", "grants", (*fakeOkta).revokeGrants},
	{http.MethodGet, seg("/api/v1/groups"), "okta.groups.read", "groups", (*fakeOkta).listGroups},
	{http.MethodGet, seg("/api/v1/groups/{gid}"), "okta.groups.read", "group", (*fakeOkta).getGroup},
	{http.MethodGet, seg("/api/v1/groups/{gid}/users"), "okta.groups.read", "members", (*fakeOkta).groupUsers},
	{http.MethodDelete, seg("/api/v1/groups/{gid}/users/{id}"), "okta.groups.manage", "membership", (*fakeOkta).unassign},
	{http.MethodGet, seg("/api/v1/iam/assignees/users"), "okta.roles.read", "roles", (*fakeOkta).roleAssignees},
	{http.MethodGet, seg("/api/v1/api-tokens"), "okta.apiTokens.read", "apitokens", (*fakeOkta).listAPITokens},
	{http.MethodGet, seg("/api/v1/api-tokens/{tid}"), "okta.apiTokens.read", "apitokens", (*fakeOkta).getAPIToken},
	{http.MethodDelete, seg("/api/v1/api-tokens/{tid}"), "okta.apiTokens.manage", "apitokens", (*fakeOkta).revokeAPIToken},
}

func seg(p string) []string { return strings.Split(strings.Trim(p, "/"), "/") }

func matchRoute(method, path string) (*route, map[string]string) {
	parts := seg(path)
	for i := range routes {
		rt := &routes[i]
		if rt.method != method || len(rt.pattern) != len(parts) {
			continue
		}
		p := map[string]string{}
		ok := true
		for j, s := range rt.pattern {
			if strings.HasPrefix(s, "{") {
				p[strings.Trim(s, "{}")] = parts[j]
			} else if s != parts[j] {
				ok = false
				break
			}
		}
		if ok {
			return rt, p
		}
	}
	return nil, nil
}

const oktaTime = "2006-01-02T15:04:05.000Z"

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(oktaTime)
}

// userBody is Okta's User as the fake sends it.
type userBody struct {
	ID              string         `json:"id"`
	Status          string         `json:"status"`
	Created         any            `json:"created"`
	Activated       any            `json:"activated"`
	StatusChanged   any            `json:"statusChanged"`
	LastLogin       any            `json:"lastLogin"`
	LastUpdated     any            `json:"lastUpdated"`
	PasswordChanged any            `json:"passwordChanged"`
	Profile         map[string]any `json:"profile"`
	Links           struct {
		Self struct {
			Href string `json:"href"`
		} `json:"self"`
	} `json:"_links"`
}

func (f *fakeOkta) userJSON(r *http.Request, u *fUser) *userBody {
	b := &userBody{
		ID: u.ID, Status: u.Status, Created: ts(u.Created), Activated: ts(u.Activated), StatusChanged: ts(u.StatusChanged),
		LastLogin: ts(u.LastLogin), LastUpdated: ts(u.LastUpdated), PasswordChanged: ts(u.Created), Profile: u.Profile,
	}
	b.Links.Self.Href = "http://" + r.Host + "/api/v1/users/" + u.ID
	return b
}

func (f *fakeOkta) groupJSON(r *http.Request, g *fGroup, stats bool) map[string]any {
	objectClass := "okta:user_group"
	if g.Type == "APP_GROUP" {
		objectClass = "okta:windows_security_principal"
	}
	out := map[string]any{
		"id":                    g.ID,
		"created":               ts(fakeEpoch.Add(-500 * 24 * time.Hour)),
		"lastUpdated":           ts(fakeEpoch.Add(-500 * 24 * time.Hour)),
		"lastMembershipUpdated": ts(fakeEpoch.Add(-24 * time.Hour)),
		"objectClass":           []string{objectClass},
		"type":                  g.Type,
		"profile":               map[string]any{"name": g.Name, "description": g.Name + " (fake)"},
		"_links": map[string]any{
			"self":  map[string]any{"href": "http://" + r.Host + "/api/v1/groups/" + g.ID},
			"users": map[string]any{"href": "http://" + r.Host + "/api/v1/groups/" + g.ID + "/users"},
		},
	}
	if stats {
		out["_embedded"] = map[string]any{"stats": map[string]any{
			"usersCount":       len(g.Members),
			"appsCount":        0,
			"hasAdminPrivlege": g.Admin, // sic: Okta's spelling
		}}
	}
	return out
}

// page serves, from items sorted by id, the ones matching after the cursor
// (at most limit), with Link: self and, when more match, next (cursor: the
// last id served). It scans from the cursor only, so a big org pages in time
// proportional to the page.
func page[T any](f *fakeOkta, w http.ResponseWriter, r *http.Request, items []T, id func(T) string, match func(T) bool, def int) ([]T, bool) {
	q := r.URL.Query()
	limit := def
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			f.writeError(w, http.StatusBadRequest, "E0000001", "Api validation failed: limit")
			return nil, false
		}
		limit = n
	}
	limit = min(limit, f.maxLimit)
	i := 0
	if after := q.Get("after"); after != "" {
		i = sort.Search(len(items), func(i int) bool { return id(items[i]) > after })
	}
	var out []T
	more := false
	for ; i < len(items); i++ {
		if !match(items[i]) {
			continue
		}
		if len(out) == limit {
			more = true
			break
		}
		out = append(out, items[i])
	}
	self := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	w.Header().Add("Link", fmt.Sprintf(`<%s>; rel="self"`, self.String()))
	if more {
		q.Set("after", id(out[len(out)-1]))
		q.Set("limit", strconv.Itoa(limit))
		next := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: q.Encode()}
		w.Header().Add("Link", fmt.Sprintf(`<%s>; rel="next"`, next.String()))
	}
	return out, true
}

func userID(u *fUser) string { return u.ID }

func (f *fakeOkta) listUsers(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	q := r.URL.Query()
	var match func(*fUser) bool
	var err error
	switch {
	case q.Get("search") != "" && q.Get("filter") != "":
		f.writeError(w, http.StatusBadRequest, "E0000031", "Invalid search criteria.")
		return
	case q.Get("search") != "":
		match, err = parseExpr(q.Get("search"), false)
	case q.Get("filter") != "":
		match, err = parseExpr(q.Get("filter"), true)
	default: // Okta leaves DEPROVISIONED users out unless a search or filter is given
		match = func(u *fUser) bool { return u.Status != "DEPROVISIONED" }
	}
	if err != nil {
		f.writeError(w, http.StatusBadRequest, "E0000031", "Invalid search criteria.")
		return
	}
	pg, ok := page(f, w, r, f.users, userID, match, 200)
	if !ok {
		return
	}
	out := make([]any, len(pg))
	for i, u := range pg {
		out[i] = f.userJSON(r, u)
	}
	_ = json.NewEncoder(w).Encode(out)
}

// parseExpr reads what the fake understands of Okta's filter/search
// language: clauses `attr eq "value"` joined by `or`. filter allows only
// status, id, profile.login/email/firstName/lastName; search any attribute.
func parseExpr(expr string, filter bool) (func(*fUser) bool, error) {
	type clause struct{ attr, value string }
	var cs []clause
	for _, part := range strings.Split(expr, " or ") {
		fields := strings.SplitN(strings.TrimSpace(part), " ", 3)
		if len(fields) != 3 || !strings.EqualFold(fields[1], "eq") {
			return nil, fmt.Errorf("unsupported clause %q", part)
		}
		v, err := strconv.Unquote(fields[2])
		if err != nil {
			return nil, fmt.Errorf("value of %q: %w", part, err)
		}
		allowed := map[string]bool{"status": true, "id": true, "profile.login": true, "profile.email": true, "profile.firstName": true, "profile.lastName": true}
		if filter && !allowed[fields[0]] {
			return nil, fmt.Errorf("filter does not support %s", fields[0])
		}
		cs = append(cs, clause{fields[0], v})
	}
	return func(u *fUser) bool {
		for _, c := range cs {
			var got string
			switch {
			case c.attr == "status":
				got = u.Status
			case c.attr == "id":
				got = u.ID
			case strings.HasPrefix(c.attr, "profile."):
				got, _ = u.Profile[strings.TrimPrefix(c.attr, "profile.")].(string)
			}
			if strings.EqualFold(got, c.value) {
				return true
			}
		}
		return false
	}, nil
}

func (f *fakeOkta) findUser(w http.ResponseWriter, id string) *fUser {
	if u := f.byID[id]; u != nil {
		return u
	}
	for _, u := range f.users { // Okta also takes the login
		if u.Profile["login"] == id {
			return u
		}
	}
	f.writeError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+id+" (User)")
	return nil
}

func (f *fakeOkta) getUser(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if u := f.findUser(w, p["id"]); u != nil {
		_ = json.NewEncoder(w).Encode(f.userJSON(r, u))
	}
}

func (f *fakeOkta) userGroups(w http.ResponseWriter, r *http.Request, p map[string]string) {
	u := f.findUser(w, p["id"])
	if u == nil {
		return
	}
	out := []any{}
	for _, g := range f.groups {
		if g.Members[u.ID] {
			out = append(out, f.groupJSON(r, g, false))
		}
	}
	_ = json.NewEncoder(w).Encode(out)
}

// userRoles lists the user's role assignments, direct (USER) and through
// groups holding a role (GROUP).
func (f *fakeOkta) userRoles(w http.ResponseWriter, r *http.Request, p map[string]string) {
	u := f.findUser(w, p["id"])
	if u == nil {
		return
	}
	out := []any{}
	role := func(typ, assignment string) map[string]any {
		return map[string]any{
			"id": "ra" + u.ID[3:] + typ[:3], "label": typ, "type": typ, "status": "ACTIVE",
			"created": ts(fakeEpoch), "lastUpdated": ts(fakeEpoch), "assignmentType": assignment,
		}
	}
	for _, typ := range f.roles[u.ID] {
		out = append(out, role(typ, "USER"))
	}
	for _, g := range f.groups {
		if g.Admin && g.Members[u.ID] {
			out = append(out, role("USER_ADMIN", "GROUP"))
		}
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (f *fakeOkta) suspend(w http.ResponseWriter, r *http.Request, p map[string]string) {
	u := f.findUser(w, p["id"])
	if u == nil {
		return
	}
	if u.Status != "ACTIVE" {
		f.writeError(w, http.StatusBadRequest, "E0000001", "Api validation failed: Cannot suspend a user that is not active")
		return
	}
	u.Status, u.StatusChanged, u.LastUpdated = "SUSPENDED", f.clock, f.clock
	_, _ = w.Write([]byte("{}")) // Okta answers lifecycle operations with an empty object
}

func (f *fakeOkta) deactivate(w http.ResponseWriter, r *http.Request, p map[string]string) {
	u := f.findUser(w, p["id"])
	if u == nil {
		return
	}
	if u.Status == "DEPROVISIONED" {
		f.writeError(w, http.StatusForbidden, "E0000006", "You do not have permission to perform the requested action")
		return
	}
	u.Status, u.StatusChanged, u.LastUpdated = "DEPROVISIONED", f.clock, f.clock
	u.Sessions, u.OAuthTokens = 0, 0
	_, _ = w.Write([]byte("{}"))
}

func (f *fakeOkta) revokeSessions(w http.ResponseWriter, r *http.Request, p map[string]string) {
	u := f.findUser(w, p["id"])
	if u == nil {
		return
	}
	u.Sessions = 0
	if r.URL.Query().Get("oauthTokens") == "true" {
		u.OAuthTokens = 0
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeOkta) revokeGrants(w http.ResponseWriter, r *http.Request, p map[string]string) {
	u := f.findUser(w, p["id"])
	if u == nil {
		return
	}
	u.Grants = 0
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeOkta) listGroups(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	groups := slices.Clone(f.groups)
	sort.Slice(groups, func(i, j int) bool { return groups[i].ID < groups[j].ID })
	pg, ok := page(f, w, r, groups, func(g *fGroup) string { return g.ID }, func(*fGroup) bool { return true }, 10000)
	if !ok {
		return
	}
	stats := r.URL.Query().Get("expand") == "stats"
	out := make([]any, len(pg))
	for i, g := range pg {
		out[i] = f.groupJSON(r, g, stats)
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (f *fakeOkta) findGroup(w http.ResponseWriter, id string) *fGroup {
	if g := f.groupByID[id]; g != nil {
		return g
	}
	f.writeError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+id+" (UserGroup)")
	return nil
}

func (f *fakeOkta) getGroup(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if g := f.findGroup(w, p["gid"]); g != nil {
		_ = json.NewEncoder(w).Encode(f.groupJSON(r, g, false))
	}
}

func (f *fakeOkta) groupUsers(w http.ResponseWriter, r *http.Request, p map[string]string) {
	g := f.findGroup(w, p["gid"])
	if g == nil {
		return
	}
	pg, ok := page(f, w, r, f.users, userID, func(u *fUser) bool { return g.Members[u.ID] }, 1000)
	if !ok {
		return
	}
	out := make([]any, len(pg))
	for i, u := range pg {
		out[i] = f.userJSON(r, u)
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (f *fakeOkta) unassign(w http.ResponseWriter, r *http.Request, p map[string]string) {
	g := f.findGroup(w, p["gid"])
	if g == nil {
		return
	}
	u := f.findUser(w, p["id"])
	if u == nil {
		return
	}
	if g.Type != "OKTA_GROUP" {
		f.writeError(w, http.StatusForbidden, "E0000006", "You do not have permission to perform the requested action")
		return
	}
	delete(g.Members, u.ID)
	w.WriteHeader(http.StatusNoContent)
}

// roleAssignees lists the users holding a role directly, paged through
// _links.next (not a Link header) as Okta's description says.
func (f *fakeOkta) roleAssignees(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	var ids []string
	for id, rs := range f.roles {
		if len(rs) > 0 && f.byID[id] != nil {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	q := r.URL.Query()
	limit := 100
	if s := q.Get("limit"); s != "" {
		limit, _ = strconv.Atoi(s)
	}
	start := 0
	if after := q.Get("after"); after != "" {
		start = sort.SearchStrings(ids, after)
		if start < len(ids) && ids[start] == after {
			start++
		}
	}
	end := min(start+max(limit, 1), len(ids))
	value := []any{}
	for _, id := range ids[start:end] {
		value = append(value, map[string]any{
			"id":  id,
			"orn": "orn:okta:directory:00o1:users:" + id,
			"_links": map[string]any{
				"self":  map[string]any{"href": "http://" + r.Host + "/api/v1/users/" + id},
				"roles": map[string]any{"href": "http://" + r.Host + "/api/v1/users/" + id + "/roles"},
			},
		})
	}
	out := map[string]any{"value": value}
	if end < len(ids) {
		q.Set("after", ids[end-1])
		out["_links"] = map[string]any{"next": map[string]any{
			"href": (&url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: q.Encode()}).String(),
		}}
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (f *fakeOkta) apiTokenJSON(r *http.Request, t *fAPIToken) map[string]any {
	return map[string]any{
		"id":          t.ID,
		"name":        t.Name,
		"userId":      t.UserID,
		"clientName":  "Okta API",
		"created":     ts(t.Created),
		"lastUpdated": ts(t.Created),
		"expiresAt":   ts(t.LastUsed.Add(30 * 24 * time.Hour)),
		"tokenWindow": "P30D",
		"network":     map[string]any{"connection": "ANYWHERE"},
		"_link":       map[string]any{"self": map[string]any{"href": "http://" + r.Host + "/api/v1/api-tokens/" + t.ID}},
	}
}

func (f *fakeOkta) listAPITokens(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	out := []any{}
	for _, t := range f.apiTokens {
		out = append(out, f.apiTokenJSON(r, t))
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (f *fakeOkta) findAPIToken(w http.ResponseWriter, id string) (int, *fAPIToken) {
	for i, t := range f.apiTokens {
		if t.ID == id {
			return i, t
		}
	}
	f.writeError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+id+" (ApiToken)")
	return -1, nil
}

func (f *fakeOkta) getAPIToken(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if _, t := f.findAPIToken(w, p["tid"]); t != nil {
		_ = json.NewEncoder(w).Encode(f.apiTokenJSON(r, t))
	}
}

func (f *fakeOkta) revokeAPIToken(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if i, t := f.findAPIToken(w, p["tid"]); t != nil {
		f.apiTokens = slices.Delete(f.apiTokens, i, i+1)
		w.WriteHeader(http.StatusNoContent)
	}
}

// ---- the org authorization server's token endpoint ----------------------

// token implements client_credentials with private_key_jwt (RFC 7523): the
// client_assertion must be an RS256 JWT signed by the client's key with
// iss = sub = client_id, aud = the token URL, an exp in the future and a
// jti never seen before; every scope asked for must have been granted.
func (f *fakeOkta) token(w http.ResponseWriter, r *http.Request) {
	oauthErr := func(status int, code, desc string) {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
	}
	if err := r.ParseForm(); err != nil {
		oauthErr(400, "invalid_request", err.Error())
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		oauthErr(400, "invalid_request", "content type "+ct)
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		oauthErr(400, "unsupported_grant_type", "grant_type")
		return
	}
	if r.PostForm.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		oauthErr(401, "invalid_client", "client_assertion_type")
		return
	}
	claims, err := f.verifyAssertion(r.PostForm.Get("client_assertion"))
	if err != nil {
		oauthErr(401, "invalid_client", err.Error())
		return
	}
	scopes := strings.Fields(r.PostForm.Get("scope"))
	if len(scopes) == 0 {
		oauthErr(400, "invalid_scope", "no scope")
		return
	}
	for _, s := range scopes {
		if !slices.Contains(f.clientScope[claims.Iss], s) {
			oauthErr(400, "invalid_scope", "The following scopes are not allowed: "+s)
			return
		}
	}
	f.tokensIssued++
	tok := fmt.Sprintf("at-%d-%s", f.tokensIssued, claims.Jti)
	f.access[tok] = fakeAccess{expires: f.clock.Add(f.tokenTTL), scopes: scopes}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"token_type": "Bearer", "expires_in": int(f.tokenTTL.Seconds()), "access_token": tok, "scope": strings.Join(scopes, " "),
	})
}

type assertionClaims struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Aud string `json:"aud"`
	Exp int64  `json:"exp"`
	Iat int64  `json:"iat"`
	Jti string `json:"jti"`
}

func (f *fakeOkta) verifyAssertion(jwt string) (assertionClaims, error) {
	var c assertionClaims
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return c, fmt.Errorf("client_assertion is not a JWS")
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return c, fmt.Errorf("client_assertion: bad base64url")
	}
	var h struct{ Alg, Typ string }
	if err := json.Unmarshal(hb, &h); err != nil || h.Alg != "RS256" {
		return c, fmt.Errorf("client_assertion: alg %q, want RS256", h.Alg)
	}
	if err := json.Unmarshal(cb, &c); err != nil {
		return c, fmt.Errorf("client_assertion claims: %w", err)
	}
	key := f.clients[c.Iss]
	if key == nil || c.Sub != c.Iss {
		return c, fmt.Errorf("unknown client %q (sub %q)", c.Iss, c.Sub)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
		return c, fmt.Errorf("client_assertion signature: %w", err)
	}
	if c.Aud != f.tokenURL {
		return c, fmt.Errorf("aud %q, want %q", c.Aud, f.tokenURL)
	}
	now := f.clock.Unix()
	if c.Exp <= now || c.Exp > now+3600+60 || c.Iat > now+60 {
		return c, fmt.Errorf("client_assertion exp %d / iat %d out of range at %d", c.Exp, c.Iat, now)
	}
	if c.Jti == "" || f.jtis[c.Jti] {
		return c, fmt.Errorf("client_assertion jti %q missing or replayed", c.Jti)
	}
	f.jtis[c.Jti] = true
	return c, nil
}
