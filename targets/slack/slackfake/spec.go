package slackfake

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"

	"github.com/accessrecon/accessrecon/targets/targettest/specproxy"
)

// SpecPath is Slack's own Web API description the fake is held to
// (../testdata/slack_web_openapi_v2.json, see ../testdata/ORIGIN.md), found
// from this file's location so that any package's tests can start Prism
// with it.
func SpecPath() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.Join("testdata", "slack_web_openapi_v2.json")
	}
	return filepath.Join(filepath.Dir(file), "..", "testdata", "slack_web_openapi_v2.json")
}

// SpecOptions hold the places where Slack's description (last published in
// 2021) is wrong or out of date, each with the reason. Nothing here turns
// validation off; two patches make it stricter than the file as published.
func SpecOptions() specproxy.Options {
	return specproxy.Options{Patches: specPatches()}
}

// slackSpec is the part of Slack's description the patches read.
type slackSpec struct {
	Paths       map[string]map[string]map[string]any `json:"paths"`
	Definitions map[string]map[string]any            `json:"definitions"`
}

func specPatches() []specproxy.Patch {
	b, err := os.ReadFile(SpecPath())
	if err != nil {
		panic(err)
	}
	var doc slackSpec
	if err := json.Unmarshal(b, &doc); err != nil {
		panic(err)
	}
	var ps []specproxy.Patch
	ps = append(ps, untypedAlternativesPatches(doc)...)
	ps = append(ps, readingMethodPatches(doc)...)
	ps = append(ps, accessLogsPatch(doc))
	ps = append(ps, tokenHeaderPatches(doc)...)
	return ps
}

// untypedAlternativesPatches: schemas that put their alternatives under
// "items" on a schema with no type validate nothing at all; anyOf is what
// they mean.
func untypedAlternativesPatches(doc slackSpec) []specproxy.Patch {
	var ps []specproxy.Patch
	for _, name := range []string{"objs_user", "objs_response_metadata"} {
		ps = append(ps, specproxy.Patch{
			Pointer: "/definitions/" + name,
			Value:   map[string]any{"anyOf": doc.Definitions[name]["items"]},
			Reason:  name + ": alternatives under items of an untyped schema validate nothing; anyOf is meant (stricter)",
		})
	}
	return ps
}

// withRateLimited adds "ratelimited" to an error schema's codes: Slack
// documents it for every method (HTTP 429 with Retry-After, body
// {"ok": false, "error": "ratelimited"}); the file's enums lack it.
func withRateLimited(schema map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range schema {
		out[k] = v
	}
	props := map[string]any{}
	for k, v := range schema["properties"].(map[string]any) {
		props[k] = v
	}
	if e, ok := props["error"].(map[string]any); ok {
		if codes, ok := e["enum"].([]any); ok {
			ne := map[string]any{}
			for k, v := range e {
				ne[k] = v
			}
			ne["enum"] = append(append([]any{}, codes...), "ratelimited")
			props["error"] = ne
		}
	}
	out["properties"] = props
	return out
}

// withErrors lets a 200 answer be Slack's error shape too: Slack answers
// errors with HTTP 200 and "ok": false, but the description puts that
// shape under "default", which a validator never picks for a 200.
func withErrors(op map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range op {
		out[k] = v
	}
	resp := op["responses"].(map[string]any)
	ok := map[string]any{}
	for k, v := range resp["200"].(map[string]any) {
		ok[k] = v
	}
	def := map[string]any{}
	for k, v := range resp["default"].(map[string]any) {
		def[k] = v
	}
	def["schema"] = withRateLimited(def["schema"].(map[string]any))
	ok["schema"] = map[string]any{"anyOf": []any{ok["schema"], def["schema"]}}
	out["responses"] = map[string]any{"200": ok, "default": def}
	return out
}

// noToken drops the token parameter: the reading methods declare it in
// the query, the writing ones as a required *header* named "token", which
// Slack does not have. The token is the Authorization bearer, which the
// description's oauth2 security still requires.
func noToken(op map[string]any, in string, extra ...map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range op {
		out[k] = v
	}
	var params []any
	for _, p := range op["parameters"].([]any) {
		pm := p.(map[string]any)
		if pm["name"] == "token" {
			continue
		}
		q := map[string]any{}
		for k, v := range pm {
			q[k] = v
		}
		if in != "" {
			q["in"] = in
		}
		params = append(params, q)
	}
	for _, e := range extra {
		params = append(params, e)
	}
	out["parameters"] = params
	return out
}

// postTwin: Slack's Web API accepts every method as GET or as a form POST,
// and slack-go POSTs them all; the description lists only GET for the
// reading methods. Each gets a POST twin whose arguments are form fields
// (the token excepted: it goes in the Authorization header, which the
// description's oauth2 security still requires).
func postTwin(doc slackSpec, path string, extra ...map[string]any) map[string]any {
	get := doc.Paths[path]["get"]
	post := withErrors(noToken(get, "formData", extra...))
	post["consumes"] = []string{"application/x-www-form-urlencoded"}
	return map[string]any{"get": get, "post": post}
}

// teamIDParam is the team_id argument Slack documents for the listing
// methods and the file lacks.
func teamIDParam() map[string]any {
	return map[string]any{"name": "team_id", "in": "formData", "type": "string",
		"description": "encoded team id to list users in, required if org token is used"}
}

// readingMethodPatches give the user and user-group reading methods their
// POST twins.
func readingMethodPatches(doc slackSpec) []specproxy.Patch {
	teamID := teamIDParam()
	return []specproxy.Patch{
		{Pointer: "/paths/~1users.list", Value: postTwin(doc, "/users.list", teamID),
			Reason: "users.list: POST twin (slack-go POSTs); team_id is a documented argument the file lacks; errors come as 200"},
		{Pointer: "/paths/~1users.info", Value: postTwin(doc, "/users.info"),
			Reason: "users.info: POST twin (slack-go POSTs); errors come as 200"},
		{Pointer: "/paths/~1usergroups.list", Value: postTwin(doc, "/usergroups.list", teamID),
			Reason: "usergroups.list: POST twin (slack-go POSTs); team_id is a documented argument the file lacks; errors come as 200"},
	}
}

// accessLogsPatch: Slack moved team.accessLogs to cursor paging (cursor,
// limit, response_metadata.next_cursor) after the file was published, and
// slack-go v0.35.0 uses only that.
func accessLogsPatch(doc slackSpec) specproxy.Patch {
	logs := postTwin(doc, "/team.accessLogs", teamIDParam(),
		map[string]any{"name": "cursor", "in": "formData", "type": "string"},
		map[string]any{"name": "limit", "in": "formData", "type": "integer"})
	logsOK := doc.Paths["/team.accessLogs"]["get"]["responses"].(map[string]any)["200"].(map[string]any)["schema"].(map[string]any)
	schema := map[string]any{}
	for k, v := range logsOK {
		schema[k] = v
	}
	props := map[string]any{"response_metadata": map[string]any{"$ref": "#/definitions/objs_response_metadata"}}
	for k, v := range logsOK["properties"].(map[string]any) {
		props[k] = v
	}
	schema["properties"] = props
	logs["post"].(map[string]any)["responses"].(map[string]any)["200"].(map[string]any)["schema"].(map[string]any)["anyOf"].([]any)[0] = schema
	return specproxy.Patch{Pointer: "/paths/~1team.accessLogs", Value: logs,
		Reason: "team.accessLogs: POST twin with the cursor paging Slack documents now (cursor, limit, response_metadata); errors come as 200"}
}

// tokenHeaderPatches drop the writing methods' header named token, which
// Slack does not have.
func tokenHeaderPatches(doc slackSpec) []specproxy.Patch {
	var ps []specproxy.Patch
	for _, path := range []string{"/usergroups.users.update", "/admin.users.session.reset"} {
		ps = append(ps, specproxy.Patch{
			Pointer: "/paths/~1" + path[1:], Value: map[string]any{"post": withErrors(noToken(doc.Paths[path]["post"], ""))},
			Reason: path[1:] + ": no header named token exists (the token is the Authorization bearer); errors come as 200",
		})
	}
	return ps
}
