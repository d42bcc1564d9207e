// Package googlefake is a stateful fake of the Google Workspace Admin SDK
// Directory API and Google's OAuth 2.0 token endpoint, for tests of the
// google connector and of whatever drives it (end-to-end tests of the
// command). Every exchange it serves is checked, at the end of the test that
// made it, against Google's discovery document
// (../testdata/admin.directory_v1.json).
package googlefake

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

// The OAuth scopes domain-wide delegation grants the fake's client (the
// connector's README lists the same).
const (
	scopeUser          = "https://www.googleapis.com/auth/admin.directory.user"
	scopeUserReadonly  = "https://www.googleapis.com/auth/admin.directory.user.readonly"
	scopeUserSecurity  = "https://www.googleapis.com/auth/admin.directory.user.security"
	scopeGroupReadonly = "https://www.googleapis.com/auth/admin.directory.group.readonly"
	scopeGroupMember   = "https://www.googleapis.com/auth/admin.directory.group.member"
)

const APIPrefix = "/admin/directory/v1/"

// zeroLogin is how the API reports "never logged in".
const ZeroLogin = "1970-01-01T00:00:00.000Z"

type ExtID struct{ Type, CustomType, Value string }

type Token struct {
	ClientID, DisplayText string
	Scopes                []string
}

type ASP struct {
	CodeID            int
	Name              string
	Created, LastUsed time.Time
}

type User struct {
	ID, Email, FullName       string
	Suspended, Archived       bool
	IsAdmin, IsDelegatedAdmin bool
	LastLogin, Created        time.Time // zero LastLogin: never
	ExternalIDs               []ExtID
	Custom                    map[string]map[string]any
	Tokens                    []Token
	ASPs                      []ASP
	Version                   int // bumped by every change of the user resource
	SignOuts                  int
	Writes                    int // every accepted write naming this user
	Deleted                   bool
}

type Group struct {
	ID, Email, Name string
	Members         []string // user ids, direct members
}

type Exchange struct {
	Method, Path string
	Query        url.Values
	ReqBody      []byte
	Status       int
	RespBody     []byte
}

type Fake struct {
	T   testing.TB
	Srv *httptest.Server

	Key        *rsa.PrivateKey
	KeyJSON    []byte
	ClientMail string
	Subject    string
	// authorized are the scopes domain-wide delegation grants the client.
	Authorized []string

	Mu      sync.Mutex
	Users   []*User
	ByID    map[string]*User
	ByEmail map[string]*User
	Groups  []*Group
	GByKey  map[string]*Group

	AccessTokens map[string]bool // valid access tokens
	TokenCalls   int
	Calls        map[string]int // "GET users", "GET tokens", ...
	Record       bool
	Log          []Exchange

	// faults, set by tests under mu
	// throttle answers the next n requests whose "METHOD resource" key
	// matches with the given status (429/503 with Retry-After, or 403 with
	// a quota reason).
	Throttle map[string]*Fault
	// failUsersPage answers the users.list page with this index (0-based,
	// by its offset) with failStatus, every time it is asked for.
	FailUsersPage int
	FailStatus    int
	// expireAfterPages invalidates every access token once this many
	// users.list pages have been served (0: never).
	ExpireAfterPages int
	UsersPages       int
	// echo, when set, makes every error body echo the request's credential
	// (the Authorization header; the token request's assertion) followed by
	// echo itself, as a careless server would.
	Echo       string
	Assertions []string // every assertion received by the token endpoint
	// vanish deletes this user when its tokens are first listed (a user
	// deleted by someone else in the middle of a listing).
	Vanish string
	// tokenExpiresIn is the expires_in of issued tokens (default 3600).
	TokenExpiresIn int
}

type Fault struct {
	N, Status  int
	Reason     string
	RetryAfter string
}

var (
	TestKeyOnce sync.Once
	TestKey     *rsa.PrivateKey
)

func RsaKey(t testing.TB) *rsa.PrivateKey {
	TestKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		TestKey = k
	})
	return TestKey
}

func New(t testing.TB) *Fake {
	f := &Fake{
		T: t, Key: RsaKey(t),
		ClientMail:    "accessrecon@example-project.iam.gserviceaccount.com",
		Subject:       "admin@example.com",
		Authorized:    []string{scopeUser, scopeUserReadonly, scopeUserSecurity, scopeGroupReadonly, scopeGroupMember},
		ByID:          map[string]*User{},
		ByEmail:       map[string]*User{},
		GByKey:        map[string]*Group{},
		AccessTokens:  map[string]bool{},
		Calls:         map[string]int{},
		Record:        true,
		Throttle:      map[string]*Fault{},
		FailUsersPage: -1,
	}
	f.Srv = httptest.NewServer(http.HandlerFunc(f.Serve))
	t.Cleanup(func() {
		f.Srv.Close()
		if f.Record {
			CheckExchanges(t, f.Exchanges())
		}
	})
	der, err := x509.MarshalPKCS8PrivateKey(f.Key)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	f.KeyJSON, _ = json.MarshalIndent(map[string]string{
		"type":                        "service_account",
		"project_id":                  "example-project",
		"private_key_id":              "0123456789abcdef0123456789abcdef01234567",
		"private_key":                 string(pemKey),
		"client_email":                f.ClientMail,
		"client_id":                   "101234567890123456789",
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   f.Srv.URL + "/token",
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"universe_domain":             "googleapis.com",
	}, "", "  ")
	return f
}

// ---- seeding ----------------------------------------------------------------

func (f *Fake) AddUser(u *User) *User {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	if u.ID == "" {
		u.ID = strconv.Itoa(100000000000000000 + len(f.Users) + 1)
	}
	if u.Created.IsZero() {
		u.Created = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	}
	f.Users = append(f.Users, u)
	f.ByID[u.ID] = u
	f.ByEmail[strings.ToLower(u.Email)] = u
	return u
}

func (f *Fake) AddGroup(g *Group) *Group {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	if g.ID == "" {
		g.ID = fmt.Sprintf("0%dgrp", 3000+len(f.Groups))
	}
	f.Groups = append(f.Groups, g)
	f.GByKey[g.ID] = g
	f.GByKey[strings.ToLower(g.Email)] = g
	return g
}

func (f *Fake) User(id string) User {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	u, ok := f.ByID[id]
	if !ok {
		f.T.Fatalf("fake: no user %s", id)
	}
	c := *u
	c.Tokens = slices.Clone(u.Tokens)
	c.ASPs = slices.Clone(u.ASPs)
	return c
}

func (f *Fake) Members(groupID string) []string {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return slices.Clone(f.GByKey[groupID].Members)
}

func (f *Fake) Count(key string) int {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return f.Calls[key]
}

func (f *Fake) Exchanges() []Exchange {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return slices.Clone(f.Log)
}

func (f *Fake) SetThrottle(key string, ft Fault) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.Throttle[key] = &ft
}

// ---- HTTP -------------------------------------------------------------------

type APIError struct {
	Status  int
	Reason  string
	Message string
	Header  map[string]string
}

func (f *Fake) Serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.URL.Path == "/token" {
		f.ServeToken(w, r, body)
		return
	}
	f.Mu.Lock()
	status, out, aerr := f.Route(r, body)
	echo, record := f.Echo, f.Record
	f.Mu.Unlock()
	var resp []byte
	if aerr != nil {
		status = aerr.Status
		for k, v := range aerr.Header {
			w.Header().Set(k, v)
		}
		msg := aerr.Message
		if echo != "" {
			msg += " (request: Authorization: " + r.Header.Get("Authorization") + " " + echo + ")"
		}
		resp, _ = json.Marshal(map[string]any{"error": map[string]any{
			"code":    status,
			"message": msg,
			"errors":  []map[string]any{{"message": msg, "domain": DomainOf(aerr.Reason), "reason": aerr.Reason}},
		}})
	} else if out != nil {
		resp, _ = json.Marshal(out)
	}
	if record {
		f.Mu.Lock()
		f.Log = append(f.Log, Exchange{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), ReqBody: body, Status: status, RespBody: resp})
		f.Mu.Unlock()
	}
	if resp != nil {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	}
	w.WriteHeader(status)
	_, _ = w.Write(resp)
}

func DomainOf(reason string) string {
	switch reason {
	case "userRateLimitExceeded", "quotaExceeded", "rateLimitExceeded":
		return "usageLimits"
	}
	return "global"
}

func NotFound(what string) *APIError {
	return &APIError{Status: 404, Reason: "notFound", Message: "Resource Not Found: " + what}
}

func BadRequest(msg string) *APIError {
	return &APIError{Status: 400, Reason: "invalid", Message: msg}
}

// route answers one Directory API request. It returns the status and the
// JSON value to send (nil: no body), or an error to send.
func (f *Fake) Route(r *http.Request, body []byte) (int, any, *APIError) {
	if !strings.HasPrefix(r.URL.Path, APIPrefix) {
		return 0, nil, &APIError{Status: 404, Reason: "notFound", Message: "Not Found"}
	}
	q := r.URL.Query()
	if a := q.Get("alt"); a != "" && a != "json" {
		return 0, nil, BadRequest("alt=" + a + " not served")
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !f.AccessTokens[tok] {
		return 0, nil, &APIError{Status: 401, Reason: "authError", Message: "Invalid Credentials"}
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, APIPrefix), "/")
	for i, p := range parts {
		parts[i], _ = url.PathUnescape(p)
	}
	key := r.Method + " " + parts[0]
	if len(parts) >= 3 {
		key = r.Method + " " + parts[0] + "/" + parts[2]
	}
	f.Calls[key]++
	if ft := f.Throttle[key]; ft != nil && ft.N > 0 {
		ft.N--
		h := map[string]string{}
		if ft.RetryAfter != "" {
			h["Retry-After"] = ft.RetryAfter
		}
		return 0, nil, &APIError{Status: ft.Status, Reason: ft.Reason, Message: "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user'", Header: h}
	}
	sel, err := ParseFields(q.Get("fields"))
	if err != nil {
		return 0, nil, BadRequest("Invalid field selection " + q.Get("fields"))
	}
	filter := func(v map[string]any) map[string]any { return sel.Apply(v) }

	switch {
	case r.Method == "GET" && len(parts) == 1 && parts[0] == "users":
		return f.ListUsers(q, filter)
	case len(parts) == 2 && parts[0] == "users":
		u := f.FindUser(parts[1])
		if u == nil {
			return 0, nil, NotFound("userKey")
		}
		switch r.Method {
		case "GET":
			return 200, filter(f.UserJSON(u, q)), nil
		case "PATCH":
			return f.PatchUser(u, body, filter)
		}
	case r.Method == "POST" && len(parts) == 3 && parts[0] == "users" && parts[2] == "signOut":
		return f.SignOut(parts[1])
	case len(parts) >= 3 && parts[0] == "users" && (parts[2] == "tokens" || parts[2] == "asps"):
		if parts[1] == f.Vanish && f.ByID[parts[1]] != nil {
			f.ByID[parts[1]].Deleted = true
		}
		u := f.FindUser(parts[1])
		if u == nil {
			return 0, nil, NotFound("userKey")
		}
		return f.Credentials(r.Method, u, parts[2:], filter)
	case r.Method == "GET" && len(parts) == 1 && parts[0] == "groups":
		return f.ListGroups(q, filter)
	case r.Method == "GET" && len(parts) == 2 && parts[0] == "groups":
		g := f.GByKey[strings.ToLower(parts[1])]
		if g == nil {
			return 0, nil, NotFound("groupKey")
		}
		return 200, filter(GroupJSON(g)), nil
	case len(parts) >= 3 && parts[0] == "groups" && parts[2] == "members":
		g := f.GByKey[strings.ToLower(parts[1])]
		if g == nil {
			return 0, nil, NotFound("groupKey")
		}
		if r.Method == "GET" && len(parts) == 3 {
			return f.ListMembers(g, q, filter)
		}
		if r.Method == "DELETE" && len(parts) == 4 {
			return f.RemoveMember(g, parts[3])
		}
	}
	return 0, nil, &APIError{Status: 404, Reason: "notFound", Message: "fake: " + r.Method + " " + r.URL.Path + " not modelled"}
}

// PatchUser answers PATCH users/{userKey}: only "suspended" is modelled; a
// change of it bumps the user's version.
func (f *Fake) PatchUser(u *User, body []byte, filter func(map[string]any) map[string]any) (int, any, *APIError) {
	var patch map[string]json.RawMessage
	if err := json.Unmarshal(body, &patch); err != nil {
		return 0, nil, BadRequest("Invalid JSON payload received")
	}
	for k, v := range patch {
		switch k {
		case "suspended":
			var b bool
			if err := json.Unmarshal(v, &b); err != nil {
				return 0, nil, BadRequest("Invalid value at 'suspended'")
			}
			if u.Suspended != b {
				u.Suspended = b
				u.Version++
			}
		default:
			return 0, nil, BadRequest("fake: patching " + k + " is not modelled")
		}
	}
	u.Writes++
	return 200, filter(f.UserJSON(u, url.Values{})), nil
}

// SignOut answers POST users/{userKey}/signOut.
func (f *Fake) SignOut(userKey string) (int, any, *APIError) {
	u := f.FindUser(userKey)
	if u == nil {
		return 0, nil, NotFound("userKey")
	}
	u.SignOuts++
	u.Writes++
	return 204, nil, nil
}

// RemoveMember answers DELETE groups/{groupKey}/members/{memberKey}.
func (f *Fake) RemoveMember(g *Group, memberKey string) (int, any, *APIError) {
	u := f.FindUser(memberKey)
	if u == nil {
		return 0, nil, NotFound("memberKey")
	}
	i := slices.Index(g.Members, u.ID)
	if i < 0 {
		return 0, nil, NotFound("memberKey")
	}
	g.Members = slices.Delete(g.Members, i, i+1)
	u.Writes++
	return 204, nil, nil
}

func (f *Fake) FindUser(key string) *User {
	u := f.ByID[key]
	if u == nil {
		u = f.ByEmail[strings.ToLower(key)]
	}
	if u == nil || u.Deleted {
		return nil
	}
	return u
}

// pageToken is opaque to clients; the fake encodes an offset and the
// listing it belongs to, and refuses a token from another listing.
func PageToken(kind string, off int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + strconv.Itoa(off)))
}

func ReadPageToken(kind, tok string) (int, bool) {
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

func MaxResults(q url.Values, def, most int) (int, *APIError) {
	s := q.Get("maxResults")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > most {
		return 0, BadRequest("Invalid value '" + s + "'. Values must be within the range: [1, " + strconv.Itoa(most) + "]")
	}
	return n, nil
}

func (f *Fake) ListUsers(q url.Values, filter func(map[string]any) map[string]any) (int, any, *APIError) {
	if q.Get("customer") == "" && q.Get("domain") == "" {
		return 0, nil, BadRequest("Bad Request") // customer or domain is required
	}
	if q.Get("customer") != "" && q.Get("customer") != "my_customer" && q.Get("customer") != "C01abc234" {
		return 0, nil, NotFound("customer")
	}
	n, aerr := MaxResults(q, 100, 500)
	if aerr != nil {
		return 0, nil, aerr
	}
	off, ok := ReadPageToken("users", q.Get("pageToken"))
	if !ok {
		return 0, nil, BadRequest("Invalid page token")
	}
	f.UsersPages++
	if f.FailUsersPage >= 0 && off/n == f.FailUsersPage {
		return 0, nil, &APIError{Status: f.FailStatus, Reason: "backendError", Message: "Backend Error"}
	}
	if f.ExpireAfterPages > 0 && f.UsersPages == f.ExpireAfterPages+1 {
		clear(f.AccessTokens) // the token the client holds is no longer accepted
		return 0, nil, &APIError{Status: 401, Reason: "authError", Message: "Invalid Credentials"}
	}
	var live []*User
	for _, u := range f.Users {
		if !u.Deleted {
			live = append(live, u)
		}
	}
	end := min(off+n, len(live))
	users := make([]any, 0, max(end-off, 0))
	for _, u := range live[min(off, len(live)):end] {
		users = append(users, f.UserJSON(u, q))
	}
	out := map[string]any{"kind": "admin#directory#users", "etag": `"fake-etag"`, "users": users}
	if end < len(live) {
		out["nextPageToken"] = PageToken("users", end)
	}
	return 200, filter(out), nil
}

// userJSON renders a user as the API does for the projection asked for
// (basic: no customSchemas; custom: those named in customFieldMask; full:
// all).
func (f *Fake) UserJSON(u *User, q url.Values) map[string]any {
	login := ZeroLogin
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

func GroupJSON(g *Group) map[string]any {
	return map[string]any{
		"kind": "admin#directory#group", "id": g.ID, "etag": `"g-` + g.ID + `"`,
		"email": g.Email, "name": g.Name, "description": "",
		"directMembersCount": strconv.Itoa(len(g.Members)), "adminCreated": true,
	}
}

func (f *Fake) ListGroups(q url.Values, filter func(map[string]any) map[string]any) (int, any, *APIError) {
	n, aerr := MaxResults(q, 200, 200)
	if aerr != nil {
		return 0, nil, aerr
	}
	var groups []*Group
	switch {
	case q.Get("userKey") != "":
		u := f.FindUser(q.Get("userKey"))
		if u == nil {
			return 0, nil, NotFound("userKey") // unknown user: 404
		}
		for _, g := range f.Groups {
			if slices.Contains(g.Members, u.ID) {
				groups = append(groups, g)
			}
		}
	case q.Get("customer") != "" || q.Get("domain") != "":
		groups = f.Groups
	default:
		return 0, nil, BadRequest("Bad Request")
	}
	kind := "groups:" + q.Get("userKey")
	off, ok := ReadPageToken(kind, q.Get("pageToken"))
	if !ok {
		return 0, nil, BadRequest("Invalid page token")
	}
	end := min(off+n, len(groups))
	out := map[string]any{"kind": "admin#directory#groups", "etag": `"fake-etag"`}
	var items []any
	for _, g := range groups[min(off, len(groups)):end] {
		items = append(items, GroupJSON(g))
	}
	if len(items) > 0 {
		out["groups"] = items
	}
	if end < len(groups) {
		out["nextPageToken"] = PageToken(kind, end)
	}
	return 200, filter(out), nil
}

func (f *Fake) ListMembers(g *Group, q url.Values, filter func(map[string]any) map[string]any) (int, any, *APIError) {
	n, aerr := MaxResults(q, 200, 200)
	if aerr != nil {
		return 0, nil, aerr
	}
	kind := "members:" + g.ID
	off, ok := ReadPageToken(kind, q.Get("pageToken"))
	if !ok {
		return 0, nil, BadRequest("Invalid page token")
	}
	end := min(off+n, len(g.Members))
	out := map[string]any{"kind": "admin#directory#members", "etag": `"fake-etag"`}
	var items []any
	for _, id := range g.Members[min(off, len(g.Members)):end] {
		u := f.ByID[id]
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
		out["nextPageToken"] = PageToken(kind, end)
	}
	return 200, filter(out), nil
}

func (f *Fake) Credentials(method string, u *User, parts []string, filter func(map[string]any) map[string]any) (int, any, *APIError) {
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
		i := slices.IndexFunc(u.Tokens, func(t Token) bool { return t.ClientID == parts[1] })
		if i < 0 {
			return 0, nil, NotFound("clientId")
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
			return 0, nil, BadRequest("Invalid value at 'code_id' (TYPE_INT32)")
		}
		i := slices.IndexFunc(u.ASPs, func(a ASP) bool { return a.CodeID == id })
		if i < 0 {
			return 0, nil, NotFound("codeId")
		}
		u.ASPs = slices.Delete(u.ASPs, i, i+1)
		u.Writes++
		return 204, nil, nil
	}
	return 0, nil, &APIError{Status: 404, Reason: "notFound", Message: "fake: not modelled"}
}

// ---- token endpoint ---------------------------------------------------------

// serveToken is Google's token endpoint for the JWT bearer grant: it
// verifies the assertion's RS256 signature against the service account's
// public key, its issuer, audience, expiry, subject (the impersonated admin)
// and that every scope asked for is authorized for domain-wide delegation.
func (f *Fake) ServeToken(w http.ResponseWriter, r *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	f.Mu.Lock()
	f.Assertions = append(f.Assertions, form.Get("assertion"))
	echo := f.Echo
	f.Mu.Unlock()
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
	if err1 != nil || rsa.VerifyPKCS1v15(&f.Key.PublicKey, crypto.SHA256, h[:], sig) != nil {
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
	case claims.Iss != f.ClientMail:
		fail(400, "invalid_grant", "Invalid issuer")
		return
	case claims.Aud != f.Srv.URL+"/token":
		fail(400, "invalid_grant", "Invalid audience")
		return
	case claims.Exp < now || claims.Iat > now+60:
		fail(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token")
		return
	case claims.Sub != f.Subject:
		fail(400, "invalid_grant", "Invalid email or User ID")
		return
	}
	f.Mu.Lock()
	defer f.Mu.Unlock()
	for _, s := range strings.Fields(claims.Scope) {
		if !slices.Contains(f.Authorized, s) {
			fail(401, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.")
			return
		}
	}
	f.TokenCalls++
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := "ya29.fake-" + base64.RawURLEncoding.EncodeToString(b)
	f.AccessTokens[tok] = true
	exp := f.TokenExpiresIn
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
type Selection map[string]Selection

// parseFields parses Google's partial-response syntax:
// a,b/c,d(e,f/g).
func ParseFields(s string) (Selection, error) {
	if s == "" {
		return nil, nil
	}
	sel, rest, err := ParseSel(s)
	if err != nil {
		return nil, err
	}
	if rest != "" {
		return nil, fmt.Errorf("trailing %q", rest)
	}
	return sel, nil
}

func ParseSel(s string) (Selection, string, error) {
	sel := Selection{}
	for {
		name, sub, rest, err := ParseElem(s)
		if err != nil {
			return nil, rest, err
		}
		sel[name] = Merge(sel[name], sub, sel, name)
		if !strings.HasPrefix(rest, ",") {
			return sel, rest, nil
		}
		s = rest[1:]
	}
}

// parseElem parses one element: name, name/elem or name(list).
func ParseElem(s string) (string, Selection, string, error) {
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
		n, sub, rest, err := ParseElem(s[1:])
		if err != nil {
			return "", nil, rest, err
		}
		return name, Selection{n: sub}, rest, nil
	case strings.HasPrefix(s, "("):
		sub, rest, err := ParseSel(s[1:])
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

func Merge(old, sub, parent Selection, name string) Selection {
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

func (s Selection) Apply(v map[string]any) map[string]any {
	if s == nil {
		return v
	}
	out := map[string]any{}
	for k, sub := range s {
		x, ok := v[k]
		if !ok {
			continue
		}
		out[k] = sub.ApplyAny(x)
	}
	return out
}

func (s Selection) ApplyAny(x any) any {
	if s == nil {
		return x
	}
	switch x := x.(type) {
	case map[string]any:
		return s.Apply(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = s.ApplyAny(e)
		}
		return out
	}
	return x
}
