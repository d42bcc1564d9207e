package entra

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/upstream"
)

// get returns an access token, the generation of the credential that issued
// it, and a Redactor that knows the configured secrets and this token.
func (s *tokenSource) get(ctx context.Context) (string, int, *targets.Redactor, error) {
	s.mu.Lock()
	if s.cred == nil {
		c, err := s.newCred()
		if err != nil {
			s.mu.Unlock()
			return "", 0, nil, fmt.Errorf("credential: %w", err)
		}
		s.cred = c
		s.gen++
	}
	cred, gen := s.cred, s.gen
	s.mu.Unlock()

	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{s.scope}})
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return "", 0, nil, fmt.Errorf("token: %w", cerr)
		}
		return "", 0, nil, s.tokenError(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != tok.Token || s.redact == nil {
		s.token = tok.Token
		s.redact = targets.NewRedactor(append([]targets.Secret{targets.Secret(tok.Token)}, s.secrets...)...)
	}
	return tok.Token, gen, s.redact, nil
}

// drop forgets the credential of generation gen (its token was rejected).
func (s *tokenSource) drop(gen int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen == gen {
		s.cred = nil
	}
}

// tokenError turns an azidentity failure into a redacted error. The text of
// azidentity's error carries Entra's response body, which may echo what was
// sent: only its redacted, shortened text is kept, never the error value.
func (s *tokenSource) tokenError(err error) error {
	red := targets.NewRedactor(s.secrets...)
	msg := red.Redact(err.Error())
	var af *azidentity.AuthenticationFailedError
	if errors.As(err, &af) && af.RawResponse != nil {
		code := af.RawResponse.StatusCode
		msg = fmt.Sprintf("HTTP %d from the token endpoint%s", code, entraError(msg))
		if code == http.StatusTooManyRequests || code >= 500 {
			return targets.Transient(fmt.Errorf("token: %s", msg), 0)
		}
		// invalid_client, unauthorized_client, a wrong tenant: only a
		// person can fix the app registration or the credential.
		return fmt.Errorf("token: %s: %w", msg, targets.ErrPermission)
	}
	// Network failures and the like: worth another try later.
	return targets.Transient(fmt.Errorf("token: %s", targets.Printable(msg, 300)), 0)
}

// entraError finds the OAuth error object azidentity quotes in its message
// and renders it short: ": invalid_client: AADSTS7000215: …".
func entraError(msg string) string {
	i := strings.Index(msg, "{")
	if i < 0 {
		return ""
	}
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.NewDecoder(strings.NewReader(msg[i:])).Decode(&e) != nil || e.Error == "" {
		return ": " + targets.Printable(msg[i:], 300)
	}
	return ": " + targets.Printable(e.Error+": "+e.Description, 300)
}

// send sends one request to Graph with a token, and once more with a new
// token when Graph answers 401 (an expired or revoked token). rawURL is
// absolute. It returns the response of a status below 400; the caller
// closes the body.
func (t *Target) send(ctx context.Context, method, rawURL string, body []byte) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		tok, gen, red, err := t.tokens.get(ctx)
		if err != nil {
			return nil, err
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", method, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		c := t.client // a copy: its Redactor knows this token
		c.Redactor = red
		resp, err := c.Do(req)
		var se *upstream.StatusError
		if err != nil && attempt == 0 && errors.As(err, &se) && se.Code == http.StatusUnauthorized {
			t.log.Info("entra: Graph rejected the access token, getting a new one", "method", method, "path", req.URL.Path)
			t.tokens.drop(gen)
			continue
		}
		if err != nil && ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s: %w", method, req.URL.Path, ctx.Err())
		}
		return resp, err
	}
}

// getJSON GETs rawURL and decodes the JSON body into out.
func (t *Target) getJSON(ctx context.Context, rawURL string, out any) error {
	resp, err := t.send(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("GET %s: %w", pathOf(rawURL), cerr)
		}
		return targets.Transient(fmt.Errorf("GET %s: decode: %w", pathOf(rawURL), err), 0)
	}
	return nil
}

// write sends a PATCH, POST or DELETE and discards the body.
func (t *Target) write(ctx context.Context, method, rawURL string, body any) error {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return fmt.Errorf("%s %s: encode: %w", method, pathOf(rawURL), err)
		}
	}
	resp, err := t.send(ctx, method, rawURL, b)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.Body.Close()
}

// url makes an absolute Graph URL from a path and a query ("?..." or "").
func (t *Target) url(path, query string) string {
	return t.graph.String() + path + query
}

// sameOrigin says whether a link Graph returned (@odata.nextLink) points at
// the configured Graph endpoint: a token is never sent anywhere else.
func (t *Target) sameOrigin(link string) bool {
	prefix := t.graph.String() + "/"
	return strings.HasPrefix(link, prefix)
}

func pathOf(rawURL string) string {
	p, _, _ := strings.Cut(rawURL, "?")
	if i := strings.Index(p, "://"); i >= 0 {
		if j := strings.IndexByte(p[i+3:], '/'); j >= 0 {
			return p[i+3+j:]
		}
	}
	return p
}
