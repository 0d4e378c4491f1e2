package paymenter

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/adapters/paymenter/schema"
	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/testdb"
)

// testAppKey is a fixed APP_KEY ("upsell-laravelcrypt-test-key-32b").
const testAppKey = "base64:dXBzZWxsLWxhcmF2ZWxjcnlwdC10ZXN0LWtleS0zMmI="

// otherAppKey is a valid key that is not the panel's.
const otherAppKey = "base64:YW5vdGhlci1rZXktb2YtZXhhY3RseS0zMi1ieXRlcyE="

const testBaseURL = "https://billing.example.test"

// fixture is a seeded Paymenter database with a binding on it.
type fixture struct {
	db  *testdb.DB
	ids schema.Seeded
	b   *Binding
}

// newFixture seeds a fresh database and opens a binding with cfg.
func newFixture(t *testing.T, seed schema.SeedOptions, cfg Config) *fixture {
	t.Helper()
	return newFixtureWith(t, seed, func(*testdb.DB) Config { return cfg })
}

// newFixtureWith builds the Config once the database exists (the API double
// needs it).
func newFixtureWith(t *testing.T, seed schema.SeedOptions, cfgFor func(*testdb.DB) Config) *fixture {
	t.Helper()
	ctx := context.Background()
	db := testdb.New(t)
	if err := schema.Create(ctx, db); err != nil {
		t.Fatal(err)
	}
	ids, err := schema.Seed(ctx, db, seed)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(ctx, db.DB, cfgFor(db))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return &fixture{db: db, ids: ids, b: b}
}

func (f *fixture) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	if _, err := f.db.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func (f *fixture) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := f.db.GetContext(context.Background(), &n, "SELECT COUNT(*) FROM `"+table+"`"); err != nil {
		t.Fatal(err)
	}
	return n
}

// counter is the stored invoice_number setting.
func (f *fixture) counter(t *testing.T) string {
	t.Helper()
	var v string
	if err := f.db.GetContext(context.Background(), &v,
		"SELECT `value` FROM `settings` WHERE `settingable_type` IS NULL AND `key` = 'invoice_number'"); err != nil {
		t.Fatal(err)
	}
	return v
}

// decimalOf reads one DECIMAL value.
func (f *fixture) decimalOf(t *testing.T, query string, args ...any) decimal.Decimal {
	t.Helper()
	var d decimal.Decimal
	if err := f.db.GetContext(context.Background(), &d, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return d
}

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// wantCode fails unless err carries code (and, when given, field).
func wantCode(t *testing.T, err error, code hostapi.Code, field string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %s", code)
	}
	if got := hostapi.CodeOf(err); got != code {
		t.Fatalf("code = %s (%v), want %s", got, err, code)
	}
	if field != "" {
		var he *hostapi.Error
		if !errors.As(err, &he) || he.Field != field {
			t.Fatalf("field of %v is not %q", err, field)
		}
	}
}

// assertNoSecrets fails if s contains any of the secrets.
func assertNoSecrets(t *testing.T, s string, secrets ...string) {
	t.Helper()
	for _, secret := range secrets {
		if secret != "" && strings.Contains(s, secret) {
			t.Fatalf("%q leaks a secret", s)
		}
	}
}

// oneItem is a valid add-on invoice for the seeded user.
func oneItem(ids schema.Seeded, price string) hostapi.NewInvoice {
	return hostapi.NewInvoice{
		UserID:   ids.UserID,
		Currency: "EUR",
		Items: []hostapi.InvoiceItem{{
			Description: "Extra 2 GB memory",
			Price:       dec(price),
			Quantity:    1,
			ReferenceID: 7,
		}},
	}
}
