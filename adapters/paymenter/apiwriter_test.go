package paymenter

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/upsell-io/upsell/adapters/paymenter/paymentertest"
	"github.com/upsell-io/upsell/adapters/paymenter/schema"
	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/testdb"
)

// testAPIKey is shaped like a Paymenter admin key: PAYM + 64 hex digits.
const testAPIKey = "PAYM0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

type apiFixture struct {
	*fixture
	api *paymentertest.Server
}

// newAPIFixture opens a binding with the api writer against a double of the
// admin API that writes to the fixture's database. configuredKey is the key
// the binding sends; the double accepts testAPIKey.
func newAPIFixture(t *testing.T, configuredKey string) *apiFixture {
	t.Helper()
	var api *paymentertest.Server
	f := newFixtureWith(t, schema.SeedOptions{InvoiceNumber: 99, InvoiceNumberPadding: 4}, func(db *testdb.DB) Config {
		api = paymentertest.New(db.DB, testAPIKey)
		t.Cleanup(api.Close)
		return Config{
			BaseURL:       testBaseURL,
			InvoiceWriter: WriterAPI,
			// Retries wait a millisecond: the backoff is tested on its own.
			API: APIConfig{BaseURL: api.URL, Key: configuredKey, RetryMax: 2, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond},
		}
	})
	return &apiFixture{fixture: f, api: api}
}

func twoItems(ids schema.Seeded) hostapi.NewInvoice {
	return hostapi.NewInvoice{
		UserID:   ids.UserID,
		Currency: "EUR",
		DueAt:    time.Date(2025, 5, 20, 12, 0, 0, 0, time.UTC),
		Items: []hostapi.InvoiceItem{
			{Description: "Extra 2 GB memory", Price: dec("4.50"), Quantity: 2, ReferenceID: 5},
			{Description: "Extra backup slot", Price: dec("1.25")},
		},
	}
}

func TestAPIWriterCreatesInvoice(t *testing.T) {
	f := newAPIFixture(t, testAPIKey)
	inv, err := f.b.CreateInvoice(context.Background(), nil, twoItems(f.ids))
	if err != nil {
		t.Fatal(err)
	}
	// Numbered by the panel from the seeded counter 99, padding 4.
	if inv.Number != "INV-0100" || inv.Status != hostapi.InvoicePending || inv.UserID != f.ids.UserID || inv.Currency != "EUR" {
		t.Fatalf("invoice %+v", inv)
	}
	// 2 x 4.50 + 1 x 1.25 = 10.25
	if !inv.Total.Equal(dec("10.25")) || len(inv.Items) != 2 || inv.Items[0].Quantity != 2 {
		t.Fatalf("items %+v total %s", inv.Items, inv.Total)
	}
	if inv.PayURL != fmt.Sprintf("%s/invoices/%d", testBaseURL, inv.ID) {
		t.Fatalf("PayURL = %q", inv.PayURL)
	}

	reqs := f.api.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3 (invoice + 2 items)", len(reqs))
	}
	for _, r := range reqs {
		if r.Authorization != "Bearer "+testAPIKey || r.Accept != "application/json" || r.ContentType != "application/json" {
			t.Fatalf("headers of %s %s: auth %t accept %q content-type %q", r.Method, r.Path, r.Authorization == "Bearer "+testAPIKey, r.Accept, r.ContentType)
		}
	}
	var invoiceBody map[string]any
	if err := json.Unmarshal([]byte(reqs[0].Body), &invoiceBody); err != nil {
		t.Fatal(err)
	}
	if invoiceBody["currency_code"] != "EUR" || invoiceBody["due_at"] != "2025-05-20" || invoiceBody["status"] != "pending" {
		t.Fatalf("invoice request %s", reqs[0].Body)
	}
	// Paymenter's API only takes an existing PHP class as reference_type, so
	// items go without a reference (left alone when paid).
	for _, r := range reqs[1:] {
		if strings.Contains(r.Body, "reference_type") || !strings.Contains(r.Body, `"price":"4.50"`) && !strings.Contains(r.Body, `"price":"1.25"`) {
			t.Fatalf("item request %s", r.Body)
		}
	}
}

func TestAPIWriterFailures(t *testing.T) {
	laravel422 := `{"message":"The selected currency code is invalid.","errors":{"currency_code":["The selected currency code is invalid."]}}`
	tests := []struct {
		name          string
		configuredKey string
		failures      map[string][]paymentertest.Failure // "METHOD path" -> queue
		wantCode      hostapi.Code
		wantField     string
		wantInText    string
		// requests to the invoices endpoint, items endpoint
		wantInvoicePosts, wantItemPosts int
		wantInvoices                    int
	}{
		{
			name:     "500 then success is retried",
			failures: map[string][]paymentertest.Failure{"POST " + invoicesPath: {{Status: 500}}},
			// 1 failed + 1 successful invoice POST, 2 items.
			wantInvoicePosts: 2, wantItemPosts: 2, wantInvoices: 1,
		},
		{
			name:             "429 with Retry-After then success is retried",
			failures:         map[string][]paymentertest.Failure{"POST " + invoiceItemsPath: {{Status: 429, RetryAfter: "0"}}},
			wantInvoicePosts: 1, wantItemPosts: 3, wantInvoices: 1,
		},
		{
			name:             "422 is not retried",
			failures:         map[string][]paymentertest.Failure{"POST " + invoicesPath: {{Status: 422, Body: laravel422}}},
			wantCode:         hostapi.CodeInvalid,
			wantField:        "currency_code",
			wantInText:       "HTTP 422: The selected currency code is invalid.",
			wantInvoicePosts: 1,
		},
		{
			name:             "422 on an item deletes the invoice again",
			failures:         map[string][]paymentertest.Failure{"POST " + invoiceItemsPath: {paymentertest.Pass, {Status: 422, Body: `{"message":"The price field must be a number.","errors":{"price":["The price field must be a number."]}}`}}},
			wantCode:         hostapi.CodeInvalid,
			wantField:        "price",
			wantInText:       "deleted again",
			wantInvoicePosts: 1, wantItemPosts: 2,
		},
		{
			name:             "500 until retries run out",
			failures:         map[string][]paymentertest.Failure{"POST " + invoicesPath: {{Status: 500}, {Status: 502}, {Status: 503}}},
			wantCode:         hostapi.CodeUnavailable,
			wantInText:       "HTTP 503",
			wantInvoicePosts: 3, // RetryMax 2
		},
		{
			name:             "wrong key is refused once",
			configuredKey:    "PAYM" + strings.Repeat("f", 64),
			wantCode:         hostapi.CodePermission,
			wantInText:       "HTTP 401: Unauthenticated.",
			wantInvoicePosts: 1,
		},
		{
			name: "a body echoing the key is redacted",
			failures: map[string][]paymentertest.Failure{"POST " + invoicesPath: {{Status: 403,
				Body: `{"message":"Key ` + testAPIKey + ` lacks admin.invoices.create"}`}}},
			wantCode:         hostapi.CodePermission,
			wantInText:       "Key [redacted] lacks",
			wantInvoicePosts: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := tt.configuredKey
			if key == "" {
				key = testAPIKey
			}
			f := newAPIFixture(t, key)
			for k, queue := range tt.failures {
				method, path, _ := strings.Cut(k, " ")
				f.api.FailNext(method, path, queue...)
			}
			_, err := f.b.CreateInvoice(context.Background(), nil, twoItems(f.ids))
			if tt.wantCode == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				wantCode(t, err, tt.wantCode, tt.wantField)
				t.Logf("error: %v", err)
				if !strings.Contains(err.Error(), tt.wantInText) {
					t.Fatalf("error %q does not say %q", err, tt.wantInText)
				}
				assertNoSecrets(t, err.Error(), testAPIKey, key)
			}
			if got := f.api.RequestsTo(http.MethodPost, invoicesPath); got != tt.wantInvoicePosts {
				t.Fatalf("%d invoice POSTs, want %d", got, tt.wantInvoicePosts)
			}
			if got := f.api.RequestsTo(http.MethodPost, invoiceItemsPath); got != tt.wantItemPosts {
				t.Fatalf("%d item POSTs, want %d", got, tt.wantItemPosts)
			}
			if got := f.count(t, "invoices"); got != tt.wantInvoices {
				t.Fatalf("%d invoices on the panel, want %d", got, tt.wantInvoices)
			}
		})
	}
}

func TestAPIWriterRefusesBeforeCalling(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(inv *hostapi.NewInvoice)
		code   hostapi.Code
	}{
		{"unknown user", func(inv *hostapi.NewInvoice) { inv.UserID = 999999 }, hostapi.CodeNotFound},
		{"renewal reference type", func(inv *hostapi.NewInvoice) { inv.Items[0].ReferenceType = TypeService }, hostapi.CodeInvalid},
		{"three decimals", func(inv *hostapi.NewInvoice) { inv.Items[1].Price = dec("1.255") }, hostapi.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newAPIFixture(t, testAPIKey)
			inv := twoItems(f.ids)
			tt.mutate(&inv)
			_, err := f.b.CreateInvoice(context.Background(), nil, inv)
			wantCode(t, err, tt.code, "")
			if n := len(f.api.Requests()); n != 0 {
				t.Fatalf("%d API calls made", n)
			}
		})
	}
}

func TestRetryPolicy(t *testing.T) {
	tests := []struct {
		status int
		retry  bool
	}{
		{200, false}, {201, false}, {400, false}, {401, false}, {404, false}, {422, false},
		{429, true}, {500, true}, {501, false}, {502, true}, {503, true}, {504, true},
	}
	for _, tt := range tests {
		got, err := retryPolicy(context.Background(), &http.Response{StatusCode: tt.status}, nil)
		if err != nil || got != tt.retry {
			t.Errorf("status %d: retry %v (%v), want %v", tt.status, got, err, tt.retry)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		value  string
		want   time.Duration
		wantOK bool
	}{
		{"7", 7 * time.Second, true},
		{"0", 0, true},
		{" 3 ", 3 * time.Second, true},
		{"-1", 0, false},
		{"", 0, false},
		{"soon", 0, false},
		{"999999", maxRetryAfter, true},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
	}
	for _, tt := range tests {
		got, ok := retryAfter(tt.value, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tt.value, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestRetryBackoffHonoursRetryAfter(t *testing.T) {
	resp := func(status int, retryAfter string) *http.Response {
		r := &http.Response{StatusCode: status, Header: http.Header{}}
		if retryAfter != "" {
			r.Header.Set("Retry-After", retryAfter)
		}
		return r
	}
	tests := []struct {
		name    string
		resp    *http.Response
		attempt int
		want    time.Duration
	}{
		{"429 Retry-After", resp(429, "4"), 0, 4 * time.Second},
		{"500 Retry-After", resp(500, "2"), 3, 2 * time.Second},
		{"503 Retry-After", resp(503, "9"), 0, 9 * time.Second},
		// Without the header: min x 2^attempt, 1s x 4.
		{"500 without header", resp(500, ""), 2, 4 * time.Second},
		{"capped by max", resp(500, ""), 10, 30 * time.Second},
		{"connection error", nil, 1, 2 * time.Second},
	}
	for _, tt := range tests {
		if got := retryBackoff(time.Second, 30*time.Second, tt.attempt, tt.resp); got != tt.want {
			t.Errorf("%s: backoff %v, want %v", tt.name, got, tt.want)
		}
	}
}
