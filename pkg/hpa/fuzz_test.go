package hpa

import (
	"math"
	"testing"
)

// FuzzAverageValueReplicas checks that the proposal never panics, is never
// negative, and that a value at or below CapValue(n, target) never asks the
// HPA for more than n replicas once it recomputes (from zero, or outside the
// tolerance band), whichever KEDA conversion is in use.
func FuzzAverageValueReplicas(f *testing.F) {
	f.Add(int64(8600), 2.15, int32(3), 10, 0.1, 0.1)
	f.Add(int64(105000), 10.0, int32(0), 10, 0.1, 0.1)
	f.Add(int64(0), 1.0, int32(0), 1, 0.0, 0.0)
	f.Add(int64(-1), 0.3, int32(5), 3, 0.5, 0.0)
	f.Add(int64(math.MaxInt64), 1e-3, int32(math.MaxInt32), math.MaxInt32, 1.0, 1e300)
	f.Add(int64(1), 1.001, int32(-4), 0, math.NaN(), math.Inf(1))
	f.Add(int64(2500), 0.0007, int32(2), 2, 0.1, 0.1)
	f.Fuzz(func(t *testing.T, usage int64, target float64, status int32, n int, down, up float64) {
		tol := Tolerances{ScaleDown: down, ScaleUp: up}

		if got := AverageValueReplicas(usage, Milli(target), status, tol); got < 0 {
			t.Fatalf("AverageValueReplicas(%d, %d, %d, %+v) = %d < 0", usage, Milli(target), status, tol, got)
		}
		if n <= 0 || n >= math.MaxInt32 {
			return
		}
		capV := CapValue(n, target)
		if math.IsNaN(capV) || capV < 0 {
			t.Fatalf("CapValue(%d, %v) = %v", n, target, capV)
		}
		exceeds := false // whether the next float64 above the cap exceeds n somewhere
		for _, conv := range conversions {
			tm := conv(target)
			if tm <= 0 {
				continue
			}
			capM := conv(capV)
			// Fold the fuzzed usage into [0, capM] so the property is always exercised.
			u := usage
			if u < 0 || u > capM {
				u = capM
				if usage != math.MinInt64 && capM < math.MaxInt64 {
					u = abs(usage) % (capM + 1)
				}
			}
			if r := AverageValueReplicas(u, tm, 0, tol); int(r) > n {
				t.Fatalf("from zero: usage %d <= cap %d (n=%d, target %dm) gave %d replicas", u, capM, n, tm, r)
			}
			if r := AverageValueReplicas(u, tm, status, tol); r != nonNegative(status) && int(r) > n {
				t.Fatalf("status %d: usage %d <= cap %d (n=%d, target %dm) gave %d replicas", status, u, capM, n, tm, r)
			}
			if !math.IsInf(capV, 1) {
				next := math.Nextafter(capV, math.Inf(1))
				exceeds = exceeds || int(AverageValueReplicas(conv(next), tm, 0, DefaultTolerances)) > n
			}
		}
		if !math.IsInf(capV, 1) && !exceeds {
			t.Fatalf("CapValue(%d, %v) = %v is not the largest value within %d replicas", n, target, capV, n)
		}
	})
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
