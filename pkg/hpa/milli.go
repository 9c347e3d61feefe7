package hpa

import (
	"math"
	"strconv"
	"strings"
)

// Milli converts a metric value or target to the milli-units the HPA computes in.
//
// KEDA sends values as resource.NewMilliQuantity(int64(v*1000), DecimalSI), and
// builds targets the same way; the HPA then reads them back with MilliValue().
// The conversion truncates toward zero after a float64 multiply, so values that
// look exact in decimal can lose a milli: 1.001*1000 is 1000.9999999999999 and
// becomes 1000, not 1001. Callers must therefore compare in milli units, never
// by multiplying the decimal value themselves.
//
// KEDA releases that include kedacore/keda#7534 (merged March 2026) convert
// with fmt.Sprintf("%.3f", v) instead, which rounds; see MilliRounded. Code
// that must hold whichever KEDA is installed checks both, as CapValue does.
//
// Go leaves float-to-int conversion of NaN and out-of-range values
// implementation-defined, so those are pinned here: NaN is 0 and anything
// beyond int64 saturates (arm64 behaves so; amd64 KEDA would send MinInt64).
// No sane metric reaches 9.2e15.
func Milli(v float64) int64 {
	x := v * 1000
	switch {
	case math.IsNaN(x):
		return 0
	case x >= math.MaxInt64: // float64(MaxInt64) is 2^63, itself out of range
		return math.MaxInt64
	case x <= math.MinInt64: // -2^63 is representable and in range
		return math.MinInt64
	}
	return int64(x)
}

// MilliRounded is Milli for KEDA releases with kedacore/keda#7534, which build
// values and targets as resource.MustParse(fmt.Sprintf("%.3f", v)) and send
// NaN and ±Inf as 0.
//
// %.3f rounds the exact binary value to the nearest milli, ties to even, so
// 1.001 becomes 1001 (Milli gives 1000) and 0.0625 becomes 62. The HPA's
// MilliValue() of a three-decimal quantity is exact. Beyond int64 the
// quantity no longer fits MilliValue(), which wraps silently; that is pinned
// here as saturation.
func MilliRounded(v float64) int64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	// strconv's 'f' with precision 3 is exactly what fmt's %.3f calls.
	s := strconv.FormatFloat(v, 'f', 3, 64)
	// ParseInt's only possible error on this input is ErrRange, for which it
	// already returns the saturated bound.
	m, _ := strconv.ParseInt(strings.Replace(s, ".", "", 1), 10, 64)
	return m
}
