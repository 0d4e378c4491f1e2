package paymenter

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/upsell-io/upsell/adapters/paymenter/schema"
	"github.com/upsell-io/upsell/hostapi"
)

func TestInvoice(t *testing.T) {
	f := newFixture(t, schema.SeedOptions{Timezone: "America/New_York"}, Config{BaseURL: testBaseURL})
	ctx := context.Background()
	added, err := schema.AddInvoice(ctx, f.db, schema.InvoiceSpec{
		UserID:   f.ids.UserID,
		Currency: "EUR",
		Number:   "INV-7",
		DueAt:    time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC),
		Items: []schema.ItemSpec{
			{Description: "Extra memory", Price: dec("12.50"), Quantity: 2, ReferenceType: DefaultItemReferenceType, ReferenceID: 3},
			schema.RenewalItem(f.ids.ServiceID, dec("5.00"), 1),
		},
		Paid: dec("10.00"),
	})
	if err != nil {
		t.Fatal(err)
	}
	// Only succeeded transactions count as paid.
	f.exec(t, "INSERT INTO `invoice_transactions` (`invoice_id`, `amount`, `status`) VALUES (?, 5.00, 'failed'), (?, 3.00, 'processing')", added.ID, added.ID)

	got, err := f.b.Invoice(ctx, added.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Total = 2 x 12.50 + 1 x 5.00 = 30.00; paid = 10.00.
	if !got.Total.Equal(dec("30.00")) || !got.Paid.Equal(dec("10.00")) {
		t.Fatalf("Total %s Paid %s, want 30.00 and 10.00", got.Total, got.Paid)
	}
	if got.Number != "INV-7" || got.Status != hostapi.InvoicePending || got.UserID != f.ids.UserID || got.Currency != "EUR" {
		t.Fatalf("fields: %+v", got)
	}
	if want := fmt.Sprintf("%s/invoices/%d", testBaseURL, added.ID); got.PayURL != want {
		t.Fatalf("PayURL = %q, want %q", got.PayURL, want)
	}
	ny := mustLoad(t, "America/New_York")
	if want := time.Date(2025, 4, 1, 0, 0, 0, 0, ny); !got.DueAt.Equal(want) || got.DueAt.Location().String() != "America/New_York" {
		t.Fatalf("DueAt = %v, want %v", got.DueAt, want)
	}
	if len(got.Items) != 2 {
		t.Fatalf("%d items, want 2", len(got.Items))
	}
	wantItems := []hostapi.InvoiceItem{
		{ID: added.ItemIDs[0], Description: "Extra memory", Price: dec("12.50"), Quantity: 2, ReferenceType: DefaultItemReferenceType, ReferenceID: 3},
		{ID: added.ItemIDs[1], Description: fmt.Sprintf("Renewal of service #%d", f.ids.ServiceID), Price: dec("5.00"), Quantity: 1, ReferenceType: TypeService, ReferenceID: f.ids.ServiceID},
	}
	for i, want := range wantItems {
		it := got.Items[i]
		if it.ID != want.ID || it.Description != want.Description || !it.Price.Equal(want.Price) ||
			it.Quantity != want.Quantity || it.ReferenceType != want.ReferenceType || it.ReferenceID != want.ReferenceID {
			t.Fatalf("item %d = %+v, want %+v", i, it, want)
		}
	}

	_, err = f.b.Invoice(ctx, 999999)
	wantCode(t, err, hostapi.CodeNotFound, "")
}

func TestInvoiceStatuses(t *testing.T) {
	f := newFixture(t, schema.SeedOptions{}, Config{})
	ctx := context.Background()
	statuses := []string{"pending", "paid", "cancelled"}
	want := map[uint64]hostapi.InvoiceStatus{}
	var ids []uint64
	// More than one batch of statusBatch ids.
	for i := 0; i < statusBatch+6; i++ {
		st := statuses[i%len(statuses)]
		added, err := schema.AddInvoice(ctx, f.db, schema.InvoiceSpec{UserID: f.ids.UserID, Currency: "EUR", Status: st,
			Items: []schema.ItemSpec{{Description: "x", Price: dec("1.00")}}})
		if err != nil {
			t.Fatal(err)
		}
		want[added.ID] = hostapi.InvoiceStatus(st)
		ids = append(ids, added.ID)
	}
	asked := append(append([]uint64{999999}, ids...), ids[0], ids[1]) // unknown id and duplicates
	got, err := f.b.InvoiceStatuses(ctx, asked)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d statuses, want %d (unknown ids are absent)", len(got), len(want))
	}
	for id, st := range want {
		if got[id] != st {
			t.Fatalf("invoice %d: %q, want %q", id, got[id], st)
		}
	}

	empty, err := f.b.InvoiceStatuses(ctx, nil)
	if err != nil || len(empty) != 0 {
		t.Fatalf("InvoiceStatuses(nil) = %v, %v", empty, err)
	}
}
