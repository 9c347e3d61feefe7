package demo

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestInferenceLatencyGoalLearned drives the demo's vLLM pool on a
// simulated clock (no sleeping) at three steady loads on four replicas and
// evaluates the scrape trigger as the demo does every tick: the pods'
// single-server queues give the latency-goal mode a curve to learn, it
// comes into force, and the summary shows the learned capacity, the
// predicted percentile at the current and the proposed count, and the
// rule. The capacity is within a factor of two of the pods' true 1,000
// prompt tokens/s, not closer: the router sends each request to the pod
// with the fewest in hand, which keeps latency flatter near saturation than
// the one-queue-per-replica curve the mode fits (it learns about 1,600).
func TestInferenceLatencyGoalLearned(t *testing.T) {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	w, err := newInferenceWorkload(InferenceOptions{Model: "m", Pods: 4, PodRate: 2, MaxRunning: 4,
		TargetRequestRate: 1.5, TargetWaiting: 4, TargetTTFT: "p90:3s", StableWindow: 6 * time.Second,
		ZeroGrace: 5 * time.Second, RateScale: 1, Now: func() time.Time { return now }, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for sec := range 240 {
		rate := []float64{2, 4, 6, 7}[sec/60] // requests/s over 4 pods of 2/s: 25% to 88% busy
		if _, _, _, err := w.Step(t.Context(), 4, rate, 1); err != nil {
			t.Fatal(err)
		}
		w.Explain(t.Context(), []float64{4, 4}, []bool{false, false})
		now = now.Add(time.Second)
	}
	sum := strings.Join(w.Summary(), "\n")
	t.Log(sum)
	if w.goal.decisions == 0 {
		t.Fatalf("the latency goal never came into force:\n%s", sum)
	}
	for _, want := range []string{"source      value ", "(latency goal: ", "predicted p90 at 4: ", "observed ", "HPA model   4 -> "} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
	m := regexp.MustCompile(`learned prefill capacity ([0-9.e+]+) tokens/s per replica`).FindStringSubmatch(sum)
	if m == nil {
		t.Fatalf("summary shows no learned capacity:\n%s", sum)
	}
	if c, _ := strconv.ParseFloat(m[1], 64); c < 500 || c > 2000 {
		t.Errorf("learned capacity %v tokens/s per replica; the pods serve 1000 (2 requests/s of 500 tokens)", c)
	}
}
