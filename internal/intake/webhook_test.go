package intake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/intake"
)

// failingRecorder cannot record anything.
type failingRecorder struct{}

func (failingRecorder) RecordPaid(context.Context, uint64, intake.Source) (intake.Recorded, error) {
	return intake.Recorded{}, errors.New("database is down")
}

// logLines decodes JSON log lines.
func logLines(t *testing.T, b *logBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestWebhookAnswersAreJSON(t *testing.T) {
	f := setup(t)
	inv := f.invoice(t, "microupsell")
	now := func() time.Time { return f.now }
	good := []byte(`{"event":"invoice.paid","invoice_id":` + strconv.FormatUint(inv, 10) + `}`)
	ok := intake.WebhookHandler(secret, f.inbox, discard(), now)
	logger, logs := capture()
	broken := intake.WebhookHandler(secret, failingRecorder{}, logger, now)

	cases := []struct {
		name string
		rec  *httptest.ResponseRecorder
		code int
	}{
		{"accepted", post(ok, good, f.now, secret), http.StatusAccepted},
		{"bad signature", post(ok, good, f.now, []byte("not the secret")), http.StatusUnauthorized},
		{"bad body", post(ok, []byte(`nope`), f.now, secret), http.StatusBadRequest},
		{"too large", post(ok, bytes.Repeat([]byte("x"), 65<<10), f.now, secret), http.StatusRequestEntityTooLarge},
		{"not recorded", post(broken, good, f.now, secret), http.StatusServiceUnavailable},
	}
	for _, c := range cases {
		if c.rec.Code != c.code {
			t.Errorf("%s: status %d, want %d", c.name, c.rec.Code, c.code)
		}
		if ct := c.rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", c.name, ct)
		}
		var body map[string]any
		if err := json.Unmarshal(c.rec.Body.Bytes(), &body); err != nil {
			t.Errorf("%s: body %q is not a JSON object: %v", c.name, c.rec.Body, err)
		}
	}

	// The failure to record is logged, with the invoice, not thrown away.
	lines := logLines(t, logs)
	if len(lines) != 1 || lines[0]["level"] != "ERROR" || lines[0]["invoice_id"] != float64(inv) ||
		!strings.Contains(lines[0]["error"].(string), "database is down") {
		t.Fatalf("logged %v, want one error naming invoice %d and the cause", lines, inv)
	}
}

func TestWebhookLogsForeignInvoice(t *testing.T) {
	f := setup(t)
	logger, logs := capture()
	h := intake.WebhookHandler(secret, f.inbox, logger, func() time.Time { return f.now })
	rec := post(h, []byte(`{"event":"invoice.paid","invoice_id":999999}`), f.now, secret)
	if rec.Code != http.StatusAccepted || strings.TrimSpace(rec.Body.String()) != `{"new":false,"owned":false,"paid":false}` {
		t.Fatalf("foreign invoice: %d %s", rec.Code, rec.Body)
	}
	lines := logLines(t, logs)
	if len(lines) != 1 || lines[0]["level"] != "WARN" || lines[0]["invoice_id"] != float64(999999) {
		t.Fatalf("logged %v, want one warning naming invoice 999999", lines)
	}

	// An owned paid invoice is not worth a warning.
	inv := f.paidInvoice(t, "microupsell")
	if rec := post(h, []byte(`{"event":"invoice.paid","invoice_id":`+strconv.FormatUint(inv, 10)+`}`), f.now, secret); rec.Code != http.StatusAccepted {
		t.Fatalf("owned invoice: %d %s", rec.Code, rec.Body)
	}
	if n := len(logLines(t, logs)); n != 1 {
		t.Fatalf("%d log lines after an owned invoice, want still 1", n)
	}
}

// A webhook that comes before the payment is a hint the panel does not
// confirm: it is accepted (the bridge does not retry), logged, and records
// nothing, so the delivery after the payment is new.
func TestWebhookBeforePaymentRecordsNothing(t *testing.T) {
	f := setup(t)
	logger, logs := capture()
	h := intake.WebhookHandler(secret, f.inbox, logger, func() time.Time { return f.now })
	inv := f.invoice(t, "microupsell")
	body := []byte(`{"event":"invoice.paid","invoice_id":` + strconv.FormatUint(inv, 10) + `}`)

	rec := post(h, body, f.now, secret)
	if rec.Code != http.StatusAccepted || strings.TrimSpace(rec.Body.String()) != `{"new":false,"owned":true,"paid":false}` {
		t.Fatalf("unpaid invoice: %d %s", rec.Code, rec.Body)
	}
	if n := f.count(t, "SELECT COUNT(*) FROM upsell_inbox") + f.count(t, "SELECT COUNT(*) FROM upsell_jobs"); n != 0 {
		t.Fatalf("a webhook for an unpaid invoice wrote %d rows", n)
	}
	lines := logLines(t, logs)
	if len(lines) != 1 || lines[0]["level"] != "INFO" || lines[0]["invoice_id"] != float64(inv) {
		t.Fatalf("logged %v, want one info line naming invoice %d", lines, inv)
	}

	f.setStatus(t, inv, hostapi.InvoicePaid)
	if rec := post(h, body, f.now, secret); rec.Code != http.StatusAccepted || strings.TrimSpace(rec.Body.String()) != `{"new":true,"owned":true,"paid":true}` {
		t.Fatalf("after the payment: %d %s", rec.Code, rec.Body)
	}
	if n := f.count(t, "SELECT COUNT(*) FROM upsell_jobs WHERE inbox_id = (SELECT id FROM upsell_inbox WHERE invoice_id = ?)", inv); n != 1 {
		t.Fatalf("%d jobs after the payment, want 1", n)
	}
}
