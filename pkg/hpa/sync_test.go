package hpa

import (
	"math"
	"reflect"
	"testing"
	"time"
)

// t0 is an arbitrary wall time; only differences from it matter.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func avg(usage, target float64) MetricInput {
	return MetricInput{Target: MetricTarget{Type: AverageValue, Milli: Milli(target)}, Values: []int64{Milli(usage)}}
}

func value(usage, target float64) MetricInput {
	return MetricInput{Target: MetricTarget{Type: Value, Milli: Milli(target)}, Values: []int64{Milli(usage)}}
}

var failed = MetricInput{Target: MetricTarget{Type: AverageValue, Milli: 1000}, Failed: true}

// running is a workload whose pods all exist and are ready.
func running(n int32) Current { return Current{Spec: n, Status: n, Ready: n} }

// instant is a behavior that stabilizes nothing and, with the default 100%
// policies, lets Sync land on the proposal: the way to check a proposal
// end to end.
func instant() *Behavior {
	return &Behavior{ScaleDown: &Rules{StabilizationWindowSeconds: i32(0)}}
}

// settled is a history whose only entry has expired under every window, so
// the first-sync seed does not hold the count.
func settled() *State {
	return &State{Recommendations: []Recommendation{{Replicas: 1, Time: t0.Add(-2 * time.Hour)}}}
}

func TestSyncPausedAndOutOfRange(t *testing.T) {
	cases := []struct {
		name   string
		hpa    HPA
		cur    Current
		want   int32
		reason Reason
		event  []ScaleEvent // expected ScaleUpEvents or ScaleDownEvents (by sign of the change)
	}{
		{name: "spec 0 with min 1 is paused", hpa: HPA{MinReplicas: 1, MaxReplicas: 10}, cur: running(0), want: 0, reason: Paused},
		{name: "spec 0 with min 3 is paused, not raised", hpa: HPA{MinReplicas: 3, MaxReplicas: 10}, cur: running(0), want: 0, reason: Paused},
		{name: "above max goes to max", hpa: HPA{MinReplicas: 1, MaxReplicas: 10}, cur: running(25), want: 10, reason: AtMax},
		{name: "below min goes to min", hpa: HPA{MinReplicas: 4, MaxReplicas: 10}, cur: running(2), want: 4, reason: AtMin},
		{name: "above max with behavior stores a down event", hpa: HPA{MinReplicas: 1, MaxReplicas: 10, Behavior: &Behavior{}},
			cur: running(25), want: 10, reason: AtMax, event: []ScaleEvent{{Change: 15, Time: t0}}},
		{name: "below min with behavior stores an up event", hpa: HPA{MinReplicas: 4, MaxReplicas: 10, Behavior: &Behavior{}},
			cur: running(1), want: 4, reason: AtMin, event: []ScaleEvent{{Change: 3, Time: t0}}},
		// max < min is invalid; upstream checks max first.
		{name: "invalid max below min: max wins above it", hpa: HPA{MinReplicas: 5, MaxReplicas: 3}, cur: running(4), want: 3, reason: AtMax},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := &State{}
			// A metric that would ask for 100: it must not be read.
			d := Sync(t0, tc.hpa, tc.cur, []MetricInput{avg(100, 1)}, st, DefaultConfig())
			if d.Replicas != tc.want || d.Reason != tc.reason {
				t.Fatalf("Sync() = %d (%s), want %d (%s)", d.Replicas, d.Reason, tc.want, tc.reason)
			}
			if d.Proposals != nil {
				t.Errorf("Proposals = %+v, want nil: metrics are not read", d.Proposals)
			}
			// The seed is recorded even when the sync stops early.
			if want := []Recommendation{{Replicas: tc.cur.Spec, Time: t0}}; !reflect.DeepEqual(st.Recommendations, want) {
				t.Errorf("Recommendations = %+v, want %+v", st.Recommendations, want)
			}
			events := append(st.ScaleUpEvents, st.ScaleDownEvents...)
			if len(events) != len(tc.event) || (len(events) > 0 && !reflect.DeepEqual(events, tc.event)) {
				t.Errorf("events = %+v, want %+v", events, tc.event)
			}
		})
	}
}

func TestSyncMetrics(t *testing.T) {
	cases := []struct {
		name      string
		current   int32
		metrics   []MetricInput
		want      int32
		reason    Reason
		proposals []int32 // -1 for a failed metric
	}{
		{name: "highest proposal wins", current: 5, metrics: []MetricInput{avg(3, 1), avg(7, 1), avg(6, 1)},
			want: 7, reason: Unlimited, proposals: []int32{3, 7, 6}},
		{name: "all failed keeps current", current: 5, metrics: []MetricInput{failed, failed},
			want: 5, reason: NoMetrics, proposals: []int32{-1, -1}},
		{name: "no metrics keeps current", current: 5, metrics: nil, want: 5, reason: NoMetrics, proposals: []int32{}},
		{name: "no values is a failure, not zero", current: 5,
			metrics: []MetricInput{{Target: MetricTarget{Type: AverageValue, Milli: 1000}}},
			want:    5, reason: NoMetrics, proposals: []int32{-1}},
		{name: "partial data never scales down", current: 5, metrics: []MetricInput{failed, avg(2, 1)},
			want: 5, reason: PartialData, proposals: []int32{-1, 2}},
		{name: "partial data still scales up", current: 5, metrics: []MetricInput{avg(8, 1), failed},
			want: 8, reason: Unlimited, proposals: []int32{8, -1}},
		{name: "partial data at the current count is no scale-down", current: 5, metrics: []MetricInput{failed, avg(5, 1)},
			want: 5, reason: WithinTolerance, proposals: []int32{-1, 5}},
		{name: "unknown target type fails the metric", current: 5,
			metrics: []MetricInput{{Target: MetricTarget{Type: "Utilization", Milli: 1000}, Values: []int64{9000}}, avg(2, 1)},
			want:    5, reason: PartialData, proposals: []int32{-1, 2}},
		{name: "non-positive target fails the metric", current: 5,
			metrics: []MetricInput{{Target: MetricTarget{Type: Value, Milli: 0}, Values: []int64{9000}}},
			want:    5, reason: NoMetrics, proposals: []int32{-1}},
		{name: "value without pods fails outside tolerance", current: 5,
			metrics: []MetricInput{value(20, 1)}, want: 5, reason: NoMetrics, proposals: []int32{-1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cur := running(tc.current)
			if tc.name == "value without pods fails outside tolerance" {
				cur = Current{Spec: 5} // created, no pods yet
			}
			d := Sync(t0, HPA{MinReplicas: 1, MaxReplicas: 100, Behavior: instant()}, cur, tc.metrics, settled(), DefaultConfig())
			if d.Replicas != tc.want || d.Reason != tc.reason {
				t.Errorf("Sync() = %d (%s), want %d (%s)", d.Replicas, d.Reason, tc.want, tc.reason)
			}
			got := make([]int32, len(d.Proposals))
			for i, p := range d.Proposals {
				got[i] = p.Replicas
				if p.Failed {
					got[i] = -1
				}
			}
			if !reflect.DeepEqual(got, tc.proposals) {
				t.Errorf("proposals = %v, want %v", got, tc.proposals)
			}
		})
	}
}

// TestSyncProposalVectors runs the replica calculator's upstream vectors
// through a whole sync that smooths nothing.
func TestSyncProposalVectors(t *testing.T) {
	cases := []struct {
		name   string
		cur    Current
		metric MetricInput
		want   int32
		ratio  float64
	}{
		{name: "average: status 3, 8.6/2.15 -> 4", cur: running(3), metric: avg(8.6, 2.15), want: 4, ratio: 8600.0 / (2150 * 3)},
		{name: "average: status 5, 8.6/2.867 -> 3", cur: running(5), metric: avg(8.6, 2.867), want: 3, ratio: 8600.0 / (2867 * 5)},
		{name: "average: status 3, 8.6/2.9 within tolerance", cur: running(3), metric: avg(8.6, 2.9), want: 3, ratio: 8600.0 / (2900 * 3)},
		{name: "average: denominator is status, not spec", cur: Current{Spec: 4, Status: 2, Ready: 2}, metric: avg(8, 1), want: 8, ratio: 4},
		{name: "value: current 1 ready 1, 8.6/4.4 -> 2", cur: running(1), metric: value(8.6, 4.4), want: 2, ratio: 8600.0 / 4400},
		{name: "value: current 3 ready 1, 8.6/4.4 -> 2", cur: Current{Spec: 3, Status: 3, Ready: 1}, metric: value(8.6, 4.4), want: 2, ratio: 8600.0 / 4400},
		{name: "value: current 5 ready 5, 8.6/14.334 -> 3", cur: running(5), metric: value(8.6, 14.334), want: 3, ratio: 8600.0 / 14334},
		{name: "value: current 3, 8.6/8.888 within tolerance", cur: running(3), metric: value(8.6, 8.888), want: 3, ratio: 8600.0 / 8888},
		{name: "value: within tolerance needs no pods", cur: Current{Spec: 3}, metric: value(8.6, 8.888), want: 3, ratio: 8600.0 / 8888},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Sync(t0, HPA{MinReplicas: 1, MaxReplicas: 100, Behavior: instant()}, tc.cur, []MetricInput{tc.metric}, settled(), DefaultConfig())
			if d.Replicas != tc.want || d.Proposals[0].Replicas != tc.want {
				t.Errorf("Sync() = %d (proposal %d, %s), want %d", d.Replicas, d.Proposals[0].Replicas, d.Reason, tc.want)
			}
			if d.Proposals[0].Ratio != tc.ratio {
				t.Errorf("ratio = %v, want %v", d.Proposals[0].Ratio, tc.ratio)
			}
		})
	}
}

func TestSyncTolerance(t *testing.T) {
	gateOff := DefaultConfig()
	gateOff.ConfigurableTolerance = false
	cases := []struct {
		name   string
		b      *Behavior
		cfg    Config
		metric MetricInput
		want   int32
		reason Reason
	}{
		// The trap: a scaler publishing "desired replicas" with target 1.
		{name: "trap: 11 at 10 stays under default tolerance", b: nil, cfg: DefaultConfig(), metric: avg(11, 1), want: 10, reason: WithinTolerance},
		{name: "trap: 11 at 10 stays with a behavior but no tolerance", b: instant(), cfg: DefaultConfig(), metric: avg(11, 1), want: 10, reason: WithinTolerance},
		{name: "trap: scaleUp tolerance 0 moves 10 to 11", b: &Behavior{ScaleUp: &Rules{Tolerance: f64(0)}}, cfg: DefaultConfig(), metric: avg(11, 1), want: 11, reason: Unlimited},
		{name: "trap: tolerance ignored with the gate off", b: &Behavior{ScaleUp: &Rules{Tolerance: f64(0)}}, cfg: gateOff, metric: avg(11, 1), want: 10, reason: WithinTolerance},
		{name: "trap: 12 at 10 moves under default tolerance", b: nil, cfg: DefaultConfig(), metric: avg(12, 1), want: 12, reason: Unlimited},
		{name: "trap: value target, 11 at 10 stays", b: nil, cfg: DefaultConfig(), metric: value(11, 10), want: 10, reason: WithinTolerance},
		{name: "trap: value target, scaleUp tolerance 0", b: &Behavior{ScaleUp: &Rules{Tolerance: f64(0)}}, cfg: DefaultConfig(), metric: value(11, 10), want: 11, reason: Unlimited},
		// Per direction: a scaleUp tolerance does not widen scale-down.
		{name: "scaleUp 0 leaves scale-down at the flag: 9 at 10 stays", b: &Behavior{
			ScaleUp: &Rules{Tolerance: f64(0)}, ScaleDown: &Rules{StabilizationWindowSeconds: i32(0)},
		}, cfg: DefaultConfig(), metric: avg(9, 1), want: 10, reason: WithinTolerance},
		{name: "scaleDown 0: 9 at 10 goes to 9", b: &Behavior{
			ScaleDown: &Rules{StabilizationWindowSeconds: i32(0), Tolerance: f64(0)},
		}, cfg: DefaultConfig(), metric: avg(9, 1), want: 9, reason: Unlimited},
		{name: "scaleDown 0.5: 6 at 10 stays", b: &Behavior{
			ScaleDown: &Rules{StabilizationWindowSeconds: i32(0), Tolerance: f64(0.5)},
		}, cfg: DefaultConfig(), metric: avg(6, 1), want: 10, reason: WithinTolerance},
		{name: "scaleDown 0.5: 4 at 10 goes to 4", b: &Behavior{
			ScaleDown: &Rules{StabilizationWindowSeconds: i32(0), Tolerance: f64(0.5)},
		}, cfg: DefaultConfig(), metric: avg(4, 1), want: 4, reason: Unlimited},
		{name: "scaleDown 0.5 leaves scale-up at the flag: 12 at 10 moves", b: &Behavior{
			ScaleDown: &Rules{Tolerance: f64(0.5)},
		}, cfg: DefaultConfig(), metric: avg(12, 1), want: 12, reason: Unlimited},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Sync(t0, HPA{MinReplicas: 1, MaxReplicas: 100, Behavior: tc.b}, running(10), []MetricInput{tc.metric}, settled(), tc.cfg)
			if d.Replicas != tc.want || d.Reason != tc.reason {
				t.Errorf("Sync() = %d (%s, tolerances %+v), want %d (%s)", d.Replicas, d.Reason, d.Tolerances, tc.want, tc.reason)
			}
		})
	}
}

// TestSyncFromZero covers minReplicas 0 (HPAScaleToZero): spec 0 is not
// paused, and the scale-up limits apply from zero.
func TestSyncFromZero(t *testing.T) {
	cases := []struct {
		name   string
		b      *Behavior
		cur    Current
		metric MetricInput
		want   int32
		reason Reason
	}{
		{name: "legacy: from 0 the cap is 4", b: nil, cur: running(0), metric: avg(9, 1), want: 4, reason: ScaleUpLimited},
		{name: "legacy: from 0 under the cap", b: nil, cur: running(0), metric: avg(3, 1), want: 3, reason: Unlimited},
		{name: "legacy: usage 0 stays at 0", b: nil, cur: running(0), metric: avg(0, 1), want: 0, reason: WithinTolerance},
		{name: "default behavior: Pods 4 from 0", b: &Behavior{}, cur: running(0), metric: avg(9, 1), want: 4, reason: ScaleUpLimited},
		{name: "percent-only scaleUp never leaves 0", b: &Behavior{ScaleUp: &Rules{Policies: []Policy{{PercentPolicy, 900, 15}}}},
			cur: running(0), metric: avg(9, 1), want: 0, reason: ScaleUpLimited},
		{name: "value from 0 ignores tolerance and ready pods", b: nil, cur: Current{}, metric: value(1.05, 1), want: 2, reason: Unlimited},
		{name: "spec 1 while status is still 0: average recomputes from scratch", b: instant(),
			cur: Current{Spec: 1}, metric: avg(2.5, 1), want: 3, reason: Unlimited},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Sync(t0, HPA{MinReplicas: 0, MaxReplicas: 10, Behavior: tc.b}, tc.cur, []MetricInput{tc.metric}, settled(), DefaultConfig())
			if d.Replicas != tc.want || d.Reason != tc.reason {
				t.Errorf("Sync() = %d (%s), want %d (%s)", d.Replicas, d.Reason, tc.want, tc.reason)
			}
		})
	}
}

func TestSyncNilState(t *testing.T) {
	d := Sync(t0, HPA{MinReplicas: 1, MaxReplicas: 10}, running(2), []MetricInput{avg(6, 1)}, nil, DefaultConfig())
	if d.Replicas != 4 || d.Reason != ScaleUpLimited {
		t.Errorf("Sync(nil state) = %d (%s), want 4 (ScaleUpLimited)", d.Replicas, d.Reason)
	}
}

func TestSyncHugeCounts(t *testing.T) {
	// Near MaxInt32 the limits saturate instead of wrapping.
	d := Sync(t0, HPA{MinReplicas: 1, MaxReplicas: math.MaxInt32}, running(math.MaxInt32-1),
		[]MetricInput{{Target: MetricTarget{Type: AverageValue, Milli: 1}, Values: []int64{math.MaxInt64}}}, settled(), DefaultConfig())
	if d.Replicas != math.MaxInt32 {
		t.Errorf("Sync() = %d (%s), want MaxInt32", d.Replicas, d.Reason)
	}
}
