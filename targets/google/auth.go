package google

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/oauth2"
	googleoauth "golang.org/x/oauth2/google"
	"golang.org/x/oauth2/jwt"

	"github.com/accessrecon/accessrecon/targets"
)

// serviceKey is a service account's JSON key.
type serviceKey struct {
	raw          targets.Secret
	clientEmail  string
	privateKey   string
	privateKeyID string
}

func parseKey(s targets.Secret) (serviceKey, error) {
	var k struct {
		Type         string `json:"type"`
		ClientEmail  string `json:"client_email"`
		PrivateKey   string `json:"private_key"`
		PrivateKeyID string `json:"private_key_id"`
	}
	// The error never quotes the key: json errors name offsets and types.
	if err := json.Unmarshal([]byte(s.Reveal()), &k); err != nil {
		return serviceKey{}, fmt.Errorf("not a service account JSON key: %w", err)
	}
	if k.Type != "service_account" {
		return serviceKey{}, fmt.Errorf("type is %q, want service_account (a key of the service account, not an OAuth client)", k.Type)
	}
	if k.ClientEmail == "" || k.PrivateKey == "" {
		return serviceKey{}, errors.New("client_email or private_key missing")
	}
	if b, _ := pem.Decode([]byte(k.PrivateKey)); b == nil {
		return serviceKey{}, errors.New("private_key is not PEM")
	}
	return serviceKey{raw: s, clientEmail: k.ClientEmail, privateKey: k.PrivateKey, privateKeyID: k.PrivateKeyID}, nil
}

// secrets are the parts of the key that must never appear in an error:
// the whole key, the PEM private key, its base64 body on one line and each
// of its lines, and the key ID.
func (k serviceKey) secrets() []targets.Secret {
	out := []targets.Secret{k.raw, targets.Secret(k.privateKey)}
	if k.privateKeyID != "" {
		out = append(out, targets.Secret(k.privateKeyID))
	}
	var body strings.Builder
	for line := range strings.SplitSeq(k.privateKey, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "-----") {
			continue
		}
		body.WriteString(line)
		if len(line) >= 32 {
			out = append(out, targets.Secret(line))
		}
	}
	return append(out, targets.Secret(body.String()))
}

// tokenCache holds the access token of the impersonated admin and fetches
// a new one (JWT bearer grant, signed with the service account's key) when
// it expires or the API refuses it.
type tokenCache struct {
	cfg      *jwt.Config
	ctx      context.Context // carries the HTTP client for the token endpoint
	redactor *targets.Redactor

	mu  sync.Mutex
	tok *oauth2.Token
}

func newTokenCache(k serviceKey, subject string, scopes []string, hc *http.Client, r *targets.Redactor) (*tokenCache, error) {
	cfg, err := googleoauth.JWTConfigFromJSON([]byte(k.raw.Reveal()), scopes...)
	if err != nil {
		return nil, errors.New("the key is not a service account JSON key")
	}
	cfg.Subject = subject
	return &tokenCache{cfg: cfg, ctx: context.WithValue(context.Background(), oauth2.HTTPClient, hc), redactor: r}, nil
}

// token returns a valid access token, fetching one when needed.
func (c *tokenCache) token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok.Valid() {
		return c.tok.AccessToken, nil
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("google: access token: %w", err)
	}
	tok, err := c.cfg.TokenSource(c.ctx).Token()
	if err != nil {
		return "", c.tokenError(ctx, err)
	}
	c.tok = tok
	return tok.AccessToken, nil
}

// invalidate forgets tok (refused by the API) so that the next call
// fetches a new one.
func (c *tokenCache) invalidate(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok != nil && c.tok.AccessToken == tok {
		c.tok = nil
	}
}

// tokenError classifies a failed token request: refused (400/401/403:
// wrong key, delegation not granted for these scopes, unknown subject) is
// a permission error; 429/5xx and network failures are transient. The
// token endpoint's answer is redacted and cut short.
func (c *tokenCache) tokenError(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("google: access token: %w", cerr)
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		code := re.Response.StatusCode
		e := fmt.Errorf("google: access token for %s (scopes %s): HTTP %d: %s", c.cfg.Subject, strings.Join(c.cfg.Scopes, " "), code, scrubTokens(c.redactor.Excerpt([]byte(scrubTokens(string(re.Body), ""))), ""))
		switch {
		case code == http.StatusTooManyRequests || code >= 500:
			return targets.Transient(e, 0)
		case code >= 400:
			return fmt.Errorf("%w (%w: check domain-wide delegation of the client ID for these scopes, and the subject)", e, targets.ErrPermission)
		}
		return e
	}
	return targets.Transient(fmt.Errorf("google: access token: %s", scrubTokens(c.redactor.Redact(err.Error()), "")), 0)
}
