package hpa

import (
	"math"
	"testing"
)

func TestAverageValueReplicas(t *testing.T) {
	cases := []struct {
		name   string
		usage  int64 // milli
		target int64 // milli
		status int32
		tol    Tolerances
		want   int32
	}{
		// Upstream test vectors (replica_calculator_test.go).
		{name: "upstream: scale up", usage: Milli(8.6), target: Milli(2.15), status: 3, tol: DefaultTolerances, want: 4},
		{name: "upstream: scale down", usage: Milli(8.6), target: Milli(2.867), status: 5, tol: DefaultTolerances, want: 3},
		{name: "upstream: ratio 0.9885 within tolerance", usage: Milli(8.6), target: Milli(2.9), status: 3, tol: DefaultTolerances, want: 3},

		// The tolerance band is inclusive at both ends.
		{name: "ratio exactly 1.1 does not scale", usage: 22000, target: 1000, status: 20, tol: DefaultTolerances, want: 20},
		{name: "ratio just above 1.1 scales", usage: 22001, target: 1000, status: 20, tol: DefaultTolerances, want: 23},
		{name: "ratio exactly 0.9 does not scale", usage: 9000, target: 1000, status: 10, tol: DefaultTolerances, want: 10},
		{name: "ratio just below 0.9 scales", usage: 8999, target: 1000, status: 10, tol: DefaultTolerances, want: 9},

		// The trap: publishing "desired replicas" with target 1 cannot add the
		// eleventh replica under the default tolerance.
		{name: "trap: desired 11 at 10 stays 10", usage: Milli(11), target: Milli(1), status: 10, tol: DefaultTolerances, want: 10},
		{name: "trap: desired 11 at 10 with scaleUp 0", usage: Milli(11), target: Milli(1), status: 10, tol: Tolerances{ScaleDown: 0.1, ScaleUp: 0}, want: 11},
		{name: "trap: desired 9 at 10 stays 10", usage: Milli(9), target: Milli(1), status: 10, tol: DefaultTolerances, want: 10},
		{name: "trap: desired 9 at 10 with scaleDown 0", usage: Milli(9), target: Milli(1), status: 10, tol: Tolerances{ScaleDown: 0, ScaleUp: 0.1}, want: 9},

		// KEP-4951: each direction has its own tolerance.
		{name: "wide down: 0.6 stays", usage: 6000, target: 1000, status: 10, tol: Tolerances{ScaleDown: 0.5, ScaleUp: 0}, want: 10},
		{name: "wide down: 0.4 scales", usage: 4000, target: 1000, status: 10, tol: Tolerances{ScaleDown: 0.5, ScaleUp: 0}, want: 4},
		{name: "zero up: 1.0001 scales", usage: 10001, target: 1000, status: 10, tol: Tolerances{ScaleDown: 0.5, ScaleUp: 0}, want: 11},
		{name: "wide up: 1.4 stays", usage: 14000, target: 1000, status: 10, tol: Tolerances{ScaleDown: 0, ScaleUp: 0.5}, want: 10},
		{name: "wide up: 1.6 scales", usage: 16000, target: 1000, status: 10, tol: Tolerances{ScaleDown: 0, ScaleUp: 0.5}, want: 16},
		{name: "zero down: 0.9 scales", usage: 9000, target: 1000, status: 10, tol: Tolerances{ScaleDown: 0, ScaleUp: 0.5}, want: 9},

		// From zero status replicas the ratio is +Inf (or NaN for 0/0).
		{name: "from zero: one milli", usage: 1, target: 1000, status: 0, tol: DefaultTolerances, want: 1},
		{name: "from zero: ceil", usage: Milli(8.6), target: Milli(2.15), status: 0, tol: DefaultTolerances, want: 4},
		{name: "from zero: huge tolerance still scales", usage: 5000, target: 1000, status: 0, tol: Tolerances{ScaleDown: 1, ScaleUp: 1e300}, want: 5},
		{name: "from zero: usage 0 gives 0", usage: 0, target: 1000, status: 0, tol: DefaultTolerances, want: 0},
		{name: "usage 0 from 5 gives 0", usage: 0, target: 1000, status: 5, tol: DefaultTolerances, want: 0},

		// Guards.
		{name: "target 0 keeps current", usage: 5000, target: 0, status: 3, tol: DefaultTolerances, want: 3},
		{name: "negative target keeps current", usage: 5000, target: -1000, status: 3, tol: DefaultTolerances, want: 3},
		{name: "negative usage is read as overflow", usage: -1, target: 1000, status: 3, tol: DefaultTolerances, want: math.MaxInt32},
		{name: "huge usage clamps to MaxInt32", usage: math.MaxInt64, target: 1, status: 3, tol: DefaultTolerances, want: math.MaxInt32},
		{name: "just under MaxInt32", usage: (math.MaxInt32 - 1) * 1000, target: 1000, status: 1, tol: DefaultTolerances, want: math.MaxInt32 - 1},
		{name: "target*replicas beyond int64 does not overflow", usage: math.MaxInt64 / 2, target: math.MaxInt64 / 4, status: 4, tol: DefaultTolerances, want: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := AverageValueReplicas(tc.usage, tc.target, tc.status, tc.tol); got != tc.want {
				t.Errorf("AverageValueReplicas(%d, %d, %d, %+v) = %d, want %d",
					tc.usage, tc.target, tc.status, tc.tol, got, tc.want)
			}
		})
	}
}

func TestValueReplicas(t *testing.T) {
	cases := []struct {
		name    string
		usage   int64 // milli
		target  int64 // milli
		current int32
		ready   int32
		tol     Tolerances
		want    int32
	}{
		// Upstream test vectors (replica_calculator_test.go).
		{name: "upstream: scale up", usage: Milli(8.6), target: Milli(4.4), current: 1, ready: 1, tol: DefaultTolerances, want: 2},
		{name: "upstream: scale up counts ready pods only", usage: Milli(8.6), target: Milli(4.4), current: 3, ready: 1, tol: DefaultTolerances, want: 2},
		{name: "upstream: scale down", usage: Milli(8.6), target: Milli(14.334), current: 5, ready: 5, tol: DefaultTolerances, want: 3},
		{name: "upstream: within tolerance", usage: Milli(8.6), target: Milli(8.888), current: 3, ready: 3, tol: DefaultTolerances, want: 3},

		// Tolerance edges, on the whole-workload ratio.
		{name: "ratio exactly 1.1 does not scale", usage: 1100, target: 1000, current: 4, ready: 4, tol: DefaultTolerances, want: 4},
		{name: "ratio 1.1 with scaleUp 0", usage: 1100, target: 1000, current: 4, ready: 4, tol: Tolerances{ScaleDown: 0.1}, want: 5},
		{name: "ratio exactly 0.9 does not scale", usage: 900, target: 1000, current: 10, ready: 10, tol: DefaultTolerances, want: 10},
		{name: "ratio 0.9 with scaleDown 0", usage: 900, target: 1000, current: 10, ready: 10, tol: Tolerances{ScaleUp: 0.1}, want: 9},
		{name: "wide down: 0.6 stays", usage: 600, target: 1000, current: 10, ready: 10, tol: Tolerances{ScaleDown: 0.5, ScaleUp: 0.1}, want: 10},
		{name: "wide up: 1.4 stays", usage: 1400, target: 1000, current: 10, ready: 10, tol: Tolerances{ScaleDown: 0.1, ScaleUp: 0.5}, want: 10},
		{name: "wide up: 1.6 scales", usage: 1600, target: 1000, current: 10, ready: 10, tol: Tolerances{ScaleDown: 0.1, ScaleUp: 0.5}, want: 16},

		// From zero: no tolerance, no ready pods.
		{name: "from zero: ceil(ratio)", usage: Milli(8.6), target: Milli(4.4), current: 0, ready: 0, tol: DefaultTolerances, want: 2},
		{name: "from zero: ratio inside the band still scales", usage: 1050, target: 1000, current: 0, ready: 0, tol: DefaultTolerances, want: 2},
		{name: "from zero: usage 0 gives 0", usage: 0, target: 1000, current: 0, ready: 0, tol: DefaultTolerances, want: 0},
		{name: "from zero: huge ratio clamps to MaxInt32", usage: math.MaxInt64, target: 1, current: 0, ready: 0, tol: DefaultTolerances, want: math.MaxInt32},

		// Guards.
		{name: "no ready pods outside tolerance gives 0", usage: 5000, target: 1000, current: 3, ready: 0, tol: DefaultTolerances, want: 0},
		{name: "huge ratio clamps to MaxInt32", usage: math.MaxInt64, target: 1, current: 3, ready: 3, tol: DefaultTolerances, want: math.MaxInt32},
		{name: "negative usage gives 0", usage: -5000, target: 1000, current: 3, ready: 3, tol: DefaultTolerances, want: 0},
		{name: "target 0 keeps current", usage: 5000, target: 0, current: 3, ready: 3, tol: DefaultTolerances, want: 3},
		{name: "negative target keeps current", usage: 5000, target: -1, current: 3, ready: 3, tol: DefaultTolerances, want: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValueReplicas(tc.usage, tc.target, tc.current, tc.ready, tc.tol); got != tc.want {
				t.Errorf("ValueReplicas(%d, %d, %d, %d, %+v) = %d, want %d",
					tc.usage, tc.target, tc.current, tc.ready, tc.tol, got, tc.want)
			}
		})
	}
}

func TestSumForAverageValue(t *testing.T) {
	cases := []struct {
		name   string
		values []int64
		want   int64
	}{
		{name: "empty", values: nil, want: 0},
		{name: "single", values: []int64{8600}, want: 8600},
		{name: "several", values: []int64{1000, 2000, 3}, want: 3003},
		{name: "negative later is subtracted", values: []int64{5, -3}, want: 2},
		{name: "negative first reads as overflow", values: []int64{-3, 5}, want: math.MaxInt64},
		{name: "positive overflow saturates", values: []int64{math.MaxInt64, 1}, want: math.MaxInt64},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := SumForAverageValue(tc.values); got != tc.want {
				t.Errorf("SumForAverageValue(%v) = %d, want %d", tc.values, got, tc.want)
			}
		})
	}
}

func TestSumForValue(t *testing.T) {
	cases := []struct {
		name   string
		values []int64
		want   int64
	}{
		{name: "empty", values: nil, want: 0},
		{name: "several", values: []int64{1000, 2000, 3}, want: 3003},
		{name: "negative kept", values: []int64{-3, 5}, want: 2},
		{name: "negative total kept", values: []int64{-3, -5}, want: -8},
		{name: "positive overflow saturates", values: []int64{math.MaxInt64, 1}, want: math.MaxInt64},
		{name: "exactly MaxInt64 fits", values: []int64{math.MaxInt64 - 1, 1}, want: math.MaxInt64},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := SumForValue(tc.values); got != tc.want {
				t.Errorf("SumForValue(%v) = %d, want %d", tc.values, got, tc.want)
			}
		})
	}
}
