// Package oktafake is a stateful fake of the parts of the Okta Management
// API the okta connector uses (an http.Handler), for tests of the connector
// and of whatever drives it (end-to-end tests of the command). Tests put it
// behind Prism with Okta's own description (SpecPath, SpecOptions), which
// holds both the connector's requests and the fake's answers to it.
package oktafake

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/accessrecon/accessrecon/targets/targettest/specproxy"
)

// Okta is a stateful Okta org: users with lifecycle states, groups
// (OKTA_GROUP, APP_GROUP, BUILT_IN) and their members, admin role
// assignments, sessions, OAuth grants and tokens, API tokens, and the org
// authorization server's token endpoint for private_key_jwt service apps. It
// serves the Management API routes the connector uses, shaped as
// testdata/management-minimal.yaml describes them (tests run it behind Prism,
// which holds it to that description), with Okta's error bodies, cursor paging
// through Link headers, per-endpoint X-Rate-Limit-* headers (enforced with
// 429), and faults a test injects. Its clock is fake: the connector's sleeps
// advance it.
type Okta struct {
	Mu sync.Mutex

	Clock time.Time

	SSWS         string                    // the accepted API token ("" : none)
	Clients      map[string]*rsa.PublicKey // OAuth service apps: client_id → public key
	ClientScope  map[string][]string       // scopes each client was granted
	TokenURL     string                    // the aud a client assertion must carry
	TokenTTL     time.Duration
	Access       map[string]Access
	Jtis         map[string]bool
	TokensIssued int

	Users           []*User // kept sorted by id: the listing order
	ByID            map[string]*User
	Groups          []*Group
	GroupByID       map[string]*Group
	Roles           map[string][]string // user id → role types assigned to the user directly
	APITokens       []*APIToken
	Seq             int
	MaxLimit        int // the most results a page holds whatever limit asks (Okta: 200 for users)
	RateLimit       int // requests per endpoint per minute (0: unlimited, no headers)
	Buckets         map[string]*Bucket
	Faults          []*Fault
	EchoAuth        bool // error bodies echo the request's Authorization header (a careless proxy)
	InvalidateAfter int  // after this many more API requests, every access token stops working (0: never)

	Requests []string // "METHOD /path?query" of every request, token requests included
	Got429   int
}

type Access struct {
	Expires time.Time
	Scopes  []string
}

type User struct {
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

type Group struct {
	ID      string
	Type    string // OKTA_GROUP, APP_GROUP, BUILT_IN
	Name    string
	Admin   bool // a role is assigned to the group (its members hold it)
	Members map[string]bool
}

type APIToken struct {
	ID, Name, UserID  string
	Created, LastUsed time.Time // Okta renews expiresAt = last use + tokenWindow on every use
}

type Bucket struct {
	WindowStart time.Time
	Used        int
}

// fault answers the next matching request (after skip matching ones) with
// status, headers and body instead of serving it.
type Fault struct {
	Method, Path string // path without query; "" matches any
	Skip         int
	Times        int // how many requests it answers (0 counts as 1)
	Status       int
	Header       map[string]string
	Body         string
}

// SpecPath is Okta's description the fake is held to
// (../testdata/management-minimal.yaml), found from this file's location so
// that any package's tests can start Prism with it.
func SpecPath() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.Join("testdata", "management-minimal.yaml")
	}
	return filepath.Join(filepath.Dir(file), "..", "testdata", "management-minimal.yaml")
}

// SpecOptions hold the corrections of Okta's description, in this one
// place, for Prism in front of the fake (specproxy.Shared or Start). Each
// patch says why; validation is never turned off.
//
// The patches correct Okta's description where it is wrong, in this one
// place. Each patch says why; validation is never turned off.
var SpecOptions = specproxy.Options{Patches: []specproxy.Patch{{
	// TimeDuration (ApiToken.tokenWindow) reads ^P(?:$)(\d+Y)?…(T(?:\d)…: a
	// conversion of the ISO 8601 duration pattern ^P(?!$)…(T(?=\d)… that turned
	// its lookaheads into groups. As published it accepts only "P" (and "PT1…"),
	// while Okta returns "P30D" (see the spec's own ApiToken examples).
	Pointer: "/components/schemas/TimeDuration/pattern",
	Value:   `^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$`,
	Reason:  "ApiToken.tokenWindow pattern accepts only \"P\"; Okta returns \"P30D\"",
}}}

var Epoch = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

func New() *Okta {
	return &Okta{
		Clock:       Epoch,
		Clients:     map[string]*rsa.PublicKey{},
		ClientScope: map[string][]string{},
		TokenTTL:    time.Hour,
		Access:      map[string]Access{},
		Jtis:        map[string]bool{},
		ByID:        map[string]*User{},
		GroupByID:   map[string]*Group{},
		Roles:       map[string][]string{},
		MaxLimit:    200,
		Buckets:     map[string]*Bucket{},
	}
}

// now and sleep are the connector's clock in tests: sleeping advances the
// fake's time.
func (f *Okta) Now() time.Time {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return f.Clock
}

func (f *Okta) Advance(d time.Duration) {
	f.Mu.Lock()
	f.Clock = f.Clock.Add(d)
	f.Mu.Unlock()
}

func (f *Okta) NextID(prefix string) string {
	f.Seq++
	return fmt.Sprintf("%s%017d", prefix, f.Seq)
}

// addUser adds a user with login <name>@example.com and employeeNumber emp
// in status. It returns the user's id.
func (f *Okta) AddUser(name, emp, status string) string {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	u := &User{
		ID:          f.NextID("00u"),
		Status:      status,
		Created:     Epoch.Add(-400 * 24 * time.Hour),
		LastUpdated: Epoch.Add(-24 * time.Hour),
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
		u.LastLogin = Epoch.Add(-2 * 24 * time.Hour)
	}
	u.StatusChanged = u.Created
	f.Users = append(f.Users, u)
	f.ByID[u.ID] = u
	return u.ID
}

func (f *Okta) AddGroup(name, typ string, admin bool, members ...string) string {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	g := &Group{ID: f.NextID("00g"), Type: typ, Name: name, Admin: admin, Members: map[string]bool{}}
	for _, m := range members {
		g.Members[m] = true
	}
	f.Groups = append(f.Groups, g)
	f.GroupByID[g.ID] = g
	return g.ID
}

func (f *Okta) AddAPIToken(userID, name string) string {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	t := &APIToken{ID: f.NextID("00T"), Name: name, UserID: userID, Created: Epoch.Add(-90 * 24 * time.Hour), LastUsed: Epoch.Add(-3 * 24 * time.Hour)}
	f.APITokens = append(f.APITokens, t)
	return t.ID
}

func (f *Okta) User(id string) User {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return *f.ByID[id]
}

func (f *Okta) Inject(ft *Fault) {
	f.Mu.Lock()
	f.Faults = append(f.Faults, ft)
	f.Mu.Unlock()
}

func (f *Okta) RequestLog() []string {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return slices.Clone(f.Requests)
}

// count returns how many requests started with prefix ("GET /api/v1/users").
func (f *Okta) Count(prefix string) int {
	n := 0
	for _, r := range f.RequestLog() {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

// ---- serving --------------------------------------------------------------

func (f *Okta) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	line := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" {
		line += "?" + r.URL.RawQuery
	}
	f.Requests = append(f.Requests, line)
	w.Header().Set("Content-Type", "application/json")

	if r.Method == http.MethodPost && r.URL.Path == "/oauth2/v1/token" {
		f.Token(w, r)
		return
	}
	route, params := MatchRoute(r.Method, r.URL.Path)
	if route == nil {
		f.Fail(w, r, http.StatusNotFound, "E0000022", "The endpoint does not support the provided HTTP method")
		return
	}
	if !f.Authorized(w, r, route.Scope) {
		return
	}
	if f.InvalidateAfter > 0 {
		f.InvalidateAfter--
		if f.InvalidateAfter == 0 {
			clear(f.Access) // as if every token had expired early
		}
	}
	for i, ft := range f.Faults {
		if (ft.Method != "" && ft.Method != r.Method) || (ft.Path != "" && ft.Path != r.URL.Path) {
			continue
		}
		if ft.Skip > 0 {
			ft.Skip--
			continue
		}
		if ft.Times <= 1 {
			f.Faults = slices.Delete(f.Faults, i, i+1)
		} else {
			ft.Times--
		}
		for k, v := range ft.Header {
			w.Header().Set(k, v)
		}
		if ft.Status == http.StatusTooManyRequests {
			f.Got429++
		}
		w.WriteHeader(ft.Status)
		_, _ = w.Write([]byte(ft.Body))
		return
	}
	if !f.RateLimited(w, route.Bucket) {
		return
	}
	route.Serve(f, w, r, params)
}

// rateLimited writes the X-Rate-Limit-* headers of the endpoint's bucket and
// answers 429 when the bucket is spent. It reports whether to go on.
func (f *Okta) RateLimited(w http.ResponseWriter, bucket string) bool {
	if f.RateLimit == 0 {
		return true
	}
	b := f.Buckets[bucket]
	if b == nil || f.Clock.Sub(b.WindowStart) >= time.Minute {
		b = &Bucket{WindowStart: f.Clock.Truncate(time.Minute)}
		f.Buckets[bucket] = b
	}
	reset := b.WindowStart.Add(time.Minute)
	w.Header().Set("X-Rate-Limit-Limit", strconv.Itoa(f.RateLimit))
	w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(reset.Unix(), 10))
	if b.Used >= f.RateLimit {
		w.Header().Set("X-Rate-Limit-Remaining", "0")
		f.Got429++
		f.WriteError(w, http.StatusTooManyRequests, "E0000047", "API call exceeded rate limit due to too many requests.")
		return false
	}
	b.Used++
	w.Header().Set("X-Rate-Limit-Remaining", strconv.Itoa(f.RateLimit-b.Used))
	return true
}

func (f *Okta) Authorized(w http.ResponseWriter, r *http.Request, scope string) bool {
	h := r.Header.Get("Authorization")
	switch {
	case f.SSWS != "" && h == "SSWS "+f.SSWS:
		return true
	case strings.HasPrefix(h, "Bearer "):
		a, ok := f.Access[strings.TrimPrefix(h, "Bearer ")]
		if !ok || !f.Clock.Before(a.Expires) {
			break
		}
		if !slices.Contains(a.Scopes, scope) {
			f.Fail(w, r, http.StatusForbidden, "E0000006", "You do not have permission to perform the requested action")
			return false
		}
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="http://okta.example/oauth2/v1/authorize", realm="http://okta.example", scope="`+scope+`", error="invalid_token", error_description="The access token is invalid."`)
	f.Fail(w, r, http.StatusUnauthorized, "E0000011", "Invalid token provided")
	return false
}

// fail writes an Okta error body; with echoAuth it quotes the request's
// Authorization header, as a careless proxy or WAF might.
func (f *Okta) Fail(w http.ResponseWriter, r *http.Request, status int, code, summary string) {
	if f.EchoAuth {
		summary += " (request had Authorization: " + r.Header.Get("Authorization") + ")"
	}
	f.WriteError(w, status, code, summary)
}

func (f *Okta) WriteError(w http.ResponseWriter, status int, code, summary string) {
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errorCode":    code,
		"errorSummary": summary,
		"errorLink":    code,
		"errorId":      "oae" + strconv.Itoa(len(f.Requests)),
		"errorCauses":  []any{},
	})
}

type Route struct {
	Method  string
	Pattern []string // path segments; "{x}" binds
	Scope   string   // the OAuth scope Okta's description requires
	Bucket  string   // rate-limit bucket
	Serve   func(f *Okta, w http.ResponseWriter, r *http.Request, p map[string]string)
}

var Routes = []Route{
	{http.MethodGet, Seg("/api/v1/users"), "okta.users.read", "users", (*Okta).ListUsers},
	{http.MethodGet, Seg("/api/v1/users/{id}"), "okta.users.read", "user", (*Okta).GetUser},
	{http.MethodGet, Seg("/api/v1/users/{id}/groups"), "okta.users.read", "user", (*Okta).UserGroups},
	{http.MethodGet, Seg("/api/v1/users/{id}/roles"), "okta.roles.read", "roles", (*Okta).UserRoles},
	{http.MethodPost, Seg("/api/v1/users/{id}/lifecycle/suspend"), "okta.users.manage", "lifecycle", (*Okta).Suspend},
	{http.MethodPost, Seg("/api/v1/users/{id}/lifecycle/deactivate"), "okta.users.manage", "lifecycle", (*Okta).Deactivate},
	{http.MethodDelete, Seg("/api/v1/users/{id}/sessions"), "okta.users.manage", "sessions", (*Okta).RevokeSessions},
	{http.MethodDelete, Seg("/api/v1/users/{id}/grants"), "okta.users.manage", "grants", (*Okta).RevokeGrants},
	{http.MethodGet, Seg("/api/v1/groups"), "okta.groups.read", "groups", (*Okta).ListGroups},
	{http.MethodGet, Seg("/api/v1/groups/{gid}"), "okta.groups.read", "group", (*Okta).GetGroup},
	{http.MethodGet, Seg("/api/v1/groups/{gid}/users"), "okta.groups.read", "members", (*Okta).GroupUsers},
	{http.MethodDelete, Seg("/api/v1/groups/{gid}/users/{id}"), "okta.groups.manage", "membership", (*Okta).Unassign},
	{http.MethodGet, Seg("/api/v1/iam/assignees/users"), "okta.roles.read", "roles", (*Okta).RoleAssignees},
	{http.MethodGet, Seg("/api/v1/api-tokens"), "okta.apiTokens.read", "apitokens", (*Okta).ListAPITokens},
	{http.MethodGet, Seg("/api/v1/api-tokens/{tid}"), "okta.apiTokens.read", "apitokens", (*Okta).GetAPIToken},
	{http.MethodDelete, Seg("/api/v1/api-tokens/{tid}"), "okta.apiTokens.manage", "apitokens", (*Okta).RevokeAPIToken},
}

func Seg(p string) []string { return strings.Split(strings.Trim(p, "/"), "/") }

func MatchRoute(method, path string) (*Route, map[string]string) {
	parts := Seg(path)
	for i := range Routes {
		rt := &Routes[i]
		if rt.Method != method || len(rt.Pattern) != len(parts) {
			continue
		}
		p := map[string]string{}
		ok := true
		for j, s := range rt.Pattern {
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

const OktaTime = "2006-01-02T15:04:05.000Z"

func Ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(OktaTime)
}

// userBody is Okta's User as the fake sends it.
type UserBody struct {
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

func (f *Okta) UserJSON(r *http.Request, u *User) *UserBody {
	b := &UserBody{
		ID: u.ID, Status: u.Status, Created: Ts(u.Created), Activated: Ts(u.Activated), StatusChanged: Ts(u.StatusChanged),
		LastLogin: Ts(u.LastLogin), LastUpdated: Ts(u.LastUpdated), PasswordChanged: Ts(u.Created), Profile: u.Profile,
	}
	b.Links.Self.Href = "http://" + r.Host + "/api/v1/users/" + u.ID
	return b
}

func (f *Okta) GroupJSON(r *http.Request, g *Group, stats bool) map[string]any {
	objectClass := "okta:user_group"
	if g.Type == "APP_GROUP" {
		objectClass = "okta:windows_security_principal"
	}
	out := map[string]any{
		"id":                    g.ID,
		"created":               Ts(Epoch.Add(-500 * 24 * time.Hour)),
		"lastUpdated":           Ts(Epoch.Add(-500 * 24 * time.Hour)),
		"lastMembershipUpdated": Ts(Epoch.Add(-24 * time.Hour)),
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
func Page[T any](f *Okta, w http.ResponseWriter, r *http.Request, items []T, id func(T) string, match func(T) bool, def int) ([]T, bool) {
	q := r.URL.Query()
	limit := def
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			f.WriteError(w, http.StatusBadRequest, "E0000001", "Api validation failed: limit")
			return nil, false
		}
		limit = n
	}
	limit = min(limit, f.MaxLimit)
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

func UserID(u *User) string { return u.ID }

func (f *Okta) ListUsers(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	q := r.URL.Query()
	var match func(*User) bool
	var err error
	switch {
	case q.Get("search") != "" && q.Get("filter") != "":
		f.WriteError(w, http.StatusBadRequest, "E0000031", "Invalid search criteria.")
		return
	case q.Get("search") != "":
		match, err = ParseExpr(q.Get("search"), false)
	case q.Get("filter") != "":
		match, err = ParseExpr(q.Get("filter"), true)
	default: // Okta leaves DEPROVISIONED users out unless a search or filter is given
		match = func(u *User) bool { return u.Status != "DEPROVISIONED" }
	}
	if err != nil {
		f.WriteError(w, http.StatusBadRequest, "E0000031", "Invalid search criteria.")
		return
	}
	pg, ok := Page(f, w, r, f.Users, UserID, match, 200)
	if !ok {
		return
	}
	out := make([]any, len(pg))
	for i, u := range pg {
		out[i] = f.UserJSON(r, u)
	}
	_ = json.NewEncoder(w).Encode(out)
}

// parseExpr reads what the fake understands of Okta's filter/search
// language: clauses `attr eq "value"` joined by `or`. filter allows only
// status, id, profile.login/email/firstName/lastName; search any attribute.
func ParseExpr(expr string, filter bool) (func(*User) bool, error) {
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
	return func(u *User) bool {
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

func (f *Okta) FindUser(w http.ResponseWriter, id string) *User {
	if u := f.ByID[id]; u != nil {
		return u
	}
	for _, u := range f.Users { // Okta also takes the login
		if u.Profile["login"] == id {
			return u
		}
	}
	f.WriteError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+id+" (User)")
	return nil
}

func (f *Okta) GetUser(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if u := f.FindUser(w, p["id"]); u != nil {
		_ = json.NewEncoder(w).Encode(f.UserJSON(r, u))
	}
}

func (f *Okta) UserGroups(w http.ResponseWriter, r *http.Request, p map[string]string) {
	u := f.FindUser(w, p["id"])
	if u == nil {
		return
	}
	out := []any{}
	for _, g := range f.Groups {
		if g.Members[u.ID] {
			out = append(out, f.GroupJSON(r, g, false))
		}
	}
	_ = json.NewEncoder(w).Encode(out)
}

// userRoles lists the user's role assignments, direct (USER) and through
// groups holding a role (GROUP).
func (f *Okta) UserRoles(w http.ResponseWriter, r *http.Request, p map[string]string) {
	u := f.FindUser(w, p["id"])
	if u == nil {
		return
	}
	out := []any{}
	role := func(typ, assignment string) map[string]any {
		return map[string]any{
			"id": "ra" + u.ID[3:] + typ[:3], "label": typ, "type": typ, "status": "ACTIVE",
			"created": Ts(Epoch), "lastUpdated": Ts(Epoch), "assignmentType": assignment,
		}
	}
	for _, typ := range f.Roles[u.ID] {
		out = append(out, role(typ, "USER"))
	}
	for _, g := range f.Groups {
		if g.Admin && g.Members[u.ID] {
			out = append(out, role("USER_ADMIN", "GROUP"))
		}
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (f *Okta) Suspend(w http.ResponseWriter, r *http.Request, p map[string]string) {
	u := f.FindUser(w, p["id"])
	if u == nil {
		return
	}
	if u.Status != "ACTIVE" {
		f.WriteError(w, http.StatusBadRequest, "E0000001", "Api validation failed: Cannot suspend a user that is not active")
		return
	}
	u.Status, u.StatusChanged, u.LastUpdated = "SUSPENDED", f.Clock, f.Clock
	_, _ = w.Write([]byte("{}")) // Okta answers lifecycle operations with an empty object
}

func (f *Okta) Deactivate(w http.ResponseWriter, r *http.Request, p map[string]string) {
	u := f.FindUser(w, p["id"])
	if u == nil {
		return
	}
	if u.Status == "DEPROVISIONED" {
		f.WriteError(w, http.StatusForbidden, "E0000006", "You do not have permission to perform the requested action")
		return
	}
	u.Status, u.StatusChanged, u.LastUpdated = "DEPROVISIONED", f.Clock, f.Clock
	u.Sessions, u.OAuthTokens = 0, 0
	_, _ = w.Write([]byte("{}"))
}

func (f *Okta) RevokeSessions(w http.ResponseWriter, r *http.Request, p map[string]string) {
	u := f.FindUser(w, p["id"])
	if u == nil {
		return
	}
	u.Sessions = 0
	if r.URL.Query().Get("oauthTokens") == "true" {
		u.OAuthTokens = 0
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *Okta) RevokeGrants(w http.ResponseWriter, r *http.Request, p map[string]string) {
	u := f.FindUser(w, p["id"])
	if u == nil {
		return
	}
	u.Grants = 0
	w.WriteHeader(http.StatusNoContent)
}

func (f *Okta) ListGroups(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	groups := slices.Clone(f.Groups)
	sort.Slice(groups, func(i, j int) bool { return groups[i].ID < groups[j].ID })
	pg, ok := Page(f, w, r, groups, func(g *Group) string { return g.ID }, func(*Group) bool { return true }, 10000)
	if !ok {
		return
	}
	stats := r.URL.Query().Get("expand") == "stats"
	out := make([]any, len(pg))
	for i, g := range pg {
		out[i] = f.GroupJSON(r, g, stats)
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (f *Okta) FindGroup(w http.ResponseWriter, id string) *Group {
	if g := f.GroupByID[id]; g != nil {
		return g
	}
	f.WriteError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+id+" (UserGroup)")
	return nil
}

func (f *Okta) GetGroup(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if g := f.FindGroup(w, p["gid"]); g != nil {
		_ = json.NewEncoder(w).Encode(f.GroupJSON(r, g, false))
	}
}

func (f *Okta) GroupUsers(w http.ResponseWriter, r *http.Request, p map[string]string) {
	g := f.FindGroup(w, p["gid"])
	if g == nil {
		return
	}
	pg, ok := Page(f, w, r, f.Users, UserID, func(u *User) bool { return g.Members[u.ID] }, 1000)
	if !ok {
		return
	}
	out := make([]any, len(pg))
	for i, u := range pg {
		out[i] = f.UserJSON(r, u)
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (f *Okta) Unassign(w http.ResponseWriter, r *http.Request, p map[string]string) {
	g := f.FindGroup(w, p["gid"])
	if g == nil {
		return
	}
	u := f.FindUser(w, p["id"])
	if u == nil {
		return
	}
	if g.Type != "OKTA_GROUP" {
		f.WriteError(w, http.StatusForbidden, "E0000006", "You do not have permission to perform the requested action")
		return
	}
	delete(g.Members, u.ID)
	w.WriteHeader(http.StatusNoContent)
}

// roleAssignees lists the users holding a role directly, paged through
// _links.next (not a Link header) as Okta's description says.
func (f *Okta) RoleAssignees(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	var ids []string
	for id, rs := range f.Roles {
		if len(rs) > 0 && f.ByID[id] != nil {
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

func (f *Okta) ApiTokenJSON(r *http.Request, t *APIToken) map[string]any {
	return map[string]any{
		"id":          t.ID,
		"name":        t.Name,
		"userId":      t.UserID,
		"clientName":  "Okta API",
		"created":     Ts(t.Created),
		"lastUpdated": Ts(t.Created),
		"expiresAt":   Ts(t.LastUsed.Add(30 * 24 * time.Hour)),
		"tokenWindow": "P30D",
		"network":     map[string]any{"connection": "ANYWHERE"},
		"_link":       map[string]any{"self": map[string]any{"href": "http://" + r.Host + "/api/v1/api-tokens/" + t.ID}},
	}
}

func (f *Okta) ListAPITokens(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	out := []any{}
	for _, t := range f.APITokens {
		out = append(out, f.ApiTokenJSON(r, t))
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (f *Okta) FindAPIToken(w http.ResponseWriter, id string) (int, *APIToken) {
	for i, t := range f.APITokens {
		if t.ID == id {
			return i, t
		}
	}
	f.WriteError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+id+" (ApiToken)")
	return -1, nil
}

func (f *Okta) GetAPIToken(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if _, t := f.FindAPIToken(w, p["tid"]); t != nil {
		_ = json.NewEncoder(w).Encode(f.ApiTokenJSON(r, t))
	}
}

func (f *Okta) RevokeAPIToken(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if i, t := f.FindAPIToken(w, p["tid"]); t != nil {
		f.APITokens = slices.Delete(f.APITokens, i, i+1)
		w.WriteHeader(http.StatusNoContent)
	}
}

// ---- the org authorization server's token endpoint ----------------------

// token implements client_credentials with private_key_jwt (RFC 7523): the
// client_assertion must be an RS256 JWT signed by the client's key with
// iss = sub = client_id, aud = the token URL, an exp in the future and a
// jti never seen before; every scope asked for must have been granted.
func (f *Okta) Token(w http.ResponseWriter, r *http.Request) {
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
	claims, err := f.VerifyAssertion(r.PostForm.Get("client_assertion"))
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
		if !slices.Contains(f.ClientScope[claims.Iss], s) {
			oauthErr(400, "invalid_scope", "The following scopes are not allowed: "+s)
			return
		}
	}
	f.TokensIssued++
	tok := fmt.Sprintf("at-%d-%s", f.TokensIssued, claims.Jti)
	f.Access[tok] = Access{Expires: f.Clock.Add(f.TokenTTL), Scopes: scopes}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"token_type": "Bearer", "expires_in": int(f.TokenTTL.Seconds()), "access_token": tok, "scope": strings.Join(scopes, " "),
	})
}

type AssertionClaims struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Aud string `json:"aud"`
	Exp int64  `json:"exp"`
	Iat int64  `json:"iat"`
	Jti string `json:"jti"`
}

func (f *Okta) VerifyAssertion(jwt string) (AssertionClaims, error) {
	var c AssertionClaims
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
	key := f.Clients[c.Iss]
	if key == nil || c.Sub != c.Iss {
		return c, fmt.Errorf("unknown client %q (sub %q)", c.Iss, c.Sub)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
		return c, fmt.Errorf("client_assertion signature: %w", err)
	}
	if c.Aud != f.TokenURL {
		return c, fmt.Errorf("aud %q, want %q", c.Aud, f.TokenURL)
	}
	now := f.Clock.Unix()
	if c.Exp <= now || c.Exp > now+3600+60 || c.Iat > now+60 {
		return c, fmt.Errorf("client_assertion exp %d / iat %d out of range at %d", c.Exp, c.Iat, now)
	}
	if c.Jti == "" || f.Jtis[c.Jti] {
		return c, fmt.Errorf("client_assertion jti %q missing or replayed", c.Jti)
	}
	f.Jtis[c.Jti] = true
	return c, nil
}
