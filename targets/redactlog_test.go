package targets_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/accessrecon/accessrecon/targets"
)

// A log line leaves no secret the Redactor knows, wherever it is: the
// message, a string, an error, a value printed as text (a URL), a group,
// attributes bound with With; values without one keep their form.
func TestRedactorHandler(t *testing.T) {
	const secret = "pw4!"
	basic := base64.StdEncoding.EncodeToString([]byte("svc:" + secret))
	r := targets.NewRedactor(targets.Secret(secret))
	var buf bytes.Buffer
	log := slog.New(r.Handler(slog.NewJSONHandler(&buf, nil)))
	log = log.With("dsn", "postgres://svc:"+secret+"@db/x").WithGroup("target")
	log.Error("login as svc:"+secret+" refused",
		"err", fmt.Errorf("upstream echoed Authorization: Basic %s", basic),
		"url", &url.URL{Scheme: "https", Host: "api", RawQuery: "token=" + url.QueryEscape(secret)},
		slog.Group("request", "header", "Basic "+basic, "attempt", 2),
		"count", 3,
		"page", struct{ Next string }{"abc"})
	out := buf.String()
	for _, form := range []string{secret, basic, url.QueryEscape(secret)} {
		if strings.Contains(out, form) {
			t.Errorf("log line holds %q: %s", form, out)
		}
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	g, _ := rec["target"].(map[string]any)
	req, _ := g["request"].(map[string]any)
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"msg", rec["msg"], "login as svc:REDACTED refused"},
		{"dsn", rec["dsn"], "postgres://svc:REDACTED@db/x"},
		{"err", g["err"], "upstream echoed Authorization: Basic REDACTED"},
		{"url", g["url"], "https://api?token=REDACTED"},
		{"request.header", req["header"], "Basic REDACTED"},
		{"request.attempt", req["attempt"], float64(2)},
		{"count", g["count"], float64(3)},
		{"page", fmt.Sprint(g["page"]), "map[Next:abc]"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	var nilR *targets.Redactor
	h := slog.NewTextHandler(&buf, nil)
	if nilR.Handler(h) != slog.Handler(h) {
		t.Error("a nil Redactor wraps the handler")
	}
}
