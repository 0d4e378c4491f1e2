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

// Each name is the hand-worked arithmetic: the exact percentage comes off,
// and only the rest is rounded (half-up), once.
func TestLessPercent(t *testing.T) {
	for _, tc := range []struct {
		name, total, percent, want string
	}{
		{"154.45 - 15.445 = 139.005 -> 139.01 (discount rounded first: 139.00)", "154.45", "10", "139.01"},
		{"17.95 - 1.795 = 16.155 -> 16.16 (discount rounded first: 16.15)", "17.95", "10", "16.16"},
		{"0.25 - 0.125 = 0.125 -> 0.13 (discount rounded first: 0.12)", "0.25", "50", "0.13"},
		{"2.02 - 0.2525 = 1.7675 -> 1.77", "2.02", "12.5", "1.77"},
		{"12.34 - 1.851 = 10.489 -> 10.49", "12.34", "15", "10.49"},
		{"21.00 - 2.10 = 18.90, exact", "21.00", "10", "18.90"},
		{"0 % takes nothing", "21.00", "0", "21.00"},
		{"100 % takes all", "21.00", "100", "0"},
		{"150 % takes all, never more", "21.00", "150", "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := LessPercent(decimal.RequireFromString(tc.total), decimal.RequireFromString(tc.percent))
			if !got.Equal(decimal.RequireFromString(tc.want)) {
				t.Errorf("LessPercent(%s, %s) = %s, want %s", tc.total, tc.percent, got, tc.want)
			}
		})
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
