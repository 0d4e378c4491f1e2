package paymenter

import (
	"context"
	"testing"
	"time"

	"github.com/upsell-io/upsell/adapters/paymenter/schema"
	"github.com/upsell-io/upsell/hostapi"
)

func TestInvoiceSummaries(t *testing.T) {
	f := newFixture(t, schema.SeedOptions{Timezone: "Europe/Berlin"}, Config{})
	ctx := context.Background()
	berlin := mustLoad(t, "Europe/Berlin")
	add := func(status, currency string, items ...schema.ItemSpec) uint64 {
		t.Helper()
		added, err := schema.AddInvoice(ctx, f.db, schema.InvoiceSpec{UserID: f.ids.UserID, Currency: currency, Status: status, Items: items})
		if err != nil {
			t.Fatal(err)
		}
		return added.ID
	}
	item := func(price string, qty int) schema.ItemSpec {
		return schema.ItemSpec{Description: "add-on", Price: dec(price), Quantity: qty, ReferenceType: DefaultItemReferenceType}
	}

	// Paid by two transactions: the last succeeded one is when it was paid;
	// a failed one after it does not count.
	paid := add("paid", "EUR", item("12.50", 2), item("0.99", 3))
	f.exec(t, "INSERT INTO `invoice_transactions` (`invoice_id`, `amount`, `status`, `created_at`) VALUES"+
		" (?, 10.00, 'succeeded', '2026-02-28 23:30:00'), (?, 17.97, 'succeeded', '2026-03-01 00:15:00'), (?, 1.00, 'failed', '2026-03-02 09:00:00')",
		paid, paid, paid)
	// Marked paid without a transaction: its last update is when.
	marked := add("paid", "USD", item("5.00", 1))
	f.exec(t, "UPDATE `invoices` SET `updated_at` = '2026-01-31 22:00:00' WHERE `id` = ?", marked)
	// Pending with a partial payment, and one without items.
	pending := add("pending", "EUR", item("3.00", 1))
	f.exec(t, "INSERT INTO `invoice_transactions` (`invoice_id`, `amount`, `status`, `created_at`) VALUES (?, 1.00, 'succeeded', '2026-03-01 10:00:00')", pending)
	empty := add("cancelled", "EUR")

	got, err := f.b.InvoiceSummaries(ctx, []uint64{paid, marked, pending, empty, 999999, paid})
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64]InvoiceSummary{
		// 2 × 12.50 + 3 × 0.99 = 27.97
		paid:    {ID: paid, Status: hostapi.InvoicePaid, Currency: "EUR", Total: dec("27.97"), PaidAt: time.Date(2026, 3, 1, 0, 15, 0, 0, berlin)},
		marked:  {ID: marked, Status: hostapi.InvoicePaid, Currency: "USD", Total: dec("5.00"), PaidAt: time.Date(2026, 1, 31, 22, 0, 0, 0, berlin)},
		pending: {ID: pending, Status: hostapi.InvoicePending, Currency: "EUR", Total: dec("3.00")},
		empty:   {ID: empty, Status: hostapi.InvoiceCancelled, Currency: "EUR", Total: dec("0")},
	}
	if len(got) != len(want) {
		t.Fatalf("%d summaries, want %d (unknown and repeated ids once or not at all): %+v", len(got), len(want), got)
	}
	for _, g := range got {
		w, ok := want[g.ID]
		if !ok {
			t.Fatalf("unexpected summary %+v", g)
		}
		if g.Status != w.Status || g.Currency != w.Currency || !g.Total.Equal(w.Total) || !g.PaidAt.Equal(w.PaidAt) {
			t.Errorf("invoice %d = %+v, want %+v", g.ID, g, w)
		}
		if !g.PaidAt.IsZero() && g.PaidAt.Location().String() != "Europe/Berlin" {
			t.Errorf("invoice %d paid at %v, want the panel's zone", g.ID, g.PaidAt)
		}
	}

	none, err := f.b.InvoiceSummaries(ctx, nil)
	if err != nil || len(none) != 0 {
		t.Fatalf("InvoiceSummaries(nil) = %v, %v", none, err)
	}
}

// More ids than one statement takes are read in several.
func TestInvoiceSummariesBatches(t *testing.T) {
	f := newFixture(t, schema.SeedOptions{}, Config{})
	ctx := context.Background()
	added, err := schema.AddInvoice(ctx, f.db, schema.InvoiceSpec{UserID: f.ids.UserID, Currency: "EUR", Status: "pending",
		Items: []schema.ItemSpec{{Description: "x", Price: dec("1.00")}}})
	if err != nil {
		t.Fatal(err)
	}
	// Unknown ids fill the first batch; the real one is in the second.
	ids := make([]uint64, 0, summaryBatch+1)
	for i := range summaryBatch {
		ids = append(ids, added.ID+1+uint64(i))
	}
	ids = append(ids, added.ID)
	got, err := f.b.InvoiceSummaries(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != added.ID || !got[0].Total.Equal(dec("1.00")) {
		t.Fatalf("got %+v, want invoice %d of 1.00", got, added.ID)
	}
}
