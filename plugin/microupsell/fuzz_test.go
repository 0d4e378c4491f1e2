package microupsell

import (
	"errors"
	"testing"

	"github.com/upsell-io/upsell/hostapi"
)

var fuzzSettings = hostapi.PanelSettings{DefaultCurrency: "EUR", Currencies: []string{"EUR", "USD"}}

// FuzzClientDecoders: the buy body and the package body decode strictly;
// whatever a client sends, the result is a typed invalid error or a value
// that passed every rule, and nothing panics.
func FuzzClientDecoders(f *testing.F) {
	f.Add([]byte(`{"package_id":1}`))
	f.Add([]byte(`{"package_id":1,"due_today":"0.01"}`))
	f.Add([]byte(`{"name":"+1 GB","resource":"memory_mib","amount":1024,"monthly_prices":{"EUR":"2.00"}}`))
	f.Add([]byte(`{"monthly_prices":{"EUR":"1e3"}}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var buy buyRequest
		if err := hostapi.DecodeJSON(body, &buy); err != nil && !errors.Is(err, hostapi.ErrInvalid) {
			t.Fatalf("buy body: untyped error %v", err)
		}
		var in packageInput
		if err := hostapi.DecodeJSON(body, &in); err != nil {
			if !errors.Is(err, hostapi.ErrInvalid) {
				t.Fatalf("package body: untyped error %v", err)
			}
			return
		}
		p, err := in.apply(Package{Active: true}, fuzzSettings)
		if err != nil {
			if !errors.Is(err, hostapi.ErrInvalid) {
				t.Fatalf("package rules: untyped error %v", err)
			}
			return
		}
		if p.Name == "" || hostapi.CheckText("name", p.Name, maxNameChars, false) != nil || !sellable[p.Resource] || p.Amount < 1 ||
			len(p.MonthlyPrices) == 0 || p.Sort < minSort || p.Sort > maxSort || int64(p.MaxPerService) > maxPerService {
			t.Fatalf("accepted an invalid package %+v", p)
		}
		for cur, d := range p.MonthlyPrices {
			if d.IsNegative() || !d.Equal(d.Round(2)) || !fuzzSettings.HasCurrency(cur) {
				t.Fatalf("accepted price %s %s", cur, d)
			}
		}
	})
}
