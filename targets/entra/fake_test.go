package entra

import (
	"bytes"
	"context"
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
	"math/big"
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

// fakeGraph is a stateful fake of Microsoft Entra's token endpoint and the
// parts of Microsoft Graph v1.0 this package uses, served over TLS (azidentity
// refuses an authority that is not https). It is strict where Graph is: only
// the routes, query options and properties of the CSDL (TestFakeMatchesCSDL
// checks the fake's own vocabulary against it), $top 1–999, an expired or
// unknown token is 401, selecting signInActivity without the licence and
// permission is 403, a synchronised user's accountEnabled cannot be changed,
// a missing membership is 404.
type fakeGraph struct {
	srv    *httptest.Server
	tenant string
	client string
	secret string
	// certKey verifies client assertions (auth: certificate); federated is
	// the expected assertion (auth: workload_identity).
	certKey   *rsa.PublicKey
	federated func() string

	mu sync.Mutex
	// signInActivityAllowed: the tenant has P1/P2 and the app has
	// AuditLog.Read.All.
	signInActivityAllowed bool
	// signInPageCap is the largest page when signInActivity is selected
	// (Graph pages such listings smaller than $top).
	signInPageCap int
	pageCapOther  int // the largest page otherwise (999)
	tokens        map[string]bool
	tokenCount    int
	users         []*fUser
	userByID      map[string]*fUser
	groups        []*fGroup
	groupByID     map[string]*fGroup
	roles         map[string]*fRoleDef
	assignments   []fAssignment
	log           []string // "METHOD path?query" of Graph requests (when logging)
	logging       bool
	writes        map[string]int // user ID -> writes to it
	// fault injection, consulted before each Graph request
	fault func(r *http.Request, n int) (status int, header http.Header, body string)
	n     int // Graph requests served
}

type fUser struct {
	ID, UPN, Mail, EmployeeID, UserType, Sam string
	Enabled                                  bool
	Created                                  time.Time
	LastSignIn, LastNonInteractive, LastOK   *time.Time
	Synced                                   bool
	SessionsValidFrom                        time.Time
}

type fGroup struct {
	ID, Name       string
	Dynamic        bool
	RoleAssignable bool
	Synced         bool
	members        []string
	set            map[string]bool // the members, for lookups
}

func (g *fGroup) add(id string) {
	if g.set == nil {
		g.set = map[string]bool{}
	}
	g.members = append(g.members, id)
	g.set[id] = true
}

func (g *fGroup) has(id string) bool { return g.set[id] }

type fRoleDef struct{ ID, Name, TemplateID string }

type fAssignment struct{ ID, Principal, Role string }

// The fake's vocabulary: every name here must exist on the type in the CSDL.
var (
	fakeUserProps           = []string{"id", "userPrincipalName", "mail", "employeeId", "accountEnabled", "createdDateTime", "signInActivity", "userType", "onPremisesSamAccountName", "onPremisesSyncEnabled", "signInSessionsValidFromDateTime"}
	fakeSignInProps         = []string{"lastSignInDateTime", "lastSignInRequestId", "lastNonInteractiveSignInDateTime", "lastNonInteractiveSignInRequestId", "lastSuccessfulSignInDateTime", "lastSuccessfulSignInRequestId"}
	fakeGroupProps          = []string{"id", "displayName", "groupTypes", "isAssignableToRole", "onPremisesSyncEnabled", "membershipRule"}
	fakeRoleAssignmentProps = []string{"id", "principalId", "roleDefinitionId", "directoryScopeId"}
	fakeRoleDefProps        = []string{"id", "displayName", "templateId"}
	fakeWritableUserProps   = []string{"accountEnabled"}
	// fakeRoutes are the route templates the fake serves (method, path).
	fakeRoutes = [][2]string{
		{"GET", pathUsers}, {"GET", pathUser}, {"PATCH", pathUser}, {"POST", pathRevokeSessions},
		{"GET", pathUserMemberOf}, {"GET", pathGroups}, {"GET", pathGroup}, {"GET", pathGroupMembers},
		{"DELETE", pathGroupMemberRef}, {"GET", pathRoleAssignments},
	}
)

const fakeTenant = "11111111-2222-3333-4444-555555555555"

func newFakeGraph(t testing.TB) *fakeGraph {
	f := &fakeGraph{
		tenant: fakeTenant, client: "aaaaaaaa-0000-0000-0000-00000000c11e", secret: "fake-client-secret-Zq8~x",
		signInActivityAllowed: true, signInPageCap: 120, pageCapOther: 999,
		tokens: map[string]bool{}, userByID: map[string]*fUser{}, groupByID: map[string]*fGroup{},
		roles: map[string]*fRoleDef{}, writes: map[string]int{}, logging: true,
	}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// caFile writes the server's certificate as a PEM file (the connector's
// ca_file).
func (f *fakeGraph) caFile(t testing.TB) string {
	p := filepath.Join(t.TempDir(), "fake-ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *fakeGraph) base() string { return f.srv.URL }

func guid(kind byte, n int) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", n, int(kind), n%4096, (n/4096)%4096, n)
}

func (f *fakeGraph) addUser(u *fUser) *fUser {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users = append(f.users, u)
	f.userByID[u.ID] = u
	return u
}

func (f *fakeGraph) addGroup(g *fGroup) *fGroup {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups = append(f.groups, g)
	f.groupByID[g.ID] = g
	return g
}

func (f *fakeGraph) addRole(name, templateID string) *fRoleDef {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := &fRoleDef{ID: templateID, Name: name, TemplateID: templateID}
	f.roles[r.ID] = r
	return r
}

func (f *fakeGraph) assign(principal string, r *fRoleDef) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.assignments = append(f.assignments, fAssignment{ID: fmt.Sprintf("ra-%d", len(f.assignments)), Principal: principal, Role: r.ID})
}

func (f *fakeGraph) user(id string) fUser {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.userByID[id]
}

func (f *fakeGraph) isMember(gid, uid string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.groupByID[gid].has(uid)
}

// expireTokens makes every token issued so far invalid (as if it expired).
func (f *fakeGraph) expireTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = map[string]bool{}
}

func (f *fakeGraph) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

// seed makes n users (u0..), three groups (one dynamic, one role-assignable
// holding Global Administrator), and directory roles for u0.
func (f *fakeGraph) seed(n int) {
	created := time.Date(2023, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := range n {
		u := &fUser{ID: guid('u', i), UPN: fmt.Sprintf("u%d@contoso.example", i), Mail: fmt.Sprintf("u%d@contoso.example", i),
			EmployeeID: fmt.Sprintf("E%05d", i), UserType: "Member", Enabled: true, Created: created.Add(time.Duration(i) * time.Minute)}
		if i%2 == 0 {
			last := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
			u.LastSignIn, u.LastOK = &last, &last
		}
		f.addUser(u)
	}
	staff := f.addGroup(&fGroup{ID: guid('g', 1), Name: "Staff"})
	finance := f.addGroup(&fGroup{ID: guid('g', 2), Name: "Finance"})
	dyn := f.addGroup(&fGroup{ID: guid('g', 3), Name: "All Members (dynamic)", Dynamic: true})
	admins := f.addGroup(&fGroup{ID: guid('g', 4), Name: "Tier0 Admins", RoleAssignable: true})
	f.mu.Lock()
	for i, u := range f.users {
		staff.add(u.ID)
		dyn.add(u.ID)
		if i%3 == 0 {
			finance.add(u.ID)
		}
	}
	if n > 3 {
		admins.add(f.users[3].ID)
	}
	f.mu.Unlock()
	ga := f.addRole("Global Administrator", "62e90394-69f5-4237-9190-012177145e10")
	pra := f.addRole("Privileged Role Administrator", "e8611ab8-c189-46e8-94e1-60213ab1f814")
	if n > 0 {
		f.assign(guid('u', 0), ga)
		f.assign(guid('u', 0), pra)
	}
	f.assign(admins.ID, ga)
}

// ---- HTTP ------------------------------------------------------------------

func graphError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": code, "message": msg,
		"innerError": map[string]string{"date": time.Now().UTC().Format("2006-01-02T15:04:05"), "request-id": "00000000-0000-0000-0000-000000000000"},
	}})
}

func (f *fakeGraph) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/"+f.tenant+"/v2.0/.well-known/openid-configuration" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"token_endpoint":         f.base() + "/" + f.tenant + "/oauth2/v2.0/token",
			"authorization_endpoint": f.base() + "/" + f.tenant + "/oauth2/v2.0/authorize",
			"issuer":                 f.base() + "/" + f.tenant + "/v2.0",
		})
	case p == "/"+f.tenant+"/oauth2/v2.0/token" && r.Method == http.MethodPost:
		f.token(w, r)
	case strings.HasPrefix(p, "/v1.0/"):
		f.graph(w, r)
	default:
		http.NotFound(w, r)
	}
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": code, "error_description": desc, "error_codes": []int{7000215}})
}

func (f *fakeGraph) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, 400, "invalid_request", err.Error())
		return
	}
	fm := r.PostForm
	if fm.Get("grant_type") != "client_credentials" || fm.Get("client_id") != f.client {
		tokenError(w, 400, "unauthorized_client", "AADSTS700016: Application with identifier '"+fm.Get("client_id")+"' was not found")
		return
	}
	if s := fm.Get("scope"); !slices.Contains(strings.Fields(s), f.base()+"/.default") {
		tokenError(w, 400, "invalid_scope", "AADSTS70011: The provided value for the input parameter 'scope' is not valid: "+s)
		return
	}
	switch {
	case fm.Has("client_secret"):
		if fm.Get("client_secret") != f.secret {
			tokenError(w, 401, "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID")
			return
		}
	case fm.Get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
		if err := f.checkAssertion(fm.Get("client_assertion")); err != nil {
			tokenError(w, 401, "invalid_client", "AADSTS700027: Client assertion failed signature validation: "+err.Error())
			return
		}
	default:
		tokenError(w, 401, "invalid_client", "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	f.mu.Lock()
	f.tokenCount++
	tok := fmt.Sprintf("eyJ0eXAiOiJKV1QifQ.fake-access-token-%d-%d", f.tokenCount, time.Now().UnixNano())
	f.tokens[tok] = true
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
}

// checkAssertion verifies a client assertion: the federated token as it is
// (workload identity), or a JWT signed with the registered certificate.
func (f *fakeGraph) checkAssertion(a string) error {
	if f.federated != nil {
		if a != f.federated() {
			return fmt.Errorf("not the federated token")
		}
		return nil
	}
	if f.certKey == nil {
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
		err = rsa.VerifyPKCS1v15(f.certKey, crypto.SHA256, sum[:], sig)
	case "PS256":
		err = rsa.VerifyPSS(f.certKey, crypto.SHA256, sum[:], sig, nil)
	default:
		err = fmt.Errorf("alg %s", hdr.Alg)
	}
	if err != nil {
		return err
	}
	if claims.Iss != f.client || claims.Sub != f.client || claims.Aud != f.base()+"/"+f.tenant+"/oauth2/v2.0/token" || time.Unix(claims.Exp, 0).Before(time.Now()) {
		return fmt.Errorf("bad claims %+v", claims)
	}
	return nil
}

// route matches a Graph path against the route templates.
func route(p string) (tmpl string, ids []string) {
	segs := strings.Split(strings.TrimPrefix(p, "/v1.0/"), "/")
	for _, rt := range fakeRoutes {
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

func (f *fakeGraph) graph(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.n++
	n := f.n
	if f.logging {
		f.log = append(f.log, r.Method+" "+r.URL.RequestURI())
	}
	fault := f.fault
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	valid := ok && f.tokens[tok]
	f.mu.Unlock()
	if !valid {
		graphError(w, 401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
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
	tmpl, ids := route(r.URL.Path)
	if !slices.Contains(fakeRoutes, [2]string{r.Method, tmpl}) {
		graphError(w, 400, "BadRequest", "Resource not found for the segment '"+r.URL.Path+"'.")
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		graphError(w, 400, "BadRequest", "Invalid query: "+err.Error())
		return
	}
	for k := range q {
		if !slices.Contains([]string{"$select", "$top", "$skiptoken", "$expand"}, k) {
			graphError(w, 400, "BadRequest", "Query option '"+k+"' is not allowed.")
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.Method + " " + tmpl {
	case "GET " + pathUsers:
		f.listUsers(w, r, q)
	case "GET " + pathUser:
		u := f.userByID[ids[0]]
		if u == nil {
			graphError(w, 404, "Request_ResourceNotFound", "Resource '"+ids[0]+"' does not exist or one of its queried reference-property objects are not present.")
			return
		}
		sel, ok := f.selectOf(w, q, fakeUserProps, "user")
		if !ok {
			return
		}
		if slices.Contains(sel, "signInActivity") && !f.signInActivityAllowed {
			graphError(w, 403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant", "Neither tenant is B2C or tenant doesn't have premium license")
			return
		}
		var b bytes.Buffer
		f.encodeUser(&b, u, sel)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b.Bytes())
	case "PATCH " + pathUser:
		f.patchUser(w, r, ids[0])
	case "POST " + pathRevokeSessions:
		u := f.userByID[ids[0]]
		if u == nil {
			graphError(w, 404, "Request_ResourceNotFound", "Resource '"+ids[0]+"' does not exist or one of its queried reference-property objects are not present.")
			return
		}
		u.SessionsValidFrom = time.Now().UTC()
		f.writes[u.ID]++
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean","value":true}`)
	case "GET " + pathUserMemberOf:
		u := f.userByID[ids[0]]
		if u == nil {
			graphError(w, 404, "Request_ResourceNotFound", "Resource '"+ids[0]+"' does not exist or one of its queried reference-property objects are not present.")
			return
		}
		var gs []*fGroup
		for _, g := range f.groups {
			if g.has(u.ID) {
				gs = append(gs, g)
			}
		}
		f.pageOf(w, r, q, len(gs), fakeGroupProps, "group", func(b *bytes.Buffer, i int, sel []string) { f.encodeGroup(b, gs[i], sel) })
	case "GET " + pathGroups:
		f.pageOf(w, r, q, len(f.groups), fakeGroupProps, "group", func(b *bytes.Buffer, i int, sel []string) { f.encodeGroup(b, f.groups[i], sel) })
	case "GET " + pathGroup:
		g := f.groupByID[ids[0]]
		if g == nil {
			graphError(w, 404, "Request_ResourceNotFound", "Resource '"+ids[0]+"' does not exist or one of its queried reference-property objects are not present.")
			return
		}
		sel, ok := f.selectOf(w, q, fakeGroupProps, "group")
		if !ok {
			return
		}
		var b bytes.Buffer
		f.encodeGroup(&b, g, sel)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b.Bytes())
	case "GET " + pathGroupMembers:
		g := f.groupByID[ids[0]]
		if g == nil {
			graphError(w, 404, "Request_ResourceNotFound", "Resource '"+ids[0]+"' does not exist or one of its queried reference-property objects are not present.")
			return
		}
		members := g.members
		f.pageOf(w, r, q, len(members), fakeUserProps, "user", func(b *bytes.Buffer, i int, sel []string) { f.encodeUser(b, f.userByID[members[i]], sel) })
	case "DELETE " + pathGroupMemberRef:
		g := f.groupByID[ids[0]]
		if g == nil || !g.has(ids[1]) {
			graphError(w, 404, "Request_ResourceNotFound", "Resource '"+ids[0]+"' does not exist or one of its queried reference-property objects are not present.")
			return
		}
		if g.Dynamic {
			graphError(w, 400, "Request_BadRequest", "Insufficient privileges to complete the operation: the group has dynamic membership.")
			return
		}
		g.members = slices.DeleteFunc(g.members, func(s string) bool { return s == ids[1] })
		delete(g.set, ids[1])
		f.writes[ids[1]]++
		w.WriteHeader(http.StatusNoContent)
	case "GET " + pathRoleAssignments:
		f.listRoleAssignments(w, r, q)
	}
}

// selectOf parses $select, each name a property the fake knows for typ.
func (f *fakeGraph) selectOf(w http.ResponseWriter, q url.Values, known []string, typ string) ([]string, bool) {
	s := q.Get("$select")
	if s == "" {
		graphError(w, 400, "BadRequest", "this fake requires $select (Graph would return a default property set)")
		return nil, false
	}
	sel := strings.Split(s, ",")
	for _, p := range sel {
		if !slices.Contains(known, p) {
			graphError(w, 400, "BadRequest", "Could not find a property named '"+p+"' on type 'microsoft.graph."+typ+"'.")
			return nil, false
		}
	}
	return sel, true
}

// pageOf serves one page of a collection of n items: $top (1–999, capped at
// cap), $skiptoken (opaque), @odata.nextLink carrying the query on.
func (f *fakeGraph) pageOf(w http.ResponseWriter, r *http.Request, q url.Values, n int, known []string, typ string, enc func(*bytes.Buffer, int, []string)) {
	f.pageOfCap(w, r, q, n, known, typ, f.pageCapOther, enc)
}

func (f *fakeGraph) pageOfCap(w http.ResponseWriter, r *http.Request, q url.Values, n int, known []string, typ string, pageCap int, enc func(*bytes.Buffer, int, []string)) {
	sel, ok := f.selectOf(w, q, known, typ)
	if !ok {
		return
	}
	top := 100
	if s := q.Get("$top"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > 999 {
			graphError(w, 400, "Request_UnsupportedQuery", "Invalid page size specified: '"+s+"'. Must be between 1 and 999 inclusive.")
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
			graphError(w, 400, "Directory_ExpiredPageToken", "The specified page token value has expired and can no longer be included in your request.")
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
		link := f.base() + r.URL.Path + "?" + strings.NewReplacer("%24", "$", "%2C", ",").Replace(nq.Encode())
		b.WriteString(`"@odata.nextLink":`)
		writeJSON(&b, link)
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

func (f *fakeGraph) listUsers(w http.ResponseWriter, r *http.Request, q url.Values) {
	sel := strings.Split(q.Get("$select"), ",")
	pageCap := f.pageCapOther
	if slices.Contains(sel, "signInActivity") {
		if !f.signInActivityAllowed {
			graphError(w, 403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant", "Neither tenant is B2C or tenant doesn't have premium license")
			return
		}
		pageCap = f.signInPageCap
	}
	users := f.users
	f.pageOfCap(w, r, q, len(users), fakeUserProps, "user", pageCap, func(b *bytes.Buffer, i int, sel []string) { f.encodeUser(b, users[i], sel) })
}

func (f *fakeGraph) patchUser(w http.ResponseWriter, r *http.Request, id string) {
	u := f.userByID[id]
	if u == nil {
		graphError(w, 404, "Request_ResourceNotFound", "Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
		return
	}
	var body map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body) == 0 {
		graphError(w, 400, "BadRequest", "Empty Payload, JSON content expected")
		return
	}
	for k := range body {
		if !slices.Contains(fakeWritableUserProps, k) {
			graphError(w, 400, "Request_BadRequest", "Property '"+k+"' is read-only or unknown to this fake.")
			return
		}
	}
	var enabled bool
	if err := json.Unmarshal(body["accountEnabled"], &enabled); err != nil {
		graphError(w, 400, "Request_BadRequest", "Invalid value specified for property 'accountEnabled' of resource 'User'.")
		return
	}
	if u.Synced {
		graphError(w, 400, "Request_BadRequest", "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.")
		return
	}
	u.Enabled = enabled
	f.writes[u.ID]++
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeGraph) listRoleAssignments(w http.ResponseWriter, r *http.Request, q url.Values) {
	var defSel []string
	if e := q.Get("$expand"); e != "" {
		inner, ok := strings.CutPrefix(e, "roleDefinition($select=")
		if !ok || !strings.HasSuffix(inner, ")") {
			graphError(w, 400, "BadRequest", "Unsupported $expand: "+e)
			return
		}
		defSel = strings.Split(strings.TrimSuffix(inner, ")"), ",")
		for _, p := range defSel {
			if !slices.Contains(fakeRoleDefProps, p) {
				graphError(w, 400, "BadRequest", "Could not find a property named '"+p+"' on type 'microsoft.graph.unifiedRoleDefinition'.")
				return
			}
		}
	}
	as := f.assignments
	// Role assignments come in pages of 2 here, to exercise paging.
	f.pageOfCap(w, r, q, len(as), fakeRoleAssignmentProps, "roleAssignment", 2, func(b *bytes.Buffer, i int, sel []string) {
		a := as[i]
		vals := map[string]any{"id": a.ID, "principalId": a.Principal, "roleDefinitionId": a.Role, "directoryScopeId": "/"}
		b.WriteByte('{')
		for j, p := range sel {
			if j > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, p)
			b.WriteByte(':')
			writeJSON(b, vals[p])
		}
		if defSel != nil {
			d := f.roles[a.Role]
			dv := map[string]any{"id": d.ID, "displayName": d.Name, "templateId": d.TemplateID}
			b.WriteString(`,"roleDefinition":{`)
			for j, p := range defSel {
				if j > 0 {
					b.WriteByte(',')
				}
				writeJSON(b, p)
				b.WriteByte(':')
				writeJSON(b, dv[p])
			}
			b.WriteByte('}')
		}
		b.WriteByte('}')
	})
}

func writeJSON(b *bytes.Buffer, v any) {
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

func (f *fakeGraph) encodeUser(b *bytes.Buffer, u *fUser, sel []string) {
	b.WriteByte('{')
	for i, p := range sel {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSON(b, p)
		b.WriteByte(':')
		switch p {
		case "id":
			writeJSON(b, u.ID)
		case "userPrincipalName":
			writeJSON(b, u.UPN)
		case "mail":
			writeJSON(b, u.Mail)
		case "employeeId":
			writeJSON(b, u.EmployeeID)
		case "accountEnabled":
			writeJSON(b, u.Enabled)
		case "createdDateTime":
			writeJSON(b, u.Created)
		case "userType":
			writeJSON(b, u.UserType)
		case "onPremisesSamAccountName":
			writeJSON(b, u.Sam)
		case "onPremisesSyncEnabled":
			if u.Synced {
				b.WriteString("true")
			} else {
				b.WriteString("null") // Graph: null for cloud-only users
			}
		case "signInSessionsValidFromDateTime":
			writeJSON(b, u.SessionsValidFrom)
		case "signInActivity":
			if u.LastSignIn == nil && u.LastNonInteractive == nil && u.LastOK == nil {
				b.WriteString("null")
				continue
			}
			b.WriteString(`{"lastSignInDateTime":`)
			writeJSON(b, u.LastSignIn)
			b.WriteString(`,"lastSignInRequestId":"00000000-0000-0000-0000-00000000000a","lastNonInteractiveSignInDateTime":`)
			writeJSON(b, u.LastNonInteractive)
			b.WriteString(`,"lastNonInteractiveSignInRequestId":null,"lastSuccessfulSignInDateTime":`)
			writeJSON(b, u.LastOK)
			b.WriteString(`,"lastSuccessfulSignInRequestId":null}`)
		}
	}
	b.WriteByte('}')
}

func (f *fakeGraph) encodeGroup(b *bytes.Buffer, g *fGroup, sel []string) {
	b.WriteByte('{')
	for i, p := range sel {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSON(b, p)
		b.WriteByte(':')
		switch p {
		case "id":
			writeJSON(b, g.ID)
		case "displayName":
			writeJSON(b, g.Name)
		case "groupTypes":
			if g.Dynamic {
				b.WriteString(`["DynamicMembership"]`)
			} else {
				b.WriteString(`[]`)
			}
		case "isAssignableToRole":
			writeJSON(b, g.RoleAssignable)
		case "onPremisesSyncEnabled":
			if g.Synced {
				b.WriteString("true")
			} else {
				b.WriteString("null")
			}
		case "membershipRule":
			if g.Dynamic {
				writeJSON(b, `user.accountEnabled -eq true`)
			} else {
				b.WriteString("null")
			}
		}
	}
	b.WriteByte('}')
}

// ---- test helpers ------------------------------------------------------------

// config is a client_secret configuration for the fake, with the secret
// set the way the wiring sets it (through SecretFields).
func (f *fakeGraph) config(t testing.TB) Config {
	cfg := Config{TenantID: f.tenant, ClientID: f.client, Auth: AuthClientSecret, ClientSecretEnv: "ENTRA_SECRET",
		AuthorityHost: f.base() + "/", GraphURL: f.base(), CAFile: f.caFile(t)}
	for _, sf := range cfg.SecretFields() {
		if sf.Key == "client_secret" {
			*sf.Value = "fake-client-secret-Zq8~x"
		}
	}
	return cfg
}

// sleepLog records waits instead of sleeping.
type sleepLog struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleepLog) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepLog) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.waits)
}

// certificatePEM makes a self-signed certificate with its key, PEM.
func certificatePEM(t testing.TB, key *rsa.PrivateKey) []byte {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	tmpl.Subject.CommonName = "accessrecon-test"
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})...)
}
