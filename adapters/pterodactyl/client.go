package pterodactyl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/upsell-io/upsell/hostapi"
)

// apiPrefix is where the Application API lives under the panel's base URL.
const apiPrefix = "/api/application"

// maxResponseBytes bounds what is read of a response: a page of 500
// allocations is about 100 KiB.
const maxResponseBytes = 16 << 20

// userAgent identifies upsell in the panel's access logs.
const userAgent = "upsell-adapter-pterodactyl/" + Version

// newHTTPClient builds the adapter's one HTTP client, reused by every call.
func newHTTPClient(cfg config) *retryablehttp.Client {
	httpClient := cleanhttp.DefaultPooledClient()
	httpClient.Timeout = cfg.requestTimeout
	// Never follow a redirect: the panel redirects only when it did not take
	// the call as an API request (the "302 trap"), and following would send
	// the key to wherever the Location points.
	httpClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	maxRetryAfter := cfg.maxRetryAfter
	return &retryablehttp.Client{
		HTTPClient:   httpClient,
		Logger:       cfg.logger,
		RetryWaitMin: cfg.retryWaitMin,
		RetryWaitMax: cfg.retryWaitMax,
		RetryMax:     cfg.retryMax,
		CheckRetry:   retryPolicy,
		Backoff: func(waitMin, waitMax time.Duration, attempt int, resp *http.Response) time.Duration {
			return backoff(waitMin, waitMax, attempt, resp, maxRetryAfter, time.Now())
		},
		// Give the last response back instead of a generic "giving up"
		// error, so its status and error envelope can be reported.
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		// Each retry is a request like any other for the panel's rate limit.
		PrepareRetry: func(req *http.Request) error {
			return callFrom(req.Context()).limiter.wait(req.Context())
		},
	}
}

// call is what the retry hooks need to know about a request; it travels in
// the request's context because retryablehttp's hooks see nothing else.
type call struct {
	// idempotent calls (GETs) are retried on 5xx and network errors. A build
	// PATCH is not: a 5xx or a timeout may come after the commit, and the
	// adapter looks at the server before sending anything again.
	idempotent bool
	limiter    *tokenBucket
}

type callKey struct{}

func callFrom(ctx context.Context) call {
	c, _ := ctx.Value(callKey{}).(call)
	return c
}

// retryPolicy decides which failed attempts retryablehttp repeats.
func retryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	idempotent := callFrom(ctx).idempotent
	if err != nil {
		if idempotent {
			return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
		}
		// A connection that was never established cannot have changed
		// anything.
		var opErr *net.OpError
		return errors.As(err, &opErr) && opErr.Op == "dial", nil
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		// The throttle runs before the controller: a 429 changed nothing.
		return true, nil
	case idempotent && resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		return true, nil
	}
	return false, nil
}

// backoff is the wait before retry number attempt+1: Retry-After when a 429
// or 503 gives one (capped by maxRetryAfter), else an exponential backoff
// with jitter between waitMin and waitMax so that many waiting applies do not hit
// the panel in lockstep.
func backoff(waitMin, waitMax time.Duration, attempt int, resp *http.Response, maxRetryAfter time.Duration, now time.Time) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			return clamp(d, 0, maxRetryAfter)
		}
	}
	return jittered(waitMin, waitMax, attempt)
}

// jittered returns a wait in [d/2, d] for d = waitMin*2^attempt capped at
// waitMax.
func jittered(waitMin, waitMax time.Duration, attempt int) time.Duration {
	d := waitMax
	if attempt < 32 && waitMin<<attempt > 0 && waitMin<<attempt < waitMax {
		d = waitMin << attempt
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

func clamp(d, lo, hi time.Duration) time.Duration {
	return min(max(d, lo), hi)
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// conn is one panel as seen with one API key.
type conn struct {
	endpoint string // normalized base URL, e.g. https://panel.example.com
	key      string
	flavor   flavor
	http     *retryablehttp.Client
	limiter  *tokenBucket
	cfg      config
}

// requestError is the local cause of a failed request. It says whether the
// request may have been processed, which only matters for a build PATCH.
type requestError struct {
	status int // the HTTP status; 0 when there was no response
	// mayHaveApplied: a 5xx, or a response that never came (timeout,
	// connection reset). The panel may have committed the change.
	mayHaveApplied bool
	cause          error
}

func (e *requestError) Error() string {
	if e.cause != nil {
		return e.cause.Error()
	}
	return "HTTP " + strconv.Itoa(e.status)
}

func (e *requestError) Unwrap() error { return e.cause }

// mayHaveApplied reports whether err leaves it open whether the panel
// processed the request.
func mayHaveApplied(err error) bool {
	var re *requestError
	return errors.As(err, &re) && re.mayHaveApplied
}

// do sends one API request (with retries) and decodes a 2xx JSON answer into
// out. Every error is a *hostapi.Error whose cause is a *requestError.
func (c *conn) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	where := method + " " + apiPrefix + path
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return hostapi.Errorf(hostapi.CodeInternal, "pterodactyl: %s: encoding the body: %w", where, err)
		}
	}
	target := c.endpoint + apiPrefix + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	ctx = context.WithValue(ctx, callKey{}, call{idempotent: method == http.MethodGet, limiter: c.limiter})
	req, err := retryablehttp.NewRequestWithContext(ctx, method, target, payload)
	if err != nil {
		return hostapi.Errorf(hostapi.CodeInternal, "pterodactyl: %s: %w", where, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)

	if err := ctx.Err(); err != nil {
		return c.fail(where, hostapi.CodeUnavailable, &requestError{cause: err}, "not sent: %v", err)
	}
	if err := c.limiter.wait(ctx); err != nil {
		return c.fail(where, hostapi.CodeUnavailable, &requestError{cause: err}, "waiting for the client-side rate limit: %v", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return c.fail(where, hostapi.CodeUnavailable, &requestError{cause: ctxErr}, "%v", ctxErr)
		}
		return c.fail(where, hostapi.CodeUnavailable, &requestError{mayHaveApplied: true, cause: err},
			"panel unreachable after %d attempt(s): %v", c.attempts(method), err)
	}
	defer resp.Body.Close()
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		if readErr != nil {
			// The panel answered, so a write was processed; but this
			// says nothing about what it holds now.
			return c.fail(where, hostapi.CodeUnavailable, &requestError{status: resp.StatusCode, mayHaveApplied: true, cause: readErr},
				"reading the answer: %v", readErr)
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return c.fail(where, hostapi.CodeInternal, &requestError{status: resp.StatusCode, cause: err},
				"the answer is not the expected JSON (%s): %v", contentType(resp), err)
		}
		return nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return c.redirectError(where, resp)
	}
	return c.statusError(where, method, resp, data)
}

// attempts is how many times a request of this method is sent at most.
func (c *conn) attempts(method string) int {
	if method == http.MethodGet {
		return c.cfg.retryMax + 1
	}
	return 1
}

func (c *conn) fail(where string, code hostapi.Code, cause *requestError, format string, args ...any) *hostapi.Error {
	return &hostapi.Error{Code: code, Message: "pterodactyl panel: " + where + ": " + fmt.Sprintf(format, args...), Err: cause}
}

// redirectError explains a 3xx. The panel redirects instead of answering
// when Laravel thinks the client wants HTML: to /auth/login when the key was
// refused, or back when validation failed. A redirect to elsewhere usually
// means the endpoint is not the panel's final URL (http -> https).
func (c *conn) redirectError(where string, resp *http.Response) *hostapi.Error {
	cause := &requestError{status: resp.StatusCode}
	loc := resp.Header.Get("Location")
	if u, err := url.Parse(loc); err == nil && strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/auth/login") {
		e := c.fail(where, hostapi.CodePermission, cause,
			"the panel redirected to its login page (HTTP %d) instead of answering: it refused the API key and did not take the call as an API request; check that the key is an Application API key of an administrator and that a proxy in front of the panel keeps the Authorization and Accept headers",
			resp.StatusCode)
		return e
	}
	e := c.fail(where, hostapi.CodeInvalid, cause,
		"the panel answered HTTP %d, a redirect to %q, instead of answering; upsell does not follow redirects (they would carry the API key elsewhere): set the endpoint to the panel's final base URL",
		resp.StatusCode, sanitizeLocation(loc))
	e.Field = "endpoint"
	return e
}

// sanitizeLocation drops the query and user info of a Location header, which
// could carry tokens.
func sanitizeLocation(loc string) string {
	u, err := url.Parse(loc)
	if err != nil {
		return "(unparsable)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// errorEnvelope is the panel's error body.
type errorEnvelope struct {
	Errors []struct {
		Code   string `json:"code"`
		Status string `json:"status"`
		Detail string `json:"detail"`
		Meta   *struct {
			SourceField string `json:"source_field"`
			Rule        string `json:"rule"`
		} `json:"meta"`
	} `json:"errors"`
}

// statusError turns a 4xx or 5xx into a typed error.
func (c *conn) statusError(where, method string, resp *http.Response, data []byte) *hostapi.Error {
	status := resp.StatusCode
	cause := &requestError{status: status}
	var env errorEnvelope
	var details []string
	field := ""
	if json.Unmarshal(data, &env) == nil {
		for _, e := range env.Errors {
			d := strings.TrimSpace(e.Code + ": " + e.Detail)
			if e.Meta != nil && e.Meta.SourceField != "" {
				d += " [" + e.Meta.SourceField + " " + e.Meta.Rule + "]"
				if field == "" {
					field = e.Meta.SourceField
				}
			}
			details = append(details, d)
		}
	}
	what := fmt.Sprintf("HTTP %d", status)
	if len(details) > 0 {
		what += " " + strings.Join(details, "; ")
	} else {
		what += " " + http.StatusText(status) + " (" + contentType(resp) + " body)"
	}
	switch {
	case status == http.StatusNotFound:
		return c.fail(where, hostapi.CodeNotFound, cause, "%s", what)
	case status == http.StatusUnprocessableEntity:
		e := c.fail(where, hostapi.CodeInvalid, cause, "the panel refused the values: %s", what)
		e.Field = field
		return e
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return c.fail(where, hostapi.CodePermission, cause,
			"%s (upsell needs an Application API key of an administrator with read and write on servers and read on nodes and allocations)", what)
	case status == http.StatusTooManyRequests:
		return c.fail(where, hostapi.CodeUnavailable, cause, "rate limited by the panel after %d attempt(s): %s", c.cfg.retryMax+1, what)
	case status == http.StatusConflict:
		return c.fail(where, hostapi.CodeConflict, cause, "%s", what)
	case status >= 500:
		cause.mayHaveApplied = true
		return c.fail(where, hostapi.CodeUnavailable, cause, "panel failing after %d attempt(s): %s", c.attempts(method), what)
	case status >= 400:
		return c.fail(where, hostapi.CodeInvalid, cause, "%s", what)
	}
	return c.fail(where, hostapi.CodeInternal, cause, "unexpected %s", what)
}

func contentType(resp *http.Response) string {
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		return "no content type"
	}
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return ct
}

// normalizeEndpoint turns a ServerRef.Endpoint into the panel's base URL.
func normalizeEndpoint(endpoint string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(endpoint))
	switch {
	case err != nil || u.Host == "":
		return "", hostapi.Invalid("endpoint", "not an absolute URL of the panel")
	case u.Scheme != "https" && u.Scheme != "http":
		return "", hostapi.Invalid("endpoint", "scheme %q is not http or https", u.Scheme)
	case u.User != nil:
		// Never echo it: the user info may hold a password.
		return "", hostapi.Invalid("endpoint", "must not carry credentials; the API key is the secret of the server binding")
	case u.RawQuery != "" || u.Fragment != "":
		return "", hostapi.Invalid("endpoint", "must not have a query or fragment")
	}
	path := strings.TrimRight(u.Path, "/")
	path = strings.TrimSuffix(path, apiPrefix)
	return u.Scheme + "://" + u.Host + path, nil
}
