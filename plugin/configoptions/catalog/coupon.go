package catalog

// Coupons, with Paymenter's rules (reference: paymenter.md, "coupons" and
// §2 "Coupon handling at checkout"; Paymenter's Cart::validateCoupon and
// applyCoupon):
//
//   - a coupon is "percentage" (Value % off) or "fixed" (Value off);
//   - a percentage comes off exactly and the discounted total is rounded
//     once (money.LessPercent), as Paymenter's Service::calculatePrice
//     rounds the price it stores: 10 % off 154.45 is 139.005 -> 139.01,
//     so the discount is 15.44, not 15.445 rounded to 15.45; exclusive tax
//     is added to the exact discounted price (Discount.FirstCycleExact,
//     money.PlusExclusiveTax), never to the rounded one;
//   - it applies to the total before the price is locked: the base plan's
//     price plus the options, or for a Build-Your-Own service the options
//     alone (base 0); a discount never exceeds that total, so a fixed coupon
//     never makes a total negative;
//   - applies_to "all" or "price" discounts that total; "setup_fee" only
//     discounts setup fees, which this module's options do not have, so a
//     setup_fee coupon takes nothing off options (the plan's own setup fee
//     is the panel's business);
//   - it is valid from StartsAt (refused while StartsAt is in the future)
//     until ExpiresAt (refused once ExpiresAt is in the past); the times
//     must be in the same clock as CouponUse.Now (Paymenter stores naive
//     wall clocks in the panel's timezone);
//   - MaxUses caps the services using it in total and MaxUsesPerUser per
//     user; nil or 0 means no cap (Paymenter tests them for truth);
//   - ProductIDs restrict it to those products; empty means every product;
//   - Recurring says which cycles it discounts: nil or 1 the first cycle
//     only, 0 every cycle, N the first N cycles. As Paymenter stores it,
//     the service's recurring price is undiscounted when Recurring is nil or
//     1, and discounted otherwise (RecurringPrice with cycle index 1).
//
// The window, use and product checks apply when the coupon is applied at
// checkout; the later cycles it covers keep their discount even after the
// coupon expires (RecurringPrice does not check them).

import (
	"errors"
	"slices"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/money"
)

// Coupon types and targets.
const (
	CouponPercentage = "percentage"
	CouponFixed      = "fixed"

	AppliesToAll      = "all"
	AppliesToPrice    = "price"
	AppliesToSetupFee = "setup_fee"
)

// Why a coupon is refused. Each refusal is a CodePrecondition
// *hostapi.Error wrapping one of these, so errors.Is matches both.
var (
	ErrCouponExpired       = errors.New("coupon expired")
	ErrCouponNotYetValid   = errors.New("coupon not yet valid")
	ErrCouponUsedUp        = errors.New("coupon used up")
	ErrCouponUserLimit     = errors.New("coupon used up by this user")
	ErrCouponNotForProduct = errors.New("coupon not for this product")
)

// Discount is what a coupon does to a total.
type Discount struct {
	// Subtotal is base + options, before the coupon.
	Subtotal decimal.Decimal
	// FirstCycle is what the first cycle costs: Subtotal with the coupon
	// applied, rounded once (see discounted).
	FirstCycle decimal.Decimal
	// Amount is Subtotal - FirstCycle: what the coupon takes off a
	// discounted cycle (at most Subtotal), so that the figures shown add
	// up to the price charged.
	Amount decimal.Decimal
	// Recurring is the recurring price the service stores, Paymenter's
	// way: Subtotal when the coupon's Recurring is nil or 1, FirstCycle
	// otherwise.
	Recurring decimal.Decimal
	// FirstCycleExact and RecurringExact are FirstCycle and Recurring
	// before rounding: a percentage coupon's exact remainder
	// (money.PercentOff). Paymenter adds exclusive tax to that exact price
	// and rounds after (money.PlusExclusiveTax), so a taxed price starts
	// from these.
	FirstCycleExact, RecurringExact decimal.Decimal
}

// CheckCoupon says whether c can be applied now: its type and target are
// known, its value is not negative, it is within its window, not used up
// (in total nor by this user) and for this product.
func CheckCoupon(c Coupon, use CouponUse) error {
	switch c.Type {
	case CouponPercentage, CouponFixed:
	default:
		return hostapi.Invalid("coupon.type", "coupon %q has unknown type %q", c.Code, c.Type)
	}
	switch c.AppliesTo {
	case AppliesToAll, AppliesToPrice, AppliesToSetupFee, "":
	default:
		return hostapi.Invalid("coupon.applies_to", "coupon %q applies to unknown %q", c.Code, c.AppliesTo)
	}
	if c.Value.IsNegative() {
		return hostapi.Invalid("coupon.value", "coupon %q has a negative value", c.Code)
	}
	if use.Now.IsZero() {
		return hostapi.Errorf(hostapi.CodeInternal, "coupon %q checked without the current time", c.Code)
	}
	if c.StartsAt != nil && c.StartsAt.After(use.Now) {
		return hostapi.Errorf(hostapi.CodePrecondition, "coupon %q is not valid before %s: %w", c.Code, c.StartsAt.Format("2006-01-02 15:04"), ErrCouponNotYetValid)
	}
	if c.ExpiresAt != nil && c.ExpiresAt.Before(use.Now) {
		return hostapi.Errorf(hostapi.CodePrecondition, "coupon %q expired on %s: %w", c.Code, c.ExpiresAt.Format("2006-01-02 15:04"), ErrCouponExpired)
	}
	if c.MaxUses != nil && *c.MaxUses > 0 && use.Total >= *c.MaxUses {
		return hostapi.Errorf(hostapi.CodePrecondition, "coupon %q has been used %d times, its maximum: %w", c.Code, use.Total, ErrCouponUsedUp)
	}
	if c.MaxUsesPerUser != nil && *c.MaxUsesPerUser > 0 && use.ByUser >= *c.MaxUsesPerUser {
		return hostapi.Errorf(hostapi.CodePrecondition, "you have used coupon %q %d times, its maximum per client: %w", c.Code, use.ByUser, ErrCouponUserLimit)
	}
	if len(c.ProductIDs) > 0 && !slices.Contains(c.ProductIDs, use.Product) {
		return hostapi.Errorf(hostapi.CodePrecondition, "coupon %q is not for this product: %w", c.Code, ErrCouponNotForProduct)
	}
	return nil
}

// ApplyCoupon applies c, checked with CheckCoupon, to base (the plan's
// price for the cycle; 0 for a BYO service) plus options (Quote.Subtotal).
// Both are amounts in cents, not negative; an hourly rate is not an amount:
// apply a coupon to the hourly charge billed instead.
func ApplyCoupon(base, options decimal.Decimal, c Coupon, use CouponUse) (Discount, error) {
	if err := amount("base", base); err != nil {
		return Discount{}, err
	}
	if err := amount("options", options); err != nil {
		return Discount{}, err
	}
	if err := CheckCoupon(c, use); err != nil {
		return Discount{}, err
	}
	total := base.Add(options)
	exact := discountedExact(total, c)
	first := money.Round(exact)
	d := Discount{Subtotal: total, Amount: total.Sub(first), FirstCycle: first, Recurring: total, FirstCycleExact: exact, RecurringExact: total}
	if discounts(c, 1) {
		d.Recurring, d.RecurringExact = d.FirstCycle, d.FirstCycleExact
	}
	return d, nil
}

// RecurringPrice is what cycle cycleIndex of a service costs with coupon c
// applied at checkout, total being the undiscounted price (base + options)
// of one cycle. Cycle 0 is the first, paid at checkout; RecurringPrice
// with index 1 is the recurring price the service stores after checkout.
// A nil or 1 Recurring discounts cycle 0 only, 0 every cycle, N cycles 0 to
// N-1 (a negative Recurring is taken as nil). The window and use limits
// are not checked again.
func RecurringPrice(total decimal.Decimal, c Coupon, cycleIndex int) decimal.Decimal {
	if !discounts(c, cycleIndex) {
		return total
	}
	return money.Round(discountedExact(total, c))
}

// discounts says whether the coupon discounts cycle i (0-based).
func discounts(c Coupon, i int) bool {
	i = max(i, 0)
	switch {
	case c.Recurring == nil || *c.Recurring < 0 || *c.Recurring == 1:
		return i == 0
	case *c.Recurring == 0:
		return true
	default:
		return i < *c.Recurring
	}
}

// discountedExact is what total costs with c applied, never below 0, not
// rounded: a percentage taken off exactly (money.PercentOff; rounded once
// by the caller, as money.LessPercent does), or the fixed value taken off
// (both are amounts in cents, so nothing needs rounding); total itself for
// a setup-fee coupon.
func discountedExact(total decimal.Decimal, c Coupon) decimal.Decimal {
	if c.AppliesTo == AppliesToSetupFee || !total.IsPositive() || !c.Value.IsPositive() {
		return total
	}
	switch c.Type {
	case CouponPercentage:
		return money.PercentOff(total, c.Value)
	case CouponFixed:
		return decimal.Max(total.Sub(c.Value), decimal.Zero)
	}
	return total
}

// amount checks that d is an amount in cents, not negative.
func amount(field string, d decimal.Decimal) error {
	if d.IsNegative() {
		return hostapi.Invalid(field, "must not be negative, got %s", d)
	}
	if !d.Truncate(money.Places).Equal(d) {
		return hostapi.Invalid(field, "%s has more than %d decimal places: it is not an amount", d, money.Places)
	}
	return nil
}
