package paymenter

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upsell-io/upsell/adapters/paymenter/schema"
	"github.com/upsell-io/upsell/hostapi"
)

func TestFormatInvoiceNumber(t *testing.T) {
	now := time.Date(2025, 3, 7, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		n       int64
		padding int
		format  string
		want    string
	}{
		{42, 4, "INV-{number}", "INV-0042"},
		{42, 1, "INV-{number}", "INV-42"},
		{12345, 3, "{number}", "12345"},
		{7, 3, "{year}{month}{day}-{number}", "20250307-007"},
		{7, 0, "{day}.{month}.{year}/{number}/{number}", "07.03.2025/7/7"},
		{1, 2, "FIXED", "FIXED"},
	}
	for _, tt := range tests {
		if got := formatInvoiceNumber(tt.n, tt.padding, tt.format, now); got != tt.want {
			t.Errorf("formatInvoiceNumber(%d, %d, %q) = %q, want %q", tt.n, tt.padding, tt.format, got, tt.want)
		}
	}
}

func TestInvoiceNumbering(t *testing.T) {
	// 23:30 UTC on New Year's Eve is already 2025 in Berlin (UTC+1) and
	// still 18:30 on 31 December in New York (UTC-5).
	newYearsEve := time.Date(2024, 12, 31, 23, 30, 0, 0, time.UTC)
	tests := []struct {
		name        string
		seed        schema.SeedOptions
		prepare     func(t *testing.T, f *fixture)
		wantNumber  sql.NullString
		wantCounter string
	}{
		{
			name:        "padded to 4 digits",
			seed:        schema.SeedOptions{InvoiceNumber: 41, InvoiceNumberPadding: 4, InvoiceNumberFormat: "INV-{number}"},
			wantNumber:  sql.NullString{String: "INV-0042", Valid: true},
			wantCounter: "42",
		},
		{
			name:        "longer than the padding",
			seed:        schema.SeedOptions{InvoiceNumber: 12344, InvoiceNumberPadding: 3, InvoiceNumberFormat: "{number}"},
			wantNumber:  sql.NullString{String: "12345", Valid: true},
			wantCounter: "12345",
		},
		{
			name:        "date in Berlin",
			seed:        schema.SeedOptions{Timezone: "Europe/Berlin", InvoiceNumberPadding: 3, InvoiceNumberFormat: "{year}/{month}/{day}-{number}"},
			wantNumber:  sql.NullString{String: "2025/01/01-001", Valid: true},
			wantCounter: "1",
		},
		{
			name:        "date in New York",
			seed:        schema.SeedOptions{Timezone: "America/New_York", InvoiceNumberPadding: 3, InvoiceNumberFormat: "{year}/{month}/{day}-{number}"},
			wantNumber:  sql.NullString{String: "2024/12/31-001", Valid: true},
			wantCounter: "1",
		},
		{
			name: "defaults when format and padding are unset",
			seed: schema.SeedOptions{InvoiceNumber: 9},
			prepare: func(t *testing.T, f *fixture) {
				f.exec(t, "DELETE FROM `settings` WHERE `key` IN ('invoice_number_format', 'invoice_number_padding')")
			},
			wantNumber:  sql.NullString{String: "INV-10", Valid: true},
			wantCounter: "10",
		},
		{
			name: "missing counter row starts at 1",
			prepare: func(t *testing.T, f *fixture) {
				f.exec(t, "DELETE FROM `settings` WHERE `key` = 'invoice_number'")
			},
			wantNumber:  sql.NullString{String: "INV-1", Valid: true},
			wantCounter: "1",
		},
		{
			name:        "proforma leaves the number NULL",
			seed:        schema.SeedOptions{InvoiceNumber: 5, InvoiceProforma: true},
			wantNumber:  sql.NullString{},
			wantCounter: "5",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.seed, Config{Clock: fixedClock(newYearsEve)})
			if tt.prepare != nil {
				tt.prepare(t, f)
			}
			inv, err := f.b.CreateInvoice(context.Background(), nil, oneItem(f.ids, "5.00"))
			if err != nil {
				t.Fatal(err)
			}
			if inv.Number != tt.wantNumber.String {
				t.Fatalf("returned Number = %q, want %q", inv.Number, tt.wantNumber.String)
			}
			var stored sql.NullString
			if err := f.db.Get(&stored, "SELECT `number` FROM `invoices` WHERE `id` = ?", inv.ID); err != nil {
				t.Fatal(err)
			}
			if stored != tt.wantNumber {
				t.Fatalf("stored number = %+v, want %+v", stored, tt.wantNumber)
			}
			if got := f.counter(t); got != tt.wantCounter {
				t.Fatalf("invoice_number = %q, want %q", got, tt.wantCounter)
			}
		})
	}
}

func TestCreateInvoiceWritesRows(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	now := time.Date(2025, 6, 10, 22, 15, 0, 0, time.UTC) // 00:15 on 11 June in Berlin
	f := newFixture(t, schema.SeedOptions{Timezone: "Europe/Berlin"}, Config{BaseURL: testBaseURL, Clock: fixedClock(now)})
	ctx := context.Background()
	inv, err := f.b.CreateInvoice(ctx, nil, hostapi.NewInvoice{
		UserID:   f.ids.UserID,
		Currency: "EUR",
		// 23:30 UTC on 19 June is 01:30 on 20 June in Berlin.
		DueAt: time.Date(2025, 6, 19, 23, 30, 0, 0, time.UTC),
		Items: []hostapi.InvoiceItem{
			{Description: "Extra 2 GB memory", Price: dec("4.50"), Quantity: 2, ReferenceID: 11},
			// A trailing zero is not a third decimal.
			{Description: "Extra backup slot", Price: dec("1.250"), ReferenceType: `Upsell\Backup`},
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	// Returned: total 2 x 4.50 + 1 x 1.25 = 10.25.
	if inv.Number != "INV-1" || inv.Status != hostapi.InvoicePending || !inv.Total.Equal(dec("10.25")) || !inv.Paid.IsZero() {
		t.Fatalf("returned %+v", inv)
	}
	if want := time.Date(2025, 6, 20, 0, 0, 0, 0, berlin); !inv.DueAt.Equal(want) {
		t.Fatalf("DueAt = %v, want %v", inv.DueAt, want)
	}
	if inv.PayURL != fmt.Sprintf("%s/invoices/%d", testBaseURL, inv.ID) {
		t.Fatalf("PayURL = %q", inv.PayURL)
	}

	// Stored: naive Berlin wall clocks, the upsell reference type by default.
	var row struct {
		DueAt     string `db:"due_at"`
		CreatedAt string `db:"created_at"`
		Status    string `db:"status"`
		Currency  string `db:"currency_code"`
		UserID    uint64 `db:"user_id"`
	}
	if err := f.db.Get(&row, "SELECT DATE_FORMAT(`due_at`, '%Y-%m-%d') AS due_at, DATE_FORMAT(`created_at`, '%Y-%m-%d %H:%i:%s') AS created_at, `status`, `currency_code`, `user_id` FROM `invoices` WHERE `id` = ?", inv.ID); err != nil {
		t.Fatal(err)
	}
	if row.DueAt != "2025-06-20" || row.CreatedAt != "2025-06-11 00:15:00" || row.Status != "pending" || row.Currency != "EUR" || row.UserID != f.ids.UserID {
		t.Fatalf("stored invoice %+v", row)
	}
	var items []struct {
		Price    string         `db:"price"`
		Quantity int            `db:"quantity"`
		RefType  sql.NullString `db:"reference_type"`
		RefID    sql.NullInt64  `db:"reference_id"`
	}
	if err := f.db.Select(&items, "SELECT CAST(`price` AS CHAR) AS price, `quantity`, `reference_type`, `reference_id` FROM `invoice_items` WHERE `invoice_id` = ? ORDER BY `id`", inv.ID); err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 ||
		items[0].Price != "4.50" || items[0].Quantity != 2 || items[0].RefType.String != DefaultItemReferenceType || items[0].RefID.Int64 != 11 ||
		items[1].Price != "1.25" || items[1].Quantity != 1 || items[1].RefType.String != `Upsell\Backup` || items[1].RefID.Valid {
		t.Fatalf("stored items %+v", items)
	}

	// What CreateInvoice returned is what Invoice reads back.
	back, err := f.b.Invoice(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if back.Number != inv.Number || !back.Total.Equal(inv.Total) || !back.DueAt.Equal(inv.DueAt) ||
		!back.CreatedAt.Equal(inv.CreatedAt) || len(back.Items) != len(inv.Items) || back.Items[1].ID != inv.Items[1].ID {
		t.Fatalf("read back %+v\nreturned %+v", back, inv)
	}
}

func TestCreateInvoiceJoinsCallerTx(t *testing.T) {
	for _, commit := range []bool{false, true} {
		t.Run(fmt.Sprintf("commit=%v", commit), func(t *testing.T) {
			f := newFixture(t, schema.SeedOptions{InvoiceNumber: 3}, Config{})
			ctx := context.Background()
			tx, err := f.db.BeginTxx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			inv, err := f.b.CreateInvoice(ctx, tx, oneItem(f.ids, "2.00"))
			if err != nil {
				_ = tx.Rollback()
				t.Fatal(err)
			}
			if inv.Number != "INV-4" {
				t.Fatalf("Number = %q", inv.Number)
			}
			if commit {
				err = tx.Commit()
			} else {
				err = tx.Rollback()
			}
			if err != nil {
				t.Fatal(err)
			}
			wantInvoices, wantCounter := 0, "3"
			if commit {
				wantInvoices, wantCounter = 1, "4"
			}
			if got := f.count(t, "invoices"); got != wantInvoices {
				t.Fatalf("%d invoices, want %d", got, wantInvoices)
			}
			if got := f.count(t, "invoice_items"); got != wantInvoices {
				t.Fatalf("%d items, want %d", got, wantInvoices)
			}
			if got := f.counter(t); got != wantCounter {
				t.Fatalf("invoice_number = %q, want %q", got, wantCounter)
			}
		})
	}
}

// TestConcurrentInvoiceNumbers needs real row locks: 8 writers x 10
// invoices must get 80 distinct consecutive numbers.
func TestConcurrentInvoiceNumbers(t *testing.T) {
	const writers, perWriter = 8, 10
	f := newFixture(t, schema.SeedOptions{InvoiceNumberPadding: 4}, Config{})
	f.db.RequireMySQL(t)
	ctx := context.Background()

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		numbers []string
		errs    []error
	)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				inv, err := f.b.CreateInvoice(ctx, nil, oneItem(f.ids, "1.00"))
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					numbers = append(numbers, inv.Number)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d creations failed, first: %v", len(errs), errs[0])
	}

	seen := map[string]bool{}
	for _, n := range numbers {
		if seen[n] {
			t.Fatalf("duplicate invoice number %s", n)
		}
		seen[n] = true
	}
	for i := 1; i <= writers*perWriter; i++ {
		if want := fmt.Sprintf("INV-%04d", i); !seen[want] {
			t.Fatalf("number %s was never issued", want)
		}
	}
	if got := f.counter(t); got != "80" {
		t.Fatalf("invoice_number = %q, want 80", got)
	}
	if got := f.count(t, "invoices"); got != writers*perWriter {
		t.Fatalf("%d invoices, want %d", got, writers*perWriter)
	}
}

func TestCreateInvoiceRefusals(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(inv *hostapi.NewInvoice)
		code   hostapi.Code
		field  string
	}{
		{"renewal reference type", func(inv *hostapi.NewInvoice) { inv.Items[0].ReferenceType = TypeService }, hostapi.CodeInvalid, "items[0].reference_type"},
		{"upgrade reference type on a later item", func(inv *hostapi.NewInvoice) {
			inv.Items = append(inv.Items, hostapi.InvoiceItem{Description: "upgrade", Price: dec("1.00"), ReferenceType: TypeServiceUpgrade, ReferenceID: 1})
		}, hostapi.CodeInvalid, "items[1].reference_type"},
		{"renewal type with a leading backslash", func(inv *hostapi.NewInvoice) { inv.Items[0].ReferenceType = `\App\Models\Service` }, hostapi.CodeInvalid, "items[0].reference_type"},
		{"renewal type in lower case", func(inv *hostapi.NewInvoice) { inv.Items[0].ReferenceType = `app\models\service` }, hostapi.CodeInvalid, "items[0].reference_type"},
		{"credit reference type", func(inv *hostapi.NewInvoice) { inv.Items[0].ReferenceType = TypeCredit }, hostapi.CodeInvalid, "items[0].reference_type"},
		{"three decimals", func(inv *hostapi.NewInvoice) { inv.Items[0].Price = dec("12.345") }, hostapi.CodeInvalid, "items[0].price"},
		{"a tenth of a cent", func(inv *hostapi.NewInvoice) { inv.Items[0].Price = dec("0.001") }, hostapi.CodeInvalid, "items[0].price"},
		{"negative price", func(inv *hostapi.NewInvoice) { inv.Items[0].Price = dec("-1.00") }, hostapi.CodeInvalid, "items[0].price"},
		{"beyond DECIMAL(17,2)", func(inv *hostapi.NewInvoice) { inv.Items[0].Price = dec("1000000000000000.00") }, hostapi.CodeInvalid, "items[0].price"},
		{"negative quantity", func(inv *hostapi.NewInvoice) { inv.Items[0].Quantity = -2 }, hostapi.CodeInvalid, "items[0].quantity"},
		{"empty description", func(inv *hostapi.NewInvoice) { inv.Items[0].Description = "  " }, hostapi.CodeInvalid, "items[0].description"},
		{"description too long", func(inv *hostapi.NewInvoice) { inv.Items[0].Description = strings.Repeat("é", 256) }, hostapi.CodeInvalid, "items[0].description"},
		{"no items", func(inv *hostapi.NewInvoice) { inv.Items = nil }, hostapi.CodeInvalid, "items"},
		{"no user", func(inv *hostapi.NewInvoice) { inv.UserID = 0 }, hostapi.CodeInvalid, "user_id"},
		{"unknown user", func(inv *hostapi.NewInvoice) { inv.UserID = 999999 }, hostapi.CodeNotFound, ""},
		{"currency the panel lacks", func(inv *hostapi.NewInvoice) { inv.Currency = "GBP" }, hostapi.CodeInvalid, "currency"},
		{"not a currency code", func(inv *hostapi.NewInvoice) { inv.Currency = "EURO" }, hostapi.CodeInvalid, "currency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, schema.SeedOptions{InvoiceNumber: 20}, Config{})
			inv := oneItem(f.ids, "5.00")
			tt.mutate(&inv)
			_, err := f.b.CreateInvoice(context.Background(), nil, inv)
			wantCode(t, err, tt.code, tt.field)
			if n := f.count(t, "invoices"); n != 0 {
				t.Fatalf("%d invoices written", n)
			}
			if n := f.count(t, "invoice_items"); n != 0 {
				t.Fatalf("%d items written", n)
			}
			if got := f.counter(t); got != "20" {
				t.Fatalf("invoice_number moved to %q", got)
			}
		})
	}
}
