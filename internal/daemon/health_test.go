package daemon

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/adapters/paymenter"
	"github.com/upsell-io/upsell/hostapi"
)

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestOrdersPerDay(t *testing.T) {
	loc := berlin(t)
	cases := []struct {
		name    string
		now     time.Time
		days    int
		created []string // UTC
		want    []int
		first   time.Time
	}{
		{
			name: "29 March 2026 has 23 hours in Berlin (CET to CEST): 28 Mar 23:00Z opens it, 29 Mar 22:00Z ends it",
			now:  time.Date(2026, 3, 31, 0, 30, 0, 0, loc), days: 3,
			created: []string{
				"2026-03-28T22:59:59Z", // 28 Mar 23:59:59 CET: before the window
				"2026-03-28T23:00:00Z", // 29 Mar 00:00 CET
				"2026-03-29T21:59:59Z", // 29 Mar 23:59:59 CEST
				"2026-03-29T22:30:00Z", // 30 Mar 00:30 CEST
				"2026-03-30T21:59:59Z", // 30 Mar 23:59:59 CEST
				"2026-03-30T22:00:00Z", // 31 Mar 00:00 CEST: today
			},
			want:  []int{2, 2, 1},
			first: time.Date(2026, 3, 29, 0, 0, 0, 0, loc),
		},
		{
			name: "across the month: 28 Feb 23:30Z is 1 March in Berlin (UTC+1)",
			now:  time.Date(2026, 3, 1, 8, 0, 0, 0, loc), days: 2,
			created: []string{
				"2026-02-27T22:59:59Z", // 27 Feb 23:59:59: before the window
				"2026-02-27T23:00:00Z", // 28 Feb 00:00
				"2026-02-28T22:59:00Z", // 28 Feb 23:59
				"2026-02-28T23:30:00Z", // 1 Mar 00:30
				"2026-03-01T06:59:59Z", // 1 Mar 07:59:59
			},
			want:  []int{2, 2},
			first: time.Date(2026, 2, 28, 0, 0, 0, 0, loc),
		},
		{
			name: "no orders: every day is 0",
			now:  time.Date(2026, 1, 1, 0, 0, 0, 0, loc), days: 3,
			want:  []int{0, 0, 0},
			first: time.Date(2025, 12, 30, 0, 0, 0, 0, loc),
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var created []createdInvoice
			for i, s := range c.created {
				created = append(created, createdInvoice{InvoiceID: uint64(i + 1), Module: "microupsell", CreatedAt: utc(s)})
			}
			got := ordersPerDay(created, c.now, loc, c.days)
			if len(got) != len(c.want) {
				t.Fatalf("%d days, want %d", len(got), len(c.want))
			}
			for i, d := range got {
				if d.Count != c.want[i] {
					t.Errorf("day %s: %d orders, want %d", d.Day.Format(time.DateOnly), d.Count, c.want[i])
				}
				if want := time.Date(c.first.Year(), c.first.Month(), c.first.Day()+i, 0, 0, 0, 0, loc); !d.Day.Equal(want) {
					t.Errorf("day %d starts %v, want %v", i, d.Day, want)
				}
			}
		})
	}
}

func TestOrdersToday(t *testing.T) {
	loc := berlin(t)
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, loc)
	created := []createdInvoice{
		{Module: "microupsell", CreatedAt: utc("2026-02-28T22:59:59Z")},   // yesterday in Berlin
		{Module: "microupsell", CreatedAt: utc("2026-02-28T23:00:00Z")},   // today's first second
		{Module: "configoptions", CreatedAt: utc("2026-03-01T06:00:00Z")}, // 07:00
		{Module: "configoptions", CreatedAt: utc("2026-03-01T07:00:00Z")}, // 08:00
		{Module: "microupsell", CreatedAt: utc("2026-03-01T23:00:00Z")},   // tomorrow
	}
	got := ordersToday(created, now, loc)
	want := []moduleCount{{"configoptions", 2}, {"microupsell", 1}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if n := (health{OrdersToday: got}).totalOrdersToday(); n != 3 {
		t.Fatalf("total %d, want 3", n)
	}
}

func TestRevenuePerMonth(t *testing.T) {
	loc := berlin(t)
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, loc)
	paid := func(cur, total string, at time.Time) paymenter.InvoiceSummary {
		return paymenter.InvoiceSummary{Status: hostapi.InvoicePaid, Currency: cur, Total: decimal.RequireFromString(total), PaidAt: at}
	}
	sums := []paymenter.InvoiceSummary{
		paid("EUR", "10.00", time.Date(2026, 1, 31, 23, 30, 0, 0, loc)), // January in Berlin
		paid("EUR", "2.50", utc("2026-01-31T23:30:00Z")),                // 1 Feb 00:30 in Berlin
		paid("EUR", "0.10", time.Date(2026, 2, 10, 0, 0, 0, 0, loc)),
		paid("EUR", "0.20", time.Date(2026, 2, 28, 23, 59, 59, 0, loc)), // 0.10 + 0.20 = 0.30 exactly
		paid("USD", "7.00", time.Date(2026, 3, 1, 0, 0, 0, 0, loc)),
		paid("EUR", "5.00", time.Date(2025, 12, 31, 23, 59, 59, 0, loc)), // before the window
		{Status: hostapi.InvoicePending, Currency: "EUR", Total: decimal.RequireFromString("99.00")},
		{Status: hostapi.InvoiceCancelled, Currency: "GBP", Total: decimal.RequireFromString("1.00")},
	}
	months := []time.Time{time.Date(2026, 1, 1, 0, 0, 0, 0, loc), time.Date(2026, 2, 1, 0, 0, 0, 0, loc), time.Date(2026, 3, 1, 0, 0, 0, 0, loc)}
	cases := []struct {
		name            string
		sums            []paymenter.InvoiceSummary
		defaultCurrency string
		want            map[string][]string
		order           []string
	}{
		{"Jan 10.00; Feb 2.50 + 0.10 + 0.20 = 2.80 EUR; Mar 7.00 USD; default first", sums, "EUR",
			map[string][]string{"EUR": {"10.00", "2.80", "0"}, "USD": {"0", "0", "7.00"}}, []string{"EUR", "USD"}},
		{"the default currency first, whichever it is", sums, "USD",
			map[string][]string{"EUR": {"10.00", "2.80", "0"}, "USD": {"0", "0", "7.00"}}, []string{"USD", "EUR"}},
		{"others by code after the default", sums, "CHF",
			map[string][]string{"EUR": {"10.00", "2.80", "0"}, "USD": {"0", "0", "7.00"}}, []string{"EUR", "USD"}},
		{"nothing paid: the default currency's zeros", sums[5:], "EUR",
			map[string][]string{"EUR": {"0", "0", "0"}}, []string{"EUR"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := revenuePerMonth(c.sums, now, loc, 3, c.defaultCurrency)
			if len(got) != len(c.order) {
				t.Fatalf("%d series, want %v", len(got), c.order)
			}
			for i, s := range got {
				if s.Currency != c.order[i] {
					t.Fatalf("series %d is %s, want %s", i, s.Currency, c.order[i])
				}
				for j, m := range s.Months {
					if !m.Month.Equal(months[j]) {
						t.Errorf("%s month %d starts %v, want %v", s.Currency, j, m.Month, months[j])
					}
					if want := decimal.RequireFromString(c.want[s.Currency][j]); !m.Amount.Equal(want) {
						t.Errorf("%s %s: %s, want %s", s.Currency, m.Month.Format("Jan"), m.Amount, want)
					}
				}
			}
		})
	}
}

// The query reaches back to the revenue chart's first month less the
// grace: 1 April 2025 00:00 CEST (31 Mar 22:00Z) less 31 days is
// 28 Feb 2025 22:00Z.
func TestWindowStart(t *testing.T) {
	got := windowStart(time.Date(2026, 3, 15, 12, 0, 0, 0, berlin(t)), berlin(t))
	if want := utc("2025-02-28T22:00:00Z"); !got.Equal(want) {
		t.Fatalf("window starts %v, want %v", got.UTC(), want)
	}
}
