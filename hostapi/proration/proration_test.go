package proration

import (
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
)

var berlin, _ = time.LoadLocation("Europe/Berlin")

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func monthly(n int) hostapi.Cycle {
	return hostapi.Cycle{Type: hostapi.PlanRecurring, Period: n, Unit: hostapi.UnitMonth}
}

func cycle(n int, u hostapi.BillingUnit) hostapi.Cycle {
	return hostapi.Cycle{Type: hostapi.PlanRecurring, Period: n, Unit: u}
}

// at is a wall clock in Berlin.
func at(y int, m time.Month, day, h, min int) time.Time {
	return time.Date(y, m, day, h, min, 0, 0, berlin)
}

// Every expectation below is worked by hand in the comment next to it.
func TestCompute(t *testing.T) {
	tests := []struct {
		name       string
		in         Input
		due, recur string
		left, span int
	}{
		{"monthly mid-cycle: 2.00 x 10/30 = 0.666.. -> 0.67",
			Input{MonthlyPrice: d("2.00"), Cycle: monthly(1), ExpiresAt: at(2026, 12, 1, 0, 0), Now: at(2026, 11, 21, 10, 0)},
			"0.67", "2.00", 10, 30},
		{"31-day month ending 31 March: 3.00 x 21/31 = 2.0322.. -> 2.03",
			Input{MonthlyPrice: d("3.00"), Cycle: monthly(1), ExpiresAt: at(2026, 3, 31, 0, 0), Now: at(2026, 3, 10, 9, 0)},
			"2.03", "3.00", 21, 31},
		{"month ending 15 March spans February: 28 days, 3.00 x 7/28 = 0.75",
			Input{MonthlyPrice: d("3.00"), Cycle: monthly(1), ExpiresAt: at(2026, 3, 15, 0, 0), Now: at(2026, 3, 8, 9, 0)},
			"0.75", "3.00", 7, 28},
		{"leap February: 15 Feb -> 15 Mar 2028 = 29 days, 2.90 x 10/29 = 1.00",
			Input{MonthlyPrice: d("2.90"), Cycle: monthly(1), ExpiresAt: at(2028, 3, 15, 0, 0), Now: at(2028, 3, 5, 12, 0)},
			"1.00", "2.90", 10, 29},
		{"quarterly: 4.50 x 55/92 = 2.6902.. -> 2.69",
			Input{MonthlyPrice: d("1.50"), Cycle: monthly(3), ExpiresAt: at(2027, 1, 15, 0, 0), Now: at(2026, 11, 21, 8, 0)},
			"2.69", "4.50", 55, 92},
		{"semi-annual without leap day: 181 days, 30 Nov -> 1 Mar = 91 days, 6.00 x 91/181 = 3.0165.. -> 3.02",
			Input{MonthlyPrice: d("1.00"), Cycle: monthly(6), ExpiresAt: at(2027, 3, 1, 0, 0), Now: at(2026, 11, 30, 0, 0)},
			"3.02", "6.00", 91, 181},
		{"semi-annual over 29 Feb 2028: 182 days, 6.00 x 91/182 = 3.00",
			Input{MonthlyPrice: d("1.00"), Cycle: monthly(6), ExpiresAt: at(2028, 3, 1, 0, 0), Now: at(2027, 12, 1, 0, 0)},
			"3.00", "6.00", 91, 182},
		{"annual over a leap year: 366 days, 12.00 x 183/366 = 6.00",
			Input{MonthlyPrice: d("1.00"), Cycle: cycle(1, hostapi.UnitYear), ExpiresAt: at(2028, 6, 1, 0, 0), Now: at(2027, 12, 1, 0, 0)},
			"6.00", "12.00", 183, 366},
		{"annual, common year: 365 days, 24.00 x 100/365 = 6.5753.. -> 6.58",
			Input{MonthlyPrice: d("2.00"), Cycle: cycle(1, hostapi.UnitYear), ExpiresAt: at(2027, 3, 1, 0, 0), Now: at(2026, 11, 21, 0, 0)},
			"6.58", "24.00", 100, 365},
		{"two years: x24, 730 days, 48.00 x 365/730 = 24.00",
			Input{MonthlyPrice: d("2.00"), Cycle: cycle(2, hostapi.UnitYear), ExpiresAt: at(2027, 3, 1, 0, 0), Now: at(2026, 3, 1, 0, 0)},
			"24.00", "48.00", 365, 730},
		{"weekly: 3.65 x 84/365 = 0.84 per week, 0.84 x 3/7 = 0.36",
			Input{MonthlyPrice: d("3.65"), Cycle: cycle(1, hostapi.UnitWeek), ExpiresAt: at(2026, 11, 24, 0, 0), Now: at(2026, 11, 21, 0, 0)},
			"0.36", "0.84", 3, 7},
		{"daily: 3.65 x 12/365 = 0.12 per day, one day left: 0.12",
			Input{MonthlyPrice: d("3.65"), Cycle: cycle(1, hostapi.UnitDay), ExpiresAt: at(2026, 11, 22, 0, 0), Now: at(2026, 11, 21, 0, 0)},
			"0.12", "0.12", 1, 1},
		{"half a cent rounds up: 0.15 x 15/30 = 0.075 -> 0.08",
			Input{MonthlyPrice: d("0.15"), Cycle: monthly(1), ExpiresAt: at(2026, 12, 1, 0, 0), Now: at(2026, 11, 16, 0, 0)},
			"0.08", "0.15", 15, 30},
		{"expires today: nothing due today, full recurring",
			Input{MonthlyPrice: d("2.00"), Cycle: monthly(1), ExpiresAt: at(2026, 12, 1, 0, 0), Now: at(2026, 12, 1, 18, 0)},
			"0.00", "2.00", 0, 30},
		{"expiry extended past one cycle: capped at a full cycle",
			Input{MonthlyPrice: d("2.00"), Cycle: monthly(1), ExpiresAt: at(2027, 2, 1, 0, 0), Now: at(2026, 11, 21, 0, 0)},
			"2.00", "2.00", 31, 31},
		{"exclusive tax 21% on the recurring price: 2.00 x 1.21 = 2.42",
			Input{MonthlyPrice: d("2.00"), Cycle: monthly(1), ExpiresAt: at(2026, 12, 1, 0, 0), Now: at(2026, 11, 21, 10, 0), TaxRate: d("21")},
			"0.67", "2.42", 10, 30},
		{"Paymenter method, 31 March: 30-day month, 3.00 x 21/30 = 2.10",
			Input{MonthlyPrice: d("3.00"), Cycle: monthly(1), ExpiresAt: at(2026, 3, 31, 0, 0), Now: at(2026, 3, 10, 9, 0), Method: Paymenter},
			"2.10", "3.00", 21, 30},
		{"Paymenter method, annual: 365 days even in a leap year, 12.00 x 183/365 = 6.0164.. -> 6.02",
			Input{MonthlyPrice: d("1.00"), Cycle: cycle(1, hostapi.UnitYear), ExpiresAt: at(2028, 6, 1, 0, 0), Now: at(2027, 12, 1, 0, 0), Method: Paymenter},
			"6.02", "12.00", 183, 365},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in.Location == nil {
				tc.in.Location = berlin
			}
			q, err := Compute(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !q.DueToday.Equal(d(tc.due)) || !q.RecurringIncrease.Equal(d(tc.recur)) || q.DaysLeft != tc.left || q.DaysInCycle != tc.span {
				t.Fatalf("got due %s recurring %s days %d/%d, want %s %s %d/%d", q.DueToday, q.RecurringIncrease, q.DaysLeft, q.DaysInCycle, tc.due, tc.recur, tc.left, tc.span)
			}
		})
	}
}

// The day is counted in the panel's timezone: 23:30 UTC on 21 November is
// already 22 November in Berlin, so one day less is left.
func TestDaysCountInPanelTimezone(t *testing.T) {
	in := Input{MonthlyPrice: d("2.00"), Cycle: monthly(1), ExpiresAt: at(2026, 12, 1, 0, 0),
		Now: time.Date(2026, 11, 21, 23, 30, 0, 0, time.UTC), Location: berlin}
	q, err := Compute(in)
	if err != nil {
		t.Fatal(err)
	}
	if q.DaysLeft != 9 || !q.DueToday.Equal(d("0.60")) {
		t.Fatalf("Berlin: %d days, %s due; want 9 days, 0.60 (2.00 x 9/30)", q.DaysLeft, q.DueToday)
	}
	in.Location = time.UTC
	in.ExpiresAt = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	q, _ = Compute(in)
	if q.DaysLeft != 10 {
		t.Fatalf("UTC: %d days, want 10", q.DaysLeft)
	}
}

// Stacked add-ons each round once; the recurring price grows by the sum.
func TestStacking(t *testing.T) {
	base := Input{Cycle: monthly(1), ExpiresAt: at(2026, 12, 1, 0, 0), Now: at(2026, 11, 21, 10, 0), Location: berlin}
	price := d("10.00")
	var dueTotal decimal.Decimal
	for _, m := range []string{"2.00", "1.25", "0.99"} {
		base.MonthlyPrice = d(m)
		q, err := Compute(base)
		if err != nil {
			t.Fatal(err)
		}
		price = price.Add(q.RecurringIncrease)
		dueTotal = dueTotal.Add(q.DueToday)
	}
	// 2.00x10/30=0.67, 1.25x10/30=0.4166..->0.42, 0.99x10/30=0.33
	if !price.Equal(d("14.24")) || !dueTotal.Equal(d("1.42")) {
		t.Fatalf("stacked: price %s due %s, want 14.24 and 1.42", price, dueTotal)
	}
}

func TestRefusals(t *testing.T) {
	now := at(2026, 11, 21, 0, 0)
	tests := map[string]Input{
		"hourly":      {MonthlyPrice: d("1"), Cycle: cycle(1, hostapi.UnitHour), ExpiresAt: at(2026, 12, 1, 0, 0), Now: now},
		"one-time":    {MonthlyPrice: d("1"), Cycle: hostapi.Cycle{Type: hostapi.PlanOneTime}, ExpiresAt: at(2026, 12, 1, 0, 0), Now: now},
		"free":        {MonthlyPrice: d("1"), Cycle: hostapi.Cycle{Type: hostapi.PlanFree}, ExpiresAt: at(2026, 12, 1, 0, 0), Now: now},
		"no expiry":   {MonthlyPrice: d("1"), Cycle: monthly(1), Now: now},
		"expired":     {MonthlyPrice: d("1"), Cycle: monthly(1), ExpiresAt: at(2026, 11, 20, 0, 0), Now: now},
		"zero period": {MonthlyPrice: d("1"), Cycle: monthly(0), ExpiresAt: at(2026, 12, 1, 0, 0), Now: now},
	}
	for name, in := range tests {
		if _, err := Compute(in); !errors.Is(err, hostapi.ErrPrecondition) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Compute(Input{MonthlyPrice: d("-1"), Cycle: monthly(1), ExpiresAt: at(2026, 12, 1, 0, 0), Now: now}); !errors.Is(err, hostapi.ErrInvalid) {
		t.Errorf("negative price: %v", err)
	}
}

// Change prices a per-cycle difference; each figure is worked by hand.
func TestChange(t *testing.T) {
	now := at(2026, 11, 21, 10, 0)
	dec1 := at(2026, 12, 1, 0, 0) // 10 days left of a 30-day November cycle
	tests := []struct {
		name       string
		delta      string
		cycle      hostapi.Cycle
		expires    time.Time
		tax        string
		due, recur string
	}{
		{"upgrade 4 GB -> 8 GB at 2.00/GB monthly: +8.00 x 10/30 = 2.666.. -> 2.67", "8.00", monthly(1), dec1, "0", "2.67", "8.00"},
		{"the downgrade undoing it: -8.00 x 10/30 = -2.666.. -> -2.67 (half away from zero)", "-8.00", monthly(1), dec1, "0", "-2.67", "-8.00"},
		{"downgrade with 21 % exclusive tax: recurring -5.00 x 1.21 = -6.05, due -5.00 x 10/30 = -1.666.. -> -1.67", "-5.00", monthly(1), dec1, "21", "-1.67", "-6.05"},
		{"quarterly cycle price +6.00 (3 x 2.00), 55 of 92 days: 6.00 x 55/92 = 3.5869.. -> 3.59", "6.00", monthly(3), at(2027, 1, 15, 0, 0), "0", "3.59", "6.00"},
		{"a swap at the same price: nothing due, nothing changes", "0", monthly(1), dec1, "21", "0", "0"},
		{"half-cent: +0.03 x 1/2 day of a 2-day cycle = 0.015 -> 0.02", "0.03", cycle(2, hostapi.UnitDay), at(2026, 11, 22, 0, 0), "0", "0.02", "0.03"},
		{"and its negative: -0.015 -> -0.02", "-0.03", cycle(2, hostapi.UnitDay), at(2026, 11, 22, 0, 0), "0", "-0.02", "-0.03"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Change(d(tc.delta), Input{Cycle: tc.cycle, ExpiresAt: tc.expires, Now: now, TaxRate: d(tc.tax)})
			if err != nil {
				t.Fatal(err)
			}
			if q.DueToday.StringFixed(2) != d(tc.due).StringFixed(2) || q.RecurringIncrease.StringFixed(2) != d(tc.recur).StringFixed(2) {
				t.Fatalf("due %s recurring %s; want %s and %s", q.DueToday, q.RecurringIncrease, tc.due, tc.recur)
			}
		})
	}
	// Change refuses what Compute refuses.
	for name, in := range map[string]Input{
		"hourly":  {Cycle: cycle(1, hostapi.UnitHour), ExpiresAt: dec1, Now: now},
		"expired": {Cycle: monthly(1), ExpiresAt: at(2026, 11, 20, 0, 0), Now: now},
	} {
		if _, err := Change(d("1"), in); !errors.Is(err, hostapi.ErrPrecondition) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
