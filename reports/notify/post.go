package notify

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/upstream"
)

// poster sends one POST through the project's HTTP client (upstream: error
// bodies cut short and scrubbed of the sink's secrets). Writes are sent
// once: a failed notification waits in the Outbox for the next run instead
// of being retried here.
type poster struct {
	up *upstream.Client
}

func newPoster(component string, hc *http.Client, secrets ...targets.Secret) poster {
	red := targets.NewRedactor(secrets...)
	// A webhook URL is its own credential: its path and query are secret
	// too, and net/http's errors name the path alone.
	for _, s := range secrets {
		if u, err := url.Parse(s.Reveal()); err == nil && u.Host != "" {
			red.Add(targets.Secret(u.Path), targets.Secret(u.RawQuery))
			if q := u.Query().Get("sig"); q != "" {
				red.Add(targets.Secret(q))
			}
		}
	}
	return poster{up: &upstream.Client{HTTP: hc, Component: component, Redactor: red, Retries: -1}}
}

// post sends body to u and returns the response body (at most 64 KiB). A
// response that says the same request can never succeed (400, 413, 422) is
// a final error; every other failure may pass (the sink down, throttled, or
// misconfigured until a person fixes it) and is kept for the next run.
func (p poster) post(ctx context.Context, u, contentType string, body []byte, header http.Header) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		// The URL is a secret: say no more than that it is wrong.
		return nil, final(errors.New(p.up.Component + ": the configured URL is not valid"))
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "accessrecon-notify")
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := p.up.Do(req)
	if err != nil {
		// upstream redacts bodies and causes but names the request's path,
		// which for a webhook is the secret: redact the whole text again,
		// keeping what it says about retrying.
		msg := errors.New(p.up.Redactor.Redact(err.Error()))
		var se *upstream.StatusError
		if errors.As(err, &se) {
			switch se.Code {
			case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
				return nil, final(msg)
			}
		}
		return nil, msg // kept for the next run
	}
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, 64<<10))
}
