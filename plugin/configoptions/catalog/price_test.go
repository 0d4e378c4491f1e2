package catalog

import (
	"testing"

	"github.com/upsell-io/upsell/hostapi"
)

func recurring(n int, u hostapi.BillingUnit) hostapi.Cycle {
	return hostapi.Cycle{Type: hostapi.PlanRecurring, Period: n, Unit: u}
}

func TestTermFor(t *testing.T) {
	for _, tt := range []struct {
		c    hostapi.Cycle
		want Term
	}{
		{recurring(1, hostapi.UnitHour), Hourly},
		{recurring(1, hostapi.UnitMonth), Monthly},
		{recurring(3, hostapi.UnitMonth), Quarterly},
		{recurring(6, hostapi.UnitMonth), SemiAnnual},
		{recurring(12, hostapi.UnitMonth), Annual},
		{recurring(1, hostapi.UnitYear), Annual},
	} {
		got, err := TermFor(tt.c)
		if err != nil || got != tt.want {
			t.Errorf("TermFor(%s) = %q, %v; want %q", tt.c, got, err, tt.want)
		}
	}
	for _, tt := range []struct {
		c    hostapi.Cycle
		says string
	}{
		{recurring(2, hostapi.UnitYear), "the 2-year cycle has no price column"},
		{recurring(24, hostapi.UnitMonth), "the 24-month cycle has no price column"},
		{recurring(2, hostapi.UnitMonth), "the 2-month cycle"},
		{recurring(1, hostapi.UnitWeek), "the 1-week cycle"},
		{recurring(30, hostapi.UnitDay), "the 30-day cycle"},
		{recurring(2, hostapi.UnitHour), "the 2-hour cycle"},
		{recurring(0, hostapi.UnitMonth), "the 0-month cycle"},
		{hostapi.Cycle{Type: hostapi.PlanOneTime}, "one-time plans"},
		{hostapi.Cycle{Type: hostapi.PlanFree}, "free plans"},
	} {
		_, err := TermFor(tt.c)
		wantError(t, err, hostapi.CodePrecondition, "", tt.says)
	}
}

// Each option type of the extras fixture, alone, on each term. Prices are
// the fixture's columns; a quantity's is unit x quantity.
func TestPriceEachType(t *testing.T) {
	type want struct {
		price    string // "" = refused
		says     string
		noHourly bool // the line says it has no hourly price
	}
	tests := []struct {
		name   string
		choice Choice
		terms  map[Term]want
	}{
		{"dropdown New York: its columns", Choice{OptionID: optLocation, ValueID: valNewYork}, map[Term]want{
			Hourly: {price: "0.0014"}, Monthly: {price: "1.00"}, Quarterly: {price: "2.70"}, SemiAnnual: {price: "5.40"}, Annual: {price: "10.80"}}},
		{"radio Large: its own quarterly column 29.00, not 3 x 10.00; no hourly price adds 0 to the rate", Choice{OptionID: optPlan, ValueID: valLarge}, map[Term]want{
			Hourly:  {price: "0", noHourly: true},
			Monthly: {price: "10.00"}, Quarterly: {price: "29.00"}, SemiAnnual: {price: "57.00"}, Annual: {price: "110.00"}}},
		{"quantity 3 ports: 3 x 0.0007 = 0.0021, 3 x 0.50 = 1.50, 3 x 1.50 = 4.50, 3 x 3.00 = 9.00, 3 x 6.00 = 18.00", Choice{OptionID: optPorts, Quantity: 3}, map[Term]want{
			Hourly: {price: "0.0021"}, Monthly: {price: "1.50"}, Quarterly: {price: "4.50"}, SemiAnnual: {price: "9.00"}, Annual: {price: "18.00"}}},
		{"quantity 0 ports costs 0", Choice{OptionID: optPorts, Quantity: 0}, map[Term]want{
			Hourly: {price: "0"}, Monthly: {price: "0"}, Annual: {price: "0"}}},
		{"checkbox ticked: its value's columns", Choice{OptionID: optBackups, ValueID: valBackupsOn}, map[Term]want{
			Hourly: {price: "0.0018"}, Monthly: {price: "1.25"}, Quarterly: {price: "3.75"}, SemiAnnual: {price: "7.50"}, Annual: {price: "15.00"}}},
		{"checkbox not ticked costs 0", Choice{OptionID: optBackups}, map[Term]want{
			Hourly: {price: "0"}, Monthly: {price: "0"}, Annual: {price: "0"}}},
		{"slider 4 databases: 4 x 0.0005 = 0.0020, 4 x 0.30 = 1.20, 4 x 0.90 = 3.60, 4 x 1.80 = 7.20; no annual price", Choice{OptionID: optDBs, Quantity: 4}, map[Term]want{
			Hourly: {price: "0.0020"}, Monthly: {price: "1.20"}, Quarterly: {price: "3.60"}, SemiAnnual: {price: "7.20"},
			Annual: {says: `option "Databases" has no annual unit price`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			choices := []Choice{tt.choice}
			if tt.choice.OptionID != optPlan {
				choices = append(choices, plan)
			}
			sel := mustValidate(t, []Group{extras()}, choices...)
			// Price the chosen option alone (drop the plan and the default).
			sel = Selection{find(sel, tt.choice.OptionID)}
			for term, w := range tt.terms {
				q, err := Price(sel, term)
				if w.price == "" {
					wantError(t, err, hostapi.CodePrecondition, "", w.says)
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", term, err)
				}
				if len(q.Lines) != 1 {
					t.Fatalf("%s: lines %+v", term, q.Lines)
				}
				wantAmount(t, string(term)+" line", q.Lines[0].Price, w.price)
				wantAmount(t, string(term)+" subtotal", q.Subtotal, w.price)
				if q.Lines[0].NoHourlyPrice != w.noHourly {
					t.Errorf("%s: NoHourlyPrice %v, want %v", term, q.Lines[0].NoHourlyPrice, w.noHourly)
				}
			}
		})
	}
	t.Run("text is never priced nor quoted", func(t *testing.T) {
		sel := Selection{find(mustValidate(t, []Group{extras()}, plan, Choice{OptionID: optName, Text: "web-1"}), optName)}
		q, err := Price(sel, Annual)
		if err != nil || len(q.Lines) != 0 || !q.Subtotal.IsZero() {
			t.Errorf("text priced: %+v, %v", q, err)
		}
	})
}

// A whole preset selection: New York, Small, 3 ports, backups, a server
// name, 4 databases.
func TestPricePreset(t *testing.T) {
	all := []Choice{
		{OptionID: optLocation, ValueID: valNewYork},
		plan,
		{OptionID: optPorts, Quantity: 3},
		{OptionID: optBackups, ValueID: valBackupsOn},
		{OptionID: optName, Text: "web-1"},
		{OptionID: optDBs, Quantity: 4},
	}
	sel := mustValidate(t, []Group{extras()}, all...)
	for _, tt := range []struct {
		term  Term
		total string
	}{
		// 1.00 + 3.00 + 3 x 0.50 + 1.25 + 4 x 0.30 = 1.00 + 3.00 + 1.50 + 1.25 + 1.20 = 7.95
		{Monthly, "7.95"},
		// 2.70 + 9.00 + 3 x 1.50 + 3.75 + 4 x 0.90 = 2.70 + 9.00 + 4.50 + 3.75 + 3.60 = 23.55
		{Quarterly, "23.55"},
		// 5.40 + 18.00 + 3 x 3.00 + 7.50 + 4 x 1.80 = 5.40 + 18.00 + 9.00 + 7.50 + 7.20 = 47.10
		{SemiAnnual, "47.10"},
	} {
		q, err := Price(sel, tt.term)
		if err != nil {
			t.Fatalf("%s: %v", tt.term, err)
		}
		wantAmount(t, string(tt.term), q.Subtotal, tt.total)
		wantAmount(t, string(tt.term)+" total", q.Total, tt.total)
		if len(q.Lines) != 5 { // the text has no line
			t.Errorf("%s: %d lines", tt.term, len(q.Lines))
		}
		if !q.HourlyRate.IsZero() || !q.MonthlyCap.IsZero() || !q.Discount.IsZero() {
			t.Errorf("%s: a cycle quote carries a rate, a cap or a discount: %+v", tt.term, q)
		}
	}

	// Annual: the databases have no annual price: refused, naming them.
	_, err := Price(sel, Annual)
	wantError(t, err, hostapi.CodePrecondition, "", `"Databases"`, "annual")

	// Hourly: 0.0014 + 0.0042 + 3 x 0.0007 + 0.0018 + 4 x 0.0005
	//       = 0.0014 + 0.0042 + 0.0021 + 0.0018 + 0.0020 = 0.0115 an hour,
	// exact (not rounded to 0.01); the monthly cap is the monthly sum 7.95.
	q, err := Price(sel, Hourly)
	if err != nil {
		t.Fatal(err)
	}
	wantAmount(t, "hourly rate", q.HourlyRate, "0.0115")
	wantAmount(t, "hourly subtotal", q.Subtotal, "0.0115")
	wantAmount(t, "monthly cap", q.MonthlyCap, "7.95")
	wantAmount(t, "ports hourly line", q.Lines[2].Hourly, "0.0021")
	if q.Lines[2].Value != "3 ports" || q.Lines[0].Value != "New York" || q.Lines[3].Value != "Enabled" || q.Lines[4].Value != "4" {
		t.Errorf("line values %+v", q.Lines)
	}

	if _, err := Price(sel, "biennial"); hostapi.CodeOf(err) != hostapi.CodeInvalid {
		t.Errorf("unknown term: %v", err)
	}
}

func TestPriceBYO(t *testing.T) {
	vps, mysql, game := seeded()
	tests := []struct {
		name      string
		group     Group
		choices   []Choice
		term      Term
		total     string   // Subtotal = Total; for Hourly the rate
		cap       string   // MonthlyCap
		lines     []string // line prices
		refused   string
		wantLines []string // line values
		noHourly  []bool   // lines without an hourly price
	}{
		// VPS 4 cores, 8 GB, 100 GB: 4 x 2.00 + 8 x 1.00 + 100 x 0.05 = 8.00 + 8.00 + 5.00 = 21.00
		{name: "VPS monthly", group: vps, choices: vpsChoice(4, 8, 100), term: Monthly,
			total: "21.00", cap: "21.00", lines: []string{"8.00", "8.00", "5.00"}, wantLines: []string{"4 cores", "8 GB", "100 GB"}},
		// the cap on the cycle: 21.00 x 3 = 63.00 (lines 8.00 x 3, 8.00 x 3, 5.00 x 3)
		{name: "VPS quarterly", group: vps, choices: vpsChoice(4, 8, 100), term: Quarterly,
			total: "63.00", cap: "21.00", lines: []string{"24.00", "24.00", "15.00"}},
		// 21.00 x 6 = 126.00
		{name: "VPS semi-annual", group: vps, choices: vpsChoice(4, 8, 100), term: SemiAnnual, total: "126.00", cap: "21.00"},
		// 21.00 x 12 = 252.00
		{name: "VPS annual", group: vps, choices: vpsChoice(4, 8, 100), term: Annual, total: "252.00", cap: "21.00"},
		// 4 x 0.003 + 8 x 0.0015 + 100 x 0.0001 = 0.012 + 0.012 + 0.010 = 0.034 an hour, capped at 21.00 a month
		{name: "VPS hourly", group: vps, choices: vpsChoice(4, 8, 100), term: Hourly,
			total: "0.034", cap: "21.00", lines: []string{"0.012", "0.012", "0.010"}},
		// smallest VPS 1, 1, 25: 2.00 + 1.00 + 1.25 = 4.25; hourly 0.003 + 0.0015 + 0.0025 = 0.0070
		{name: "VPS smallest monthly", group: vps, choices: vpsChoice(1, 1, 25), term: Monthly, total: "4.25", cap: "4.25"},
		{name: "VPS smallest hourly", group: vps, choices: vpsChoice(1, 1, 25), term: Hourly, total: "0.0070", cap: "4.25"},
		// largest VPS 16, 64, 1000: 32.00 + 64.00 + 50.00 = 146.00; annual 146.00 x 12 = 1752.00
		{name: "VPS largest annual", group: vps, choices: vpsChoice(16, 64, 1000), term: Annual, total: "1752.00", cap: "146.00"},

		// Game 4 GB, 50 GB, 40 slots: 4 x 1.50 + 50 x 0.08 + 40 x 0.05 = 6.00 + 4.00 + 2.00 = 12.00
		{name: "game monthly", group: game, choices: gameChoice(4, 50, 40), term: Monthly,
			total: "12.00", cap: "12.00", lines: []string{"6.00", "4.00", "2.00"}, wantLines: []string{"4 GB", "50 GB", "40 slots"}},
		// 12.00 x 12 = 144.00
		{name: "game annual", group: game, choices: gameChoice(4, 50, 40), term: Annual, total: "144.00", cap: "12.00"},
		// 4 x 0.002 + 50 x 0.0001 + 40 x 0.0001 = 0.008 + 0.005 + 0.004 = 0.017
		{name: "game hourly", group: game, choices: gameChoice(4, 50, 40), term: Hourly, total: "0.017", cap: "12.00"},

		// MySQL 20 GB, 200 connections, backups: 20 x 0.20 + 200 x 0.05 + 2.00 = 4.00 + 10.00 + 2.00 = 16.00
		{name: "MySQL monthly with backups", group: mysql, choices: sqlChoice(20, 200, true), term: Monthly,
			total: "16.00", cap: "16.00", lines: []string{"4.00", "10.00", "2.00"}, wantLines: []string{"20 GB", "200 connections", "Daily backups"}},
		// 16.00 x 3 = 48.00
		{name: "MySQL quarterly with backups", group: mysql, choices: sqlChoice(20, 200, true), term: Quarterly, total: "48.00", cap: "16.00"},
		// the backups have no hourly price: they add nothing to the rate,
		// 20 x 0.0003 + 200 x 0.0001 + 0 = 0.006 + 0.020 = 0.026 an hour;
		// the cap still holds their monthly 2.00: 4.00 + 10.00 + 2.00 = 16.00
		{name: "MySQL hourly with backups", group: mysql, choices: sqlChoice(20, 200, true), term: Hourly,
			total: "0.026", cap: "16.00", lines: []string{"0.006", "0.020", "0"}, noHourly: []bool{false, false, true},
			wantLines: []string{"20 GB", "200 connections", "Daily backups"}},
		// a slider without an hourly price adds nothing either: VPS 4 cores
		// with no hourly core price, 8 GB, 100 GB = 0 + 0.012 + 0.010 = 0.022
		{name: "VPS hourly, cores without an hourly price", group: noHourlyCores(vps), choices: vpsChoice(4, 8, 100), term: Hourly,
			total: "0.022", cap: "21.00", lines: []string{"0", "0.012", "0.010"}, noHourly: []bool{true, false, false}},
		// 20 x 0.0003 + 200 x 0.0001 = 0.006 + 0.020 = 0.026; cap 4.00 + 10.00 = 14.00
		{name: "MySQL hourly without backups", group: mysql, choices: sqlChoice(20, 200, false), term: Hourly,
			total: "0.026", cap: "14.00", wantLines: []string{"20 GB", "200 connections", "no"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel := mustValidate(t, []Group{tt.group}, tt.choices...)
			q, err := PriceBYO(sel, tt.term)
			if tt.refused != "" {
				wantError(t, err, hostapi.CodePrecondition, "", tt.refused)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantAmount(t, "subtotal", q.Subtotal, tt.total)
			wantAmount(t, "total", q.Total, tt.total)
			wantAmount(t, "monthly cap", q.MonthlyCap, tt.cap)
			if tt.term == Hourly {
				wantAmount(t, "hourly rate", q.HourlyRate, tt.total)
			} else if !q.HourlyRate.IsZero() {
				t.Errorf("cycle quote with an hourly rate %s", q.HourlyRate)
			}
			for i, want := range tt.lines {
				wantAmount(t, q.Lines[i].Option, q.Lines[i].Price, want)
			}
			for i, want := range tt.noHourly {
				if q.Lines[i].NoHourlyPrice != want {
					t.Errorf("line %d NoHourlyPrice %v, want %v", i, q.Lines[i].NoHourlyPrice, want)
				}
			}
			for i, want := range tt.wantLines {
				if q.Lines[i].Value != want {
					t.Errorf("line %d shows %q, want %q", i, q.Lines[i].Value, want)
				}
			}
		})
	}
}

// BYO bills the monthly cap, not the term columns: a BYO group whose
// quarterly column gives a discount (5.00 instead of 3 x 2.00) is still
// billed 3 x the cap, and Price (the columns) differs from PriceBYO.
func TestPriceBYOIgnoresTermColumns(t *testing.T) {
	vps, _, _ := seeded()
	vps.Options[0].UnitPrices.Quarterly = p("5.00")
	sel := mustValidate(t, []Group{vps}, vpsChoice(4, 8, 100)...)
	byo, err := PriceBYO(sel, Quarterly)
	if err != nil {
		t.Fatal(err)
	}
	// 21.00 x 3 = 63.00
	wantAmount(t, "BYO quarterly", byo.Subtotal, "63.00")
	cols, err := Price(sel, Quarterly)
	if err != nil {
		t.Fatal(err)
	}
	// 4 x 5.00 + 8 x 3.00 + 100 x 0.15 = 20.00 + 24.00 + 15.00 = 59.00
	wantAmount(t, "columns quarterly", cols.Subtotal, "59.00")
}

// Rounding happens once per total. 1 core, 3 GB, 50 GB hourly:
// 0.003 + 3 x 0.0015 + 50 x 0.0001 = 0.003 + 0.0045 + 0.005 = 0.0125 an
// hour; the RAM line stays 0.0045 (rounded alone it would be 0.00) and the
// rate stays 0.0125 (not 0.01); monthly cap 2.00 + 3.00 + 2.50 = 7.50.
func TestRoundingOnce(t *testing.T) {
	vps, _, _ := seeded()
	q, err := PriceBYO(mustValidate(t, []Group{vps}, vpsChoice(1, 3, 50)...), Hourly)
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Lines[1].Hourly.String(); got != "0.0045" {
		t.Errorf("RAM line %s, want 0.0045 exact", got)
	}
	if got := q.HourlyRate.String(); got != "0.0125" {
		t.Errorf("rate %s, want 0.0125 exact", got)
	}
	wantAmount(t, "cap", q.MonthlyCap, "7.50")

	for _, tt := range []struct {
		hours int64
		want  string
	}{
		{0, "0.00"},
		{1, "0.01"},     // 0.0125 -> 0.01
		{3, "0.04"},     // 0.0375 -> 0.04 (half-up)
		{4, "0.05"},     // 0.0500
		{100, "1.25"},   // 1.25 exact; a rate rounded first would give 100 x 0.01 = 1.00
		{599, "7.49"},   // 7.4875 -> 7.49
		{600, "7.50"},   // 7.50 = the cap
		{720, "7.50"},   // 9.00 capped at 7.50
		{744, "7.50"},   // 9.30 capped at 7.50
		{10000, "7.50"}, // capped
	} {
		got, err := HourlyCharge(q.HourlyRate, q.MonthlyCap, tt.hours)
		if err != nil {
			t.Fatal(err)
		}
		if got.StringFixed(2) != tt.want || !got.Equal(got.Round(2)) {
			t.Errorf("%d hours: %s, want %s", tt.hours, got, tt.want)
		}
	}
	// 3 x 0.0015 = 0.0045 alone: 0.00 for an hour, 0.45 for 100 hours.
	for hours, want := range map[int64]string{1: "0.00", 100: "0.45", 1000: "4.50"} {
		got, _ := HourlyCharge(d("0.0045"), d("9.00"), hours)
		wantAmount(t, "0.0045 x hours", got, want)
	}
	if _, err := HourlyCharge(q.HourlyRate, q.MonthlyCap, -1); hostapi.CodeOf(err) != hostapi.CodeInvalid {
		t.Errorf("negative hours: %v", err)
	}
}

// noHourlyCores is the VPS group with no hourly price on its cores.
func noHourlyCores(vps Group) Group {
	vps.Options = append([]Option(nil), vps.Options...)
	vps.Options[0].UnitPrices.Hourly = nil
	return vps
}

func vpsChoice(cores, ram, ssd int64) []Choice {
	return []Choice{{OptionID: vpsCores, Quantity: cores}, {OptionID: vpsRAM, Quantity: ram}, {OptionID: vpsSSD, Quantity: ssd}}
}

func gameChoice(ram, storage, players int64) []Choice {
	return []Choice{{OptionID: gameRAM, Quantity: ram}, {OptionID: gameStorage, Quantity: storage}, {OptionID: gamePlayers, Quantity: players}}
}

func sqlChoice(storage, conns int64, backups bool) []Choice {
	c := []Choice{{OptionID: sqlStorage, Quantity: storage}, {OptionID: sqlConns, Quantity: conns}, {OptionID: sqlBackups}}
	if backups {
		c[2].ValueID = sqlBackupsOn
	}
	return c
}

// The cap a quote shows is the options' monthly total in both modes: a
// preset product's never reads 0.00 when its options cost something.
func TestMonthlyCap(t *testing.T) {
	vps, mysql, _ := seeded()
	noMonthlySmall := extras()
	noMonthlySmall.Options[1].Values[0].Prices.Monthly = nil
	tests := []struct {
		name    string
		group   Group
		choices []Choice
		want    string // "" = no cap to show
	}{
		// New York 1.00 + Small 3.00 + 3 x 0.50 + 1.25 + 4 x 0.30 = 1.00 + 3.00 + 1.50 + 1.25 + 1.20 = 7.95
		{"preset, every type", extras(), []Choice{{OptionID: optLocation, ValueID: valNewYork}, plan, {OptionID: optPorts, Quantity: 3},
			{OptionID: optBackups, ValueID: valBackupsOn}, {OptionID: optName, Text: "web-1"}, {OptionID: optDBs, Quantity: 4}}, "7.95"},
		// Frankfurt (the default) 0.00 + Large 10.00 + 2 x 0.50 = 11.00
		{"preset Large and 2 ports", extras(), []Choice{{OptionID: optPlan, ValueID: valLarge}, {OptionID: optPorts, Quantity: 2}}, "11.00"},
		// Frankfurt 0.00 + Small 3.00 = 3.00
		{"preset defaults", extras(), []Choice{plan}, "3.00"},
		// Frankfurt 0.00 + Small with no monthly price: no cap
		{"preset value without a monthly price", noMonthlySmall, []Choice{plan}, ""},
		// 4 x 2.00 + 8 x 1.00 + 100 x 0.05 = 21.00
		{"BYO VPS", vps, vpsChoice(4, 8, 100), "21.00"},
		// 20 x 0.20 + 200 x 0.05 + 2.00 = 16.00 (backups have no hourly price, a monthly one)
		{"BYO MySQL with backups", mysql, sqlChoice(20, 200, true), "16.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel := mustValidate(t, []Group{tt.group}, tt.choices...)
			got, ok, err := MonthlyCap(sel)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if ok {
					t.Fatalf("cap %s, want none", got)
				}
				return
			}
			if !ok {
				t.Fatal("no cap")
			}
			wantAmount(t, "cap", got, tt.want)
			priceFor := Price
			if tt.group.Mode == BuildYourOwn {
				priceFor = PriceBYO
			}
			q, err := priceFor(sel, Monthly)
			if err != nil {
				t.Fatal(err)
			}
			wantAmount(t, "monthly total", q.Total, tt.want)
		})
	}
}

func TestQuantityText(t *testing.T) {
	for _, tc := range []struct {
		unit string
		n    int64
		want string
	}{
		{"cores", 1, "1 core"},
		{"cores", 4, "4 cores"},
		{"GB", 1, "1 GB"},
		{"GB", 8, "8 GB"},
		{"IPs", 1, "1 IPs"}, // not lower case: left as the provider wrote it
		{"", 3, "3"},
	} {
		if got := QuantityText(Option{Unit: tc.unit}, tc.n); got != tc.want {
			t.Errorf("QuantityText(%q, %d) = %q, want %q", tc.unit, tc.n, got, tc.want)
		}
	}
}
