package entra

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets/entra/entrafake"
)

// The Graph contract: testdata/graph-v1.0-subset.csdl holds, unchanged, the
// elements of Microsoft's v1.0 $metadata this package relies on (copied by
// testdata/extract-csdl.py; origin in the file's header). The tests here
// check every request shape the connector sends (graph.go) and every route,
// query option and response property of the fake (entrafake) against it.

type csdlDoc struct {
	Schemas []csdlSchema `xml:"DataServices>Schema"`
}

type csdlSchema struct {
	Namespace    string       `xml:"Namespace,attr"`
	Alias        string       `xml:"Alias,attr"`
	EntityTypes  []csdlType   `xml:"EntityType"`
	ComplexTypes []csdlType   `xml:"ComplexType"`
	Actions      []csdlAction `xml:"Action"`
	Container    struct {
		EntitySets []struct {
			Name       string `xml:"Name,attr"`
			EntityType string `xml:"EntityType,attr"`
		} `xml:"EntitySet"`
		Singletons []struct {
			Name string `xml:"Name,attr"`
			Type string `xml:"Type,attr"`
		} `xml:"Singleton"`
	} `xml:"EntityContainer"`
}

type csdlType struct {
	Name       string `xml:"Name,attr"`
	BaseType   string `xml:"BaseType,attr"`
	Properties []struct {
		Name string `xml:"Name,attr"`
		Type string `xml:"Type,attr"`
	} `xml:"Property"`
	NavProps []struct {
		Name           string `xml:"Name,attr"`
		Type           string `xml:"Type,attr"`
		ContainsTarget bool   `xml:"ContainsTarget,attr"`
	} `xml:"NavigationProperty"`
}

type csdlAction struct {
	Name       string `xml:"Name,attr"`
	IsBound    bool   `xml:"IsBound,attr"`
	Parameters []struct {
		Name string `xml:"Name,attr"`
		Type string `xml:"Type,attr"`
	} `xml:"Parameter"`
}

// csdlModel is the parsed subset with names qualified (microsoft.graph.user).
type csdlModel struct {
	types      map[string]*csdlType // entity and complex types
	entitySets map[string]string    // name -> type
	singletons map[string]string
	actions    []csdlAction
}

func loadCSDL(t *testing.T) *csdlModel {
	t.Helper()
	b, err := os.ReadFile("testdata/graph-v1.0-subset.csdl")
	if err != nil {
		t.Fatal(err)
	}
	var doc csdlDoc
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("parse CSDL: %v", err)
	}
	m := &csdlModel{types: map[string]*csdlType{}, entitySets: map[string]string{}, singletons: map[string]string{}}
	for _, s := range doc.Schemas {
		if s.Namespace != "microsoft.graph" || s.Alias != "graph" {
			t.Fatalf("unexpected schema %s (alias %s)", s.Namespace, s.Alias)
		}
		for i := range s.EntityTypes {
			m.types["microsoft.graph."+s.EntityTypes[i].Name] = &s.EntityTypes[i]
		}
		for i := range s.ComplexTypes {
			m.types["microsoft.graph."+s.ComplexTypes[i].Name] = &s.ComplexTypes[i]
		}
		for _, es := range s.Container.EntitySets {
			m.entitySets[es.Name] = qualify(es.EntityType)
		}
		for _, sg := range s.Container.Singletons {
			m.singletons[sg.Name] = qualify(sg.Type)
		}
		m.actions = append(m.actions, s.Actions...)
	}
	if len(m.types) == 0 || len(m.entitySets) == 0 {
		t.Fatal("CSDL subset is empty")
	}
	return m
}

// qualify turns graph.user and microsoft.graph.user into microsoft.graph.user.
func qualify(name string) string {
	if rest, ok := strings.CutPrefix(name, "graph."); ok {
		return "microsoft.graph." + rest
	}
	return name
}

// collectionOf splits Collection(graph.user) into (microsoft.graph.user, true).
func collectionOf(typ string) (string, bool) {
	if inner, ok := strings.CutPrefix(typ, "Collection("); ok {
		return qualify(strings.TrimSuffix(inner, ")")), true
	}
	return qualify(typ), false
}

// lineage is the type and its base types, most derived first.
func (m *csdlModel) lineage(typ string) []string {
	var out []string
	for typ != "" {
		ct, ok := m.types[typ]
		if !ok {
			break
		}
		out = append(out, typ)
		typ = qualify(ct.BaseType)
	}
	return out
}

// property finds a structural property on typ or a base type.
func (m *csdlModel) property(typ, name string) (string, bool) {
	for _, tn := range m.lineage(typ) {
		for _, p := range m.types[tn].Properties {
			if p.Name == name {
				return p.Type, true
			}
		}
	}
	return "", false
}

// navigation finds a navigation property on typ or a base type.
func (m *csdlModel) navigation(typ, name string) (target string, coll, contained, ok bool) {
	for _, tn := range m.lineage(typ) {
		for _, n := range m.types[tn].NavProps {
			if n.Name == name {
				target, coll = collectionOf(n.Type)
				return target, coll, n.ContainsTarget, true
			}
		}
	}
	return "", false, false, false
}

// resolved is where a path leads.
type resolved struct {
	typ    string // entity type addressed (or bound to, for an action)
	coll   bool
	action string // the bound action's name when the path ends in one
	ref    bool   // ends in $ref
}

// resolve walks a path template (graph.go's syntax) through the model.
func (m *csdlModel) resolve(path string) (resolved, error) {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	var r resolved
	if typ, ok := m.entitySets[segs[0]]; ok {
		r.typ, r.coll = typ, true
	} else if typ, ok := m.singletons[segs[0]]; ok {
		r.typ = typ
	} else {
		return r, fmt.Errorf("%s: no entity set or singleton %q", path, segs[0])
	}
	viaNonContained := false
	for i, seg := range segs[1:] {
		last := i == len(segs)-2
		switch {
		case seg == "{id}":
			if !r.coll {
				return r, fmt.Errorf("%s: key segment on a single %s", path, r.typ)
			}
			r.coll = false
		case seg == "$ref":
			if !last || !viaNonContained {
				return r, fmt.Errorf("%s: $ref must end a path through a non-contained navigation property", path)
			}
			r.ref = true
		case strings.HasPrefix(seg, "microsoft.graph."):
			if _, ok := m.types[seg]; !ok {
				return r, fmt.Errorf("%s: unknown type %s", path, seg)
			}
			if !slices.Contains(m.lineage(seg), r.typ) {
				return r, fmt.Errorf("%s: cast to %s, which does not derive from %s", path, seg, r.typ)
			}
			r.typ = seg
		default:
			if target, coll, contained, ok := m.navigation(r.typ, seg); ok {
				if r.coll {
					return r, fmt.Errorf("%s: navigation %s on a collection", path, seg)
				}
				r.typ, r.coll, viaNonContained = target, coll, !contained
				continue
			}
			if !last {
				return r, fmt.Errorf("%s: %s is not a navigation property of %s", path, seg, r.typ)
			}
			if !m.boundAction(seg, r.typ, r.coll) {
				return r, fmt.Errorf("%s: %s is neither a navigation property nor an action bound to %s", path, seg, r.typ)
			}
			r.action = seg
		}
	}
	return r, nil
}

// boundAction says whether an action name is bound to typ (or a base type).
func (m *csdlModel) boundAction(name, typ string, coll bool) bool {
	for _, a := range m.actions {
		if a.Name != name || !a.IsBound || len(a.Parameters) == 0 {
			continue
		}
		bt, bcoll := collectionOf(a.Parameters[0].Type)
		if bcoll == coll && slices.Contains(m.lineage(typ), bt) {
			return true
		}
	}
	return false
}

func (m *csdlModel) checkProperties(typ string, names []string) error {
	for _, n := range names {
		if _, ok := m.property(typ, n); !ok {
			return fmt.Errorf("%s has no property %q", typ, n)
		}
	}
	return nil
}

// TestGraphRequestsMatchCSDL checks every request shape the connector sends.
func TestGraphRequestsMatchCSDL(t *testing.T) {
	m := loadCSDL(t)
	for _, rq := range graphRequests {
		name := rq.Method + " " + rq.Path
		r, err := m.resolve(rq.Path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		switch {
		case r.action != "":
			if rq.Method != "POST" {
				t.Errorf("%s: an action is invoked with POST", name)
			}
		case r.ref:
			if rq.Method != "DELETE" {
				t.Errorf("%s: only DELETE is sent to a $ref", name)
			}
		case rq.Method == "PATCH":
			if r.coll {
				t.Errorf("%s: PATCH of a collection", name)
			}
		case rq.Method != "GET":
			t.Errorf("%s: unexpected method", name)
		}
		if err := m.checkProperties(r.typ, rq.Select); err != nil {
			t.Errorf("%s $select: %v", name, err)
		}
		if err := m.checkProperties(r.typ, rq.Body); err != nil {
			t.Errorf("%s body: %v", name, err)
		}
		if rq.Expand != "" {
			target, _, _, ok := m.navigation(r.typ, rq.Expand)
			if !ok {
				t.Errorf("%s $expand: %s has no navigation property %s", name, r.typ, rq.Expand)
			} else if err := m.checkProperties(target, rq.ExpandSelect); err != nil {
				t.Errorf("%s $expand=%s($select): %v", name, rq.Expand, err)
			}
		}
	}
	// The types the connector decodes, field by field (json tags).
	for typ, fields := range map[string][]string{
		"microsoft.graph.user":                  jsonFields(graphUser{}),
		"microsoft.graph.signInActivity":        jsonFields(graphSignInActivity{}),
		"microsoft.graph.group":                 jsonFields(graphGroup{}),
		"microsoft.graph.unifiedRoleAssignment": jsonFields(graphRoleAssignment{}),
		"microsoft.graph.unifiedRoleDefinition": jsonFields(graphRoleDefinition{}),
	} {
		for _, f := range fields {
			if _, ok := m.property(typ, f); ok {
				continue
			}
			if _, _, _, ok := m.navigation(typ, f); ok {
				continue
			}
			t.Errorf("the connector decodes %s.%s, which Graph does not define", typ, f)
		}
	}
	// signInActivity is a property of type signInActivity.
	if typ, _ := m.property("microsoft.graph.user", "signInActivity"); qualify(typ) != "microsoft.graph.signInActivity" {
		t.Errorf("user.signInActivity has type %q", typ)
	}
}

// TestResolverRejects makes sure the checker can fail: shapes Graph does not
// have are refused.
func TestResolverRejects(t *testing.T) {
	m := loadCSDL(t)
	for _, p := range []string{
		"/people",                           // no such entity set
		"/users/{id}/groups",                // no such navigation property
		"/users/{id}/disable",               // no such action
		"/users/revokeSignInSessions",       // bound to one user, not the collection
		"/groups/{id}/revokeSignInSessions", // bound to user, not group
		"/users/{id}/memberOf/microsoft.graph.user/{id}/x",
		"/users/{id}/$ref",                                    // not through a navigation property
		"/roleManagement/{id}",                                // key on a singleton
		"/users/{id}/memberOf/microsoft.graph.roleManagement", // not a directoryObject
	} {
		if _, err := m.resolve(p); err == nil {
			t.Errorf("resolve(%s) accepted a path Graph does not have", p)
		}
	}
	if err := m.checkProperties("microsoft.graph.user", []string{"lastLoginTime"}); err == nil {
		t.Error("checkProperties accepted user.lastLoginTime")
	}
	if err := m.checkProperties("microsoft.graph.group", []string{"accountEnabled"}); err == nil {
		t.Error("checkProperties accepted group.accountEnabled")
	}
}

// jsonFields lists the JSON names of a struct's fields, @odata annotations
// left out.
func jsonFields(v any) []string {
	var out []string
	rt := reflect.TypeOf(v)
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" || strings.HasPrefix(name, "@odata.") {
			continue
		}
		out = append(out, name)
	}
	return out
}

// TestFakeMatchesCSDL checks the fake's vocabulary: its routes, the
// properties it accepts in $select and writes, and the keys of what it
// returns.
func TestFakeMatchesCSDL(t *testing.T) {
	m := loadCSDL(t)
	for _, rt := range entrafake.Routes {
		if _, err := m.resolve(rt[1]); err != nil {
			t.Errorf("fake route %s %s: %v", rt[0], rt[1], err)
		}
	}
	for typ, props := range map[string][]string{
		"microsoft.graph.user":                  append(slices.Clone(entrafake.UserProps), entrafake.WritableUserProps...),
		"microsoft.graph.signInActivity":        entrafake.SignInProps,
		"microsoft.graph.group":                 entrafake.GroupProps,
		"microsoft.graph.unifiedRoleAssignment": entrafake.RoleAssignmentProps,
		"microsoft.graph.unifiedRoleDefinition": entrafake.RoleDefProps,
	} {
		if err := m.checkProperties(typ, props); err != nil {
			t.Errorf("fake: %v", err)
		}
	}
	// What the fake encodes: every key, nested objects included.
	f := &entrafake.Graph{}
	now := time.Now()
	u := &entrafake.User{ID: "u", UPN: "u@x", LastSignIn: &now, LastOK: &now}
	var b bytes.Buffer
	f.EncodeUser(&b, u, entrafake.UserProps)
	var user map[string]json.RawMessage
	if err := json.Unmarshal(b.Bytes(), &user); err != nil {
		t.Fatalf("fake user JSON: %v: %s", err, b.String())
	}
	checkKeys(t, m, "microsoft.graph.user", user)
	var sia map[string]json.RawMessage
	if err := json.Unmarshal(user["signInActivity"], &sia); err != nil {
		t.Fatal(err)
	}
	checkKeys(t, m, "microsoft.graph.signInActivity", sia)
	b.Reset()
	f.EncodeGroup(&b, &entrafake.Group{ID: "g", Name: "G", Dynamic: true}, entrafake.GroupProps)
	var group map[string]json.RawMessage
	if err := json.Unmarshal(b.Bytes(), &group); err != nil {
		t.Fatalf("fake group JSON: %v: %s", err, b.String())
	}
	checkKeys(t, m, "microsoft.graph.group", group)
}

func checkKeys(t *testing.T, m *csdlModel, typ string, obj map[string]json.RawMessage) {
	t.Helper()
	if len(obj) == 0 {
		t.Errorf("%s: empty object", typ)
	}
	for k := range obj {
		if strings.HasPrefix(k, "@odata.") {
			continue
		}
		if _, ok := m.property(typ, k); !ok {
			t.Errorf("the fake returns %s.%s, which Graph does not define", typ, k)
		}
	}
}
