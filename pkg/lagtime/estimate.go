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
	// Stalled is true when a partition's consumer is hung: its committed
	// offset stood still with lag behind it for StallProbe
	// (Stalls.Observe). The total lag is then a backlog while the other
	// members keep up with their arrivals and the hung one consumes
	// nothing, so the group's consumption says nothing of its members'
	// capacity and no PerConsumerRate sample spans it.
	Stalled bool
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
// An interval is skipped when it is not throughput: no time passed (a
// clock step), a gap above MaxGap (an outage), a Shape change (partitions
// added or first committed) or offsets going backwards (a reset). Rates
// move by weights of elapsed time, not of poll count, so irregular polling
// moves them as much as the time it covers. ProduceRate follows a step
// within ProduceHalfLife; the consumption rates average over HalfLife.
// PerConsumerRate samples only saturated intervals (a backlog at both ends,
// a steady known consumer count, progress), measured between readings that
// both showed a commit, since commits arrive in steps. docs/lagtime.md
// gives the reasoning behind each rule.
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
	case o.Stalled || prev.Stalled:
		e.fromOK = false
		return e
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
