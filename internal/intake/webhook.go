package intake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Webhook headers set by the panel-side bridges.
const (
	HeaderTimestamp = "X-Upsell-Timestamp"
	HeaderSignature = "X-Upsell-Signature"
)

// MaxSkew is how far a webhook's timestamp may be from now.
const MaxSkew = 5 * time.Minute

// maxWebhookBody bounds what the webhook reads.
const maxWebhookBody = 64 << 10

// ErrSignature is returned for a missing, forged or stale signature.
var ErrSignature = errors.New("invalid webhook signature")

// Sign returns the signature the bridges send: hex HMAC-SHA256 of
// "<timestamp>.<body>".
func Sign(secret []byte, timestamp string, body []byte) string {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(timestamp))
	h.Write([]byte("."))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Verify checks a webhook's signature and its timestamp window.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time) error {
	if len(secret) == 0 || timestamp == "" || signature == "" {
		return ErrSignature
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return ErrSignature
	}
	if d := now.Sub(time.Unix(ts, 0)); d > MaxSkew || d < -MaxSkew {
		return ErrSignature
	}
	want := Sign(secret, timestamp, body)
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return ErrSignature
	}
	return nil
}

// WebhookEvent is the body a bridge posts.
type WebhookEvent struct {
	Event     string `json:"event"`
	InvoiceID uint64 `json:"invoice_id"`
}

// ParseWebhook decodes and checks a webhook body.
func ParseWebhook(body []byte) (WebhookEvent, error) {
	var ev WebhookEvent
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return WebhookEvent{}, fmt.Errorf("webhook body: %w", err)
	}
	if ev.Event != "invoice.paid" {
		return WebhookEvent{}, fmt.Errorf("webhook event %q is not handled", ev.Event)
	}
	if ev.InvoiceID == 0 {
		return WebhookEvent{}, errors.New("webhook body lacks invoice_id")
	}
	return ev, nil
}

// Recorder is what the webhook needs of the inbox.
type Recorder interface {
	RecordPaid(ctx context.Context, invoiceID uint64, src Source) (Recorded, error)
}

// WebhookHandler serves POST /webhooks/<panel>. A valid delivery answers 202
// whether or not it was new, or the panel calls the invoice paid yet (so
// bridges stop retrying: the poller finds an invoice paid later); a bad
// signature 401;
// a bad body 400; an oversized body 413; a failure to record it 503 (so the
// bridge retries). Every answer is a JSON object. logger receives recording
// failures and valid deliveries for invoices upsell does not own.
func WebhookHandler(secret []byte, rec Recorder, logger *slog.Logger, now func() time.Time) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
		if err != nil {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "body too large"})
			return
		}
		if err := Verify(secret, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, now()); err != nil {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid signature"})
			return
		}
		ev, err := ParseWebhook(body)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		res, err := rec.RecordPaid(r.Context(), ev.InvoiceID, FromWebhook)
		if err != nil {
			logger.Error("record paid-invoice webhook", "invoice_id", ev.InvoiceID, "error", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "try again"})
			return
		}
		if !res.Owned {
			// Expected for invoices the panel made itself. But the api
			// invoice writer creates the invoice over HTTP, outside the
			// transaction that records its owner: a failed commit there
			// leaves a paid upsell invoice that nothing will deliver.
			logger.Warn("paid-invoice webhook for an invoice upsell does not own; ignored", "invoice_id", ev.InvoiceID)
		} else if !res.Paid {
			logger.Info("paid-invoice webhook for an invoice the panel does not call paid; the poller watches it", "invoice_id", ev.InvoiceID)
		}
		writeJSON(w, http.StatusAccepted, map[string]bool{"owned": res.Owned, "paid": res.Paid, "new": res.NewJob})
	})
}

// writeJSON answers status with v as a JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
