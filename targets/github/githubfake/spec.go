package githubfake

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// SpecPath is GitHub's own REST description for GitHub Enterprise Cloud
// (npm @octokit/openapi 23.0.2, pinned in ../testdata/openapi; install it with
// `npm ci` there). The api.github.com.json in the same package leaves out the
// SAML SSO credential-authorization endpoints, which only organisations on
// Enterprise Cloud have; ghec.json is otherwise its superset.
func SpecPath() string {
	const rel = "testdata/openapi/node_modules/@octokit/openapi/generated/ghec.json"
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return rel
	}
	return filepath.Join(filepath.Dir(file), "..", filepath.FromSlash(rel))
}

// UsedOperations are the routes the connector calls. The proxy loads the
// description cut down to these (and every component they reference): each
// kept operation is validated exactly as in the whole file, any other route
// is unknown (404) as before, and Prism starts in seconds instead of
// loading 14 MB.
var UsedOperations = map[string][]string{
	"/orgs/{org}/members":                                   {"get"},
	"/orgs/{org}/outside_collaborators":                     {"get"},
	"/orgs/{org}/outside_collaborators/{username}":          {"delete"},
	"/orgs/{org}/memberships/{username}":                    {"get", "delete"},
	"/orgs/{org}/teams":                                     {"get"},
	"/orgs/{org}/teams/{team_slug}":                         {"get"},
	"/orgs/{org}/teams/{team_slug}/members":                 {"get"},
	"/orgs/{org}/teams/{team_slug}/memberships/{username}":  {"get", "delete"},
	"/orgs/{org}/credential-authorizations":                 {"get"},
	"/orgs/{org}/credential-authorizations/{credential_id}": {"delete"},
	"/user/{account_id}":                                    {"get"},
}

// PruneSpec writes the OpenAPI description at in, cut down to the operations
// in keep and the components they reference (transitively), to out.
func PruneSpec(in, out string, keep map[string][]string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	paths, _ := doc["paths"].(map[string]any)
	comps, _ := doc["components"].(map[string]any)
	newPaths := map[string]any{}
	for p, methods := range keep {
		item, ok := paths[p].(map[string]any)
		if !ok {
			return fmt.Errorf("%s: no path %s", in, p)
		}
		n := map[string]any{}
		for _, m := range methods {
			op, ok := item[m]
			if !ok {
				return fmt.Errorf("%s: no %s %s", in, m, p)
			}
			n[m] = op
		}
		if params, ok := item["parameters"]; ok {
			n["parameters"] = params
		}
		newPaths[p] = n
	}
	newComps := map[string]any{}
	var walk func(v any) error
	walk = func(v any) error {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
				if len(parts) != 2 || !strings.HasPrefix(ref, "#/components/") {
					return fmt.Errorf("unexpected $ref %s", ref)
				}
				kind, name := parts[0], parts[1]
				km, _ := newComps[kind].(map[string]any)
				if km == nil {
					km = map[string]any{}
					newComps[kind] = km
				}
				if _, done := km[name]; !done {
					src, _ := comps[kind].(map[string]any)
					target, ok := src[name]
					if !ok {
						return fmt.Errorf("dangling $ref %s", ref)
					}
					km[name] = target
					if err := walk(target); err != nil {
						return err
					}
				}
			}
			for _, e := range x {
				if err := walk(e); err != nil {
					return err
				}
			}
		case []any:
			for _, e := range x {
				if err := walk(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(newPaths); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if sec, ok := comps["securitySchemes"]; ok {
		newComps["securitySchemes"] = sec
	}
	doc["paths"], doc["components"] = newPaths, newComps
	delete(doc, "webhooks")
	delete(doc, "x-webhooks")
	b, err = json.Marshal(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o644)
}
