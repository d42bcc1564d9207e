package awsfake

// The IAM description (testdata/service-2.json, botocore's copy of AWS's own
// model) held against the fake: every request the SDK sends and every
// response or error the fake writes is checked against it, like the Prism
// validating proxy does for OpenAPI vendors. A violation is answered with HTTP
// 500 (so the SDK call fails) and recorded, and every test using the fake
// fails on a recorded violation.

import (
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

type SpecShape struct {
	Type     string                `json:"type"`
	Members  map[string]SpecMember `json:"members"`
	Member   *SpecMember           `json:"member"`
	Key      *SpecMember           `json:"key"`
	Value    *SpecMember           `json:"value"`
	Required []string              `json:"required"`
	Enum     []string              `json:"enum"`
	Pattern  string                `json:"pattern"`
	Min      *float64              `json:"min"`
	Max      *float64              `json:"max"`
	Error    *struct {
		Code           string `json:"code"`
		HTTPStatusCode int    `json:"httpStatusCode"`
	} `json:"error"`
	Exception bool `json:"exception"`

	Re    *regexp.Regexp
	ReErr error
}

type SpecMember struct {
	Shape        string `json:"shape"`
	LocationName string `json:"locationName"`
	Flattened    bool   `json:"flattened"`
}

type SpecOp struct {
	Input *struct {
		Shape string `json:"shape"`
	} `json:"input"`
	Output *struct {
		Shape         string `json:"shape"`
		ResultWrapper string `json:"resultWrapper"`
	} `json:"output"`
	Errors []struct {
		Shape string `json:"shape"`
	} `json:"errors"`
}

type Spec struct {
	Metadata struct {
		APIVersion   string `json:"apiVersion"`
		Protocol     string `json:"protocol"`
		XMLNamespace string `json:"xmlNamespace"`
	} `json:"metadata"`
	Operations map[string]SpecOp     `json:"operations"`
	Shapes     map[string]*SpecShape `json:"shapes"`
}

// commonErrors are the codes every AWS Query service may answer with that
// IAM's model does not list per operation (the SDK's retryer and error
// handling know them; see aws/retry's DefaultThrottleErrorCodes).
var CommonErrors = map[string]int{
	"Throttling":    400,
	"AccessDenied":  403,
	"InternalError": 500,
}

var (
	SpecOnce   sync.Once
	LoadedSpec *Spec
	SpecErr    error
)

// serviceJSON is embedded so that the test binary, run as the fake server
// from anywhere (fakeserver_test.go), carries its model.
//
//go:embed testdata/service-2.json
var ServiceJSON []byte

var UEscape = regexp.MustCompile(`\\u([0-9A-Fa-f]{4})`)

func LoadSpec(t testing.TB) *Spec {
	t.Helper()
	SpecOnce.Do(func() {
		var s Spec
		if err := json.Unmarshal(ServiceJSON, &s); err != nil {
			SpecErr = err
			return
		}
		for name, sh := range s.Shapes {
			if sh.Pattern == "" {
				continue
			}
			p := UEscape.ReplaceAllString(sh.Pattern, `\x{$1}`)
			// RE2 lacks look-ahead (accountAliasType uses it): such a
			// pattern is reported when a value of its shape is checked.
			sh.Re, sh.ReErr = regexp.Compile(`^(?:` + p + `)$`)
			_ = name
		}
		LoadedSpec = &s
	})
	if SpecErr != nil {
		t.Fatalf("testdata/service-2.json: %v", SpecErr)
	}
	return LoadedSpec
}

// checkScalar checks one value of a non-aggregate shape.
func (s *Spec) CheckScalar(path, shapeName, v string) []string {
	sh := s.Shapes[shapeName]
	var bad []string
	switch sh.Type {
	case "string":
		if len(sh.Enum) > 0 && !Contains(sh.Enum, v) {
			bad = append(bad, fmt.Sprintf("%s: %q is not one of %v", path, v, sh.Enum))
		}
		if sh.ReErr != nil {
			bad = append(bad, fmt.Sprintf("%s: pattern %s cannot be checked here: %v", path, sh.Pattern, sh.ReErr))
		}
		if sh.Re != nil && !sh.Re.MatchString(v) {
			bad = append(bad, fmt.Sprintf("%s: %q does not match %s", path, v, sh.Pattern))
		}
		n := float64(len([]rune(v)))
		if sh.Min != nil && n < *sh.Min || sh.Max != nil && n > *sh.Max {
			bad = append(bad, fmt.Sprintf("%s: length %v outside [%v, %v]", path, n, Deref(sh.Min), Deref(sh.Max)))
		}
	case "integer", "long":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: %q is not an integer", path, v))
		} else if sh.Min != nil && float64(n) < *sh.Min || sh.Max != nil && float64(n) > *sh.Max {
			bad = append(bad, fmt.Sprintf("%s: %d outside [%v, %v]", path, n, Deref(sh.Min), Deref(sh.Max)))
		}
	case "boolean":
		if v != "true" && v != "false" {
			bad = append(bad, fmt.Sprintf("%s: %q is not a boolean", path, v))
		}
	case "timestamp":
		if _, err := time.Parse(time.RFC3339, v); err != nil {
			bad = append(bad, fmt.Sprintf("%s: %q is not an ISO 8601 timestamp", path, v))
		}
	case "blob":
		if _, err := base64.StdEncoding.DecodeString(v); err != nil {
			bad = append(bad, fmt.Sprintf("%s: not base64: %v", path, err))
		}
	default:
		bad = append(bad, fmt.Sprintf("%s: shape %s of type %s where a scalar was expected", path, shapeName, sh.Type))
	}
	return bad
}

// xmlNode is a parsed XML element.
type XMLNode struct {
	Name string
	Text string
	Kids []*XMLNode
}

func ParseXML(body []byte) (*XMLNode, error) {
	dec := xml.NewDecoder(strings.NewReader(string(body)))
	var stack []*XMLNode
	var root *XMLNode
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			n := &XMLNode{Name: tk.Name.Local}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Kids = append(p.Kids, n)
			} else if root != nil {
				return nil, fmt.Errorf("second root element <%s>", n.Name)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(tk)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("no XML element")
	}
	return root, nil
}

// checkNode checks an element against a shape, recording in seen every
// "Shape.Member" it meets.
func (s *Spec) CheckNode(path string, n *XMLNode, shapeName string, seen map[string]bool) []string {
	sh, ok := s.Shapes[shapeName]
	if !ok {
		return []string{fmt.Sprintf("%s: unknown shape %s", path, shapeName)}
	}
	var bad []string
	switch sh.Type {
	case "structure":
		got := map[string]bool{}
		for _, k := range n.Kids {
			m, ok := sh.Members[k.Name]
			if !ok {
				bad = append(bad, fmt.Sprintf("%s: <%s> is not a member of %s", path, k.Name, shapeName))
				continue
			}
			if got[k.Name] {
				bad = append(bad, fmt.Sprintf("%s: <%s> twice", path, k.Name))
			}
			got[k.Name] = true
			seen[shapeName+"."+k.Name] = true
			bad = append(bad, s.CheckNode(path+"/"+k.Name, k, m.Shape, seen)...)
		}
		for _, r := range sh.Required {
			if !got[r] {
				bad = append(bad, fmt.Sprintf("%s: required member %s of %s missing", path, r, shapeName))
			}
		}
	case "list":
		for i, k := range n.Kids {
			if k.Name != "member" {
				bad = append(bad, fmt.Sprintf("%s: list item <%s>, want <member>", path, k.Name))
				continue
			}
			bad = append(bad, s.CheckNode(fmt.Sprintf("%s/member[%d]", path, i+1), k, sh.Member.Shape, seen)...)
		}
		if sh.Max != nil && float64(len(n.Kids)) > *sh.Max {
			bad = append(bad, fmt.Sprintf("%s: %d items, at most %v", path, len(n.Kids), *sh.Max))
		}
	case "map":
		for _, e := range n.Kids {
			if e.Name != "entry" || len(e.Kids) != 2 || e.Kids[0].Name != "key" || e.Kids[1].Name != "value" {
				bad = append(bad, fmt.Sprintf("%s: map entry is not <entry><key/><value/></entry>", path))
				continue
			}
			bad = append(bad, s.CheckNode(path+"/key", e.Kids[0], sh.Key.Shape, seen)...)
			bad = append(bad, s.CheckNode(path+"/value", e.Kids[1], sh.Value.Shape, seen)...)
		}
	default:
		if len(n.Kids) > 0 {
			return []string{fmt.Sprintf("%s: scalar %s has child elements", path, shapeName)}
		}
		bad = append(bad, s.CheckScalar(path, shapeName, n.Text)...)
	}
	return bad
}

// checkResponse checks a response body of op against the model: the
// envelope, the result (or the error) and the HTTP status.
func (s *Spec) CheckResponse(op string, status int, body []byte, seen map[string]bool) []string {
	root, err := ParseXML(body)
	if err != nil {
		return []string{fmt.Sprintf("%s: response is not XML: %v", op, err)}
	}
	if root.Name == "ErrorResponse" {
		return s.CheckError(op, status, root)
	}
	if status != 200 {
		return []string{fmt.Sprintf("%s: HTTP %d with a non-error body", op, status)}
	}
	o := s.Operations[op]
	if root.Name != op+"Response" {
		return []string{fmt.Sprintf("%s: root <%s>, want <%sResponse>", op, root.Name, op)}
	}
	var bad []string
	var haveResult, haveMeta bool
	for _, k := range root.Kids {
		switch {
		case k.Name == "ResponseMetadata":
			haveMeta = true
			if len(k.Kids) != 1 || k.Kids[0].Name != "RequestId" || k.Kids[0].Text == "" {
				bad = append(bad, op+": ResponseMetadata must hold one non-empty RequestId")
			}
		case o.Output != nil && k.Name == o.Output.ResultWrapper:
			haveResult = true
			bad = append(bad, s.CheckNode(op+"/"+k.Name, k, o.Output.Shape, seen)...)
		default:
			bad = append(bad, fmt.Sprintf("%s: unexpected <%s> in <%sResponse>", op, k.Name, op))
		}
	}
	if !haveMeta {
		bad = append(bad, op+": no ResponseMetadata")
	}
	if o.Output != nil && !haveResult {
		bad = append(bad, fmt.Sprintf("%s: no <%s>", op, o.Output.ResultWrapper))
	}
	return bad
}

func (s *Spec) CheckError(op string, status int, root *XMLNode) []string {
	var bad []string
	var code string
	var haveReq bool
	for _, k := range root.Kids {
		switch k.Name {
		case "Error":
			for _, f := range k.Kids {
				switch f.Name {
				case "Type":
					if f.Text != "Sender" && f.Text != "Receiver" {
						bad = append(bad, fmt.Sprintf("%s: error Type %q", op, f.Text))
					}
				case "Code":
					code = f.Text
				case "Message":
				default:
					bad = append(bad, fmt.Sprintf("%s: unexpected <Error><%s>", op, f.Name))
				}
			}
		case "RequestId":
			haveReq = k.Text != ""
		default:
			bad = append(bad, fmt.Sprintf("%s: unexpected <ErrorResponse><%s>", op, k.Name))
		}
	}
	if !haveReq {
		bad = append(bad, op+": error without RequestId")
	}
	want, ok := CommonErrors[code]
	if !ok {
		for _, e := range s.Operations[op].Errors {
			if es := s.Shapes[e.Shape]; es.Error != nil && es.Error.Code == code {
				want, ok = es.Error.HTTPStatusCode, true
			}
		}
	}
	if !ok {
		return append(bad, fmt.Sprintf("%s: error code %q is not one the model lists for it", op, code))
	}
	if status != want {
		bad = append(bad, fmt.Sprintf("%s: error %s with HTTP %d, the model says %d", op, code, status, want))
	}
	return bad
}

// checkRequest checks a form-encoded Query request against the operation's
// input shape: Action, Version, every parameter a member (lists as
// Name.member.N), required members present, scalar values in range.
func (s *Spec) CheckRequest(form url.Values) (string, []string) {
	op := form.Get("Action")
	o, ok := s.Operations[op]
	if !ok {
		return op, []string{fmt.Sprintf("Action %q is not an IAM operation", op)}
	}
	var bad []string
	if v := form.Get("Version"); v != s.Metadata.APIVersion {
		bad = append(bad, fmt.Sprintf("%s: Version %q, want %s", op, v, s.Metadata.APIVersion))
	}
	var in *SpecShape
	if o.Input != nil {
		in = s.Shapes[o.Input.Shape]
	}
	got := map[string]bool{}
	for key, vals := range form {
		if key == "Action" || key == "Version" {
			continue
		}
		top, rest, _ := strings.Cut(key, ".")
		if in == nil {
			bad = append(bad, fmt.Sprintf("%s takes no parameters, got %s", op, key))
			continue
		}
		m, ok := in.Members[top]
		if !ok {
			bad = append(bad, fmt.Sprintf("%s: parameter %s is not a member of %s", op, key, o.Input.Shape))
			continue
		}
		got[top] = true
		ms := s.Shapes[m.Shape]
		switch {
		case rest == "" && ms.Type != "structure" && ms.Type != "list" && ms.Type != "map":
			bad = append(bad, s.CheckScalar(op+"."+key, m.Shape, vals[0])...)
		case ms.Type == "list":
			idx, ok := strings.CutPrefix(rest, "member.")
			if !ok {
				bad = append(bad, fmt.Sprintf("%s: list parameter %s not as %s.member.N", op, key, top))
				continue
			}
			if _, err := strconv.Atoi(idx); err == nil {
				bad = append(bad, s.CheckScalar(op+"."+key, ms.Member.Shape, vals[0])...)
			}
		default:
			bad = append(bad, fmt.Sprintf("%s: parameter %s has an unexpected form for a %s", op, key, ms.Type))
		}
	}
	if in != nil {
		for _, r := range in.Required {
			if !got[r] {
				bad = append(bad, fmt.Sprintf("%s: required parameter %s missing", op, r))
			}
		}
	}
	return op, bad
}

func Contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func Deref(f *float64) any {
	if f == nil {
		return "-"
	}
	return *f
}

func SortedKeys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
