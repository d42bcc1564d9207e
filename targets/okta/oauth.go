package okta

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/upstream"
)

// oauthSource gets access tokens for an Okta service app with the
// client_credentials grant and private_key_jwt client authentication
// (RFC 7523): a short-lived RS256 JWT signed with the app's key. Tokens are
// cached until a minute before they expire, and dropped when Okta refuses one.
type oauthSource struct {
	clientID, keyID, tokenURL, scopes string
	key                               *rsa.PrivateKey
	now                               func() time.Time
	http                              *http.Client
	staticSecrets                     []targets.Secret

	mu      sync.Mutex
	token   string
	expires time.Time
	issued  []targets.Secret // every access token issued so far: redacted from upstream text
	gen     int
}

// expirySkew: a token is renewed this long before Okta says it expires.
const expirySkew = time.Minute

func (o *oauthSource) authorize(ctx context.Context, r *http.Request) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.token == "" || !o.now().Before(o.expires) {
		if err := o.fetch(ctx); err != nil {
			return "", err
		}
	}
	r.Header.Set("Authorization", "Bearer "+o.token)
	return o.token, nil
}

func (o *oauthSource) invalidate(used string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if used != "" && used == o.token {
		o.token = ""
	}
	return used != ""
}

func (o *oauthSource) secrets() (int, []targets.Secret) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.gen, append(append([]targets.Secret{}, o.staticSecrets...), o.issued...)
}

// fetch gets a new access token; o.mu is held.
func (o *oauthSource) fetch(ctx context.Context) error {
	assertion, err := o.assertion()
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"scope":                 {o.scopes},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	secrets := append(append([]targets.Secret{targets.Secret(assertion)}, o.staticSecrets...), o.issued...)
	client := &upstream.Client{HTTP: o.http, Redactor: targets.NewRedactor(secrets...), Now: o.now}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("token for client %s: %w", o.clientID, err)
	}
	defer func() { _ = resp.Body.Close() }()
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		return fmt.Errorf("token for client %s: decode response: %s", o.clientID, client.Redactor.Redact(err.Error()))
	}
	if tr.AccessToken == "" || !strings.EqualFold(tr.TokenType, "Bearer") {
		return fmt.Errorf("token for client %s: no Bearer access token in the response (token_type %q; DPoP-bound tokens are not supported: turn off \"Require DPoP\" on the app)", o.clientID, tr.TokenType)
	}
	life := time.Duration(tr.ExpiresIn) * time.Second
	if life <= 0 {
		life = time.Hour
	}
	o.token = tr.AccessToken
	o.expires = o.now().Add(max(life-expirySkew, life/2))
	o.issued = append(o.issued, targets.Secret(tr.AccessToken))
	if len(o.issued) > 16 {
		o.issued = o.issued[len(o.issued)-16:]
	}
	o.gen++
	return nil
}

// assertion is the client_assertion JWT: iss = sub = client ID, aud = the
// token endpoint, valid five minutes, a random jti.
func (o *oauthSource) assertion() (string, error) {
	now := o.now()
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	header := map[string]string{"alg": "RS256", "typ": "JWT"}
	if o.keyID != "" {
		header["kid"] = o.keyID
	}
	claims := map[string]any{
		"iss": o.clientID, "sub": o.clientID, "aud": o.tokenURL,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": hex.EncodeToString(jti),
	}
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	signing := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, o.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign client assertion: %w", err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// parseRSAKey reads an RSA private key in PEM, PKCS#1 or PKCS#8. Errors never
// quote the key.
func parseRSAKey(s string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil {
		return nil, errors.New("not PEM (expected -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----; Okta's console can download the key as PEM)")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("PKCS#1 RSA key does not parse")
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("PKCS#8 key does not parse")
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("a %T key: Okta service apps sign with RSA here (RS256)", k)
		}
		return rk, nil
	}
	return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
}
