package intake_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upsell-io/upsell/adapters/paymenter"
	"github.com/upsell-io/upsell/adapters/paymenter/schema"
	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/host"
	"github.com/upsell-io/upsell/internal/intake"
	"github.com/upsell-io/upsell/internal/migrate"
	"github.com/upsell-io/upsell/internal/testdb"
)

var secret = []byte("webhook-secret-0123456789abcdef0123")

type fixture struct {
	db      *testdb.DB
	binding *paymenter.Binding
	inbox   *intake.Inbox
	seeded  schema.Seeded
	now     time.Time
}

func setup(t *testing.T) *fixture {
	t.Helper()
	return setupOn(t, testdb.New(t))
}

// setupOn is setup on a database of the caller's (a private server's).
func setupOn(t *testing.T, db *testdb.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	if err := schema.Create(ctx, db); err != nil {
		t.Fatal(err)
	}
	seeded, err := schema.Seed(ctx, db, schema.SeedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Host(ctx, db.DB.DB); err != nil {
		t.Fatal(err)
	}
	b, err := paymenter.New(ctx, db.DB, paymenter.Config{BaseURL: "https://panel.example"})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, binding: b, seeded: seeded, now: time.Now().UTC()}
	f.inbox = &intake.Inbox{DB: db.DB, Panel: "paymenter", Invoices: b, MaxAttempts: 3, Now: func() time.Time { return f.now }}
	return f
}

// setStatus sets an invoice's status on the panel, as a payment (or an
// admin) would.
func (f *fixture) setStatus(t *testing.T, invoiceID uint64, status hostapi.InvoiceStatus) {
	t.Helper()
	if _, err := f.db.Exec("UPDATE invoices SET status = ? WHERE id = ?", string(status), invoiceID); err != nil {
		t.Fatal(err)
	}
}

// paidInvoice creates an invoice as module would and marks it paid.
func (f *fixture) paidInvoice(t *testing.T, module string) uint64 {
	t.Helper()
	id := f.invoice(t, module)
	f.setStatus(t, id, hostapi.InvoicePaid)
	return id
}

// invoice creates an invoice as module "mod" would, through the host.
func (f *fixture) invoice(t *testing.T, module string) uint64 {
	t.Helper()
	h := host.New(host.Deps{DB: f.db.DB, Panel: f.binding}, module, "ext_x_").Host()
	inv, err := h.Panel.CreateInvoice(context.Background(), "", hostapi.NewInvoice{
		UserID: f.seeded.UserID, Currency: f.seeded.Currency,
		Items: []hostapi.InvoiceItem{{Description: "addon", Price: mustDec("1.00"), Quantity: 1, ReferenceType: `Upsell\Addon`, ReferenceID: 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return inv.ID
}

func (f *fixture) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.Get(&n, q, args...); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"event":"invoice.paid","invoice_id":7}`)
	ts := strconv.FormatInt(now.Unix(), 10)
	good := intake.Sign(secret, ts, body)
	tests := []struct {
		name      string
		ts, sig   string
		body      []byte
		now       time.Time
		wantValid bool
	}{
		{"good", ts, good, body, now, true},
		{"4 minutes late", ts, good, body, now.Add(4 * time.Minute), true},
		{"tampered body", ts, good, []byte(`{"event":"invoice.paid","invoice_id":8}`), now, false},
		{"wrong secret", ts, intake.Sign([]byte("other"), ts, body), body, now, false},
		{"replayed after 6 minutes", ts, good, body, now.Add(6 * time.Minute), false},
		{"from the future", ts, good, body, now.Add(-6 * time.Minute), false},
		{"timestamp swapped", strconv.FormatInt(now.Unix()+1, 10), good, body, now, false},
		{"no signature", ts, "", body, now, false},
		{"garbage timestamp", "yesterday", good, body, now, false},
	}
	for _, tc := range tests {
		err := intake.Verify(secret, tc.ts, tc.sig, tc.body, tc.now)
		if (err == nil) != tc.wantValid {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func post(h http.Handler, body []byte, ts time.Time, key []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/webhooks/paymenter", bytes.NewReader(body))
	sts := strconv.FormatInt(ts.Unix(), 10)
	req.Header.Set(intake.HeaderTimestamp, sts)
	req.Header.Set(intake.HeaderSignature, intake.Sign(key, sts, body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestWebhookDuplicatesMakeOneJob(t *testing.T) {
	f := setup(t)
	inv := f.paidInvoice(t, "microupsell")
	h := intake.WebhookHandler(secret, f.inbox, discard(), func() time.Time { return f.now })
	body := []byte(`{"event":"invoice.paid","invoice_id":` + strconv.FormatUint(inv, 10) + `}`)

	deliver := func() {
		if rec := post(h, body, f.now, secret); rec.Code != http.StatusAccepted {
			t.Errorf("delivery: %d %s", rec.Code, rec.Body)
		}
	}
	// Concurrent deliveries need real row locking; the embedded engine
	// gets them one after another.
	var wg sync.WaitGroup
	for range 5 {
		if f.db.Embedded {
			deliver()
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); deliver() }()
	}
	wg.Wait()
	if _, err := (&intake.Poller{Inbox: f.inbox, Panel: f.binding}).Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t, "SELECT COUNT(*) FROM upsell_jobs WHERE module = 'microupsell'"); n != 1 {
		t.Fatalf("%d jobs for one invoice", n)
	}
	if n := f.count(t, "SELECT seen_count FROM upsell_inbox WHERE invoice_id = ?", inv); n != 5 {
		t.Fatalf("seen %d times, want 5", n)
	}
}

func TestWebhookRefusalsChangeNothing(t *testing.T) {
	f := setup(t)
	inv := f.invoice(t, "microupsell")
	h := intake.WebhookHandler(secret, f.inbox, discard(), func() time.Time { return f.now })
	body := []byte(`{"event":"invoice.paid","invoice_id":` + strconv.FormatUint(inv, 10) + `}`)
	cases := []struct {
		name string
		rec  *httptest.ResponseRecorder
		code int
	}{
		{"forged", post(h, body, f.now, []byte("not the secret")), http.StatusUnauthorized},
		{"replayed late", post(h, body, f.now.Add(-10*time.Minute), secret), http.StatusUnauthorized},
		{"unknown event", post(h, []byte(`{"event":"invoice.created","invoice_id":1}`), f.now, secret), http.StatusBadRequest},
		{"extra field", post(h, []byte(`{"event":"invoice.paid","invoice_id":1,"amount":"0"}`), f.now, secret), http.StatusBadRequest},
		{"not json", post(h, []byte(`invoice 1 paid`), f.now, secret), http.StatusBadRequest},
	}
	for _, c := range cases {
		if c.rec.Code != c.code {
			t.Errorf("%s: %d %s, want %d", c.name, c.rec.Code, c.rec.Body, c.code)
		}
	}
	if n := f.count(t, "SELECT COUNT(*) FROM upsell_inbox") + f.count(t, "SELECT COUNT(*) FROM upsell_jobs"); n != 0 {
		t.Fatalf("refused deliveries wrote %d rows", n)
	}
	// A valid delivery for an invoice upsell did not create is ignored.
	if rec := post(h, []byte(`{"event":"invoice.paid","invoice_id":999999}`), f.now, secret); rec.Code != http.StatusAccepted {
		t.Fatalf("foreign invoice: %d", rec.Code)
	}
	if n := f.count(t, "SELECT COUNT(*) FROM upsell_jobs"); n != 0 {
		t.Fatal("foreign invoice enqueued a job")
	}
}

func TestPollerWatchesOnlyOpenUpsellInvoices(t *testing.T) {
	f := setup(t)
	paid, open := f.invoice(t, "microupsell"), f.invoice(t, "microupsell")
	if _, err := f.db.Exec("UPDATE invoices SET status = 'paid' WHERE id = ?", paid); err != nil {
		t.Fatal(err)
	}
	p := &intake.Poller{Inbox: f.inbox, Panel: f.binding}
	n, err := p.Poll(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("first poll found %d (%v)", n, err)
	}
	if n, _ := p.Poll(context.Background()); n != 0 {
		t.Fatalf("second poll found %d again", n)
	}
	if f.count(t, "SELECT COUNT(*) FROM upsell_jobs") != 1 || f.count(t, "SELECT COUNT(*) FROM upsell_inbox WHERE invoice_id = ?", open) != 0 {
		t.Fatal("poller recorded the wrong invoices")
	}
}

// countingModule fails its first failures deliveries.
type countingModule struct {
	hostapi.Module
	calls    atomic.Int64
	failures int64
	err      error
}

func (m *countingModule) HandleEvent(_ context.Context, ev hostapi.Event) (hostapi.EventResult, error) {
	if m.calls.Add(1) <= m.failures {
		return hostapi.EventResult{}, m.err
	}
	return hostapi.EventResult{Handled: true}, nil
}

type oneModule struct{ m hostapi.Module }

func (o oneModule) Module(name string) (hostapi.Module, error) {
	if name != "microupsell" {
		return nil, hostapi.Errorf(hostapi.CodeNotFound, "no module %s", name)
	}
	return o.m, nil
}

func TestWorkerRetriesThenParks(t *testing.T) {
	tests := []struct {
		name     string
		failures int64
		err      error
		state    string
		calls    int64
	}{
		{"succeeds first time", 0, nil, "done", 1},
		{"retried after an outage", 2, hostapi.Errorf(hostapi.CodeUnavailable, "adapter down"), "done", 3},
		{"parked after the limit", 9, hostapi.Errorf(hostapi.CodeUnavailable, "adapter down"), "dead", 3},
		{"invalid is not retried", 9, hostapi.Invalid("invoice", "belongs to another user"), "dead", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			inv := f.paidInvoice(t, "microupsell")
			if _, err := f.inbox.RecordPaid(context.Background(), inv, intake.FromPoller); err != nil {
				t.Fatal(err)
			}
			m := &countingModule{failures: tc.failures, err: tc.err}
			w := &intake.Worker{DB: f.db.DB, Modules: oneModule{m}, Owner: "test", Logger: discard(),
				Backoff: func(int) time.Duration { return 0 }, Now: func() time.Time { return f.now }}
			for {
				did, err := w.RunOnce(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if !did {
					break
				}
			}
			var state string
			if err := f.db.Get(&state, "SELECT state FROM upsell_jobs"); err != nil {
				t.Fatal(err)
			}
			if state != tc.state || m.calls.Load() != tc.calls {
				t.Fatalf("state %s after %d calls, want %s after %d", state, m.calls.Load(), tc.state, tc.calls)
			}
		})
	}
}

func TestExpiredLeaseIsReclaimed(t *testing.T) {
	f := setup(t)
	inv := f.paidInvoice(t, "microupsell")
	if _, err := f.inbox.RecordPaid(context.Background(), inv, intake.FromWebhook); err != nil {
		t.Fatal(err)
	}
	// A replica claimed the job and died: its lease ran out.
	if _, err := f.db.Exec("UPDATE upsell_jobs SET state = 'running', lease_owner = 'dead-replica', lease_until = ?, attempts = 1", f.now.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	m := &countingModule{}
	w := &intake.Worker{DB: f.db.DB, Modules: oneModule{m}, Owner: "alive", Logger: discard(), Now: func() time.Time { return f.now }}
	if did, err := w.RunOnce(context.Background()); !did || err != nil {
		t.Fatalf("reclaim: %v %v", did, err)
	}
	if m.calls.Load() != 1 || f.count(t, "SELECT COUNT(*) FROM upsell_jobs WHERE state = 'done'") != 1 {
		t.Fatal("expired lease not reclaimed")
	}
	if did, _ := w.RunOnce(context.Background()); did {
		t.Fatal("finished job ran again")
	}
}
