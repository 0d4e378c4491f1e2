package intake_test

import (
	"context"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/intake"
)

func TestRecordPaidReportsForeignInvoice(t *testing.T) {
	f := setup(t)
	rec, err := f.inbox.RecordPaid(context.Background(), 999999, intake.FromWebhook)
	if err != nil || rec.Owned || rec.NewJob {
		t.Fatalf("foreign invoice: %+v, %v; want Owned false and no error", rec, err)
	}
	if n := f.count(t, "SELECT COUNT(*) FROM upsell_inbox") + f.count(t, "SELECT COUNT(*) FROM upsell_jobs"); n != 0 {
		t.Fatalf("foreign invoice wrote %d rows", n)
	}
}

// The panel's invoice is the truth: a delivery for an invoice it does not
// call paid records nothing, so the poller keeps watching the invoice and a
// delivery after the payment is new.
func TestRecordPaidRecordsOnlyWhatThePanelCallsPaid(t *testing.T) {
	tests := []struct {
		name   string
		status hostapi.InvoiceStatus
		want   intake.Recorded
	}{
		{"pending", hostapi.InvoicePending, intake.Recorded{Owned: true}},
		{"cancelled", hostapi.InvoiceCancelled, intake.Recorded{Owned: true}},
		{"paid", hostapi.InvoicePaid, intake.Recorded{Owned: true, Paid: true, NewJob: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			inv := f.invoice(t, "microupsell")
			f.setStatus(t, inv, tc.status)
			for _, src := range []intake.Source{intake.FromWebhook, intake.FromPoller} {
				rec, err := f.inbox.RecordPaid(context.Background(), inv, src)
				if err != nil {
					t.Fatal(err)
				}
				want := tc.want
				if src == intake.FromPoller {
					want.NewJob = false // the webhook's job is already there
				}
				if rec != want {
					t.Fatalf("%s: recorded %+v, want %+v", src, rec, want)
				}
			}
			wantRows := 0
			if tc.status == hostapi.InvoicePaid {
				wantRows = 1
			}
			if n := f.count(t, "SELECT COUNT(*) FROM upsell_inbox"); n != wantRows {
				t.Fatalf("%d inbox rows, want %d", n, wantRows)
			}
			if n := f.count(t, "SELECT COUNT(*) FROM upsell_jobs"); n != wantRows {
				t.Fatalf("%d jobs, want %d", n, wantRows)
			}
			if tc.status == hostapi.InvoicePaid {
				return
			}
			// Paid later: the next delivery is new.
			f.setStatus(t, inv, hostapi.InvoicePaid)
			if rec, err := f.inbox.RecordPaid(context.Background(), inv, intake.FromWebhook); err != nil || !rec.NewJob {
				t.Fatalf("after the payment: %+v %v, want a new job", rec, err)
			}
		})
	}
}

// An inbox without a panel refuses to guess.
func TestRecordPaidWithoutPanelFails(t *testing.T) {
	f := setup(t)
	inv := f.paidInvoice(t, "microupsell")
	inbox := &intake.Inbox{DB: f.db.DB, Panel: f.inbox.Panel}
	if _, err := inbox.RecordPaid(context.Background(), inv, intake.FromWebhook); err == nil {
		t.Fatal("RecordPaid without a panel succeeded")
	}
	if n := f.count(t, "SELECT COUNT(*) FROM upsell_inbox") + f.count(t, "SELECT COUNT(*) FROM upsell_jobs"); n != 0 {
		t.Fatalf("wrote %d rows", n)
	}
}

// A delivery that waits on another transaction's lock past
// innodb_lock_wait_timeout (error 1205) is run again, not failed.
func TestRecordPaidRetriesAfterLockWaitTimeout(t *testing.T) {
	f := setup(t)
	f.db.RequireMySQL(t)
	ctx := context.Background()
	inv := f.paidInvoice(t, "microupsell")

	cfg, err := mysql.ParseDSN(f.db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Params = map[string]string{"innodb_lock_wait_timeout": "1"} // seconds, the minimum
	impatient, err := sqlx.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer impatient.Close()
	inbox := &intake.Inbox{DB: impatient, Panel: f.inbox.Panel, Invoices: f.binding, MaxAttempts: 3, Now: func() time.Time { return f.now }}

	// Another delivery of the same invoice holds the inbox row's key lock
	// for longer than one lock wait.
	blocker, err := f.db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback()
	if _, err := blocker.Exec(`INSERT INTO upsell_inbox (panel, invoice_id, kind, source, first_seen_at, last_seen_at, seen_count)
VALUES ('paymenter', ?, 'invoice.paid', 'poller', ?, ?, 1)`, inv, f.now, f.now); err != nil {
		t.Fatal(err)
	}
	const held = 1500 * time.Millisecond
	released := make(chan error, 1)
	go func() {
		time.Sleep(held)
		released <- blocker.Commit()
	}()

	start := time.Now()
	rec, err := inbox.RecordPaid(ctx, inv, intake.FromWebhook)
	if err != nil {
		t.Fatalf("RecordPaid behind a lock held %v: %v", held, err)
	}
	if err := <-released; err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < held {
		t.Fatalf("RecordPaid returned after %v, before the lock was released", waited)
	}
	if !rec.Owned || !rec.NewJob {
		t.Fatalf("recorded %+v, want an owned new job", rec)
	}
	if n := f.count(t, "SELECT seen_count FROM upsell_inbox WHERE invoice_id = ?", inv); n != 2 {
		t.Fatalf("seen %d times, want 2", n)
	}
	if n := f.count(t, "SELECT COUNT(*) FROM upsell_jobs"); n != 1 {
		t.Fatalf("%d jobs, want 1", n)
	}
}
