package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/targettest/specproxy"
)

// slackSpec is Slack's own Web API description, the copy targets/slack
// keeps (its origin: targets/slack/testdata/ORIGIN.md).
const slackSpec = "../../targets/slack/testdata/slack_web_openapi_v2.json"

// slackPatches fixes chat.postMessage in Slack's 2021 description. Copied
// from targets/slack/proxy_test.go (specPatches: its noToken and withErrors
// helpers, there applied to other methods), narrowed to this one method.
func slackPatches(t *testing.T) []specproxy.Patch {
	b, err := os.ReadFile(slackSpec)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	op := doc.Paths["/chat.postMessage"]["post"]
	out := map[string]any{}
	for k, v := range op {
		out[k] = v
	}
	// noToken: the description declares a required *header* named "token",
	// which Slack does not have; the token is the Authorization bearer,
	// which the description's oauth2 security still requires.
	var params []any
	for _, p := range op["parameters"].([]any) {
		if p.(map[string]any)["name"] != "token" {
			params = append(params, p)
		}
	}
	out["parameters"] = params
	// withErrors: Slack answers errors with HTTP 200 and "ok": false, but
	// the description puts that shape under "default", which a validator
	// never picks for a 200.
	resp := op["responses"].(map[string]any)
	ok := map[string]any{}
	for k, v := range resp["200"].(map[string]any) {
		ok[k] = v
	}
	def := resp["default"].(map[string]any)
	ok["schema"] = map[string]any{"anyOf": []any{ok["schema"], def["schema"]}}
	out["responses"] = map[string]any{"200": ok, "default": def}
	return []specproxy.Patch{{Pointer: "/paths/~1chat.postMessage", Value: map[string]any{"post": out},
		Reason: "chat.postMessage: no header named token exists (the token is the Authorization bearer); errors come as 200"}}
}

// fakeSlack is a stateful chat.postMessage: a workspace with channels the
// bot is in, and the messages posted to each.
type fakeSlack struct {
	mu       sync.Mutex
	token    string
	channels map[string][]postedMessage
	next     int
}

type postedMessage struct {
	Text   string
	Mrkdwn string
	Unfurl string
}

func (f *fakeSlack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	answer := func(v any) { _ = json.NewEncoder(w).Encode(v) }
	fail := func(code string) { answer(map[string]any{"ok": false, "error": code}) }
	if r.Method != http.MethodPost || r.URL.Path != "/chat.postMessage" {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		fail("invalid_auth")
		return
	}
	if err := r.ParseForm(); err != nil {
		fail("invalid_form_data")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := r.PostForm.Get("channel")
	msgs, ok := f.channels[ch]
	if !ok {
		fail("channel_not_found")
		return
	}
	text := r.PostForm.Get("text")
	if text == "" {
		fail("no_text")
		return
	}
	if len(text) > 40000 {
		fail("msg_too_long")
		return
	}
	f.channels[ch] = append(msgs, postedMessage{Text: text, Mrkdwn: r.PostForm.Get("mrkdwn"), Unfurl: r.PostForm.Get("unfurl_links")})
	f.next++
	ts := fmt.Sprintf("1772000000.%06d", f.next)
	answer(map[string]any{"ok": true, "channel": ch, "ts": ts,
		"message": map[string]any{"type": "message", "subtype": "bot_message", "text": text, "ts": ts}})
}

func (f *fakeSlack) posted(ch string) []postedMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]postedMessage(nil), f.channels[ch]...)
}

func TestSlackPostMessageThroughPrism(t *testing.T) {
	fake := &fakeSlack{token: "xoxb-test-token-1234", channels: map[string][]postedMessage{"C0SECURITY1": nil}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	prism := specproxy.Start(t, slackSpec, srv.URL, specproxy.Options{Patches: slackPatches(t)})

	sink := func(name, channel, token string) Sink {
		return Sink{Name: name, Slack: &SlackConfig{TokenEnv: "SLACK_BOT_TOKEN", Token: targets.Secret(token), Channel: channel, APIURL: prism}}
	}
	hostileRes := func(id int64) *reconcile.Result {
		return result(id, reconcile.StatusCompleted,
			revoked(finding("ldap", "mallory", "E666", hostile, reconcile.AutoRevoke, ""), 10*time.Minute),
			revoked(finding("ldap", "jdoe", "E1001", "Jane Doe", reconcile.AutoRevoke, ""), 10*time.Minute))
	}

	t.Run("delivered", func(t *testing.T) {
		n := newNotifier(t, Config{RunURL: "https://ar.example.com/runs/", Sinks: []Sink{sink("sec", "C0SECURITY1", fake.token)}}, asOf)
		oc, err := n.Send(context.Background(), hostileRes(60), NewMemOutbox())
		if err != nil || oc.Stats.Delivered != 1 {
			t.Fatalf("delivered %d: %v", oc.Stats.Delivered, err)
		}
		got := fake.posted("C0SECURITY1")
		if len(got) != 1 {
			t.Fatalf("%d messages in the channel", len(got))
		}
		m := got[0]
		if m.Mrkdwn != "false" || m.Unfurl != "false" {
			t.Errorf("mrkdwn=%q unfurl_links=%q, want false", m.Mrkdwn, m.Unfurl)
		}
		want := "accessrecon run 60 revoked access of 2 people (2 accounts)\n" +
			"• &lt;!channel&gt; *Mal* _lory_ `rm` ~x~ [click](http://evil.example) &lt;b&gt;&amp;amp;&lt;/b&gt;\\x1b[31m Injected: line\\u202e (E666): ldap mallory\n" +
			"• Jane Doe (E1001): ldap jdoe\n" +
			"Run: https://ar.example.com/runs/60"
		if m.Text != want {
			t.Errorf("posted\n%s\nwant\n%s", m.Text, want)
		}
	})

	t.Run("wrong channel is kept, not lost", func(t *testing.T) {
		n := newNotifier(t, Config{Sinks: []Sink{sink("sec", "C0NOTJOINED", fake.token)}}, asOf)
		out := NewMemOutbox()
		oc, err := n.Send(context.Background(), hostileRes(61), out)
		if !errors.Is(err, ErrDeferred) || !strings.Contains(err.Error(), "channel_not_found") || oc.Stats.Pending != 1 {
			t.Fatalf("stats %+v, err %v", oc.Stats, err)
		}
		// Fixed configuration: the next run delivers what was kept.
		n = newNotifier(t, Config{Sinks: []Sink{sink("sec", "C0SECURITY1", fake.token)}}, asOf)
		before := len(fake.posted("C0SECURITY1"))
		oc, err = n.SendEvents(context.Background(), nil, out)
		if err != nil || oc.Stats.Delivered != 1 || len(fake.posted("C0SECURITY1")) != before+1 {
			t.Fatalf("retry: stats %+v, err %v", oc.Stats, err)
		}
	})

	t.Run("bad token", func(t *testing.T) {
		n := newNotifier(t, Config{Sinks: []Sink{sink("sec", "C0SECURITY1", "xoxb-wrong-token-9999")}}, asOf)
		_, err := n.Send(context.Background(), hostileRes(62), NewMemOutbox())
		if !errors.Is(err, ErrDeferred) || !strings.Contains(err.Error(), "invalid_auth") || strings.Contains(err.Error(), "xoxb-wrong") {
			t.Fatalf("err %v", err)
		}
	})
}
