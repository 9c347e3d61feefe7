package lagtime

import (
	"math"
	"time"
)

// Observation is one poll's reading of a queue, summed over the partitions
// the query reads.
type Observation struct {
	Time time.Time
	// Produced is the sum of log end offsets (high watermarks).
	Produced int64
	// Consumed is the sum of committed offsets over partitions with a commit.
	Consumed int64
	// Lag is the total lag, never negative (a negative value is read as 0).
	Lag int64
	// Consumers is the number of group members consuming these partitions;
	// 0 means none or unknown.
	Consumers int
	// Shape fingerprints the partition set and which partitions have a
	// commit. A change means the sums of two polls cover different
	// partitions, so their difference is not throughput.
	Shape uint64
}

// Config tunes the estimator. Zero (or negative) values take the defaults.
type Config struct {
	// HalfLife is the smoothing half-life of the consumption rates,
	// ConsumeRate and PerConsumerRate (default 60s): a sample this old
	// weighs half as much as a new one.
	HalfLife time.Duration
	// ProduceHalfLife is the smoothing half-life of ProduceRate (default
	// 10s), shorter than HalfLife because production is the demand to meet
	// now, and it can step: a replica count sized on a production rate
	// that trails a step up leaves the lag to grow until it catches up
	// (see Step). It does not follow HalfLife when unset.
	ProduceHalfLife time.Duration
	// MaxGap is the longest interval used for rates (default 5m). A longer
	// one is a restart or a long outage: its average says nothing about the
	// current rates and would wash out the history in one step.
	MaxGap time.Duration
	// StallAfter is how long consumers with a backlog may show no committed
	// progress before it counts as a stall rather than commit spacing
	// (default 30s, and never less than twice CommitInterval, or every gap
	// between commits would look like a stall). Consumers commit in steps,
	// so a poll interval shorter than the commit interval often sees none;
	// see Step.
	StallAfter time.Duration
	// CommitInterval is how often the consumers commit (default 5s, the
	// Kafka clients' auto-commit interval; set it to the longest interval
	// any consumer of the group commits at). Committed offsets trail the
	// work done by up to that much consumption, so lag of that size is not
	// a backlog; see Step.
	CommitInterval time.Duration
}

// Defaults for the zero Config.
const (
	DefaultHalfLife        = 60 * time.Second
	DefaultProduceHalfLife = 10 * time.Second
	DefaultMaxGap          = 5 * time.Minute
	DefaultStallAfter      = 30 * time.Second
	DefaultCommitInterval  = 5 * time.Second
)

func (c Config) withDefaults() Config {
	if c.HalfLife <= 0 {
		c.HalfLife = DefaultHalfLife
	}
	if c.ProduceHalfLife <= 0 {
		c.ProduceHalfLife = DefaultProduceHalfLife
	}
	if c.MaxGap <= 0 {
		c.MaxGap = DefaultMaxGap
	}
	if c.StallAfter <= 0 {
		c.StallAfter = DefaultStallAfter
	}
	if c.CommitInterval <= 0 {
		c.CommitInterval = DefaultCommitInterval
	}
	c.StallAfter = max(c.StallAfter, 2*c.CommitInterval)
	return c
}

// Estimate is the smoothed state after a sequence of observations. The zero
// value has seen nothing. It holds no references, so copies are independent
// and Step never affects the receiver.
type Estimate struct {
	// ProduceRate is the smoothed arrival rate, messages/s.
	ProduceRate float64
	// ConsumeRate is the smoothed consumption rate of all consumers,
	// messages/s.
	ConsumeRate float64
	// PerConsumerRate is the smoothed rate one consumer sustains while it
	// has a backlog, messages/s; 0 means not observed yet.
	PerConsumerRate float64
	// Consumers is the count of the latest observation (0: none or unknown).
	Consumers int
	// Intervals counts the intervals that contributed to the rates.
	Intervals int
	// Saturated counts the samples taken into PerConsumerRate (a sample
	// may span several intervals; see Step).
	Saturated int
	// Skipped counts the intervals ignored for rates (see Step).
	Skipped int

	last Observation
	seen bool
	// from is the last reading that showed committed progress, where the
	// next PerConsumerRate sample starts; fromOK is false when there is
	// none, or an interval since was not saturated (see Step).
	from   Observation
	fromOK bool
}

// Last returns the most recent observation folded in, and false if there is
// none.
func (e Estimate) Last() (Observation, bool) { return e.last, e.seen }

// Step folds o into e and returns the new estimate; e is not changed.
//
// The interval from the previous observation to o updates the rates unless
// it is skipped; o is remembered either way, so the next interval starts
// from a reading that is comparable with what follows. Skipped, and why:
//   - o.Time not after the previous time: no duration to divide by; a clock
//     step or an out-of-order reading re-baselines instead.
//   - a gap longer than MaxGap: a restart or an outage, whose average is not
//     the current rate.
//   - a Shape change (partition added, first commit on a partition): the
//     sums jump by whole partitions' offsets, which is not throughput.
//   - Produced or Consumed going backwards: an offset reset or a re-created
//     topic. Neither a reset nor a rebalance is throughput.
//
// A used interval of length Δt moves each rate r toward its sample s by
// r += alpha*(s-r), alpha = 1 - 2^(-Δt/h): the weight depends on the
// elapsed time, not on the number of polls, so irregular spacing (a slow
// poll, a missed one) moves the estimate as much as the time it covers. The
// first sample initializes a rate directly: a zero prior is not a
// measurement, and decaying from it would under-report for a half-life.
//
// The half-life h is ProduceHalfLife (10 s) for ProduceRate and HalfLife
// (60 s) for the consumption rates. Production is what the replicas must
// keep up with now, and the log end moves smoothly, so a short half-life
// follows a step (seven eighths of it in 30 s, where 60 s would take three
// minutes) without much noise: a sizing rule fed a trailing rate
// under-provisions for as long as it trails, and the lag that builds
// meanwhile must be drained as well. The consumption rates average longer:
// they are read from committed offsets, which move in commit-sized steps,
// and PerConsumerRate measures capacity, which changes with the consumers
// rather than with the traffic. A fall in production is
// followed as fast as a rise: following it slowly only holds replicas
// longer, which the HPA's downscale stabilization window already does (in
// this package's simulation, a rate that rose at 10 s and fell at 60 s
// drained no sooner and cost more replica-minutes).
//
// ProduceRate and ConsumeRate take every used interval, idle ones too: zero
// arrivals really mean production stopped.
//
// PerConsumerRate takes only saturated intervals, because only then is
// consumption a measure of capacity:
//   - a backlog at both ends: with none, consumption merely equals
//     production. Lag is measured against committed offsets, which trail
//     the work done by up to a commit interval of consumption, so a caught-up
//     group shows lag between commits; a backlog is lag above twice
//     max(ProduceRate, ConsumeRate)*CommitInterval (ProduceRate because a
//     caught-up group consumes what arrives and the log end moves smoothly,
//     where commits move in steps; twice, for unaligned commits and rate
//     noise). The first used interval, which has no rates to judge by, is
//     never saturated;
//   - a known consumer count, unchanged across the interval: a rebalance
//     pauses consumption and changes the divisor;
//   - progress: a backlog without progress is a stalled, dead or stuck
//     consumer, not its capacity, and must not drive the estimate to 0.
//     Stall detection belongs to the caller.
//
// Summed lag cannot tell a backlog on every consumer from one on a few; a
// caught-up consumer only keeps pace, so a partly idle group (a skewed
// assignment, one consumer stalled while the rest are caught up) lowers the
// sample, an error towards more replicas. A caller that detects a stuck
// partition should leave it out of the Observation (the Shape change skips
// the interval where it leaves and where it comes back).
//
// The sample is ΔConsumed/Δt/Consumers, measured from one reading that
// showed committed progress to the next, across saturated intervals only.
// Committed offsets move in steps (a Kafka client auto-commits every 5 s by
// default): with 2 s polls an interval sees either nothing or a whole commit
// of 5 s of work, and dividing that by its 2 s would overstate capacity 2.5
// times, and under-provision as much. Between two readings that each showed
// progress the commits inside are whole, so the ratio is right on average.
// A span whose start showed no progress could end with a commit of work done
// before it, so it is not sampled. A span without progress for longer than
// StallAfter was a stall, not commit spacing, and is not sampled either: the
// next span starts where progress resumed.
func (e Estimate) Step(o Observation, cfg Config) Estimate {
	cfg = cfg.withDefaults()
	prev, seen := e.last, e.seen
	e.last, e.seen = o, true
	e.Consumers = o.Consumers
	if !seen {
		return e
	}
	dt := o.Time.Sub(prev.Time)
	if dt <= 0 || dt > cfg.MaxGap || o.Shape != prev.Shape ||
		o.Produced < prev.Produced || o.Consumed < prev.Consumed {
		e.Skipped++
		e.fromOK = false
		return e
	}
	// The backlog bound uses the rates before this interval, so that both
	// ends are judged alike; before any interval it is unknown.
	known := e.Intervals > 0
	backlog := 2 * max(e.ProduceRate, e.ConsumeRate) * cfg.CommitInterval.Seconds()
	produced := delta(o.Produced, prev.Produced)
	consumed := delta(o.Consumed, prev.Consumed)
	first := e.Intervals == 0
	e.ProduceRate = ewma(e.ProduceRate, produced/dt.Seconds(), weight(dt, cfg.ProduceHalfLife), first)
	e.ConsumeRate = ewma(e.ConsumeRate, consumed/dt.Seconds(), weight(dt, cfg.HalfLife), first)
	e.Intervals++
	return e.capacity(prev, o, known, backlog, cfg)
}

// capacity applies the interval prev -> o to PerConsumerRate (see Step).
// backlog is the lag, in messages, above which there is one, if known.
func (e Estimate) capacity(prev, o Observation, known bool, backlog float64, cfg Config) Estimate {
	saturated := known && float64(prev.Lag) > backlog && float64(o.Lag) > backlog &&
		o.Consumers > 0 && o.Consumers == prev.Consumers
	progress := o.Consumed > prev.Consumed
	from, fromOK := e.from, e.fromOK
	switch {
	case progress:
		e.from, e.fromOK = o, true
	case !saturated:
		e.fromOK = false
	}
	if !saturated || !progress || !fromOK || prev.Time.Sub(from.Time) > cfg.StallAfter {
		return e
	}
	span := o.Time.Sub(from.Time)
	sample := delta(o.Consumed, from.Consumed) / span.Seconds() / float64(o.Consumers)
	e.PerConsumerRate = ewma(e.PerConsumerRate, sample, weight(span, cfg.HalfLife), e.Saturated == 0)
	e.Saturated++
	return e
}

// delta is a-b for a >= b, exact even where the int64 subtraction would
// overflow (garbage offsets near the int64 limits).
func delta(a, b int64) float64 {
	return float64(uint64(a) - uint64(b))
}

// weight is 1 - 2^(-dt/halfLife), computed with Expm1 so that a short
// interval against a long half-life keeps its precision.
func weight(dt, halfLife time.Duration) float64 {
	return -math.Expm1(-math.Ln2 * dt.Seconds() / halfLife.Seconds())
}

func ewma(rate, sample, alpha float64, first bool) float64 {
	if first {
		return sample
	}
	return rate + alpha*(sample-rate)
}
