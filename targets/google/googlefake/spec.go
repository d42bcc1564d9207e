package googlefake

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The discovery document is Google's own description of the API, the one
// google.golang.org/api/admin/directory/v1 is generated from. Every exchange
// the fake records is checked against it (checkExchanges), so neither the
// connector's requests nor the fake's answers can drift from it.

type DiscoMethod struct {
	ID         string                    `json:"id"`
	HTTPMethod string                    `json:"httpMethod"`
	Path       string                    `json:"path"`
	FlatPath   string                    `json:"flatPath"`
	Parameters map[string]DiscoParameter `json:"parameters"`
	Request    *struct {
		Ref string `json:"$ref"`
	} `json:"request"`
	Response *struct {
		Ref string `json:"$ref"`
	} `json:"response"`
	Re *regexp.Regexp
}

type DiscoParameter struct {
	Type     string   `json:"type"`
	Location string   `json:"location"`
	Required bool     `json:"required"`
	Enum     []string `json:"enum"`
	Minimum  string   `json:"minimum"`
	Maximum  string   `json:"maximum"`
}

type DiscoSchema struct {
	Type                 string                  `json:"type"`
	Format               string                  `json:"format"`
	Ref                  string                  `json:"$ref"`
	Properties           map[string]*DiscoSchema `json:"properties"`
	Items                *DiscoSchema            `json:"items"`
	AdditionalProperties *DiscoSchema            `json:"additionalProperties"`
}

type DiscoResource struct {
	Methods   map[string]*DiscoMethod  `json:"methods"`
	Resources map[string]DiscoResource `json:"resources"`
}

type Discovery struct {
	ServicePath string                    `json:"servicePath"`
	Parameters  map[string]DiscoParameter `json:"parameters"`
	Resources   map[string]DiscoResource  `json:"resources"`
	Schemas     map[string]*DiscoSchema   `json:"schemas"`
	Methods     []*DiscoMethod
}

// anyFields types the properties the discovery document declares as "any"
// with the companion schema Google documents for them, so that those are
// checked too (externalIds: "The list of external IDs for the user", a
// list of UserExternalId; emails: UserEmail).
var AnyFields = map[string]string{"externalIds": "UserExternalId", "emails": "UserEmail"}

var (
	DiscoOnce sync.Once
	Disco     *Discovery
	DiscoErr  error
)

func LoadDiscovery(t testing.TB) *Discovery {
	DiscoOnce.Do(func() {
		b, err := os.ReadFile(discoveryPath())
		if err != nil {
			DiscoErr = err
			return
		}
		var d Discovery
		if err := json.Unmarshal(b, &d); err != nil {
			DiscoErr = err
			return
		}
		var walk func(map[string]DiscoResource)
		walk = func(rs map[string]DiscoResource) {
			for _, r := range rs {
				for _, m := range r.Methods {
					pat := regexp.QuoteMeta(m.FlatPath)
					pat = regexp.MustCompile(`\\\{[^}]+\\\}`).ReplaceAllString(pat, `[^/]+`)
					m.Re = regexp.MustCompile("^/" + pat + "$")
					d.Methods = append(d.Methods, m)
				}
				walk(r.Resources)
			}
		}
		walk(d.Resources)
		Disco = &d
	})
	if DiscoErr != nil {
		t.Fatalf("discovery document: %v", DiscoErr)
	}
	return Disco
}

// method finds the one method whose httpMethod and flatPath match.
func (d *Discovery) Method(httpMethod, path string) (*DiscoMethod, error) {
	var found []*DiscoMethod
	for _, m := range d.Methods {
		if m.HTTPMethod == httpMethod && m.Re.MatchString(path) {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		var ids []string
		for _, m := range found {
			ids = append(ids, m.ID)
		}
		return nil, fmt.Errorf("%s %s matches %d methods %v, want exactly 1", httpMethod, path, len(found), ids)
	}
	return found[0], nil
}

func (d *Discovery) Schema(name string) *DiscoSchema {
	return d.Schemas[name]
}

// checkExchange checks one recorded request and its answer.
func (d *Discovery) CheckExchange(x Exchange) []string {
	if x.Path == "/token" {
		return nil
	}
	m, err := d.Method(x.Method, x.Path)
	if err != nil {
		return []string{err.Error()}
	}
	var errs []string
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Sprintf("%s (%s %s): ", m.ID, x.Method, x.Path)+fmt.Sprintf(format, args...))
	}
	if m.Path != m.FlatPath {
		add("path %q differs from flatPath %q: check reserved expansion", m.Path, m.FlatPath)
	}
	for k, vs := range x.Query {
		p, ok := m.Parameters[k]
		if !ok {
			p, ok = d.Parameters[k]
		}
		if !ok || p.Location != "query" {
			add("query parameter %q is not a parameter of the method", k)
			continue
		}
		for _, v := range vs {
			if err := p.Check(v); err != nil {
				add("query parameter %s=%q: %v", k, v, err)
			}
		}
		if k == "fields" && m.Response != nil {
			sel, err := ParseFields(vs[0])
			if err != nil {
				add("fields=%q: %v", vs[0], err)
			} else {
				for _, e := range d.CheckSelection(sel, d.Schema(m.Response.Ref), "") {
					add("fields=%q: %s", vs[0], e)
				}
			}
		}
	}
	for name, p := range m.Parameters {
		if p.Required && p.Location == "query" && x.Query.Get(name) == "" {
			add("required query parameter %q missing", name)
		}
	}
	if len(x.ReqBody) > 0 {
		if m.Request == nil {
			add("request body sent to a method that takes none")
		} else {
			var v any
			if err := json.Unmarshal(x.ReqBody, &v); err != nil {
				add("request body is not JSON: %v", err)
			} else {
				for _, e := range d.CheckValue(v, &DiscoSchema{Ref: m.Request.Ref}, "request") {
					add("%s", e)
				}
			}
		}
	}
	switch {
	case x.Status >= 400:
		// Error bodies are Google's standard JSON error, not described by
		// the discovery document: check the envelope.
		var e struct {
			Error *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
				Errors  []struct {
					Message, Domain, Reason string
				} `json:"errors"`
			} `json:"error"`
		}
		if json.Unmarshal(x.RespBody, &e) != nil || e.Error == nil || e.Error.Code != x.Status || e.Error.Message == "" || len(e.Error.Errors) == 0 || e.Error.Errors[0].Reason == "" {
			add("error body %s is not Google's error envelope", x.RespBody)
		}
	case m.Response == nil:
		if len(x.RespBody) > 0 || x.Status != 204 {
			add("method has no response body; the fake answered %d %s", x.Status, x.RespBody)
		}
	default:
		var v any
		if err := json.Unmarshal(x.RespBody, &v); err != nil {
			add("response is not JSON: %v", err)
		} else {
			for _, e := range d.CheckValue(v, &DiscoSchema{Ref: m.Response.Ref}, "response") {
				add("%s", e)
			}
		}
	}
	return errs
}

func (p DiscoParameter) Check(v string) error {
	if len(p.Enum) > 0 && !slices.Contains(p.Enum, v) {
		return fmt.Errorf("not one of %v", p.Enum)
	}
	switch p.Type {
	case "integer":
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("not an integer")
		}
		if p.Minimum != "" {
			if lo, _ := strconv.Atoi(p.Minimum); n < lo {
				return fmt.Errorf("below the minimum %s", p.Minimum)
			}
		}
		if p.Maximum != "" {
			if hi, _ := strconv.Atoi(p.Maximum); n > hi {
				return fmt.Errorf("above the maximum %s", p.Maximum)
			}
		}
	case "boolean":
		if v != "true" && v != "false" {
			return fmt.Errorf("not a boolean")
		}
	}
	return nil
}

func (d *Discovery) Resolve(s *DiscoSchema) *DiscoSchema {
	for s != nil && s.Ref != "" {
		s = d.Schemas[s.Ref]
	}
	return s
}

// checkSelection checks that every field a fields parameter names is a
// property of the schema.
func (d *Discovery) CheckSelection(sel Selection, s *DiscoSchema, at string) []string {
	s = d.Resolve(s)
	if s == nil {
		return []string{at + ": no schema"}
	}
	if s.Type == "array" {
		s = d.Resolve(s.Items)
	}
	var errs []string
	for k, sub := range sel {
		p, ok := s.Properties[k]
		if !ok && s.AdditionalProperties != nil {
			p, ok = s.AdditionalProperties, true // a map: any key
		}
		if !ok {
			errs = append(errs, fmt.Sprintf("%s%s is not a property", at, k))
			continue
		}
		if companion, ok := AnyFields[k]; ok && p.Type == "any" {
			p = &DiscoSchema{Type: "array", Items: &DiscoSchema{Ref: companion}}
		}
		if sub != nil {
			errs = append(errs, d.CheckSelection(sub, p, at+k+"/")...)
		}
	}
	return errs
}

// checkValue checks a decoded JSON value against a schema: objects carry
// only declared properties, and every value has the declared JSON type
// (int64/uint64 as strings, date-time as RFC 3339).
func (d *Discovery) CheckValue(v any, s *DiscoSchema, at string) []string {
	s = d.Resolve(s)
	if s == nil {
		return []string{at + ": unknown schema"}
	}
	bad := func() []string {
		return []string{fmt.Sprintf("%s: %T %v is not of type %s/%s", at, v, v, s.Type, s.Format)}
	}
	switch s.Type {
	case "any", "":
		return nil
	case "object":
		o, ok := v.(map[string]any)
		if !ok {
			return bad()
		}
		var errs []string
		for k, x := range o {
			p, ok := s.Properties[k]
			if !ok {
				if s.AdditionalProperties != nil {
					errs = append(errs, d.CheckValue(x, s.AdditionalProperties, at+"."+k)...)
					continue
				}
				errs = append(errs, fmt.Sprintf("%s.%s is not a property of the schema", at, k))
				continue
			}
			if companion, ok := AnyFields[k]; ok && p.Type == "any" {
				p = &DiscoSchema{Type: "array", Items: &DiscoSchema{Ref: companion}}
			}
			errs = append(errs, d.CheckValue(x, p, at+"."+k)...)
		}
		return errs
	case "array":
		a, ok := v.([]any)
		if !ok {
			return bad()
		}
		var errs []string
		for i, x := range a {
			errs = append(errs, d.CheckValue(x, s.Items, fmt.Sprintf("%s[%d]", at, i))...)
		}
		return errs
	case "boolean":
		if _, ok := v.(bool); !ok {
			return bad()
		}
	case "integer", "number":
		if _, ok := v.(float64); !ok {
			return bad()
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return bad()
		}
		switch s.Format {
		case "int64", "uint64":
			if _, err := strconv.ParseInt(str, 10, 64); err != nil {
				return bad()
			}
		case "date-time":
			if _, err := time.Parse(time.RFC3339, str); err != nil {
				return bad()
			}
		}
	}
	return nil
}

// checkExchanges fails t for every exchange that breaks the discovery
// document. New registers it to run at the end of every test.
func CheckExchanges(t testing.TB, xs []Exchange) {
	d := LoadDiscovery(t)
	n := 0
	for _, x := range xs {
		for _, e := range d.CheckExchange(x) {
			if n < 20 {
				t.Errorf("discovery: %s", e)
			}
			n++
		}
	}
	if n > 20 {
		t.Errorf("discovery: %d more violations", n-20)
	}
}

// discoveryPath is the discovery document beside the connector, found from
// this file's own location so that any package's tests can use the fake.
func discoveryPath() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.Join("testdata", "admin.directory_v1.json")
	}
	return filepath.Join(filepath.Dir(file), "..", "testdata", "admin.directory_v1.json")
}
