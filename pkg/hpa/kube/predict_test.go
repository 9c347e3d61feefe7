package kube

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/tide-scaler/tide/pkg/hpa"
)

// t0 is an arbitrary wall time; only differences from it matter.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var ref0 = Ref{Namespace: "ns", ScaledObject: "orders"}

// ext is an External metric of the HPA with an AverageValue target.
func ext(name string, target int64, current *int64) Metric {
	return Metric{Name: name, Kind: autoscalingv2.ExternalMetricSourceType,
		Target: hpa.MetricTarget{Type: hpa.AverageValue, Milli: target}, Current: current}
}

// replicasMetric is what replicas mode makes: AverageValue 1.
var replicasMetric = ext("s0-queue-jobs", 1000, nil)

func snap(h hpa.HPA, replicas int32, metrics ...Metric) Snapshot {
	return Snapshot{HPAName: "keda-hpa-orders", HPA: h, Metrics: metrics,
		Current: hpa.Current{Spec: replicas, Status: replicas, Ready: replicas}}
}

func hasNote(notes []string, sub string) bool {
	for _, n := range notes {
		if strings.Contains(n, sub) {
			return true
		}
	}
	return false
}

func TestPredictOneSync(t *testing.T) {
	legacy := hpa.HPA{MinReplicas: 1, MaxReplicas: 20}
	upTol0 := hpa.HPA{MinReplicas: 1, MaxReplicas: 20, Behavior: &hpa.Behavior{ScaleUp: &hpa.Rules{Tolerance: ptr(0.0)}}}
	gateOff := hpa.DefaultConfig()
	gateOff.ConfigurableTolerance = false
	cases := []struct {
		name  string
		cfg   hpa.Config
		s     Snapshot
		ours  map[string]float64
		want  int32
		rule  hpa.Reason
		notes []string
	}{
		{name: "first sync is seeded: no scale-down within the window", s: snap(legacy, 10, replicasMetric),
			ours: map[string]float64{"s0-queue-jobs": 5}, want: 10, rule: hpa.StabilizationWindow, notes: []string{"seeded at 10"}},
		{name: "tolerance trap: 11 at 10 stays under the default band", s: snap(legacy, 10, replicasMetric),
			ours: map[string]float64{"s0-queue-jobs": 11}, want: 10, rule: hpa.WithinTolerance},
		{name: "tolerance trap: scaleUp tolerance 0 moves to 11", s: snap(upTol0, 10, replicasMetric),
			ours: map[string]float64{"s0-queue-jobs": 11}, want: 11, rule: hpa.Unlimited},
		{name: "tolerance trap: the gate off ignores tolerance 0", cfg: gateOff, s: snap(upTol0, 10, replicasMetric),
			ours: map[string]float64{"s0-queue-jobs": 11}, want: 10, rule: hpa.WithinTolerance},
		{name: "AtMax", s: snap(hpa.HPA{MinReplicas: 1, MaxReplicas: 12}, 10, replicasMetric),
			ours: map[string]float64{"s0-queue-jobs": 30}, want: 12, rule: hpa.AtMax},
		{name: "a metric not in ours uses its status value", s: snap(legacy, 10, replicasMetric, ext("s1-other", 1000, ptr[int64](16000))),
			ours: map[string]float64{"s0-queue-jobs": 5}, want: 16, rule: hpa.Unlimited},
		{name: "a metric with neither is failed: no scale-down on partial data",
			s:    snap(legacy, 10, replicasMetric, ext("s1-other", 1000, nil)),
			ours: map[string]float64{"s0-queue-jobs": 5}, want: 10, rule: hpa.PartialData, notes: []string{`"s1-other" has no value`}},
		{name: "cpu is left out and said so",
			s:    snap(legacy, 10, replicasMetric, Metric{Name: "cpu", Kind: autoscalingv2.ResourceMetricSourceType}),
			ours: map[string]float64{"s0-queue-jobs": 12}, want: 12, rule: hpa.Unlimited, notes: []string{`Resource metric "cpu" not modelled`}},
		{name: "a value for a metric the HPA lacks is said so", s: snap(legacy, 10, replicasMetric),
			ours: map[string]float64{"s0-queue-jobs": 10, "s7-gone": 3}, want: 10, rule: hpa.WithinTolerance, notes: []string{`"s7-gone" is not`}},
		{name: "paused", s: snap(legacy, 0, replicasMetric), ours: map[string]float64{"s0-queue-jobs": 5}, want: 0, rule: hpa.Paused},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			if cfg == (hpa.Config{}) {
				cfg = hpa.DefaultConfig()
			}
			p := NewPredictor(cfg).Predict(t0, ref0, tc.s, tc.ours)
			if p.Replicas != tc.want || p.Rule != string(tc.rule) {
				t.Errorf("Predict() = %d (%s), want %d (%s); notes %q", p.Replicas, p.Rule, tc.want, tc.rule, p.Notes)
			}
			if p.Decision.Replicas != p.Replicas || string(p.Decision.Reason) != p.Rule {
				t.Errorf("Decision %+v disagrees with the prediction", p.Decision)
			}
			for _, n := range tc.notes {
				if !hasNote(p.Notes, n) {
					t.Errorf("notes %q lack %q", p.Notes, n)
				}
			}
		})
	}
}

// step is one prediction of a sequence.
type step struct {
	at     time.Duration // after t0
	spec   int32
	value  float64
	want   int32
	rule   hpa.Reason
	seeded bool // whether the notes say the history was seeded
}

func runSteps(t *testing.T, p *Predictor, h hpa.HPA, steps []step) {
	t.Helper()
	for _, st := range steps {
		got := p.Predict(t0.Add(st.at), ref0, snap(h, st.spec, replicasMetric), map[string]float64{"s0-queue-jobs": st.value})
		if got.Replicas != st.want || got.Rule != string(st.rule) {
			t.Errorf("at %s (spec %d, value %g): %d (%s), want %d (%s)", st.at, st.spec, st.value, got.Replicas, got.Rule, st.want, st.rule)
		}
		if s := hasNote(got.Notes, "seeded"); s != st.seeded {
			t.Errorf("at %s: seeded note %v, want %v", st.at, s, st.seeded)
		}
	}
}

func TestPredictStabilizationWindowExpires(t *testing.T) {
	// The seed (10 at t0) holds the count for the legacy 5-minute window,
	// which includes its edge; then the recorded 5s take over.
	steps := []step{{at: 0, spec: 10, value: 5, want: 10, rule: hpa.StabilizationWindow, seeded: true}}
	for at := 15 * time.Second; at <= 5*time.Minute; at += 15 * time.Second {
		steps = append(steps, step{at: at, spec: 10, value: 5, want: 10, rule: hpa.StabilizationWindow})
	}
	steps = append(steps, step{at: 5*time.Minute + 15*time.Second, spec: 10, value: 5, want: 5, rule: hpa.Unlimited})
	runSteps(t, NewPredictor(hpa.DefaultConfig()), hpa.HPA{MinReplicas: 1, MaxReplicas: 20}, steps)
}

func TestPredictRecordsOncePerSyncPeriod(t *testing.T) {
	h := hpa.HPA{MinReplicas: 1, MaxReplicas: 40}
	runSteps(t, NewPredictor(hpa.DefaultConfig()), h, []step{
		{at: 0, spec: 10, value: 10, want: 10, rule: hpa.WithinTolerance, seeded: true},
		// 1s later: predicted, not recorded, so it cannot hold the count up.
		{at: time.Second, spec: 10, value: 20, want: 20, rule: hpa.Unlimited},
		{at: 2 * time.Second, spec: 10, value: 5, want: 10, rule: hpa.StabilizationWindow},
		// A sync period after the last record: recorded, and now it holds.
		{at: 15 * time.Second, spec: 10, value: 20, want: 20, rule: hpa.Unlimited},
		{at: 16 * time.Second, spec: 10, value: 5, want: 20, rule: hpa.StabilizationWindow},
	})
}

func TestPredictRecordsWhenSpecChanges(t *testing.T) {
	h := hpa.HPA{MinReplicas: 1, MaxReplicas: 40}
	runSteps(t, NewPredictor(hpa.DefaultConfig()), h, []step{
		{at: 0, spec: 10, value: 10, want: 10, rule: hpa.WithinTolerance, seeded: true},
		// The controller rescaled: this prediction is recorded at once.
		{at: time.Second, spec: 20, value: 20, want: 20, rule: hpa.WithinTolerance},
		{at: 2 * time.Second, spec: 20, value: 5, want: 20, rule: hpa.StabilizationWindow},
	})
}

func TestPredictForgetReseeds(t *testing.T) {
	p := NewPredictor(hpa.DefaultConfig())
	h := hpa.HPA{MinReplicas: 1, MaxReplicas: 40}
	runSteps(t, p, h, []step{
		{at: 0, spec: 20, value: 20, want: 20, rule: hpa.WithinTolerance, seeded: true},
		{at: 15 * time.Second, spec: 20, value: 5, want: 20, rule: hpa.StabilizationWindow},
	})
	p.Forget(ref0)
	runSteps(t, p, h, []step{
		// The seed is now 5: nothing remembers 20.
		{at: 30 * time.Second, spec: 5, value: 5, want: 5, rule: hpa.WithinTolerance, seeded: true},
	})
	other := ref0
	other.ScaledObject = "other"
	if got := p.Predict(t0, other, snap(h, 3, replicasMetric), nil); !hasNote(got.Notes, "seeded at 3") {
		t.Errorf("another ref shares history: notes %q", got.Notes)
	}
}

// predicted is what a script compares of a Prediction.
type predicted struct {
	replicas int32
	rule     string
	seeded   bool
}

// predictScript drives one ScaledObject through 60 polls 5 s apart, the
// controller applying every prediction, with its history forgotten halfway.
func predictScript(p *Predictor, r Ref, seed int) []predicted {
	h := hpa.HPA{MinReplicas: 1, MaxReplicas: 40}
	spec := int32(5 + seed)
	var out []predicted
	for j := range 60 {
		if j == 30 {
			p.Forget(r)
		}
		v := float64((j*7 + seed*3) % 37)
		got := p.Predict(t0.Add(time.Duration(j)*5*time.Second), r, snap(h, spec, replicasMetric), map[string]float64{"s0-queue-jobs": v})
		out = append(out, predicted{got.Replicas, got.Rule, hasNote(got.Notes, "seeded")})
		spec = got.Replicas
	}
	return out
}

// TestPredictConcurrent: one Predictor shared by goroutines predicting for
// different ScaledObjects gives each exactly what a Predictor of its own
// gives it in sequence; goroutines predicting the same poll of one
// ScaledObject at once seed its history once (run with -race).
func TestPredictConcurrent(t *testing.T) {
	const n = 8
	cfg := hpa.DefaultConfig()
	ref := func(i int) Ref { return Ref{Namespace: "ns", ScaledObject: fmt.Sprintf("so-%d", i)} }
	want := make([][]predicted, n)
	for i := range n {
		want[i] = predictScript(NewPredictor(cfg), ref(i), i)
		counts := map[int32]bool{}
		for _, w := range want[i] {
			counts[w.replicas] = true
		}
		if len(counts) < 3 {
			t.Fatalf("script %d predicts only %v: too flat to tell histories apart", i, counts)
		}
	}
	shared := NewPredictor(cfg)
	got := make([][]predicted, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			got[i] = predictScript(shared, ref(i), i)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Errorf("%s poll %d: shared predictor %+v; alone %+v", ref(i).ScaledObject, j, got[i][j], want[i][j])
				break
			}
		}
	}

	// The same poll of one ScaledObject from many KEDA replicas at once:
	// the first seeds, the others see its history, whatever the order.
	// Many metrics make each prediction long enough for the polls to overlap.
	h := hpa.HPA{MinReplicas: 1, MaxReplicas: 40}
	metrics, ours := make([]Metric, 200), map[string]float64{}
	for i := range metrics {
		metrics[i] = ext(fmt.Sprintf("s%d-queue-jobs", i), 1000, nil)
		ours[metrics[i].Name] = float64(4 + i%3)
	}
	poll := func(p *Predictor, r Ref) Prediction {
		return p.Predict(t0, r, snap(h, 10, metrics...), ours)
	}
	alone := NewPredictor(cfg)
	first, next := poll(alone, ref0), poll(alone, ref0)
	for round := range 200 {
		r := Ref{Namespace: "ns", ScaledObject: fmt.Sprintf("same-%d", round)}
		results := make([]Prediction, 16)
		start := make(chan struct{})
		for i := range results {
			wg.Go(func() {
				<-start
				results[i] = poll(shared, r)
			})
		}
		close(start)
		wg.Wait()
		seeds := 0
		for _, got := range results {
			want := next
			if hasNote(got.Notes, "seeded") {
				seeds++
				want = first
			}
			if got.Replicas != want.Replicas || got.Rule != want.Rule {
				t.Fatalf("%s: concurrent poll %d (%s); in sequence %d (%s)", r.ScaledObject, got.Replicas, got.Rule, want.Replicas, want.Rule)
			}
		}
		if seeds != 1 {
			t.Fatalf("%s: %d concurrent polls seeded the history; want exactly 1", r.ScaledObject, seeds)
		}
	}
}
