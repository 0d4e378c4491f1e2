package microupsell

import (
	"errors"
	"strings"
	"testing"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/proration"
)

func TestParseSettings(t *testing.T) {
	got, err := parseSettings(map[string]string{"proration": "paymenter", "max_open_orders": "5"})
	if err != nil || got.Proration != proration.Paymenter || got.MaxOpenOrders != 5 || got.MaxApplyAttempts != 5 || got.InvoiceDueDays != 7 {
		t.Fatalf("%+v %v", got, err)
	}
	for name, in := range map[string]map[string]string{
		"unknown key":       {"currency_rounding": "0.01"},
		"bad proration":     {"proration": "weekly"},
		"zero open orders":  {"max_open_orders": "0"},
		"not a number":      {"invoice_due_days": "seven"},
		"negative attempts": {"max_apply_attempts": "-1"},
	} {
		if _, err := parseSettings(in); !errors.Is(err, hostapi.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// panelEURUSD is a panel with two currencies, EUR the default.
var panelEURUSD = hostapi.PanelSettings{DefaultCurrency: "EUR", Currencies: []string{"EUR", "USD"}}

func TestPackageValidation(t *testing.T) {
	str := func(s string) *string { return &s }
	i64 := func(n int64) *int64 { return &n }
	num := func(n int) *int { return &n }
	ok := packageInput{Name: str("+1 GB RAM"), Resource: str("memory_mib"), Amount: i64(1024), MonthlyPrices: map[string]string{"EUR": "2.00"}}
	if _, err := ok.apply(Package{Active: true}, panelEURUSD); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		settings hostapi.PanelSettings
		mutate   func(p *packageInput)
		// field is the refused field; "" means accepted.
		field string
	}{
		{"both panel currencies", panelEURUSD, func(p *packageInput) { p.MonthlyPrices = map[string]string{"EUR": "2.00", "USD": "2.50"} }, ""},
		{"largest price that fits DECIMAL(17,2)", panelEURUSD, func(p *packageInput) { p.MonthlyPrices = map[string]string{"EUR": "999999999999999.99"} }, ""},
		{"free", panelEURUSD, func(p *packageInput) { p.MonthlyPrices = map[string]string{"EUR": "0"} }, ""},
		{"sort at INT bounds", panelEURUSD, func(p *packageInput) { p.Sort = num(-1 << 31) }, ""},
		{"an older host: the default currency", hostapi.PanelSettings{DefaultCurrency: "EUR"}, func(p *packageInput) {}, ""},

		{"empty name", panelEURUSD, func(p *packageInput) { p.Name = str(" ") }, "name"},
		{"name with a newline", panelEURUSD, func(p *packageInput) { p.Name = str("+1 GB\nRAM") }, "name"},
		{"name with NUL", panelEURUSD, func(p *packageInput) { p.Name = str("+1 GB\x00") }, "name"},
		{"name with an escape sequence", panelEURUSD, func(p *packageInput) { p.Name = str("\x1b[31m+1 GB") }, "name"},
		{"name with a right-to-left override", panelEURUSD, func(p *packageInput) { p.Name = str("+1 GB \u202eMAR") }, "name"},
		{"name of 192 characters", panelEURUSD, func(p *packageInput) { p.Name = str(strings.Repeat("é", 192)) }, "name"},
		{"unknown resource", panelEURUSD, func(p *packageInput) { p.Resource = str("gpu") }, "resource"},
		{"vps-only resource", panelEURUSD, func(p *packageInput) { p.Resource = str("cpu_cores") }, "resource"},
		{"zero amount", panelEURUSD, func(p *packageInput) { p.Amount = i64(0) }, "amount"},
		{"amount beyond 2^30", panelEURUSD, func(p *packageInput) { p.Amount = i64(1<<30 + 1) }, "amount"},
		{"negative max per service", panelEURUSD, func(p *packageInput) { p.MaxPerService = num(-1) }, "max_per_service"},
		{"max per service beyond INT UNSIGNED", panelEURUSD, func(p *packageInput) { p.MaxPerService = num(1 << 32) }, "max_per_service"},
		{"sort beyond INT", panelEURUSD, func(p *packageInput) { p.Sort = num(1 << 31) }, "sort"},
		{"sort below INT", panelEURUSD, func(p *packageInput) { p.Sort = num(-1<<31 - 1) }, "sort"},
		{"three decimals", panelEURUSD, func(p *packageInput) { p.MonthlyPrices = map[string]string{"EUR": "1.005"} }, "monthly_prices.EUR"},
		{"exponent", panelEURUSD, func(p *packageInput) { p.MonthlyPrices = map[string]string{"EUR": "1e3"} }, "monthly_prices.EUR"},
		{"plus sign", panelEURUSD, func(p *packageInput) { p.MonthlyPrices = map[string]string{"EUR": "+1.00"} }, "monthly_prices.EUR"},
		{"negative price", panelEURUSD, func(p *packageInput) { p.MonthlyPrices = map[string]string{"EUR": "-1.00"} }, "monthly_prices.EUR"},
		{"price beyond DECIMAL(17,2)", panelEURUSD, func(p *packageInput) { p.MonthlyPrices = map[string]string{"EUR": "1000000000000000"} }, "monthly_prices.EUR"},
		{"lowercase currency", panelEURUSD, func(p *packageInput) { p.MonthlyPrices = map[string]string{"eur": "1.00"} }, "monthly_prices.eur"},
		{"an ISO currency the panel lacks", panelEURUSD, func(p *packageInput) { p.MonthlyPrices = map[string]string{"GBP": "1.00"} }, "monthly_prices.GBP"},
		{"not a currency", panelEURUSD, func(p *packageInput) { p.MonthlyPrices = map[string]string{"XXXX": "1.00"} }, "monthly_prices.XXXX"},
		{"an older host: another currency", hostapi.PanelSettings{DefaultCurrency: "EUR"}, func(p *packageInput) { p.MonthlyPrices = map[string]string{"USD": "1.00"} }, "monthly_prices.USD"},
		{"no price", panelEURUSD, func(p *packageInput) { p.MonthlyPrices = map[string]string{} }, "monthly_prices"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := ok
			tc.mutate(&in)
			_, err := in.apply(Package{Active: true}, tc.settings)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *hostapi.Error
			if !errors.As(err, &e) || e.Code != hostapi.CodeInvalid || e.Field != tc.field {
				t.Fatalf("got %v, want an invalid %s", err, tc.field)
			}
		})
	}
}
