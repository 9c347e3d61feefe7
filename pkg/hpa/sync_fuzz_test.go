package hpa

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

// FuzzSync drives a few consecutive syncs of a random HPA, valid or not in
// its behavior, with random metrics and a workload that follows the HPA.
// Whatever the input: no panic, the count is never negative, stays in
// [min, max] unless paused, and a sync is a function of its inputs (the same
// call on a copy of the state decides the same).
func FuzzSync(f *testing.F) {
	f.Add(int32(1), int32(10), int32(5), int32(5), int32(5), int64(50000), int64(3000), int64(1000), uint8(0), uint8(3),
		int32(0), int32(300), uint8(0), uint8(0), int32(4), int32(15), 0.1, 0.1, uint8(8))
	f.Add(int32(0), int32(100), int32(0), int32(0), int32(0), int64(1), int64(-5), int64(1), uint8(0xff), uint8(1),
		int32(60), int32(0), uint8(1), uint8(2), int32(100), int32(60), 0.0, 0.5, uint8(20))
	f.Add(int32(3), int32(3), int32(math.MaxInt32), int32(-1), int32(7), int64(math.MaxInt64), int64(math.MinInt64), int64(0), uint8(0x50), uint8(2),
		int32(-10), int32(4000), uint8(3), uint8(7), int32(math.MaxInt32), int32(0), math.NaN(), math.Inf(1), uint8(3))
	f.Add(int32(1), int32(math.MaxInt32), int32(math.MaxInt32-1), int32(math.MaxInt32), int32(1), int64(math.MaxInt64), int64(1), int64(1), uint8(0x02), uint8(3),
		int32(0), int32(0), uint8(0), uint8(1), int32(math.MaxInt32), int32(1), -1.0, 1e300, uint8(5))
	f.Fuzz(func(t *testing.T, minR, maxR, spec, status, ready int32, u1, u2, target int64, flags, steps uint8,
		upWin, downWin int32, sel, ptype uint8, pval, period int32, tolUp, tolDown float64, stepSec uint8) {
		// The API server guarantees 0 <= min <= max and max >= 1; within
		// that anything goes, including behaviors it would reject.
		minR, maxR = abs32(minR), abs32(maxR)
		if minR > maxR {
			minR, maxR = maxR, minR
		}
		maxR = max(maxR, 1)
		selects := []SelectPolicy{SelectMax, SelectMin, SelectDisabled, "", "Other"}
		types := []PolicyType{PodsPolicy, PercentPolicy, "Other"}
		hpa := HPA{MinReplicas: minR, MaxReplicas: maxR}
		if flags&1 == 0 {
			rules := func(win int32, s uint8) *Rules {
				r := &Rules{StabilizationWindowSeconds: &win, SelectPolicy: selects[int(s)%len(selects)]}
				if flags&2 == 0 {
					r.Policies = []Policy{{types[int(ptype)%len(types)], pval, period}, {PercentPolicy, pval / 2, period * 2}}
				}
				return r
			}
			hpa.Behavior = &Behavior{ScaleUp: rules(upWin, sel), ScaleDown: rules(downWin, sel/5)}
			if flags&4 == 0 {
				hpa.Behavior.ScaleUp.Tolerance, hpa.Behavior.ScaleDown.Tolerance = &tolUp, &tolDown
			}
		}
		types2 := []TargetType{AverageValue, Value, "Other"}
		metrics := []MetricInput{
			{Target: MetricTarget{Type: types2[int(flags>>3)%3], Milli: target}, Values: []int64{u1, u2}, Failed: flags&0x20 != 0},
			{Target: MetricTarget{Type: types2[int(flags>>6)%3], Milli: target / 3}, Values: []int64{u2}},
		}[:1+int(flags>>7)]
		cfg := DefaultConfig()
		cur := Current{Spec: spec, Status: status, Ready: ready}
		st := &State{}
		now := t0
		for i := 0; i <= int(steps%32); i++ {
			snapshot := cloneState(st)
			d := Sync(now, hpa, cur, metrics, st, cfg)
			again := Sync(now, hpa, cur, metrics, snapshot, cfg)
			// Printed, because NaN tolerances and ratios are not == themselves.
			if fmt.Sprintf("%+v %+v", d, *st) != fmt.Sprintf("%+v %+v", again, *snapshot) {
				t.Fatalf("sync %d is not deterministic: %+v vs %+v", i, d, again)
			}
			if d.Replicas < 0 {
				t.Fatalf("sync %d: %d replicas", i, d.Replicas)
			}
			paused := cur.Spec == 0 && minR != 0
			if paused != (d.Reason == Paused) {
				t.Fatalf("sync %d: spec %d min %d gave %s", i, cur.Spec, minR, d.Reason)
			}
			if !paused && (d.Replicas < minR || d.Replicas > maxR) {
				t.Fatalf("sync %d: %d replicas outside [%d, %d] (%s, spec %d)", i, d.Replicas, minR, maxR, d.Reason, cur.Spec)
			}
			if (d.Reason == NoMetrics || d.Reason == PartialData || d.Reason == WithinTolerance || d.Reason == Paused) && d.Replicas != cur.Spec {
				t.Fatalf("sync %d: %s changed %d to %d", i, d.Reason, cur.Spec, d.Replicas)
			}
			// The workload follows; pods lag by one sync half of the time.
			if i%2 == 0 {
				cur = Current{Spec: d.Replicas, Status: d.Replicas, Ready: d.Replicas}
			} else {
				cur.Spec = d.Replicas
			}
			now = now.Add(time.Duration(stepSec) * time.Second)
		}
	})
}

func abs32(v int32) int32 {
	if v == math.MinInt32 {
		return math.MaxInt32
	}
	return max(v, -v)
}

func cloneState(s *State) *State {
	return &State{
		Recommendations: slices.Clone(s.Recommendations),
		ScaleUpEvents:   slices.Clone(s.ScaleUpEvents),
		ScaleDownEvents: slices.Clone(s.ScaleDownEvents),
	}
}
