package configoptions_test

import (
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/upsell-io/upsell/hostapi"
)

// seededOptions seeds the BYO groups and returns the option ids of a
// service type by provisioning key.
func (f *fixture) seededOptions(serviceType string) map[string]uint64 {
	f.t.Helper()
	f.ok(200, "POST", "/admin/seed", nil, nil)
	var list struct {
		Groups []struct {
			ID          uint64 `json:"id"`
			ServiceType string `json:"service_type"`
		} `json:"groups"`
	}
	f.ok(200, "GET", "/admin/groups", nil, &list)
	for _, g := range list.Groups {
		if g.ServiceType != serviceType {
			continue
		}
		var doc struct {
			Options []struct {
				ID  uint64 `json:"id"`
				Key string `json:"provisioning_key"`
			} `json:"options"`
		}
		_, raw, err := f.call(admin, "GET", "/admin/groups/"+itoa(g.ID), nil, nil)
		if err != nil {
			f.t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			f.t.Fatal(err)
		}
		out := map[string]uint64{}
		for _, o := range doc.Options {
			out[o.Key] = o.ID
		}
		return out
	}
	f.t.Fatalf("no seeded %s group", serviceType)
	return nil
}

type quoteOut struct {
	Mode       string            `json:"mode"`
	Totals     map[string]string `json:"totals"`
	Unpriced   map[string]string `json:"unpriced"`
	HourlyRate string            `json:"hourly_rate"`
	MonthlyCap string            `json:"monthly_cap"`
	Lines      []struct {
		Option string            `json:"option"`
		Prices map[string]string `json:"prices"`
	} `json:"lines"`
}

var anonymous = hostapi.Principal{Kind: hostapi.Anonymous}

func (f *fixture) quote(body any) (quoteOut, error) {
	f.t.Helper()
	status, raw, err := f.call(anonymous, "POST", "/quote", body, nil)
	if err != nil {
		return quoteOut{}, err
	}
	var q quoteOut
	if status != 200 || json.Unmarshal(raw, &q) != nil {
		f.t.Fatalf("quote: %d %s", status, raw)
	}
	return q, nil
}

// Hand-worked from the spec's per-unit prices.
func TestPublicQuoteBuildYourOwn(t *testing.T) {
	f := setup(t)
	vps := f.seededOptions("vps")
	before := f.snapshot()
	tests := []struct {
		name       string
		choices    []map[string]any
		totals     map[string]string
		hourly     string
		monthlyCap string
	}{
		{
			// 4 x 2.00 + 8 x 1.00 + 100 x 0.05 = 21.00 a month; x3, x6, x12;
			// hourly 4 x 0.003 + 8 x 0.0015 + 100 x 0.0001 = 0.0340.
			"4 cores, 8 GB, 100 GB",
			[]map[string]any{{"option_id": vps["cpu_cores"], "quantity": 4}, {"option_id": vps["ram_gb"], "quantity": 8}, {"option_id": vps["disk_gb"], "quantity": 100}},
			map[string]string{"monthly": "21.00", "quarterly": "63.00", "semi_annual": "126.00", "annual": "252.00"}, "0.0340", "21.00",
		},
		{
			// 1 x 2.00 + 1 x 1.00 + 25 x 0.05 = 4.25; hourly 0.003 + 0.0015 + 0.0025 = 0.0070.
			"the smallest VPS",
			[]map[string]any{{"option_id": vps["cpu_cores"], "quantity": 1}, {"option_id": vps["ram_gb"], "quantity": 1}, {"option_id": vps["disk_gb"], "quantity": 25}},
			map[string]string{"monthly": "4.25", "quarterly": "12.75", "semi_annual": "25.50", "annual": "51.00"}, "0.0070", "4.25",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := f.quote(map[string]any{"service_type": "vps", "choices": tc.choices})
			if err != nil {
				t.Fatal(err)
			}
			for term, want := range tc.totals {
				if q.Totals[term] != want {
					t.Fatalf("%s total %s, want %s (%+v)", term, q.Totals[term], want, q)
				}
			}
			if q.HourlyRate != tc.hourly || q.MonthlyCap != tc.monthlyCap || q.Mode != "build_your_own" || len(q.Lines) != 3 {
				t.Fatalf("quote %+v", q)
			}
		})
	}
	if f.snapshot() != before {
		t.Fatal("a quote wrote to the module's tables")
	}
}

func TestPublicQuoteRefusals(t *testing.T) {
	f := setup(t)
	vps := f.seededOptions("vps")
	ok := []map[string]any{{"option_id": vps["cpu_cores"], "quantity": 4}, {"option_id": vps["ram_gb"], "quantity": 8}, {"option_id": vps["disk_gb"], "quantity": 100}}
	with := func(key string, q int64) []map[string]any {
		out := []map[string]any{}
		for _, c := range ok {
			if c["option_id"] == vps[key] {
				c = map[string]any{"option_id": vps[key], "quantity": q}
			}
			out = append(out, c)
		}
		return out
	}
	tests := []struct {
		name string
		body any
		code hostapi.Code
	}{
		{"SSD off the 25 GB step", map[string]any{"service_type": "vps", "choices": with("disk_gb", 110)}, hostapi.CodeInvalid},
		{"17 cores, over the maximum", map[string]any{"service_type": "vps", "choices": with("cpu_cores", 17)}, hostapi.CodeInvalid},
		{"a required option missing", map[string]any{"service_type": "vps", "choices": ok[:2]}, hostapi.CodeInvalid},
		{"an option of another group", map[string]any{"service_type": "vps", "choices": append(with("cpu_cores", 1), map[string]any{"option_id": 999999, "quantity": 1})}, hostapi.CodeInvalid},
		{"unknown service type", map[string]any{"service_type": "nas", "choices": ok}, hostapi.CodeNotFound},
		{"nothing to quote", map[string]any{"choices": ok}, hostapi.CodeInvalid},
		{"unknown field", map[string]any{"service_type": "vps", "choices": ok, "price": "0.01"}, hostapi.CodeInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.quote(tc.body)
			var he *hostapi.Error
			if !errors.As(err, &he) || he.Code != tc.code {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
		})
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// seededGroup seeds the BYO groups and returns the one of a service type,
// with its ids.
func (f *fixture) seededGroup(serviceType string) group {
	f.t.Helper()
	f.ok(200, "POST", "/admin/seed", nil, nil)
	for _, s := range f.list(nil) {
		if g := f.get(s.ID); g.ServiceType != nil && *g.ServiceType == serviceType {
			return g
		}
	}
	f.t.Fatalf("no seeded %s group", serviceType)
	return group{}
}

func (g group) optionID(t *testing.T, name string) uint64 {
	t.Helper()
	for _, o := range g.Options {
		if o.Name == name {
			return o.ID
		}
	}
	t.Fatalf("no option %q", name)
	return 0
}

func (g group) valueID(t *testing.T, option, label string) uint64 {
	t.Helper()
	for _, o := range g.Options {
		for _, v := range o.Values {
			if o.Name == option && v.Label == label {
				return v.ID
			}
		}
	}
	t.Fatalf("no value %q of %q", label, option)
	return 0
}

// The figures of a quote as JSON carries them: amounts with exactly 2
// decimals, hourly prices and rates with 4; an option without an hourly
// price adds nothing to the rate and shows none; the cap is the options'
// monthly total in both modes, never a preset's "0.00". Hand-worked from
// the seed's and gameExtras' prices.
func TestPublicQuoteFigures(t *testing.T) {
	f := setup(t)
	mysql := f.seededGroup("mysql")
	extras := f.create(gameExtras(f.seeded.ProductID))
	storage, conns, backups := mysql.optionID(t, "Storage"), mysql.optionID(t, "Connections"), mysql.optionID(t, "Daily backups")
	location, ram := extras.optionID(t, "Location"), extras.optionID(t, "Extra RAM")
	type line struct {
		prices map[string]string
		hourly string // "" = no hourly price shown
	}
	tests := []struct {
		name       string
		body       map[string]any
		totals     map[string]string
		unpriced   []string
		hourly     string // "" = left out
		monthlyCap string // "" = left out
		lines      []line
	}{
		{
			// 20 x 0.20 + 200 x 0.05 + 2.00 = 4.00 + 10.00 + 2.00 = 16.00 a month, x3, x6, x12;
			// hourly 20 x 0.0003 + 200 x 0.0001 + nothing for the backups (no hourly
			// price) = 0.0060 + 0.0200 = 0.0260, capped at 16.00 a month.
			name: "MySQL with daily backups",
			body: map[string]any{"service_type": "mysql", "choices": []map[string]any{{"option_id": storage, "quantity": 20},
				{"option_id": conns, "quantity": 200}, {"option_id": backups, "value_id": mysql.valueID(t, "Daily backups", "Daily backups")}}},
			totals: map[string]string{"monthly": "16.00", "quarterly": "48.00", "semi_annual": "96.00", "annual": "192.00"},
			hourly: "0.0260", monthlyCap: "16.00",
			lines: []line{
				{map[string]string{"monthly": "4.00", "quarterly": "12.00", "semi_annual": "24.00", "annual": "48.00"}, "0.0060"},
				{map[string]string{"monthly": "10.00", "quarterly": "30.00", "semi_annual": "60.00", "annual": "120.00"}, "0.0200"},
				{map[string]string{"monthly": "2.00", "quarterly": "6.00", "semi_annual": "12.00", "annual": "24.00"}, ""},
			},
		},
		{
			// Helsinki 1.00 + 4 GB x 2.00 = 9.00 a month, the cap; Helsinki has no
			// quarterly price, RAM no semi-annual nor annual one; hourly
			// 0.0015 + 4 x 0.0030 = 0.0015 + 0.0120 = 0.0135.
			name: "preset Helsinki and 4 GB",
			body: map[string]any{"product_id": f.seeded.ProductID, "choices": []map[string]any{
				{"option_id": location, "value_id": extras.valueID(t, "Location", "Helsinki")}, {"option_id": ram, "quantity": 4}}},
			totals: map[string]string{"monthly": "9.00"}, unpriced: []string{"annual", "quarterly", "semi_annual"},
			hourly: "0.0135", monthlyCap: "9.00",
			lines: []line{{map[string]string{"monthly": "1.00"}, "0.0015"}, {map[string]string{"monthly": "8.00"}, "0.0120"}},
		},
		{
			// Frankfurt (the default: 0.00 a month, no hourly nor quarterly
			// price) + 4 GB x 2.00 = 8.00 a month, the cap; hourly: nothing for
			// Frankfurt + 4 x 0.0030 = 0.0120 (not dropped for Frankfurt's sake).
			name:   "preset Frankfurt (no hourly price) and 4 GB",
			body:   map[string]any{"product_id": f.seeded.ProductID, "choices": []map[string]any{{"option_id": ram, "quantity": 4}}},
			totals: map[string]string{"monthly": "8.00"}, unpriced: []string{"annual", "quarterly", "semi_annual"},
			hourly: "0.0120", monthlyCap: "8.00",
			lines: []line{{map[string]string{"monthly": "0.00"}, ""}, {map[string]string{"monthly": "8.00"}, "0.0120"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, raw, err := f.call(anonymous, "POST", "/quote", tc.body, nil)
			if err != nil || status != 200 {
				t.Fatalf("quote: %d %s %v", status, raw, err)
			}
			var q struct {
				Totals     map[string]string `json:"totals"`
				Unpriced   map[string]string `json:"unpriced"`
				HourlyRate *string           `json:"hourly_rate"`
				MonthlyCap *string           `json:"monthly_cap"`
				Lines      []struct {
					Prices map[string]string `json:"prices"`
					Hourly *string           `json:"hourly"`
				} `json:"lines"`
			}
			if err := json.Unmarshal(raw, &q); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(q.Totals, tc.totals) {
				t.Errorf("totals %v, want %v", q.Totals, tc.totals)
			}
			if got := slices.Sorted(maps.Keys(q.Unpriced)); !slices.Equal(got, tc.unpriced) {
				t.Errorf("unpriced %v, want %v", got, tc.unpriced)
			}
			if got := deref(q.HourlyRate); got != tc.hourly {
				t.Errorf("hourly_rate %q, want %q (%s)", got, tc.hourly, raw)
			}
			if got := deref(q.MonthlyCap); got != tc.monthlyCap {
				t.Errorf("monthly_cap %q, want %q (%s)", got, tc.monthlyCap, raw)
			}
			if len(q.Lines) != len(tc.lines) {
				t.Fatalf("lines %s", raw)
			}
			for i, want := range tc.lines {
				if !reflect.DeepEqual(q.Lines[i].Prices, want.prices) || deref(q.Lines[i].Hourly) != want.hourly {
					t.Errorf("line %d: %v hourly %q, want %v hourly %q", i, q.Lines[i].Prices, deref(q.Lines[i].Hourly), want.prices, want.hourly)
				}
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Every failing option is named in one answer, across the plugin boundary:
// the first option is the error's field, the message names each.
func TestPublicQuoteNamesEveryFailingOption(t *testing.T) {
	f := setup(t)
	vps := f.seededOptions("vps")
	tests := []struct {
		name    string
		choices []map[string]any
		field   string
		message string
	}{
		{"RAM and SSD missing", []map[string]any{{"option_id": vps["cpu_cores"], "quantity": 4}}, optField(vps["ram_gb"]),
			optField(vps["ram_gb"]) + `: option "RAM" is required; ` + optField(vps["disk_gb"]) + `: option "SSD storage" is required`},
		{"nothing sent", nil, optField(vps["cpu_cores"]),
			optField(vps["cpu_cores"]) + `: option "CPU cores" is required; ` + optField(vps["ram_gb"]) + `: option "RAM" is required; ` +
				optField(vps["disk_gb"]) + `: option "SSD storage" is required`},
		{"17 cores and SSD off its step, RAM missing", []map[string]any{{"option_id": vps["disk_gb"], "quantity": 110}, {"option_id": vps["cpu_cores"], "quantity": 17}},
			optField(vps["cpu_cores"]),
			optField(vps["cpu_cores"]) + `: option "CPU cores": 17 is above the maximum 16; ` + optField(vps["ram_gb"]) + `: option "RAM" is required; ` +
				optField(vps["disk_gb"]) + `: option "SSD storage": 110 is not on the steps of 25 from 25 (100 or 125 would be)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.quote(map[string]any{"service_type": "vps", "choices": tc.choices})
			var he *hostapi.Error
			if !errors.As(err, &he) || he.Code != hostapi.CodeInvalid || he.Field != tc.field || err.Error() != tc.message {
				t.Fatalf("got %v (%#v)\nwant %s: %s", err, he, tc.field, tc.message)
			}
		})
	}
}

func optField(id uint64) string { return "options." + itoa(id) }
