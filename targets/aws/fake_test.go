package aws

// A stateful fake of the IAM Query protocol: form-encoded POSTs
// (Action=…&Version=2010-05-08), XML answers in <{Op}Response><{Op}Result>,
// errors as <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>.
// Every request and every answer passes through the model checks of
// spec_test.go; a violation fails the request (HTTP 500) and the test.

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
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

const fakeAccount = "123456789012"

type fakeKey struct {
	ID       string
	Status   string
	Created  time.Time
	LastUsed time.Time // zero: never used
}

type fakeUser struct {
	Name, ID         string
	Created          time.Time
	PasswordLastUsed time.Time
	Console          bool // has a login profile
	ConsoleCreated   time.Time
	Keys             []*fakeKey
	Groups           []string          // group names
	Attached         []string          // managed policy ARNs
	Inline           map[string]string // policy name -> JSON document
	Tags             map[string]string
}

type fakeGroup struct {
	Name, ID string
	Created  time.Time
	Attached []string
	Inline   map[string]string
}

type fakePolicy struct {
	Name, ARN, ID string
	Doc           string
}

// fakeIAM is the fake's state. Tests seed it directly (under mu) and read
// calls after the fact.
type fakeIAM struct {
	t    testing.TB
	spec *iamSpec

	mu       sync.Mutex
	users    []*fakeUser // in name order (IAM lists users by name)
	groups   map[string]*fakeGroup
	policies map[string]*fakePolicy
	now      time.Time

	// PageCap, when > 0, returns at most this many items per page whatever
	// MaxItems asks (IAM may return fewer than MaxItems).
	pageCap int
	// throttle answers the next n requests of an action with Throttling.
	throttle map[string]int
	// echo, when set, answers every request of an action with an error whose
	// message repeats the request's signature headers (a misbehaving proxy).
	echo map[string]bool
	// echoExtra is added to echoed errors (a proxy that logs more than it
	// should: the test puts the secret access key here).
	echoExtra string
	// denied answers every request of an action with AccessDenied;
	// deniedAfter does so once the action has been answered n times.
	denied      map[string]bool
	deniedAfter map[string]int

	// deleteOnCall deletes the named user just before answering the first
	// request of an action for that user (deleted while being read).
	deleteOnCall map[string]string

	calls    map[string]int
	total    int
	reportAt time.Time // zero: no credential report generated
	report   string    // the CSV as of reportAt (IAM keeps one up to 4 h)
	started  bool      // GenerateCredentialReport was called once
	stuck    bool      // the report never completes

	violations []string
	seen       map[string]bool // Shape.Member written in some answer
	served     map[string]bool // actions answered successfully
	nextID     int
}

func newFakeIAM(t testing.TB) *fakeIAM {
	f := &fakeIAM{
		t:           t,
		spec:        loadSpec(t),
		groups:      map[string]*fakeGroup{},
		policies:    map[string]*fakePolicy{},
		now:         time.Now().UTC().Truncate(time.Second),
		throttle:    map[string]int{},
		echo:        map[string]bool{},
		denied:      map[string]bool{},
		deniedAfter: map[string]int{},
		calls:       map[string]int{},
		seen:        map[string]bool{},
		served:      map[string]bool{},
	}
	// AWS-managed policies exist in every account.
	f.addPolicy("arn:aws:iam::aws:policy/AdministratorAccess", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	f.addPolicy("arn:aws:iam::aws:policy/IAMFullAccess", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","organizations:DescribeAccount"],"Resource":"*"}]}`)
	f.addPolicy("arn:aws:iam::aws:policy/ReadOnlyAccess", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","iam:Get*","iam:List*"],"Resource":"*"}]}`)
	if c, ok := t.(interface{ Cleanup(func()) }); ok {
		c.Cleanup(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			for _, v := range f.violations {
				t.Errorf("IAM model violation: %s", v)
			}
		})
	}
	return f
}

func (f *fakeIAM) id(prefix string) string {
	f.nextID++
	return fmt.Sprintf("%s%017d", prefix, f.nextID)
}

func (f *fakeIAM) addPolicy(arn, doc string) {
	name := arn[strings.LastIndex(arn, "/")+1:]
	f.policies[arn] = &fakePolicy{Name: name, ARN: arn, ID: f.id("ANPA"), Doc: doc}
}

// addUser adds a user (callers hold no lock; seeding happens before serving).
func (f *fakeIAM) addUser(name string) *fakeUser {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := &fakeUser{Name: name, ID: f.id("AIDA"), Created: f.now.AddDate(-1, 0, 0), Inline: map[string]string{}, Tags: map[string]string{}}
	i, _ := slices.BinarySearchFunc(f.users, name, func(u *fakeUser, n string) int { return strings.Compare(u.Name, n) })
	f.users = slices.Insert(f.users, i, u)
	return u
}

func (f *fakeIAM) addKey(u *fakeUser, status string, created, lastUsed time.Time) *fakeKey {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := &fakeKey{ID: f.id("AKIA"), Status: status, Created: created, LastUsed: lastUsed}
	u.Keys = append(u.Keys, k)
	return k
}

func (f *fakeIAM) addGroup(name string, attached ...string) *fakeGroup {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := &fakeGroup{Name: name, ID: f.id("AGPA"), Created: f.now.AddDate(-2, 0, 0), Attached: attached, Inline: map[string]string{}}
	f.groups[name] = g
	return g
}

func (f *fakeIAM) user(name string) *fakeUser {
	i, ok := slices.BinarySearchFunc(f.users, name, func(u *fakeUser, n string) int { return strings.Compare(u.Name, n) })
	if !ok {
		return nil
	}
	return f.users[i]
}

func (f *fakeIAM) groupARN(g *fakeGroup) string {
	return "arn:aws:iam::" + fakeAccount + ":group/" + g.Name
}

func (f *fakeIAM) userARN(u *fakeUser) string {
	return "arn:aws:iam::" + fakeAccount + ":user/" + u.Name
}

func (f *fakeIAM) callCount(action string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[action]
}

func (f *fakeIAM) totalCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.total
}

func (f *fakeIAM) resetCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = map[string]int{}
	f.total = 0
}

// serve starts the fake on 127.0.0.1.
func (f *fakeIAM) serve(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

// xe is an XML element to write: a leaf (text) or a parent (kids).
type xe struct {
	name string
	text string
	kids []xe
	leaf bool
}

func leaf(name, text string) xe { return xe{name: name, text: text, leaf: true} }
func node(name string, kids ...xe) xe {
	return xe{name: name, kids: kids}
}
func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }
func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func members(name string, items []xe) xe {
	for i := range items {
		items[i].name = "member"
	}
	return node(name, items...)
}

func (e xe) write(b *strings.Builder) {
	b.WriteString("<" + e.name + ">")
	if e.leaf {
		_ = xml.EscapeText(b, []byte(e.text))
	}
	for _, k := range e.kids {
		k.write(b)
	}
	b.WriteString("</" + e.name + ">")
}

// iamError is an error answer.
type iamError struct {
	code, msg string
	status    int
}

func (e *iamError) Error() string { return e.code + ": " + e.msg }

func noSuch(format string, a ...any) *iamError {
	return &iamError{"NoSuchEntity", fmt.Sprintf(format, a...), 404}
}

func (f *fakeIAM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	reqID := fmt.Sprintf("%08x-0000-4000-8000-%012x", f.total+1, f.total+1)
	fail := func(op string, v []string) {
		f.violations = append(f.violations, v...)
		http.Error(w, "model violation: "+strings.Join(v, "; "), 500)
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		fail("", []string{fmt.Sprintf("%s %s: IAM takes POST /", r.Method, r.URL.Path)})
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		fail("", []string{"Content-Type " + ct})
		return
	}
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=") || !strings.Contains(auth, "/iam/aws4_request") {
		fail("", []string{"request not signed with SigV4 for service iam: " + auth})
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		fail("", []string{"form: " + err.Error()})
		return
	}
	op, bad := f.spec.checkRequest(form)
	if len(bad) > 0 {
		fail(op, bad)
		return
	}
	f.calls[op]++
	f.total++

	var result []xe
	var ierr *iamError
	switch {
	case f.throttle[op] > 0:
		f.throttle[op]--
		ierr = &iamError{"Throttling", "Rate exceeded", 400}
	case f.denied[op], f.deniedAfter[op] > 0 && f.calls[op] > f.deniedAfter[op]:
		ierr = &iamError{"AccessDenied", "User: arn:aws:iam::" + fakeAccount + ":user/accessrecon is not authorized to perform: iam:" + op, 403}
	case f.echo[op]:
		ierr = &iamError{"ServiceFailure", f.echoExtra + " upstream proxy saw Authorization: " + auth + " X-Amz-Security-Token: " + r.Header.Get("X-Amz-Security-Token") +
			" (b64 " + base64.StdEncoding.EncodeToString([]byte(r.Header.Get("X-Amz-Security-Token"))) + ")", 500}
	default:
		if name, ok := f.deleteOnCall[op]; ok && form.Get("UserName") == name {
			delete(f.deleteOnCall, op)
			f.users = slices.DeleteFunc(f.users, func(u *fakeUser) bool { return u.Name == name })
		}
		h, ok := fakeOps[op]
		if !ok {
			fail(op, []string{"the fake does not implement " + op})
			return
		}
		result, ierr = h(f, form)
	}

	var b strings.Builder
	status := 200
	if ierr != nil {
		status = ierr.status
		typ := "Sender"
		if status >= 500 {
			typ = "Receiver"
		}
		node("ErrorResponse", node("Error", leaf("Type", typ), leaf("Code", ierr.code), leaf("Message", ierr.msg)), leaf("RequestId", reqID)).write(&b)
	} else {
		kids := []xe{}
		if o := f.spec.Operations[op]; o.Output != nil {
			kids = append(kids, node(o.Output.ResultWrapper, result...))
		}
		kids = append(kids, node("ResponseMetadata", leaf("RequestId", reqID)))
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
		resp := node(op+"Response", kids...)
		b.WriteString("<" + resp.name + ` xmlns="` + f.spec.Metadata.XMLNamespace + `">`)
		for _, k := range resp.kids {
			k.write(&b)
		}
		b.WriteString("</" + resp.name + ">")
	}
	out := []byte(b.String())
	if v := f.spec.checkResponse(op, status, out, f.seen); len(v) > 0 {
		fail(op, v)
		return
	}
	if ierr == nil {
		f.served[op] = true
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", reqID)
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// page cuts items for Marker/MaxItems and appends IsTruncated and Marker.
func (f *fakeIAM) page(form url.Values, listName string, items []xe) ([]xe, *iamError) {
	start := 0
	if m := form.Get("Marker"); m != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(m, "page:"))
		if err != nil || !strings.HasPrefix(m, "page:") || n < 0 || n > len(items) {
			return nil, &iamError{"InvalidInput", "Invalid Marker", 400}
		}
		start = n
	}
	limit := 100
	if s := form.Get("MaxItems"); s != "" {
		limit, _ = strconv.Atoi(s)
	}
	if f.pageCap > 0 && limit > f.pageCap {
		limit = f.pageCap
	}
	end := min(start+limit, len(items))
	out := []xe{members(listName, items[start:end]), leaf("IsTruncated", boolText(end < len(items)))}
	if end < len(items) {
		out = append(out, leaf("Marker", "page:"+strconv.Itoa(end)))
	}
	return out, nil
}

func (f *fakeIAM) needUser(form url.Values) (*fakeUser, *iamError) {
	name := form.Get("UserName")
	u := f.user(name)
	if u == nil {
		return nil, noSuch("The user with name %s cannot be found.", name)
	}
	return u, nil
}

func (f *fakeIAM) userXE(u *fakeUser) xe {
	kids := []xe{leaf("Path", "/"), leaf("UserName", u.Name), leaf("UserId", u.ID), leaf("Arn", f.userARN(u)), leaf("CreateDate", ts(u.Created))}
	if !u.PasswordLastUsed.IsZero() {
		kids = append(kids, leaf("PasswordLastUsed", ts(u.PasswordLastUsed)))
	}
	return node("member", kids...)
}

func attachedXE(f *fakeIAM, arns []string) []xe {
	var items []xe
	for _, a := range arns {
		items = append(items, node("member", leaf("PolicyName", f.policies[a].Name), leaf("PolicyArn", a)))
	}
	return items
}

func names(m map[string]string) []xe {
	var items []xe
	for _, k := range sortedKeys(m) {
		items = append(items, leaf("member", k))
	}
	return items
}

var fakeOps = map[string]func(f *fakeIAM, form url.Values) ([]xe, *iamError){
	"ListUsers": func(f *fakeIAM, form url.Values) ([]xe, *iamError) {
		items := make([]xe, len(f.users))
		for i, u := range f.users {
			items[i] = f.userXE(u)
		}
		return f.page(form, "Users", items)
	},
	"GetUser": func(f *fakeIAM, form url.Values) ([]xe, *iamError) {
		u, err := f.needUser(form)
		if err != nil {
			return nil, err
		}
		x := f.userXE(u)
		x.name = "User"
		return []xe{x}, nil
	},
	"GetLoginProfile": func(f *fakeIAM, form url.Values) ([]xe, *iamError) {
		u, err := f.needUser(form)
		if err != nil {
			return nil, err
		}
		if !u.Console {
			return nil, noSuch("Login Profile for User %s cannot be found.", u.Name)
		}
		return []xe{node("LoginProfile", leaf("UserName", u.Name), leaf("CreateDate", ts(u.ConsoleCreated)), leaf("PasswordResetRequired", "false"))}, nil
	},
	"DeleteLoginProfile": func(f *fakeIAM, form url.Values) ([]xe, *iamError) {
		u, err := f.needUser(form)
		if err != nil {
			return nil, err
		}
		if !u.Console {
			return nil, noSuch("Login Profile for User %s cannot be found.", u.Name)
		}
		u.Console = false
		return nil, nil
	},
	"ListAccessKeys": func(f *fakeIAM, form url.Values) ([]xe, *iamError) {
		u, err := f.needUser(form)
		if err != nil {
			return nil, err
		}
		var items []xe
		for _, k := range u.Keys {
			items = append(items, node("member", leaf("UserName", u.Name), leaf("AccessKeyId", k.ID), leaf("Status", k.Status), leaf("CreateDate", ts(k.Created))))
		}
		return f.page(form, "AccessKeyMetadata", items)
	},
	"GetAccessKeyLastUsed": func(f *fakeIAM, form url.Values) ([]xe, *iamError) {
		id := form.Get("AccessKeyId")
		for _, u := range f.users {
			for _, k := range u.Keys {
				if k.ID != id {
					continue
				}
				last := []xe{}
				if !k.LastUsed.IsZero() {
					last = append(last, leaf("LastUsedDate", ts(k.LastUsed)), leaf("ServiceName", "s3"), leaf("Region", "eu-west-1"))
				} else {
					last = append(last, leaf("ServiceName", "N/A"), leaf("Region", "N/A"))
				}
				return []xe{leaf("UserName", u.Name), node("AccessKeyLastUsed", last...)}, nil
			}
		}
		// IAM answers an unknown key ID with AccessDenied, not NoSuchEntity.
		return nil, &iamError{"AccessDenied", "access key " + id + " is not in this account", 403}
	},
	"UpdateAccessKey": func(f *fakeIAM, form url.Values) ([]xe, *iamError) {
		u, err := f.needUser(form)
		if err != nil {
			return nil, err
		}
		for _, k := range u.Keys {
			if k.ID == form.Get("AccessKeyId") {
				k.Status = form.Get("Status")
				return nil, nil
			}
		}
		return nil, noSuch("The Access Key with id %s cannot be found.", form.Get("AccessKeyId"))
	},
	"ListGroupsForUser": func(f *fakeIAM, form url.Values) ([]xe, *iamError) {
		u, err := f.needUser(form)
		if err != nil {
			return nil, err
		}
		var items []xe
		for _, n := range u.Groups {
			g := f.groups[n]
			items = append(items, node("member", leaf("Path", "/"), leaf("GroupName", g.Name), leaf("GroupId", g.ID), leaf("Arn", f.groupARN(g)), leaf("CreateDate", ts(g.Created))))
		}
		return f.page(form, "Groups", items)
	},
	"RemoveUserFromGroup": func(f *fakeIAM, form url.Values) ([]xe, *iamError) {
		g := f.groups[form.Get("GroupName")]
		if g == nil {
			return nil, noSuch("The group with name %s cannot be found.", form.Get("GroupName"))
		}
		u, err := f.needUser(form)
		if err != nil {
			return nil, err
		}
		// IAM answers removing a non-member with success.
		u.Groups = slices.DeleteFunc(u.Groups, func(n string) bool { return n == g.Name })
		return nil, nil
	},
	"ListAttachedUserPolicies": func(f *fakeIAM, form url.Values) ([]xe, *iamError) {
		u, err := f.needUser(form)
		if err != nil {
			return nil, err
		}
		return f.page(form, "AttachedPolicies", attachedXE(f, u.Attached))
	},
	"ListUserPolicies": func(f *fakeIAM, form url.Values) ([]xe, *iamError) {
		u, err := f.needUser(form)
		if err != nil {
			return nil, err
		}
		return f.page(form, "PolicyNames", names(u.Inline))
	},
	"GetUserPolicy": func(f *fakeIAM, form url.Values) ([]xe, *iamError) {
		u, err := f.needUser(form)
		if err != nil {
			return nil, err
		}
		doc, ok := u.Inline[form.Get("PolicyName")]
		if !ok {
			return nil, noSuch("The user policy with name %s cannot be found.", form.Get("PolicyName"))
		}
		return []xe{leaf("UserName", u.Name), leaf("PolicyName", form.Get("PolicyName")), leaf("PolicyDocument", url.QueryEscape(doc))}, nil
	},
	"PutUserPolicy": func(f *fakeIAM, form url.Values) ([]xe, *iamError) {
		u, err := f.needUser(form)
		if err != nil {
			return nil, err
		}
		doc := form.Get("PolicyDocument")
		if !json.Valid([]byte(doc)) {
			return nil, &iamError{"MalformedPolicyDocument", "Syntax errors in policy.", 400}
		}
		u.Inline[form.Get("PolicyName")] = doc
		return nil, nil
	},
	"ListAttachedGroupPolicies": func(f *fakeIAM, form url.Values) ([]xe, *iamError) {
		g := f.groups[form.Get("GroupName")]
		if g == nil {
			return nil, noSuch("The group with name %s cannot be found.", form.Get("GroupName"))
		}
		return f.page(form, "AttachedPolicies", attachedXE(f, g.Attached))
	},
	"ListGroupPolicies": func(f *fakeIAM, form url.Values) ([]xe, *iamError) {
		g := f.groups[form.Get("GroupName")]
		if g == nil {
			return nil, noSuch("The group with name %s cannot be found.", form.Get("GroupName"))
		}
		return f.page(form, "PolicyNames", names(g.Inline))
	},
	"GetGroupPolicy": func(f *fakeIAM, form url.Values) ([]xe, *iamError) {
		g := f.groups[form.Get("GroupName")]
		if g == nil {
			return nil, noSuch("The group with name %s cannot be found.", form.Get("GroupName"))
		}
		doc, ok := g.Inline[form.Get("PolicyName")]
		if !ok {
			return nil, noSuch("The group policy with name %s cannot be found.", form.Get("PolicyName"))
		}
		return []xe{leaf("GroupName", g.Name), leaf("PolicyName", form.Get("PolicyName")), leaf("PolicyDocument", url.QueryEscape(doc))}, nil
	},
	"ListUserTags": func(f *fakeIAM, form url.Values) ([]xe, *iamError) {
		u, err := f.needUser(form)
		if err != nil {
			return nil, err
		}
		var items []xe
		for _, k := range sortedKeys(u.Tags) {
			items = append(items, node("member", leaf("Key", k), leaf("Value", u.Tags[k])))
		}
		return f.page(form, "Tags", items)
	},
	"GetPolicy": func(f *fakeIAM, form url.Values) ([]xe, *iamError) {
		p := f.policies[form.Get("PolicyArn")]
		if p == nil {
			return nil, noSuch("Policy %s does not exist or is not attachable.", form.Get("PolicyArn"))
		}
		return []xe{node("Policy", leaf("PolicyName", p.Name), leaf("PolicyId", p.ID), leaf("Arn", p.ARN), leaf("Path", "/"),
			leaf("DefaultVersionId", "v1"), leaf("IsAttachable", "true"), leaf("CreateDate", ts(f.now.AddDate(-3, 0, 0))))}, nil
	},
	"GetPolicyVersion": func(f *fakeIAM, form url.Values) ([]xe, *iamError) {
		p := f.policies[form.Get("PolicyArn")]
		if p == nil || form.Get("VersionId") != "v1" {
			return nil, noSuch("Policy %s version %s does not exist.", form.Get("PolicyArn"), form.Get("VersionId"))
		}
		return []xe{node("PolicyVersion", leaf("Document", url.QueryEscape(p.Doc)), leaf("VersionId", "v1"), leaf("IsDefaultVersion", "true"),
			leaf("CreateDate", ts(f.now.AddDate(-3, 0, 0))))}, nil
	},
	"GetAccountAuthorizationDetails": func(f *fakeIAM, form url.Values) ([]xe, *iamError) {
		want := map[string]bool{}
		for k, v := range form {
			if strings.HasPrefix(k, "Filter.member.") {
				want[v[0]] = true
			}
		}
		all := len(want) == 0
		type item struct {
			list string
			x    xe
		}
		var items []item
		inline := func(name string, m map[string]string) xe {
			var ps []xe
			for _, k := range sortedKeys(m) {
				ps = append(ps, node("member", leaf("PolicyName", k), leaf("PolicyDocument", url.QueryEscape(m[k]))))
			}
			return members(name, ps)
		}
		if all || want["User"] {
			for _, u := range f.users {
				var gs, tags []xe
				for _, g := range u.Groups {
					gs = append(gs, leaf("member", g))
				}
				for _, k := range sortedKeys(u.Tags) {
					tags = append(tags, node("member", leaf("Key", k), leaf("Value", u.Tags[k])))
				}
				items = append(items, item{"UserDetailList", node("member", leaf("Path", "/"), leaf("UserName", u.Name), leaf("UserId", u.ID),
					leaf("Arn", f.userARN(u)), leaf("CreateDate", ts(u.Created)), inline("UserPolicyList", u.Inline),
					members("GroupList", gs), members("AttachedManagedPolicies", attachedXE(f, u.Attached)), members("Tags", tags))})
			}
		}
		if all || want["Group"] {
			for _, n := range sortedKeys(f.groups) {
				g := f.groups[n]
				items = append(items, item{"GroupDetailList", node("member", leaf("Path", "/"), leaf("GroupName", g.Name), leaf("GroupId", g.ID),
					leaf("Arn", f.groupARN(g)), leaf("CreateDate", ts(g.Created)), inline("GroupPolicyList", g.Inline),
					members("AttachedManagedPolicies", attachedXE(f, g.Attached)))})
			}
		}
		for _, arn := range sortedKeys(f.policies) {
			p := f.policies[arn]
			local := strings.HasPrefix(arn, "arn:aws:iam::"+fakeAccount+":")
			if !all && !(local && want["LocalManagedPolicy"]) && !(!local && want["AWSManagedPolicy"]) {
				continue
			}
			created := ts(f.now.AddDate(-3, 0, 0))
			items = append(items, item{"Policies", node("member", leaf("PolicyName", p.Name), leaf("PolicyId", p.ID), leaf("Arn", p.ARN),
				leaf("Path", "/"), leaf("DefaultVersionId", "v1"), leaf("IsAttachable", "true"), leaf("CreateDate", created), leaf("UpdateDate", created),
				members("PolicyVersionList", []xe{node("member", leaf("Document", url.QueryEscape(p.Doc)), leaf("VersionId", "v1"),
					leaf("IsDefaultVersion", "true"), leaf("CreateDate", created))}))})
		}
		xs := make([]xe, len(items))
		for i, it := range items {
			xs[i] = it.x
		}
		paged, err := f.page(form, "Items", xs)
		if err != nil {
			return nil, err
		}
		// Regroup the page's items into their lists.
		start := 0
		if m := form.Get("Marker"); m != "" {
			start, _ = strconv.Atoi(strings.TrimPrefix(m, "page:"))
		}
		lists := map[string][]xe{}
		for i := range paged[0].kids {
			it := items[start+i]
			lists[it.list] = append(lists[it.list], it.x)
		}
		var out []xe
		for _, l := range []string{"UserDetailList", "GroupDetailList", "Policies"} {
			if len(lists[l]) > 0 {
				out = append(out, members(l, lists[l]))
			}
		}
		return append(out, paged[1:]...), nil
	},
	"GenerateCredentialReport": func(f *fakeIAM, form url.Values) ([]xe, *iamError) {
		// The first call starts a report; the next finds it complete (IAM
		// takes seconds; callers poll).
		if !f.started || f.stuck {
			f.started = true
			return []xe{leaf("State", "STARTED"), leaf("Description", "No report exists. Starting a new report generation task")}, nil
		}
		if f.reportAt.IsZero() || time.Since(f.reportAt) > 4*time.Hour {
			f.reportAt = time.Now().UTC().Truncate(time.Second)
			f.report = f.credentialReport()
		}
		return []xe{leaf("State", "COMPLETE")}, nil
	},
	"GetCredentialReport": func(f *fakeIAM, form url.Values) ([]xe, *iamError) {
		if f.reportAt.IsZero() {
			if f.started {
				return nil, &iamError{"ReportInProgress", "Report is still being generated", 404}
			}
			return nil, &iamError{"ReportNotPresent", "Credential report not present", 410}
		}
		return []xe{leaf("Content", base64.StdEncoding.EncodeToString([]byte(f.report))), leaf("ReportFormat", "text/csv"),
			leaf("GeneratedTime", ts(f.reportAt))}, nil
	},
}

// credentialReport is the CSV IAM's credential report holds (columns as in
// the IAM User Guide, "Getting credential reports"); keys fill the slots
// access_key_1 and access_key_2 in creation order.
func (f *fakeIAM) credentialReport() string {
	var b strings.Builder
	b.WriteString("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active," +
		"access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service," +
		"access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service," +
		"cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n")
	na := func(t time.Time) string {
		if t.IsZero() {
			return "N/A"
		}
		return ts(t)
	}
	for _, u := range f.users {
		pwUsed := "N/A"
		if u.Console {
			pwUsed = "no_information"
			if !u.PasswordLastUsed.IsZero() {
				pwUsed = ts(u.PasswordLastUsed)
			}
		}
		fmt.Fprintf(&b, "%s,%s,%s,%t,%s,%s,N/A,false", u.Name, f.userARN(u), ts(u.Created), u.Console, pwUsed, na(u.ConsoleCreated))
		for i := range 2 {
			if i < len(u.Keys) {
				k := u.Keys[i]
				region, svc := "N/A", "N/A"
				if !k.LastUsed.IsZero() {
					region, svc = "eu-west-1", "s3"
				}
				fmt.Fprintf(&b, ",%t,%s,%s,%s,%s", k.Status == "Active", ts(k.Created), na(k.LastUsed), region, svc)
			} else {
				b.WriteString(",false,N/A,N/A,N/A,N/A")
			}
		}
		b.WriteString(",false,N/A,false,N/A\n")
	}
	return b.String()
}
