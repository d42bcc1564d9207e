package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/accessrecon/accessrecon/targets"
)

// The generic webhook's headers.
const (
	// HeaderTimestamp is the Unix time (seconds, decimal) of the delivery.
	HeaderTimestamp = "X-Accessrecon-Timestamp"
	// HeaderSignature is "v1=" and the lowercase hex HMAC-SHA256, keyed with
	// the shared secret, of the timestamp header's value, a ".", and the raw
	// body.
	HeaderSignature = "X-Accessrecon-Signature"
	// HeaderEvent is the event type (revocations, guard_tripped…).
	HeaderEvent = "X-Accessrecon-Event"
	// HeaderDelivery is the notification ID, the same on every retry: a
	// receiver drops a delivery it has seen.
	HeaderDelivery = "X-Accessrecon-Delivery"
)

// WebhookConfig is a generic JSON webhook: each event is POSTed as JSON
// (the Event's fields) and signed with a shared secret (secret_env or
// secret_file).
type WebhookConfig struct {
	URL        string         `yaml:"url"`
	SecretEnv  string         `yaml:"secret_env"`
	SecretFile string         `yaml:"secret_file"`
	Secret     targets.Secret `yaml:"-"`
}

func (c *WebhookConfig) secretFields() []targets.SecretField {
	return []targets.SecretField{{Key: "secret", Env: c.SecretEnv, File: c.SecretFile, Value: &c.Secret}}
}

type webhookSender struct {
	cfg WebhookConfig
	p   poster
	now func() time.Time
}

func newWebhook(c WebhookConfig, hc *http.Client, now func() time.Time) (sender, error) {
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("webhook: url: %q is not an http(s) URL", c.URL)
	}
	if len(c.Secret) < 16 {
		return nil, errors.New("webhook: secret_env or secret_file: required, at least 16 characters")
	}
	return &webhookSender{cfg: c, p: newPoster("webhook", hc, c.Secret), now: now}, nil
}

// Sign returns the HeaderSignature value for a delivery: "v1=" and
// hex(HMAC-SHA256(secret, timestamp + "." + body)).
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

func (s *webhookSender) send(ctx context.Context, id string, ev Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return final(err)
	}
	ts := strconv.FormatInt(s.now().Unix(), 10)
	h := http.Header{}
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, Sign([]byte(s.cfg.Secret.Reveal()), ts, body))
	h.Set(HeaderEvent, string(ev.Type))
	h.Set(HeaderDelivery, id)
	_, err = s.p.post(ctx, s.cfg.URL, "application/json", body, h)
	return err
}
