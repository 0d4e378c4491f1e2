package hostapi

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestServiceRoundTrip(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	tests := map[string]Service{
		"monthly mid-cycle in Berlin": {
			ID: 7, UserID: 3, ProductID: 2, ProductName: "Minecraft 4GB", PlanID: 9,
			Status: ServiceActive, Currency: "EUR", Quantity: 1, Price: decimal.RequireFromString("12.50"),
			Cycle:     Cycle{Type: PlanRecurring, Period: 1, Unit: UnitMonth},
			ExpiresAt: time.Date(2026, 12, 1, 0, 0, 0, 0, berlin), Label: "srv",
			CreatedAt: time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC),
		},
		"no expiry, one-time":    {ID: 1, Cycle: Cycle{Type: PlanOneTime}, Price: decimal.Zero, Status: ServicePending},
		"price with many digits": {ID: 2, Price: decimal.RequireFromString("1234567890123.45")},
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := serviceFromWire(serviceToWire(in))
			if err != nil {
				t.Fatal(err)
			}
			if !out.Price.Equal(in.Price) {
				t.Fatalf("price %s != %s", out.Price, in.Price)
			}
			if !out.ExpiresAt.Equal(in.ExpiresAt) || out.ExpiresAt.Location().String() != in.ExpiresAt.Location().String() && !in.ExpiresAt.IsZero() {
				t.Fatalf("expires_at %v != %v", out.ExpiresAt, in.ExpiresAt)
			}
			out.Price, in.Price = decimal.Zero, decimal.Zero
			out.ExpiresAt, in.ExpiresAt = time.Time{}, time.Time{}
			if !reflect.DeepEqual(out, in) {
				t.Fatalf("got %+v want %+v", out, in)
			}
		})
	}
}

func TestExpiresAtKeepsWallClock(t *testing.T) {
	// 2026-03-29 02:30 does not exist in Berlin (DST jump), but a stored
	// naive DATETIME is whatever the panel wrote; the wall clock must
	// survive as far as Go can represent it.
	ny, _ := time.LoadLocation("America/New_York")
	in := time.Date(2026, 11, 30, 23, 59, 59, 0, ny)
	got := localFromWire(localToWire(in), "America/New_York")
	if got.Year() != 2026 || got.Month() != 11 || got.Day() != 30 || got.Hour() != 23 || got.Location().String() != "America/New_York" {
		t.Fatalf("wall clock changed: %v", got)
	}
}

func TestInvoiceRoundTrip(t *testing.T) {
	in := Invoice{
		ID: 5, Number: "INV-0005", Status: InvoicePending, UserID: 3, Currency: "EUR",
		DueAt: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC),
		Items: []InvoiceItem{{ID: 1, Description: "+1 GB RAM", Price: decimal.RequireFromString("3.23"), Quantity: 1, ReferenceType: `Upsell\Addon`, ReferenceID: 42}},
		Total: decimal.RequireFromString("3.23"), Paid: decimal.Zero, PayURL: "https://panel/invoices/5",
	}
	out, err := invoiceFromWire(invoiceToWire(in))
	if err != nil {
		t.Fatal(err)
	}
	if !out.Total.Equal(in.Total) || !out.Items[0].Price.Equal(in.Items[0].Price) || out.Items[0].ReferenceType != `Upsell\Addon` || !out.DueAt.Equal(in.DueAt) {
		t.Fatalf("got %+v", out)
	}
}

func TestDecimalFromWireRefusesGarbage(t *testing.T) {
	for _, s := range []string{"1,5", "abc", "1e", "--1"} {
		if _, err := decFromWire("price", s); CodeOf(err) != CodeInvalid {
			t.Errorf("%q: got %v, want invalid", s, err)
		}
	}
}

func TestSQLArgs(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	tests := []struct {
		in   any
		want any
	}{
		{nil, nil},
		{true, true},
		{int(-3), int64(-3)},
		{int64(1 << 40), int64(1 << 40)},
		{uint64(1<<63 + 5), uint64(1<<63 + 5)},
		{"text", "text"},
		{[]byte{0, 1}, []byte{0, 1}},
		{ts, ts},
		{decimal.RequireFromString("0.10"), "0.1"},
	}
	for _, tc := range tests {
		w, err := sqlArgToWire(tc.in)
		if err != nil {
			t.Fatalf("%T: %v", tc.in, err)
		}
		if got := sqlValueFromWire(w); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%#v -> %#v, want %#v", tc.in, got, tc.want)
		}
	}
	if _, err := sqlArgToWire(1.5); CodeOf(err) != CodeInvalid {
		t.Fatalf("float argument accepted: %v", err)
	}
}

func TestRowsScan(t *testing.T) {
	r := &Rows{Columns: []string{"id", "price", "note", "at", "flag"}, Values: [][]any{
		{int64(4), "12.34", nil, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), int64(1)},
	}}
	var (
		id    uint64
		price decimal.Decimal
		note  *string
		at    time.Time
		flag  bool
	)
	if err := r.Scan(0, &id, &price, &note, &at, &flag); err != nil {
		t.Fatal(err)
	}
	if id != 4 || price.String() != "12.34" || note != nil || at.Year() != 2026 || !flag {
		t.Fatalf("scanned %v %v %v %v %v", id, price, note, at, flag)
	}
	var s string
	if err := r.Scan(0, &id, &price, &s, &at, &flag); err == nil {
		t.Fatal("NULL scanned into *string without error")
	}
}

func TestErrorStatusRoundTrip(t *testing.T) {
	tests := []error{
		Invalid("quantity", "must be between 1 and 8"),
		Errorf(CodeNotFound, "service %d", 9),
		&Error{Code: CodeCapacity, Message: "node 3 is full"},
		&Error{Code: CodeUnavailable, Message: "pterodactyl answered 503"},
	}
	for _, in := range tests {
		out := fromStatus(t.Context(), nil, toStatus(in))
		var want *Error
		_ = asError(in, &want)
		var got *Error
		if !asError(out, &got) || got.Code != want.Code || got.Field != want.Field || got.Error() != in.Error() {
			t.Errorf("%v came back as %v (%#v)", in, out, got)
		}
	}
}

func TestBinaryColumnsTravelAsBytes(t *testing.T) {
	w, err := sqlResultToWire([]byte{0xff, 0x00, 0xfe})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := sqlValueFromWire(w).([]byte); !ok || len(got) != 3 || got[0] != 0xff {
		t.Fatalf("binary value came back as %#v", sqlValueFromWire(w))
	}
}

func TestScanRefusesOverflow(t *testing.T) {
	r := &Rows{Columns: []string{"n"}, Values: [][]any{{uint64(1<<63 + 1)}}}
	var n int64
	if err := r.Scan(0, &n); err == nil {
		t.Fatalf("uint64 above MaxInt64 scanned into int64 as %d", n)
	}
	var u uint64
	if err := r.Scan(0, &u); err != nil || u != 1<<63+1 {
		t.Fatalf("uint64: %d %v", u, err)
	}
}

func TestServerRefNeverPrintsSecret(t *testing.T) {
	ref := ServerRef{ServiceID: 1, Endpoint: "https://panel", Secret: "ptla_supersecret"}
	for _, s := range []string{fmt.Sprint(ref), fmt.Sprintf("%+v", ref), fmt.Sprintf("%#v", ref), ref.LogValue().String()} {
		if strings.Contains(s, "supersecret") {
			t.Fatalf("secret printed: %s", s)
		}
	}
}
