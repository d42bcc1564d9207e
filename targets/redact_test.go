package targets_test

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/accessrecon/accessrecon/targets"
)

func TestRedactorForms(t *testing.T) {
	const secret = "s3cr3t-T0ken/with+chars"
	r := targets.NewRedactor("scim-user", secret, "abc")
	basic := base64.StdEncoding.EncodeToString([]byte("scim-user:" + secret))
	cases := map[string]string{
		"plain":         "bad token " + secret + " given",
		"query-escaped": "GET /x?token=" + url.QueryEscape(secret),
		"json-escaped":  `{"auth":"` + strings.ReplaceAll(secret, "/", `\/`) + `"}`,
		"basic":         "Authorization: Basic " + basic,
		"bearer-b64url": "x " + base64.RawURLEncoding.EncodeToString([]byte("{\"k\":\""+secret+"\"}")),
	}
	for prefix := range 3 {
		cases["b64-offset-"+string(rune('0'+prefix))] = base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", prefix) + secret + "tail"))
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			out := r.Redact(in)
			if strings.Contains(out, secret) || !strings.Contains(out, targets.Redacted) {
				t.Fatalf("Redact(%q) = %q", in, out)
			}
			for _, form := range []string{basic, url.QueryEscape(secret)} {
				if strings.Contains(out, form) {
					t.Fatalf("Redact(%q) = %q still holds %q", in, out, form)
				}
			}
		})
	}
	if got := r.Redact("abc is too short to be a secret"); got != "abc is too short to be a secret" {
		t.Fatalf("short value redacted: %q", got)
	}
	var nilR *targets.Redactor
	if got := nilR.Redact(secret); got != secret {
		t.Fatalf("nil Redactor changed text: %q", got)
	}
}

func TestExcerpt(t *testing.T) {
	r := targets.NewRedactor("hunter22")
	got := r.Excerpt([]byte("line one\n\x1b[2Jpassword hunter22\r\n\tend \xff"))
	want := `line one \x1b[2Jpassword REDACTED end \ufffd`
	if got != want {
		t.Fatalf("Excerpt = %q, want %q", got, want)
	}
	long := r.Excerpt([]byte(strings.Repeat("a", 5000)))
	if len(long) > targets.ExcerptLen+len("…") || !strings.HasSuffix(long, "…") {
		t.Fatalf("long excerpt: %d bytes, suffix %q", len(long), long[len(long)-4:])
	}
}
