package daemon

import (
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi/web"
)

// Bar charts drawn by the server as inline SVG: no script and no style
// attribute (the pages' CSP allows neither), only geometry attributes and
// classes the shared stylesheet colours. Geometry is computed in decimals
// (no float64 near money) and rounded to hundredths of a unit.

// The chart's viewBox and its plot area inside it.
const (
	chartWidth  = 600
	chartHeight = 200
	plotLeft    = 24 // room for the zero on the left of the baseline
	plotRight   = 8
	plotTop     = 20 // room for the largest value's label, above its line
	plotBottom  = 28 // room for the bars' labels
)

// barChart is a chart ready for the "chart" template.
type barChart struct {
	// ID prefixes the ids of the chart's title and description.
	ID          string
	Title, Desc string
	Width       int
	Height      int
	// Baseline is the y of the zero line, Top the y of the largest value.
	Baseline, Top string
	// AxisX is where the zero's label ends; Left and Right bound the plot.
	AxisX, Left, Right string
	// MaxLabel is the largest value, written above the line at Top (at
	// MaxY), from the plot's left edge: however long, it stays inside.
	MaxLabel, MaxY string
	Bars           []chartBar
	// Table is the same figures as rows, for those who do not see the
	// chart (and for copying).
	Table chartTable
}

// chartBar is one bar with its label under it ("" for none) and its
// tooltip.
type chartBar struct {
	X, Y, W, H string
	// LabelX is the centre of the bar, where its label is written.
	LabelX string
	Label  string
	Tip    string
}

type chartTable struct {
	Caption      string
	Head1, Head2 string
	Rows         [][2]string
}

// barPoint is one value with what the chart writes about it.
type barPoint struct {
	Value decimal.Decimal
	// Label is written under the bar when not "".
	Label string
	// Name and Text are the bar's row in the table (and its tooltip).
	Name, Text string
}

// newBarChart lays out points as bars whose heights are proportional to
// their values: the largest reaches the top of the plot, a zero is a bar
// of height 0 on the baseline. Negative values are drawn as zero (revenue
// and counts are never negative).
func newBarChart(id, title, desc, maxText string, points []barPoint) barChart {
	plotW := decimal.NewFromInt(chartWidth - plotLeft - plotRight)
	plotH := decimal.NewFromInt(chartHeight - plotTop - plotBottom)
	baseline := decimal.NewFromInt(chartHeight - plotBottom)
	maxValue := decimal.Zero
	for _, p := range points {
		maxValue = decimal.Max(maxValue, p.Value)
	}
	c := barChart{
		ID: id, Title: title, Desc: desc, Width: chartWidth, Height: chartHeight,
		Baseline: baseline.String(), Top: strconv.Itoa(plotTop),
		AxisX: strconv.Itoa(plotLeft - 6), Left: strconv.Itoa(plotLeft), Right: strconv.Itoa(chartWidth - plotRight),
		MaxLabel: maxText, MaxY: strconv.Itoa(plotTop - 6),
		Table: chartTable{Caption: title},
	}
	if len(points) == 0 {
		return c
	}
	slot := plotW.Div(decimal.NewFromInt(int64(len(points))))
	// Bars fill 70% of their slot, centred in it.
	barW := slot.Mul(decimal.RequireFromString("0.7"))
	gap := slot.Sub(barW).Div(decimal.NewFromInt(2))
	for i, p := range points {
		h := decimal.Zero
		if maxValue.IsPositive() && p.Value.IsPositive() {
			h = p.Value.Mul(plotH).Div(maxValue)
		}
		x := decimal.NewFromInt(plotLeft).Add(slot.Mul(decimal.NewFromInt(int64(i)))).Add(gap)
		c.Bars = append(c.Bars, chartBar{
			X: svgNum(x), Y: svgNum(baseline.Sub(h)), W: svgNum(barW), H: svgNum(h),
			LabelX: svgNum(x.Add(barW.Div(decimal.NewFromInt(2)))), Label: p.Label,
			Tip: p.Name + ": " + p.Text,
		})
		c.Table.Rows = append(c.Table.Rows, [2]string{p.Name, p.Text})
	}
	return c
}

// svgNum writes a coordinate to hundredths, without trailing zeros.
func svgNum(d decimal.Decimal) string {
	return d.Round(2).String()
}

// revenueChart is one currency's revenue per month.
func revenueChart(s revenueSeries) barChart {
	points := make([]barPoint, len(s.Months))
	maxAt, total := 0, decimal.Zero
	for i, m := range s.Months {
		label := m.Month.Format("Jan")
		if m.Month.Month() == time.January || i == 0 {
			label = m.Month.Format("Jan 06")
		}
		points[i] = barPoint{Value: m.Amount, Label: label, Name: m.Month.Format("January 2006"), Text: web.Money(m.Amount, s.Currency)}
		if m.Amount.GreaterThan(s.Months[maxAt].Amount) {
			maxAt = i
		}
		total = total.Add(m.Amount)
	}
	title := "Add-on revenue per month, " + s.Currency
	var desc, maxText string
	if len(s.Months) > 0 {
		first, last := s.Months[0].Month, s.Months[len(s.Months)-1].Month
		desc = "Bar chart of the add-on invoices paid in " + s.Currency + " in each month from " +
			first.Format("January 2006") + " to " + last.Format("January 2006") + ": " + web.Money(total, s.Currency) + " in all"
		maxText = web.Money(s.Months[maxAt].Amount, s.Currency)
		if s.Months[maxAt].Amount.IsPositive() {
			desc += ", the most " + maxText + " in " + s.Months[maxAt].Month.Format("January 2006")
		}
		desc += "."
	}
	c := newBarChart("revenue-"+s.Currency, title, desc, maxText, points)
	c.Table.Head1, c.Table.Head2 = "Month", "Revenue"
	return c
}

// ordersChart is the orders per day.
func ordersChart(days []dayCount) barChart {
	points := make([]barPoint, len(days))
	maxAt, total := 0, 0
	for i, d := range days {
		// Every fifth day is labelled, counting back from today's.
		label := ""
		if (len(days)-1-i)%5 == 0 {
			label = d.Day.Format("2 Jan")
		}
		points[i] = barPoint{Value: decimal.NewFromInt(int64(d.Count)), Label: label, Name: d.Day.Format("Mon 2 January 2006"), Text: web.Plural(int64(d.Count), "order", "orders")}
		if d.Count > days[maxAt].Count {
			maxAt = i
		}
		total += d.Count
	}
	title := "Orders per day"
	var desc, maxText string
	if len(days) > 0 {
		desc = "Bar chart of the invoices upsell created on each day from " + days[0].Day.Format("2 January 2006") + " to " +
			days[len(days)-1].Day.Format("2 January 2006") + ": " + web.Plural(int64(total), "order", "orders") + " in all"
		maxText = strconv.Itoa(days[maxAt].Count)
		if days[maxAt].Count > 0 {
			desc += ", the most " + strconv.Itoa(days[maxAt].Count) + " on " + days[maxAt].Day.Format("2 January")
		}
		desc += "."
	}
	c := newBarChart("orders", title, desc, maxText, points)
	c.Table.Head1, c.Table.Head2 = "Day", "Orders"
	return c
}
