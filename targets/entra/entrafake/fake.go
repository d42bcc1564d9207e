// Package entrafake is a stateful fake of Microsoft Entra's token endpoint
// and the parts of Microsoft Graph v1.0 the entra connector uses, for tests
// of the connector and of whatever drives it (end-to-end tests of the
// command). Its vocabulary is checked against Microsoft's CSDL by the
// connector's csdl_test.go.
package entrafake

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Graph is a stateful fake of Microsoft Entra's token endpoint and the
// parts of Microsoft Graph v1.0 this package uses, served over TLS (azidentity
// refuses an authority that is not https). It is strict where Graph is: only
// the routes, query options and properties of the CSDL (TestFakeMatchesCSDL
// checks the fake's own vocabulary against it), $top 1–999, an expired or
// unknown token is 401, selecting signInActivity without the licence and
// permission is 403, a synchronised user's accountEnabled cannot be changed,
// a missing membership is 404.
type Graph struct {
	Srv    *httptest.Server
	Tenant string
	Client string
	Secret string
	// certKey verifies client assertions (auth: certificate); federated is
	// the expected assertion (auth: workload_identity).
	CertKey   *rsa.PublicKey
	Federated func() string

	Mu sync.Mutex
	// signInActivityAllowed: the tenant has P1/P2 and the app has
	// AuditLog.Read.All.
	SignInActivityAllowed bool
	// signInPageCap is the largest page when signInActivity is selected
	// (Graph pages such listings smaller than $top).
	SignInPageCap int
	PageCapOther  int // the largest page otherwise (999)
	Tokens        map[string]bool
	TokenCount    int
	Users         []*User
	UserByID      map[string]*User
	Groups        []*Group
	GroupByID     map[string]*Group
	Roles         map[string]*RoleDef
	Assignments   []Assignment
	Log           []string // "METHOD path?query" of Graph requests (when logging)
	Logging       bool
	Writes        map[string]int // user ID -> writes to it
	// fault injection, consulted before each Graph request
	Fault func(r *http.Request, n int) (status int, header http.Header, body string)
	N     int // Graph requests served
}

type User struct {
	ID, UPN, Mail, EmployeeID, UserType, Sam string
	Enabled                                  bool
	Created                                  time.Time
	LastSignIn, LastNonInteractive, LastOK   *time.Time
	Synced                                   bool
	SessionsValidFrom                        time.Time
}

type Group struct {
	ID, Name       string
	Dynamic        bool
	RoleAssignable bool
	Synced         bool
	Members        []string
	Set            map[string]bool // the members, for lookups
}

func (g *Group) Add(id string) {
	if g.Set == nil {
		g.Set = map[string]bool{}
	}
	g.Members = append(g.Members, id)
	g.Set[id] = true
}

func (g *Group) Has(id string) bool { return g.Set[id] }

type RoleDef struct{ ID, Name, TemplateID string }

type Assignment struct{ ID, Principal, Role string }

// Path templates, as the connector writes them ("{id}" is a key segment);
// the connector's tests check that its own templates are among Routes.
const (
	pathUsers           = "/users"
	pathUser            = "/users/{id}"
	pathRevokeSessions  = "/users/{id}/revokeSignInSessions"
	pathUserMemberOf    = "/users/{id}/memberOf/microsoft.graph.group"
	pathGroups          = "/groups"
	pathGroup           = "/groups/{id}"
	pathGroupMembers    = "/groups/{id}/members/microsoft.graph.user"
	pathGroupMemberRef  = "/groups/{id}/members/{id}/$ref"
	pathRoleAssignments = "/roleManagement/directory/roleAssignments"
)

// The fake's vocabulary: every name here must exist on the type in the CSDL.
var (
	UserProps           = []string{"id", "userPrincipalName", "mail", "employeeId", "accountEnabled", "createdDateTime", "signInActivity", "userType", "onPremisesSamAccountName", "onPremisesSyncEnabled", "signInSessionsValidFromDateTime"}
	SignInProps         = []string{"lastSignInDateTime", "lastSignInRequestId", "lastNonInteractiveSignInDateTime", "lastNonInteractiveSignInRequestId", "lastSuccessfulSignInDateTime", "lastSuccessfulSignInRequestId"}
	GroupProps          = []string{"id", "displayName", "groupTypes", "isAssignableToRole", "onPremisesSyncEnabled", "membershipRule"}
	RoleAssignmentProps = []string{"id", "principalId", "roleDefinitionId", "directoryScopeId"}
	RoleDefProps        = []string{"id", "displayName", "templateId"}
	WritableUserProps   = []string{"accountEnabled"}
	// fakeRoutes are the route templates the fake serves (method, path).
	Routes = [][2]string{
		{"GET", pathUsers}, {"GET", pathUser}, {"PATCH", pathUser}, {"POST", pathRevokeSessions},
		{"GET", pathUserMemberOf}, {"GET", pathGroups}, {"GET", pathGroup}, {"GET", pathGroupMembers},
		{"DELETE", pathGroupMemberRef}, {"GET", pathRoleAssignments},
	}
)

const Tenant = "11111111-2222-3333-4444-555555555555"

func New(t testing.TB) *Graph {
	f := &Graph{
		Tenant: Tenant, Client: "aaaaaaaa-0000-0000-0000-00000000c11e", Secret: "fake-client-secret-Zq8~x",
		SignInActivityAllowed: true, SignInPageCap: 120, PageCapOther: 999,
		Tokens: map[string]bool{}, UserByID: map[string]*User{}, GroupByID: map[string]*Group{},
		Roles: map[string]*RoleDef{}, Writes: map[string]int{}, Logging: true,
	}
	f.Srv = httptest.NewTLSServer(http.HandlerFunc(f.Serve))
	t.Cleanup(f.Srv.Close)
	return f
}

// caFile writes the server's certificate as a PEM file (the connector's
// ca_file).
func (f *Graph) CAFile(t testing.TB) string {
	p := filepath.Join(t.TempDir(), "fake-ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.Srv.Certificate().Raw})
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *Graph) Base() string { return f.Srv.URL }

func GUID(kind byte, n int) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", n, int(kind), n%4096, (n/4096)%4096, n)
}

func (f *Graph) AddUser(u *User) *User {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.Users = append(f.Users, u)
	f.UserByID[u.ID] = u
	return u
}

func (f *Graph) AddGroup(g *Group) *Group {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.Groups = append(f.Groups, g)
	f.GroupByID[g.ID] = g
	return g
}

func (f *Graph) AddRole(name, templateID string) *RoleDef {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	r := &RoleDef{ID: templateID, Name: name, TemplateID: templateID}
	f.Roles[r.ID] = r
	return r
}

func (f *Graph) Assign(principal string, r *RoleDef) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.Assignments = append(f.Assignments, Assignment{ID: fmt.Sprintf("ra-%d", len(f.Assignments)), Principal: principal, Role: r.ID})
}

func (f *Graph) User(id string) User {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return *f.UserByID[id]
}

func (f *Graph) IsMember(gid, uid string) bool {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return f.GroupByID[gid].Has(uid)
}

// expireTokens makes every token issued so far invalid (as if it expired).
func (f *Graph) ExpireTokens() {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.Tokens = map[string]bool{}
}

func (f *Graph) Requests() []string {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return slices.Clone(f.Log)
}

// seed makes n users (u0..), three groups (one dynamic, one role-assignable
// holding Global Administrator), and directory roles for u0.
func (f *Graph) Seed(n int) {
	created := time.Date(2023, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := range n {
		u := &User{ID: GUID('u', i), UPN: fmt.Sprintf("u%d@contoso.example", i), Mail: fmt.Sprintf("u%d@contoso.example", i),
			EmployeeID: fmt.Sprintf("E%05d", i), UserType: "Member", Enabled: true, Created: created.Add(time.Duration(i) * time.Minute)}
		if i%2 == 0 {
			last := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
			u.LastSignIn, u.LastOK = &last, &last
		}
		f.AddUser(u)
	}
	staff := f.AddGroup(&Group{ID: GUID('g', 1), Name: "Staff"})
	finance := f.AddGroup(&Group{ID: GUID('g', 2), Name: "Finance"})
	dyn := f.AddGroup(&Group{ID: GUID('g', 3), Name: "All Members (dynamic)", Dynamic: true})
	admins := f.AddGroup(&Group{ID: GUID('g', 4), Name: "Tier0 Admins", RoleAssignable: true})
	f.Mu.Lock()
	for i, u := range f.Users {
		staff.Add(u.ID)
		dyn.Add(u.ID)
		if i%3 == 0 {
			finance.Add(u.ID)
		}
	}
	if n > 3 {
		admins.Add(f.Users[3].ID)
	}
	f.Mu.Unlock()
	ga := f.AddRole("Global Administrator", "62e90394-69f5-4237-9190-012177145e10")
	pra := f.AddRole("Privileged Role Administrator", "e8611ab8-c189-46e8-94e1-60213ab1f814")
	if n > 0 {
		f.Assign(GUID('u', 0), ga)
		f.Assign(GUID('u', 0), pra)
	}
	f.Assign(admins.ID, ga)
}

// ---- HTTP ------------------------------------------------------------------

func GraphError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": code, "message": msg,
		"innerError": map[string]string{"date": time.Now().UTC().Format("2006-01-02T15:04:05"), "request-id": "00000000-0000-0000-0000-000000000000"},
	}})
}

func (f *Graph) Serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/"+f.Tenant+"/v2.0/.well-known/openid-configuration" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"token_endpoint":         f.Base() + "/" + f.Tenant + "/oauth2/v2.0/token",
			"authorization_endpoint": f.Base() + "/" + f.Tenant + "/oauth2/v2.0/authorize",
			"issuer":                 f.Base() + "/" + f.Tenant + "/v2.0",
		})
	case p == "/"+f.Tenant+"/oauth2/v2.0/token" && r.Method == http.MethodPost:
		f.Token(w, r)
	case strings.HasPrefix(p, "/v1.0/"):
		f.Graph(w, r)
	default:
		http.NotFound(w, r)
	}
}

func TokenError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": code, "error_description": desc, "error_codes": []int{7000215}})
}

func (f *Graph) Token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		TokenError(w, 400, "invalid_request", err.Error())
		return
	}
	fm := r.PostForm
	if fm.Get("grant_type") != "client_credentials" || fm.Get("client_id") != f.Client {
		TokenError(w, 400, "unauthorized_client", "AADSTS700016: Application with identifier '"+fm.Get("client_id")+"' was not found")
		return
	}
	if s := fm.Get("scope"); !slices.Contains(strings.Fields(s), f.Base()+"/.default") {
		TokenError(w, 400, "invalid_scope", "AADSTS70011: The provided value for the input parameter 'scope' is not valid: "+s)
		return
	}
	switch {
	case fm.Has("client_secret"):
		if fm.Get("client_secret") != f.Secret {
			TokenError(w, 401, "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID")
			return
		}
	case fm.Get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
		if err := f.CheckAssertion(fm.Get("client_assertion")); err != nil {
			TokenError(w, 401, "invalid_client", "AADSTS700027: Client assertion failed signature validation: "+err.Error())
			return
		}
	default:
		TokenError(w, 401, "invalid_client", "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	f.Mu.Lock()
	f.TokenCount++
	tok := fmt.Sprintf("eyJ0eXAiOiJKV1QifQ.fake-access-token-%d-%d", f.TokenCount, time.Now().UnixNano())
	f.Tokens[tok] = true
	f.Mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
}

// checkAssertion verifies a client assertion: the federated token as it is
// (workload identity), or a JWT signed with the registered certificate.
func (f *Graph) CheckAssertion(a string) error {
	if f.Federated != nil {
		if a != f.Federated() {
			return fmt.Errorf("not the federated token")
		}
		return nil
	}
	if f.CertKey == nil {
		return fmt.Errorf("no certificate registered")
	}
	parts := strings.Split(a, ".")
	if len(parts) != 3 {
		return fmt.Errorf("not a JWT")
	}
	var hdr struct {
		Alg, X5t string
		X5tS256  string `json:"x5t#S256"`
	}
	var claims struct {
		Aud, Iss, Sub string
		Exp           int64
	}
	for i, v := range []any{&hdr, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, v); err != nil {
			return err
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch hdr.Alg {
	case "RS256":
		err = rsa.VerifyPKCS1v15(f.CertKey, crypto.SHA256, sum[:], sig)
	case "PS256":
		err = rsa.VerifyPSS(f.CertKey, crypto.SHA256, sum[:], sig, nil)
	default:
		err = fmt.Errorf("alg %s", hdr.Alg)
	}
	if err != nil {
		return err
	}
	if claims.Iss != f.Client || claims.Sub != f.Client || claims.Aud != f.Base()+"/"+f.Tenant+"/oauth2/v2.0/token" || time.Unix(claims.Exp, 0).Before(time.Now()) {
		return fmt.Errorf("bad claims %+v", claims)
	}
	return nil
}

// route matches a Graph path against the route templates.
func Route(p string) (tmpl string, ids []string) {
	segs := strings.Split(strings.TrimPrefix(p, "/v1.0/"), "/")
	for _, rt := range Routes {
		ts := strings.Split(strings.TrimPrefix(rt[1], "/"), "/")
		if len(ts) != len(segs) {
			continue
		}
		var got []string
		ok := true
		for i := range ts {
			if ts[i] == "{id}" && segs[i] != "" {
				got = append(got, segs[i])
			} else if ts[i] != segs[i] {
				ok = false
				break
			}
		}
		if ok {
			return rt[1], got
		}
	}
	return "", nil
}

func (f *Graph) Graph(w http.ResponseWriter, r *http.Request) {
	f.Mu.Lock()
	f.N++
	n := f.N
	if f.Logging {
		f.Log = append(f.Log, r.Method+" "+r.URL.RequestURI())
	}
	fault := f.Fault
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	valid := ok && f.Tokens[tok]
	f.Mu.Unlock()
	if !valid {
		GraphError(w, 401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
		return
	}
	if fault != nil {
		if status, hdr, body := fault(r, n); status != 0 {
			for k, v := range hdr {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
			return
		}
	}
	tmpl, ids := Route(r.URL.Path)
	if !slices.Contains(Routes, [2]string{r.Method, tmpl}) {
		GraphError(w, 400, "BadRequest", "Resource not found for the segment '"+r.URL.Path+"'.")
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		GraphError(w, 400, "BadRequest", "Invalid query: "+err.Error())
		return
	}
	for k := range q {
		if !slices.Contains([]string{"$select", "$top", "$skiptoken", "$expand"}, k) {
			GraphError(w, 400, "BadRequest", "Query option '"+k+"' is not allowed.")
			return
		}
	}
	f.Mu.Lock()
	defer f.Mu.Unlock()
	switch r.Method + " " + tmpl {
	case "GET " + pathUsers:
		f.ListUsers(w, r, q)
	case "GET " + pathUser:
		f.GetUser(w, q, ids[0])
	case "PATCH " + pathUser:
		f.PatchUser(w, r, ids[0])
	case "POST " + pathRevokeSessions:
		f.RevokeSessions(w, ids[0])
	case "GET " + pathUserMemberOf:
		f.ListUserMemberOf(w, r, q, ids[0])
	case "GET " + pathGroups:
		f.PageOf(w, r, q, len(f.Groups), GroupProps, "group", func(b *bytes.Buffer, i int, sel []string) { f.EncodeGroup(b, f.Groups[i], sel) })
	case "GET " + pathGroup:
		f.GetGroup(w, q, ids[0])
	case "GET " + pathGroupMembers:
		f.ListGroupMembers(w, r, q, ids[0])
	case "DELETE " + pathGroupMemberRef:
		f.RemoveGroupMember(w, ids[0], ids[1])
	case "GET " + pathRoleAssignments:
		f.ListRoleAssignments(w, r, q)
	}
}

// GetUser answers GET /users/{id}: one user, with the properties $select asks
// for (signInActivity only where the tenant allows it).
func (f *Graph) GetUser(w http.ResponseWriter, q url.Values, id string) {
	u := f.UserByID[id]
	if u == nil {
		GraphError(w, 404, "Request_ResourceNotFound", "Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
		return
	}
	sel, ok := f.SelectOf(w, q, UserProps, "user")
	if !ok {
		return
	}
	if slices.Contains(sel, "signInActivity") && !f.SignInActivityAllowed {
		GraphError(w, 403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant", "Neither tenant is B2C or tenant doesn't have premium license")
		return
	}
	var b bytes.Buffer
	f.EncodeUser(&b, u, sel)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b.Bytes())
}

// RevokeSessions answers POST /users/{id}/revokeSignInSessions: it moves the
// user's sessions-valid-from to now.
func (f *Graph) RevokeSessions(w http.ResponseWriter, id string) {
	u := f.UserByID[id]
	if u == nil {
		GraphError(w, 404, "Request_ResourceNotFound", "Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
		return
	}
	u.SessionsValidFrom = time.Now().UTC()
	f.Writes[u.ID]++
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean","value":true}`)
}

// ListUserMemberOf answers GET /users/{id}/memberOf/microsoft.graph.group:
// the groups the user is in, paged.
func (f *Graph) ListUserMemberOf(w http.ResponseWriter, r *http.Request, q url.Values, id string) {
	u := f.UserByID[id]
	if u == nil {
		GraphError(w, 404, "Request_ResourceNotFound", "Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
		return
	}
	var gs []*Group
	for _, g := range f.Groups {
		if g.Has(u.ID) {
			gs = append(gs, g)
		}
	}
	f.PageOf(w, r, q, len(gs), GroupProps, "group", func(b *bytes.Buffer, i int, sel []string) { f.EncodeGroup(b, gs[i], sel) })
}

// GetGroup answers GET /groups/{id}: one group, with the properties $select
// asks for.
func (f *Graph) GetGroup(w http.ResponseWriter, q url.Values, id string) {
	g := f.GroupByID[id]
	if g == nil {
		GraphError(w, 404, "Request_ResourceNotFound", "Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
		return
	}
	sel, ok := f.SelectOf(w, q, GroupProps, "group")
	if !ok {
		return
	}
	var b bytes.Buffer
	f.EncodeGroup(&b, g, sel)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b.Bytes())
}

// ListGroupMembers answers GET /groups/{id}/members/microsoft.graph.user:
// the group's members, paged.
func (f *Graph) ListGroupMembers(w http.ResponseWriter, r *http.Request, q url.Values, id string) {
	g := f.GroupByID[id]
	if g == nil {
		GraphError(w, 404, "Request_ResourceNotFound", "Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
		return
	}
	members := g.Members
	f.PageOf(w, r, q, len(members), UserProps, "user", func(b *bytes.Buffer, i int, sel []string) { f.EncodeUser(b, f.UserByID[members[i]], sel) })
}

// RemoveGroupMember answers DELETE /groups/{id}/members/{member}/$ref: it
// removes the member, unless the group's membership is dynamic.
func (f *Graph) RemoveGroupMember(w http.ResponseWriter, groupID, memberID string) {
	g := f.GroupByID[groupID]
	if g == nil || !g.Has(memberID) {
		GraphError(w, 404, "Request_ResourceNotFound", "Resource '"+groupID+"' does not exist or one of its queried reference-property objects are not present.")
		return
	}
	if g.Dynamic {
		GraphError(w, 400, "Request_BadRequest", "Insufficient privileges to complete the operation: the group has dynamic membership.")
		return
	}
	g.Members = slices.DeleteFunc(g.Members, func(s string) bool { return s == memberID })
	delete(g.Set, memberID)
	f.Writes[memberID]++
	w.WriteHeader(http.StatusNoContent)
}

// selectOf parses $select, each name a property the fake knows for typ.
func (f *Graph) SelectOf(w http.ResponseWriter, q url.Values, known []string, typ string) ([]string, bool) {
	s := q.Get("$select")
	if s == "" {
		GraphError(w, 400, "BadRequest", "this fake requires $select (Graph would return a default property set)")
		return nil, false
	}
	sel := strings.Split(s, ",")
	for _, p := range sel {
		if !slices.Contains(known, p) {
			GraphError(w, 400, "BadRequest", "Could not find a property named '"+p+"' on type 'microsoft.graph."+typ+"'.")
			return nil, false
		}
	}
	return sel, true
}

// pageOf serves one page of a collection of n items: $top (1–999, capped at
// cap), $skiptoken (opaque), @odata.nextLink carrying the query on.
func (f *Graph) PageOf(w http.ResponseWriter, r *http.Request, q url.Values, n int, known []string, typ string, enc func(*bytes.Buffer, int, []string)) {
	f.PageOfCap(w, r, q, n, known, typ, f.PageCapOther, enc)
}

func (f *Graph) PageOfCap(w http.ResponseWriter, r *http.Request, q url.Values, n int, known []string, typ string, pageCap int, enc func(*bytes.Buffer, int, []string)) {
	sel, ok := f.SelectOf(w, q, known, typ)
	if !ok {
		return
	}
	top := 100
	if s := q.Get("$top"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > 999 {
			GraphError(w, 400, "Request_UnsupportedQuery", "Invalid page size specified: '"+s+"'. Must be between 1 and 999 inclusive.")
			return
		}
		top = v
	}
	top = min(top, pageCap)
	off := 0
	if s := q.Get("$skiptoken"); s != "" {
		b, err := base64.RawURLEncoding.DecodeString(s)
		v, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "off:"))
		if err != nil || err2 != nil || v < 0 {
			GraphError(w, 400, "Directory_ExpiredPageToken", "The specified page token value has expired and can no longer be included in your request.")
			return
		}
		off = v
	}
	end := min(off+top, n)
	var b bytes.Buffer
	b.WriteString(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#` + typ + `s",`)
	if end < n {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte("off:"+strconv.Itoa(end))))
		link := f.Base() + r.URL.Path + "?" + strings.NewReplacer("%24", "$", "%2C", ",").Replace(nq.Encode())
		b.WriteString(`"@odata.nextLink":`)
		WriteJSON(&b, link)
		b.WriteByte(',')
	}
	b.WriteString(`"value":[`)
	for i := off; i < end; i++ {
		if i > off {
			b.WriteByte(',')
		}
		enc(&b, i, sel)
	}
	b.WriteString("]}")
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal")
	_, _ = w.Write(b.Bytes())
}

func (f *Graph) ListUsers(w http.ResponseWriter, r *http.Request, q url.Values) {
	sel := strings.Split(q.Get("$select"), ",")
	pageCap := f.PageCapOther
	if slices.Contains(sel, "signInActivity") {
		if !f.SignInActivityAllowed {
			GraphError(w, 403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant", "Neither tenant is B2C or tenant doesn't have premium license")
			return
		}
		pageCap = f.SignInPageCap
	}
	users := f.Users
	f.PageOfCap(w, r, q, len(users), UserProps, "user", pageCap, func(b *bytes.Buffer, i int, sel []string) { f.EncodeUser(b, users[i], sel) })
}

func (f *Graph) PatchUser(w http.ResponseWriter, r *http.Request, id string) {
	u := f.UserByID[id]
	if u == nil {
		GraphError(w, 404, "Request_ResourceNotFound", "Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
		return
	}
	var body map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body) == 0 {
		GraphError(w, 400, "BadRequest", "Empty Payload, JSON content expected")
		return
	}
	for k := range body {
		if !slices.Contains(WritableUserProps, k) {
			GraphError(w, 400, "Request_BadRequest", "Property '"+k+"' is read-only or unknown to this fake.")
			return
		}
	}
	var enabled bool
	if err := json.Unmarshal(body["accountEnabled"], &enabled); err != nil {
		GraphError(w, 400, "Request_BadRequest", "Invalid value specified for property 'accountEnabled' of resource 'User'.")
		return
	}
	if u.Synced {
		GraphError(w, 400, "Request_BadRequest", "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.")
		return
	}
	u.Enabled = enabled
	f.Writes[u.ID]++
	w.WriteHeader(http.StatusNoContent)
}

func (f *Graph) ListRoleAssignments(w http.ResponseWriter, r *http.Request, q url.Values) {
	var defSel []string
	if e := q.Get("$expand"); e != "" {
		inner, ok := strings.CutPrefix(e, "roleDefinition($select=")
		if !ok || !strings.HasSuffix(inner, ")") {
			GraphError(w, 400, "BadRequest", "Unsupported $expand: "+e)
			return
		}
		defSel = strings.Split(strings.TrimSuffix(inner, ")"), ",")
		for _, p := range defSel {
			if !slices.Contains(RoleDefProps, p) {
				GraphError(w, 400, "BadRequest", "Could not find a property named '"+p+"' on type 'microsoft.graph.unifiedRoleDefinition'.")
				return
			}
		}
	}
	as := f.Assignments
	// Role assignments come in pages of 2 here, to exercise paging.
	f.PageOfCap(w, r, q, len(as), RoleAssignmentProps, "roleAssignment", 2, func(b *bytes.Buffer, i int, sel []string) {
		a := as[i]
		vals := map[string]any{"id": a.ID, "principalId": a.Principal, "roleDefinitionId": a.Role, "directoryScopeId": "/"}
		b.WriteByte('{')
		for j, p := range sel {
			if j > 0 {
				b.WriteByte(',')
			}
			WriteJSON(b, p)
			b.WriteByte(':')
			WriteJSON(b, vals[p])
		}
		if defSel != nil {
			d := f.Roles[a.Role]
			dv := map[string]any{"id": d.ID, "displayName": d.Name, "templateId": d.TemplateID}
			b.WriteString(`,"roleDefinition":{`)
			for j, p := range defSel {
				if j > 0 {
					b.WriteByte(',')
				}
				WriteJSON(b, p)
				b.WriteByte(':')
				WriteJSON(b, dv[p])
			}
			b.WriteByte('}')
		}
		b.WriteByte('}')
	})
}

func WriteJSON(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case string:
		if x == "" {
			b.WriteString("null")
			return
		}
		j, _ := json.Marshal(x)
		b.Write(j)
	case *time.Time:
		if x == nil {
			b.WriteString("null")
			return
		}
		b.WriteString(`"` + x.UTC().Format(time.RFC3339) + `"`)
	case time.Time:
		if x.IsZero() {
			b.WriteString("null")
			return
		}
		b.WriteString(`"` + x.UTC().Format(time.RFC3339) + `"`)
	default:
		j, _ := json.Marshal(x)
		b.Write(j)
	}
}

func (f *Graph) EncodeUser(b *bytes.Buffer, u *User, sel []string) {
	b.WriteByte('{')
	for i, p := range sel {
		if i > 0 {
			b.WriteByte(',')
		}
		WriteJSON(b, p)
		b.WriteByte(':')
		switch p {
		case "id":
			WriteJSON(b, u.ID)
		case "userPrincipalName":
			WriteJSON(b, u.UPN)
		case "mail":
			WriteJSON(b, u.Mail)
		case "employeeId":
			WriteJSON(b, u.EmployeeID)
		case "accountEnabled":
			WriteJSON(b, u.Enabled)
		case "createdDateTime":
			WriteJSON(b, u.Created)
		case "userType":
			WriteJSON(b, u.UserType)
		case "onPremisesSamAccountName":
			WriteJSON(b, u.Sam)
		case "onPremisesSyncEnabled":
			if u.Synced {
				b.WriteString("true")
			} else {
				b.WriteString("null") // Graph: null for cloud-only users
			}
		case "signInSessionsValidFromDateTime":
			WriteJSON(b, u.SessionsValidFrom)
		case "signInActivity":
			if u.LastSignIn == nil && u.LastNonInteractive == nil && u.LastOK == nil {
				b.WriteString("null")
				continue
			}
			b.WriteString(`{"lastSignInDateTime":`)
			WriteJSON(b, u.LastSignIn)
			b.WriteString(`,"lastSignInRequestId":"00000000-0000-0000-0000-00000000000a","lastNonInteractiveSignInDateTime":`)
			WriteJSON(b, u.LastNonInteractive)
			b.WriteString(`,"lastNonInteractiveSignInRequestId":null,"lastSuccessfulSignInDateTime":`)
			WriteJSON(b, u.LastOK)
			b.WriteString(`,"lastSuccessfulSignInRequestId":null}`)
		}
	}
	b.WriteByte('}')
}

func (f *Graph) EncodeGroup(b *bytes.Buffer, g *Group, sel []string) {
	b.WriteByte('{')
	for i, p := range sel {
		if i > 0 {
			b.WriteByte(',')
		}
		WriteJSON(b, p)
		b.WriteByte(':')
		switch p {
		case "id":
			WriteJSON(b, g.ID)
		case "displayName":
			WriteJSON(b, g.Name)
		case "groupTypes":
			if g.Dynamic {
				b.WriteString(`["DynamicMembership"]`)
			} else {
				b.WriteString(`[]`)
			}
		case "isAssignableToRole":
			WriteJSON(b, g.RoleAssignable)
		case "onPremisesSyncEnabled":
			if g.Synced {
				b.WriteString("true")
			} else {
				b.WriteString("null")
			}
		case "membershipRule":
			if g.Dynamic {
				WriteJSON(b, `user.accountEnabled -eq true`)
			} else {
				b.WriteString("null")
			}
		}
	}
	b.WriteByte('}')
}

// ---- test helpers ------------------------------------------------------------
