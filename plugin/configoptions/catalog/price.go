package catalog

// Pricing.
//
// Where rounding happens: line prices (Line.Price, Line.Hourly) are exact
// decimals and are never rounded; each total a client is billed or a price
// is locked at (Quote.Subtotal of a cycle quote, Quote.MonthlyCap, a
// coupon's discount, an hourly charge) is rounded once, at the end of its
// computation, by money.Round (half-up to cents). An hourly rate is a rate,
// not an amount billed: Quote.HourlyRate is exact and never rounded. An
// option whose chosen value or unit has no hourly price adds nothing to
// the rate (the MySQL seed's daily backups: a monthly price only); the rate
// of the other options is still computed. With
// hourly prices of at most 4 decimals (ValidateGroup's rule) and whole
// quantities it has at most 4 decimals (3 x 0.0015 = 0.0045); the amount
// billed for a number of hours is rounded to cents once, by HourlyCharge.
//
// How a Build-Your-Own service is billed: its options' monthly cap scaled
// to its cycle (cap x 1, 3, 6 or 12), not the quarterly, semi-annual or
// annual columns, which BYO ignores; an hourly BYO service is billed its
// hourly rate per hour, at most the monthly cap in a month. Preset options
// are priced from the column of the service's term.

import (
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/money"
)

// TermFor maps a panel cycle to the term whose price column prices it:
// 1 month -> monthly, 3 months -> quarterly, 6 months -> semi-annual, 12
// months or 1 year -> annual, 1 hour -> hourly. Any other cycle, and
// one-time or free plans, have no price column and are refused with
// CodePrecondition.
func TermFor(c hostapi.Cycle) (Term, error) {
	switch c.Type {
	case hostapi.PlanRecurring:
	case hostapi.PlanOneTime:
		return "", hostapi.Errorf(hostapi.CodePrecondition, "one-time plans have no option price column: options are priced hourly, monthly, quarterly, semi-annually or annually")
	case hostapi.PlanFree:
		return "", hostapi.Errorf(hostapi.CodePrecondition, "free plans have no option price column: options are priced hourly, monthly, quarterly, semi-annually or annually")
	default:
		return "", hostapi.Errorf(hostapi.CodePrecondition, "unknown plan type %q", c.Type)
	}
	switch {
	case c.Unit == hostapi.UnitHour && c.Period == 1:
		return Hourly, nil
	case c.Unit == hostapi.UnitMonth && c.Period == 1:
		return Monthly, nil
	case c.Unit == hostapi.UnitMonth && c.Period == 3:
		return Quarterly, nil
	case c.Unit == hostapi.UnitMonth && c.Period == 6:
		return SemiAnnual, nil
	case c.Unit == hostapi.UnitMonth && c.Period == 12, c.Unit == hostapi.UnitYear && c.Period == 1:
		return Annual, nil
	}
	return "", hostapi.Errorf(hostapi.CodePrecondition, "the %d-%s cycle has no price column: options are priced hourly, monthly, quarterly, semi-annually or annually", c.Period, c.Unit)
}

// Months is the number of months a term bills: 1, 3, 6, 12; 0 for hourly
// and unknown terms.
func (t Term) Months() int64 {
	switch t {
	case Monthly:
		return 1
	case Quarterly:
		return 3
	case SemiAnnual:
		return 6
	case Annual:
		return 12
	}
	return 0
}

func (t Term) valid() bool { return t == Hourly || t.Months() > 0 }

// label is the term as a sentence says it.
func (t Term) label() string {
	if t == SemiAnnual {
		return "semi-annual"
	}
	return string(t)
}

// For returns the column of term t, nil when it is not offered.
func (p Prices) For(t Term) *decimal.Decimal {
	switch t {
	case Hourly:
		return p.Hourly
	case Monthly:
		return p.Monthly
	case Quarterly:
		return p.Quarterly
	case SemiAnnual:
		return p.SemiAnnual
	case Annual:
		return p.Annual
	}
	return nil
}

// Price prices a selection of preset options for term t from the term's
// price columns: a value's price, or the unit price x the quantity; texts
// are never priced and are not quoted; an unticked checkbox and a quantity
// of 0 cost 0. A chosen value or unit without a price on the term is
// refused with CodePrecondition naming the option.
//
// Subtotal (= Total; Discount is 0: see ApplyCoupon) is the sum of the
// lines rounded once. For Hourly the quote is a rate: Lines' Price and
// Hourly are the hourly prices, HourlyRate (= Subtotal = Total) their exact
// sum, and MonthlyCap the rounded sum of the monthly prices, so every
// chosen value or unit then needs a monthly price; one without an hourly
// price adds 0 to the rate (its line says NoHourlyPrice).
func Price(sel Selection, t Term) (Quote, error) { return quote(sel, t, false) }

// PriceBYO prices a Build-Your-Own selection for term t. A BYO service is
// billed the monthly cap on its cycle: MonthlyCap is the rounded sum of the
// monthly prices and Subtotal (= Total) the exact monthly sum x t.Months(),
// rounded once; each line's Price is its monthly price x t.Months(). The
// quarterly, semi-annual and annual columns are not used. For Hourly it is
// the same rate quote as Price's.
func PriceBYO(sel Selection, t Term) (Quote, error) { return quote(sel, t, true) }

func quote(sel Selection, t Term, byo bool) (Quote, error) {
	if !t.valid() {
		return Quote{}, hostapi.Invalid("term", "unknown term %q", t)
	}
	q := Quote{Term: t, Lines: make([]Line, 0, len(sel))}
	months := decimal.NewFromInt(t.Months())
	sum, hourly, monthly := decimal.Zero, decimal.Zero, decimal.Zero
	for _, s := range sel {
		if s.Option.Type == Text {
			continue
		}
		line := Line{OptionID: s.Option.ID, Option: s.Option.Name, Value: shown(s)}
		switch {
		case t == Hourly:
			// No hourly price adds nothing to the rate; the monthly
			// price is still needed for the cap.
			h, offered, err := priceOf(s, Hourly)
			if err != nil {
				return Quote{}, err
			}
			m, err := mustPrice(s, Monthly)
			if err != nil {
				return Quote{}, err
			}
			line.Price, line.Hourly, line.NoHourlyPrice = h, h, !offered
			hourly = hourly.Add(h)
			monthly = monthly.Add(m)
		case byo:
			m, err := mustPrice(s, Monthly)
			if err != nil {
				return Quote{}, err
			}
			line.Price = m.Mul(months)
			monthly = monthly.Add(m)
		default:
			p, err := mustPrice(s, t)
			if err != nil {
				return Quote{}, err
			}
			line.Price = p
			sum = sum.Add(p)
		}
		q.Lines = append(q.Lines, line)
	}
	switch {
	case t == Hourly:
		q.HourlyRate = hourly
		q.MonthlyCap = money.Round(monthly)
		q.Subtotal = hourly
	case byo:
		q.MonthlyCap = money.Round(monthly)
		q.Subtotal = money.Round(monthly.Mul(months))
	default:
		q.Subtotal = money.Round(sum)
	}
	q.Total = q.Subtotal
	return q, nil
}

// MonthlyCap is what one month of sel costs at most, the cap a quote or a
// summary shows: the options' monthly prices summed and rounded once. A
// Build-Your-Own service is billed it (PriceBYO's MonthlyCap); a preset
// product's cap is its options' monthly total (Price's monthly Subtotal),
// never 0 for options that cost something. ok is false when a chosen
// value or unit has no monthly price: there is then no cap to show.
func MonthlyCap(sel Selection) (monthlyCap decimal.Decimal, ok bool, err error) {
	sum := decimal.Zero
	for _, s := range sel {
		p, offered, err := priceOf(s, Monthly)
		if err != nil {
			return decimal.Zero, false, err
		}
		if !offered {
			return decimal.Zero, false, nil
		}
		sum = sum.Add(p)
	}
	return money.Round(sum), true, nil
}

// mustPrice is priceOf for a term the selected option must be priced on:
// a chosen value or unit without a price on t is refused with
// CodePrecondition naming the option.
func mustPrice(s Selected, t Term) (decimal.Decimal, error) {
	p, offered, err := priceOf(s, t)
	if err != nil || offered {
		return p, err
	}
	if s.Value != nil {
		return decimal.Zero, hostapi.Errorf(hostapi.CodePrecondition, "option %q: %q has no %s price", s.Option.Name, s.Value.Label, t.label())
	}
	return decimal.Zero, hostapi.Errorf(hostapi.CodePrecondition, "option %q has no %s unit price", s.Option.Name, t.label())
}

// priceOf is the exact price of one selected option on term t. offered is
// false when the chosen value or unit has no price on t (the price is then
// 0); an unticked checkbox, a quantity of 0 and a text cost 0 on every
// term.
func priceOf(s Selected, t Term) (price decimal.Decimal, offered bool, err error) {
	o := s.Option
	switch o.Type {
	case Dropdown, Radio, Checkbox:
		if s.Value == nil { // an unticked checkbox
			return decimal.Zero, true, nil
		}
		p := s.Value.Prices.For(t)
		if p == nil {
			return decimal.Zero, false, nil
		}
		return *p, true, nil
	case Quantity, Slider:
		if s.Quantity == 0 {
			return decimal.Zero, true, nil
		}
		p := o.UnitPrices.For(t)
		if p == nil {
			return decimal.Zero, false, nil
		}
		return p.Mul(decimal.NewFromInt(s.Quantity)), true, nil
	case Text:
		return decimal.Zero, true, nil
	}
	return decimal.Zero, false, hostapi.Errorf(hostapi.CodeInternal, "option %q has unknown type %q", o.Name, o.Type)
}

// shown is how a quote line shows the choice.
func shown(s Selected) string {
	switch {
	case s.Value != nil:
		return s.Value.Label
	case s.Option.Type == Checkbox:
		return "no"
	default:
		return QuantityText(s.Option, s.Quantity)
	}
}

// QuantityText is a quantity of an option as clients read it, the unit
// made singular for one: "1 core", "4 cores", "8 GB", "3".
func QuantityText(o Option, n int64) string {
	unit := o.Unit
	if unit == "" {
		return strconv.FormatInt(n, 10)
	}
	if n == 1 {
		unit = SingularUnit(unit)
	}
	return strconv.FormatInt(n, 10) + " " + unit
}

// SingularUnit is the unit for one ("cores" -> "core"; "GB" stays; "unit"
// when the option has none), for "per core" prices.
func SingularUnit(unit string) string {
	switch {
	case unit == "":
		return "unit"
	case len(unit) > 3 && strings.HasSuffix(unit, "s") && strings.ToLower(unit) == unit:
		return strings.TrimSuffix(unit, "s")
	}
	return unit
}

// HourlyCharge is what an hourly-billed service owes for hours hours of
// one month at rate (Quote.HourlyRate, exact): rate x hours, at most
// monthlyCap (Quote.MonthlyCap), rounded once to cents. The caller decides
// which hours make up the month.
func HourlyCharge(rate, monthlyCap decimal.Decimal, hours int64) (decimal.Decimal, error) {
	if hours < 0 {
		return decimal.Zero, hostapi.Invalid("hours", "must not be negative, got %d", hours)
	}
	if rate.IsNegative() || monthlyCap.IsNegative() {
		return decimal.Zero, hostapi.Invalid("rate", "rate and monthly cap must not be negative")
	}
	charge := rate.Mul(decimal.NewFromInt(hours))
	if charge.GreaterThan(monthlyCap) {
		return monthlyCap, nil
	}
	return money.Round(charge), nil
}
