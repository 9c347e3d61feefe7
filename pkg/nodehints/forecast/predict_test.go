package forecast

import (
	"math"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// series returns one point every step, the last at t0 - lastAgo, with the
// given demands in time order.
func series(step, lastAgo time.Duration, demand ...float64) []Point {
	pts := make([]Point, len(demand))
	for i, d := range demand {
		pts[i] = Point{Time: t0.Add(-lastAgo - time.Duration(len(demand)-1-i)*step), Demand: d}
	}
	return pts
}

// ramp is demand rising by perMinute, sampled every 30 s over 3 minutes,
// ending at end now.
func ramp(end, perMinute float64) []Point {
	var d []float64
	for i := 6; i >= 0; i-- {
		d = append(d, end-perMinute*float64(i)/2)
	}
	return series(30*time.Second, 0, d...)
}

func TestPredict(t *testing.T) {
	cases := []struct {
		name    string
		history []Point
		lead    time.Duration
		max     int32
		want    int32
		reason  string
	}{
		{name: "empty history", max: 10, want: 0, reason: "no demand history"},
		{name: "nil-like: only invalid points", max: 10, want: 0, reason: "no demand history",
			history: []Point{{t0, math.NaN()}, {t0, math.Inf(1)}, {t0, -1}, {t0.Add(time.Minute), 5}}},
		{name: "single point is the latest", history: series(0, 0, 3.2), max: 10, want: 4, reason: "1 point"},
		{name: "flat demand", history: ramp(4, 0), max: 10, want: 4, reason: "not rising"},
		{name: "falling demand never goes below the latest", history: ramp(4, -1), max: 10, want: 4, reason: "not rising"},
		// +1 replica per minute, 3 minutes ahead: 4 + 3 = 7.
		{name: "rising demand, default lead time", history: ramp(4, 1), max: 20, want: 7, reason: "rising"},
		{name: "rising demand, 1 minute lead", history: ramp(4, 1), lead: time.Minute, max: 20, want: 5, reason: "in 1m0s"},
		{name: "rising demand, capped", history: ramp(4, 1), max: 6, want: 6, reason: "capped at maxReplicas 6"},
		{name: "latest already above max", history: series(time.Minute, 0, 20, 30), max: 6, want: 6, reason: "capped"},
		{name: "fractional slope rounds up", history: ramp(4, 0.1), max: 20, want: 5, reason: "4.30 in 3m0s"},
		// The latest point is a minute old: the projection runs 4 minutes.
		{name: "projection counts from the latest point", history: series(30*time.Second, time.Minute, 1, 1.5, 2, 2.5, 3), max: 20, want: 7, reason: "rising"},
		{name: "gap inside the window still fits", max: 20, want: 7, reason: "rising",
			history: []Point{{t0.Add(-4 * time.Minute), 0}, {t0.Add(-3 * time.Minute), 1}, {t0, 4}}},
		{name: "stale history returns latest", history: series(30*time.Second, 6*time.Minute, 1, 2, 3, 4), max: 20, want: 4, reason: "older than the 5m0s window"},
		{name: "points older than the window are ignored", max: 20, want: 3, reason: "1 point",
			history: []Point{{t0.Add(-20 * time.Minute), 0}, {t0.Add(-10 * time.Minute), 1}, {t0, 3}}},
		{name: "span too short for a trend", history: series(5*time.Second, 0, 1, 2, 3), max: 20, want: 3, reason: "span 10s < 30s"},
		{name: "unsorted history is sorted", max: 20, want: 7, reason: "rising",
			history: []Point{{t0, 4}, {t0.Add(-2 * time.Minute), 2}, {t0.Add(-4 * time.Minute), 0}, {t0.Add(-time.Minute), 3}, {t0.Add(-3 * time.Minute), 1}}},
		{name: "equal times make no slope", history: []Point{{t0.Add(-time.Minute), 2}, {t0, 1}, {t0, 3}}, max: 20, want: 3, reason: "rising"},
		{name: "zero max", history: ramp(4, 1), max: 0, want: 0, reason: "maxReplicas 0 < 1"},
		{name: "huge demand stays in range", history: series(time.Minute, 0, 1, math.MaxFloat64), max: 100, want: 100, reason: "capped"},
		{name: "noisy flat demand is not a trend", history: series(30*time.Second, 0, 4, 5, 3, 4, 5, 3, 4, 5, 3, 4, 4), max: 20, want: 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, reason := Predict(c.history, t0, c.lead, c.max)
			if got != c.want || !strings.Contains(reason, c.reason) {
				t.Errorf("Predict = %d, %q; want %d, reason containing %q", got, reason, c.want, c.reason)
			}
		})
	}
}

func TestTrimAndHeadroom(t *testing.T) {
	h := series(time.Minute, 0, 1, 2, 3, 4, 5, 6, 7, 8)
	got := Trim(h, t0)
	if len(got) != 6 || !got[0].Time.Equal(t0.Add(-Window)) {
		t.Errorf("Trim kept %d points from %s", len(got), got[0].Time)
	}
	if len(Trim(nil, t0)) != 0 || len(Trim(h, t0.Add(time.Hour))) != 0 {
		t.Error("Trim of nil or all-old history is not empty")
	}
	for _, c := range []struct{ p, cur, want int32 }{{7, 4, 3}, {4, 4, 0}, {2, 5, 0}, {math.MaxInt32, -5, math.MaxInt32}} {
		if got := Headroom(c.p, c.cur); got != c.want {
			t.Errorf("Headroom(%d, %d) = %d, want %d", c.p, c.cur, got, c.want)
		}
	}
}
