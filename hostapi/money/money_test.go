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
	for _, ok := range []string{"0", "1.5", "12.34", "-3.10", "1.500", "999999999999999.99"} {
		if _, err := Parse(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	if Format(decimal.RequireFromString("2")) != "2.00" {
		t.Error("Format")
	}
}

func TestParseScaleRefuses(t *testing.T) {
	tests := []struct {
		name, in string
		places   int32
	}{
		{"three places for cents", "1.005", 2},
		{"five places for hourly", "0.00015", 4},
		{"exponent", "1e3", 2},
		{"negative exponent", "1e-3", 2},
		{"plus sign", "+1.00", 2},
		{"leading point", ".5", 2},
		{"trailing point", "5.", 2},
		{"space", " 5", 2},
		{"thousands separator", "1,000.00", 2},
		{"empty", "", 2},
		{"word", "abc", 2},
		{"hex", "0x10", 2},
		{"NaN", "NaN", 2},
		{"16 integer digits do not fit DECIMAL(17,2)", "1000000000000000", 2},
		{"14 integer digits do not fit DECIMAL(17,4)", "10000000000000", 4},
		{"negative out of range", "-1000000000000000.00", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d, err := ParseScale(tc.in, tc.places); err == nil {
				t.Fatalf("ParseScale(%q, %d) = %s, want an error", tc.in, tc.places, d)
			}
		})
	}
}
