package targets_test

import (
	"encoding/base64"
	"encoding/json"
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
	// Base64 text that holds no secret, "abc" included, is left alone.
	other := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("user:abc")) + " id=dGhlIHF1aWNrIGJyb3du=="
	if got := r.Redact(other); got != other {
		t.Fatalf("Redact(%q) = %q, want it unchanged", other, got)
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

// Every form of a secret (from four bytes long) leaves nothing of itself:
// its literal, URL- and JSON-escaped forms are replaced, and any base64 run
// encoding text that holds it (every alignment, both alphabets, padded or
// not, after other base64 characters or not) is replaced whole, at the
// start or the end of the text as well as inside it.
func TestRedactorLeavesNoForm(t *testing.T) {
	secrets := []string{"pw4!", "p a/ss+w", "k3y/+_-x?~", "Zz9+/Zz9+/Zz9+/"}
	for _, secret := range secrets {
		r := targets.NewRedactor(targets.Secret(secret))
		j, _ := json.Marshal(secret)
		literal := []string{secret, url.QueryEscape(secret), url.PathEscape(secret), string(j[1 : len(j)-1]),
			strings.ReplaceAll(string(j[1:len(j)-1]), "/", `\/`)}
		for _, form := range literal {
			for _, in := range []string{form, "x=" + form + "&y"} {
				if out := r.Redact(in); strings.Contains(out, form) || !strings.Contains(out, targets.Redacted) {
					t.Errorf("secret %q: Redact(%q) = %q", secret, in, out)
				}
			}
		}
		for prefix := range 3 {
			for _, tail := range []string{"", ":t", "tail", "\xfb\xff\xbf\xfb\xff"} { // the last: bytes whose base64 is mostly + and / (- and _)
				text := []byte(strings.Repeat("u", prefix) + secret + tail)
				for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
					run := enc.EncodeToString(text)
					for _, c := range []struct{ in, want string }{
						{run, targets.Redacted},
						{"Basic " + run, "Basic " + targets.Redacted},
						{run + " end", targets.Redacted + " end"},
						{"[" + run + "]", "[" + targets.Redacted + "]"},
						{"a" + run, targets.Redacted},
					} {
						if out := r.Redact(c.in); out != c.want {
							t.Errorf("secret %q: Redact(%q) = %q, want %q", secret, c.in, out, c.want)
						}
					}
					// "foo" before it, and the last character, which
					// encodes only the tail's last byte, cut.
					if tail != "" {
						in := "Zm9v" + strings.TrimRight(run, "=")
						in = in[:len(in)-1] + "!"
						if out := r.Redact(in); out != targets.Redacted+"!" {
							t.Errorf("secret %q: Redact(%q) = %q, want %q", secret, in, out, targets.Redacted+"!")
						}
					}
				}
			}
		}
	}
}
