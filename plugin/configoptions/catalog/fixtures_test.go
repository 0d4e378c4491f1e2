package catalog

import (
	"errors"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func p(s string) *decimal.Decimal {
	v := d(s)
	return &v
}

// prices builds columns hourly, monthly, quarterly, semi-annual, annual;
// "" leaves a column out.
func prices(h, m, q, s, a string) Prices {
	col := func(v string) *decimal.Decimal {
		if v == "" {
			return nil
		}
		return p(v)
	}
	return Prices{Hourly: col(h), Monthly: col(m), Quarterly: col(q), SemiAnnual: col(s), Annual: col(a)}
}

// Option ids of the preset fixture.
const (
	optLocation = 1
	optPlan     = 2
	optPorts    = 3
	optBackups  = 4
	optName     = 5
	optDBs      = 6
	optNotes    = 7
	optLegacy   = 8
)

// Value ids of the preset fixture.
const (
	valFrankfurt = 11
	valNewYork   = 12
	valTokyo     = 13 // inactive
	valParis     = 14 // deleted
	valSmall     = 21
	valLarge     = 22
	valBackupsOn = 41
	valLegacy    = 81
)

// extras is a preset group with one option of every type:
//
//	1 Location     dropdown  Frankfurt (default) 0.00 | New York h 0.0014 m 1.00 q 2.70 s 5.40 a 10.80 | Tokyo (inactive) | Paris (deleted)
//	2 Plan size    radio     required, key memory: Small raw 2048 h 0.0042 m 3.00 q 9.00 s 18.00 a 36.00 | Large raw 8192, no hourly, m 10.00 q 29.00 s 57.00 a 110.00
//	3 Extra ports  quantity  key additional_allocations, 0..10 step 1, per port h 0.0007 m 0.50 q 1.50 s 3.00 a 6.00
//	4 Backups      checkbox  key backups: Enabled raw 3 h 0.0018 m 1.25 q 3.75 s 7.50 a 15.00
//	5 Server name  text      key servername
//	6 Databases    slider    key databases, 2..10 step 2, per database h 0.0005 m 0.30 q 0.90 s 1.80, NO annual price
//	7 Notes        text      no key
//	8 Legacy       dropdown  inactive option
func extras() Group {
	return Group{
		ID: 100, Name: "Extras", Mode: Preset, Active: true, ProductIDs: []uint64{7},
		Options: []Option{
			{ID: optLocation, GroupID: 100, Name: "Location", Type: Dropdown, Active: true, Values: []Value{
				{ID: valFrankfurt, OptionID: optLocation, Label: "Frankfurt", Raw: "fra", Default: true, Active: true, Prices: prices("0", "0", "0", "0", "0")},
				{ID: valNewYork, OptionID: optLocation, Label: "New York", Raw: "nyc", Active: true, Prices: prices("0.0014", "1.00", "2.70", "5.40", "10.80")},
				{ID: valTokyo, OptionID: optLocation, Label: "Tokyo", Raw: "tyo", Active: false, Prices: prices("0", "0", "0", "0", "0")},
				{ID: valParis, OptionID: optLocation, Label: "Paris", Raw: "par", Active: true, Deleted: true, Prices: prices("0", "0.50", "1.50", "3.00", "6.00")},
			}},
			{ID: optPlan, GroupID: 100, Name: "Plan size", Type: Radio, ProvisioningKey: "memory", Required: true, Active: true, Values: []Value{
				{ID: valSmall, OptionID: optPlan, Label: "Small", Raw: "2048", Active: true, Prices: prices("0.0042", "3.00", "9.00", "18.00", "36.00")},
				{ID: valLarge, OptionID: optPlan, Label: "Large", Raw: "8192", Active: true, Prices: prices("", "10.00", "29.00", "57.00", "110.00")},
			}},
			{ID: optPorts, GroupID: 100, Name: "Extra ports", Type: Quantity, ProvisioningKey: "additional_allocations", Active: true,
				Min: 0, Max: 10, Step: 1, Unit: "ports", UnitPrices: prices("0.0007", "0.50", "1.50", "3.00", "6.00")},
			{ID: optBackups, GroupID: 100, Name: "Backups", Type: Checkbox, ProvisioningKey: "backups", Active: true, Values: []Value{
				{ID: valBackupsOn, OptionID: optBackups, Label: "Enabled", Raw: "3", Active: true, Prices: prices("0.0018", "1.25", "3.75", "7.50", "15.00")},
			}},
			{ID: optName, GroupID: 100, Name: "Server name", Type: Text, ProvisioningKey: "servername", Active: true},
			{ID: optDBs, GroupID: 100, Name: "Databases", Type: Slider, ProvisioningKey: "databases", Active: true,
				Min: 2, Max: 10, Step: 2, UnitPrices: prices("0.0005", "0.30", "0.90", "1.80", "")},
			{ID: optNotes, GroupID: 100, Name: "Notes", Type: Text, Active: true},
			{ID: optLegacy, GroupID: 100, Name: "Legacy", Type: Dropdown, Active: false, Values: []Value{
				{ID: valLegacy, OptionID: optLegacy, Label: "Old", Active: true, Prices: prices("0", "0", "0", "0", "0")},
			}},
		},
	}
}

// Option ids given to the seed groups by seeded: group g (1 VPS, 2 MySQL,
// 3 game), option o -> 10g+o; a value of option X has id 10X+1.
const (
	vpsCores, vpsRAM, vpsSSD          = 11, 12, 13
	sqlStorage, sqlConns, sqlBackups  = 21, 22, 23
	sqlBackupsOn                      = 231
	gameRAM, gameStorage, gamePlayers = 31, 32, 33
)

// seeded returns SeedGroups with ids, as the store would give them.
func seeded() (vps, mysql, game Group) {
	gs := SeedGroups()
	for gi := range gs {
		g := &gs[gi]
		g.ID = uint64(gi + 1)
		for oi := range g.Options {
			o := &g.Options[oi]
			o.ID = g.ID*10 + uint64(oi+1)
			o.GroupID = g.ID
			for vi := range o.Values {
				o.Values[vi].ID = o.ID*10 + uint64(vi+1)
				o.Values[vi].OptionID = o.ID
			}
		}
	}
	return gs[0], gs[1], gs[2]
}

// mustValidate validates choices that must be valid.
func mustValidate(t *testing.T, groups []Group, choices ...Choice) Selection {
	t.Helper()
	sel, err := Validate(groups, choices)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return sel
}

// wantError checks err's code, and for CodeInvalid its field; the message
// must hold every part.
func wantError(t *testing.T, err error, code hostapi.Code, field string, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s %s %q", code, field, parts)
	}
	if got := hostapi.CodeOf(err); got != code {
		t.Fatalf("code %s, want %s (%v)", got, code, err)
	}
	var he *hostapi.Error
	if !errors.As(err, &he) {
		t.Fatalf("%v is not a *hostapi.Error", err)
	}
	if he.Field != field {
		t.Errorf("field %q, want %q (%v)", he.Field, field, err)
	}
	for _, part := range parts {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not say %q", err, part)
		}
	}
}

func wantAmount(t *testing.T, what string, got decimal.Decimal, want string) {
	t.Helper()
	if !got.Equal(d(want)) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}
