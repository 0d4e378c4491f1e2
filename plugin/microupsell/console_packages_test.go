package microupsell

import (
	"encoding/json"
	"errors"
	"net/url"
	"testing"

	"github.com/upsell-io/upsell/hostapi"
)

// TestPackageFormAmounts: the amount an admin types in the resource's unit
// becomes the package's amount in the resource's own unit, or is refused
// by field before the package rules see it.
func TestPackageFormAmounts(t *testing.T) {
	tests := []struct {
		name, resource, amount string
		want                   int64
		refused                bool
	}{
		{"1 GB memory is 1024 MiB", "memory_mib", "1", 1024, false},
		{"1.5 GB memory is 1536 MiB", "memory_mib", "1.5", 1536, false},
		{"0.25 GB disk is 256 MiB", "disk_mib", "0.25", 256, false},
		{"50 % CPU is 50", "cpu_percent", "50", 50, false},
		{"2 ports are 2", "ports", "2", 2, false},
		{"1.0001 GB is 1024.1024 MiB: no whole MiB", "memory_mib", "1.0001", 0, true},
		{"half a port", "ports", "0.5", 0, true},
		{"a word", "memory_mib", "lots", 0, true},
		{"an exponent", "memory_mib", "1e3", 0, true},
		{"zero", "memory_mib", "0", 0, true},
		{"negative", "ports", "-1", 0, true},
		{"1048577 GB is more than 2^30 MiB", "memory_mib", "1048577", 0, true},
		{"empty", "memory_mib", "", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"name": {"x"}, "resource": {tc.resource}, "amount": {tc.amount}, "price_EUR": {"1.00"}}
			_, body, errs := readPackageForm(form, panelEURUSD)
			if tc.refused {
				if errs.Of(fieldAmount) == "" {
					t.Fatalf("accepted %q", tc.amount)
				}
				return
			}
			var in packageInput
			if err := json.Unmarshal(body, &in); err != nil {
				t.Fatal(err)
			}
			if len(errs.List) > 0 || in.Amount == nil || *in.Amount != tc.want {
				t.Fatalf("amount %v, refusals %v; want %d", in.Amount, errs.List, tc.want)
			}
		})
	}
}

// TestPackageRulesRefuseEveryFieldAtOnce: the form's refusals and the
// package rules' all reach the admin in one answer, each by its field.
func TestPackageRulesRefuseEveryFieldAtOnce(t *testing.T) {
	form := url.Values{"name": {" "}, "resource": {"memory_mib"}, "amount": {"2"}, "price_EUR": {"1.005"}, "price_USD": {"-1"},
		"price_GBP": {"1.00"}, "max_per_service": {"-3"}, "sort": {"first"}}
	_, body, errs := readPackageForm(form, panelEURUSD)
	if errs.Of(fieldSort) == "" || len(errs.List) != 1 {
		t.Fatalf("form refusals %v, want the sort only", errs.List)
	}
	var in packageInput
	if err := hostapi.DecodeJSON(body, &in); err != nil {
		t.Fatal(err)
	}
	_, err := in.apply(Package{Active: true}, panelEURUSD)
	refused, ok := refusals(err)
	if !ok {
		t.Fatalf("not a refusal: %v", err)
	}
	var fields []string
	for _, e := range refused {
		fields = append(fields, fieldOfAPI(e.Field))
	}
	want := []string{"name", "price_EUR", "price_GBP", "price_USD", "max_per_service"}
	if len(fields) != len(want) {
		t.Fatalf("refused %v, want %v", fields, want)
	}
	for i := range want {
		if fields[i] != want[i] {
			t.Fatalf("refused %v, want %v", fields, want)
		}
	}
	if !errors.Is(err, hostapi.ErrInvalid) {
		t.Fatalf("%v is not invalid", err)
	}
}
