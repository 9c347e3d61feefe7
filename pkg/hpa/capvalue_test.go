package hpa

import (
	"fmt"
	"math"
	"testing"
)

// replicasUnder is the from-zero AverageValue proposal when KEDA converts both
// value and target with conv.
func replicasUnder(conv func(float64) int64, v, target float64) int32 {
	return AverageValueReplicas(conv(v), conv(target), 0, DefaultTolerances)
}

// TestCapValueLandsOnN checks, for awkward targets, that the cap proposes
// exactly n replicas under truncating KEDA and never more than n under
// rounding KEDA, that it is n*target in the HPA's milli units, and that it is
// the largest such value: the next float64 up exceeds n under one of them.
func TestCapValueLandsOnN(t *testing.T) {
	targets := []float64{0.3, 2.867, 1e-3, 7, 10, 1000.5, 1.001, 2.15, 0.1, 0.29, 1e6}
	ns := []int{1, 2, 3, 7, 10, 11, 100, 1000, 12345, 1 << 20}
	for _, target := range targets {
		for _, n := range ns {
			t.Run(fmt.Sprintf("n=%d/target=%v", n, target), func(t *testing.T) {
				v := CapValue(n, target)
				if math.IsInf(v, 0) || math.IsNaN(v) {
					t.Fatalf("CapValue(%d, %v) = %v, want finite", n, target, v)
				}
				if got, want := Milli(v), int64(n)*Milli(target); got != want {
					t.Errorf("Milli(CapValue) = %d, want n*Milli(target) = %d", got, want)
				}
				if got := replicasUnder(Milli, v, target); got != int32(n) {
					t.Errorf("truncating: replicas at cap %v = %d, want %d", v, got, n)
				}
				rounded := replicasUnder(MilliRounded, v, target)
				if rounded > int32(n) {
					t.Errorf("rounding: replicas at cap %v = %d, want at most %d", v, rounded, n)
				}
				if Milli(target) == MilliRounded(target) && rounded != int32(n) {
					t.Errorf("rounding, same target: replicas at cap %v = %d, want %d", v, rounded, n)
				}
				up := math.Nextafter(v, math.Inf(1))
				if replicasUnder(Milli, up, target) <= int32(n) && replicasUnder(MilliRounded, up, target) <= int32(n) {
					t.Errorf("CapValue(%d, %v) = %v is not the largest: %v still proposes at most %d", n, target, v, up, n)
				}
				if got := replicasUnder(Milli, v+0.001, target); got != int32(n)+1 {
					t.Errorf("truncating: replicas one milli above cap = %d, want %d", got, n+1)
				}
			})
		}
	}
}

func TestCapValue(t *testing.T) {
	cases := []struct {
		name   string
		n      int
		target float64
		want   float64 // checked exactly
	}{
		{name: "n 0 is idle", n: 0, target: 10, want: 0},
		{name: "negative n is idle", n: -3, target: 10, want: 0},
		{name: "target below half a milli: no cap", n: 10, target: 0.0004, want: math.Inf(1)},
		{name: "zero target: no cap", n: 10, target: 0, want: math.Inf(1)},
		{name: "negative target: no cap", n: 10, target: -1, want: math.Inf(1)},
		{name: "NaN target: no cap", n: 10, target: math.NaN(), want: math.Inf(1)},
		{name: "+Inf target: no cap", n: 10, target: math.Inf(1), want: math.Inf(1)},
		{name: "n at MaxInt32: HPA clamps anyway", n: math.MaxInt32, target: 1, want: math.Inf(1)},
		// Truncating: Milli(MaxFloat64) is MaxInt64 ~ 9.2e18m, /1e18m = 9.2 -> 10.
		// Rounding: MilliRounded saturates the same way.
		{name: "target so large no value exceeds n", n: 10, target: 1e15, want: math.Inf(1)},
		// Stops below the rounding boundary, not at the truncation one.
		{name: "largest value below 100.0005", n: 10, target: 10, want: 100.00049999999999},
		{name: "the rounding boundary itself is out", n: 10, target: 10, want: math.Nextafter(100.0005, 0)},
		// 0.0007 truncates to 0 (an HPA old KEDA could not create) but rounds
		// to 1m, so only the rounding conversion applies: 2m rounds from < 0.0025.
		{name: "target valid only when rounded", n: 2, target: 0.0007, want: math.Nextafter(0.0025, 0)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := CapValue(tc.n, tc.target); got != tc.want {
				t.Errorf("CapValue(%d, %v) = %v, want %v", tc.n, tc.target, got, tc.want)
			}
		})
	}
	t.Run("target so large one value still exceeds n-1", func(t *testing.T) {
		v := CapValue(9, 1e15)
		if math.IsInf(v, 0) {
			t.Fatalf("CapValue(9, 1e15) = +Inf, want finite")
		}
		if got := replicasUnder(Milli, v, 1e15); got != 9 {
			t.Errorf("replicas at cap = %d, want 9", got)
		}
	})
}

// TestCapValueKEDAOffByOne is the case that motivates CapValue: a Kafka topic
// with 10 partitions cannot use an 11th consumer, but capping the lag at
// partitions*target is not what the HPA sees.
func TestCapValueKEDAOffByOne(t *testing.T) {
	const partitions, target = 10, 10.0
	cases := []struct {
		name   string
		lag    float64
		status int32
		want   int32
	}{
		{name: "uncapped 105 would ask for 11", lag: 105, status: 0, want: 10},
		{name: "uncapped 105 from 3 replicas", lag: 105, status: 3, want: 10},
		{name: "far above the cap", lag: 1e9, status: 1, want: 10},
		{name: "just above the cap", lag: 100.0009, status: 0, want: 10},
		{name: "below the cap is untouched", lag: 95, status: 0, want: 10},
		{name: "well below the cap", lag: 31, status: 0, want: 4},
	}
	for _, tc := range cases {
		for _, conv := range []struct {
			name string
			f    func(float64) int64
		}{{"truncating", Milli}, {"rounding", MilliRounded}} {
			t.Run(tc.name+"/"+conv.name, func(t *testing.T) {
				capped := min(tc.lag, CapValue(partitions, target))
				got := AverageValueReplicas(conv.f(capped), conv.f(target), tc.status, DefaultTolerances)
				if got != tc.want {
					t.Errorf("replicas for lag %v capped to %v = %d, want %d", tc.lag, capped, got, tc.want)
				}
			})
		}
	}
	if got := replicasUnder(Milli, 105, target); got != 11 {
		t.Errorf("uncapped lag 105 = %d replicas, want 11 (the off-by-one CapValue prevents)", got)
	}
	// Why the cap is not the largest value under truncation alone.
	if got := replicasUnder(MilliRounded, 100.00099999999999, target); got != 11 {
		t.Errorf("rounding KEDA at the truncation-only cap = %d replicas, want 11", got)
	}
}
