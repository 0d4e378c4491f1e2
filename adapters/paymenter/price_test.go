package paymenter

import (
	"context"
	"testing"

	"github.com/upsell-io/upsell/adapters/paymenter/schema"
	"github.com/upsell-io/upsell/hostapi"
)

// priceFixture is a service A (10.00) with a paid renewal invoice, a pending
// renewal invoice that also holds an upsell item, and a service B of the
// same user with its own pending renewal.
type priceFixture struct {
	*fixture
	serviceB       uint64
	paidRenewal    schema.AddedInvoice
	pendingRenewal schema.AddedInvoice
	otherRenewal   schema.AddedInvoice
}

func newPriceFixture(t *testing.T) *priceFixture {
	t.Helper()
	ctx := context.Background()
	f := &priceFixture{fixture: newFixture(t, schema.SeedOptions{}, Config{})}
	var err error
	f.serviceB, err = schema.AddService(ctx, f.db, schema.ServiceSpec{
		UserID: f.ids.UserID, ProductID: f.ids.ProductID, PlanID: f.ids.PlanID, Currency: "EUR", Price: dec("7.00"),
	})
	if err != nil {
		t.Fatal(err)
	}
	add := func(status string, items ...schema.ItemSpec) schema.AddedInvoice {
		inv, err := schema.AddInvoice(ctx, f.db, schema.InvoiceSpec{UserID: f.ids.UserID, Currency: "EUR", Status: status, Items: items})
		if err != nil {
			t.Fatal(err)
		}
		return inv
	}
	f.paidRenewal = add("paid", schema.RenewalItem(f.ids.ServiceID, dec("10.00"), 1))
	f.pendingRenewal = add("pending",
		schema.RenewalItem(f.ids.ServiceID, dec("10.00"), 1),
		schema.ItemSpec{Description: "Extra memory", Price: dec("3.00"), ReferenceType: DefaultItemReferenceType, ReferenceID: f.ids.ServiceID})
	f.otherRenewal = add("pending", schema.RenewalItem(f.serviceB, dec("7.00"), 1))
	return f
}

// prices is every amount UpdateRecurringPrice could touch.
type prices struct {
	serviceA, serviceB                           string
	paidRenewal, pendingRenewal, upsell, otherSv string
}

func (f *priceFixture) prices(t *testing.T) prices {
	t.Helper()
	item := func(id uint64) string {
		return f.decimalOf(t, "SELECT `price` FROM `invoice_items` WHERE `id` = ?", id).StringFixed(2)
	}
	service := func(id uint64) string {
		return f.decimalOf(t, "SELECT `price` FROM `services` WHERE `id` = ?", id).StringFixed(2)
	}
	return prices{
		serviceA:       service(f.ids.ServiceID),
		serviceB:       service(f.serviceB),
		paidRenewal:    item(f.paidRenewal.ItemIDs[0]),
		pendingRenewal: item(f.pendingRenewal.ItemIDs[0]),
		upsell:         item(f.pendingRenewal.ItemIDs[1]),
		otherSv:        item(f.otherRenewal.ItemIDs[0]),
	}
}

var untouchedPrices = prices{
	serviceA: "10.00", serviceB: "7.00",
	paidRenewal: "10.00", pendingRenewal: "10.00", upsell: "3.00", otherSv: "7.00",
}

func TestUpdateRecurringPrice(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, f *priceFixture)
		change  func(f *priceFixture) hostapi.PriceChange
		// wantRenewal says which invoice should be reported: "pending" or "".
		wantRenewal string
		wantCode    hostapi.Code
		wantField   string
		want        prices
	}{
		{
			name: "rewrites only the pending renewal item of the service",
			change: func(f *priceFixture) hostapi.PriceChange {
				return hostapi.PriceChange{ServiceID: f.ids.ServiceID, From: dec("10.00"), To: dec("13.50"), Reason: "memory add-on"}
			},
			wantRenewal: "pending",
			want: prices{serviceA: "13.50", serviceB: "7.00",
				paidRenewal: "10.00", pendingRenewal: "13.50", upsell: "3.00", otherSv: "7.00"},
		},
		{
			name: "stale From is a conflict and changes nothing",
			change: func(f *priceFixture) hostapi.PriceChange {
				return hostapi.PriceChange{ServiceID: f.ids.ServiceID, From: dec("9.00"), To: dec("13.50")}
			},
			wantCode: hostapi.CodeConflict,
			want:     untouchedPrices,
		},
		{
			name: "no pending renewal invoice",
			prepare: func(t *testing.T, f *priceFixture) {
				f.exec(t, "UPDATE `invoices` SET `status` = 'cancelled' WHERE `id` = ?", f.pendingRenewal.ID)
			},
			change: func(f *priceFixture) hostapi.PriceChange {
				return hostapi.PriceChange{ServiceID: f.ids.ServiceID, From: dec("10.00"), To: dec("12.00")}
			},
			want: prices{serviceA: "12.00", serviceB: "7.00",
				paidRenewal: "10.00", pendingRenewal: "10.00", upsell: "3.00", otherSv: "7.00"},
		},
		{
			name: "unknown service",
			change: func(f *priceFixture) hostapi.PriceChange {
				return hostapi.PriceChange{ServiceID: 999999, From: dec("10.00"), To: dec("12.00")}
			},
			wantCode: hostapi.CodeNotFound,
			want:     untouchedPrices,
		},
		{
			name: "new price with three decimals",
			change: func(f *priceFixture) hostapi.PriceChange {
				return hostapi.PriceChange{ServiceID: f.ids.ServiceID, From: dec("10.00"), To: dec("13.505")}
			},
			wantCode:  hostapi.CodeInvalid,
			wantField: "to",
			want:      untouchedPrices,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newPriceFixture(t)
			if tt.prepare != nil {
				tt.prepare(t, f)
			}
			ch := tt.change(f)
			got, err := f.b.UpdateRecurringPrice(context.Background(), nil, ch)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode, tt.wantField)
			} else {
				if err != nil {
					t.Fatal(err)
				}
				wantRenewal := uint64(0)
				if tt.wantRenewal == "pending" {
					wantRenewal = f.pendingRenewal.ID
				}
				want := hostapi.PriceChanged{ServiceID: ch.ServiceID, From: ch.From, To: ch.To, RenewalInvoiceID: wantRenewal}
				if got.ServiceID != want.ServiceID || !got.From.Equal(want.From) || !got.To.Equal(want.To) || got.RenewalInvoiceID != want.RenewalInvoiceID {
					t.Fatalf("PriceChanged = %+v, want %+v", got, want)
				}
			}
			if p := f.prices(t); p != tt.want {
				t.Fatalf("prices after = %+v, want %+v", p, tt.want)
			}
		})
	}
}

func TestUpdateRecurringPriceInCallerTx(t *testing.T) {
	f := newPriceFixture(t)
	ctx := context.Background()
	tx, err := f.db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.b.UpdateRecurringPrice(ctx, tx, hostapi.PriceChange{ServiceID: f.ids.ServiceID, From: dec("10.00"), To: dec("15.00")})
	if err != nil {
		_ = tx.Rollback()
		t.Fatal(err)
	}
	if got.RenewalInvoiceID != f.pendingRenewal.ID {
		t.Fatalf("RenewalInvoiceID = %d", got.RenewalInvoiceID)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if p := f.prices(t); p != untouchedPrices {
		t.Fatalf("rolled back, yet prices = %+v", p)
	}
}
