package daemon

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/adapters/paymenter"
	"github.com/upsell-io/upsell/hostapi"
)

// The overview's figures: orders (the invoices upsell created, from the
// host's upsell_panel_invoices) and add-on revenue (those invoices the
// panel calls paid, read through the binding), counted in the panel's
// timezone. Both read only the invoices created since the oldest day a
// figure shows (less lateGrace for revenue), through an index on
// created_at, so a request costs the same after years of history.

// Windows of the overview's charts.
const (
	revenueMonths = 12
	orderDays     = 30
)

// lateGrace is how long before the revenue chart's first month an invoice
// may have been created and still be counted when paid inside the chart.
// Add-on invoices are due within days; one paid later than this after it
// was created counts nowhere on the chart (the panel still has it).
const lateGrace = 31 * 24 * time.Hour

// createdInvoice is one invoice upsell created on the panel.
type createdInvoice struct {
	InvoiceID uint64    `db:"invoice_id"`
	Module    string    `db:"module"`
	CreatedAt time.Time `db:"created_at"`
}

// dayCount is the orders of one calendar day; Day is its midnight in the
// panel's timezone.
type dayCount struct {
	Day   time.Time
	Count int
}

// moduleCount is the orders one module took.
type moduleCount struct {
	Module string
	Count  int
}

// monthAmount is the revenue of one calendar month; Month is its first
// midnight in the panel's timezone.
type monthAmount struct {
	Month  time.Time
	Amount decimal.Decimal
}

// revenueSeries is one currency's revenue per month, oldest first.
type revenueSeries struct {
	Currency string
	Months   []monthAmount
}

// health is what the overview shows of orders and revenue.
type health struct {
	Location *time.Location
	// OrdersToday is today's orders by module, by module name.
	OrdersToday []moduleCount
	// OrdersPerDay is the last orderDays days, today last.
	OrdersPerDay []dayCount
	// Revenue is one series per currency with revenue in the window (the
	// panel's default currency first), or the default currency's zeros.
	Revenue []revenueSeries
}

// totalOrdersToday is the sum of OrdersToday.
func (h health) totalOrdersToday() int {
	n := 0
	for _, m := range h.OrdersToday {
		n += m.Count
	}
	return n
}

// selectCreatedInvoices is served by upsell_panel_invoices_created_idx
// (migration 00012), which covers it.
const selectCreatedInvoices = `SELECT invoice_id, module, created_at FROM upsell_panel_invoices WHERE panel = ? AND created_at >= ?`

// readHealth reads the overview's figures at now: one statement on the
// host's table, then the binding's summaries of the invoices it names.
func (d *Daemon) readHealth(ctx context.Context, now time.Time) (health, error) {
	settings, err := d.Panel.Settings(ctx)
	if err != nil {
		return health{}, fmt.Errorf("read panel settings: %w", err)
	}
	loc := settings.Location()
	since := windowStart(now, loc)
	var created []createdInvoice
	if err := d.DB.SelectContext(ctx, &created, selectCreatedInvoices, panelName, since.UTC()); err != nil {
		return health{}, fmt.Errorf("read upsell's invoices: %w", err)
	}
	ids := make([]uint64, len(created))
	for i, c := range created {
		ids[i] = c.InvoiceID
	}
	summaries, err := d.Panel.InvoiceSummaries(ctx, ids)
	if err != nil {
		return health{}, err
	}
	return health{
		Location:     loc,
		OrdersToday:  ordersToday(created, now, loc),
		OrdersPerDay: ordersPerDay(created, now, loc, orderDays),
		Revenue:      revenuePerMonth(summaries, now, loc, revenueMonths, settings.DefaultCurrency),
	}, nil
}

// windowStart is the oldest creation time a figure at now needs: the
// revenue chart's first month less lateGrace, or the orders chart's first
// day if that were older.
func windowStart(now time.Time, loc *time.Location) time.Time {
	revenue := monthStart(now, loc, -(revenueMonths - 1)).Add(-lateGrace)
	return minTime(revenue, dayStart(now, loc, -(orderDays-1)))
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// dayStart is midnight in loc of the day offset days from now's (so DST
// days of 23 or 25 hours count as one day each).
func dayStart(now time.Time, loc *time.Location, offset int) time.Time {
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d+offset, 0, 0, 0, 0, loc)
}

// monthStart is the first midnight in loc of the month offset months from
// now's.
func monthStart(now time.Time, loc *time.Location, offset int) time.Time {
	y, m, _ := now.In(loc).Date()
	return time.Date(y, m+time.Month(offset), 1, 0, 0, 0, 0, loc)
}

// ordersToday counts the invoices created on now's calendar day in loc, by
// module.
func ordersToday(created []createdInvoice, now time.Time, loc *time.Location) []moduleCount {
	from, to := dayStart(now, loc, 0), dayStart(now, loc, 1)
	byModule := map[string]int{}
	for _, c := range created {
		if !c.CreatedAt.Before(from) && c.CreatedAt.Before(to) {
			byModule[c.Module]++
		}
	}
	out := make([]moduleCount, 0, len(byModule))
	for m, n := range byModule {
		out = append(out, moduleCount{Module: m, Count: n})
	}
	slices.SortFunc(out, func(a, b moduleCount) int { return cmp.Compare(a.Module, b.Module) })
	return out
}

// ordersPerDay counts the invoices created on each of the days calendar
// days in loc ending with now's, oldest first; a day without orders is 0.
func ordersPerDay(created []createdInvoice, now time.Time, loc *time.Location, days int) []dayCount {
	out := make([]dayCount, days)
	index := make(map[[3]int]int, days)
	for i := range out {
		out[i].Day = dayStart(now, loc, i-(days-1))
		index[dateKey(out[i].Day, loc)] = i
	}
	for _, c := range created {
		if i, ok := index[dateKey(c.CreatedAt, loc)]; ok {
			out[i].Count++
		}
	}
	return out
}

func dateKey(t time.Time, loc *time.Location) [3]int {
	y, m, d := t.In(loc).Date()
	return [3]int{y, int(m), d}
}

// revenuePerMonth sums the totals of the paid invoices by currency and by
// the calendar month in loc they were paid in, over the months calendar
// months ending with now's. Unpaid invoices and payments outside the window
// count nowhere. Every currency with revenue gets a series (the default
// currency first, then by code); with none, the default currency's zeros.
func revenuePerMonth(sums []paymenter.InvoiceSummary, now time.Time, loc *time.Location, months int, defaultCurrency string) []revenueSeries {
	index := make(map[[2]int]int, months)
	starts := make([]time.Time, months)
	for i := range starts {
		starts[i] = monthStart(now, loc, i-(months-1))
		y, m, _ := starts[i].Date()
		index[[2]int{y, int(m)}] = i
	}
	byCurrency := map[string][]decimal.Decimal{}
	for _, s := range sums {
		if s.Status != hostapi.InvoicePaid {
			continue
		}
		y, m, _ := s.PaidAt.In(loc).Date()
		i, ok := index[[2]int{y, int(m)}]
		if !ok {
			continue // paid before the window (or after now)
		}
		amounts := byCurrency[s.Currency]
		if amounts == nil {
			amounts = make([]decimal.Decimal, months)
			byCurrency[s.Currency] = amounts
		}
		amounts[i] = amounts[i].Add(s.Total)
	}
	if len(byCurrency) == 0 {
		byCurrency[defaultCurrency] = make([]decimal.Decimal, months)
	}
	codes := make([]string, 0, len(byCurrency))
	for c := range byCurrency {
		codes = append(codes, c)
	}
	slices.SortFunc(codes, func(a, b string) int {
		switch {
		case a == defaultCurrency:
			return -1
		case b == defaultCurrency:
			return 1
		}
		return cmp.Compare(a, b)
	})
	out := make([]revenueSeries, len(codes))
	for i, c := range codes {
		out[i].Currency = c
		for j, amount := range byCurrency[c] {
			out[i].Months = append(out[i].Months, monthAmount{Month: starts[j], Amount: amount})
		}
	}
	return out
}
