package main

import (
	"math"
	"slices"
	"testing"
)

func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))
}

func TestQuantile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sorted []float64
		q      float64
		want   float64
	}{
		{"empty", nil, 0.5, math.NaN()},
		{"one", []float64{7}, 0.99, 7},
		{"min", []float64{1, 2, 3}, 0, 1},
		{"max", []float64{1, 2, 3}, 1, 3},
		{"median odd", []float64{1, 2, 3}, 0.5, 2},
		{"median even interpolates", []float64{1, 2, 3, 4}, 0.5, 2.5},
		{"p99 interpolates", []float64{0, 100}, 0.99, 99},
		{"p25 of five", []float64{10, 20, 30, 40, 50}, 0.25, 20},
		{"q below 0 clamps", []float64{1, 2}, -1, 1},
		{"q above 1 clamps", []float64{1, 2}, 2, 2},
		{"NaN q", []float64{1, 2}, math.NaN(), math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := quantile(tc.sorted, tc.q); !sameFloat(got, tc.want) {
				t.Errorf("quantile(%v, %v) = %v, want %v", tc.sorted, tc.q, got, tc.want)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		name string
		xs   []float64
		want float64
	}{
		{"empty", nil, math.NaN()},
		{"one", []float64{3}, 3},
		{"unsorted odd", []float64{9, 1, 5}, 5},
		{"unsorted even", []float64{4, 1, 3, 2}, 2.5},
		{"ignores NaN", []float64{math.NaN(), 1, 3}, 2},
		{"all NaN", []float64{math.NaN()}, math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.xs)
			if got := median(in); !sameFloat(got, tc.want) {
				t.Errorf("median(%v) = %v, want %v", tc.xs, got, tc.want)
			}
			if !slices.EqualFunc(in, tc.xs, sameFloat) {
				t.Errorf("median modified its input: %v, was %v", in, tc.xs)
			}
		})
	}
}

func TestMedianOver(t *testing.T) {
	runs := []Run{
		{Suite: "kafka", Impl: ImplTide, Scale: 10, Repeat: 0, P99: 5},
		{Suite: "kafka", Impl: ImplTide, Scale: 10, Repeat: 1, P99: 1},
		{Suite: "kafka", Impl: ImplTide, Scale: 10, Repeat: 2, P99: 3},
		{Suite: "kafka", Impl: ImplTide, Scale: 20, Repeat: 0, P99: 8},
		{Suite: "redis", Impl: ImplTide, Scale: 10, Repeat: 0, P99: 2},
	}
	got := medianOver(runs, metricP99)
	want := map[runKey]float64{
		{"kafka", ImplTide, 10}: 3,
		{"kafka", ImplTide, 20}: 8,
		{"redis", ImplTide, 10}: 2,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d groups %v, want %v", len(got), got, want)
	}
	for k, w := range want {
		if !sameFloat(got[k], w) {
			t.Errorf("%v: got %v, want %v", k, got[k], w)
		}
	}
	g := groupRuns(runs)
	if v := g.med("kafka", ImplKEDAKafka, 10, metricP99); !math.IsNaN(v) {
		t.Errorf("missing group: got %v, want NaN", v)
	}
}

func TestPairedRatio(t *testing.T) {
	run := func(impl string, rep int, perMin float64) Run {
		return Run{Suite: "kafka", Impl: impl, Scale: 100, Repeat: rep, PerMinute: perMin}
	}
	for _, tc := range []struct {
		name string
		runs []Run
		want spread
	}{
		{"none", nil, spread{math.NaN(), math.NaN(), math.NaN(), 0}},
		{"paired by repeat, not by order", []Run{
			run(ImplTide, 1, 10), run(ImplTide, 0, 20), run(ImplTide, 2, 5),
			run(ImplKEDAKafka, 0, 200), run(ImplKEDAKafka, 1, 300), run(ImplKEDAKafka, 2, 100),
		}, spread{Median: 20, Min: 10, Max: 30, N: 3}},
		{"unpaired repeats left out", []Run{
			run(ImplTide, 0, 10), run(ImplKEDAKafka, 0, 40), run(ImplKEDAKafka, 1, 1000),
		}, spread{Median: 4, Min: 4, Max: 4, N: 1}},
		{"zero denominator left out", []Run{
			run(ImplTide, 0, 0), run(ImplTide, 1, 10), run(ImplKEDAKafka, 0, 40), run(ImplKEDAKafka, 1, 20),
		}, spread{Median: 2, Min: 2, Max: 2, N: 1}},
		{"peer better gives below 1", []Run{
			run(ImplTide, 0, 40), run(ImplKEDAKafka, 0, 10),
		}, spread{Median: 0.25, Min: 0.25, Max: 0.25, N: 1}},
		{"other scale and suite ignored", []Run{
			run(ImplTide, 0, 10), run(ImplKEDAKafka, 0, 50),
			{Suite: "kafka", Impl: ImplKEDAKafka, Scale: 7, Repeat: 0, PerMinute: 1e9},
			{Suite: "redis", Impl: ImplKEDAKafka, Scale: 100, Repeat: 0, PerMinute: 1e9},
		}, spread{Median: 5, Min: 5, Max: 5, N: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := pairedRatio(tc.runs, "kafka", 100, ImplKEDAKafka, ImplTide, metricPerMinute)
			if got.N != tc.want.N || !sameFloat(got.Median, tc.want.Median) ||
				!sameFloat(got.Min, tc.want.Min) || !sameFloat(got.Max, tc.want.Max) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestAttributable(t *testing.T) {
	idle := Footprint{RSS: 100, PeakRSS: 120, Heap: 50, Goroutines: 10}
	for _, tc := range []struct {
		name string
		run  Run
		want Footprint
	}{
		{"keda: driver minus idle",
			Run{Impl: ImplKEDAKafka, Driver: Footprint{RSS: 400, PeakRSS: 500, Heap: 250, Goroutines: 30}},
			Footprint{RSS: 300, PeakRSS: 380, Heap: 200, Goroutines: 20}},
		{"keda: floored at zero",
			Run{Impl: ImplKEDARedis, Driver: Footprint{RSS: 90, PeakRSS: 100, Heap: 40, Goroutines: 9}},
			Footprint{}},
		{"keda: server ignored",
			Run{Impl: ImplKEDAApache, Driver: Footprint{RSS: 150, Goroutines: 12}, Server: Footprint{RSS: 1000, Goroutines: 100}},
			Footprint{RSS: 50, Goroutines: 2}},
		{"tide: server plus driver minus idle",
			Run{Impl: ImplTide, Driver: Footprint{RSS: 130, Goroutines: 14}, Server: Footprint{RSS: 1000, PeakRSS: 1100, Heap: 300, Goroutines: 25}},
			Footprint{RSS: 1030, PeakRSS: 1100, Heap: 300, Goroutines: 29}},
		{"tide slow: driver below idle floors only the driver part",
			Run{Impl: ImplTideSlow, Driver: Footprint{RSS: 50, Goroutines: 5}, Server: Footprint{RSS: 800, Goroutines: 20}},
			Footprint{RSS: 800, Goroutines: 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := attributable(tc.run, idle); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestEvalGoalsWithoutData(t *testing.T) {
	rows := evalGoals(&Results{}, groupRuns(nil))
	if len(rows) != 6 {
		t.Fatalf("got %d goals, want 6", len(rows))
	}
	for _, r := range rows {
		if r.Verdict != goalNotMeasured {
			t.Errorf("%s: verdict %q, want %q", r.Goal, r.Verdict, goalNotMeasured)
		}
	}
}
