package paymenter

import (
	"context"
	"testing"

	"github.com/upsell-io/upsell/adapters/paymenter/schema"
	"github.com/upsell-io/upsell/hostapi"
)

// A grant creates the user's credits row, a second one adds to it, another
// currency gets its own row, and a refused grant writes nothing.
func TestAddCredit(t *testing.T) {
	f := newFixture(t, schema.SeedOptions{}, Config{})
	ctx := context.Background()
	user := f.ids.UserID
	grant := func(currency, amount string) hostapi.CreditBalance {
		t.Helper()
		out, err := f.b.AddCredit(ctx, nil, hostapi.CreditGrant{UserID: user, Currency: currency, Amount: dec(amount), Reason: "downgrade"})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	balance := func(currency string) string {
		return f.decimalOf(t, "SELECT COALESCE(SUM(`amount`), 0) FROM `credits` WHERE `user_id` = ? AND `currency_code` = ?", user, currency).StringFixed(2)
	}
	if got := grant("EUR", "3.21"); got.Balance.StringFixed(2) != "3.21" || got.Currency != "EUR" {
		t.Fatalf("first grant: %+v", got)
	}
	if got := grant("eur", "0.79"); got.Balance.StringFixed(2) != "4.00" {
		t.Fatalf("second grant: %+v, want balance 4.00", got)
	}
	grant("USD", "1.00")
	if balance("EUR") != "4.00" || balance("USD") != "1.00" || f.count(t, "credits") != 2 {
		t.Fatalf("credits: EUR %s USD %s rows %d; want 4.00, 1.00, 2 rows", balance("EUR"), balance("USD"), f.count(t, "credits"))
	}

	for _, tc := range []struct {
		name  string
		g     hostapi.CreditGrant
		code  hostapi.Code
		field string
	}{
		{"zero", hostapi.CreditGrant{UserID: user, Currency: "EUR", Amount: dec("0")}, hostapi.CodeInvalid, "amount"},
		{"negative", hostapi.CreditGrant{UserID: user, Currency: "EUR", Amount: dec("-1.00")}, hostapi.CodeInvalid, "amount"},
		{"sub-cent", hostapi.CreditGrant{UserID: user, Currency: "EUR", Amount: dec("0.005")}, hostapi.CodeInvalid, "amount"},
		{"no currency", hostapi.CreditGrant{UserID: user, Currency: "EU", Amount: dec("1.00")}, hostapi.CodeInvalid, "currency"},
		{"no user", hostapi.CreditGrant{Currency: "EUR", Amount: dec("1.00")}, hostapi.CodeInvalid, "user_id"},
		{"unknown user", hostapi.CreditGrant{UserID: 999999, Currency: "EUR", Amount: dec("1.00")}, hostapi.CodeNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.b.AddCredit(ctx, nil, tc.g)
			wantCode(t, err, tc.code, tc.field)
			if balance("EUR") != "4.00" || f.count(t, "credits") != 2 {
				t.Fatalf("a refused grant changed credits: EUR %s, %d rows", balance("EUR"), f.count(t, "credits"))
			}
		})
	}
}

// Properties are inserted, then replaced by key; other services' and other
// keys' rows are left alone.
func TestSetServiceProperties(t *testing.T) {
	f := newFixture(t, schema.SeedOptions{}, Config{})
	ctx := context.Background()
	svc := f.ids.ServiceID
	other, err := schema.AddService(ctx, f.db, schema.ServiceSpec{UserID: f.ids.UserID, ProductID: f.ids.ProductID, PlanID: f.ids.PlanID, Currency: "EUR", Price: dec("7.00")})
	if err != nil {
		t.Fatal(err)
	}
	set := func(id uint64, props ...hostapi.ServiceProperty) error {
		return f.b.SetServiceProperties(ctx, nil, id, props)
	}
	prop := func(id uint64, key string) string {
		var v string
		if err := f.db.GetContext(ctx, &v, "SELECT `value` FROM `properties` WHERE `model_type` = ? AND `model_id` = ? AND `key` = ?", TypeService, id, key); err != nil {
			return "<none>"
		}
		return v
	}
	if err := set(svc, hostapi.ServiceProperty{Key: "memory", Name: "memory", Value: "4096"}, hostapi.ServiceProperty{Key: "disk", Name: "disk", Value: "10240"}); err != nil {
		t.Fatal(err)
	}
	if err := set(other, hostapi.ServiceProperty{Key: "memory", Name: "memory", Value: "1024"}); err != nil {
		t.Fatal(err)
	}
	if err := set(svc, hostapi.ServiceProperty{Key: "memory", Name: "memory", Value: "8192"}); err != nil {
		t.Fatal(err)
	}
	if prop(svc, "memory") != "8192" || prop(svc, "disk") != "10240" || prop(other, "memory") != "1024" {
		t.Fatalf("properties: memory %s disk %s other %s; want 8192 10240 1024", prop(svc, "memory"), prop(svc, "disk"), prop(other, "memory"))
	}
	before := f.count(t, "properties")
	wantCode(t, set(svc, hostapi.ServiceProperty{Key: "memory", Value: "1"}, hostapi.ServiceProperty{Key: "memory", Value: "2"}), hostapi.CodeInvalid, "properties[1].key")
	wantCode(t, set(999999, hostapi.ServiceProperty{Key: "memory", Value: "1"}), hostapi.CodeNotFound, "")
	if f.count(t, "properties") != before || prop(svc, "memory") != "8192" {
		t.Fatalf("a refused call changed properties")
	}
}

// credits_on_downgrade is on unless the panel turned it off.
func TestCreditsOnDowngradeSetting(t *testing.T) {
	f := newFixture(t, schema.SeedOptions{}, Config{})
	ctx := context.Background()
	s, err := f.b.Settings(ctx)
	if err != nil || !s.CreditsOnDowngrade {
		t.Fatalf("default: %+v, %v; want credits on downgrade", s, err)
	}
	f.exec(t, "INSERT INTO `settings` (`key`, `value`, `type`) VALUES ('credits_on_downgrade', '0', 'boolean')")
	got, err := f.b.readSettings(ctx, nil)
	if err != nil || got.creditsOnDowngrade {
		t.Fatalf("turned off: %+v, %v", got, err)
	}
}
