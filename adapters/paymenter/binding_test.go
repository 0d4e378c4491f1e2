package paymenter

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/upsell-io/upsell/adapters/paymenter/schema"
	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/testdb"
)

func TestNewRefusesBadConfig(t *testing.T) {
	db := testdb.New(t)
	ctx := context.Background()
	if err := schema.Create(ctx, db); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"service reference type", Config{ItemReferenceType: `App\Models\Service`}, "item_reference_type"},
		{"service upgrade reference type", Config{ItemReferenceType: `App\Models\ServiceUpgrade`}, "item_reference_type"},
		{"leading backslash", Config{ItemReferenceType: `\App\Models\Service`}, "item_reference_type"},
		{"other case", Config{ItemReferenceType: `app\models\serviceupgrade`}, "item_reference_type"},
		{"credit reference type", Config{ItemReferenceType: `App\Models\Credit`}, "item_reference_type"},
		{"short APP_KEY", Config{AppKey: "base64:MDEyMzQ1Njc4OWFiY2RlZg=="}, "app_key"},
		{"unknown writer", Config{InvoiceWriter: "smtp"}, "invoice_writer"},
		{"api writer without key", Config{InvoiceWriter: WriterAPI, BaseURL: testBaseURL}, "api.key"},
		{"api writer without URL", Config{InvoiceWriter: WriterAPI, API: APIConfig{Key: "PAYMsecret"}}, "api.base_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := New(ctx, db.DB, tt.cfg)
			if err == nil {
				_ = b.Close()
			}
			wantCode(t, err, hostapi.CodeInvalid, tt.field)
			assertNoSecrets(t, err.Error(), "MDEyMzQ1Njc4OWFiY2RlZg==", "PAYMsecret")
		})
	}
}

func TestConfigStringRedactsSecrets(t *testing.T) {
	cfg := Config{AppKey: testAppKey, BaseURL: testBaseURL, API: APIConfig{Key: "PAYMsecretkey"}}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", &cfg)} {
		assertNoSecrets(t, s, testAppKey, "PAYMsecretkey")
	}
}

func TestSettings(t *testing.T) {
	f := newFixture(t, schema.SeedOptions{
		Timezone:        "Europe/Berlin",
		DefaultCurrency: "USD",
		TaxEnabled:      true,
		TaxType:         "inclusive",
	}, Config{BaseURL: testBaseURL + "/"})
	got, err := f.b.Settings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := hostapi.PanelSettings{
		Panel:           "paymenter",
		Timezone:        "Europe/Berlin",
		DefaultCurrency: "USD",
		TaxEnabled:      true,
		TaxType:         "inclusive",
		BaseURL:         testBaseURL,
		// No credits_on_downgrade row: Paymenter's default, on.
		CreditsOnDowngrade: true,
		// The seed's currencies table, sorted.
		Currencies: []string{"EUR", "USD"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Settings() = %+v, want %+v", got, want)
	}
}

func TestSettingsDefaultToUTC(t *testing.T) {
	f := newFixture(t, schema.SeedOptions{}, Config{})
	f.exec(t, "DELETE FROM `settings` WHERE `key` = 'timezone'")
	got, err := f.b.Settings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.Timezone != "UTC" {
		t.Fatalf("Timezone = %q, want UTC", got.Timezone)
	}
}

func TestService(t *testing.T) {
	f := newFixture(t, schema.SeedOptions{}, Config{})
	ctx := context.Background()
	got, err := f.b.Service(ctx, f.ids.ServiceID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != f.ids.ServiceID || got.UserID != f.ids.UserID || got.ProductID != f.ids.ProductID || got.PlanID != f.ids.PlanID {
		t.Fatalf("ids: %+v", got)
	}
	if got.ProductName != "Minecraft 4 GB" || got.Status != hostapi.ServiceActive || got.Currency != "EUR" || got.Quantity != 1 {
		t.Fatalf("fields: %+v", got)
	}
	if !got.Price.Equal(dec("10.00")) {
		t.Fatalf("Price = %s, want 10.00", got.Price)
	}
	if want := (hostapi.Cycle{Type: hostapi.PlanRecurring, Period: 1, Unit: hostapi.UnitMonth}); got.Cycle != want {
		t.Fatalf("Cycle = %+v, want %+v", got.Cycle, want)
	}
	// A NULL label reads as Paymenter shows it.
	if want := fmt.Sprintf("Minecraft 4 GB #%d", f.ids.ServiceID); got.Label != want {
		t.Fatalf("Label = %q, want %q", got.Label, want)
	}

	f.exec(t, "UPDATE `services` SET `label` = 'survival world' WHERE `id` = ?", f.ids.ServiceID)
	if got, _ = f.b.Service(ctx, f.ids.ServiceID); got.Label != "survival world" {
		t.Fatalf("Label = %q", got.Label)
	}

	_, err = f.b.Service(ctx, 999999)
	wantCode(t, err, hostapi.CodeNotFound, "")
}

// TestServiceTimesArePanelWallClock: expires_at is a naive DATETIME in the
// panel's timezone. It must come back as that wall clock in that zone,
// whatever location and parseTime the DSN uses.
func TestServiceTimesArePanelWallClock(t *testing.T) {
	tests := []struct {
		timezone string
		// The stored wall clock 2025-07-01 10:30:00 as a UTC instant,
		// worked by hand: Berlin is UTC+2 in July (CEST), New York UTC-4
		// (EDT); 2025-01-15 08:00 is CET (UTC+1) and EST (UTC-5).
		wantExpiresUTC time.Time
		wantCreatedUTC time.Time
	}{
		{"Europe/Berlin", time.Date(2025, 7, 1, 8, 30, 0, 0, time.UTC), time.Date(2025, 1, 15, 7, 0, 0, 0, time.UTC)},
		{"America/New_York", time.Date(2025, 7, 1, 14, 30, 0, 0, time.UTC), time.Date(2025, 1, 15, 13, 0, 0, 0, time.UTC)},
		{"UTC", time.Date(2025, 7, 1, 10, 30, 0, 0, time.UTC), time.Date(2025, 1, 15, 8, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.timezone, func(t *testing.T) {
			f := newFixture(t, schema.SeedOptions{Timezone: tt.timezone}, Config{})
			f.exec(t, "UPDATE `services` SET `expires_at` = '2025-07-01 10:30:00', `created_at` = '2025-01-15 08:00:00' WHERE `id` = ?", f.ids.ServiceID)

			for name, b := range map[string]*Binding{
				"dsn loc=UTC parseTime=true":         f.b,
				"dsn loc=Asia/Tokyo parseTime=false": bindingWithDSN(t, f.db, "Asia/Tokyo", false),
			} {
				svc, err := b.Service(context.Background(), f.ids.ServiceID)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if got := svc.ExpiresAt.Location().String(); got != tt.timezone {
					t.Fatalf("%s: ExpiresAt location = %s, want %s", name, got, tt.timezone)
				}
				if got := svc.ExpiresAt.Format("2006-01-02 15:04:05"); got != "2025-07-01 10:30:00" {
					t.Fatalf("%s: ExpiresAt wall clock = %s", name, got)
				}
				if !svc.ExpiresAt.Equal(tt.wantExpiresUTC) {
					t.Fatalf("%s: ExpiresAt = %s, want %s", name, svc.ExpiresAt.UTC(), tt.wantExpiresUTC)
				}
				if !svc.CreatedAt.Equal(tt.wantCreatedUTC) {
					t.Fatalf("%s: CreatedAt = %s, want %s", name, svc.CreatedAt.UTC(), tt.wantCreatedUTC)
				}
			}
		})
	}
}

func TestServiceWithoutExpiry(t *testing.T) {
	f := newFixture(t, schema.SeedOptions{}, Config{})
	f.exec(t, "UPDATE `services` SET `expires_at` = NULL WHERE `id` = ?", f.ids.ServiceID)
	svc, err := f.b.Service(context.Background(), f.ids.ServiceID)
	if err != nil {
		t.Fatal(err)
	}
	if !svc.ExpiresAt.IsZero() {
		t.Fatalf("ExpiresAt = %v, want zero", svc.ExpiresAt)
	}
}

// bindingWithDSN opens a second connection pool on the same database with
// another loc/parseTime and a binding on it.
func bindingWithDSN(t *testing.T, db *testdb.DB, loc string, parseTime bool) *Binding {
	t.Helper()
	cfg, err := mysql.ParseDSN(db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Loc = mustLoad(t, loc)
	cfg.ParseTime = parseTime
	other, err := sqlx.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	b, err := New(context.Background(), other, Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestUser(t *testing.T) {
	f := newFixture(t, schema.SeedOptions{}, Config{})
	ctx := context.Background()
	got, err := f.b.User(ctx, f.ids.UserID)
	if err != nil {
		t.Fatal(err)
	}
	want := hostapi.User{ID: f.ids.UserID, Email: "customer@example.test", FirstName: "Ada", LastName: "Lovelace"}
	if got != want {
		t.Fatalf("User() = %+v, want %+v", got, want)
	}
	_, err = f.b.User(ctx, 999999)
	wantCode(t, err, hostapi.CodeNotFound, "")
}
