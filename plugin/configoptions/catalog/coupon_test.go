package catalog

import (
	"errors"
	"testing"
	"time"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/money"
)

var now = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func intp(n int) *int { return &n }

func timep(t time.Time) *time.Time { return &t }

func percent(v string) Coupon {
	return Coupon{Code: "SAVE", Type: CouponPercentage, AppliesTo: AppliesToAll, Value: d(v)}
}

func fixed(v string) Coupon {
	return Coupon{Code: "FLAT", Type: CouponFixed, AppliesTo: AppliesToAll, Value: d(v)}
}

var firstUse = CouponUse{Product: 7, Now: now}

func TestApplyCoupon(t *testing.T) {
	tests := []struct {
		name               string
		base, options      string
		coupon             Coupon
		off, first, stored string
	}{
		// BYO (base 0): 10% of 21.00 = 2.10; 21.00 - 2.10 = 18.90; first cycle only: stores 21.00
		{"10% on the VPS 21.00", "0", "21.00", percent("10"), "2.10", "18.90", "21.00"},
		// fixed 25.00 on 21.00: takes 21.00, never below 0
		{"fixed 25.00 on 21.00", "0", "21.00", fixed("25.00"), "21.00", "0.00", "21.00"},
		// fixed 5.00 on plan 10.00 + options 7.95 = 17.95 -> 12.95
		{"fixed 5.00 on plan + options", "10.00", "7.95", fixed("5.00"), "5.00", "12.95", "17.95"},
		// 10% on plan 10.00 + options 7.95 = 17.95 - 1.795 = 16.155 -> 16.16 (half-up,
		// once); off = 17.95 - 16.16 = 1.79 (rounding 1.795 first gave 16.15)
		{"10% on plan + options, half-up on the discounted total", "10.00", "7.95", percent("10"), "1.79", "16.16", "17.95"},
		// the panel's own recalculation: 154.45 - 15.445 = 139.005 -> 139.01;
		// off = 154.45 - 139.01 = 15.44 (rounding 15.445 first gave 139.00)
		{"10% of 154.45 is 139.01, as the panel computes", "0", "154.45", percent("10"), "15.44", "139.01", "154.45"},
		{"10% of 154.45 every cycle stores 139.01", "0", "154.45", recurringCoupon(percent("10"), 0), "15.44", "139.01", "139.01"},
		// plan + options is discounted as one total: 0.10 - 0.01 = 0.09; per
		// part it would be 0.05 - 0.005 = 0.045 -> 0.05, twice = 0.10
		{"10% of plan 0.05 + options 0.05 = 0.09, one total", "0.05", "0.05", percent("10"), "0.01", "0.09", "0.10"},
		// 12.5% on 1.01 + 1.01 = 2.02 -> 0.2525 -> 0.25 once on the total
		// (per part it would be 0.13 + 0.13 = 0.26)
		{"12.5% rounded once on the total", "1.01", "1.01", percent("12.5"), "0.25", "1.77", "2.02"},
		// 15% of 12.34 = 1.851 -> 1.85
		{"15% of 12.34", "0", "12.34", percent("15"), "1.85", "10.49", "12.34"},
		// 50% of 0.25: 0.25 - 0.125 = 0.125 -> 0.13 (half-up); off 0.12
		{"50% of 0.25", "0", "0.25", percent("50"), "0.12", "0.13", "0.25"},
		// 150% takes the whole total, not more
		{"150% capped at the total", "0", "21.00", percent("150"), "21.00", "0.00", "21.00"},
		// 100% of 21.00 = 21.00
		{"100%", "0", "21.00", percent("100"), "21.00", "0.00", "21.00"},
		// applies_to "price" is the same as "all" here
		{"applies to price", "0", "21.00", Coupon{Code: "P", Type: CouponPercentage, AppliesTo: AppliesToPrice, Value: d("10")}, "2.10", "18.90", "21.00"},
		// applies_to unset is Paymenter's default "all"
		{"applies to unset", "0", "21.00", Coupon{Code: "P", Type: CouponPercentage, Value: d("10")}, "2.10", "18.90", "21.00"},
		// setup_fee coupons take nothing off options (they have no setup fee)
		{"setup fee only", "10.00", "21.00", Coupon{Code: "SETUP", Type: CouponPercentage, AppliesTo: AppliesToSetupFee, Value: d("100")}, "0", "31.00", "31.00"},
		// nothing to discount
		{"zero total", "0", "0", fixed("5.00"), "0", "0", "0"},
		// every cycle (recurring 0): 10% of 21.00 -> stores 18.90
		{"10% every cycle", "0", "21.00", recurringCoupon(percent("10"), 0), "2.10", "18.90", "18.90"},
		// first 3 cycles: stores 18.90 until Paymenter's cron recomputes it
		{"10% three cycles", "0", "21.00", recurringCoupon(percent("10"), 3), "2.10", "18.90", "18.90"},
		// recurring 1: first cycle only, stores 21.00
		{"10% one cycle", "0", "21.00", recurringCoupon(percent("10"), 1), "2.10", "18.90", "21.00"},
		// fixed every cycle, never negative: 25.00 on 21.00 stores 0.00
		{"fixed 25.00 every cycle", "0", "21.00", recurringCoupon(fixed("25.00"), 0), "21.00", "0.00", "0.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ApplyCoupon(d(tt.base), d(tt.options), tt.coupon, firstUse)
			if err != nil {
				t.Fatal(err)
			}
			wantAmount(t, "subtotal", got.Subtotal, d(tt.base).Add(d(tt.options)).String())
			wantAmount(t, "off", got.Amount, tt.off)
			wantAmount(t, "first cycle", got.FirstCycle, tt.first)
			wantAmount(t, "stored recurring price", got.Recurring, tt.stored)
			if got.FirstCycle.IsNegative() || got.Recurring.IsNegative() {
				t.Errorf("negative total %+v", got)
			}
		})
	}
}

func recurringCoupon(c Coupon, n int) Coupon {
	c.Recurring = intp(n)
	return c
}

func TestCouponRefusals(t *testing.T) {
	tests := []struct {
		name   string
		coupon func(*Coupon)
		use    func(*CouponUse)
		is     error
		says   string
	}{
		{"not yet valid: starts tomorrow", func(c *Coupon) { c.StartsAt = timep(now.Add(24 * time.Hour)) }, nil,
			ErrCouponNotYetValid, `coupon "SAVE" is not valid before 2026-11-22 10:00`},
		{"expired yesterday", func(c *Coupon) { c.ExpiresAt = timep(now.Add(-24 * time.Hour)) }, nil,
			ErrCouponExpired, `coupon "SAVE" expired on 2026-11-20 10:00`},
		{"expired a second ago", func(c *Coupon) { c.ExpiresAt = timep(now.Add(-time.Second)) }, nil,
			ErrCouponExpired, "expired"},
		{"used up: 5 uses of 5", func(c *Coupon) { c.MaxUses = intp(5) }, func(u *CouponUse) { u.Total = 5 },
			ErrCouponUsedUp, "used 5 times, its maximum"},
		{"used up by this client: 1 of 1", func(c *Coupon) { c.MaxUsesPerUser = intp(1) }, func(u *CouponUse) { u.ByUser = 1 },
			ErrCouponUserLimit, "maximum per client"},
		{"not for this product", func(c *Coupon) { c.ProductIDs = []uint64{8, 9} }, nil,
			ErrCouponNotForProduct, `coupon "SAVE" is not for this product`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, use := percent("10"), firstUse
			if tt.coupon != nil {
				tt.coupon(&c)
			}
			if tt.use != nil {
				tt.use(&use)
			}
			_, err := ApplyCoupon(d("0"), d("21.00"), c, use)
			wantError(t, err, hostapi.CodePrecondition, "", tt.says)
			if !errors.Is(err, tt.is) || !errors.Is(err, hostapi.ErrPrecondition) {
				t.Errorf("%v is not %v and a precondition", err, tt.is)
			}
			if CheckCoupon(c, use) == nil {
				t.Error("CheckCoupon accepted it")
			}
		})
	}
}

func TestCouponAccepted(t *testing.T) {
	tests := []struct {
		name   string
		coupon func(*Coupon)
		use    func(*CouponUse)
	}{
		{"starts now", func(c *Coupon) { c.StartsAt = timep(now) }, nil},
		{"expires now (Paymenter refuses only a past expiry)", func(c *Coupon) { c.ExpiresAt = timep(now) }, nil},
		{"inside its window", func(c *Coupon) {
			c.StartsAt, c.ExpiresAt = timep(now.Add(-time.Hour)), timep(now.Add(time.Hour))
		}, nil},
		{"4 uses of 5", func(c *Coupon) { c.MaxUses = intp(5) }, func(u *CouponUse) { u.Total = 4 }},
		{"max uses 0 is no cap", func(c *Coupon) { c.MaxUses = intp(0) }, func(u *CouponUse) { u.Total = 1000 }},
		{"max uses nil is no cap", nil, func(u *CouponUse) { u.Total = 1000 }},
		{"1 of 2 per client", func(c *Coupon) { c.MaxUsesPerUser = intp(2) }, func(u *CouponUse) { u.ByUser = 1 }},
		{"per client 0 is no cap", func(c *Coupon) { c.MaxUsesPerUser = intp(0) }, func(u *CouponUse) { u.ByUser = 50 }},
		{"for this product", func(c *Coupon) { c.ProductIDs = []uint64{8, 7} }, nil},
		{"no product list is every product", func(c *Coupon) { c.ProductIDs = nil }, func(u *CouponUse) { u.Product = 12345 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, use := percent("10"), firstUse
			if tt.coupon != nil {
				tt.coupon(&c)
			}
			if tt.use != nil {
				tt.use(&use)
			}
			got, err := ApplyCoupon(d("0"), d("21.00"), c, use)
			if err != nil {
				t.Fatal(err)
			}
			wantAmount(t, "off", got.Amount, "2.10")
		})
	}
}

func TestCouponInvalidInput(t *testing.T) {
	for _, tt := range []struct {
		name          string
		base, options string
		coupon        Coupon
		use           CouponUse
		field         string
	}{
		{"unknown type", "0", "21.00", Coupon{Code: "X", Type: "free_setup", Value: d("1")}, firstUse, "coupon.type"},
		{"unknown target", "0", "21.00", Coupon{Code: "X", Type: CouponFixed, AppliesTo: "tax", Value: d("1")}, firstUse, "coupon.applies_to"},
		{"negative value", "0", "21.00", fixed("-1.00"), firstUse, "coupon.value"},
		{"an hourly rate is not an amount", "0", "0.034", percent("10"), firstUse, "options"},
		{"negative base", "-1.00", "21.00", percent("10"), firstUse, "base"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ApplyCoupon(d(tt.base), d(tt.options), tt.coupon, tt.use)
			wantError(t, err, hostapi.CodeInvalid, tt.field)
		})
	}
	_, err := ApplyCoupon(d("0"), d("1.00"), percent("10"), CouponUse{})
	wantError(t, err, hostapi.CodeInternal, "", "without the current time")
}

// What each cycle of a 21.00 service costs with a 10% coupon (2.10 off):
// cycle 0 is paid at checkout; index 1 is the price the service stores.
func TestRecurringPrice(t *testing.T) {
	const full, cut = "21.00", "18.90"
	tests := []struct {
		name      string
		recurring *int
		cycles    []string // cycles 0..5
	}{
		{"nil: first cycle only", nil, []string{cut, full, full, full, full, full}},
		{"1: first cycle only", intp(1), []string{cut, full, full, full, full, full}},
		{"0: every cycle", intp(0), []string{cut, cut, cut, cut, cut, cut}},
		{"3: the first three cycles", intp(3), []string{cut, cut, cut, full, full, full}},
		{"2: the first two cycles", intp(2), []string{cut, cut, full, full, full, full}},
		{"negative: as nil", intp(-2), []string{cut, full, full, full, full, full}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := percent("10")
			c.Recurring = tt.recurring
			for i, want := range tt.cycles {
				wantAmount(t, "cycle", RecurringPrice(d("21.00"), c, i), want)
			}
			// The stored price (Paymenter: undiscounted for nil or 1,
			// discounted otherwise) is cycle 1's, and ApplyCoupon's.
			got, err := ApplyCoupon(d("0"), d("21.00"), c, firstUse)
			if err != nil {
				t.Fatal(err)
			}
			wantAmount(t, "stored", got.Recurring, tt.cycles[1])
		})
	}
	// 10 % every cycle of 154.45: each discounted cycle is 139.005 -> 139.01.
	for i, want := range []string{"139.01", "139.01", "139.01"} {
		wantAmount(t, "154.45 every cycle", RecurringPrice(d("154.45"), recurringCoupon(percent("10"), 0), i), want)
	}
	// A fixed 25.00 coupon on every cycle of a 21.00 service: 0.00, never
	// negative. A setup-fee coupon never changes a cycle.
	wantAmount(t, "fixed", RecurringPrice(d("21.00"), recurringCoupon(fixed("25.00"), 0), 4), "0.00")
	setup := Coupon{Type: CouponFixed, AppliesTo: AppliesToSetupFee, Value: d("5.00"), Recurring: intp(0)}
	wantAmount(t, "setup fee", RecurringPrice(d("21.00"), setup, 0), "21.00")
	// Cycle indexes below 0 are the first cycle.
	wantAmount(t, "index -1", RecurringPrice(d("21.00"), percent("10"), -1), cut)
	// The expiry does not end the discount of a cycle it covers.
	c := recurringCoupon(percent("10"), 0)
	c.ExpiresAt = timep(now.Add(-365 * 24 * time.Hour))
	wantAmount(t, "after expiry", RecurringPrice(d("21.00"), c, 12), cut)
}

// Coupons apply to the total before the price is locked: a BYO service's
// quote (options only) and a preset product's plan + options.
func TestCouponOnQuotes(t *testing.T) {
	vps, _, _ := seeded()
	q, err := PriceBYO(mustValidate(t, []Group{vps}, vpsChoice(4, 8, 100)...), Quarterly)
	if err != nil {
		t.Fatal(err)
	}
	// 10% of 63.00 = 6.30 -> 56.70
	got, err := ApplyCoupon(d("0"), q.Subtotal, percent("10"), firstUse)
	if err != nil {
		t.Fatal(err)
	}
	wantAmount(t, "BYO quarterly off", got.Amount, "6.30")
	wantAmount(t, "BYO quarterly first", got.FirstCycle, "56.70")

	pre, err := Price(mustValidate(t, []Group{extras()}, plan, Choice{OptionID: optPorts, Quantity: 3}), Monthly)
	if err != nil {
		t.Fatal(err)
	}
	// plan 12.00 + options (0.00 Frankfurt + 3.00 Small + 3 x 0.50) 4.50 = 16.50; 20% = 3.30 -> 13.20
	wantAmount(t, "preset options", pre.Subtotal, "4.50")
	got, err = ApplyCoupon(d("12.00"), pre.Subtotal, percent("20"), firstUse)
	if err != nil {
		t.Fatal(err)
	}
	wantAmount(t, "preset off", got.Amount, "3.30")
	wantAmount(t, "preset first", got.FirstCycle, "13.20")
}

// The exact prices a coupon leaves are what exclusive tax is added to;
// each name is the hand-worked arithmetic.
func TestApplyCouponExact(t *testing.T) {
	tests := []struct {
		name                   string
		options                string
		coupon                 Coupon
		firstExact, recurExact string
		first, recur           string
		taxedFirst7, taxedRec7 string
	}{
		{"10 % first cycle: 0.08 - 0.008 = 0.072 (0.07); renews at 0.08; +7 %: 0.072 + 0.01 = 0.082 -> 0.08, 0.08 + 0.0056 -> 0.09",
			"0.08", percent("10"), "0.072", "0.08", "0.07", "0.08", "0.08", "0.09"},
		{"10 % every cycle: both 0.072, taxed 0.08",
			"0.08", recurringCoupon(percent("10"), 0), "0.072", "0.072", "0.07", "0.07", "0.08", "0.08"},
		{"fixed 1.00 every cycle: 21.00 - 1.00 = 20.00, exact already; +7 %: 20.00 + 1.40 = 21.40",
			"21.00", recurringCoupon(fixed("1.00"), 0), "20.00", "20.00", "20.00", "20.00", "21.40", "21.40"},
	}
	seven := d("7")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ApplyCoupon(d("0"), d(tt.options), tt.coupon, firstUse)
			if err != nil {
				t.Fatal(err)
			}
			if !got.FirstCycleExact.Equal(d(tt.firstExact)) || !got.RecurringExact.Equal(d(tt.recurExact)) {
				t.Fatalf("exact first %s recurring %s, want %s and %s", got.FirstCycleExact, got.RecurringExact, tt.firstExact, tt.recurExact)
			}
			wantAmount(t, "first cycle", got.FirstCycle, tt.first)
			wantAmount(t, "recurring", got.Recurring, tt.recur)
			wantAmount(t, "first cycle + 7 %", money.PlusExclusiveTax(got.FirstCycleExact, seven), tt.taxedFirst7)
			wantAmount(t, "recurring + 7 %", money.PlusExclusiveTax(got.RecurringExact, seven), tt.taxedRec7)
		})
	}
}
