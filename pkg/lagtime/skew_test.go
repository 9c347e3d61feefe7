package lagtime

import (
	"strings"
	"testing"
	"time"
)

// hot is 12 partitions with partition 0 taking 4/15 of rate messages/s
// and the others 1/15 each, lag spread like the arrivals.
func hot(rate, lag float64) []PartLoad {
	parts := make([]PartLoad, 12)
	for i := range parts {
		w := 1.0
		if i == 0 {
			w = 4
		}
		parts[i] = PartLoad{Lag: lag * w / 15, Rate: rate * w / 15}
	}
	return parts
}

// TestDrainReplicasSkew: with partition 0 taking 4/15 of 80/s and
// consumers of 25/s, 6 consumers have the capacity on an even split (150/s)
// but the one holding partitions 0 and 1 gets 80*5/15 = 26.7/s: only a
// consumer of its own for partition 0 keeps up, so the law asks for 12.
// Even loads, and loads that do not name every partition, change nothing.
func TestDrainReplicasSkew(t *testing.T) {
	g := Goal{Latency: time.Minute, Partitions: 12, Start: 30 * time.Second, Pause: 10 * time.Second}
	b := Backlog{Lag: 120, ProduceRate: 80, PerConsumerRate: 25, Consumers: 6}
	if n, _, why := DrainReplicas(b, g); n != 6 {
		t.Fatalf("even: %d (%s), want 6", n, why)
	}
	b.Parts = hot(80, 120)
	if n, _, why := DrainReplicas(b, g); n != 12 || !strings.Contains(why, "skewed: the busiest of 6 holds 2.0x its share of arrivals") {
		t.Errorf("hot partition: %d (%s), want 12, the skew explained", n, why)
	}
	b.Parts = b.Parts[:11]
	if n, _, why := DrainReplicas(b, g); n != 6 {
		t.Errorf("11 loads for 12 partitions: %d (%s), want the even answer 6", n, why)
	}
	// A hung consumer's backlog: 2,000 messages on partitions 0 and 1,
	// which of 6 consumers one holds alone, draining 25/s. On an even
	// split the law would even scale down to 3; the member holding both
	// needs each its own consumer.
	b = Backlog{Lag: 2000, ProduceRate: 50, PerConsumerRate: 25, Consumers: 6}
	stalled := make([]PartLoad, 12)
	for i := range stalled {
		stalled[i].Rate = 50.0 / 12
	}
	stalled[0].Lag, stalled[1].Lag = 1000, 1000
	if n, _, why := DrainReplicas(b, g); n != 3 {
		t.Fatalf("even: %d (%s), want 3", n, why)
	}
	b.Parts = stalled
	if n, _, why := DrainReplicas(b, g); n != 12 {
		t.Errorf("lag on two partitions: %d (%s), want 12 (each its own consumer)", n, why)
	}
}

// TestDrainReplicasSkewInvariants: over a grid, loads spread evenly give
// exactly the answer without loads, and skewed loads never fewer
// consumers than the even answer (the busiest member's share is at least
// its even share).
func TestDrainReplicasSkewInvariants(t *testing.T) {
	g := Goal{Latency: time.Minute, Partitions: 12, Start: 30 * time.Second, Pause: 10 * time.Second}
	checked := 0
	for _, lag := range []float64{0, 50, 600, 3000, 20000} {
		for _, produce := range []float64{0, 10, 40, 80, 200} {
			for _, current := range []int{0, 1, 2, 3, 4, 6, 7, 12, 14} {
				for _, hotShare := range []float64{1, 2, 4, 11} {
					b := Backlog{Lag: lag, ProduceRate: produce, PerConsumerRate: 25, Consumers: current}
					even, _, _ := DrainReplicas(b, g)
					b.Parts = make([]PartLoad, 12)
					for i := range b.Parts {
						b.Parts[i] = PartLoad{Lag: lag / 12, Rate: produce / 12}
					}
					if n, _, why := DrainReplicas(b, g); n != even {
						t.Fatalf("lag %v produce %v current %d: even loads give %d (%s), no loads %d", lag, produce, current, n, why, even)
					}
					w := (hotShare + 11) / 12 // partition 0 weighs hotShare, the others 1
					b.Parts[0] = PartLoad{Lag: lag * hotShare / 12 / w, Rate: produce * hotShare / 12 / w}
					for i := 1; i < 12; i++ {
						b.Parts[i] = PartLoad{Lag: lag / 12 / w, Rate: produce / 12 / w}
					}
					if n, _, why := DrainReplicas(b, g); n < even {
						t.Fatalf("lag %v produce %v current %d hot x%v: %d (%s), fewer than even %d", lag, produce, current, hotShare, n, why, even)
					}
					checked++
				}
			}
		}
	}
	t.Logf("%d inputs", checked)
}

// TestMarksRate: the rate over a window is the log end's growth since
// its start, interpolated between marks, over the window; over the
// history when it is shorter; not known from one mark.
func TestMarksRate(t *testing.T) {
	var m Marks
	m.Add(at(0), 0)
	if _, ok := m.Rate(at(0), time.Minute); ok {
		t.Error("one mark: rate known")
	}
	m.Add(at(10), 100)
	m.Add(at(20), 100) // stood still until 20
	m.Add(at(30), 400)
	for _, tc := range []struct {
		window time.Duration
		want   float64
	}{
		{time.Minute, 400.0 / 30},      // the history is 30 s
		{15 * time.Second, 300.0 / 15}, // from 15 s: 100, stood still
		{5 * time.Second, 150.0 / 5},   // from 25 s: halfway from 100 (at 20) to 400 (at 30)
		{0, 0},
	} {
		got, ok := m.Rate(at(30), tc.window)
		if got != tc.want || ok != (tc.window > 0) {
			t.Errorf("Rate(30 s, %v) = %v, %v; want %v", tc.window, got, ok, tc.want)
		}
	}
}

// TestStalls: a partition is stalled once its committed offset stood
// still with lag for the stall time (at least two commit intervals);
// progress or no lag restarts the clock.
func TestStalls(t *testing.T) {
	var s Stalls
	steps := []struct {
		sec       float64
		committed int64
		lag       int64
		want      bool
	}{
		{0, 10, 5, false},
		{8, 10, 9, false},
		{10, 10, 11, true}, // 10 s with lag, no commit
		{12, 11, 12, false},
		{20, 11, 0, false}, // caught up
		{26, 11, 3, false}, // lag again from 26
		{36, 11, 3, true},
	}
	for _, st := range steps {
		if got := s.Observe("p0", at(st.sec), st.committed, st.lag, time.Second); got != st.want {
			t.Errorf("at %v s committed %d lag %d: stalled %v, want %v", st.sec, st.committed, st.lag, got, st.want)
		}
	}
}

// TestStepStalled: intervals with a stalled partition give no
// PerConsumerRate sample, though the total lag is a backlog: the members
// that keep up consume the arrivals, not their capacity, and the hung one
// nothing.
func TestStepStalled(t *testing.T) {
	obs := seq(one(q(0, 10_000, 0, 2)), ramp(q(0, 10_000, 0, 2), 2, 20, 50, 40))
	if e := fold(obs, Config{}); e.PerConsumerRate == 0 {
		t.Fatal("saturated: no PerConsumerRate")
	}
	for i := range obs {
		obs[i].Stalled = true
	}
	if e := fold(obs, Config{}); e.PerConsumerRate != 0 {
		t.Errorf("stalled: PerConsumerRate %v, want none", e.PerConsumerRate)
	}
}
