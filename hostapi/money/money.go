// Package money holds upsell's one rounding rule. Every amount a client is
// charged or a price is set to passes through Round exactly once, at the end
// of its computation; intermediate values stay exact decimals.
package money

import (
	"fmt"
	"strings"

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

// LessPercent is total less percent % of it, rounded once: the exact
// percentage comes off and only what remains is rounded, as Paymenter
// recalculates a price with a percentage coupon (Coupon::calculateDiscount
// is exact; Service::calculatePrice rounds the price it returns). 154.45
// less 10 % is 154.45 - 15.445 = 139.005 -> 139.01; rounding the discount
// first (15.445 -> 15.45) would give 139.00, a cent below the panel's.
// percent of 100 or more leaves 0, never less; total is an amount.
func LessPercent(total, percent decimal.Decimal) decimal.Decimal {
	return Round(PercentOff(total, percent))
}

// PercentOff is total less percent % of it, exact (not rounded): what
// Paymenter's Service::calculatePrice holds after a percentage coupon and
// before it adds exclusive tax (see PlusExclusiveTax). percent of 100 or
// more leaves 0, never less.
func PercentOff(total, percent decimal.Decimal) decimal.Decimal {
	if percent.GreaterThanOrEqual(hundred) {
		return decimal.Zero
	}
	return total.Sub(total.Mul(percent).Div(hundred))
}

// PlusExclusiveTax is amount with rate % exclusive tax added, as
// Paymenter's Price adds it (Service::calculatePrice, a cart's price): the
// tax is rounded to cents first, then the sum, round(x + round(x*rate/100)).
// amount may be exact, such as a price less a percentage coupon
// (PercentOff): 0.08 less 10 % is 0.072, its 7 % tax 0.00504 -> 0.01, and
// 0.072 + 0.01 = 0.082 -> 0.08, where taxing the discounted price already
// rounded (0.07 x 1.07 = 0.0749) gives 0.07. For an amount in cents it is
// Round(amount x (100 + rate) / 100). A rate of zero or less adds nothing
// (the amount is still rounded).
func PlusExclusiveTax(amount, rate decimal.Decimal) decimal.Decimal {
	if !rate.IsPositive() {
		return Round(amount)
	}
	return Round(amount.Add(Round(amount.Mul(rate).Div(hundred))))
}

var hundred = decimal.NewFromInt(100)

// Precision is the number of digits of Paymenter's amount columns,
// DECIMAL(17, 2); upsell's own price columns use the same (hourly prices
// DECIMAL(17, 4)).
const Precision = 17

// Parse reads an amount written as a provider writes one: see ParseScale,
// with Places decimals (it fits DECIMAL(17, 2)).
func Parse(s string) (decimal.Decimal, error) { return ParseScale(s, Places) }

// ParseScale is the one reading of a price an admin or a tool sends: a
// plain decimal string ("12", "12.5", "-0.75"), with no exponent ("1e3"),
// no "+", no spaces or separators, and no leading or trailing point; at
// most places decimals (trailing zeros aside: "1.500" is 1.50, "1.005" is
// refused, never rounded, so what is stored is what was sent); and fewer
// than Precision-places integer digits, so that it fits DECIMAL(17, places)
// instead of failing in the database. The sign is the caller's rule: a
// negative amount parses.
func ParseScale(s string, places int32) (decimal.Decimal, error) {
	if !plainDecimal(s) {
		return decimal.Zero, fmt.Errorf("%q is not a plain decimal such as \"12.50\"", s)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero, fmt.Errorf("amount %q: %w", s, err)
	}
	if !d.Equal(d.Truncate(places)) {
		return decimal.Zero, fmt.Errorf("%q has more than %d decimal places", s, places)
	}
	if limit := decimal.New(1, Precision-places); d.Abs().GreaterThanOrEqual(limit) {
		return decimal.Zero, fmt.Errorf("%q is out of range: it must be smaller than %s", s, limit)
	}
	return d, nil
}

// plainDecimal reports whether s is -?[0-9]+(\.[0-9]+)?.
func plainDecimal(s string) bool {
	if strings.HasPrefix(s, "-") {
		s = s[1:]
	}
	intPart, frac, dotted := strings.Cut(s, ".")
	return digits(intPart) && (!dotted || digits(frac))
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Format renders d with exactly Places decimals.
func Format(d decimal.Decimal) string { return d.StringFixed(Places) }
