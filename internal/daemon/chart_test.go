package daemon

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// The plot is 600 - 24 - 8 = 568 wide and 200 - 20 - 28 = 152 high, its
// baseline at y = 172. n bars get 568/n each, 70% of it drawn, centred.
func TestBarChartGeometry(t *testing.T) {
	type bar struct{ x, y, w, h, labelX string }
	cases := []struct {
		name   string
		values []string
		want   []bar
	}{
		{"4 slots of 142, bars 99.4 wide after a gap of 21.3; max 100 is 152 high, 50 is 76, 25 is 38, 0 is 0 on the baseline",
			[]string{"0", "50", "100", "25"},
			[]bar{{"45.3", "172", "99.4", "0", "95"}, {"187.3", "96", "99.4", "76", "237"}, {"329.3", "20", "99.4", "152", "379"}, {"471.3", "134", "99.4", "38", "521"}}},
		{"cents: slots of 284, bars 198.8 after 42.6; 0.10 of 0.30 is 152/3 = 50.67 high",
			[]string{"0.10", "0.30"},
			[]bar{{"66.6", "121.33", "198.8", "50.67", "166"}, {"350.6", "20", "198.8", "152", "450"}}},
		{"all zero: slots of 189.33, bars 132.53 after 28.4, every one 0 high on the baseline, no division by zero",
			[]string{"0", "0", "0"},
			[]bar{{"52.4", "172", "132.53", "0", "118.67"}, {"241.73", "172", "132.53", "0", "308"}, {"431.07", "172", "132.53", "0", "497.33"}}},
		{"one value fills the plot: slot 568, bar 397.6 after 85.2",
			[]string{"7"},
			[]bar{{"109.2", "20", "397.6", "152", "308"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var points []barPoint
			for _, v := range c.values {
				points = append(points, barPoint{Value: decimal.RequireFromString(v), Name: "n" + v, Text: v})
			}
			ch := newBarChart("t", "T", "D", "max", points)
			if ch.Baseline != "172" || ch.Top != "20" {
				t.Fatalf("baseline %s top %s, want 172 and 20", ch.Baseline, ch.Top)
			}
			if len(ch.Bars) != len(c.want) || len(ch.Table.Rows) != len(c.want) {
				t.Fatalf("%d bars, %d rows, want %d", len(ch.Bars), len(ch.Table.Rows), len(c.want))
			}
			for i, w := range c.want {
				b := ch.Bars[i]
				if got := (bar{b.X, b.Y, b.W, b.H, b.LabelX}); got != w {
					t.Errorf("bar %d (%s) = %+v, want %+v", i, c.values[i], got, w)
				}
				// The bar stands on the baseline.
				if y, h := decimal.RequireFromString(b.Y), decimal.RequireFromString(b.H); !y.Add(h).Round(1).Equal(decimal.NewFromInt(172)) {
					t.Errorf("bar %d: y %s + height %s is not the baseline", i, b.Y, b.H)
				}
				if ch.Table.Rows[i] != [2]string{"n" + c.values[i], c.values[i]} {
					t.Errorf("row %d = %v", i, ch.Table.Rows[i])
				}
			}
		})
	}
}

func TestRevenueChart(t *testing.T) {
	loc := berlin(t)
	s := revenueSeries{Currency: "EUR"}
	amounts := []string{"0", "12.50", "0", "25.00"}
	for i, a := range amounts {
		s.Months = append(s.Months, monthAmount{Month: time.Date(2025, 11+time.Month(i), 1, 0, 0, 0, 0, loc), Amount: decimal.RequireFromString(a)})
	}
	c := revenueChart(s)
	if c.ID != "revenue-EUR" || c.Title != "Add-on revenue per month, EUR" || c.MaxLabel != "25.00 EUR" {
		t.Fatalf("chart %q %q %q", c.ID, c.Title, c.MaxLabel)
	}
	// 0 + 12.50 + 0 + 25.00 = 37.50, the most in February 2026.
	if want := "Bar chart of the add-on invoices paid in EUR in each month from November 2025 to February 2026: 37.50 EUR in all, the most 25.00 EUR in February 2026."; c.Desc != want {
		t.Fatalf("desc %q\nwant %q", c.Desc, want)
	}
	wantLabels := []string{"Nov 25", "Dec", "Jan 26", "Feb"}
	wantHeights := []string{"0", "76", "0", "152"}
	for i, b := range c.Bars {
		if b.Label != wantLabels[i] || b.H != wantHeights[i] {
			t.Errorf("bar %d: label %q height %s, want %q %s", i, b.Label, b.H, wantLabels[i], wantHeights[i])
		}
	}
	if c.Table.Rows[1] != [2]string{"December 2025", "12.50 EUR"} || c.Bars[1].Tip != "December 2025: 12.50 EUR" {
		t.Fatalf("row %v tip %q", c.Table.Rows[1], c.Bars[1].Tip)
	}
}

func TestOrdersChart(t *testing.T) {
	loc := berlin(t)
	var days []dayCount
	for i, n := range []int{1, 0, 0, 3, 0, 0, 2} {
		days = append(days, dayCount{Day: time.Date(2026, 2, 25+i, 0, 0, 0, 0, loc), Count: n})
	}
	c := ordersChart(days)
	// 25 Feb to 3 Mar; 1 + 3 + 2 = 6 orders, the most 3 on 28 February.
	if want := "Bar chart of the invoices upsell created on each day from 25 February 2026 to 3 March 2026: 6 orders in all, the most 3 on 28 February."; c.Desc != want {
		t.Fatalf("desc %q\nwant %q", c.Desc, want)
	}
	// Every fifth day is labelled, counting back from today: 3 Mar, 26 Feb.
	var labels []string
	for _, b := range c.Bars {
		labels = append(labels, b.Label)
	}
	if got, want := strings.Join(labels, "|"), "|26 Feb|||||3 Mar"; got != want {
		t.Fatalf("labels %q", got)
	}
	// 3 is the top: 1 is 152/3 = 50.67, 2 is 101.33.
	if c.Bars[0].H != "50.67" || c.Bars[3].H != "152" || c.Bars[6].H != "101.33" || c.Bars[1].H != "0" {
		t.Fatalf("heights %s %s %s %s", c.Bars[0].H, c.Bars[3].H, c.Bars[6].H, c.Bars[1].H)
	}
	if c.Table.Rows[3] != [2]string{"Sat 28 February 2026", "3 orders"} || c.Table.Rows[0][1] != "1 order" {
		t.Fatalf("rows %v", c.Table.Rows)
	}
}

// The chart renders as well-formed SVG, labelled by its title and
// description, with no style attribute or script for the CSP to refuse.
func TestChartTemplate(t *testing.T) {
	c := ordersChart([]dayCount{{Day: time.Date(2026, 3, 1, 0, 0, 0, 0, berlin(t)), Count: 2}})
	var buf bytes.Buffer
	if err := consoleTemplates.ExecuteTemplate(&buf, "chart", c); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, bad := range []string{"style=", "<script", "<style"} {
		if strings.Contains(out, bad) {
			t.Fatalf("chart holds %q:\n%s", bad, out)
		}
	}
	for _, want := range []string{`role="img"`, `aria-labelledby="orders-title"`, `aria-describedby="orders-desc"`, `<title id="orders-title">Orders per day</title>`,
		`<desc id="orders-desc">`, `<rect class="bar" x="109.2" y="20" width="397.6" height="152"><title>Sun 1 March 2026: 2 orders</title></rect>`,
		`<text x="24" y="14">2</text>`, "<summary>Show as a table</summary>", `<th scope="row">Sun 1 March 2026</th><td class="num">2 orders</td>`} {
		if !strings.Contains(out, want) {
			t.Errorf("chart lacks %s:\n%s", want, out)
		}
	}
	svg := out[strings.Index(out, "<svg") : strings.Index(out, "</svg>")+len("</svg>")]
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := d.Token(); err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("the SVG is not well-formed: %v\n%s", err, svg)
		}
	}
}
