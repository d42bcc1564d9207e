package workday

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/upstream"
)

// httpClient is the shared HTTP client (targets/upstream) set up for
// Workday: tries attempts in all, and a Retry-After beyond max_retry_wait
// fails at once.
func httpClient(timeout time.Duration, tries int, maxWait time.Duration, red *targets.Redactor, log *slog.Logger) *upstream.Client {
	retries := tries - 1
	if retries == 0 {
		retries = -1 // upstream: 0 is the default, negative never
	}
	return &upstream.Client{
		HTTP:         &http.Client{Timeout: timeout},
		Redactor:     red,
		Retries:      retries,
		MaxWait:      maxWait,
		FailLongWait: true,
		Resend:       func(*http.Request, int) bool { return true }, // the source only reads
		Log:          log,
	}
}

// do sends one request through the shared client, which retries it while
// Workday throttles or fails (429, 5xx, network errors) after the
// Retry-After delay (seconds or HTTP date; exponential backoff from 1s when
// absent), at most s.maxTries times. 401/403 wrap ErrAuth; any other status
// of 400 or more is an error whose excerpt of the body is scrubbed of the
// credentials. The caller closes the body of the response.
func (s *Source) do(ctx context.Context, method, u string, body []byte, what string) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("workday: %s: %w", what, err)
	}
	req.SetBasicAuth(s.user.Reveal(), s.password.Reveal())
	if s.format == "csv" {
		req.Header.Set("Accept", "text/csv")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.http.Do(req)
	if err == nil {
		return resp, nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("workday: %s: %w", what, ctx.Err())
	}
	var se *upstream.StatusError
	if !errors.As(err, &se) {
		return nil, fmt.Errorf("workday: %s: %w", what, err)
	}
	switch code := se.Code; {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return nil, fmt.Errorf("workday: %s: HTTP %d: %w: check the credentials in %s and that the report is shared with the integration system user", what, code, ErrAuth, s.credNames)
	default:
		return nil, fmt.Errorf("workday: %s: %s", what, upstream.Outcome(err, se, s.maxTries, s.maxWait))
	}
}
