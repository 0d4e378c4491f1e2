package schema_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/adapters/paymenter/schema"
	"github.com/upsell-io/upsell/internal/laravelcrypt"
	"github.com/upsell-io/upsell/internal/testdb"
)

func TestCreateMakesEveryTable(t *testing.T) {
	db := testdb.New(t)
	ctx := context.Background()
	if err := schema.Create(ctx, db); err != nil {
		t.Fatal(err)
	}
	want := []string{"users", "roles", "categories", "products", "product_upgrades", "plans", "prices",
		"currencies", "orders", "services", "service_cancellations", "service_configs", "config_options",
		"config_option_products", "invoices", "invoice_items", "invoice_transactions", "invoice_snapshots",
		"service_upgrades", "properties", "custom_properties", "coupons", "coupon_products", "settings",
		"extensions", "credits", "api_keys", "tax_rates", "billing_agreements"}
	for _, table := range want {
		var n int
		if err := db.GetContext(ctx, &n, "SELECT COUNT(*) FROM `"+table+"`"); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
	if got := len(schema.Tables()); got != len(want) {
		t.Errorf("Tables() lists %d tables, want %d", got, len(want))
	}
}

func TestForeignKeysAreEnforced(t *testing.T) {
	db := testdb.New(t)
	ctx := context.Background()
	if err := schema.Create(ctx, db); err != nil {
		t.Fatal(err)
	}
	_, err := db.ExecContext(ctx, "INSERT INTO `invoices` (`status`, `currency_code`, `user_id`) VALUES ('pending', 'EUR', 999)")
	if err == nil {
		t.Fatal("an invoice of a missing user was accepted")
	}
}

func TestSeed(t *testing.T) {
	const appKey = "base64:dXBzZWxsLWxhcmF2ZWxjcnlwdC10ZXN0LWtleS0zMmI="
	db := testdb.New(t)
	ctx := context.Background()
	if err := schema.Create(ctx, db); err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2025, 3, 10, 9, 30, 0, 0, berlin)
	ids, err := schema.Seed(ctx, db, schema.SeedOptions{
		Timezone:        "Europe/Berlin",
		AppKey:          appKey,
		ServerAPIKey:    "ptla_secret",
		ProductSettings: map[string]string{"memory": "8192"},
		Now:             now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if ids.ServiceID == 0 || ids.ProductID == 0 || ids.ServerID == 0 || ids.PlanID == 0 || ids.UserID == 0 || ids.PriceIDs["USD"] == 0 {
		t.Fatalf("missing ids: %+v", ids)
	}

	var svc struct {
		Price     decimal.Decimal `db:"price"`
		ExpiresAt time.Time       `db:"expires_at"`
		Status    string          `db:"status"`
		ServerID  uint64          `db:"server_id"`
	}
	if err := db.GetContext(ctx, &svc, "SELECT s.price, s.expires_at, s.status, p.server_id FROM services s JOIN products p ON p.id = s.product_id WHERE s.id = ?", ids.ServiceID); err != nil {
		t.Fatal(err)
	}
	if !svc.Price.Equal(decimal.RequireFromString("10.00")) || svc.Status != "active" || svc.ServerID != ids.ServerID {
		t.Fatalf("service row %+v", svc)
	}
	// The DSN reads DATETIME in UTC; the stored wall clock is Berlin's.
	if got := svc.ExpiresAt.Format("2006-01-02 15:04:05"); got != "2025-03-25 09:30:00" {
		t.Fatalf("expires_at wall clock = %s, want 2025-03-25 09:30:00", got)
	}
	if !ids.ExpiresAt.Equal(time.Date(2025, 3, 25, 9, 30, 0, 0, berlin)) {
		t.Fatalf("Seeded.ExpiresAt = %v", ids.ExpiresAt)
	}

	var apiKey struct {
		Value     string `db:"value"`
		Encrypted bool   `db:"encrypted"`
	}
	if err := db.GetContext(ctx, &apiKey, "SELECT `value`, `encrypted` FROM settings WHERE settingable_type = 'App\\\\Models\\\\Server' AND settingable_id = ? AND `key` = 'api_key'", ids.ServerID); err != nil {
		t.Fatal(err)
	}
	if !apiKey.Encrypted || strings.Contains(apiKey.Value, "ptla_secret") {
		t.Fatalf("api_key not encrypted: %+v", apiKey)
	}
	key, _ := laravelcrypt.ParseKey(appKey)
	if plain, err := key.DecryptString(apiKey.Value); err != nil || plain != "ptla_secret" {
		t.Fatalf("decrypt api_key = %q, %v", plain, err)
	}

	var memory string
	if err := db.GetContext(ctx, &memory, "SELECT `value` FROM settings WHERE settingable_type = 'App\\\\Models\\\\Product' AND settingable_id = ? AND `key` = 'memory'", ids.ProductID); err != nil {
		t.Fatal(err)
	}
	if memory != "8192" {
		t.Fatalf("product memory setting = %q", memory)
	}
}

func TestAddInvoice(t *testing.T) {
	db := testdb.New(t)
	ctx := context.Background()
	if err := schema.Create(ctx, db); err != nil {
		t.Fatal(err)
	}
	ids, err := schema.Seed(ctx, db, schema.SeedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := schema.AddInvoice(ctx, db, schema.InvoiceSpec{
		UserID:   ids.UserID,
		Currency: "EUR",
		Items:    []schema.ItemSpec{schema.RenewalItem(ids.ServiceID, decimal.RequireFromString("10.00"), 1)},
		Paid:     decimal.RequireFromString("4.00"),
	})
	if err != nil {
		t.Fatal(err)
	}
	var refType string
	if err := db.GetContext(ctx, &refType, "SELECT reference_type FROM invoice_items WHERE id = ?", inv.ItemIDs[0]); err != nil {
		t.Fatal(err)
	}
	if refType != `App\Models\Service` {
		t.Fatalf("reference_type = %q", refType)
	}
}
