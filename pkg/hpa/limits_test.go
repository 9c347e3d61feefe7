package hpa

import (
	"math"
	"reflect"
	"testing"
	"time"
)

// ago is an event or recommendation d before t0.
func ago(d time.Duration) time.Time { return t0.Add(-d) }

// TestRateLimits runs the upstream rate-policy vectors through Sync. The
// metric asks for far more (or far fewer) replicas than the policies allow,
// the windows are 0, and events are given relative to now.
func TestRateLimits(t *testing.T) {
	cases := []struct {
		name    string
		up      *Rules // nil: defaults
		down    *Rules // nil: defaults with a 0 window
		current int32
		desired int32
		upEv    []ScaleEvent
		downEv  []ScaleEvent
		want    int32
		reason  Reason
	}{
		{name: "up from 5 with Pods 4/60s -> 9", up: &Rules{Policies: []Policy{{PodsPolicy, 4, 60}}},
			current: 5, desired: 100, want: 9, reason: ScaleUpLimited},
		{name: "same with a +2 event 30s ago -> 7", up: &Rules{Policies: []Policy{{PodsPolicy, 4, 60}}},
			current: 5, desired: 100, upEv: []ScaleEvent{{Change: 2, Time: ago(30 * time.Second)}}, want: 7, reason: ScaleUpLimited},
		{name: "same with the +2 event outside the period -> 9", up: &Rules{Policies: []Policy{{PodsPolicy, 4, 60}}},
			current: 5, desired: 100, upEv: []ScaleEvent{{Change: 2, Time: ago(60 * time.Second)}}, want: 9, reason: ScaleUpLimited},
		{name: "a scale-down in the period gives room back", up: &Rules{Policies: []Policy{{PodsPolicy, 4, 60}}},
			current: 5, desired: 100, downEv: []ScaleEvent{{Change: 3, Time: ago(10 * time.Second)}}, want: 12, reason: ScaleUpLimited},
		{name: "Min of Pods 4 and Pods 2 from 5 -> 7", up: &Rules{SelectPolicy: SelectMin, Policies: []Policy{{PodsPolicy, 4, 60}, {PodsPolicy, 2, 60}}},
			current: 5, desired: 100, want: 7, reason: ScaleUpLimited},
		{name: "Max of Pods 4 and Pods 2 from 5 -> 9", up: &Rules{Policies: []Policy{{PodsPolicy, 4, 60}, {PodsPolicy, 2, 60}}},
			current: 5, desired: 100, want: 9, reason: ScaleUpLimited},
		{name: "Percent 50 from 10 -> 15", up: &Rules{Policies: []Policy{{PercentPolicy, 50, 60}}},
			current: 10, desired: 100, want: 15, reason: ScaleUpLimited},
		{name: "Percent rounds up: 10% of 3 still adds one", up: &Rules{Policies: []Policy{{PercentPolicy, 10, 60}}},
			current: 3, desired: 100, want: 4, reason: ScaleUpLimited},
		{name: "Disabled from 5 -> 5", up: &Rules{SelectPolicy: SelectDisabled},
			current: 5, desired: 100, want: 5, reason: ScaleUpLimited},
		{name: "period used up holds, never reverses", up: &Rules{Policies: []Policy{{PodsPolicy, 4, 60}}},
			current: 5, desired: 100, upEv: []ScaleEvent{{Change: 4, Time: ago(20 * time.Second)}, {Change: 3, Time: ago(10 * time.Second)}},
			want: 5, reason: ScaleUpLimited},
		{name: "max binds before the policy", up: &Rules{Policies: []Policy{{PodsPolicy, 100, 60}}},
			current: 150, desired: 1000, want: 200, reason: AtMax},
		{name: "below the limit is unlimited", up: &Rules{Policies: []Policy{{PodsPolicy, 4, 60}}},
			current: 5, desired: 8, want: 8, reason: Unlimited},
		{name: "default scale-up rules from 1 -> 5 (Pods 4)", current: 1, desired: 100, want: 5, reason: ScaleUpLimited},
		{name: "default scale-up rules from 10 -> 20 (Percent 100)", current: 10, desired: 100, want: 20, reason: ScaleUpLimited},

		{name: "down from 10 with Percent 20 -> 8", down: &Rules{Policies: []Policy{{PercentPolicy, 20, 60}}},
			current: 10, desired: 1, want: 8, reason: ScaleDownLimited},
		{name: "same with a -1 event 30s ago -> 8 (start 11, trunc 8.8)", down: &Rules{Policies: []Policy{{PercentPolicy, 20, 60}}},
			current: 10, desired: 1, downEv: []ScaleEvent{{Change: 1, Time: ago(30 * time.Second)}}, want: 8, reason: ScaleDownLimited},
		{name: "down from 100 with Percent 10 and Pods 5 (Max) -> 90", down: &Rules{Policies: []Policy{{PercentPolicy, 10, 60}, {PodsPolicy, 5, 60}}},
			current: 100, desired: 1, want: 90, reason: ScaleDownLimited},
		{name: "down from 100 with Percent 10 and Pods 15 (Min) -> 90", down: &Rules{SelectPolicy: SelectMin, Policies: []Policy{{PercentPolicy, 10, 60}, {PodsPolicy, 15, 60}}},
			current: 100, desired: 1, want: 90, reason: ScaleDownLimited},
		{name: "down Disabled holds", down: &Rules{SelectPolicy: SelectDisabled},
			current: 10, desired: 1, want: 10, reason: ScaleDownLimited},
		{name: "min binds before the policy", down: &Rules{Policies: []Policy{{PodsPolicy, 100, 60}}},
			current: 10, desired: 0, want: 1, reason: AtMin},
		{name: "default scale-down lets everything go", current: 40, desired: 3, want: 3, reason: Unlimited},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			down := tc.down
			if down == nil {
				down = &Rules{}
			}
			if down.StabilizationWindowSeconds == nil {
				down.StabilizationWindowSeconds = i32(0)
			}
			hpa := HPA{MinReplicas: 1, MaxReplicas: 200, Behavior: &Behavior{ScaleUp: tc.up, ScaleDown: down}}
			st := settled()
			st.ScaleUpEvents, st.ScaleDownEvents = tc.upEv, tc.downEv
			// status = current, so usage/target = desired exactly.
			d := Sync(t0, hpa, running(tc.current), []MetricInput{avg(float64(tc.desired), 1)}, st, DefaultConfig())
			if d.Desired != tc.desired {
				t.Fatalf("Desired = %d, want %d: the metric is wrong", d.Desired, tc.desired)
			}
			if d.Replicas != tc.want || d.Reason != tc.reason {
				t.Errorf("Sync() = %d (%s), want %d (%s)", d.Replicas, d.Reason, tc.want, tc.reason)
			}
		})
	}
}

func TestLegacyLimits(t *testing.T) {
	cases := []struct {
		name     string
		min, max int32
		current  int32
		desired  int32
		want     int32
		reason   Reason
	}{
		{name: "from 2 the cap is 4", min: 1, max: 100, current: 2, desired: 20, want: 4, reason: ScaleUpLimited},
		{name: "from 10 the cap is 20", min: 1, max: 100, current: 10, desired: 50, want: 20, reason: ScaleUpLimited},
		{name: "max below the cap", min: 1, max: 15, current: 10, desired: 50, want: 15, reason: AtMax},
		{name: "max equal to the cap is AtMax", min: 1, max: 20, current: 10, desired: 50, want: 20, reason: AtMax},
		{name: "under the cap", min: 1, max: 100, current: 10, desired: 19, want: 19, reason: Unlimited},
		{name: "below min", min: 3, max: 100, current: 10, desired: 1, want: 3, reason: AtMin},
		{name: "no scale-down limit", min: 1, max: 100, current: 90, desired: 1, want: 1, reason: Unlimited},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Sync(t0, HPA{MinReplicas: tc.min, MaxReplicas: tc.max}, running(tc.current),
				[]MetricInput{avg(float64(tc.desired), 1)}, settled(), DefaultConfig())
			if d.Replicas != tc.want || d.Reason != tc.reason {
				t.Errorf("Sync() = %d (%s), want %d (%s)", d.Replicas, d.Reason, tc.want, tc.reason)
			}
		})
	}
}

// TestStabilization checks both windows. The history is given relative to
// now; a nil history is a freshly started controller.
func TestStabilization(t *testing.T) {
	rec := func(n int32, age time.Duration) Recommendation { return Recommendation{Replicas: n, Time: ago(age)} }
	window := func(up, down int32) *Behavior {
		return &Behavior{ScaleUp: &Rules{StabilizationWindowSeconds: i32(up)}, ScaleDown: &Rules{StabilizationWindowSeconds: i32(down)}}
	}
	cases := []struct {
		name    string
		b       *Behavior
		history []Recommendation
		current int32
		desired int32
		want    int32
		reason  Reason
	}{
		{name: "legacy: a higher one within 5 min holds", history: []Recommendation{rec(8, 4*time.Minute)},
			current: 10, desired: 3, want: 8, reason: StabilizationWindow},
		{name: "legacy: exactly 5 min old still counts", history: []Recommendation{rec(8, 5*time.Minute)},
			current: 10, desired: 3, want: 8, reason: StabilizationWindow},
		{name: "legacy: older than 5 min is forgotten", history: []Recommendation{rec(8, 5*time.Minute+time.Second)},
			current: 10, desired: 3, want: 3, reason: Unlimited},
		{name: "legacy: a past high pulls the count up", history: []Recommendation{rec(12, time.Minute)},
			current: 10, desired: 10, want: 12, reason: StabilizationWindow},
		{name: "legacy: first sync holds the current count", history: nil,
			current: 10, desired: 3, want: 10, reason: StabilizationWindow},

		{name: "down: the highest within the window", b: window(0, 300), history: []Recommendation{rec(6, 200*time.Second), rec(8, 100*time.Second)},
			current: 10, desired: 2, want: 8, reason: StabilizationWindow},
		{name: "down: exactly at the cutoff is out", b: window(0, 300), history: []Recommendation{rec(8, 300*time.Second)},
			current: 10, desired: 2, want: 2, reason: Unlimited},
		{name: "down: never above current", b: window(0, 300), history: []Recommendation{rec(20, 10*time.Second)},
			current: 10, desired: 2, want: 10, reason: StabilizationWindow},
		{name: "down: first sync holds the current count", b: window(0, 300), history: nil,
			current: 10, desired: 2, want: 10, reason: StabilizationWindow},
		{name: "down: window 0 follows at once", b: window(0, 0), history: []Recommendation{rec(9, time.Second)},
			current: 10, desired: 2, want: 2, reason: Unlimited},
		{name: "up: the lowest within the window", b: window(60, 0), history: []Recommendation{rec(4, 30*time.Second), rec(6, 15*time.Second)},
			current: 3, desired: 10, want: 4, reason: StabilizationWindow},
		{name: "up: never below current", b: window(60, 0), history: []Recommendation{rec(1, 30*time.Second)},
			current: 3, desired: 10, want: 3, reason: StabilizationWindow},
		{name: "up: default window 0 ignores history", b: window(0, 300), history: []Recommendation{rec(4, time.Second)},
			current: 3, desired: 6, want: 6, reason: Unlimited},
		{name: "up: first sync with window 0 does not hold", b: window(0, 300), history: nil,
			current: 3, desired: 6, want: 6, reason: Unlimited},
		// The seed is stamped now, so any scale-up window includes it too.
		{name: "up: first sync with a window holds the current count", b: window(60, 300), history: nil,
			current: 3, desired: 6, want: 3, reason: StabilizationWindow},
		{name: "both: flapping inside both windows holds", b: window(60, 300), history: []Recommendation{rec(12, 30*time.Second), rec(4, 20*time.Second)},
			current: 8, desired: 10, want: 8, reason: StabilizationWindow},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := &State{Recommendations: tc.history}
			d := Sync(t0, HPA{MinReplicas: 1, MaxReplicas: 100, Behavior: tc.b}, running(tc.current),
				[]MetricInput{avg(float64(tc.desired), 1)}, st, DefaultConfig())
			if d.Desired != tc.desired {
				t.Fatalf("Desired = %d, want %d: the metric is wrong", d.Desired, tc.desired)
			}
			if d.Replicas != tc.want || d.Reason != tc.reason {
				t.Errorf("Sync() = %d (stabilized %d, %s), want %d (%s)", d.Replicas, d.Stabilized, d.Reason, tc.want, tc.reason)
			}
		})
	}
}

// TestReasonPrecedence: when the window and a policy both bind, the policy
// (the last stage) is the reason.
func TestReasonPrecedence(t *testing.T) {
	hpa := HPA{MinReplicas: 1, MaxReplicas: 100, Behavior: &Behavior{ScaleDown: &Rules{Policies: []Policy{{PodsPolicy, 1, 60}}}}}
	st := &State{Recommendations: []Recommendation{{Replicas: 8, Time: ago(time.Minute)}}}
	d := Sync(t0, hpa, running(10), []MetricInput{avg(2, 1)}, st, DefaultConfig())
	if d.Desired != 2 || d.Stabilized != 8 || d.Replicas != 9 || d.Reason != ScaleDownLimited {
		t.Errorf("Sync() = desired %d, stabilized %d, replicas %d (%s); want 2, 8, 9 (ScaleDownLimited)", d.Desired, d.Stabilized, d.Replicas, d.Reason)
	}
}

func TestHistorySlots(t *testing.T) {
	t.Run("recommendations reuse a slot expired under both windows", func(t *testing.T) {
		st := &State{Recommendations: []Recommendation{{4, ago(10 * time.Minute)}, {5, ago(time.Minute)}}}
		Sync(t0, HPA{MinReplicas: 1, MaxReplicas: 10, Behavior: &Behavior{}}, running(5), []MetricInput{avg(5, 1)}, st, DefaultConfig())
		want := []Recommendation{{5, t0}, {5, ago(time.Minute)}}
		if !reflect.DeepEqual(st.Recommendations, want) {
			t.Errorf("Recommendations = %+v, want %+v", st.Recommendations, want)
		}
	})
	t.Run("a slot still inside the up window is kept", func(t *testing.T) {
		b := &Behavior{ScaleUp: &Rules{StabilizationWindowSeconds: i32(900)}}
		st := &State{Recommendations: []Recommendation{{4, ago(10 * time.Minute)}}}
		Sync(t0, HPA{MinReplicas: 1, MaxReplicas: 10, Behavior: b}, running(5), []MetricInput{avg(5, 1)}, st, DefaultConfig())
		if len(st.Recommendations) != 2 {
			t.Errorf("Recommendations = %+v, want the old one kept and one appended", st.Recommendations)
		}
	})
	t.Run("events reuse the last outdated slot", func(t *testing.T) {
		st := settled()
		st.ScaleUpEvents = []ScaleEvent{{1, ago(time.Hour), false}, {2, ago(20 * time.Second), false}, {3, ago(30 * time.Minute), false}}
		b := &Behavior{ScaleUp: &Rules{Policies: []Policy{{PodsPolicy, 100, 60}}}}
		Sync(t0, HPA{MinReplicas: 1, MaxReplicas: 100, Behavior: b}, running(5), []MetricInput{avg(9, 1)}, st, DefaultConfig())
		want := []ScaleEvent{{1, ago(time.Hour), true}, {2, ago(20 * time.Second), false}, {4, t0, false}}
		if !reflect.DeepEqual(st.ScaleUpEvents, want) {
			t.Errorf("ScaleUpEvents = %+v, want %+v", st.ScaleUpEvents, want)
		}
	})
	t.Run("legacy path stores no events", func(t *testing.T) {
		st := settled()
		Sync(t0, HPA{MinReplicas: 1, MaxReplicas: 100}, running(5), []MetricInput{avg(9, 1)}, st, DefaultConfig())
		if st.ScaleUpEvents != nil || st.ScaleDownEvents != nil {
			t.Errorf("events = %+v / %+v, want none", st.ScaleUpEvents, st.ScaleDownEvents)
		}
	})
}

func TestToInt32(t *testing.T) {
	cases := []struct {
		name  string
		x     float64
		round func(float64) float64
		want  int32
	}{
		{name: "ceil", x: 2.1, round: math.Ceil, want: 3},
		{name: "trunc toward zero", x: -2.9, round: math.Trunc, want: -2},
		{name: "above int32 saturates", x: 3e9, round: math.Ceil, want: math.MaxInt32},
		{name: "below int32 saturates", x: -3e9, round: math.Trunc, want: math.MinInt32},
		{name: "NaN is 0", x: math.NaN(), round: math.Ceil, want: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := toInt32(tc.x, tc.round); got != tc.want {
				t.Errorf("toInt32(%v) = %d, want %d", tc.x, got, tc.want)
			}
		})
	}
}
