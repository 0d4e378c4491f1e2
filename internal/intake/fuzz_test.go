package intake

import (
	"strconv"
	"testing"
	"time"
)

// FuzzWebhook feeds arbitrary bodies, timestamps and signatures to the
// verifier and the parser: nothing may panic, only a correctly signed,
// fresh body may pass Verify, and ParseWebhook accepts only what it can
// route.
func FuzzWebhook(f *testing.F) {
	secret := []byte("fuzz-secret-0123456789abcdef01234567")
	now := time.Unix(1_800_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	f.Add([]byte(`{"event":"invoice.paid","invoice_id":7}`), ts, "")
	f.Add([]byte(`{"event":"invoice.paid","invoice_id":0}`), ts, "00")
	f.Add([]byte(`{}`), "x", "zz")
	f.Add([]byte(`[1,2]`), "-1", "")
	f.Fuzz(func(t *testing.T, body []byte, timestamp, signature string) {
		if err := Verify(secret, timestamp, signature, body, now); err == nil {
			if signature != Sign(secret, timestamp, body) {
				t.Fatalf("accepted a wrong signature %q", signature)
			}
		}
		// A correctly signed copy verifies only inside the window.
		good := Sign(secret, timestamp, body)
		err := Verify(secret, timestamp, good, body, now)
		if n, perr := strconv.ParseInt(timestamp, 10, 64); perr == nil {
			d := now.Sub(time.Unix(n, 0))
			inWindow := d <= MaxSkew && d >= -MaxSkew
			if (err == nil) != inWindow {
				t.Fatalf("timestamp %q: err %v, in window %v", timestamp, err, inWindow)
			}
		} else if err == nil {
			t.Fatalf("unparsable timestamp %q verified", timestamp)
		}
		if ev, err := ParseWebhook(body); err == nil && (ev.Event != "invoice.paid" || ev.InvoiceID == 0) {
			t.Fatalf("parsed an unroutable event %+v", ev)
		}
	})
}
