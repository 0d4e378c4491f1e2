package catalog

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/upsell-io/upsell/hostapi"
)

// plan is the required radio every valid extras selection carries.
var plan = Choice{OptionID: optPlan, ValueID: valSmall}

func TestValidateRefusals(t *testing.T) {
	tests := []struct {
		name    string
		choices []Choice
		field   string
		says    []string
	}{
		{"unknown option", []Choice{plan, {OptionID: 99, ValueID: 1}},
			"options.99", []string{"unknown option 99"}},
		{"the same option twice", []Choice{plan, {OptionID: optPorts, Quantity: 1}, {OptionID: optPorts, Quantity: 2}},
			"options.3", []string{`"Extra ports"`, "more than once"}},
		{"dropdown value of another option", []Choice{plan, {OptionID: optLocation, ValueID: valSmall}},
			"options.1", []string{"value 21", `"Location"`}},
		{"dropdown without a value", []Choice{plan, {OptionID: optLocation}},
			"options.1", []string{`"Location"`, "needs one of its values"}},
		{"dropdown with a quantity", []Choice{plan, {OptionID: optLocation, ValueID: valNewYork, Quantity: 2}},
			"options.1", []string{`"Location"`, "takes a value"}},
		{"inactive value", []Choice{plan, {OptionID: optLocation, ValueID: valTokyo}},
			"options.1", []string{`"Tokyo"`, `"Location"`, "not for sale"}},
		{"deleted value chosen anew", []Choice{plan, {OptionID: optLocation, ValueID: valParis}},
			"options.1", []string{`"Paris"`, `"Location"`, "no longer offered"}},
		{"inactive option", []Choice{plan, {OptionID: optLegacy, ValueID: valLegacy}},
			"options.8", []string{`"Legacy"`, "not for sale"}},
		{"radio value of another option", []Choice{{OptionID: optPlan, ValueID: valNewYork}},
			"options.2", []string{"value 12", `"Plan size"`}},
		{"quantity above max: 11 > 10", []Choice{plan, {OptionID: optPorts, Quantity: 11}},
			"options.3", []string{`"Extra ports"`, "11 is above the maximum 10"}},
		{"negative quantity", []Choice{plan, {OptionID: optPorts, Quantity: -1}},
			"options.3", []string{`"Extra ports"`, "negative"}},
		{"quantity with a value id", []Choice{plan, {OptionID: optPorts, ValueID: valNewYork, Quantity: 1}},
			"options.3", []string{`"Extra ports"`, "takes a quantity"}},
		{"slider below min: 0 < 2", []Choice{plan, {OptionID: optDBs, Quantity: 0}},
			"options.6", []string{`"Databases"`, "0 is below the minimum 2"}},
		{"slider off step: (5-2) % 2 = 1", []Choice{plan, {OptionID: optDBs, Quantity: 5}},
			"options.6", []string{`"Databases"`, "5 is not on the steps of 2 from 2", "4 or 6"}},
		{"slider off step at the top: (9-2) % 2 = 1, 10 is max", []Choice{plan, {OptionID: optDBs, Quantity: 9}},
			"options.6", []string{"(8 or 10 would be)"}},
		{"checkbox with another option's value", []Choice{plan, {OptionID: optBackups, ValueID: valSmall}},
			"options.4", []string{`"Backups"`, "value 21"}},
		{"checkbox with a quantity", []Choice{plan, {OptionID: optBackups, Quantity: 1}},
			"options.4", []string{`"Backups"`, "takes a value"}},
		{"text of 501 characters (1002 bytes)", []Choice{plan, {OptionID: optName, Text: strings.Repeat("é", 501)}},
			"options.5", []string{`"Server name"`, "at most 500 characters, got 501"}},
		{"text not UTF-8", []Choice{plan, {OptionID: optName, Text: "a\xffb"}},
			"options.5", []string{`"Server name"`, "UTF-8"}},
		{"text with a value id", []Choice{plan, {OptionID: optName, ValueID: valSmall, Text: "x"}},
			"options.5", []string{`"Server name"`, "takes a text"}},
		{"required option missing", []Choice{{OptionID: optPorts, Quantity: 1}},
			"options.2", []string{`"Plan size"`, "required"}},
		{"nothing sent: the required radio is missing", nil,
			"options.2", []string{`"Plan size"`, "required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := Validate([]Group{extras()}, tt.choices)
			wantError(t, err, hostapi.CodeInvalid, tt.field, tt.says...)
			if sel != nil {
				t.Errorf("a refused selection came back half-done: %+v", sel)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name    string
		choices []Choice
		check   func(t *testing.T, sel Selection)
	}{
		{"text of exactly 500 characters", []Choice{plan, {OptionID: optName, Text: strings.Repeat("é", 500)}},
			func(t *testing.T, sel Selection) {
				if got := find(sel, optName).Text; len([]rune(got)) != 500 {
					t.Errorf("text has %d runes", len([]rune(got)))
				}
			}},
		{"empty text counts as not sent", []Choice{plan, {OptionID: optNotes, Text: ""}},
			func(t *testing.T, sel Selection) {
				if has(sel, optNotes) {
					t.Error("an empty text was kept")
				}
			}},
		{"blank text (spaces, a tab, a no-break space) counts as not sent", []Choice{plan, {OptionID: optNotes, Text: " \t\u00a0 "}},
			func(t *testing.T, sel Selection) {
				if has(sel, optNotes) {
					t.Error("a blank text was kept")
				}
			}},
		{"a text with spaces around it is kept as sent", []Choice{plan, {OptionID: optName, Text: " web-1 "}},
			func(t *testing.T, sel Selection) {
				if got := find(sel, optName).Text; got != " web-1 " {
					t.Errorf("text %q", got)
				}
			}},
		{"slider on its steps: 2, 4 .. 10", []Choice{plan, {OptionID: optDBs, Quantity: 10}},
			func(t *testing.T, sel Selection) {
				if q := find(sel, optDBs).Quantity; q != 10 {
					t.Errorf("quantity %d", q)
				}
			}},
		{"quantity at its minimum 0", []Choice{plan, {OptionID: optPorts, Quantity: 0}},
			func(t *testing.T, sel Selection) {
				if !has(sel, optPorts) {
					t.Error("quantity 0 dropped")
				}
			}},
		{"checkbox ticked", []Choice{plan, {OptionID: optBackups, ValueID: valBackupsOn}},
			func(t *testing.T, sel Selection) {
				if v := find(sel, optBackups).Value; v == nil || v.ID != valBackupsOn {
					t.Errorf("value %+v", v)
				}
			}},
		{"checkbox not ticked (value id 0)", []Choice{plan, {OptionID: optBackups}},
			func(t *testing.T, sel Selection) {
				if !has(sel, optBackups) || find(sel, optBackups).Value != nil {
					t.Error("unticked checkbox not kept as unticked")
				}
			}},
		{"dropdown not sent takes its default", []Choice{plan},
			func(t *testing.T, sel Selection) {
				if v := find(sel, optLocation).Value; v == nil || v.ID != valFrankfurt {
					t.Errorf("default not taken: %+v", v)
				}
			}},
		{"dropdown sent overrides the default", []Choice{plan, {OptionID: optLocation, ValueID: valNewYork}},
			func(t *testing.T, sel Selection) {
				if v := find(sel, optLocation).Value; v.ID != valNewYork {
					t.Errorf("value %d", v.ID)
				}
			}},
		{"options not sent and without default are left out", []Choice{plan},
			func(t *testing.T, sel Selection) {
				for _, id := range []uint64{optPorts, optBackups, optName, optDBs, optNotes, optLegacy} {
					if has(sel, id) {
						t.Errorf("option %d present", id)
					}
				}
			}},
		{"selection follows the options' order, not the choices'", []Choice{{OptionID: optDBs, Quantity: 2}, {OptionID: optName, Text: "web"}, plan},
			func(t *testing.T, sel Selection) {
				var ids []uint64
				for _, s := range sel {
					ids = append(ids, s.Option.ID)
				}
				if want := []uint64{optLocation, optPlan, optName, optDBs}; !reflect.DeepEqual(ids, want) {
					t.Errorf("order %v, want %v", ids, want)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, mustValidate(t, []Group{extras()}, tt.choices...))
		})
	}
}

func TestValidateDefaults(t *testing.T) {
	t.Run("an inactive default is not taken", func(t *testing.T) {
		g := extras()
		g.Options[0].Values[0].Active = false
		if sel := mustValidate(t, []Group{g}, plan); has(sel, optLocation) {
			t.Error("inactive default taken")
		}
	})
	t.Run("a required radio with a default is satisfied by it", func(t *testing.T) {
		g := extras()
		g.Options[1].Values[1].Default = true // Large
		sel := mustValidate(t, []Group{g})
		if v := find(sel, optPlan).Value; v == nil || v.ID != valLarge {
			t.Errorf("default not taken: %+v", v)
		}
	})
	t.Run("a required checkbox must be ticked", func(t *testing.T) {
		g := extras()
		g.Options[3].Required = true
		_, err := Validate([]Group{g}, []Choice{plan, {OptionID: optBackups}})
		wantError(t, err, hostapi.CodeInvalid, "options.4", `"Backups"`, "must be ticked")
		_, err = Validate([]Group{g}, []Choice{plan})
		wantError(t, err, hostapi.CodeInvalid, "options.4", `"Backups"`, "required")
		mustValidate(t, []Group{g}, plan, Choice{OptionID: optBackups, ValueID: valBackupsOn})
	})
	t.Run("a required text must not be empty", func(t *testing.T) {
		g := extras()
		g.Options[4].Required = true
		_, err := Validate([]Group{g}, []Choice{plan, {OptionID: optName, Text: ""}})
		wantError(t, err, hostapi.CodeInvalid, "options.5", `"Server name"`, "required")
	})
}

// "Required options must have a selection", and every failing option is
// named at once, in the catalog's order (unknown options last): the first
// one is the error's field, the message lists each after its field.
func TestValidateReportsEveryOption(t *testing.T) {
	g := extras()
	g.Options[3].Required = true // Backups, a checkbox
	g.Options[4].Required = true // Server name, a text
	tests := []struct {
		name    string
		choices []Choice
		field   string
		message string
	}{
		{"nothing sent: the radio, the checkbox and the text", nil, "options.2",
			`options.2: option "Plan size" is required; options.4: option "Backups" is required; options.5: option "Server name" is required`},
		{"the text only spaces", []Choice{plan, {OptionID: optBackups, ValueID: valBackupsOn}, {OptionID: optName, Text: "   "}}, "options.5",
			`options.5: option "Server name" is required: its text is blank`},
		{"the text a tab and a newline, the checkbox unticked", []Choice{plan, {OptionID: optBackups}, {OptionID: optName, Text: "\t\n"}}, "options.4",
			`options.4: option "Backups" must be ticked; options.5: option "Server name" is required: its text is blank`},
		{"four at once, sent in another order", []Choice{{OptionID: 99, Quantity: 1}, {OptionID: optName, Text: " "},
			{OptionID: optPorts, Quantity: 11}, {OptionID: optBackups, ValueID: valBackupsOn}}, "options.2",
			`options.2: option "Plan size" is required; options.3: option "Extra ports": 11 is above the maximum 10; ` +
				`options.5: option "Server name" is required: its text is blank; options.99: unknown option 99`},
		{"one refusal per option: chosen twice and off its range", []Choice{plan, {OptionID: optName, Text: "web"},
			{OptionID: optBackups, ValueID: valBackupsOn}, {OptionID: optPorts, Quantity: 11}, {OptionID: optPorts, Quantity: 12}}, "options.3",
			`options.3: option "Extra ports": 11 is above the maximum 10`},
		{"a bad choice of a required option is its refusal, not also \"required\"", []Choice{{OptionID: optPlan, ValueID: valNewYork},
			{OptionID: optBackups, ValueID: valBackupsOn}, {OptionID: optName, Text: "web"}}, "options.2",
			`options.2: value 12 is not a choice of option "Plan size"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := Validate([]Group{g}, tt.choices)
			wantError(t, err, hostapi.CodeInvalid, tt.field)
			if err.Error() != tt.message {
				t.Errorf("message\n %s\nwant\n %s", err, tt.message)
			}
			if sel != nil {
				t.Errorf("a refused selection came back: %+v", sel)
			}
		})
	}
	// All set: accepted.
	mustValidate(t, []Group{g}, plan, Choice{OptionID: optBackups, ValueID: valBackupsOn}, Choice{OptionID: optName, Text: "web-1"})
}

func TestValidateInactiveGroup(t *testing.T) {
	for name, mutate := range map[string]func(*Group){
		"inactive": func(g *Group) { g.Active = false },
		"deleted":  func(g *Group) { now := time.Now(); g.DeletedAt = &now },
	} {
		t.Run(name, func(t *testing.T) {
			g := extras()
			mutate(&g)
			_, err := Validate([]Group{g}, []Choice{plan})
			wantError(t, err, hostapi.CodeInvalid, "options.2", `"Plan size"`, `group "Extras"`, "not for sale")
			// Not offered: its required options and defaults do not apply.
			sel, err := Validate([]Group{g}, nil)
			if err != nil || len(sel) != 0 {
				t.Errorf("nothing sent for an inactive group: %v, %v", sel, err)
			}
		})
	}
}

func TestValidateSeveralGroups(t *testing.T) {
	other := Group{ID: 200, Name: "More", Mode: Preset, Active: true, Options: []Option{
		{ID: 9, GroupID: 200, Name: "IPv4", Type: Quantity, Active: true, Min: 1, Max: 4, Step: 1, UnitPrices: prices("", "2.00", "", "", "")},
	}}
	sel := mustValidate(t, []Group{extras(), other}, Choice{OptionID: 9, Quantity: 2}, plan)
	if len(sel) != 3 || sel[2].Option.ID != 9 {
		t.Errorf("selection %+v", sel)
	}
	dup := other
	dup.Options = []Option{{ID: optPorts, Name: "Clash", Type: Text, Active: true}}
	_, err := Validate([]Group{extras(), dup}, []Choice{plan})
	wantError(t, err, hostapi.CodeInternal, "", "option id 3 appears twice")
}

// A service's locked selection holds a value deleted since, an inactive
// value, an inactive option and a quantity outside today's bounds.
func locked() []Choice {
	return []Choice{
		{OptionID: optLocation, ValueID: valParis},
		{OptionID: optLegacy, ValueID: valLegacy},
		{OptionID: optPorts, Quantity: 12},
		{OptionID: optDBs, Quantity: 3},
	}
}

func TestRevalidateKeepsWhatWasSold(t *testing.T) {
	g := extras()
	g.Options[0].Values[2].Active = false
	sel, err := Revalidate([]Group{g}, locked())
	if err != nil {
		t.Fatalf("Revalidate: %v", err)
	}
	// No default added, the missing required "Plan size" not asked for.
	if len(sel) != 4 || find(sel, optLocation).Value.ID != valParis || find(sel, optPorts).Quantity != 12 {
		t.Errorf("selection %+v", sel)
	}
	if got := sel.Choices(); !reflect.DeepEqual(got, []Choice{locked()[0], locked()[2], locked()[3], locked()[1]}) {
		t.Errorf("Choices %+v", got)
	}
	// Still inactive for a new sale.
	if _, err := Validate([]Group{g}, append(locked(), plan)); err == nil {
		t.Error("Validate accepted the locked selection")
	}

	// The structure is still checked.
	for _, tt := range []struct {
		name    string
		choices []Choice
		field   string
		says    string
	}{
		{"unknown option", []Choice{{OptionID: 99}}, "options.99", "unknown option"},
		{"value of another option", []Choice{{OptionID: optLocation, ValueID: valSmall}}, "options.1", `"Location"`},
		{"twice", []Choice{{OptionID: optPorts, Quantity: 1}, {OptionID: optPorts, Quantity: 1}}, "options.3", "more than once"},
		{"negative", []Choice{{OptionID: optPorts, Quantity: -4}}, "options.3", "negative"},
		{"too long", []Choice{{OptionID: optNotes, Text: strings.Repeat("x", 501)}}, "options.7", "at most 500"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Revalidate([]Group{g}, tt.choices)
			wantError(t, err, hostapi.CodeInvalid, tt.field, tt.says)
		})
	}
}

func TestValidateChange(t *testing.T) {
	current := append(locked(), plan)
	t.Run("unchanged choices are kept as sold", func(t *testing.T) {
		next := append(locked(), Choice{OptionID: optPlan, ValueID: valLarge})
		sel, err := ValidateChange([]Group{extras()}, current, next)
		if err != nil {
			t.Fatalf("ValidateChange: %v", err)
		}
		if find(sel, optLocation).Value.ID != valParis || find(sel, optPlan).Value.ID != valLarge {
			t.Errorf("selection %+v", sel)
		}
	})
	t.Run("a changed choice is checked as new", func(t *testing.T) {
		next := append(locked(), plan)
		next[2].Quantity = 11 // was 12, still out of range
		_, err := ValidateChange([]Group{extras()}, current, next)
		wantError(t, err, hostapi.CodeInvalid, "options.3", "above the maximum 10")
	})
	t.Run("the deleted value cannot be chosen anew elsewhere", func(t *testing.T) {
		next := []Choice{plan, {OptionID: optLocation, ValueID: valTokyo}}
		_, err := ValidateChange([]Group{extras()}, current, next)
		wantError(t, err, hostapi.CodeInvalid, "options.1", "not for sale")
	})
	t.Run("required options are still required", func(t *testing.T) {
		_, err := ValidateChange([]Group{extras()}, current, locked())
		wantError(t, err, hostapi.CodeInvalid, "options.2", "required")
	})
	t.Run("a required text emptied to blanks, and a bad quantity: both named", func(t *testing.T) {
		g := extras()
		g.Options[4].Required = true
		withName := append(append(locked(), plan), Choice{OptionID: optName, Text: "web-1"})
		next := append(locked(), plan, Choice{OptionID: optName, Text: "  "})
		next[2].Quantity = 11
		_, err := ValidateChange([]Group{g}, withName, next)
		wantError(t, err, hostapi.CodeInvalid, "options.3", "above the maximum 10",
			`; options.5: option "Server name" is required: its text is blank`)
	})
}

func find(sel Selection, id uint64) Selected {
	for _, s := range sel {
		if s.Option.ID == id {
			return s
		}
	}
	return Selected{}
}

func has(sel Selection, id uint64) bool {
	for _, s := range sel {
		if s.Option.ID == id {
			return true
		}
	}
	return false
}
