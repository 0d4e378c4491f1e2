package paymenter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/upsell-io/upsell/hostapi"
)

// Paymenter admin API endpoints the api writer uses.
const (
	invoicesPath     = "/api/v1/admin/invoices"
	invoiceItemsPath = "/api/v1/admin/invoice-items"
)

const (
	defaultRetryMax     = 4
	defaultRetryWaitMin = 500 * time.Millisecond
	defaultRetryWaitMax = 30 * time.Second
	defaultHTTPTimeout  = 30 * time.Second
	// maxRetryAfter caps a server's Retry-After, so a bogus value cannot
	// park a request for hours (the caller's ctx bounds it too).
	maxRetryAfter = 5 * time.Minute
	// maxResponseBody bounds what is read of a response.
	maxResponseBody = 1 << 20
	// cleanupTimeout bounds deleting a half-made invoice after a failure.
	cleanupTimeout = 30 * time.Second
)

// apiWriter creates invoices through Paymenter's admin REST API
// (Authorization: Bearer <key>, JSON:API responses). Its limits are listed in
// the package documentation.
type apiWriter struct {
	baseURL string
	key     string
	client  *retryablehttp.Client
}

func newAPIWriter(cfg APIConfig, panelURL string) (*apiWriter, error) {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = panelURL
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, hostapi.Invalid("api.base_url", "the api invoice writer needs the panel's http(s) URL")
	}
	if cfg.Key == "" {
		return nil, hostapi.Invalid("api.key", "the api invoice writer needs an admin API key")
	}
	client := retryablehttp.NewClient()
	client.Logger = nil // errors are returned, never logged here
	if cfg.HTTPClient != nil {
		client.HTTPClient = cfg.HTTPClient
	} else {
		client.HTTPClient.Timeout = defaultHTTPTimeout
	}
	client.RetryMax = defaultRetryMax
	if cfg.RetryMax != 0 {
		client.RetryMax = max(cfg.RetryMax, 0)
	}
	client.RetryWaitMin = cmpOr(cfg.RetryWaitMin, defaultRetryWaitMin)
	client.RetryWaitMax = cmpOr(cfg.RetryWaitMax, defaultRetryWaitMax)
	client.CheckRetry = retryPolicy
	client.Backoff = retryBackoff
	// Hand back the last response when retries run out, so its status
	// becomes a typed error.
	client.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return &apiWriter{baseURL: base, key: cfg.Key, client: client}, nil
}

func cmpOr(d, fallback time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return fallback
}

// createInvoiceAPI checks the references in the database (so an unknown
// user is CodeNotFound, as with the sql writer), creates the invoice through
// the API and reads it back from the database, where Paymenter has numbered
// it.
func (b *Binding) createInvoiceAPI(ctx context.Context, d invoiceDraft) (hostapi.Invoice, error) {
	if err := b.checkInvoiceRefs(ctx, nil, d); err != nil {
		return hostapi.Invoice{}, err
	}
	settings, err := b.readSettings(ctx, nil)
	if err != nil {
		return hostapi.Invoice{}, err
	}
	due := dueDate(d.dueAt, b.clock(), settings.location)
	id, err := b.api.createInvoice(ctx, d, due)
	if err != nil {
		return hostapi.Invoice{}, err
	}
	inv, err := b.Invoice(ctx, id)
	if err != nil {
		// %v, not %w: this is not "not found" for the caller, the invoice
		// exists on the panel.
		return hostapi.Invoice{}, hostapi.Errorf(hostapi.CodeInternal,
			"paymenter: invoice %d was created through the API but cannot be read from the database (is the API the panel of this database?): %v", id, err)
	}
	return inv, nil
}

// Request bodies, as the admin API validates them.
type apiInvoiceRequest struct {
	UserID       uint64 `json:"user_id"`
	CurrencyCode string `json:"currency_code"`
	DueAt        string `json:"due_at,omitempty"`
	Status       string `json:"status"`
}

type apiInvoiceItemRequest struct {
	InvoiceID   uint64 `json:"invoice_id"`
	Description string `json:"description"`
	// Price is sent as a string so the decimal reaches Paymenter exactly.
	Price    string `json:"price"`
	Quantity int    `json:"quantity"`
}

// apiResource is the part of a JSON:API document the writer needs.
type apiResource struct {
	Data struct {
		ID   jsonAPIID `json:"id"`
		Type string    `json:"type"`
	} `json:"data"`
}

// jsonAPIID accepts the JSON:API string id ("12") and a bare number.
type jsonAPIID uint64

func (id *jsonAPIID) UnmarshalJSON(data []byte) error {
	s := strings.Trim(string(data), `"`)
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("JSON:API id %s is not a number", data)
	}
	*id = jsonAPIID(n)
	return nil
}

func (w *apiWriter) createInvoice(ctx context.Context, d invoiceDraft, due time.Time) (uint64, error) {
	id, err := w.create(ctx, invoicesPath, apiInvoiceRequest{
		UserID:       d.userID,
		CurrencyCode: d.currency,
		DueAt:        due.Format(time.DateOnly),
		Status:       string(hostapi.InvoicePending),
	})
	if err != nil {
		return 0, err
	}
	for i, item := range d.items {
		_, err := w.create(ctx, invoiceItemsPath, apiInvoiceItemRequest{
			InvoiceID:   id,
			Description: item.Description,
			Price:       item.Price.StringFixed(2),
			Quantity:    item.Quantity,
		})
		if err != nil {
			return 0, w.abandonInvoice(ctx, id, i, err)
		}
	}
	return id, nil
}

// abandonInvoice deletes an invoice whose item i could not be created and
// returns the item's error, saying whether the cleanup worked.
func (w *apiWriter) abandonInvoice(ctx context.Context, id uint64, i int, itemErr error) error {
	cleanupCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_, delErr := w.do(cleanupCtx, http.MethodDelete, fmt.Sprintf("%s/%d", invoicesPath, id), nil)
	if delErr != nil {
		return fmt.Errorf("%w (item %d; invoice %d could not be deleted and is left incomplete on the panel: %v)", itemErr, i, id, delErr)
	}
	return fmt.Errorf("%w (item %d; invoice %d was deleted again)", itemErr, i, id)
}

// create POSTs body to path and returns the id of the created resource.
func (w *apiWriter) create(ctx context.Context, path string, body any) (uint64, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return 0, fmt.Errorf("paymenter api: encode %s request: %w", path, err)
	}
	data, err := w.do(ctx, http.MethodPost, path, payload)
	if err != nil {
		return 0, err
	}
	var doc apiResource
	if err := json.Unmarshal(data, &doc); err != nil || doc.Data.ID == 0 {
		return 0, hostapi.Errorf(hostapi.CodeInternal, "paymenter api: POST %s: the response is not a JSON:API resource with an id", path)
	}
	return uint64(doc.Data.ID), nil
}

// do sends one request (with retries) and returns the body of a 2xx
// response; any other outcome is a typed error free of the key.
func (w *apiWriter) do(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	var reqBody any
	if body != nil {
		reqBody = bytes.NewReader(body)
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, method, w.baseURL+path, reqBody)
	if err != nil {
		return nil, fmt.Errorf("paymenter api: build %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+w.key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "upsell")
	resp, err := w.client.Do(req)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("paymenter api: %s %s: %w", method, path, ctx.Err())
		}
		return nil, hostapi.Errorf(hostapi.CodeUnavailable, "paymenter api: %s %s: %s", method, path, w.redact(err.Error()))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return nil, hostapi.Errorf(hostapi.CodeUnavailable, "paymenter api: %s %s: read response: %s", method, path, w.redact(err.Error()))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, w.statusError(method, path, resp.StatusCode, data)
	}
	return data, nil
}

// statusError turns a non-2xx answer into a typed error, using Laravel's
// error body ({"message": ..., "errors": {field: [...]}}) when there is one.
func (w *apiWriter) statusError(method, path string, status int, body []byte) error {
	msg, field := laravelError(body)
	text := fmt.Sprintf("paymenter api: %s %s: HTTP %d", method, path, status)
	if msg != "" {
		text += ": " + w.redact(msg)
	}
	e := &hostapi.Error{Code: codeForStatus(status), Message: text}
	if e.Code == hostapi.CodeInvalid {
		e.Field = field
	}
	return e
}

func codeForStatus(status int) hostapi.Code {
	switch {
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		return hostapi.CodeInvalid
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return hostapi.CodePermission
	case status == http.StatusConflict:
		return hostapi.CodeConflict
	case status == http.StatusTooManyRequests || status >= 500:
		return hostapi.CodeUnavailable
	}
	return hostapi.CodeInternal
}

// laravelError extracts the message and the first offending field of a
// Laravel (validation) error or a JSON:API errors array.
func laravelError(body []byte) (message, field string) {
	var doc struct {
		Message string          `json:"message"`
		Errors  json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return "", ""
	}
	var byField map[string][]string
	if json.Unmarshal(doc.Errors, &byField) == nil && len(byField) > 0 {
		fields := make([]string, 0, len(byField))
		for f := range byField {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		field = fields[0]
		if doc.Message == "" && len(byField[field]) > 0 {
			doc.Message = byField[field][0]
		}
	}
	var list []struct {
		Detail string `json:"detail"`
		Title  string `json:"title"`
	}
	if doc.Message == "" && json.Unmarshal(doc.Errors, &list) == nil && len(list) > 0 {
		doc.Message = cmpOrString(list[0].Detail, list[0].Title)
	}
	return doc.Message, field
}

func cmpOrString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// redact removes the API key from text that came from elsewhere (a response
// body, a transport error), in case it was echoed.
func (w *apiWriter) redact(s string) string {
	if w.key == "" {
		return s
	}
	return strings.ReplaceAll(s, w.key, "[redacted]")
}

// retryPolicy retries connection errors, 429 and 5xx (but 501), never
// another 4xx: a refused request would be refused again.
func retryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	return retryableStatus(resp.StatusCode), nil
}

func retryableStatus(status int) bool {
	return status == http.StatusTooManyRequests || (status >= 500 && status != http.StatusNotImplemented)
}

// retryBackoff honours Retry-After on any retryable status (the library's
// default only reads it on 429 and 503), else backs off exponentially.
func retryBackoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && retryableStatus(resp.StatusCode) {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return d
		}
	}
	return retryablehttp.DefaultBackoff(minWait, maxWait, attempt, nil)
}

// retryAfter parses a Retry-After value: delay seconds or an HTTP date.
func retryAfter(value string, now time.Time) (time.Duration, bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(value, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	at, err := http.ParseTime(value)
	if err != nil {
		return 0, false
	}
	return min(max(at.Sub(now), 0), maxRetryAfter), true
}
