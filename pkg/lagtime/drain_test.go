package lagtime

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestDrainCapacity(t *testing.T) {
	tests := []struct {
		name          string
		n, partitions int
		per, want     float64
	}{
		{"none", 0, 12, 20, 0},
		{"one holds all", 1, 12, 20, 20},
		{"even split", 4, 12, 20, 80},
		{"uneven split drains like the busiest member", 5, 12, 20, 80},
		{"7 to 11 on 12 are worth 6", 9, 12, 20, 120},
		{"one partition each", 12, 12, 20, 240},
		{"beyond the partitions idle", 20, 12, 20, 240},
		{"partitions unknown", 5, 0, 20, 100},
		{"10 partitions on 3: 4+3+3", 3, 10, 20, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DrainCapacity(tt.n, tt.partitions, tt.per); math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("DrainCapacity(%d, %d, %v) = %v, want %v", tt.n, tt.partitions, tt.per, got, tt.want)
			}
		})
	}
}

func TestDrainReplicas(t *testing.T) {
	rates := func(produce, per float64) Estimate { return Estimate{ProduceRate: produce, PerConsumerRate: per} }
	twelve := func(latency time.Duration) Goal {
		return Goal{Latency: latency, Partitions: 12, Start: 30 * time.Second, Pause: 10 * time.Second}
	}
	tests := []struct {
		name    string
		lag     float64
		e       Estimate
		current int
		g       Goal
		want    int
		ok      bool
		reason  string // a substring of the reason
	}{
		// Need after start-up and rebalance: 100/s + (3600 + 100*40 - 20*30)/60 = 216.7/s;
		// 6 consumers drain 120/s, 7 to 11 no more: only 12 do.
		{"burst from one goes to every partition", 3600, rates(100, 20), 1, twelve(time.Minute), 12, true, "every partition"},
		// With a 10-minute goal the need is 111.7/s: 6 (120/s), not 5 (80/s).
		{"burst, long goal: an even split", 3600, rates(100, 20), 1, twelve(10 * time.Minute), 6, true, "-> 6"},
		{"current meets the goal and stays", 50, rates(100, 20), 6, twelve(time.Minute), 6, true, "current count meets the goal"},
		// 50/s + 500/60 during the pause = 58.3/s; 4 consumers drain 80/s, 80% of it is 64.
		{"scale down to the smallest count within margin", 0, rates(50, 20), 12, twelve(time.Minute), 4, true, "within 80%"},
		// 4 drain 80/s >= 70/s but 80% of it (64) is below 70 + 700/60.
		{"no scale-down that only just meets the goal", 0, rates(70, 20), 6, twelve(time.Minute), 6, true, "current count"},
		// need 90 + (90*40 - 80*30)/60 = 110/s: 5 (still 80/s) is skipped for 6.
		{"an uneven count is skipped", 0, rates(90, 20), 4, twelve(time.Minute), 6, true, "-> 6"},
		{"in-between step when it is needed", 0, rates(60, 20), 2, Goal{Latency: time.Minute, Partitions: 10}, 4, true, "-> 4"},
		{"start-up delay not modelled", 1200, rates(40, 20), 2, Goal{Latency: time.Minute, Partitions: 12}, 3, true, "-> 3"},
		// (1200 + 40*40 - 40*30)/60 + 40 = 66.7/s: 4, where 3 would do with instant start.
		{"start-up delay asks for more", 1200, rates(40, 20), 2, twelve(time.Minute), 4, true, "-> 4"},
		{"partitions unknown", 3000, rates(120, 25), 1, Goal{Latency: 30 * time.Second}, 9, true, "-> 9"},
		{"from zero", 100, rates(0, 20), 0, twelve(time.Minute), 1, true, "-> 1"},
		{"nothing to do", 0, rates(0, 20), 3, twelve(time.Minute), 0, true, "-> 0"},
		{"at the partitions, still short", 0, rates(500, 20), 12, twelve(time.Minute), 12, true, "every partition"},
		{"above the partitions and short: drop the idle", 0, rates(500, 20), 15, twelve(time.Minute), 12, true, "-> 12"},
		{"margin out of range takes the default", 0, rates(50, 20), 12, Goal{Latency: time.Minute, Partitions: 12, Margin: 7}, 4, true, "within 80%"},
		{"a tighter margin keeps more", 0, rates(50, 20), 12, Goal{Latency: time.Minute, Partitions: 12, Margin: 0.5}, 6, true, "within 50%"},
		{"negative lag reads as 0", -5, rates(0, 20), 3, twelve(time.Minute), 0, true, "-> 0"},
		{"lag NaN", math.NaN(), rates(1, 20), 3, twelve(time.Minute), 0, false, "lag NaN"},
		{"lag +Inf", math.Inf(1), rates(1, 20), 3, twelve(time.Minute), 0, false, "lag +Inf"},
		{"produce NaN", 1, rates(math.NaN(), 20), 3, twelve(time.Minute), 0, false, "produce rate NaN"},
		{"per-consumer rate unknown", 1, rates(1, 0), 3, twelve(time.Minute), 0, false, "not observed yet"},
		{"per-consumer rate negative", 1, rates(1, -2), 3, twelve(time.Minute), 0, false, "per-consumer rate -2"},
		{"goal zero", 1, rates(1, 20), 3, twelve(0), 0, false, "latency goal 0s"},
		{"beyond int32 saturates", 1e300, rates(0, 1e-300), 1, Goal{Latency: time.Second}, math.MaxInt32, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, ok, reason := DrainReplicas(tt.lag, tt.e, tt.current, tt.g)
			if n != tt.want || ok != tt.ok {
				t.Errorf("DrainReplicas = %d, %v (%q); want %d, %v", n, ok, reason, tt.want, tt.ok)
			}
			if !strings.Contains(reason, tt.reason) {
				t.Errorf("reason %q does not contain %q", reason, tt.reason)
			}
		})
	}
}

// TestDrainReplicasInvariants checks the law's promises over a grid of
// inputs: the answer is within the partitions, moves only to even splits (or
// the partition count), a scale-up is the fewest even count that meets the
// need after start-up and rebalance, a scale-down meets the need within the
// margin, and staying is chosen only when the current count meets the goal.
func TestDrainReplicasInvariants(t *testing.T) {
	const per = 20.0
	checked := 0
	for _, parts := range []int{1, 3, 7, 10, 12, 16, 30} {
		for _, lag := range []float64{0, 1, 100, 1000, 5000, 50000} {
			for _, produce := range []float64{0, 5, 50, 150, 400} {
				for current := 0; current <= parts+2; current++ {
					g := Goal{Latency: 45 * time.Second, Partitions: parts, Start: 20 * time.Second, Pause: 10 * time.Second}
					n, ok, reason := DrainReplicas(lag, Estimate{ProduceRate: produce, PerConsumerRate: per}, current, g)
					if !ok {
						t.Fatalf("not ok: %s", reason)
					}
					checked++
					if err := drainInvariant(lag, produce, per, current, g, n); err != "" {
						t.Errorf("parts %d lag %v produce %v current %d -> %d: %s (%s)", parts, lag, produce, current, n, err, reason)
					}
				}
			}
		}
	}
	t.Logf("%d cases", checked)
}

func drainInvariant(lag, produce, per float64, current int, g Goal, n int) string {
	parts := g.Partitions
	goal := g.Latency.Seconds()
	have := DrainCapacity(current, parts, per)
	stay := produce + lag/goal
	up := produce + max(lag+produce*(g.Start+g.Pause).Seconds()-have*g.Start.Seconds(), 0)/goal
	down := produce + (lag+produce*g.Pause.Seconds())/goal
	switch {
	case lag == 0 && produce == 0:
		if n != 0 {
			return "want 0 with nothing to do"
		}
	case n > parts:
		return "above the partitions"
	case n != current && n != parts && !evenCount(n, parts):
		return "moved to an uneven count"
	case n > current:
		if have >= stay && current > 0 {
			return "scaled up although the current count meets the goal"
		}
		if n != parts && DrainCapacity(n, parts, per) < up {
			return "scaled up to a count short of the need"
		}
		for c := current + 1; c < n; c++ {
			if evenCount(c, parts) && DrainCapacity(c, parts, per) >= up {
				return "a smaller even count meets the need"
			}
		}
	case n < current && current <= parts:
		if DefaultDrainMargin*DrainCapacity(n, parts, per) < down {
			return "scaled down to a count that misses the need within the margin"
		}
	case n == current && current > 0 && have < stay && current < parts:
		return "stayed although the current count misses the goal"
	}
	return ""
}
