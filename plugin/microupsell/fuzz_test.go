package microupsell

import (
	"errors"
	"testing"

	"github.com/upsell-io/upsell/hostapi"
)

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
		if err := decodeStrict(body, &buy); err != nil && !errors.Is(err, hostapi.ErrInvalid) {
			t.Fatalf("buy body: untyped error %v", err)
		}
		var in packageInput
		if err := decodeStrict(body, &in); err != nil {
			if !errors.Is(err, hostapi.ErrInvalid) {
				t.Fatalf("package body: untyped error %v", err)
			}
			return
		}
		p, err := in.apply(Package{Active: true})
		if err != nil {
			if !errors.Is(err, hostapi.ErrInvalid) {
				t.Fatalf("package rules: untyped error %v", err)
			}
			return
		}
		if p.Name == "" || !sellable[p.Resource] || p.Amount < 1 || len(p.MonthlyPrices) == 0 {
			t.Fatalf("accepted an invalid package %+v", p)
		}
		for cur, d := range p.MonthlyPrices {
			if d.IsNegative() || !d.Equal(d.Round(2)) || len(cur) != 3 {
				t.Fatalf("accepted price %s %s", cur, d)
			}
		}
	})
}
