package configoptions

import (
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/upsell-io/upsell/plugin/configoptions/catalog"
)

var pageGroups = []catalog.Group{{ID: 1, Active: true, Options: []catalog.Option{
	{ID: 1, Name: "RAM", Type: catalog.Slider, Active: true, Min: 1, Max: 16, Step: 1, Unit: "GB"},
	{ID: 2, Name: "Location", Type: catalog.Dropdown, Active: true, Values: []catalog.Value{{ID: 20, Label: "Frankfurt", Active: true}}},
	{ID: 3, Name: "Backups", Type: catalog.Checkbox, Active: true, Values: []catalog.Value{{ID: 30, Label: "Daily", Active: true}}},
	{ID: 4, Name: "Name", Type: catalog.Text, Active: true},
}}}

func TestParseChoices(t *testing.T) {
	for name, tc := range map[string]struct {
		form string
		want []choiceInput
		bad  map[uint64]string
	}{
		"nothing sent":            {"", nil, map[uint64]string{}},
		"the slider moved":        {"o1=6&o1n=4&o1p=4", []choiceInput{{OptionID: 1, Quantity: 6}}, map[uint64]string{}},
		"the number box typed in": {"o1=4&o1n=9&o1p=4", []choiceInput{{OptionID: 1, Quantity: 9}}, map[uint64]string{}},
		"the number box alone":    {"o1n=3", []choiceInput{{OptionID: 1, Quantity: 3}}, map[uint64]string{}},
		"values and a text": {"o2=20&o3=30&o4=srv+1", []choiceInput{{OptionID: 2, ValueID: 20}, {OptionID: 3, ValueID: 30}, {OptionID: 4, Text: "srv 1"}},
			map[uint64]string{}},
		"not numbers": {"o1=x&o1n=&o2=abc", nil, map[uint64]string{1: "enter a whole number", 2: "choose one of the offered values"}},
		"a negative":  {"o1=-2", nil, map[uint64]string{1: "enter a whole number"}},
	} {
		v, _ := url.ParseQuery(tc.form)
		got, bad := parseChoices(pageGroups, v)
		if !reflect.DeepEqual(got, tc.want) || !reflect.DeepEqual(bad, tc.bad) {
			t.Errorf("%s: %+v %v; want %+v %v", name, got, bad, tc.want, tc.bad)
		}
	}
}

func TestChangedChoices(t *testing.T) {
	held := map[uint64]choiceInput{1: {OptionID: 1, Quantity: 4}, 3: {OptionID: 3, ValueID: 30}}
	for name, tc := range map[string]struct {
		form []choiceInput
		want []choiceInput
	}{
		"as held":           {[]choiceInput{{OptionID: 1, Quantity: 4}, {OptionID: 3, ValueID: 30}}, nil},
		"more RAM":          {[]choiceInput{{OptionID: 1, Quantity: 8}, {OptionID: 3, ValueID: 30}}, []choiceInput{{OptionID: 1, Quantity: 8}}},
		"backups unticked":  {[]choiceInput{{OptionID: 1, Quantity: 4}}, []choiceInput{{OptionID: 3}}},
		"a location added":  {[]choiceInput{{OptionID: 1, Quantity: 4}, {OptionID: 2, ValueID: 20}, {OptionID: 3, ValueID: 30}}, []choiceInput{{OptionID: 2, ValueID: 20}}},
		"a slider left out": {[]choiceInput{{OptionID: 3, ValueID: 30}}, nil},
	} {
		if got := changedChoices(pageGroups, held, tc.form); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v; want %+v", name, got, tc.want)
		}
	}
}

func TestPageBase(t *testing.T) {
	for path, want := range map[string]string{"/configure": "", "/checkout/place": "../", "/change/confirm": "../"} {
		if got := pageBase(httptest.NewRequest("GET", path, nil)); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
}

func TestOptionErrorsNamesEachOption(t *testing.T) {
	groups := []catalog.Group{{ID: 1, Active: true, Options: []catalog.Option{
		{ID: 1, Name: "RAM", Type: catalog.Slider, Active: true, Required: true, Min: 1, Max: 16, Step: 1},
		{ID: 2, Name: "Location", Type: catalog.Dropdown, Active: true, Required: true, Values: []catalog.Value{{ID: 20, Label: "Frankfurt", Active: true}}},
		{ID: 3, Name: "Notes", Type: catalog.Text, Active: true},
	}}}
	got := optionErrors(groups, []choiceInput{{OptionID: 1, Quantity: 17}})
	if len(got) != 2 || got[1] == "" || got[2] == "" {
		t.Fatalf("errors %v; want RAM (above the maximum) and Location (required), not Notes", got)
	}
}

// TestCheckoutTemplateControls renders an option of every type: each
// control is labelled, radios are a fieldset with a legend, and an error
// sits next to its control.
func TestCheckoutTemplateControls(t *testing.T) {
	groups := []catalog.Group{{ID: 1, Active: true, Options: append(pageGroups[0].Options,
		catalog.Option{ID: 5, Name: "Plan size", Type: catalog.Radio, Active: true, Required: true, Values: []catalog.Value{{ID: 50, Label: "Small", Active: true, Default: true}, {ID: 51, Label: "Large", Active: true}}},
		catalog.Option{ID: 6, Name: "Ports", Type: catalog.Quantity, Active: true, Min: 0, Max: 8, Step: 1, Unit: "ports"},
	)}}
	d := checkoutData{Title: "Order", Options: controls(groups, nil, catalog.Monthly, "EUR", map[uint64]string{6: "too many"})}
	d.Errors = errorList(d.Options, map[string]string{fieldCoupon: "no coupon"}, checkoutLabels)
	var b strings.Builder
	if err := pageTemplates.ExecuteTemplate(&b, "checkout", d); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, want := range []string{
		`<label for="o1" id="o1-label">RAM`, `type="range" id="o1"`, `id="o1n"`, `aria-labelledby="o1-label o1-unit"`,
		`<label for="o2">Location`, `<select id="o2" name="o2"`,
		`<label class="choice" for="o3"><input type="checkbox" id="o3" name="o3" value="30"`,
		`<label for="o4">Name`, `<input type="text" id="o4"`,
		`<legend id="o5">Plan size <span class="required">(required)</span></legend>`, `value="50" checked`,
		`<label for="o6">Ports`, `aria-invalid="true"`, `<p class="error" id="o6-error">too many</p>`, `aria-describedby="o6-hint o6-error"`,
		`<a href="#o6">Ports</a>: too many`, `<a href="#coupon">Coupon</a>: no coupon`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("no %s in\n%s", want, html)
		}
	}
	if strings.Contains(html, "style=") || strings.Contains(html, "<script") {
		t.Error("inline style or script")
	}
}
