package e2e

import (
	"context"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upsell-io/upsell/internal/intake"
	"github.com/upsell-io/upsell/internal/pterosim"
	"github.com/upsell-io/upsell/migrations"
)

// webhook posts a signed paid-invoice webhook, as the bridges do.
func (e *env) webhook(t *testing.T, invoiceID uint64) response {
	t.Helper()
	header, body := e.signedWebhook(invoiceID)
	return e.do("POST", "/webhooks/paymenter", header, body)
}

// signedWebhook is an invoice.paid webhook's headers and body, signed with
// the daemon's webhook secret as a bridge signs it.
func (e *env) signedWebhook(invoiceID uint64) (map[string]string, []byte) {
	body := []byte(`{"event":"invoice.paid","invoice_id":` + strconv.FormatUint(invoiceID, 10) + `}`)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	return map[string]string{
		intake.HeaderTimestamp: ts,
		intake.HeaderSignature: intake.Sign([]byte(e.cfg.Security.WebhookSecret.Reveal()), ts, body),
	}, body
}

// poll runs one poller round.
func (e *env) poll(t *testing.T) int {
	t.Helper()
	n, err := (&intake.Poller{Inbox: e.inbox, Panel: e.d.Panel, Logger: discard()}).Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// deliverPaid delivers a paid invoice three times by webhook and once by the
// poller, at the same time (one after another on the embedded engine), then
// runs the jobs.
func (e *env) deliverPaid(t *testing.T, invoiceID uint64) {
	t.Helper()
	var wg sync.WaitGroup
	deliver := func(f func()) {
		if e.db.Embedded {
			f()
			return
		}
		wg.Go(f)
	}
	for range 3 {
		deliver(func() {
			if r := e.webhook(t, invoiceID); r.code != http.StatusAccepted {
				t.Errorf("webhook: %d %s", r.code, r.body)
			}
		})
	}
	deliver(func() {
		if _, err := (&intake.Poller{Inbox: e.inbox, Panel: e.d.Panel, Logger: discard()}).Poll(context.Background()); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	e.drain()
}

// appliedOnce checks the +1 GB order was applied exactly once.
func (e *env) appliedOnce(t *testing.T, o orderOut) {
	t.Helper()
	if got := e.order(o.ID); got.State != "applied" {
		t.Fatalf("order %+v, want applied", got)
	}
	if s := e.snapshot(); s.memory != 5120 || s.price != "12.00" {
		t.Fatalf("end state %+v, want 5120 MiB at 12.00", s)
	}
	if n := e.sim.Requests(pterosim.RouteUpdateBuild); n != 1 {
		t.Fatalf("%d build PATCHes, want 1", n)
	}
	if n := e.count(t, "SELECT COUNT(*) FROM upsell_audit WHERE action = 'addon.applied'"); n != 1 {
		t.Fatalf("%d addon.applied entries, want 1", n)
	}
}

// A correctly signed webhook for an upsell invoice that is not paid yet
// records nothing; however long the payment takes (past the whole retry
// budget a job would have had), the poller and the webhooks that follow the
// payment apply it, once.
func TestPrematureWebhookAppliedOnceWhenPaidLate(t *testing.T) {
	e := newEnv(t)
	o := e.buy(e.ramPackage(), "early")
	e.sim.ResetStats()

	r := e.webhook(t, o.InvoiceID)
	if r.code != http.StatusAccepted || strings.TrimSpace(string(r.body)) != `{"new":false,"owned":true,"paid":false}` {
		t.Fatalf("premature webhook: %d %s", r.code, r.body)
	}
	// Long past the retry budget (10 attempts, backoff up to 10 minutes):
	// the replicas' workers and pollers go round, and nothing dies.
	late := time.Now().Add(3 * time.Hour)
	e.worker.Now = func() time.Time { return late }
	for range 3 {
		if n := e.poll(t); n != 0 {
			t.Fatalf("the poller recorded %d unpaid invoices", n)
		}
		e.drain()
		if r := e.webhook(t, o.InvoiceID); r.code != http.StatusAccepted {
			t.Fatalf("webhook: %d %s", r.code, r.body)
		}
	}
	if n := e.count(t, "SELECT COUNT(*) FROM upsell_inbox") + e.count(t, "SELECT COUNT(*) FROM upsell_jobs"); n != 0 {
		t.Fatalf("webhooks for an unpaid invoice wrote %d rows", n)
	}
	if s := e.snapshot(); s.memory != 4096 || s.price != "10.00" {
		t.Fatalf("applied before payment: %+v", s)
	}

	e.pay(o.InvoiceID)
	e.deliverPaid(t, o.InvoiceID)
	e.appliedOnce(t, o)
	if n := e.count(t, "SELECT COUNT(*) FROM upsell_jobs WHERE state = 'done'"); n != 1 {
		t.Fatalf("%d done jobs, want 1", n)
	}
	// Later deliveries are not new and change nothing.
	if r := e.webhook(t, o.InvoiceID); strings.TrimSpace(string(r.body)) != `{"new":false,"owned":true,"paid":true}` {
		t.Fatalf("webhook after the apply: %d %s", r.code, r.body)
	}
	e.drain()
	e.appliedOnce(t, o)
}

// Before the fix, a premature webhook's job was retried until dead and
// nothing delivered the invoice once paid. Migration 00010 revives such a
// job: paid by now, it is applied once; still unpaid, the worker forgets it
// and the payment, whenever it comes, is applied once.
func TestJobDeadForAnUnpaidInvoiceIsRevived(t *testing.T) {
	tests := []struct {
		name         string
		paidBeforeUp bool
	}{
		{"paid before the upgrade", true},
		{"paid after the upgrade", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			o := e.buy(e.ramPackage(), "legacy")
			e.sim.ResetStats()
			e.legacyDeadJob(t, o.InvoiceID)
			if tc.paidBeforeUp {
				e.pay(o.InvoiceID)
				// The bug: the inbox row hides the paid invoice from the
				// poller, and the webhook is not new.
				if n := e.poll(t); n != 0 {
					t.Fatalf("the poller found %d invoices behind a dead job", n)
				}
				if r := e.webhook(t, o.InvoiceID); strings.TrimSpace(string(r.body)) != `{"new":false,"owned":true,"paid":true}` {
					t.Fatalf("webhook: %s", r.body)
				}
				e.drain()
				if got := e.order(o.ID); got.State != "awaiting_payment" {
					t.Fatalf("order %+v before the migration", got)
				}
			}

			e.migration10(t)
			e.drain()
			if !tc.paidBeforeUp {
				// Run once, found unpaid, forgotten.
				if n := e.count(t, "SELECT COUNT(*) FROM upsell_inbox") + e.count(t, "SELECT COUNT(*) FROM upsell_jobs"); n != 0 {
					t.Fatalf("%d rows left for the unpaid invoice, want it forgotten", n)
				}
				e.pay(o.InvoiceID)
				e.deliverPaid(t, o.InvoiceID)
			} else {
				e.deliverPaid(t, o.InvoiceID)
			}
			e.appliedOnce(t, o)
		})
	}
}

// legacyDeadJob makes what the intake before the fix left for a premature
// webhook: the inbox row and job it recorded for an unpaid invoice, run by a
// worker that did not ask the panel until its attempts ran out.
func (e *env) legacyDeadJob(t *testing.T, invoiceID uint64) {
	t.Helper()
	now := time.Now().UTC()
	res, err := e.db.Exec(`INSERT INTO upsell_inbox (panel, invoice_id, kind, source, first_seen_at, last_seen_at, seen_count)
VALUES ('paymenter', ?, 'invoice.paid', 'webhook', ?, ?, 1)`, invoiceID, now, now)
	if err != nil {
		t.Fatal(err)
	}
	inboxID, _ := res.LastInsertId()
	id := strconv.FormatUint(invoiceID, 10)
	if _, err := e.db.Exec(`INSERT INTO upsell_jobs (kind, module, inbox_id, dedupe_key, payload, state, attempts, max_attempts, run_after, created_at, updated_at)
VALUES ('event', 'microupsell', ?, ?, ?, 'pending', 0, 3, ?, ?, ?)`, inboxID, "invoice.paid:paymenter:"+id+":microupsell",
		`{"kind":"invoice.paid","panel":"paymenter","invoice_id":`+id+`}`, now, now, now); err != nil {
		t.Fatal(err)
	}
	old := &intake.Worker{DB: e.db.DB, Modules: e.d.Supervisor, Owner: "old", Logger: discard(), Backoff: func(int) time.Duration { return 0 }}
	for {
		did, err := old.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !did {
			break
		}
	}
	var state string
	if err := e.db.Get(&state, "SELECT state FROM upsell_jobs"); err != nil || state != "dead" {
		t.Fatalf("legacy job %q (%v), want dead", state, err)
	}
}

// migration10 runs the Up statement of migrations/00010 on the database,
// as goose does on upgrade.
func (e *env) migration10(t *testing.T) {
	t.Helper()
	body, err := fs.ReadFile(migrations.FS, "00010_revive_unpaid_dead_jobs.sql")
	if err != nil {
		t.Fatal(err)
	}
	_, up, _ := strings.Cut(string(body), "-- +goose Up\n")
	up, _, _ = strings.Cut(up, "-- +goose Down")
	res, err := e.db.Exec(strings.TrimSuffix(strings.TrimSpace(up), ";"))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("migration 00010 revived %d jobs, want 1", n)
	}
}
