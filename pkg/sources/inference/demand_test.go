package inference

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestDemand: the load the law sizes for is the served token rate plus
// the queue's growth over the window ÷ the window: above the served rate
// while a queue builds, below it while the queue drains, the served rate
// when the queue is flat or unknown, never negative.
func TestDemand(t *testing.T) {
	const w = 60 * time.Second
	hist := func(qs ...float64) queueHistory { // one sample every 10 s, the last at t0
		var h queueHistory
		for i, q := range qs {
			h = h.add(t0.Add(time.Duration(i-len(qs)+1)*10*time.Second), [numGoals]float64{q, math.NaN()}, w)
		}
		return h
	}
	for _, c := range []struct {
		name   string
		h      queueHistory
		window time.Duration
		served float64
		want   float64
	}{
		{"a flat queue: the served rate", hist(500, 500, 500), w, 1000, 1000},
		{"a queue built by 60,000 tokens over the window: 1000 tokens/s more", hist(0, 30000, 60000), w, 4000, 5000},
		{"a queue drained of 60,000 tokens: 1000 tokens/s less (served once, not held a window)", hist(60000, 30000, 0), w, 4000, 3000},
		{"the growth within a shorter window only", hist(0, 30000, 60000), 10 * time.Second, 4000, 4000 + 30000.0/10},
		{"never negative", hist(600000, 0), w, 4000, 0},
		{"one sample: no growth known", hist(60000), w, 4000, 4000},
		{"no samples", nil, w, 4000, 4000},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := demand(c.served, c.h, t0, c.window, goalTTFT); math.Abs(got-c.want) > 1e-9 {
				t.Errorf("demand = %v; want %v", got, c.want)
			}
		})
	}
	t.Run("unknown queue (NaN): the served rate", func(t *testing.T) {
		h := hist(0, 30000, 60000)
		if got := demand(4000, h, t0, w, goalTPOT); got != 4000 {
			t.Errorf("demand = %v; want 4000", got)
		}
	})
	t.Run("samples older than the window are dropped", func(t *testing.T) {
		h := queueHistory{}.add(t0.Add(-2*w), [numGoals]float64{1, 1}, w).add(t0, [numGoals]float64{2, 2}, w)
		if len(h) != 1 {
			t.Errorf("kept %d samples; want 1", len(h))
		}
	})
}

// TestSLODemandFollowsTheQueue: the law sizes for the demand (TestDemand),
// so a queue drained in the last stable window is not held as load for a
// window after it is empty, for either goal's work.
func TestSLODemandFollowsTheQueue(t *testing.T) {
	for _, c := range []struct {
		name       string
		ttft, tpot string
		before     sloInput // 30 s earlier
		now        sloInput
		want       int
		rule       string
	}{
		{name: "prompt tokens drained (60,000 in 30 s): sized for the 5,000 tokens/s that arrive, not the 6,000 served", ttft: "p90:500ms",
			before: withQueue(sloIn(8, 0, 6000, 0), 60000, 0), now: withQueue(withPanic(sloIn(8, 0, 6000, 0), 5000, 0), 0, 0),
			want: 7, rule: "latency goal: stable window"},
		{name: "a queue that held: the served rate holds the count", ttft: "p90:500ms",
			before: withQueue(sloIn(8, 0, 6000, 0), 1000, 0), now: withQueue(withPanic(sloIn(8, 0, 6000, 0), 5000, 0), 1000, 0),
			want: 8, rule: "latency goal: stable window"},
		{name: "generation tokens drained (18,000): sized for 1,200 tokens/s, not the 1,500 served (10 pods)", ttft: "p90:500ms", tpot: "p90:50ms",
			before: withQueue(sloIn(10, 0, 100, 1500), 0, 18000), now: withQueue(withPanic(sloIn(10, 0, 100, 1500), 100, 1200), 0, 0),
			want: 8, rule: "latency goal"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := sloWith(t, c.ttft, c.tpot, true)
			st.decide(t0, kpaDefaults(), c.before, kpaSays)
			d, _ := st.decide(t0.Add(30*time.Second), kpaDefaults(), c.now, kpaSays)
			if d.desired != c.want || !strings.Contains(d.rule, c.rule) {
				t.Errorf("decide = %d (%s); want %d (%s)", d.desired, d.rule, c.want, c.rule)
			}
		})
	}
}

func withQueue(in sloInput, prompt, gen float64) sloInput {
	in.queued, in.queuedGen, in.queuedFrom = prompt, gen, "test"
	return in
}

func withPanic(in sloInput, prompt, gen float64) sloInput {
	in.panic = [numGoals]float64{prompt, gen}
	return in
}
