// Package upstream is the one HTTP client that connectors, HR sources and
// reports use to call a vendor's API. It holds the retry policy (reads are
// retried on network errors, 429 and 502/503/504, waiting Retry-After or an
// exponential backoff, with an injectable sleep for tests), maps error
// statuses to the targets package's sentinel errors, and cuts every error
// body to a short excerpt scrubbed of the configured secrets, since error
// text ends up in evidence kept for years.
//
// Writes are sent once: whether a failed write happened is unknown, and the
// executor, which knows that its steps are idempotent, decides on retrying.
package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/accessrecon/accessrecon/targets"
)

// Defaults of a zero Client.
const (
	DefaultRetries = 4
	DefaultMaxWait = 60 * time.Second
	DefaultTimeout = 60 * time.Second
	// maxErrorBody is how much of an error body is read for the excerpt.
	maxErrorBody = 64 << 10
)

// Client sends requests to one vendor API. The zero value works; set
// Component and Redactor.
type Client struct {
	// HTTP sends the requests (nil: a client with a 60 s timeout).
	HTTP *http.Client
	// Component prefixes error messages ("okta").
	Component string
	// Redactor scrubs error excerpts of the configured secrets.
	Redactor *targets.Redactor
	// Retries is how many times a read is retried (0: 4; negative: never).
	Retries int
	// Sleep waits d or until ctx ends (nil: a timer).
	Sleep func(ctx context.Context, d time.Duration) error
	// MaxWait caps one wait, Retry-After or backoff (0: 60 s).
	MaxWait time.Duration
	// Retryable, when set, may mark an otherwise final error response as
	// worth retrying (Google's 403 userRateLimitExceeded, say); body is the
	// start of the response body.
	Retryable func(resp *http.Response, body []byte) bool
	// Now is the clock Retry-After dates are read against (nil: time.Now).
	Now func() time.Time
}

// StatusError is an error response. Excerpt is redacted.
type StatusError struct {
	Component string
	Method    string
	Path      string
	Code      int
	Excerpt   string
	// RetryAfter is the delay the server asked for (0: none).
	RetryAfter time.Duration
	sentinel   error
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s %s: HTTP %d %s", e.Method, e.Path, e.Code, http.StatusText(e.Code))
	if e.Component != "" {
		msg = e.Component + ": " + msg
	}
	if e.Excerpt != "" {
		msg += ": " + e.Excerpt
	}
	return msg
}

// Unwrap returns targets.ErrPermission for 401/403 and targets.ErrNotFound
// for 404/410.
func (e *StatusError) Unwrap() error { return e.sentinel }

// Do sends req and returns the response of a status below 400; the caller
// closes its body. A status of 400 or more returns an error (the body read
// and closed): a *StatusError, wrapped in a *targets.TransientError for 429
// and 5xx. A network error is transient too. GET and HEAD requests are
// retried as the Client says; others are sent once.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	retries := c.Retries
	switch {
	case retries == 0:
		retries = DefaultRetries
	case retries < 0:
		retries = 0
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		retries = 0
	}
	for attempt := 0; ; attempt++ {
		resp, err := c.once(req)
		if err == nil {
			return resp, nil
		}
		var te *targets.TransientError
		if attempt >= retries || !errors.As(err, &te) {
			return nil, err
		}
		wait := te.RetryAfter
		if wait <= 0 {
			wait = time.Second << attempt
		}
		wait = min(wait, cmpOr(c.MaxWait, DefaultMaxWait))
		if serr := c.sleep(ctx, wait); serr != nil {
			return nil, errors.Join(err, serr)
		}
		if req.Body != nil && req.GetBody != nil {
			body, gerr := req.GetBody()
			if gerr != nil {
				return nil, gerr
			}
			req.Body = body
		}
	}
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (c *Client) once(req *http.Request) (*http.Response, error) {
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	resp, err := hc.Do(req)
	if err != nil {
		if req.Context().Err() != nil {
			return nil, req.Context().Err()
		}
		// The error of net/http names the URL, query included: keep only the
		// cause, redacted.
		var uerr interface{ Unwrap() error }
		cause := err
		if errors.As(err, &uerr) && uerr.Unwrap() != nil {
			cause = uerr.Unwrap()
		}
		msg := fmt.Sprintf("%s %s: %s", req.Method, c.Redactor.Redact(req.URL.Path), c.Redactor.Redact(cause.Error()))
		if c.Component != "" {
			msg = c.Component + ": " + msg
		}
		return nil, targets.Transient(errors.New(msg), 0)
	}
	if resp.StatusCode < 400 {
		return resp, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	wait, _ := targets.ParseRetryAfter(resp.Header.Get("Retry-After"), now())
	// The path may hold a secret too (a webhook URL's token).
	se := &StatusError{Component: c.Component, Method: req.Method, Path: c.Redactor.Redact(req.URL.Path), Code: resp.StatusCode,
		Excerpt: c.Redactor.Excerpt(body), RetryAfter: wait}
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		se.sentinel = targets.ErrPermission
	case http.StatusNotFound, http.StatusGone:
		se.sentinel = targets.ErrNotFound
	}
	retry := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
	if !retry && c.Retryable != nil && c.Retryable(resp, body) {
		retry, se.sentinel = true, nil
	}
	if retry {
		return nil, targets.Transient(se, wait)
	}
	return nil, se
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
