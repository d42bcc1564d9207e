package github

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets/github/githubfake"
)

const (
	testOrg   = "acme"
	testToken = "ghp_SECRETTOKEN0123456789abcdefABCDEF"
)

// seed fills the fake with a small SAML SSO organisation.
func seed(f *githubfake.GitHub, now time.Time) {
	f.AddMember(101, "amira", "member", "amira@example.com")
	f.AddMember(102, "bilal", "member", "bilal@example.com")
	f.AddMember(103, "carmen", "admin", "carmen@example.com")
	f.AddMember(104, "nosaml", "member", "") // a member without a SAML identity
	f.AddUser(105, "outsider", "Outside Collaborator")
	f.Outside["outsider"] = true
	f.AddUser(106, "invited", "Invited Person")
	f.Members["invited"], f.Pending["invited"] = "member", true
	f.AddUser(107, "stranger", "Not In The Org")
	f.AddTeam(201, "engineering", "Engineering", "amira", "bilal", "carmen")
	f.AddTeam(202, "on-call", "On-call", "amira")
	yesterday := now.Add(-24 * time.Hour)
	f.AddCred("amira", "personal access token", now.Add(-400*24*time.Hour), nil)       // never used
	f.AddCred("amira", "SSH key", now.Add(-30*24*time.Hour), &yesterday)               // used yesterday
	f.AddCred("bilal", "personal access token", now.Add(-10*24*time.Hour), &yesterday) // used yesterday
}

// TestFakeHeldToGitHubDescription sends every request the connector makes,
// by hand, through Prism to the fake and fails on any answer that breaks
// GitHub's description (Prism turns it into a 500 VIOLATIONS) or any
// request Prism rejects; and checks that Prism does reject what GitHub would.
func TestFakeHeldToGitHubDescription(t *testing.T) {
	f := githubfake.New(testOrg, testToken)
	seed(f, time.Now())
	base, client := useProxy(t, f)
	do := func(method, path string) (int, http.Header, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "application/vnd.github+json")
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	for _, c := range []struct {
		method, path string
		code         int
		want         string
	}{
		{"GET", "/orgs/acme/members?role=all&per_page=2&page=1", 200, `"login":"amira"`},
		{"GET", "/orgs/acme/members?role=admin&per_page=100", 200, `"login":"carmen"`},
		{"GET", "/orgs/acme/outside_collaborators?per_page=100", 200, `"login":"outsider"`},
		{"GET", "/orgs/acme/teams?per_page=100", 200, `"slug":"on-call"`},
		{"GET", "/orgs/acme/teams/engineering", 200, `"members_count":3`},
		{"GET", "/orgs/acme/teams/engineering/members?role=all&per_page=100", 200, `"login":"bilal"`},
		{"GET", "/orgs/acme/teams/on-call/memberships/amira", 200, `"state":"active"`},
		{"GET", "/orgs/acme/teams/on-call/memberships/bilal", 404, `Not Found`},
		{"GET", "/orgs/acme/memberships/carmen", 200, `"role":"admin"`},
		{"GET", "/orgs/acme/memberships/invited", 200, `"state":"pending"`},
		{"GET", "/orgs/acme/memberships/stranger", 404, `Not Found`},
		{"GET", "/user/101", 200, `"login":"amira"`},
		{"GET", "/user/999", 404, `Not Found`},
		{"GET", "/orgs/acme/credential-authorizations?per_page=100", 200, `"credential_accessed_at":null`},
		{"GET", "/orgs/acme/credential-authorizations?login=bilal&per_page=100", 200, `"login":"bilal"`},
		{"DELETE", "/orgs/acme/credential-authorizations/1003", 204, ``},
		{"DELETE", "/orgs/acme/credential-authorizations/1003", 404, `Not Found`},
		{"DELETE", "/orgs/acme/teams/on-call/memberships/amira", 204, ``},
		{"DELETE", "/orgs/acme/memberships/bilal", 204, ``},
		{"DELETE", "/orgs/acme/outside_collaborators/outsider", 204, ``},
	} {
		code, h, body := do(c.method, c.path)
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s %s: %d %s\nwant %d containing %s", c.method, c.path, code, body, c.code, c.want)
		}
		if strings.Contains(c.path, "per_page=2") && !strings.Contains(h.Get("Link"), `rel="next"`) {
			t.Errorf("%s: no next link: %q", c.path, h.Get("Link"))
		}
	}
	// The proxy rejects what breaks the description...
	if code, _, body := do("GET", "/orgs/acme/members?role=everyone"); code != http.StatusUnprocessableEntity {
		t.Errorf("role=everyone: %d %s, want 422", code, body)
	}
	if code, _, body := do("GET", "/orgs/acme/frobnicate"); code != http.StatusNotFound || !strings.Contains(body, "NO_PATH_MATCHED") {
		t.Errorf("unknown route: %d %s, want Prism's 404", code, body)
	}
	// ...and a fake answer that breaks it becomes a violation.
	f.Mu.Lock()
	f.Teams[0].Slug = "" // still a string: allowed
	f.Members["amira"] = "owner"
	f.Mu.Unlock()
	if code, _, body := do("GET", "/orgs/acme/memberships/amira"); code != http.StatusInternalServerError || !strings.Contains(body, "VIOLATIONS") {
		t.Errorf("role owner (not in the enum): %d %s, want 500 VIOLATIONS", code, body)
	}
}
