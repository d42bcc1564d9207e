// Package upstream is the one HTTP client that connectors, HR sources and
// reports use to call a vendor's API. It holds the one retry policy (Retry:
// network errors, 429 and 5xx are retried, waiting Retry-After or an
// exponential backoff of 1 s, 2 s, 4 s..., each wait capped, with an
// injectable sleep for tests), maps error statuses to the targets package's
// sentinel errors, and cuts every error body to a short excerpt scrubbed of
// the configured secrets, since error text ends up in evidence kept for
// years.
//
// Writes are sent once unless the caller says otherwise (Client.Resend):
// whether a failed write happened is unknown, and the executor, which knows
// that its steps are idempotent, decides on retrying.
//
// The package depends on the targets contract and the standard library
// only, so that HR sources and reports, which already take their secrets as
// targets.Secret, can share it without importing a connector.
package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	// FailLongWait, when set, returns an error wrapping ErrWaitTooLong at
	// once when Retry-After asks for more than MaxWait, instead of retrying
	// after MaxWait.
	FailLongWait bool
	// Resend, when set, reports whether a request other than GET or HEAD may
	// be sent again after an answer with status code (0: a network error):
	// true for a POST that only reads (BambooHR's custom report), or for a
	// write refused unprocessed (429). nil: such requests are sent once.
	Resend func(req *http.Request, code int) bool
	// Log, when set, records each retry (Warn).
	Log *slog.Logger
}

// ErrWaitTooLong is wrapped by the error of a request whose Retry-After
// exceeded the longest wait allowed (Retry.FailLongWait).
var ErrWaitTooLong = errors.New("Retry-After exceeds the longest wait allowed")

// Retry is the retry policy every HTTP caller shares. Its zero value retries
// 4 times, waiting at most 60 s each time.
type Retry struct {
	// Retries is how many times a try is repeated (0: 4; negative: never).
	Retries int
	// MaxWait caps one wait, Retry-After or backoff (0: 60 s).
	MaxWait time.Duration
	// FailLongWait gives up at once, with an error wrapping ErrWaitTooLong,
	// when Retry-After asks for more than MaxWait (the server would refuse
	// an earlier try); unset, the wait is cut to MaxWait.
	FailLongWait bool
	// Sleep waits d or until ctx ends (nil: a timer).
	Sleep func(ctx context.Context, d time.Duration) error
	// Log, when set, records each retry (Warn).
	Log *slog.Logger
}

// Do calls try until it succeeds, returns an error that is not a
// *targets.TransientError, or has been repeated Retries times. Between tries
// it waits the error's RetryAfter, or else 1 s, 2 s, 4 s..., capped at
// MaxWait; a cancelled ctx ends the wait with an error joining the last
// failure and ctx's error. attempt counts from 0.
func (r Retry) Do(ctx context.Context, try func(attempt int) error) error {
	retries := r.Retries
	switch {
	case retries == 0:
		retries = DefaultRetries
	case retries < 0:
		retries = 0
	}
	maxWait := cmpOr(r.MaxWait, DefaultMaxWait)
	for attempt := 0; ; attempt++ {
		err := try(attempt)
		var te *targets.TransientError
		if err == nil || attempt >= retries || !errors.As(err, &te) {
			return err
		}
		wait := te.RetryAfter
		if wait <= 0 {
			wait = time.Second << min(attempt, 16)
		}
		if wait > maxWait {
			if r.FailLongWait && te.RetryAfter > 0 {
				return fmt.Errorf("%w: %w (%s > %s)", err, ErrWaitTooLong, wait, maxWait)
			}
			wait = maxWait
		}
		if r.Log != nil {
			r.Log.Warn("request failed, retrying", "err", err, "attempt", attempt+1, "wait", wait)
		}
		if serr := r.sleep(ctx, wait); serr != nil {
			return errors.Join(err, serr)
		}
	}
}

func (r Retry) sleep(ctx context.Context, d time.Duration) error {
	if r.Sleep != nil {
		return r.Sleep(ctx, d)
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

// Tail is ": " and the redacted excerpt of the body, or "" when there is
// none: the end of a message about the response.
func (e *StatusError) Tail() string {
	if e.Excerpt == "" {
		return ""
	}
	return ": " + e.Excerpt
}

// Outcome says how a request that Do (or Retry) ended with err, whose
// response was se, failed: "HTTP 429: Retry-After 2m0s exceeds
// max_retry_wait 1m0s", "HTTP 503: still throttled after 4 tries: …",
// "HTTP 502: still failing after 4 tries: …", or "HTTP 400: …".
func Outcome(err error, se *StatusError, tries int, maxWait time.Duration) string {
	var te *targets.TransientError
	switch code := se.Code; {
	case errors.Is(err, ErrWaitTooLong):
		return fmt.Sprintf("HTTP %d: Retry-After %s exceeds max_retry_wait %s", code, se.RetryAfter, maxWait)
	case errors.As(err, &te) && (code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable):
		return fmt.Sprintf("HTTP %d: still throttled after %d tries%s", code, tries, se.Tail())
	case errors.As(err, &te):
		return fmt.Sprintf("HTTP %d: still failing after %d tries%s", code, tries, se.Tail())
	default:
		return fmt.Sprintf("HTTP %d%s", code, se.Tail())
	}
}

// Do sends req and returns the response of a status below 400; the caller
// closes its body. A status of 400 or more returns an error (the body read
// and closed): a *StatusError, wrapped in a *targets.TransientError for 429
// and 5xx. A network error is transient too. GET and HEAD requests, and
// those Resend allows, are retried as the Client's Retry fields say; others,
// and any whose body cannot be read again (no GetBody), are sent once. req
// is not modified: a retry sends a clone.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	r := Retry{Retries: c.Retries, MaxWait: c.MaxWait, FailLongWait: c.FailLongWait, Sleep: c.Sleep, Log: c.Log}
	var resp *http.Response
	err := r.Do(req.Context(), func(attempt int) error {
		send := req
		if attempt > 0 {
			send = req.Clone(req.Context())
			if req.Body != nil && req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return err
				}
				send.Body = body
			}
		}
		var err error
		resp, err = c.once(send)
		if err == nil || c.resendable(req, err) {
			return err
		}
		// Final: strip the transient mark so that Retry stops here, but
		// keep it in what the caller sees.
		return final{err}
	})
	if f, ok := err.(final); ok {
		return nil, f.err
	}
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// final carries an error that Retry must not retry, whatever it wraps.
type final struct{ err error }

func (f final) Error() string { return f.err.Error() }

// resendable reports whether req may be sent again after err: never when
// its body cannot be read again.
func (c *Client) resendable(req *http.Request, err error) bool {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false
	}
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		return true
	}
	if c.Resend == nil {
		return false
	}
	code := 0
	var se *StatusError
	if errors.As(err, &se) {
		code = se.Code
	}
	return c.Resend(req, code)
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
