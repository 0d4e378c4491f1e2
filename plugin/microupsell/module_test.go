package microupsell

import (
	"errors"
	"testing"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/plugin/microupsell/pricing"
)

func TestParseSettings(t *testing.T) {
	got, err := parseSettings(map[string]string{"proration": "paymenter", "max_open_orders": "5"})
	if err != nil || got.Proration != pricing.Paymenter || got.MaxOpenOrders != 5 || got.MaxApplyAttempts != 5 || got.InvoiceDueDays != 7 {
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

func TestPackageValidation(t *testing.T) {
	str := func(s string) *string { return &s }
	i64 := func(n int64) *int64 { return &n }
	ok := packageInput{Name: str("+1 GB RAM"), Resource: str("memory_mib"), Amount: i64(1024), MonthlyPrices: map[string]string{"EUR": "2.00"}}
	if _, err := ok.apply(Package{Active: true}); err != nil {
		t.Fatal(err)
	}
	tests := map[string]func(p *packageInput){
		"empty name":         func(p *packageInput) { p.Name = str(" ") },
		"unknown resource":   func(p *packageInput) { p.Resource = str("gpu") },
		"zero amount":        func(p *packageInput) { p.Amount = i64(0) },
		"three decimals":     func(p *packageInput) { p.MonthlyPrices = map[string]string{"EUR": "2.005"} },
		"negative price":     func(p *packageInput) { p.MonthlyPrices = map[string]string{"EUR": "-1.00"} },
		"lowercase currency": func(p *packageInput) { p.MonthlyPrices = map[string]string{"eur": "1.00"} },
		"no price":           func(p *packageInput) { p.MonthlyPrices = map[string]string{} },
		"vps-only resource":  func(p *packageInput) { p.Resource = str("cpu_cores") },
	}
	for name, mutate := range tests {
		in := ok
		mutate(&in)
		if _, err := in.apply(Package{Active: true}); !errors.Is(err, hostapi.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
