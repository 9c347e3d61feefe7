package hpa

import (
	"math"
	"testing"
)

func TestMilli(t *testing.T) {
	cases := []struct {
		name string
		v    float64
		want int64
	}{
		{name: "zero", v: 0, want: 0},
		{name: "integer", v: 7, want: 7000},
		{name: "exact decimal", v: 8.6, want: 8600},
		{name: "upstream target", v: 2.867, want: 2867},
		{name: "one milli", v: 0.001, want: 1},
		{name: "below one milli truncates to zero", v: 0.0009, want: 0},
		// 1.001*1000 is 1000.9999999999999 in float64: KEDA loses a milli.
		{name: "decimal that loses a milli", v: 1.001, want: 1000},
		{name: "another lossy decimal", v: 2.002, want: 2001},
		{name: "truncates, does not round", v: 1.9999, want: 1999},
		{name: "negative truncates toward zero", v: -1.5005, want: -1500},
		{name: "NaN pinned to zero", v: math.NaN(), want: 0},
		{name: "+Inf saturates", v: math.Inf(1), want: math.MaxInt64},
		{name: "-Inf saturates", v: math.Inf(-1), want: math.MinInt64},
		{name: "2^63 milli saturates", v: 9.223372036854775807e15, want: math.MaxInt64},
		{name: "largest in range", v: math.Nextafter(9.223372036854775807e15, 0), want: int64(math.Nextafter(9.223372036854775807e15, 0) * 1000)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Milli(tc.v); got != tc.want {
				t.Errorf("Milli(%v) = %d, want %d", tc.v, got, tc.want)
			}
		})
	}
}

// TestMilliMatchesKEDAInRange pins that, wherever Go's conversion is defined,
// Milli is exactly KEDA's int64(v*1000).
func TestMilliMatchesKEDAInRange(t *testing.T) {
	for k := int64(-5000); k <= 5000; k++ {
		v := float64(k) / 1000
		if got, want := Milli(v), int64(v*1000); got != want {
			t.Fatalf("Milli(%v) = %d, want %d", v, got, want)
		}
	}
}

func TestMilliRounded(t *testing.T) {
	cases := []struct {
		name string
		v    float64
		want int64
	}{
		{name: "zero", v: 0, want: 0},
		{name: "negative zero", v: math.Copysign(0, -1), want: 0},
		{name: "integer", v: 7, want: 7000},
		{name: "exact decimal", v: 8.6, want: 8600},
		{name: "decimal truncation loses a milli of", v: 1.001, want: 1001},
		{name: "rounds up past half", v: 1.9996, want: 2000},
		{name: "rounds down below half", v: 1.9994, want: 1999},
		// 0.0005 is a little above half a milli in binary.
		{name: "binary just above half", v: 0.0005, want: 1},
		{name: "below half a milli", v: 0.0004, want: 0},
		// 0.0625 is exact in binary: a true tie, broken to even.
		{name: "exact tie to even down", v: 0.0625, want: 62},
		{name: "exact tie to even up", v: 0.1875, want: 188},
		{name: "negative rounds by magnitude", v: -1.9996, want: -2000},
		{name: "largest cap under truncation rounds up", v: 100.00099999999999, want: 100001},
		{name: "NaN is 0", v: math.NaN(), want: 0},
		{name: "+Inf is 0", v: math.Inf(1), want: 0},
		{name: "-Inf is 0", v: math.Inf(-1), want: 0},
		{name: "beyond int64 saturates", v: 1e17, want: math.MaxInt64},
		{name: "below int64 saturates", v: -1e17, want: math.MinInt64},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := MilliRounded(tc.v); got != tc.want {
				t.Errorf("MilliRounded(%v) = %d, want %d", tc.v, got, tc.want)
			}
		})
	}
}

// TestMilliRoundedMatchesDecimals pins that every value written with three
// decimals survives the rounding conversion, which truncation does not.
func TestMilliRoundedMatchesDecimals(t *testing.T) {
	for k := int64(-5000); k <= 5000; k++ {
		if got := MilliRounded(float64(k) / 1000); got != k {
			t.Fatalf("MilliRounded(%v) = %d, want %d", float64(k)/1000, got, k)
		}
	}
}
