package hpa

import (
	"math"
	"testing"
)

func TestTolerancesIsWithin(t *testing.T) {
	cases := []struct {
		name  string
		tol   Tolerances
		ratio float64
		want  bool
	}{
		{name: "exactly 1", tol: DefaultTolerances, ratio: 1, want: true},
		{name: "upper bound 1.1 is inclusive", tol: DefaultTolerances, ratio: 1.1, want: true},
		{name: "11/10 is the same float as 1+0.1", tol: DefaultTolerances, ratio: 11.0 / 10.0, want: true},
		{name: "just above upper bound", tol: DefaultTolerances, ratio: math.Nextafter(1.1, 2), want: false},
		{name: "lower bound 0.9 is inclusive", tol: DefaultTolerances, ratio: 0.9, want: true},
		{name: "just below lower bound", tol: DefaultTolerances, ratio: math.Nextafter(0.9, 0), want: false},
		{name: "zero ratio", tol: DefaultTolerances, ratio: 0, want: false},
		{name: "+Inf from zero replicas", tol: DefaultTolerances, ratio: math.Inf(1), want: false},
		{name: "NaN from 0/0", tol: DefaultTolerances, ratio: math.NaN(), want: false},
		{name: "zero up tolerance: 1 stays", tol: Tolerances{ScaleDown: 0.1}, ratio: 1, want: true},
		{name: "zero up tolerance: 1.01 scales", tol: Tolerances{ScaleDown: 0.1}, ratio: 1.01, want: false},
		{name: "zero up tolerance: 0.95 stays", tol: Tolerances{ScaleDown: 0.1}, ratio: 0.95, want: true},
		{name: "zero down tolerance: 0.99 scales", tol: Tolerances{ScaleUp: 0.1}, ratio: 0.99, want: false},
		{name: "zero down tolerance: 1.05 stays", tol: Tolerances{ScaleUp: 0.1}, ratio: 1.05, want: true},
		{name: "wide down, narrow up: 0.6 stays", tol: Tolerances{ScaleDown: 0.5, ScaleUp: 0.02}, ratio: 0.6, want: true},
		{name: "wide down, narrow up: 1.03 scales", tol: Tolerances{ScaleDown: 0.5, ScaleUp: 0.02}, ratio: 1.03, want: false},
		{name: "narrow down, wide up: 0.97 scales", tol: Tolerances{ScaleDown: 0.02, ScaleUp: 0.5}, ratio: 0.97, want: false},
		{name: "narrow down, wide up: 1.4 stays", tol: Tolerances{ScaleDown: 0.02, ScaleUp: 0.5}, ratio: 1.4, want: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.tol.IsWithin(tc.ratio); got != tc.want {
				t.Errorf("%+v.IsWithin(%v) = %v, want %v", tc.tol, tc.ratio, got, tc.want)
			}
		})
	}
}
