package slack

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets/slack/slackfake"
)

// TestFakeHeldToSlackDescription sends every request the connector makes,
// by hand, through Prism to the fake, and fails on any answer that breaks
// Slack's description (Prism turns it into a 500 VIOLATIONS) or any request
// Prism rejects. It also checks that Prism does reject what Slack would:
// the proxy is not a pass-through.
func TestFakeHeldToSlackDescription(t *testing.T) {
	f := slackfake.New(testToken, testSCIMToken)
	seed(f, time.Now())
	f.ResetAllowed = true
	base, client := proxy.Use(t, f)
	post := func(method string, form url.Values) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, base+"/"+method, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct {
		method string
		form   url.Values
		want   string
	}{
		{"users.list", url.Values{"limit": {"3"}, "include_locale": {"false"}}, `"next_cursor":"dXNlcjo3"`},
		{"users.list", url.Values{"limit": {"3"}, "cursor": {"dXNlcjo3"}, "team_id": {slackfake.TeamID}}, `"name":"eli"`},
		{"users.list", url.Values{"limit": {"3"}, "cursor": {"nonsense"}}, `"error":"invalid_cursor"`},
		{"users.info", url.Values{"user": {"U00000001"}}, `"email":"amira@example.com"`},
		{"users.info", url.Values{"user": {"U99999999"}}, `"error":"user_not_found"`},
		{"usergroups.list", url.Values{"include_users": {"true"}}, `"users":["U00000001","U00000002","U00000003"]`},
		{"team.accessLogs", url.Values{"limit": {"2"}}, `"next_cursor":"bG9nOg2"`},
		{"usergroups.users.update", url.Values{"usergroup": {"S00000001"}, "users": {"U00000001,U00000003"}}, `"users":["U00000001","U00000003"]`},
		{"admin.users.session.reset", url.Values{"user_id": {"U00000001"}}, `"ok":true`},
	} {
		code, body := post(c.method, c.form)
		if code != http.StatusOK || !strings.Contains(body, c.want) {
			t.Errorf("%s %v: %d %s\nwant it to contain %s", c.method, c.form, code, body, c.want)
		}
	}
	// The proxy rejects what breaks the description.
	if code, body := post("users.list", url.Values{"limit": {"many"}}); code != http.StatusUnprocessableEntity {
		t.Errorf("users.list limit=many: %d %s, want 422", code, body)
	}
	if code, body := post("usergroups.users.update", url.Values{"usergroup": {"S00000001"}}); code != http.StatusUnprocessableEntity {
		t.Errorf("usergroups.users.update without users: %d %s, want 422", code, body)
	}
	if code, body := post("users.frobnicate", nil); code != http.StatusNotFound {
		t.Errorf("unknown method: %d %s, want 404", code, body)
	}
	// A fake answer that breaks the description becomes a violation.
	f.Mu.Lock()
	f.ByID["U00000001"].ID = "lowercase-id"
	f.Mu.Unlock()
	if code, body := post("users.info", url.Values{"user": {"U00000001"}}); code != http.StatusInternalServerError || !strings.Contains(body, "VIOLATIONS") {
		t.Errorf("a user id breaking the pattern: %d %s, want 500 VIOLATIONS", code, body)
	}
}

const (
	testToken     = "xoxp-1111-2222-SECRETWEBTOKEN"
	testSCIMToken = "xoxp-3333-SCIMSECRETTOKEN"
)

// seed fills the fake with a small workspace: people, an admin, an owner, a
// deactivated user, a bot, Slackbot, two user groups and access logs.
func seed(f *slackfake.Slack, now time.Time) {
	f.AddUser(slackfake.User{ID: "U00000001", Name: "amira", Email: "amira@example.com", RealName: "Amira Haddad"})
	f.AddUser(slackfake.User{ID: "U00000002", Name: "bilal", Email: "bilal@example.com", RealName: "Bilal Saleh"})
	f.AddUser(slackfake.User{ID: "U00000003", Name: "carmen", Email: "carmen@example.com", RealName: "Carmen Ruiz", Admin: true})
	f.AddUser(slackfake.User{ID: "U00000004", Name: "dana", Email: "dana@example.com", RealName: "Dana Cohen", Owner: true, PrimaryOwner: true})
	f.AddUser(slackfake.User{ID: "U00000005", Name: "eli", Email: "eli@example.com", RealName: "Eli Gold", Deleted: true})
	f.AddUser(slackfake.User{ID: "U00000006", Name: "deploybot", RealName: "Deploy Bot", Bot: true})
	f.AddUser(slackfake.User{ID: "USLACKBOT", Name: "slackbot", RealName: "Slackbot"})
	f.AddUser(slackfake.User{ID: "W00000007", Name: "farah", Email: "farah@example.com", RealName: "Farah Nasser", Owner: true})
	f.AddGroup("S00000001", "Engineering", "eng", "U00000001", "U00000002", "U00000003")
	f.AddGroup("S00000002", "On-call", "oncall", "U00000001")
	f.AddLogin("U00000001", now.Add(-24*time.Hour))
	f.AddLogin("U00000001", now.Add(-72*time.Hour))
	f.AddLogin("U00000003", now.Add(-200*24*time.Hour))
	f.AddLogin("U00000002", now.Add(-2*time.Hour))
}
