package google

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fake is a stateful Admin SDK Directory API (users, groups, members,
// tokens, application-specific passwords) and Google's OAuth 2.0 token
// endpoint for service accounts (JWT bearer grant with domain-wide
// delegation). Requests and responses are shaped after
// testdata/admin.directory_v1.json; spec_test.go checks every exchange
// against that file. It answers what the official Go client sends: every
// request carries alt=json&prettyPrint=false, paths are
// /admin/directory/v1/..., partial responses follow the fields parameter.

const apiPrefix = "/admin/directory/v1/"

// zeroLogin is how the API reports "never logged in".
const zeroLogin = "1970-01-01T00:00:00.000Z"

type fakeExtID struct{ Type, CustomType, Value string }

type fakeToken struct {
	ClientID, DisplayText string
	Scopes                []string
}

type fakeASP struct {
	CodeID            int
	Name              string
	Created, LastUsed time.Time
}

type fakeUser struct {
	ID, Email, FullName       string
	Suspended, Archived       bool
	IsAdmin, IsDelegatedAdmin bool
	LastLogin, Created        time.Time // zero LastLogin: never
	ExternalIDs               []fakeExtID
	Custom                    map[string]map[string]any
	Tokens                    []fakeToken
	ASPs                      []fakeASP
	Version                   int // bumped by every change of the user resource
	SignOuts                  int
	Writes                    int // every accepted write naming this user
	deleted                   bool
}

type fakeGroup struct {
	ID, Email, Name string
	Members         []string // user ids, direct members
}

type exchange struct {
	Method, Path string
	Query        url.Values
	ReqBody      []byte
	Status       int
	RespBody     []byte
}

type fake struct {
	t   testing.TB
	srv *httptest.Server

	key        *rsa.PrivateKey
	keyJSON    []byte
	clientMail string
	subject    string
	// authorized are the scopes domain-wide delegation grants the client.
	authorized []string

	mu      sync.Mutex
	users   []*fakeUser
	byID    map[string]*fakeUser
	byEmail map[string]*fakeUser
	groups  []*fakeGroup
	gByKey  map[string]*fakeGroup

	accessTokens map[string]bool // valid access tokens
	tokenCalls   int
	calls        map[string]int // "GET users", "GET tokens", ...
	record       bool
	log          []exchange

	// faults, set by tests under mu
	// throttle answers the next n requests whose "METHOD resource" key
	// matches with the given status (429/503 with Retry-After, or 403 with
	// a quota reason).
	throttle map[string]*fault
	// failUsersPage answers the users.list page with this index (0-based,
	// by its offset) with failStatus, every time it is asked for.
	failUsersPage int
	failStatus    int
	// expireAfterPages invalidates every access token once this many
	// users.list pages have been served (0: never).
	expireAfterPages int
	usersPages       int
	// echo, when set, makes every error body echo the request's credential
	// (the Authorization header; the token request's assertion) followed by
	// echo itself, as a careless server would.
	echo       string
	assertions []string // every assertion received by the token endpoint
	// vanish deletes this user when its tokens are first listed (a user
	// deleted by someone else in the middle of a listing).
	vanish string
	// tokenExpiresIn is the expires_in of issued tokens (default 3600).
	tokenExpiresIn int
}

type fault struct {
	n, status  int
	reason     string
	retryAfter string
}

var (
	testKeyOnce sync.Once
	testKey     *rsa.PrivateKey
)

func rsaKey(t testing.TB) *rsa.PrivateKey {
	testKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

func newFake(t testing.TB) *fake {
	f := &fake{
		t: t, key: rsaKey(t),
		clientMail:    "accessrecon@example-project.iam.gserviceaccount.com",
		subject:       "admin@example.com",
		authorized:    []string{scopeUser, scopeUserReadonly, scopeUserSecurity, scopeGroupReadonly, scopeGroupMember},
		byID:          map[string]*fakeUser{},
		byEmail:       map[string]*fakeUser{},
		gByKey:        map[string]*fakeGroup{},
		accessTokens:  map[string]bool{},
		calls:         map[string]int{},
		record:        true,
		throttle:      map[string]*fault{},
		failUsersPage: -1,
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.srv.Close()
		if f.record {
			checkExchanges(t, f.exchanges())
		}
	})
	der, err := x509.MarshalPKCS8PrivateKey(f.key)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	f.keyJSON, _ = json.MarshalIndent(map[string]string{
		"type":                        "service_account",
		"project_id":                  "example-project",
		"private_key_id":              "0123456789abcdef0123456789abcdef01234567",
		"private_key":                 string(pemKey),
		"client_email":                f.clientMail,
		"client_id":                   "101234567890123456789",
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   f.srv.URL + "/token",
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"universe_domain":             "googleapis.com",
	}, "", "  ")
	return f
}

// ---- seeding ----------------------------------------------------------------

func (f *fake) addUser(u *fakeUser) *fakeUser {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u.ID == "" {
		u.ID = strconv.Itoa(100000000000000000 + len(f.users) + 1)
	}
	if u.Created.IsZero() {
		u.Created = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	}
	f.users = append(f.users, u)
	f.byID[u.ID] = u
	f.byEmail[strings.ToLower(u.Email)] = u
	return u
}

func (f *fake) addGroup(g *fakeGroup) *fakeGroup {
	f.mu.Lock()
	defer f.mu.Unlock()
	if g.ID == "" {
		g.ID = fmt.Sprintf("0%dgrp", 3000+len(f.groups))
	}
	f.groups = append(f.groups, g)
	f.gByKey[g.ID] = g
	f.gByKey[strings.ToLower(g.Email)] = g
	return g
}

func (f *fake) user(id string) fakeUser {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.byID[id]
	if !ok {
		f.t.Fatalf("fake: no user %s", id)
	}
	c := *u
	c.Tokens = slices.Clone(u.Tokens)
	c.ASPs = slices.Clone(u.ASPs)
	return c
}

func (f *fake) members(groupID string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.gByKey[groupID].Members)
}

func (f *fake) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[key]
}

func (f *fake) exchanges() []exchange {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

func (f *fake) setThrottle(key string, ft fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttle[key] = &ft
}

// ---- HTTP -------------------------------------------------------------------

type apiError struct {
	status  int
	reason  string
	message string
	header  map[string]string
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.URL.Path == "/token" {
		f.serveToken(w, r, body)
		return
	}
	f.mu.Lock()
	status, out, aerr := f.route(r, body)
	echo, record := f.echo, f.record
	f.mu.Unlock()
	var resp []byte
	if aerr != nil {
		status = aerr.status
		for k, v := range aerr.header {
			w.Header().Set(k, v)
		}
		msg := aerr.message
		if echo != "" {
			msg += " (request: Authorization: " + r.Header.Get("Authorization") + " " + echo + ")"
		}
		resp, _ = json.Marshal(map[string]any{"error": map[string]any{
			"code":    status,
			"message": msg,
			"errors":  []map[string]any{{"message": msg, "domain": domainOf(aerr.reason), "reason": aerr.reason}},
		}})
	} else if out != nil {
		resp, _ = json.Marshal(out)
	}
	if record {
		f.mu.Lock()
		f.log = append(f.log, exchange{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), ReqBody: body, Status: status, RespBody: resp})
		f.mu.Unlock()
	}
	if resp != nil {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	}
	w.WriteHeader(status)
	_, _ = w.Write(resp)
}

func domainOf(reason string) string {
	switch reason {
	case "userRateLimitExceeded", "quotaExceeded", "rateLimitExceeded":
		return "usageLimits"
	}
	return "global"
}

func notFound(what string) *apiError {
	return &apiError{status: 404, reason: "notFound", message: "Resource Not Found: " + what}
}

func badRequest(msg string) *apiError {
	return &apiError{status: 400, reason: "invalid", message: msg}
}

// route answers one Directory API request. It returns the status and the
// JSON value to send (nil: no body), or an error to send.
func (f *fake) route(r *http.Request, body []byte) (int, any, *apiError) {
	if !strings.HasPrefix(r.URL.Path, apiPrefix) {
		return 0, nil, &apiError{status: 404, reason: "notFound", message: "Not Found"}
	}
	q := r.URL.Query()
	if a := q.Get("alt"); a != "" && a != "json" {
		return 0, nil, badRequest("alt=" + a + " not served")
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !f.accessTokens[tok] {
		return 0, nil, &apiError{status: 401, reason: "authError", message: "Invalid Credentials"}
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, apiPrefix), "/")
	for i, p := range parts {
		parts[i], _ = url.PathUnescape(p)
	}
	key := r.Method + " " + parts[0]
	if len(parts) >= 3 {
		key = r.Method + " " + parts[0] + "/" + parts[2]
	}
	f.calls[key]++
	if ft := f.throttle[key]; ft != nil && ft.n > 0 {
		ft.n--
		h := map[string]string{}
		if ft.retryAfter != "" {
			h["Retry-After"] = ft.retryAfter
		}
		return 0, nil, &apiError{status: ft.status, reason: ft.reason, message: "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user'", header: h}
	}
	sel, err := parseFields(q.Get("fields"))
	if err != nil {
		return 0, nil, badRequest("Invalid field selection " + q.Get("fields"))
	}
	filter := func(v map[string]any) map[string]any { return sel.apply(v) }

	switch {
	case r.Method == "GET" && len(parts) == 1 && parts[0] == "users":
		return f.listUsers(q, filter)
	case len(parts) == 2 && parts[0] == "users":
		u := f.findUser(parts[1])
		if u == nil {
			return 0, nil, notFound("userKey")
		}
		switch r.Method {
		case "GET":
			return 200, filter(f.userJSON(u, q)), nil
		case "PATCH":
			var patch map[string]json.RawMessage
			if err := json.Unmarshal(body, &patch); err != nil {
				return 0, nil, badRequest("Invalid JSON payload received")
			}
			for k, v := range patch {
				switch k {
				case "suspended":
					var b bool
					if err := json.Unmarshal(v, &b); err != nil {
						return 0, nil, badRequest("Invalid value at 'suspended'")
					}
					if u.Suspended != b {
						u.Suspended = b
						u.Version++
					}
				default:
					return 0, nil, badRequest("fake: patching " + k + " is not modelled")
				}
			}
			u.Writes++
			return 200, filter(f.userJSON(u, url.Values{})), nil
		}
	case r.Method == "POST" && len(parts) == 3 && parts[0] == "users" && parts[2] == "signOut":
		u := f.findUser(parts[1])
		if u == nil {
			return 0, nil, notFound("userKey")
		}
		u.SignOuts++
		u.Writes++
		return 204, nil, nil
	case len(parts) >= 3 && parts[0] == "users" && (parts[2] == "tokens" || parts[2] == "asps"):
		if parts[1] == f.vanish && f.byID[parts[1]] != nil {
			f.byID[parts[1]].deleted = true
		}
		u := f.findUser(parts[1])
		if u == nil {
			return 0, nil, notFound("userKey")
		}
		return f.credentials(r.Method, u, parts[2:], filter)
	case r.Method == "GET" && len(parts) == 1 && parts[0] == "groups":
		return f.listGroups(q, filter)
	case r.Method == "GET" && len(parts) == 2 && parts[0] == "groups":
		g := f.gByKey[strings.ToLower(parts[1])]
		if g == nil {
			return 0, nil, notFound("groupKey")
		}
		return 200, filter(groupJSON(g)), nil
	case len(parts) >= 3 && parts[0] == "groups" && parts[2] == "members":
		g := f.gByKey[strings.ToLower(parts[1])]
		if g == nil {
			return 0, nil, notFound("groupKey")
		}
		if r.Method == "GET" && len(parts) == 3 {
			return f.listMembers(g, q, filter)
		}
		if r.Method == "DELETE" && len(parts) == 4 {
			u := f.findUser(parts[3])
			if u == nil {
				return 0, nil, notFound("memberKey")
			}
			i := slices.Index(g.Members, u.ID)
			if i < 0 {
				return 0, nil, notFound("memberKey")
			}
			g.Members = slices.Delete(g.Members, i, i+1)
			u.Writes++
			return 204, nil, nil
		}
	}
	return 0, nil, &apiError{status: 404, reason: "notFound", message: "fake: " + r.Method + " " + r.URL.Path + " not modelled"}
}

func (f *fake) findUser(key string) *fakeUser {
	u := f.byID[key]
	if u == nil {
		u = f.byEmail[strings.ToLower(key)]
	}
	if u == nil || u.deleted {
		return nil
	}
	return u
}

// pageToken is opaque to clients; the fake encodes an offset and the
// listing it belongs to, and refuses a token from another listing.
func pageToken(kind string, off int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + strconv.Itoa(off)))
}

func readPageToken(kind, tok string) (int, bool) {
	if tok == "" {
		return 0, true
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	i := strings.LastIndex(string(b), ":")
	if i < 0 {
		return 0, false
	}
	off, err := strconv.Atoi(string(b[i+1:]))
	return off, string(b[:i]) == kind && err == nil && off >= 0
}

func maxResults(q url.Values, def, most int) (int, *apiError) {
	s := q.Get("maxResults")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > most {
		return 0, badRequest("Invalid value '" + s + "'. Values must be within the range: [1, " + strconv.Itoa(most) + "]")
	}
	return n, nil
}

func (f *fake) listUsers(q url.Values, filter func(map[string]any) map[string]any) (int, any, *apiError) {
	if q.Get("customer") == "" && q.Get("domain") == "" {
		return 0, nil, badRequest("Bad Request") // customer or domain is required
	}
	if q.Get("customer") != "" && q.Get("customer") != "my_customer" && q.Get("customer") != "C01abc234" {
		return 0, nil, notFound("customer")
	}
	n, aerr := maxResults(q, 100, 500)
	if aerr != nil {
		return 0, nil, aerr
	}
	off, ok := readPageToken("users", q.Get("pageToken"))
	if !ok {
		return 0, nil, badRequest("Invalid page token")
	}
	f.usersPages++
	if f.failUsersPage >= 0 && off/n == f.failUsersPage {
		return 0, nil, &apiError{status: f.failStatus, reason: "backendError", message: "Backend Error"}
	}
	if f.expireAfterPages > 0 && f.usersPages == f.expireAfterPages+1 {
		clear(f.accessTokens) // the token the client holds is no longer accepted
		return 0, nil, &apiError{status: 401, reason: "authError", message: "Invalid Credentials"}
	}
	var live []*fakeUser
	for _, u := range f.users {
		if !u.deleted {
			live = append(live, u)
		}
	}
	end := min(off+n, len(live))
	users := make([]any, 0, max(end-off, 0))
	for _, u := range live[min(off, len(live)):end] {
		users = append(users, f.userJSON(u, q))
	}
	out := map[string]any{"kind": "admin#directory#users", "etag": `"fake-etag"`, "users": users}
	if end < len(live) {
		out["nextPageToken"] = pageToken("users", end)
	}
	return 200, filter(out), nil
}

// userJSON renders a user as the API does for the projection asked for
// (basic: no customSchemas; custom: those named in customFieldMask; full:
// all).
func (f *fake) userJSON(u *fakeUser, q url.Values) map[string]any {
	login := zeroLogin
	if !u.LastLogin.IsZero() {
		login = u.LastLogin.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	m := map[string]any{
		"kind":                       "admin#directory#user",
		"id":                         u.ID,
		"etag":                       fmt.Sprintf(`"etag-%s-%d"`, u.ID, u.Version),
		"primaryEmail":               u.Email,
		"name":                       map[string]any{"fullName": u.FullName, "givenName": strings.Fields(u.FullName + " x")[0], "familyName": "Fake"},
		"isAdmin":                    u.IsAdmin,
		"isDelegatedAdmin":           u.IsDelegatedAdmin,
		"lastLoginTime":              login,
		"creationTime":               u.Created.UTC().Format("2006-01-02T15:04:05.000Z"),
		"agreedToTerms":              true,
		"suspended":                  u.Suspended,
		"archived":                   u.Archived,
		"changePasswordAtNextLogin":  false,
		"ipWhitelisted":              false,
		"customerId":                 "C01abc234",
		"orgUnitPath":                "/",
		"isMailboxSetup":             true,
		"isEnrolledIn2Sv":            false,
		"isEnforcedIn2Sv":            false,
		"includeInGlobalAddressList": true,
		"emails":                     []any{map[string]any{"address": u.Email, "primary": true}},
	}
	if u.Suspended {
		m["suspensionReason"] = "ADMIN"
	}
	if len(u.ExternalIDs) > 0 {
		var ids []any
		for _, e := range u.ExternalIDs {
			x := map[string]any{"type": e.Type, "value": e.Value}
			if e.CustomType != "" {
				x["customType"] = e.CustomType
			}
			ids = append(ids, x)
		}
		m["externalIds"] = ids
	}
	var want []string
	switch q.Get("projection") {
	case "full":
		for s := range u.Custom {
			want = append(want, s)
		}
	case "custom":
		want = strings.Split(q.Get("customFieldMask"), ",")
	}
	cs := map[string]any{}
	for _, s := range want {
		if v, ok := u.Custom[s]; ok {
			cs[s] = v
		}
	}
	if len(cs) > 0 {
		m["customSchemas"] = cs
	}
	return m
}

func groupJSON(g *fakeGroup) map[string]any {
	return map[string]any{
		"kind": "admin#directory#group", "id": g.ID, "etag": `"g-` + g.ID + `"`,
		"email": g.Email, "name": g.Name, "description": "",
		"directMembersCount": strconv.Itoa(len(g.Members)), "adminCreated": true,
	}
}

func (f *fake) listGroups(q url.Values, filter func(map[string]any) map[string]any) (int, any, *apiError) {
	n, aerr := maxResults(q, 200, 200)
	if aerr != nil {
		return 0, nil, aerr
	}
	var groups []*fakeGroup
	switch {
	case q.Get("userKey") != "":
		u := f.findUser(q.Get("userKey"))
		if u == nil {
			return 0, nil, notFound("userKey") // unknown user: 404
		}
		for _, g := range f.groups {
			if slices.Contains(g.Members, u.ID) {
				groups = append(groups, g)
			}
		}
	case q.Get("customer") != "" || q.Get("domain") != "":
		groups = f.groups
	default:
		return 0, nil, badRequest("Bad Request")
	}
	kind := "groups:" + q.Get("userKey")
	off, ok := readPageToken(kind, q.Get("pageToken"))
	if !ok {
		return 0, nil, badRequest("Invalid page token")
	}
	end := min(off+n, len(groups))
	out := map[string]any{"kind": "admin#directory#groups", "etag": `"fake-etag"`}
	var items []any
	for _, g := range groups[min(off, len(groups)):end] {
		items = append(items, groupJSON(g))
	}
	if len(items) > 0 {
		out["groups"] = items
	}
	if end < len(groups) {
		out["nextPageToken"] = pageToken(kind, end)
	}
	return 200, filter(out), nil
}

func (f *fake) listMembers(g *fakeGroup, q url.Values, filter func(map[string]any) map[string]any) (int, any, *apiError) {
	n, aerr := maxResults(q, 200, 200)
	if aerr != nil {
		return 0, nil, aerr
	}
	kind := "members:" + g.ID
	off, ok := readPageToken(kind, q.Get("pageToken"))
	if !ok {
		return 0, nil, badRequest("Invalid page token")
	}
	end := min(off+n, len(g.Members))
	out := map[string]any{"kind": "admin#directory#members", "etag": `"fake-etag"`}
	var items []any
	for _, id := range g.Members[min(off, len(g.Members)):end] {
		u := f.byID[id]
		items = append(items, map[string]any{
			"kind": "admin#directory#member", "etag": `"m-` + id + `"`, "id": id, "email": u.Email,
			"role": "MEMBER", "type": "USER", "status": "ACTIVE", "delivery_settings": "ALL_MAIL",
		})
	}
	// A nested group as a member: the connector must skip it.
	if off == 0 && len(g.Members) > 0 {
		items = append(items, map[string]any{"kind": "admin#directory#member", "id": "0nested" + g.ID, "email": "nested-" + g.Email, "role": "MEMBER", "type": "GROUP", "status": "ACTIVE"})
	}
	if len(items) > 0 {
		out["members"] = items
	}
	if end < len(g.Members) {
		out["nextPageToken"] = pageToken(kind, end)
	}
	return 200, filter(out), nil
}

func (f *fake) credentials(method string, u *fakeUser, parts []string, filter func(map[string]any) map[string]any) (int, any, *apiError) {
	switch {
	case parts[0] == "tokens" && method == "GET" && len(parts) == 1:
		var items []any
		for _, tk := range u.Tokens {
			items = append(items, map[string]any{
				"kind": "admin#directory#token", "etag": `"t"`, "clientId": tk.ClientID, "displayText": tk.DisplayText,
				"anonymous": false, "nativeApp": false, "userKey": u.ID, "scopes": tk.Scopes,
			})
		}
		out := map[string]any{"kind": "admin#directory#tokenList", "etag": `"tl"`}
		if len(items) > 0 {
			out["items"] = items
		}
		return 200, filter(out), nil
	case parts[0] == "tokens" && method == "DELETE" && len(parts) == 2:
		i := slices.IndexFunc(u.Tokens, func(t fakeToken) bool { return t.ClientID == parts[1] })
		if i < 0 {
			return 0, nil, notFound("clientId")
		}
		u.Tokens = slices.Delete(u.Tokens, i, i+1)
		u.Writes++
		return 204, nil, nil
	case parts[0] == "asps" && method == "GET" && len(parts) == 1:
		var items []any
		for _, a := range u.ASPs {
			x := map[string]any{
				"kind": "admin#directory#asp", "etag": `"a"`, "codeId": a.CodeID, "name": a.Name, "userKey": u.ID,
				"creationTime": strconv.FormatInt(a.Created.UnixMilli(), 10),
			}
			if !a.LastUsed.IsZero() {
				x["lastTimeUsed"] = strconv.FormatInt(a.LastUsed.UnixMilli(), 10)
			}
			items = append(items, x)
		}
		out := map[string]any{"kind": "admin#directory#aspList", "etag": `"al"`}
		if len(items) > 0 {
			out["items"] = items
		}
		return 200, filter(out), nil
	case parts[0] == "asps" && method == "DELETE" && len(parts) == 2:
		id, err := strconv.Atoi(parts[1])
		if err != nil {
			return 0, nil, badRequest("Invalid value at 'code_id' (TYPE_INT32)")
		}
		i := slices.IndexFunc(u.ASPs, func(a fakeASP) bool { return a.CodeID == id })
		if i < 0 {
			return 0, nil, notFound("codeId")
		}
		u.ASPs = slices.Delete(u.ASPs, i, i+1)
		u.Writes++
		return 204, nil, nil
	}
	return 0, nil, &apiError{status: 404, reason: "notFound", message: "fake: not modelled"}
}

// ---- token endpoint ---------------------------------------------------------

// serveToken is Google's token endpoint for the JWT bearer grant: it
// verifies the assertion's RS256 signature against the service account's
// public key, its issuer, audience, expiry, subject (the impersonated admin)
// and that every scope asked for is authorized for domain-wide delegation.
func (f *fake) serveToken(w http.ResponseWriter, r *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	f.mu.Lock()
	f.assertions = append(f.assertions, form.Get("assertion"))
	echo := f.echo
	f.mu.Unlock()
	fail := func(status int, code, desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if echo != "" {
			desc += " (request: assertion=" + form.Get("assertion") + " " + echo + ")"
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
	}
	if r.Method != "POST" || err != nil || form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		fail(400, "unsupported_grant_type", "Invalid grant_type")
		return
	}
	parts := strings.Split(form.Get("assertion"), ".")
	if len(parts) != 3 {
		fail(400, "invalid_grant", "Invalid JWT")
		return
	}
	sig, err1 := base64.RawURLEncoding.DecodeString(parts[2])
	h := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err1 != nil || rsa.VerifyPKCS1v15(&f.key.PublicKey, crypto.SHA256, h[:], sig) != nil {
		fail(400, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	var claims struct {
		Iss, Sub, Scope, Aud string
		Exp, Iat             int64
	}
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(raw, &claims) != nil {
		fail(400, "invalid_grant", "Invalid JWT claims")
		return
	}
	now := time.Now().Unix()
	switch {
	case claims.Iss != f.clientMail:
		fail(400, "invalid_grant", "Invalid issuer")
		return
	case claims.Aud != f.srv.URL+"/token":
		fail(400, "invalid_grant", "Invalid audience")
		return
	case claims.Exp < now || claims.Iat > now+60:
		fail(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token")
		return
	case claims.Sub != f.subject:
		fail(400, "invalid_grant", "Invalid email or User ID")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range strings.Fields(claims.Scope) {
		if !slices.Contains(f.authorized, s) {
			fail(401, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.")
			return
		}
	}
	f.tokenCalls++
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := "ya29.fake-" + base64.RawURLEncoding.EncodeToString(b)
	f.accessTokens[tok] = true
	exp := f.tokenExpiresIn
	if exp == 0 {
		exp = 3600
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "expires_in": exp, "token_type": "Bearer"})
}

// ---- partial responses (the fields parameter) -------------------------------

// selection is a parsed fields parameter: nil selects everything; a key
// with a nil value selects that whole field; a key with a selection
// selects those sub-fields (of each element, for arrays).
type selection map[string]selection

// parseFields parses Google's partial-response syntax:
// a,b/c,d(e,f/g).
func parseFields(s string) (selection, error) {
	if s == "" {
		return nil, nil
	}
	sel, rest, err := parseSel(s)
	if err != nil {
		return nil, err
	}
	if rest != "" {
		return nil, fmt.Errorf("trailing %q", rest)
	}
	return sel, nil
}

func parseSel(s string) (selection, string, error) {
	sel := selection{}
	for {
		name, sub, rest, err := parseElem(s)
		if err != nil {
			return nil, rest, err
		}
		sel[name] = merge(sel[name], sub, sel, name)
		if !strings.HasPrefix(rest, ",") {
			return sel, rest, nil
		}
		s = rest[1:]
	}
}

// parseElem parses one element: name, name/elem or name(list).
func parseElem(s string) (string, selection, string, error) {
	i := strings.IndexAny(s, ",()/")
	name := s
	if i >= 0 {
		name = s[:i]
	}
	if name == "" {
		return "", nil, s, fmt.Errorf("empty field name in %q", s)
	}
	s = s[len(name):]
	switch {
	case strings.HasPrefix(s, "/"):
		n, sub, rest, err := parseElem(s[1:])
		if err != nil {
			return "", nil, rest, err
		}
		return name, selection{n: sub}, rest, nil
	case strings.HasPrefix(s, "("):
		sub, rest, err := parseSel(s[1:])
		if err != nil {
			return "", nil, rest, err
		}
		if !strings.HasPrefix(rest, ")") {
			return "", nil, rest, fmt.Errorf("missing )")
		}
		return name, sub, rest[1:], nil
	}
	return name, nil, s, nil
}

func merge(old, sub, parent selection, name string) selection {
	if _, had := parent[name]; had && old == nil {
		return nil // the whole field was already selected
	}
	if sub == nil || old == nil {
		return sub
	}
	for k, v := range sub {
		old[k] = v
	}
	return old
}

func (s selection) apply(v map[string]any) map[string]any {
	if s == nil {
		return v
	}
	out := map[string]any{}
	for k, sub := range s {
		x, ok := v[k]
		if !ok {
			continue
		}
		out[k] = sub.applyAny(x)
	}
	return out
}

func (s selection) applyAny(x any) any {
	if s == nil {
		return x
	}
	switch x := x.(type) {
	case map[string]any:
		return s.apply(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = s.applyAny(e)
		}
		return out
	}
	return x
}
