package bamboohr

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/accessrecon/accessrecon/targets"
)

// do sends one request, retrying it while BambooHR throttles (429 or 503)
// after the Retry-After delay (seconds or HTTP date; exponential backoff from
// 1s when absent), at most s.maxTries times. 401/403 wrap ErrAuth; any other
// non-2xx status is an error. The caller closes the body of the response.
func (s *Source) do(ctx context.Context, method, u string, body []byte, what string) (*http.Response, error) {
	for try := 1; ; try++ {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, rd)
		if err != nil {
			return nil, fmt.Errorf("bamboohr: %s: %w", what, err)
		}
		req.SetBasicAuth(s.key.Reveal(), "x")
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := s.client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("bamboohr: %s: %w", what, ctx.Err())
			}
			return nil, fmt.Errorf("bamboohr: %s: %w", what, err)
		}
		switch code := resp.StatusCode; {
		case code >= 200 && code < 300:
			return resp, nil
		case code == http.StatusUnauthorized || code == http.StatusForbidden:
			drain(resp)
			return nil, fmt.Errorf("bamboohr: %s: HTTP %d: %w: check the API key in %s and that its user may see all employees (including terminated) and the report fields", what, code, ErrAuth, s.keyName)
		case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
			wait, given := targets.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
			drain(resp)
			if !given {
				wait = time.Second << min(try-1, 6)
			}
			if try >= s.maxTries {
				return nil, fmt.Errorf("bamboohr: %s: HTTP %d: still throttled after %d tries", what, code, try)
			}
			if wait > s.maxWait {
				return nil, fmt.Errorf("bamboohr: %s: HTTP %d: Retry-After %s exceeds max_retry_wait %s", what, code, wait, s.maxWait)
			}
			s.log.Warn("bamboohr throttled, retrying", "request", what, "status", code, "retry_after", wait, "try", try)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("bamboohr: %s: waiting to retry: %w", what, ctx.Err())
			case <-t.C:
			}
		case code == http.StatusNotFound:
			msg := s.snippet(resp)
			return nil, fmt.Errorf("bamboohr: %s: HTTP 404: %w%s", what, ErrNotFound, msg)
		default:
			msg := s.snippet(resp)
			return nil, fmt.Errorf("bamboohr: %s: HTTP %d%s", what, code, msg)
		}
	}
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// snippet returns the start of an error body, for the error message: cut
// short, made printable, and scrubbed of the credentials (a server may echo
// the Authorization header, and errors end up in evidence kept for years).
func (s *Source) snippet(resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	drain(resp)
	msg := s.redactor.Excerpt(b)
	if msg == "" {
		return ""
	}
	return ": " + msg
}
