// Package proration is the contract's proration engine, shared by every
// module that charges for part of a billing cycle: how many days are left in
// a service's current cycle (the calendar span, or Paymenter's 30-day months
// and 365-day years), a monthly price scaled to a cycle, the share of it due
// for the days left, and the panel's exclusive tax on a recurring price.
// Micro-Upsell prices its add-ons with Compute; configurable options price a
// change of a running service's options with Change and check a checkout's
// cycle with Eligible.
//
// All arithmetic is exact (shopspring/decimal); each amount is rounded once,
// at the end, by hostapi/money (half-up to cents). The rules, with worked
// examples, are in plugin/microupsell/README.md ("Pricing rules").
package proration

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/money"
)

// Method says how the days of the current cycle are counted.
type Method string

// Proration methods.
const (
	// Calendar counts the real calendar span of the current cycle: the
	// cycle ending at expires_at (31 days in a 31-day month, 181/182 for six
	// months, 365/366 for a year).
	Calendar Method = "calendar"
	// Paymenter counts as Paymenter's own upgrade page does: 30-day months,
	// 365-day years, 7-day weeks, remaining days capped at that length.
	Paymenter Method = "paymenter"
)

// Input is everything a quote depends on.
type Input struct {
	// MonthlyPrice is the add-on's monthly base price in the service's
	// currency, excluding tax.
	MonthlyPrice decimal.Decimal
	Cycle        hostapi.Cycle
	// ExpiresAt is the end of the current cycle as a wall clock in the
	// panel's timezone.
	ExpiresAt time.Time
	// Now is the current instant; its date is taken in Location (the
	// panel's timezone; ExpiresAt's zone when nil).
	Now      time.Time
	Location *time.Location
	// TaxRate is the percentage added to the recurring price when the panel
	// adds exclusive tax to it (Paymenter's convention); zero otherwise.
	TaxRate decimal.Decimal
	Method  Method
}

// Quote is the price of one add-on for one service.
type Quote struct {
	// DueToday is charged now for the days left, excluding tax (the panel's
	// invoice adds tax as it does for any item).
	DueToday decimal.Decimal
	// RecurringIncrease is added to the service's recurring price: the
	// monthly price scaled to the cycle, plus exclusive tax where the panel
	// stores its price with tax.
	RecurringIncrease decimal.Decimal
	// DaysLeft and DaysInCycle are the proration's numerator and
	// denominator.
	DaysLeft, DaysInCycle int
}

var (
	twelve = decimal.NewFromInt(12)
	days   = decimal.NewFromInt(365)
	// hundred converts a percentage.
	hundred = decimal.NewFromInt(100)
)

// CyclePrice scales a monthly price to one cycle, unrounded: x1 monthly, x3
// quarterly, x12N for N years; day and week cycles as a share of a 365-day
// year (monthly x 12 x days / 365), so a weekly cycle costs monthly x 84/365.
func CyclePrice(monthly decimal.Decimal, c hostapi.Cycle) (decimal.Decimal, error) {
	if err := Eligible(c); err != nil {
		return decimal.Zero, err
	}
	n := decimal.NewFromInt(int64(c.Period))
	switch c.Unit {
	case hostapi.UnitMonth:
		return monthly.Mul(n), nil
	case hostapi.UnitYear:
		return monthly.Mul(twelve).Mul(n), nil
	case hostapi.UnitWeek:
		return monthly.Mul(twelve).Mul(n.Mul(decimal.NewFromInt(7))).Div(days), nil
	default: // day
		return monthly.Mul(twelve).Mul(n).Div(days), nil
	}
}

// Eligible says whether a service on cycle c can buy add-ons: only recurring
// day, week, month and year cycles can. One-time and free services have no
// recurring price to raise; hourly billing has no cycle to prorate over.
func Eligible(c hostapi.Cycle) error {
	switch {
	case c.Type == hostapi.PlanOneTime:
		return hostapi.Errorf(hostapi.CodePrecondition, "one-time services have no recurring price to add to")
	case c.Type == hostapi.PlanFree:
		return hostapi.Errorf(hostapi.CodePrecondition, "free services cannot buy add-ons")
	case c.Type != hostapi.PlanRecurring:
		return hostapi.Errorf(hostapi.CodePrecondition, "unknown plan type %q", c.Type)
	case c.Unit == hostapi.UnitHour:
		return hostapi.Errorf(hostapi.CodePrecondition, "hourly services cannot buy add-ons: there is no cycle to prorate")
	case c.Period < 1:
		return hostapi.Errorf(hostapi.CodePrecondition, "billing period %d is not a cycle", c.Period)
	}
	switch c.Unit {
	case hostapi.UnitDay, hostapi.UnitWeek, hostapi.UnitMonth, hostapi.UnitYear:
		return nil
	}
	return hostapi.Errorf(hostapi.CodePrecondition, "unknown billing unit %q", c.Unit)
}

// Compute prices one add-on.
func Compute(in Input) (Quote, error) {
	cyclePrice, err := CyclePrice(in.MonthlyPrice, in.Cycle)
	if err != nil {
		return Quote{}, err
	}
	if in.MonthlyPrice.IsNegative() {
		return Quote{}, hostapi.Invalid("monthly_price", "must not be negative")
	}
	return prorate(cyclePrice, in)
}

// Change prices a change of what a service pays per cycle by delta
// (excluding tax): positive for an upgrade, negative for a downgrade, such
// as a configurable option changed on a running service. It is the same rule
// as Compute with the cycle's amount given instead of a monthly price
// (in.MonthlyPrice is not read): DueToday is delta for the days left
// (negative: owed to the client), RecurringIncrease is delta with exclusive
// tax (negative: the recurring price falls). Rounding is half away from zero,
// so a downgrade that undoes an upgrade is the same amount with the opposite
// sign.
func Change(delta decimal.Decimal, in Input) (Quote, error) {
	if err := Eligible(in.Cycle); err != nil {
		return Quote{}, err
	}
	return prorate(delta, in)
}

// prorate charges cyclePrice for the days left in the current cycle.
func prorate(cyclePrice decimal.Decimal, in Input) (Quote, error) {
	if in.ExpiresAt.IsZero() {
		return Quote{}, hostapi.Errorf(hostapi.CodePrecondition, "the service has no expiry date")
	}
	loc := in.Location
	if loc == nil {
		// The expiry is a wall clock in the panel's zone; count in it.
		loc = in.ExpiresAt.Location()
	}
	today := civil(in.Now.In(loc))
	expires := civil(in.ExpiresAt)
	left := daysBetween(today, expires)
	if left < 0 {
		return Quote{}, hostapi.Errorf(hostapi.CodePrecondition, "the current cycle ended on %s: renew the service first", expires.Format("2006-01-02"))
	}
	span := cycleDays(expires, in.Cycle, in.Method)
	if left > span {
		// expires_at further out than one cycle (an admin extended it): the
		// client never pays more than one full cycle today.
		left = span
	}
	due := cyclePrice.Mul(decimal.NewFromInt(int64(left))).Div(decimal.NewFromInt(int64(span)))
	recurring := WithExclusiveTax(cyclePrice, in.TaxRate)
	return Quote{
		DueToday:          money.Round(due),
		RecurringIncrease: money.Round(recurring),
		DaysLeft:          left,
		DaysInCycle:       span,
	}, nil
}

// WithExclusiveTax adds rate percent to a recurring amount, unrounded: a
// panel that adds exclusive tax (Paymenter) stores recurring prices with
// it. A zero or negative rate adds nothing.
func WithExclusiveTax(amount, rate decimal.Decimal) decimal.Decimal {
	if !rate.IsPositive() {
		return amount
	}
	return amount.Mul(hundred.Add(rate)).Div(hundred)
}

// civil is the calendar date of a wall clock, as UTC midnight so that day
// arithmetic never crosses a DST change.
func civil(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func daysBetween(from, to time.Time) int {
	return int(to.Sub(from).Hours() / 24)
}

// cycleDays is the length in days of the cycle ending at expires.
func cycleDays(expires time.Time, c hostapi.Cycle, m Method) int {
	if m == Paymenter {
		per := map[hostapi.BillingUnit]int{hostapi.UnitDay: 1, hostapi.UnitWeek: 7, hostapi.UnitMonth: 30, hostapi.UnitYear: 365}
		return c.Period * per[c.Unit]
	}
	var start time.Time
	switch c.Unit {
	case hostapi.UnitDay:
		start = expires.AddDate(0, 0, -c.Period)
	case hostapi.UnitWeek:
		start = expires.AddDate(0, 0, -7*c.Period)
	case hostapi.UnitMonth:
		start = subMonthsClamped(expires, c.Period)
	case hostapi.UnitYear:
		start = subMonthsClamped(expires, 12*c.Period)
	}
	return daysBetween(start, expires)
}

// subMonthsClamped goes back n months keeping the day of month, clamped to
// the last day of a shorter month (31 March -> 28/29 February), so a cycle
// never starts in the wrong month.
func subMonthsClamped(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m-time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(d, last), 0, 0, 0, 0, time.UTC)
}
