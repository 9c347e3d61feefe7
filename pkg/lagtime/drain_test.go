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
	bl := func(lag, produce, per float64, current int) Backlog {
		return Backlog{Lag: lag, ProduceRate: produce, PerConsumerRate: per, Consumers: current}
	}
	twelve := func(latency time.Duration) Goal {
		return Goal{Latency: latency, Partitions: 12, Start: 30 * time.Second, Pause: 10 * time.Second}
	}
	tests := []struct {
		name   string
		b      Backlog
		g      Goal
		want   int
		ok     bool
		reason string // a substring of the reason
	}{
		// Need after start-up and rebalance: 100/s + (3600 + 100*40 - 20*30)/60 = 216.7/s;
		// 6 consumers drain 120/s, 7 to 11 no more: only 12 do.
		{"burst from one goes to every partition", bl(3600, 100, 20, 1), twelve(time.Minute), 12, true, "every partition"},
		// With a 10-minute goal the need is 111.7/s: 6 (120/s), not 5 (80/s).
		{"burst, long goal: an even split", bl(3600, 100, 20, 1), twelve(10 * time.Minute), 6, true, "-> 6"},
		{"current meets the goal and stays", bl(50, 100, 20, 6), twelve(time.Minute), 6, true, "current count meets the goal"},
		// 50/s + 500/60 during the pause = 58.3/s; 4 consumers drain 80/s, 80% of it is 64.
		{"scale down to the smallest count within margin", bl(0, 50, 20, 12), twelve(time.Minute), 4, true, "within 80%"},
		// 4 drain 80/s >= 70/s but 80% of it (64) is below 70 + 700/60.
		{"no scale-down that only just meets the goal", bl(0, 70, 20, 6), twelve(time.Minute), 6, true, "current count"},
		// need 90 + (90*40 - 80*30)/60 = 110/s: 5 (still 80/s) is skipped for 6.
		{"an uneven count is skipped", bl(0, 90, 20, 4), twelve(time.Minute), 6, true, "-> 6"},
		{"in-between step when it is needed", bl(0, 60, 20, 2), Goal{Latency: time.Minute, Partitions: 10}, 4, true, "-> 4"},
		{"start-up delay not modelled", bl(1200, 40, 20, 2), Goal{Latency: time.Minute, Partitions: 12}, 3, true, "-> 3"},
		// (1200 + 40*40 - 40*30)/60 + 40 = 66.7/s: 4, where 3 would do with instant start.
		{"start-up delay asks for more", bl(1200, 40, 20, 2), twelve(time.Minute), 4, true, "-> 4"},
		{"partitions unknown", bl(3000, 120, 25, 1), Goal{Latency: 30 * time.Second}, 9, true, "-> 9"},
		{"from zero", bl(100, 0, 20, 0), twelve(time.Minute), 1, true, "-> 1"},
		{"nothing to do", bl(0, 0, 20, 3), twelve(time.Minute), 0, true, "-> 0"},
		{"at the partitions, still short", bl(0, 500, 20, 12), twelve(time.Minute), 12, true, "every partition"},
		{"above the partitions and short: drop the idle", bl(0, 500, 20, 15), twelve(time.Minute), 12, true, "-> 12"},
		{"margin out of range takes the default", bl(0, 50, 20, 12), Goal{Latency: time.Minute, Partitions: 12, Margin: 7}, 4, true, "within 80%"},
		{"a tighter margin keeps more", bl(0, 50, 20, 12), Goal{Latency: time.Minute, Partitions: 12, Margin: 0.5}, 6, true, "within 50%"},
		{"negative lag reads as 0", bl(-5, 0, 20, 3), twelve(time.Minute), 0, true, "-> 0"},
		{"lag NaN", bl(math.NaN(), 1, 20, 3), twelve(time.Minute), 0, false, "lag NaN"},
		{"lag +Inf", bl(math.Inf(1), 1, 20, 3), twelve(time.Minute), 0, false, "lag +Inf"},
		{"produce NaN", bl(1, math.NaN(), 20, 3), twelve(time.Minute), 0, false, "produce rate NaN"},
		{"per-consumer rate unknown", bl(1, 1, 0, 3), twelve(time.Minute), 0, false, "not observed yet"},
		{"per-consumer rate negative", bl(1, 1, -2, 3), twelve(time.Minute), 0, false, "per-consumer rate -2"},
		{"goal zero", bl(1, 1, 20, 3), twelve(0), 0, false, "latency goal 0s"},
		// Lag/Age = 100/s against a ProduceRate still at 66/s: 100 + (1200 + 100*40 - 25*30)/60
		// = 174/s needs 12; by ProduceRate alone 66 + 3090/60 = 117/s, and 6 (150/s) would do.
		{"arrivals from the backlog's age", Backlog{Lag: 1200, Age: 12 * time.Second, ProduceRate: 66, PerConsumerRate: 25, Consumers: 1},
			twelve(time.Minute), 12, true, "arrivals 100.0/s"},
		{"arrivals by ProduceRate alone", Backlog{Lag: 1200, ProduceRate: 66, PerConsumerRate: 25, Consumers: 1},
			twelve(time.Minute), 6, true, "arrivals 66.0/s"},
		{"a young backlog's quotient is noise", Backlog{Lag: 1200, Age: 5 * time.Second, ProduceRate: 66, PerConsumerRate: 25, Consumers: 1},
			twelve(time.Minute), 6, true, "arrivals 66.0/s"},
		// Down by the latest interval's 10/s: 10 + 100/60 = 11.7/s, within 80% of one consumer's 20/s.
		{"scale-down judges by the latest rate", Backlog{ProduceRate: 43.8, LatestProduceRate: 10, LatestKnown: true, PerConsumerRate: 20, Consumers: 12},
			twelve(time.Minute), 1, true, "-> 1"},
		// By the smoothed 43.8/s: 43.8 + 438/60 = 51.1/s, which 4 (64/s at 80%) meet.
		{"scale-down by the smoothed rate", Backlog{ProduceRate: 43.8, PerConsumerRate: 20, Consumers: 12},
			twelve(time.Minute), 4, true, "-> 4"},
		{"a latest rate above the smoothed one is not used to scale down", Backlog{ProduceRate: 43.8, LatestProduceRate: 80, LatestKnown: true, PerConsumerRate: 20, Consumers: 12},
			twelve(time.Minute), 4, true, "-> 4"},
		{"an unknown latest rate is not used", Backlog{ProduceRate: 43.8, LatestProduceRate: 10, PerConsumerRate: 20, Consumers: 12},
			twelve(time.Minute), 4, true, "-> 4"},
		{"nothing arrived in the latest interval and nothing waits", Backlog{ProduceRate: 3, LatestKnown: true, PerConsumerRate: 20, Consumers: 2},
			twelve(time.Minute), 0, true, "-> 0"},
		// 12 drain 240/s >= 20 + 600/60; the steady state after the drain needs
		// 20 + 200/60 = 23.3/s, within 80% of 2 (32/s). Counting the backlog
		// (20 + 800/60 = 33.3/s) would ask for 3, a step the window releases
		// before 2.
		{"a draining backlog does not hold a scale-down", bl(600, 20, 20, 12), twelve(time.Minute), 2, true, "-> 2"},
		// 5 of 10 drain 100/s < 111/s now, but (5000 - 100*20)/45 = 66.7/s after a
		// 20 s start: 6 to 9 consumers would add nothing, 10 only a rebalance.
		{"a scale-up that cannot start in time", bl(5000, 0, 20, 5),
			Goal{Latency: 45 * time.Second, Partitions: 10, Start: 20 * time.Second, Pause: 10 * time.Second}, 5, true, "before more consumers could start"},
		{"beyond int32 saturates", bl(1e300, 0, 1e-300, 1), Goal{Latency: time.Second}, math.MaxInt32, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, ok, reason := DrainReplicas(tt.b, tt.g)
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
					n, ok, reason := DrainReplicas(Backlog{Lag: lag, ProduceRate: produce, PerConsumerRate: per, Consumers: current}, g)
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
	down := produce + produce*g.Pause.Seconds()/goal
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
		if DrainCapacity(n, parts, per) <= have {
			return "scaled up to a count with no more capacity"
		}
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
	case n == current && current > 0 && have < stay && current < parts && up > have:
		return "stayed although the current count misses the goal and a scale-up would help"
	}
	return ""
}

// evenCount (test helper) reports whether n is the fewest consumers that gives its
// busiest member ceil(partitions/n) partitions: a count above it adds
// consumers that do not shorten the longest queue. On 12 partitions these
// are the divisors 1, 2, 3, 4, 6 and 12; on 10 also 3 and 4 (4+3+3 and
// 3+3+2+2), the in-between steps that save replicas when 2 is too few and
// 5 too many.
func evenCount(n, partitions int) bool {
	if partitions <= 0 || n >= partitions {
		return n == partitions || partitions <= 0
	}
	load := (partitions + n - 1) / n
	return n == (partitions+load-1)/load
}

func TestDrainTime(t *testing.T) {
	tests := []struct {
		name              string
		lag, produce, per float64
		n, partitions     int
		want              time.Duration
		ok                bool
	}{
		{"spare capacity", 1200, 80, 20, 6, 12, 30 * time.Second, true},                // 1200 / (120 - 80)
		{"uneven split drains like the even one below", 1200, 80, 20, 5, 12, 0, false}, // 80/s, no spare
		{"every partition", 1200, 80, 20, 12, 12, 7500 * time.Millisecond, true},
		{"no lag", 0, 80, 20, 1, 12, 0, true},
		{"never: production above capacity", 10, 80, 20, 2, 12, 0, false},
		{"no consumers", 10, 0, 20, 0, 12, 0, false},
		{"rate unknown", 10, 0, 0, 3, 12, 0, false},
		{"lag NaN", math.NaN(), 0, 20, 3, 12, 0, false},
		{"beyond a Duration", 1e300, 0, 20, 3, 12, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := DrainTime(tt.lag, tt.produce, tt.per, tt.n, tt.partitions)
			if got != tt.want || ok != tt.ok {
				t.Errorf("DrainTime = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
