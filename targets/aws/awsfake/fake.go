// Package awsfake is a stateful fake of the AWS IAM Query API (form-encoded
// Action=…, XML answers and errors), for tests of the aws connector and of
// whatever drives it (end-to-end tests of the command). Every request it gets
// and every answer it gives is held to AWS's own model
// (testdata/service-2.json): a violation fails the test that used the fake.
package awsfake

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

const Account = "123456789012"

type Key struct {
	ID       string
	Status   string
	Created  time.Time
	LastUsed time.Time // zero: never used
}

type User struct {
	Name, ID         string
	Created          time.Time
	PasswordLastUsed time.Time
	Console          bool // has a login profile
	ConsoleCreated   time.Time
	Keys             []*Key
	Groups           []string          // group names
	Attached         []string          // managed policy ARNs
	Inline           map[string]string // policy name -> JSON document
	Tags             map[string]string
}

type Group struct {
	Name, ID string
	Created  time.Time
	Attached []string
	Inline   map[string]string
}

type Policy struct {
	Name, ARN, ID string
	Doc           string
}

// IAM is the fake's state. Tests seed it directly (under Mu) and read
// calls after the fact.
type IAM struct {
	T    testing.TB
	Spec *Spec

	Mu       sync.Mutex
	Users    []*User // in name order (IAM lists users by name)
	Groups   map[string]*Group
	Policies map[string]*Policy
	Now      time.Time

	// PageCap, when > 0, returns at most this many items per page whatever
	// MaxItems asks (IAM may return fewer than MaxItems).
	PageCap int
	// throttle answers the next n requests of an action with Throttling.
	Throttle map[string]int
	// echo, when set, answers every request of an action with an error whose
	// message repeats the request's signature headers (a misbehaving proxy).
	Echo map[string]bool
	// echoExtra is added to echoed errors (a proxy that logs more than it
	// should: the test puts the secret access key here).
	EchoExtra string
	// denied answers every request of an action with AccessDenied;
	// deniedAfter does so once the action has been answered n times.
	Denied      map[string]bool
	DeniedAfter map[string]int

	// deleteOnCall deletes the named user just before answering the first
	// request of an action for that user (deleted while being read).
	DeleteOnCall map[string]string

	Calls    map[string]int
	Total    int
	ReportAt time.Time // zero: no credential report generated
	Report   string    // the CSV as of reportAt (IAM keeps one up to 4 h)
	Started  bool      // GenerateCredentialReport was called once
	Stuck    bool      // the report never completes

	Violations []string
	Seen       map[string]bool // Shape.Member written in some answer
	Served     map[string]bool // actions answered successfully
	NextID     int
}

func New(t testing.TB) *IAM {
	f := &IAM{
		T:           t,
		Spec:        LoadSpec(t),
		Groups:      map[string]*Group{},
		Policies:    map[string]*Policy{},
		Now:         time.Now().UTC().Truncate(time.Second),
		Throttle:    map[string]int{},
		Echo:        map[string]bool{},
		Denied:      map[string]bool{},
		DeniedAfter: map[string]int{},
		Calls:       map[string]int{},
		Seen:        map[string]bool{},
		Served:      map[string]bool{},
	}
	// AWS-managed policies exist in every account.
	f.AddPolicy("arn:aws:iam::aws:policy/AdministratorAccess", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	f.AddPolicy("arn:aws:iam::aws:policy/IAMFullAccess", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","organizations:DescribeAccount"],"Resource":"*"}]}`)
	f.AddPolicy("arn:aws:iam::aws:policy/ReadOnlyAccess", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","iam:Get*","iam:List*"],"Resource":"*"}]}`)
	if c, ok := t.(interface{ Cleanup(func()) }); ok {
		c.Cleanup(func() {
			f.Mu.Lock()
			defer f.Mu.Unlock()
			for _, v := range f.Violations {
				t.Errorf("IAM model violation: %s", v)
			}
		})
	}
	return f
}

func (f *IAM) NewID(prefix string) string {
	f.NextID++
	return fmt.Sprintf("%s%017d", prefix, f.NextID)
}

func (f *IAM) AddPolicy(arn, doc string) {
	name := arn[strings.LastIndex(arn, "/")+1:]
	f.Policies[arn] = &Policy{Name: name, ARN: arn, ID: f.NewID("ANPA"), Doc: doc}
}

// addUser adds a user (callers hold no lock; seeding happens before serving).
func (f *IAM) AddUser(name string) *User {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	u := &User{Name: name, ID: f.NewID("AIDA"), Created: f.Now.AddDate(-1, 0, 0), Inline: map[string]string{}, Tags: map[string]string{}}
	i, _ := slices.BinarySearchFunc(f.Users, name, func(u *User, n string) int { return strings.Compare(u.Name, n) })
	f.Users = slices.Insert(f.Users, i, u)
	return u
}

func (f *IAM) AddKey(u *User, status string, created, lastUsed time.Time) *Key {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	k := &Key{ID: f.NewID("AKIA"), Status: status, Created: created, LastUsed: lastUsed}
	u.Keys = append(u.Keys, k)
	return k
}

func (f *IAM) AddGroup(name string, attached ...string) *Group {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	g := &Group{Name: name, ID: f.NewID("AGPA"), Created: f.Now.AddDate(-2, 0, 0), Attached: attached, Inline: map[string]string{}}
	f.Groups[name] = g
	return g
}

func (f *IAM) User(name string) *User {
	i, ok := slices.BinarySearchFunc(f.Users, name, func(u *User, n string) int { return strings.Compare(u.Name, n) })
	if !ok {
		return nil
	}
	return f.Users[i]
}

func (f *IAM) GroupARN(g *Group) string {
	return "arn:aws:iam::" + Account + ":group/" + g.Name
}

func (f *IAM) UserARN(u *User) string {
	return "arn:aws:iam::" + Account + ":user/" + u.Name
}

func (f *IAM) CallCount(action string) int {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return f.Calls[action]
}

func (f *IAM) TotalCalls() int {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return f.Total
}

func (f *IAM) ResetCalls() {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.Calls = map[string]int{}
	f.Total = 0
}

// serve starts the fake on 127.0.0.1.
func (f *IAM) Serve(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

// xe is an XML element to write: a leaf (text) or a parent (kids).
type Xe struct {
	Name string
	Text string
	Kids []Xe
	Leaf bool
}

func Leaf(name, text string) Xe { return Xe{Name: name, Text: text, Leaf: true} }
func Node(name string, kids ...Xe) Xe {
	return Xe{Name: name, Kids: kids}
}
func Ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }
func BoolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func Members(name string, items []Xe) Xe {
	for i := range items {
		items[i].Name = "member"
	}
	return Node(name, items...)
}

func (e Xe) Write(b *strings.Builder) {
	b.WriteString("<" + e.Name + ">")
	if e.Leaf {
		_ = xml.EscapeText(b, []byte(e.Text))
	}
	for _, k := range e.Kids {
		k.Write(b)
	}
	b.WriteString("</" + e.Name + ">")
}

// iamError is an error answer.
type IAMError struct {
	Code, Msg string
	Status    int
}

func (e *IAMError) Error() string { return e.Code + ": " + e.Msg }

func NoSuch(format string, a ...any) *IAMError {
	return &IAMError{"NoSuchEntity", fmt.Sprintf(format, a...), 404}
}

func (f *IAM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.Mu.Lock()
	defer f.Mu.Unlock()
	reqID := fmt.Sprintf("%08x-0000-4000-8000-%012x", f.Total+1, f.Total+1)
	fail := func(op string, v []string) {
		f.Violations = append(f.Violations, v...)
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
	op, bad := f.Spec.CheckRequest(form)
	if len(bad) > 0 {
		fail(op, bad)
		return
	}
	f.Calls[op]++
	f.Total++

	var result []Xe
	var ierr *IAMError
	switch {
	case f.Throttle[op] > 0:
		f.Throttle[op]--
		ierr = &IAMError{"Throttling", "Rate exceeded", 400}
	case f.Denied[op], f.DeniedAfter[op] > 0 && f.Calls[op] > f.DeniedAfter[op]:
		ierr = &IAMError{"AccessDenied", "User: arn:aws:iam::" + Account + ":user/accessrecon is not authorized to perform: iam:" + op, 403}
	case f.Echo[op]:
		ierr = &IAMError{"ServiceFailure", f.EchoExtra + " upstream proxy saw Authorization: " + auth + " X-Amz-Security-Token: " + r.Header.Get("X-Amz-Security-Token") +
			" (b64 " + base64.StdEncoding.EncodeToString([]byte(r.Header.Get("X-Amz-Security-Token"))) + ")", 500}
	default:
		if name, ok := f.DeleteOnCall[op]; ok && form.Get("UserName") == name {
			delete(f.DeleteOnCall, op)
			f.Users = slices.DeleteFunc(f.Users, func(u *User) bool { return u.Name == name })
		}
		h, ok := Ops[op]
		if !ok {
			fail(op, []string{"the fake does not implement " + op})
			return
		}
		result, ierr = h(f, form)
	}

	var b strings.Builder
	status := 200
	if ierr != nil {
		status = ierr.Status
		typ := "Sender"
		if status >= 500 {
			typ = "Receiver"
		}
		Node("ErrorResponse", Node("Error", Leaf("Type", typ), Leaf("Code", ierr.Code), Leaf("Message", ierr.Msg)), Leaf("RequestId", reqID)).Write(&b)
	} else {
		kids := []Xe{}
		if o := f.Spec.Operations[op]; o.Output != nil {
			kids = append(kids, Node(o.Output.ResultWrapper, result...))
		}
		kids = append(kids, Node("ResponseMetadata", Leaf("RequestId", reqID)))
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
		resp := Node(op+"Response", kids...)
		b.WriteString("<" + resp.Name + ` xmlns="` + f.Spec.Metadata.XMLNamespace + `">`)
		for _, k := range resp.Kids {
			k.Write(&b)
		}
		b.WriteString("</" + resp.Name + ">")
	}
	out := []byte(b.String())
	if v := f.Spec.CheckResponse(op, status, out, f.Seen); len(v) > 0 {
		fail(op, v)
		return
	}
	if ierr == nil {
		f.Served[op] = true
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", reqID)
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// page cuts items for Marker/MaxItems and appends IsTruncated and Marker.
func (f *IAM) Page(form url.Values, listName string, items []Xe) ([]Xe, *IAMError) {
	start := 0
	if m := form.Get("Marker"); m != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(m, "page:"))
		if err != nil || !strings.HasPrefix(m, "page:") || n < 0 || n > len(items) {
			return nil, &IAMError{"InvalidInput", "Invalid Marker", 400}
		}
		start = n
	}
	limit := 100
	if s := form.Get("MaxItems"); s != "" {
		limit, _ = strconv.Atoi(s)
	}
	if f.PageCap > 0 && limit > f.PageCap {
		limit = f.PageCap
	}
	end := min(start+limit, len(items))
	out := []Xe{Members(listName, items[start:end]), Leaf("IsTruncated", BoolText(end < len(items)))}
	if end < len(items) {
		out = append(out, Leaf("Marker", "page:"+strconv.Itoa(end)))
	}
	return out, nil
}

func (f *IAM) NeedUser(form url.Values) (*User, *IAMError) {
	name := form.Get("UserName")
	u := f.User(name)
	if u == nil {
		return nil, NoSuch("The user with name %s cannot be found.", name)
	}
	return u, nil
}

func (f *IAM) UserXE(u *User) Xe {
	kids := []Xe{Leaf("Path", "/"), Leaf("UserName", u.Name), Leaf("UserId", u.ID), Leaf("Arn", f.UserARN(u)), Leaf("CreateDate", Ts(u.Created))}
	if !u.PasswordLastUsed.IsZero() {
		kids = append(kids, Leaf("PasswordLastUsed", Ts(u.PasswordLastUsed)))
	}
	return Node("member", kids...)
}

func AttachedXE(f *IAM, arns []string) []Xe {
	var items []Xe
	for _, a := range arns {
		items = append(items, Node("member", Leaf("PolicyName", f.Policies[a].Name), Leaf("PolicyArn", a)))
	}
	return items
}

func Names(m map[string]string) []Xe {
	var items []Xe
	for _, k := range SortedKeys(m) {
		items = append(items, Leaf("member", k))
	}
	return items
}

var Ops = map[string]func(f *IAM, form url.Values) ([]Xe, *IAMError){
	"ListUsers": func(f *IAM, form url.Values) ([]Xe, *IAMError) {
		items := make([]Xe, len(f.Users))
		for i, u := range f.Users {
			items[i] = f.UserXE(u)
		}
		return f.Page(form, "Users", items)
	},
	"GetUser": func(f *IAM, form url.Values) ([]Xe, *IAMError) {
		u, err := f.NeedUser(form)
		if err != nil {
			return nil, err
		}
		x := f.UserXE(u)
		x.Name = "User"
		return []Xe{x}, nil
	},
	"GetLoginProfile": func(f *IAM, form url.Values) ([]Xe, *IAMError) {
		u, err := f.NeedUser(form)
		if err != nil {
			return nil, err
		}
		if !u.Console {
			return nil, NoSuch("Login Profile for User %s cannot be found.", u.Name)
		}
		return []Xe{Node("LoginProfile", Leaf("UserName", u.Name), Leaf("CreateDate", Ts(u.ConsoleCreated)), Leaf("PasswordResetRequired", "false"))}, nil
	},
	"DeleteLoginProfile": func(f *IAM, form url.Values) ([]Xe, *IAMError) {
		u, err := f.NeedUser(form)
		if err != nil {
			return nil, err
		}
		if !u.Console {
			return nil, NoSuch("Login Profile for User %s cannot be found.", u.Name)
		}
		u.Console = false
		return nil, nil
	},
	"ListAccessKeys": func(f *IAM, form url.Values) ([]Xe, *IAMError) {
		u, err := f.NeedUser(form)
		if err != nil {
			return nil, err
		}
		var items []Xe
		for _, k := range u.Keys {
			items = append(items, Node("member", Leaf("UserName", u.Name), Leaf("AccessKeyId", k.ID), Leaf("Status", k.Status), Leaf("CreateDate", Ts(k.Created))))
		}
		return f.Page(form, "AccessKeyMetadata", items)
	},
	"GetAccessKeyLastUsed": func(f *IAM, form url.Values) ([]Xe, *IAMError) {
		id := form.Get("AccessKeyId")
		for _, u := range f.Users {
			for _, k := range u.Keys {
				if k.ID != id {
					continue
				}
				last := []Xe{}
				if !k.LastUsed.IsZero() {
					last = append(last, Leaf("LastUsedDate", Ts(k.LastUsed)), Leaf("ServiceName", "s3"), Leaf("Region", "eu-west-1"))
				} else {
					last = append(last, Leaf("ServiceName", "N/A"), Leaf("Region", "N/A"))
				}
				return []Xe{Leaf("UserName", u.Name), Node("AccessKeyLastUsed", last...)}, nil
			}
		}
		// IAM answers an unknown key ID with AccessDenied, not NoSuchEntity.
		return nil, &IAMError{"AccessDenied", "access key " + id + " is not in this account", 403}
	},
	"UpdateAccessKey": func(f *IAM, form url.Values) ([]Xe, *IAMError) {
		u, err := f.NeedUser(form)
		if err != nil {
			return nil, err
		}
		for _, k := range u.Keys {
			if k.ID == form.Get("AccessKeyId") {
				k.Status = form.Get("Status")
				return nil, nil
			}
		}
		return nil, NoSuch("The Access Key with id %s cannot be found.", form.Get("AccessKeyId"))
	},
	"ListGroupsForUser": func(f *IAM, form url.Values) ([]Xe, *IAMError) {
		u, err := f.NeedUser(form)
		if err != nil {
			return nil, err
		}
		var items []Xe
		for _, n := range u.Groups {
			g := f.Groups[n]
			items = append(items, Node("member", Leaf("Path", "/"), Leaf("GroupName", g.Name), Leaf("GroupId", g.ID), Leaf("Arn", f.GroupARN(g)), Leaf("CreateDate", Ts(g.Created))))
		}
		return f.Page(form, "Groups", items)
	},
	"RemoveUserFromGroup": func(f *IAM, form url.Values) ([]Xe, *IAMError) {
		g := f.Groups[form.Get("GroupName")]
		if g == nil {
			return nil, NoSuch("The group with name %s cannot be found.", form.Get("GroupName"))
		}
		u, err := f.NeedUser(form)
		if err != nil {
			return nil, err
		}
		// IAM answers removing a non-member with success.
		u.Groups = slices.DeleteFunc(u.Groups, func(n string) bool { return n == g.Name })
		return nil, nil
	},
	"ListAttachedUserPolicies": func(f *IAM, form url.Values) ([]Xe, *IAMError) {
		u, err := f.NeedUser(form)
		if err != nil {
			return nil, err
		}
		return f.Page(form, "AttachedPolicies", AttachedXE(f, u.Attached))
	},
	"ListUserPolicies": func(f *IAM, form url.Values) ([]Xe, *IAMError) {
		u, err := f.NeedUser(form)
		if err != nil {
			return nil, err
		}
		return f.Page(form, "PolicyNames", Names(u.Inline))
	},
	"GetUserPolicy": func(f *IAM, form url.Values) ([]Xe, *IAMError) {
		u, err := f.NeedUser(form)
		if err != nil {
			return nil, err
		}
		doc, ok := u.Inline[form.Get("PolicyName")]
		if !ok {
			return nil, NoSuch("The user policy with name %s cannot be found.", form.Get("PolicyName"))
		}
		return []Xe{Leaf("UserName", u.Name), Leaf("PolicyName", form.Get("PolicyName")), Leaf("PolicyDocument", url.QueryEscape(doc))}, nil
	},
	"PutUserPolicy": func(f *IAM, form url.Values) ([]Xe, *IAMError) {
		u, err := f.NeedUser(form)
		if err != nil {
			return nil, err
		}
		doc := form.Get("PolicyDocument")
		if !json.Valid([]byte(doc)) {
			return nil, &IAMError{"MalformedPolicyDocument", "Syntax errors in policy.", 400}
		}
		u.Inline[form.Get("PolicyName")] = doc
		return nil, nil
	},
	"ListAttachedGroupPolicies": func(f *IAM, form url.Values) ([]Xe, *IAMError) {
		g := f.Groups[form.Get("GroupName")]
		if g == nil {
			return nil, NoSuch("The group with name %s cannot be found.", form.Get("GroupName"))
		}
		return f.Page(form, "AttachedPolicies", AttachedXE(f, g.Attached))
	},
	"ListGroupPolicies": func(f *IAM, form url.Values) ([]Xe, *IAMError) {
		g := f.Groups[form.Get("GroupName")]
		if g == nil {
			return nil, NoSuch("The group with name %s cannot be found.", form.Get("GroupName"))
		}
		return f.Page(form, "PolicyNames", Names(g.Inline))
	},
	"GetGroupPolicy": func(f *IAM, form url.Values) ([]Xe, *IAMError) {
		g := f.Groups[form.Get("GroupName")]
		if g == nil {
			return nil, NoSuch("The group with name %s cannot be found.", form.Get("GroupName"))
		}
		doc, ok := g.Inline[form.Get("PolicyName")]
		if !ok {
			return nil, NoSuch("The group policy with name %s cannot be found.", form.Get("PolicyName"))
		}
		return []Xe{Leaf("GroupName", g.Name), Leaf("PolicyName", form.Get("PolicyName")), Leaf("PolicyDocument", url.QueryEscape(doc))}, nil
	},
	"ListUserTags": func(f *IAM, form url.Values) ([]Xe, *IAMError) {
		u, err := f.NeedUser(form)
		if err != nil {
			return nil, err
		}
		var items []Xe
		for _, k := range SortedKeys(u.Tags) {
			items = append(items, Node("member", Leaf("Key", k), Leaf("Value", u.Tags[k])))
		}
		return f.Page(form, "Tags", items)
	},
	"GetPolicy": func(f *IAM, form url.Values) ([]Xe, *IAMError) {
		p := f.Policies[form.Get("PolicyArn")]
		if p == nil {
			return nil, NoSuch("Policy %s does not exist or is not attachable.", form.Get("PolicyArn"))
		}
		return []Xe{Node("Policy", Leaf("PolicyName", p.Name), Leaf("PolicyId", p.ID), Leaf("Arn", p.ARN), Leaf("Path", "/"),
			Leaf("DefaultVersionId", "v1"), Leaf("IsAttachable", "true"), Leaf("CreateDate", Ts(f.Now.AddDate(-3, 0, 0))))}, nil
	},
	"GetPolicyVersion": func(f *IAM, form url.Values) ([]Xe, *IAMError) {
		p := f.Policies[form.Get("PolicyArn")]
		if p == nil || form.Get("VersionId") != "v1" {
			return nil, NoSuch("Policy %s version %s does not exist.", form.Get("PolicyArn"), form.Get("VersionId"))
		}
		return []Xe{Node("PolicyVersion", Leaf("Document", url.QueryEscape(p.Doc)), Leaf("VersionId", "v1"), Leaf("IsDefaultVersion", "true"),
			Leaf("CreateDate", Ts(f.Now.AddDate(-3, 0, 0))))}, nil
	},
	"GetAccountAuthorizationDetails": func(f *IAM, form url.Values) ([]Xe, *IAMError) {
		want := map[string]bool{}
		for k, v := range form {
			if strings.HasPrefix(k, "Filter.member.") {
				want[v[0]] = true
			}
		}
		all := len(want) == 0
		type item struct {
			list string
			x    Xe
		}
		var items []item
		inline := func(name string, m map[string]string) Xe {
			var ps []Xe
			for _, k := range SortedKeys(m) {
				ps = append(ps, Node("member", Leaf("PolicyName", k), Leaf("PolicyDocument", url.QueryEscape(m[k]))))
			}
			return Members(name, ps)
		}
		if all || want["User"] {
			for _, u := range f.Users {
				var gs, tags []Xe
				for _, g := range u.Groups {
					gs = append(gs, Leaf("member", g))
				}
				for _, k := range SortedKeys(u.Tags) {
					tags = append(tags, Node("member", Leaf("Key", k), Leaf("Value", u.Tags[k])))
				}
				items = append(items, item{"UserDetailList", Node("member", Leaf("Path", "/"), Leaf("UserName", u.Name), Leaf("UserId", u.ID),
					Leaf("Arn", f.UserARN(u)), Leaf("CreateDate", Ts(u.Created)), inline("UserPolicyList", u.Inline),
					Members("GroupList", gs), Members("AttachedManagedPolicies", AttachedXE(f, u.Attached)), Members("Tags", tags))})
			}
		}
		if all || want["Group"] {
			for _, n := range SortedKeys(f.Groups) {
				g := f.Groups[n]
				items = append(items, item{"GroupDetailList", Node("member", Leaf("Path", "/"), Leaf("GroupName", g.Name), Leaf("GroupId", g.ID),
					Leaf("Arn", f.GroupARN(g)), Leaf("CreateDate", Ts(g.Created)), inline("GroupPolicyList", g.Inline),
					Members("AttachedManagedPolicies", AttachedXE(f, g.Attached)))})
			}
		}
		for _, arn := range SortedKeys(f.Policies) {
			p := f.Policies[arn]
			local := strings.HasPrefix(arn, "arn:aws:iam::"+Account+":")
			if !all && !(local && want["LocalManagedPolicy"]) && !(!local && want["AWSManagedPolicy"]) {
				continue
			}
			created := Ts(f.Now.AddDate(-3, 0, 0))
			items = append(items, item{"Policies", Node("member", Leaf("PolicyName", p.Name), Leaf("PolicyId", p.ID), Leaf("Arn", p.ARN),
				Leaf("Path", "/"), Leaf("DefaultVersionId", "v1"), Leaf("IsAttachable", "true"), Leaf("CreateDate", created), Leaf("UpdateDate", created),
				Members("PolicyVersionList", []Xe{Node("member", Leaf("Document", url.QueryEscape(p.Doc)), Leaf("VersionId", "v1"),
					Leaf("IsDefaultVersion", "true"), Leaf("CreateDate", created))}))})
		}
		xs := make([]Xe, len(items))
		for i, it := range items {
			xs[i] = it.x
		}
		paged, err := f.Page(form, "Items", xs)
		if err != nil {
			return nil, err
		}
		// Regroup the page's items into their lists.
		start := 0
		if m := form.Get("Marker"); m != "" {
			start, _ = strconv.Atoi(strings.TrimPrefix(m, "page:"))
		}
		lists := map[string][]Xe{}
		for i := range paged[0].Kids {
			it := items[start+i]
			lists[it.list] = append(lists[it.list], it.x)
		}
		var out []Xe
		for _, l := range []string{"UserDetailList", "GroupDetailList", "Policies"} {
			if len(lists[l]) > 0 {
				out = append(out, Members(l, lists[l]))
			}
		}
		return append(out, paged[1:]...), nil
	},
	"GenerateCredentialReport": func(f *IAM, form url.Values) ([]Xe, *IAMError) {
		// The first call starts a report; the next finds it complete (IAM
		// takes seconds; callers poll).
		if !f.Started || f.Stuck {
			f.Started = true
			return []Xe{Leaf("State", "STARTED"), Leaf("Description", "No report exists. Starting a new report generation task")}, nil
		}
		if f.ReportAt.IsZero() || time.Since(f.ReportAt) > 4*time.Hour {
			f.ReportAt = time.Now().UTC().Truncate(time.Second)
			f.Report = f.CredentialReport()
		}
		return []Xe{Leaf("State", "COMPLETE")}, nil
	},
	"GetCredentialReport": func(f *IAM, form url.Values) ([]Xe, *IAMError) {
		if f.ReportAt.IsZero() {
			if f.Started {
				return nil, &IAMError{"ReportInProgress", "Report is still being generated", 404}
			}
			return nil, &IAMError{"ReportNotPresent", "Credential report not present", 410}
		}
		return []Xe{Leaf("Content", base64.StdEncoding.EncodeToString([]byte(f.Report))), Leaf("ReportFormat", "text/csv"),
			Leaf("GeneratedTime", Ts(f.ReportAt))}, nil
	},
}

// credentialReport is the CSV IAM's credential report holds (columns as in
// the IAM User Guide, "Getting credential reports"); keys fill the slots
// access_key_1 and access_key_2 in creation order.
func (f *IAM) CredentialReport() string {
	var b strings.Builder
	b.WriteString("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active," +
		"access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service," +
		"access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service," +
		"cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n")
	na := func(t time.Time) string {
		if t.IsZero() {
			return "N/A"
		}
		return Ts(t)
	}
	for _, u := range f.Users {
		pwUsed := "N/A"
		if u.Console {
			pwUsed = "no_information"
			if !u.PasswordLastUsed.IsZero() {
				pwUsed = Ts(u.PasswordLastUsed)
			}
		}
		fmt.Fprintf(&b, "%s,%s,%s,%t,%s,%s,N/A,false", u.Name, f.UserARN(u), Ts(u.Created), u.Console, pwUsed, na(u.ConsoleCreated))
		for i := range 2 {
			if i < len(u.Keys) {
				k := u.Keys[i]
				region, svc := "N/A", "N/A"
				if !k.LastUsed.IsZero() {
					region, svc = "eu-west-1", "s3"
				}
				fmt.Fprintf(&b, ",%t,%s,%s,%s,%s", k.Status == "Active", Ts(k.Created), na(k.LastUsed), region, svc)
			} else {
				b.WriteString(",false,N/A,N/A,N/A,N/A")
			}
		}
		b.WriteString(",false,N/A,false,N/A\n")
	}
	return b.String()
}

// Seed is the seed file (JSON): an account's groups and users: the account's groups and users.
type Seed struct {
	Groups []struct {
		Name     string            `json:"name"`
		Policies []string          `json:"policies"` // managed policy ARNs (AWS-managed ones exist already)
		Inline   map[string]string `json:"inline"`   // name -> JSON document
	} `json:"groups"`
	Users []SeedUser `json:"users"`
}

// SeedUser is one user of a Seed.
type SeedUser struct {
	Name             string            `json:"name"`
	ID               string            `json:"id,omitempty"`
	Tags             map[string]string `json:"tags,omitempty"`
	Console          bool              `json:"console"`
	PasswordLastUsed *time.Time        `json:"password_last_used,omitempty"`
	Groups           []string          `json:"groups,omitempty"`
	Policies         []string          `json:"policies,omitempty"`
	Inline           map[string]string `json:"inline,omitempty"`
	Keys             []struct {
		ID       string     `json:"id,omitempty"`
		Status   string     `json:"status"`
		Created  time.Time  `json:"created"`
		LastUsed *time.Time `json:"last_used,omitempty"`
	} `json:"keys,omitempty"`
}

// SeedFrom adds the groups and users of s.
func (f *IAM) SeedFrom(s Seed) {
	for _, g := range s.Groups {
		fg := f.AddGroup(g.Name, g.Policies...)
		for k, v := range g.Inline {
			fg.Inline[k] = v
		}
	}
	for _, su := range s.Users {
		u := f.AddUser(su.Name)
		u.Console, u.ConsoleCreated = su.Console, f.Now.AddDate(0, -1, 0)
		if su.PasswordLastUsed != nil {
			u.PasswordLastUsed = su.PasswordLastUsed.UTC()
		}
		for k, v := range su.Tags {
			u.Tags[k] = v
		}
		for k, v := range su.Inline {
			u.Inline[k] = v
		}
		u.Groups, u.Attached = su.Groups, su.Policies
		for _, k := range su.Keys {
			var last time.Time
			if k.LastUsed != nil {
				last = k.LastUsed.UTC()
			}
			fk := f.AddKey(u, k.Status, k.Created.UTC(), last)
			if k.ID != "" {
				fk.ID = k.ID
			}
		}
		if su.ID != "" {
			u.ID = su.ID
		}
	}
}

// State is the fake's users as seed JSON (key IDs, statuses and the console
// filled in as they are now).
func (f *IAM) State() Seed {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	var s Seed
	for _, u := range f.Users {
		su := SeedUser{Name: u.Name, ID: u.ID, Tags: u.Tags, Console: u.Console, Groups: u.Groups, Policies: u.Attached, Inline: u.Inline}
		if !u.PasswordLastUsed.IsZero() {
			t := u.PasswordLastUsed
			su.PasswordLastUsed = &t
		}
		for _, k := range u.Keys {
			var last *time.Time
			if !k.LastUsed.IsZero() {
				t := k.LastUsed
				last = &t
			}
			su.Keys = append(su.Keys, struct {
				ID       string     `json:"id,omitempty"`
				Status   string     `json:"status"`
				Created  time.Time  `json:"created"`
				LastUsed *time.Time `json:"last_used,omitempty"`
			}{k.ID, k.Status, k.Created, last})
		}
		s.Users = append(s.Users, su)
	}
	return s
}
