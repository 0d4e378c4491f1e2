package paymenter

import (
	"context"
	"testing"
	"time"

	"github.com/upsell-io/upsell/adapters/paymenter/schema"
	"github.com/upsell-io/upsell/hostapi"
)

// invoiceStatus is the stored status of an invoice.
func (f *fixture) invoiceStatus(t *testing.T, id uint64) string {
	t.Helper()
	var s string
	if err := f.db.GetContext(context.Background(), &s, "SELECT `status` FROM `invoices` WHERE `id` = ?", id); err != nil {
		t.Fatal(err)
	}
	return s
}

// addPayment records a gateway payment on an invoice, as Paymenter's
// addPayment does: the invoice locked first, then the transaction.
func (f *fixture) addPayment(t *testing.T, invoiceID uint64, amount, status string) {
	t.Helper()
	ctx := context.Background()
	tx, err := f.db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var s string
	if err := tx.GetContext(ctx, &s, "SELECT `status` FROM `invoices` WHERE `id` = ? FOR UPDATE", invoiceID); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO `invoice_transactions` (`invoice_id`, `amount`, `transaction_id`, `status`, `created_at`, `updated_at`)"+
		" VALUES (?, ?, ?, ?, NOW(), NOW())", invoiceID, amount, "gw-"+amount+status, status); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestCancelInvoice(t *testing.T) {
	tests := []struct {
		name string
		// prepare turns a fresh 5.00 invoice into the case's invoice.
		prepare    func(t *testing.T, f *fixture, id uint64)
		code       hostapi.Code // empty: cancelled
		wantStatus string
	}{
		{"unpaid: cancelled", func(*testing.T, *fixture, uint64) {}, "", "cancelled"},
		{"paid: refused", func(t *testing.T, f *fixture, id uint64) {
			f.addPayment(t, id, "5.00", "succeeded")
			f.exec(t, "UPDATE `invoices` SET `status` = 'paid' WHERE `id` = ?", id)
		}, hostapi.CodePrecondition, "paid"},
		{"partly paid (2.00 of 5.00): refused", func(t *testing.T, f *fixture, id uint64) {
			f.addPayment(t, id, "2.00", "succeeded")
		}, hostapi.CodePrecondition, "pending"},
		{"a payment processing at the gateway: refused", func(t *testing.T, f *fixture, id uint64) {
			f.addPayment(t, id, "5.00", "processing")
		}, hostapi.CodePrecondition, "pending"},
		{"only a failed payment: cancelled", func(t *testing.T, f *fixture, id uint64) {
			f.addPayment(t, id, "5.00", "failed")
		}, "", "cancelled"},
		{"already cancelled: refused", func(t *testing.T, f *fixture, id uint64) {
			f.exec(t, "UPDATE `invoices` SET `status` = 'cancelled' WHERE `id` = ?", id)
		}, hostapi.CodePrecondition, "cancelled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC)
			f := newFixture(t, schema.SeedOptions{}, Config{Clock: fixedClock(now)})
			ctx := context.Background()
			inv, err := f.b.CreateInvoice(ctx, nil, oneItem(f.ids, "5.00"))
			if err != nil {
				t.Fatal(err)
			}
			tc.prepare(t, f, inv.ID)
			payments := f.count(t, "invoice_transactions")
			err = f.b.CancelInvoice(ctx, nil, inv.ID)
			if tc.code == "" && err != nil {
				t.Fatalf("cancel: %v", err)
			}
			if tc.code != "" {
				wantCode(t, err, tc.code, "")
			}
			if got := f.invoiceStatus(t, inv.ID); got != tc.wantStatus {
				t.Fatalf("status %q, want %q", got, tc.wantStatus)
			}
			if f.count(t, "invoices") != 1 || f.count(t, "invoice_items") != 1 || f.count(t, "invoice_transactions") != payments {
				t.Fatal("a cancel added or removed rows")
			}
		})
	}
	t.Run("unknown invoice", func(t *testing.T) {
		f := newFixture(t, schema.SeedOptions{}, Config{})
		wantCode(t, f.b.CancelInvoice(context.Background(), nil, 424242), hostapi.CodeNotFound, "")
	})
}

// The cancel joins the caller's transaction: rolled back, the invoice is
// still pending and payable.
func TestCancelInvoiceJoinsCallerTx(t *testing.T) {
	f := newFixture(t, schema.SeedOptions{}, Config{})
	ctx := context.Background()
	inv, err := f.b.CreateInvoice(ctx, nil, oneItem(f.ids, "5.00"))
	if err != nil {
		t.Fatal(err)
	}
	tx, err := f.db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.b.CancelInvoice(ctx, tx, inv.ID); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got := f.invoiceStatus(t, inv.ID); got != "pending" {
		t.Fatalf("after a rollback the invoice is %q, want pending", got)
	}
}

// A payment and a cancel at the same moment: whichever takes the invoice's
// lock first wins, and the other sees what it did.
func TestCancelInvoiceRacesPayment(t *testing.T) {
	f := newFixture(t, schema.SeedOptions{}, Config{})
	f.db.RequireMySQL(t)
	ctx := context.Background()

	t.Run("payment committed after the caller's snapshot: refused", func(t *testing.T) {
		inv, err := f.b.CreateInvoice(ctx, nil, oneItem(f.ids, "5.00"))
		if err != nil {
			t.Fatal(err)
		}
		tx, err := f.db.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		// The module's transaction has read already (its snapshot is
		// taken) when the payment commits on another connection.
		var n int
		if err := tx.GetContext(ctx, &n, "SELECT COUNT(*) FROM `invoice_transactions` WHERE `invoice_id` = ?", inv.ID); err != nil || n != 0 {
			t.Fatalf("snapshot read: %d %v", n, err)
		}
		f.addPayment(t, inv.ID, "2.00", "succeeded")
		wantCode(t, f.b.CancelInvoice(ctx, tx, inv.ID), hostapi.CodePrecondition, "")
	})

	t.Run("payment arriving while the cancel holds the lock: finds it cancelled", func(t *testing.T) {
		inv, err := f.b.CreateInvoice(ctx, nil, oneItem(f.ids, "5.00"))
		if err != nil {
			t.Fatal(err)
		}
		tx, err := f.db.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if err := f.b.CancelInvoice(ctx, tx, inv.ID); err != nil {
			t.Fatal(err)
		}
		seen := make(chan string, 1)
		go func() {
			// A gateway's payment: it waits on the invoice's lock.
			pay, err := f.db.BeginTxx(ctx, nil)
			if err != nil {
				seen <- err.Error()
				return
			}
			defer pay.Rollback()
			var s string
			if err := pay.GetContext(ctx, &s, "SELECT `status` FROM `invoices` WHERE `id` = ? FOR UPDATE", inv.ID); err != nil {
				seen <- err.Error()
				return
			}
			seen <- s
		}()
		select {
		case s := <-seen:
			t.Fatalf("the payment did not wait for the cancel's lock: %s", s)
		case <-time.After(300 * time.Millisecond):
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if s := <-seen; s != "cancelled" {
			t.Fatalf("the payment saw the invoice %q, want cancelled", s)
		}
	})
}
