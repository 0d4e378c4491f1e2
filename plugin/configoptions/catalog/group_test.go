package catalog

import (
	"strings"
	"testing"

	"github.com/upsell-io/upsell/hostapi"
)

func TestValidateGroupAccepts(t *testing.T) {
	if err := ValidateGroup(extras()); err != nil {
		t.Errorf("extras: %v", err)
	}
	for _, g := range SeedGroups() {
		if err := ValidateGroup(g); err != nil {
			t.Errorf("seed %q: %v", g.Name, err)
		}
	}
	for name, mutate := range map[string]func(*Group){
		"hourly with 4 decimals (0.0015)":        func(g *Group) { g.Options[2].UnitPrices.Hourly = p("0.0015") },
		"a free value (0.00)":                    func(g *Group) { g.Options[0].Values[1].Prices = prices("0", "0", "0", "0", "0") },
		"a value without any price column":       func(g *Group) { g.Options[0].Values[1].Prices = Prices{} },
		"a checkbox value without Raw (means 1)": func(g *Group) { g.Options[3].Values[0].Raw = "" },
		"a quantity range not a whole number of steps": func(g *Group) {
			g.Options[2].Min, g.Options[2].Max, g.Options[2].Step = 0, 10, 3
		},
		"a deleted value with a bad Raw": func(g *Group) {
			g.Options[1].Values = append(g.Options[1].Values, Value{Label: "Old", Raw: "x", Deleted: true})
		},
		"no options yet":                 func(g *Group) { g.Options = nil },
		"an option without provisioning": func(g *Group) { g.Options[1].ProvisioningKey = "" },
		"a name of 255 characters":       func(g *Group) { g.Name = strings.Repeat("é", 255) },
		"options saved before they get ids": func(g *Group) {
			for i := range g.Options {
				g.Options[i].ID = 0
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			g := extras()
			mutate(&g)
			if err := ValidateGroup(g); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestValidateGroupRefusals(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Group)
		field  string
		says   string
	}{
		{"no name", func(g *Group) { g.Name = "  " }, "name", "needs a name"},
		{"name too long", func(g *Group) { g.Name = strings.Repeat("x", 256) }, "name", "256 characters, at most 255"},
		{"unknown mode", func(g *Group) { g.Mode = "bundle" }, "mode", `unknown mode "bundle"`},
		{"BYO without a service type", func(g *Group) { g.Mode = BuildYourOwn }, "service_type", "needs a service type"},
		{"BYO with a bad service type", func(g *Group) { g.Mode, g.ServiceType = BuildYourOwn, "My VPS" }, "service_type", "not a service type"},
		{"BYO option without a monthly price", func(g *Group) {
			g.Mode, g.ServiceType = BuildYourOwn, "vps"
			g.Options[2].UnitPrices.Monthly = nil
		}, "options[2].unit_prices.monthly", `option "Extra ports": a build-your-own option needs a monthly price`},
		{"option without a name", func(g *Group) { g.Options[1].Name = "" }, "options[1].name", "an option needs a name"},
		{"two options with one name", func(g *Group) { g.Options[6].Name = "server NAME" }, "options[6].name", "same name as options[4]"},
		{"two options with one id", func(g *Group) { g.Options[6].ID = optName }, "options[6].id", "same id 5 as options[4]"},
		{"unknown type", func(g *Group) { g.Options[6].Type = "color" }, "options[6].type", `option "Notes" has unknown type "color"`},
		{"min above max", func(g *Group) { g.Options[5].Min, g.Options[5].Max = 12, 10 }, "options[5].max", `option "Databases": the maximum 10 is below the minimum 12`},
		{"negative min", func(g *Group) { g.Options[2].Min = -1 }, "options[2].min", "negative"},
		{"step 0", func(g *Group) { g.Options[5].Step = 0 }, "options[5].step", "at least 1"},
		{"slider range not on steps: (10-2) % 3 = 2", func(g *Group) { g.Options[5].Step = 3 }, "options[5].step", `slider "Databases": 2..10 is not a whole number of steps of 3`},
		{"quantity with values", func(g *Group) { g.Options[2].Values = []Value{{Label: "x"}} }, "options[2].values", "unit price, not values"},
		{"dropdown without values", func(g *Group) { g.Options[0].Values = nil }, "options[0].values", `option "Location" needs at least one value`},
		{"dropdown with only deleted values", func(g *Group) {
			for i := range g.Options[0].Values {
				g.Options[0].Values[i].Deleted, g.Options[0].Values[i].Default = true, false
			}
		}, "options[0].values", "at least one value"},
		{"dropdown with a unit price", func(g *Group) { g.Options[0].UnitPrices.Monthly = p("1.00") }, "options[0].unit_prices", "priced on its values"},
		{"checkbox with two values", func(g *Group) {
			g.Options[3].Values = append(g.Options[3].Values, Value{Label: "Off", Raw: "0"})
		}, "options[3].values", `checkbox "Backups" needs exactly one value`},
		{"checkbox without a value", func(g *Group) { g.Options[3].Values = nil }, "options[3].values", "exactly one value"},
		{"text with values", func(g *Group) { g.Options[6].Values = []Value{{Label: "a"}} }, "options[6].values", `text option "Notes" has no values`},
		{"text with a price", func(g *Group) { g.Options[6].UnitPrices.Hourly = p("0") }, "options[6].unit_prices", "never priced"},
		{"value without a label", func(g *Group) { g.Options[0].Values[1].Label = "" }, "options[0].values[1].label", `a value of option "Location" needs a name`},
		{"negative price", func(g *Group) { g.Options[0].Values[1].Prices.Quarterly = p("-2.70") }, "options[0].values[1].prices.quarterly", `option "Location": the quarterly price -2.7 is negative`},
		{"monthly with 3 decimals", func(g *Group) { g.Options[2].UnitPrices.Monthly = p("0.125") }, "options[2].unit_prices.monthly", "more than 2 decimals"},
		{"semi-annual with 3 decimals", func(g *Group) { g.Options[2].UnitPrices.SemiAnnual = p("3.001") }, "options[2].unit_prices.semi_annual", "semi-annual price 3.001 has more than 2 decimals"},
		{"hourly with 5 decimals", func(g *Group) { g.Options[2].UnitPrices.Hourly = p("0.00015") }, "options[2].unit_prices.hourly", "more than 4 decimals"},
		{"two defaults", func(g *Group) { g.Options[0].Values[1].Default = true }, "options[0].values[1].default", "more than one default"},
		{"an inactive default", func(g *Group) { g.Options[0].Values[0].Active = false }, "options[0].values[0].default", `the default value "Frankfurt" is not for sale`},
		{"unknown provisioning key", func(g *Group) { g.Options[2].ProvisioningKey = "egg_id" }, "options[2].provisioning_key", `unknown provisioning key "egg_id"`},
		{"text key on a quantity", func(g *Group) { g.Options[2].ProvisioningKey = "servername" }, "options[2].provisioning_key", "does not fit a quantity"},
		{"numeric key on a text", func(g *Group) { g.Options[6].ProvisioningKey = "disk" }, "options[6].provisioning_key", "does not fit a text"},
		{"raw not a number for a numeric key", func(g *Group) { g.Options[1].Values[1].Raw = "8 GB" }, "options[1].values[1].raw", `"Large" must provision a whole number of memory, not "8 GB"`},
		{"dropdown raw empty for a numeric key", func(g *Group) { g.Options[1].Values[0].Raw = "" }, "options[1].values[0].raw", "whole number"},
		{"two options set memory", func(g *Group) { g.Options[5].ProvisioningKey = "ram_gb" }, "options[5].provisioning_key", `options "Plan size" and "Databases" both set memory`},
		{"cpu and cpu_cores together", func(g *Group) {
			g.Options[2].ProvisioningKey, g.Options[5].ProvisioningKey = "cpu", "cpu_cores"
		}, "options[5].provisioning_key", "both set cpu"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := extras()
			tt.mutate(&g)
			wantError(t, ValidateGroup(g), hostapi.CodeInvalid, tt.field, tt.says)
		})
	}
}

func TestSeedGroups(t *testing.T) {
	gs := SeedGroups()
	if len(gs) != 3 {
		t.Fatalf("%d groups", len(gs))
	}
	for i, want := range []string{"vps", "mysql", "game"} {
		g := gs[i]
		if g.ServiceType != want || g.Mode != BuildYourOwn || !g.Active || g.ID != 0 {
			t.Errorf("group %d: %+v", i, g)
		}
	}
	// Each call returns fresh groups: a caller's edits do not leak.
	gs[0].Options[0].UnitPrices.Monthly = p("99.00")
	if again := SeedGroups(); !again[0].Options[0].UnitPrices.Monthly.Equal(d("2.00")) {
		t.Error("seed prices shared between calls")
	}

	type bounds struct{ min, max, step int64 }
	type cols struct{ h, m, q, s, a string }
	vps, mysql, game := seeded()
	for _, tt := range []struct {
		o   Option
		key string
		b   bounds
		c   cols
	}{
		{vps.Options[0], "cpu_cores", bounds{1, 16, 1}, cols{"0.003", "2.00", "6.00", "12.00", "24.00"}},
		{vps.Options[1], "ram_gb", bounds{1, 64, 1}, cols{"0.0015", "1.00", "3.00", "6.00", "12.00"}},
		{vps.Options[2], "disk_gb", bounds{25, 1000, 25}, cols{"0.0001", "0.05", "0.15", "0.30", "0.60"}},
		{mysql.Options[0], "storage_gb", bounds{5, 500, 5}, cols{"0.0003", "0.20", "0.60", "1.20", "2.40"}},
		{mysql.Options[1], "connections", bounds{50, 1000, 50}, cols{"0.0001", "0.05", "0.15", "0.30", "0.60"}},
		{game.Options[0], "ram_gb", bounds{1, 16, 1}, cols{"0.002", "1.50", "4.50", "9.00", "18.00"}},
		{game.Options[1], "disk_gb", bounds{10, 200, 10}, cols{"0.0001", "0.08", "0.24", "0.48", "0.96"}},
		{game.Options[2], "player_slots", bounds{10, 200, 10}, cols{"0.0001", "0.05", "0.15", "0.30", "0.60"}},
	} {
		o := tt.o
		if o.Type != Slider || !o.Required || o.ProvisioningKey != tt.key || (bounds{o.Min, o.Max, o.Step}) != tt.b {
			t.Errorf("%s: %+v", o.Name, o)
		}
		u := o.UnitPrices
		for term, want := range map[Term]string{Hourly: tt.c.h, Monthly: tt.c.m, Quarterly: tt.c.q, SemiAnnual: tt.c.s, Annual: tt.c.a} {
			if got := u.For(term); got == nil || !got.Equal(d(want)) {
				t.Errorf("%s %s: %v, want %s", o.Name, term, got, want)
			}
		}
	}
	backups := mysql.Options[2]
	if backups.Type != Checkbox || backups.Required || len(backups.Values) != 1 || backups.ProvisioningKey != "backups" {
		t.Fatalf("backups %+v", backups)
	}
	v := backups.Values[0].Prices
	if v.Hourly != nil || !v.Monthly.Equal(d("2.00")) || !v.Quarterly.Equal(d("6.00")) || !v.SemiAnnual.Equal(d("12.00")) || !v.Annual.Equal(d("24.00")) {
		t.Errorf("backups prices %+v", v)
	}
}

// TestValidateGroupEveryError: a group with several problems is refused
// with each of them, every one under its own field, so a form can mark
// them all at once.
func TestValidateGroupEveryError(t *testing.T) {
	g := Group{Name: " ", Mode: BuildYourOwn, ServiceType: "", Options: []Option{
		{Name: "RAM", Type: Slider, Min: 4, Max: 2, Step: 1, UnitPrices: Prices{Monthly: p("-1.00")}},
		{Name: "Location", Type: Dropdown},
		{Name: "Backup", Type: Checkbox, ProvisioningKey: "nope", Values: []Value{{Label: "on", Active: true, Prices: Prices{Hourly: p("0.00001")}}}},
	}}
	err := ValidateGroup(g)
	want := []string{"name", "service_type", "options[0].max", "options[0].unit_prices.monthly", "options[1].values",
		"options[2].provisioning_key", "options[2].values[0].prices.hourly", "options[2].values[0].prices.monthly"}
	var got []string
	for _, e := range Refusals(err) {
		got = append(got, e.Field)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("fields %q, want %q (%v)", got, want, err)
	}
}
