package money

import (
	"testing"

	"github.com/shopspring/decimal"
)

func TestRound(t *testing.T) {
	tests := map[string]string{
		"0.125": "0.13", "0.124999": "0.12", "0.005": "0.01", "0.0049": "0", "2.675": "2.68",
		"-0.125": "-0.13", "10": "10", "1.999": "2", "3.2258064516": "3.23",
	}
	for in, want := range tests {
		got := Round(decimal.RequireFromString(in))
		if !got.Equal(decimal.RequireFromString(want)) {
			t.Errorf("Round(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	for _, ok := range []string{"0", "1.5", "12.34", "-3.10"} {
		if _, err := Parse(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"1.234", "abc", "", "1e-3"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if Format(decimal.RequireFromString("2")) != "2.00" {
		t.Error("Format")
	}
}
