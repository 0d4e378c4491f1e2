package host_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/host"
)

// A module cancels only its own unpaid invoices, inside its transaction;
// another module's invoice, or one upsell did not create, is not found.
func TestCancelInvoiceOwnership(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	demo := host.New(f.deps, "demo", "ext_demo_").Host()
	other := host.New(f.deps, "other", "ext_other_").Host()
	newInvoice := func() hostapi.NewInvoice {
		return hostapi.NewInvoice{UserID: f.seeded.UserID, Currency: "EUR", DueAt: time.Now(),
			Items: []hostapi.InvoiceItem{{Description: "+1 GB", Price: decimal.RequireFromString("3.23"), Quantity: 1, ReferenceType: `Upsell\Addon`, ReferenceID: 1}}}
	}
	status := func(id uint64) string {
		t.Helper()
		var s string
		if err := f.db.Get(&s, "SELECT status FROM invoices WHERE id = ?", id); err != nil {
			t.Fatal(err)
		}
		return s
	}
	inv, err := demo.Panel.CreateInvoice(ctx, "", newInvoice())
	if err != nil {
		t.Fatal(err)
	}
	// An invoice in the panel that upsell did not create (a renewal).
	foreign, err := f.deps.Panel.CreateInvoice(ctx, nil, newInvoice())
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		panel hostapi.Panel
		id    uint64
		code  hostapi.Code
	}{
		{"another module's invoice", other.Panel, inv.ID, hostapi.CodeNotFound},
		{"an invoice upsell did not create", demo.Panel, foreign.ID, hostapi.CodeNotFound},
		{"no such invoice", demo.Panel, 987654, hostapi.CodeNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.panel.CancelInvoice(ctx, "", tc.id); hostapi.CodeOf(err) != tc.code {
				t.Fatalf("cancel: %v, want %s", err, tc.code)
			}
		})
	}
	if status(inv.ID) != "pending" || status(foreign.ID) != "pending" {
		t.Fatal("a refused cancel changed an invoice")
	}

	// In the module's transaction: rolled back, nothing happened.
	tx, err := demo.Store.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.Panel.CancelInvoice(ctx, tx.ID(), inv.ID); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got := status(inv.ID); got != "pending" {
		t.Fatalf("after the module's rollback the invoice is %s", got)
	}
	// Committed, it is cancelled; a second cancel is refused.
	tx, err = demo.Store.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.Panel.CancelInvoice(ctx, tx.ID(), inv.ID); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := status(inv.ID); got != "cancelled" {
		t.Fatalf("after the commit the invoice is %s", got)
	}
	if err := demo.Panel.CancelInvoice(ctx, "", inv.ID); hostapi.CodeOf(err) != hostapi.CodePrecondition {
		t.Fatalf("second cancel: %v, want precondition", err)
	}

	// A paid invoice of its own is refused with nothing changed.
	paid, err := demo.Panel.CreateInvoice(ctx, "", newInvoice())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec("INSERT INTO invoice_transactions (invoice_id, amount, status, created_at, updated_at) VALUES (?, 3.23, 'succeeded', NOW(), NOW())", paid.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec("UPDATE invoices SET status = 'paid' WHERE id = ?", paid.ID); err != nil {
		t.Fatal(err)
	}
	if err := demo.Panel.CancelInvoice(ctx, "", paid.ID); hostapi.CodeOf(err) != hostapi.CodePrecondition {
		t.Fatalf("paid: %v, want precondition", err)
	}
	if got := status(paid.ID); got != "paid" {
		t.Fatalf("a refused cancel left the paid invoice %s", got)
	}
}
