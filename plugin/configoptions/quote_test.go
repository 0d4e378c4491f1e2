package configoptions_test

import (
	"encoding/json"
	"errors"
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
