package lagtime

import (
	"fmt"
	"math"
	"time"
)

// DefaultDrainMargin is Goal.Margin's default: a scale-down happens only
// when the smaller count needs at most 80% of its capacity to meet the
// goal, so a dip that the next sync would undo does not cost two
// rebalances.
const DefaultDrainMargin = 0.8

// Goal is what DrainReplicas sizes for: a latency goal on a consumer group.
type Goal struct {
	// Latency is the goal: every message consumed within this long of its
	// arrival. The law asks for enough consumers to drain the backlog plus
	// the arrivals within Latency.
	Latency time.Duration
	// Partitions is the partition count; 0 means unknown, and every
	// consumer counts fully. With it, n consumers are worth only as much as
	// the busiest of them (see DrainCapacity), and consumers beyond the
	// partition count are worth nothing.
	Partitions int
	// Start is how long a new consumer takes before it joins the group (pod
	// scheduling and start-up). The consumers already there keep working
	// meanwhile; 0 means instant.
	Start time.Duration
	// Pause is the stop-the-world rebalance every membership change costs
	// the whole group; 0 means none.
	Pause time.Duration
	// Margin is the share of a smaller count's capacity that may be needed
	// for a scale-down to it: a scale-down costs a rebalance too, and one
	// that only just meets the goal is undone by the next wave. Outside
	// (0, 1] it takes DefaultDrainMargin.
	Margin float64
}

// DrainCapacity is the consumption rate n consumers sustain on partitions
// partitions when each consumes per messages/s spread over the partitions
// it holds: the group drains evenly spread lag only as fast as its busiest
// member, which holds ceil(partitions/n) of them, so 7 to 11 consumers on
// 12 partitions drain the oldest messages no sooner than 6. partitions 0
// means unknown: n*per.
func DrainCapacity(n, partitions int, per float64) float64 {
	if n <= 0 {
		return 0
	}
	if partitions <= 0 {
		return float64(n) * per
	}
	n = min(n, partitions)
	load := (partitions + n - 1) / n
	return per * float64(partitions) / float64(load)
}

// Backlog is one reading of a consumer group, what DrainReplicas sizes
// from.
type Backlog struct {
	// Lag is the total lag, messages.
	Lag float64
	// Age is how long ago the oldest unconsumed message arrived (Marks.Age,
	// the maximum over partitions); 0 if unknown.
	Age time.Duration
	// ProduceRate is the smoothed arrival rate (Estimate.ProduceRate).
	ProduceRate float64
	// LatestProduceRate is the arrival rate over the latest poll interval
	// alone, unsmoothed; it counts only with LatestKnown.
	LatestProduceRate float64
	LatestKnown       bool
	// PerConsumerRate is the rate one consumer sustains with a backlog
	// (Estimate.PerConsumerRate); 0 means not observed yet.
	PerConsumerRate float64
	// Consumers is the current consumer count.
	Consumers int
	// Recent is the recent arrivals (Recent.Marks), for the burst floor;
	// nil means none kept.
	Recent []Arrival
	// Parts is each partition's lag and arrival rate, for skew: with one
	// entry per partition (Goal.Partitions), a count is sized for its
	// busiest member holding the largest lags and rates; nil (or another
	// length) means spread evenly.
	Parts []PartLoad
}

// backlogRateMinAge is the oldest-message age from which Lag/Age counts as
// an arrival rate: below it the marks' resolution (a poll, 2 s by default)
// and commit spacing make the quotient noisy.
const backlogRateMinAge = 10 * time.Second

// DrainReplicas returns the replica count that meets g with the fewest
// consumers, moving from the current count only when that is worth a
// rebalance:
//
//   - arrivals: the smoothed ProduceRate trails a step up by its
//     half-life, but the backlog itself says what arrived: every message
//     younger than the oldest unconsumed one is still there, so Lag/Age is
//     the arrival rate over the last Age seconds, exactly. Scale-ups and
//     staying use the larger of the two (once Age >= 10 s, below which the
//     quotient is noise). With bursts recurring (BurstFloor > 0) a step is
//     what the history says to expect, so the latest interval's rate
//     counts too when it is higher: a burst's scale-up is sized in one
//     step, not one per sync as the average catches up (each a rebalance).
//   - need(n): the rate that drains the backlog, as it will stand when n
//     consumers are at work, within g.Latency, plus arrivals. A scale-up's
//     backlog grows by arrivals during Start+Pause, less what the current
//     consumers drain during Start; a scale-down's grows by arrivals during
//     Pause; staying costs nothing.
//   - the answer is always the fewest consumers with the capacity it needs
//     (DrainCapacity), so it moves only to counts that split the partitions
//     evenly (on 12 partitions the divisors 1, 2, 3, 4, 6 and 12), or to
//     the in-between count that is the fewest for its busiest member's
//     load where the partition count has few divisors (3 and 4 of 10:
//     4+3+3 and 3+3+2+2): 5 consumers on 12 partitions drain no faster
//     than 4, so 5 is never the fewest that suffice.
//   - if the current count meets need with its capacity it is kept (cut to
//     the partition count: consumers beyond it idle), unless a smaller
//     count meets the steady state's need within g.Margin of its capacity:
//     then the smallest such. The steady state is arrivals plus the backlog
//     a scale-down's Pause adds: the current count drains today's backlog
//     within the goal (that is what meeting need means) before the HPA's
//     scale-down window lets a scale-down happen. Its arrivals are the
//     lower of ProduceRate and LatestProduceRate: the window keeps the
//     highest recommendation anyway, so the law says where production is,
//     not where a smoothed average is on its way down. Recommendations
//     that fell step by step (a draining backlog, a decaying average)
//     would be released by the window step by step, each a rebalance.
//   - otherwise, if the current count will have drained enough by the
//     time new consumers start that its own capacity meets the scale-up's
//     need, it stays (a scale-up would only cost a rebalance); else the
//     smallest larger count that meets need; if none does,
//     the partition count (also when the current count is above it), or,
//     with no partitions known, the count that meets need, saturating at
//     MaxInt32.
//   - with b.Recent showing recurring bursts, BurstFloor's capacity bounds
//     scale-downs (within g.Margin), and a count that has it is kept
//     through a burst while the backlog, grown for a scale-up's delay,
//     drains within g.Margin of the goal both by it and by every
//     partition's consumer net of arrivals: a scale-up for a burst like
//     the recent ones would be undone when it ends.
//
// With no lag and no production (by the lower rate) the answer is 0. ok is false, and the
// caller should fall back to a threshold, for the same inputs Replicas
// rejects; reason explains the answer in one line.
func DrainReplicas(b Backlog, g Goal) (n int, ok bool, reason string) {
	lag, produce, per := b.Lag, b.ProduceRate, b.PerConsumerRate
	switch {
	case math.IsNaN(lag) || math.IsInf(lag, 1):
		return 0, false, fmt.Sprintf("lag %v is not a number of messages", lag)
	case math.IsNaN(produce) || math.IsInf(produce, 1):
		return 0, false, fmt.Sprintf("produce rate %v is not a rate", produce)
	case per == 0:
		return 0, false, "per-consumer rate not observed yet"
	case !(per > 0) || math.IsInf(per, 1):
		return 0, false, fmt.Sprintf("per-consumer rate %v is not a rate", per)
	case g.Latency <= 0:
		return 0, false, fmt.Sprintf("latency goal %v is not positive", g.Latency)
	}
	lag, produce = max(lag, 0), max(produce, 0)
	falling := produce
	if latest := b.LatestProduceRate; b.LatestKnown && latest >= 0 && latest < produce {
		falling = latest
	}
	current, parts := max(b.Consumers, 0), max(g.Partitions, 0)
	margin := g.Margin
	if !(margin > 0 && margin <= 1) {
		margin = DefaultDrainMargin
	}
	goal := g.Latency.Seconds()
	if lag == 0 && falling == 0 {
		return 0, true, "no lag and no production -> 0"
	}
	arrivals := produce
	if b.Age >= backlogRateMinAge {
		arrivals = max(arrivals, lag/b.Age.Seconds())
	}
	have := DrainCapacity(current, parts, per)
	floor := BurstFloor(b.Recent, time.Duration(margin*goal*float64(time.Second)), g.Start+g.Pause)
	if latest := b.LatestProduceRate; floor > 0 && b.LatestKnown && latest > arrivals {
		arrivals = latest
	}
	sk := newSkew(b.Parts, parts)
	// need is the consumption rate that c consumers need for the goal once
	// the backlog stands at backlog, with arrivals at rate in; on skewed
	// partitions their busiest member's share counts (skew.need).
	need := func(c int, in, backlog float64) float64 { return sk.need(c, parts, in, backlog, goal) }
	// While new consumers start the current ones drain have*Start, but of
	// the busiest member's lag only its own share, have/fl of the group's
	// rate when the lag is skewed (a hung consumer's partitions are
	// drained by nobody).
	_, flCur := sk.factors(current, parts)
	upBacklog := lag + arrivals*(g.Start+g.Pause).Seconds() - have/flCur*g.Start.Seconds()
	stay := need(current, arrivals, lag)
	skewed := ""
	if fr, fl := sk.factors(current, parts); fr != 1 || fl != 1 {
		skewed = fmt.Sprintf(" (skewed: the busiest of %d holds %.1fx its share of arrivals, %.1fx of lag)", current, fr, fl)
	}
	explain := func(n int, why string) string {
		return fmt.Sprintf("arrivals %.1f/s + drain %.0f within %v = %.1f/s%s; %d consumers drain %.1f/s at %.1f/s each -> %d (%s)",
			arrivals, lag, g.Latency, stay, skewed, current, have, per, n, why)
	}
	if current > 0 && have >= stay {
		for c := 1; c < current; c++ {
			fr, _ := sk.factors(c, parts)
			if capc := DrainCapacity(c, parts, per); margin*capc >= need(c, falling, falling*g.Pause.Seconds()) && margin*capc >= floor*fr {
				return c, true, explain(c, fmt.Sprintf("%d meet the goal within %.0f%% of their capacity", c, 100*margin))
			}
		}
		if parts > 0 && current > parts {
			return parts, true, explain(parts, "consumers beyond the partitions idle")
		}
		return current, true, explain(current, "current count meets the goal")
	}
	if fr, _ := sk.factors(current, parts); floor > 0 && have >= floor*fr {
		// The count absorbs a burst like the recent ones (BurstFloor), and
		// the backlog, grown for as long as a scale-up would take, still
		// drains within the goal's margin both ways: by the current count
		// if the burst ends, and by every partition's consumer net of
		// arrivals if it goes on, so a burst longer than the recent ones
		// fails this check in time to scale up. Otherwise a scale-up now
		// would be undone when the burst ends: two rebalances per burst.
		projected := lag + max(arrivals-have, 0)*(g.Start+g.Pause).Seconds()
		_, fl := sk.factors(current, parts)
		r1, l1 := sk.factors(parts, parts)
		full := DrainCapacity(parts, parts, per) - arrivals*r1
		if parts > 0 && full > 0 && projected*fl/have <= margin*goal && projected*l1/full <= margin*goal {
			if parts > 0 && current > parts {
				return parts, true, explain(parts, "consumers beyond the partitions idle")
			}
			return current, true, explain(current, fmt.Sprintf("absorbs a burst like the recent ones (floor %.1f/s)", floor))
		}
	}
	if need(current, arrivals, upBacklog) <= have {
		// The current consumers shrink the backlog while new ones would
		// start, so much that what they have meets the need by then: a
		// scale-up would only add a rebalance.
		if parts > 0 && current > parts {
			return parts, true, explain(parts, "consumers beyond the partitions idle")
		}
		return current, true, explain(current, "the current count drains it before more consumers could start")
	}
	if parts > 0 {
		for c := current + 1; c < parts; c++ {
			if DrainCapacity(c, parts, per) >= need(c, arrivals, upBacklog) {
				return c, true, explain(c, "fewest that meet the goal after start-up and rebalance")
			}
		}
		return parts, true, explain(parts, "the goal needs every partition its own consumer")
	}
	q := need(current, arrivals, upBacklog) / per
	switch {
	case q >= maxReplicas:
		n = maxReplicas
	default:
		n = max(int(math.Ceil(q-ceilSlack*max(q, 1))), current+1)
	}
	return n, true, explain(n, "fewest that meet the goal after start-up and rebalance")
}

// DrainTime predicts how long n consumers on partitions partitions take to
// drain lag messages while production continues at produce messages/s, at
// per messages/s each: lag / (DrainCapacity - produce). ok is false when
// they never do (capacity at or below production, or inputs that are not
// rates); no lag drains at once. It counts neither start-up nor rebalance:
// it is the time once the n consumers are at work.
func DrainTime(lag, produce, per float64, n, partitions int) (d time.Duration, ok bool) {
	if math.IsNaN(lag) || math.IsNaN(produce) || !(per > 0) || math.IsInf(per, 1) || math.IsInf(lag, 1) || math.IsInf(produce, 1) {
		return 0, false
	}
	lag, produce = max(lag, 0), max(produce, 0)
	if lag == 0 {
		return 0, true
	}
	spare := DrainCapacity(n, partitions, per) - produce
	if !(spare > 0) {
		return 0, false
	}
	s := lag / spare
	if s >= float64(math.MaxInt64)/float64(time.Second) {
		return 0, false
	}
	return time.Duration(s * float64(time.Second)), true
}
