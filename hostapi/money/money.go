// Package money holds upsell's one rounding rule. Every amount a client is
// charged or a price is set to passes through Round exactly once, at the end
// of its computation; intermediate values stay exact decimals.
package money

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// Places is the number of decimal places amounts are stored with
// (Paymenter's DECIMAL(17,2)). All currencies upsell handles use two.
const Places = 2

// Round rounds d half-up to Places: 0.125 -> 0.13, 0.124 -> 0.12. For a
// negative amount (a credit) the half goes away from zero, -0.125 -> -0.13,
// so a credit and the charge it mirrors round to the same magnitude.
func Round(d decimal.Decimal) decimal.Decimal {
	return d.Round(Places)
}

// Parse reads an amount that must already have at most Places decimals, as
// stored prices do. It refuses more precision rather than rounding silently.
func Parse(s string) (decimal.Decimal, error) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero, fmt.Errorf("amount %q: %w", s, err)
	}
	if !d.Equal(Round(d)) {
		return decimal.Zero, fmt.Errorf("amount %q has more than %d decimal places", s, Places)
	}
	return d, nil
}

// Format renders d with exactly Places decimals.
func Format(d decimal.Decimal) string { return d.StringFixed(Places) }
