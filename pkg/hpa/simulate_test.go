package hpa

import (
	"reflect"
	"testing"
	"time"
)

// sample is one point of a recorded metric trace: the usage from at onwards.
type sample struct {
	at    time.Duration
	usage float64
}

// burstThenDrain is a queue that idles at 2 consumers' worth of work, bursts
// to 15 for two minutes, then drains to 1.
var burstThenDrain = []sample{
	{0, 20},
	{1 * time.Minute, 150},
	{3 * time.Minute, 10},
}

func usageAt(trace []sample, at time.Duration) float64 {
	u := trace[0].usage
	for _, s := range trace {
		if s.at <= at {
			u = s.usage
		}
	}
	return u
}

// step is a point where the replica count changed.
type step struct {
	at       time.Duration
	replicas int32
	reason   Reason
}

// replay runs Sync every cfg.SyncPeriod from t0 for d, with pods that start
// and become ready at once, and returns the steps and the final state.
func replay(t *testing.T, hpa HPA, trace []sample, start int32, d time.Duration, cfg Config) ([]step, *State, map[time.Duration]Decision) {
	t.Helper()
	st := &State{}
	replicas := start
	var steps []step
	all := map[time.Duration]Decision{}
	for at := time.Duration(0); at <= d; at += cfg.SyncPeriod {
		dec := Sync(t0.Add(at), hpa, running(replicas), []MetricInput{avg(usageAt(trace, at), 10)}, st, cfg)
		all[at] = dec
		if dec.Replicas < 0 || dec.Replicas < hpa.MinReplicas || dec.Replicas > hpa.MaxReplicas {
			t.Fatalf("at %v: %d replicas outside [%d, %d]", at, dec.Replicas, hpa.MinReplicas, hpa.MaxReplicas)
		}
		if dec.Replicas != replicas {
			steps = append(steps, step{at, dec.Replicas, dec.Reason})
			replicas = dec.Replicas
		}
		// Upstream reuses one expired slot per sync, so the history stays
		// about one window of syncs long.
		if limit := int(cfg.DownscaleStabilization/cfg.SyncPeriod) + 2; len(st.Recommendations) > limit {
			t.Fatalf("at %v: %d recommendations kept, want at most %d", at, len(st.Recommendations), limit)
		}
	}
	return steps, st, all
}

// TestSimulateLegacy replays the trace against an HPA without behavior, as
// KEDA creates by default: scale-up doubles per sync, and the 5-minute window
// holds 15 replicas after the drain, then drops to 1 in one step.
func TestSimulateLegacy(t *testing.T) {
	cfg := DefaultConfig()
	steps, _, all := replay(t, HPA{MinReplicas: 1, MaxReplicas: 20}, burstThenDrain, 1, 15*time.Minute, cfg)
	want := []step{
		{0, 2, Unlimited},
		{60 * time.Second, 4, ScaleUpLimited}, // max(2*2, 4)
		{75 * time.Second, 8, ScaleUpLimited}, // 2*4
		{90 * time.Second, 15, Unlimited},     // under 2*8
		// The drain starts at 180 s; the last recommendation of 15 was at
		// 165 s and still counts at 465 s (the legacy cutoff is inclusive).
		{480 * time.Second, 1, Unlimited},
	}
	if !reflect.DeepEqual(steps, want) {
		t.Errorf("steps =\n%v\nwant\n%v", steps, want)
	}
	for _, at := range []time.Duration{180 * time.Second, 465 * time.Second} {
		if d := all[at]; d.Desired != 1 || d.Replicas != 15 || d.Reason != StabilizationWindow {
			t.Errorf("at %v: %+v, want desired 1 held at 15 by the window", at, d)
		}
	}
}

// TestSimulateBehavior replays the trace against an HPA whose scale-down is
// limited to 4 pods a minute, with the default 5-minute window (from the
// controller flag) and default scale-up rules.
func TestSimulateBehavior(t *testing.T) {
	cfg := DefaultConfig()
	hpa := HPA{MinReplicas: 1, MaxReplicas: 20, Behavior: &Behavior{
		ScaleDown: &Rules{Policies: []Policy{{PodsPolicy, 4, 60}}},
	}}
	steps, st, all := replay(t, hpa, burstThenDrain, 1, 15*time.Minute, cfg)
	want := []step{
		{0, 2, Unlimited},
		{60 * time.Second, 6, ScaleUpLimited},  // max(2+4, 2*2)
		{75 * time.Second, 12, ScaleUpLimited}, // the +4 at 60 s is not After the 15 s cutoff: max(6+4, 2*6)
		{90 * time.Second, 15, Unlimited},
		// The behavior cutoff is exclusive, so the window lets go at 465 s,
		// one sync earlier than the legacy path; then 4 pods per minute.
		{465 * time.Second, 11, ScaleDownLimited},
		{525 * time.Second, 7, ScaleDownLimited},
		{585 * time.Second, 3, ScaleDownLimited},
		{645 * time.Second, 1, Unlimited},
	}
	if !reflect.DeepEqual(steps, want) {
		t.Errorf("steps =\n%v\nwant\n%v", steps, want)
	}
	if d := all[480*time.Second]; d.Stabilized != 1 || d.Replicas != 11 || d.Reason != ScaleDownLimited {
		t.Errorf("at 480s: %+v, want stabilized 1 held at 11 by the policy", d)
	}
	// Scale-ups of 1 (0 s), 4 (60 s), 6 (75 s), 3 (90 s) in two slots: each
	// store reuses the last slot older than the 15 s longest period (the 1
	// at 60 s, the 4 at 90 s), and the 4 at 60 s is not older at 75 s.
	var ups []int32
	for _, e := range st.ScaleUpEvents {
		ups = append(ups, e.Change)
	}
	if want := []int32{3, 6}; !reflect.DeepEqual(ups, want) {
		t.Errorf("scale-up events = %v, want %v", ups, want)
	}
}

// TestSimulateRestart shows the seed: a controller that starts (or restarts)
// while a workload is over-provisioned holds it for the full window.
func TestSimulateRestart(t *testing.T) {
	cfg := DefaultConfig()
	idle := []sample{{0, 10}}
	steps, _, _ := replay(t, HPA{MinReplicas: 1, MaxReplicas: 20, Behavior: &Behavior{}}, idle, 12, 10*time.Minute, cfg)
	// The seed {12, 0 s} leaves the window after 300 s (exclusive cutoff).
	if want := []step{{300 * time.Second, 1, Unlimited}}; !reflect.DeepEqual(steps, want) {
		t.Errorf("steps = %v, want %v", steps, want)
	}
}
