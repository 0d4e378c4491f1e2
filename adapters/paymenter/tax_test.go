package paymenter

import (
	"context"
	"testing"

	"github.com/upsell-io/upsell/adapters/paymenter/schema"
)

func TestExclusiveTaxRate(t *testing.T) {
	tests := []struct {
		name     string
		seed     schema.SeedOptions
		country  string // the user's country property, "" for none
		rates    map[string]string
		wantRate string
	}{
		{"tax off", schema.SeedOptions{}, "DE", map[string]string{"DE": "19.00", "all": "21.00"}, "0"},
		{"inclusive prices already hold the tax", schema.SeedOptions{TaxEnabled: true, TaxType: "inclusive"}, "DE", map[string]string{"DE": "19.00"}, "0"},
		{"the user's country", schema.SeedOptions{TaxEnabled: true, TaxType: "exclusive"}, "DE", map[string]string{"DE": "19.00", "all": "21.00"}, "19"},
		{"no rate for the country: all", schema.SeedOptions{TaxEnabled: true, TaxType: "exclusive"}, "FR", map[string]string{"DE": "19.00", "all": "21.00"}, "21"},
		{"no country property: all", schema.SeedOptions{TaxEnabled: true, TaxType: "exclusive"}, "", map[string]string{"all": "7.50"}, "7.5"},
		{"no rate at all", schema.SeedOptions{TaxEnabled: true, TaxType: "exclusive"}, "DE", nil, "0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.seed, Config{BaseURL: testBaseURL})
			for country, rate := range tc.rates {
				f.exec(t, "INSERT INTO tax_rates (name, rate, country) VALUES (?, ?, ?)", "VAT "+country, rate, country)
			}
			if tc.country != "" {
				f.exec(t, "INSERT INTO properties (`key`, `value`, `name`, model_type, model_id) VALUES ('country', ?, 'Country', ?, ?)", tc.country, typeUser, f.ids.UserID)
			}
			got, err := f.b.ExclusiveTaxRate(context.Background(), f.ids.UserID)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tc.wantRate {
				t.Fatalf("rate %s, want %s", got, tc.wantRate)
			}
		})
	}
}
