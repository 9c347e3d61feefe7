package kafka

import (
	"fmt"
	"time"

	"github.com/tide-scaler/tide/pkg/lagtime"
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// The drain-time law's keys (metricMode: replicas only): drainGoal turns
// it on; the others describe the fleet it sizes for.
const (
	keyDrainGoal           = "drainGoal"
	keyDrainPodStart       = "drainPodStart"
	keyDrainRebalancePause = "drainRebalancePause"
	keyConsumerRate        = "consumerRate"

	// defaultDrainPodStart is a pod's time from creation to consuming:
	// scheduling, image already pulled, a JVM or Go client joining.
	defaultDrainPodStart = 30 * time.Second
	// defaultDrainRebalancePause is the stop-the-world pause of an eager
	// rebalance with the clients' default timeouts.
	defaultDrainRebalancePause = 10 * time.Second
	maxDrainFleetDuration      = time.Hour
)

// drainConfig is the drain-time law's configuration: the goal it sizes for
// (partitions are filled in per sample) and the per-consumer rate to
// assume until one is measured (0: none given).
type drainConfig struct {
	goal lagtime.Goal
	rate float64
}

// parseDrain reads drainGoal and the keys that go with it; nil when
// drainGoal is unset, an error naming the key when a fleet key is set
// without it or lagTarget is set too.
func parseDrain(md metadata.Metadata) (*drainConfig, error) {
	if !md.Has(keyDrainGoal) {
		for _, k := range []string{keyDrainPodStart, keyDrainRebalancePause, keyConsumerRate} {
			if md.Has(k) {
				return nil, metadata.Invalid(k, md.String(k, ""), "requires %s (it describes the fleet the drain-time law sizes for)", keyDrainGoal)
			}
		}
		return nil, nil
	}
	if md.Has(keyLagTarget) {
		return nil, metadata.Invalid(keyDrainGoal, md.String(keyDrainGoal, ""),
			"contradicts %s: %s (both decide the replica count); set only one", keyLagTarget, md.String(keyLagTarget, ""))
	}
	c := &drainConfig{}
	var err error
	if c.goal.Latency, err = md.Duration(keyDrainGoal, 0, time.Second, minLagTarget, maxLagTarget); err != nil {
		return nil, err
	}
	if c.goal.Start, err = md.Duration(keyDrainPodStart, defaultDrainPodStart, time.Second, 0, maxDrainFleetDuration); err != nil {
		return nil, err
	}
	if c.goal.Pause, err = md.Duration(keyDrainRebalancePause, defaultDrainRebalancePause, time.Second, 0, maxDrainFleetDuration); err != nil {
		return nil, err
	}
	if c.rate, err = md.Float(keyConsumerRate, 0, true); err != nil {
		return nil, err
	}
	return c, nil
}

// byDrain replaces the replica count with lagtime.DrainReplicas' answer
// for the goal. The consumer count is the group's members with rebalances
// bridged (Flow.Members). The per-consumer rate is the measured one; until
// it is measured, consumerRate when given, else, once the oldest message
// is seenBacklogAge old, what the members are seen consuming each
// (Flow.Consumed/Members): consumers with a backlog consume at most their
// capacity, so that rate errs towards more replicas, never fewer. With
// none of these the members stay while the backlog is younger, and the
// count from lagThreshold stands otherwise; the reason says which.
//
// Evaluate runs on every RPC: the law's burst floor scans pairs of the
// recent marks within five minutes (at most 61, about 1,800 pairs).
func (t *Trigger) byDrain(s sources.Sample, m sources.Measurement) sources.Measurement {
	f := s.Flow
	if f == nil {
		m.Reason = joinReason(m.Reason, "drainGoal: no rates yet; lagThreshold decides")
		return m
	}
	per, from := f.PerConsumer, "measured"
	switch {
	case per > 0:
	case t.drain.rate > 0:
		per, from = t.drain.rate, keyConsumerRate
	case f.LagSeconds >= seenBacklogAge && f.Members > 0 && f.Consumed > 0:
		per, from = f.Consumed/float64(f.Members), "seen consuming, not yet measured"
	}
	if per == 0 && m.Replicas > int64(f.Members) && f.Members > 0 && f.LagSeconds < seenBacklogAge {
		// A count from lagThreshold is a guess the law replaces as soon as
		// the backlog is old enough to show the members' rate (within
		// seenBacklogAge), and a scale-up to it and then to the law's
		// count, while the first new pods start, is two rebalances where
		// one would do. So until then the members stay; scale-downs from
		// lagThreshold still happen, and an older backlog whose members are
		// not seen consuming (no commit yet) goes to lagThreshold.
		m.Replicas = int64(f.Members)
		m.Reason = joinReason(m.Reason, "drainGoal: per-consumer rate not seen yet; waiting for the backlog to show it")
		return m
	}
	g := t.drain.goal
	if g.Partitions = s.Capacity; t.allowIdleConsumers {
		g.Partitions = 0
	}
	n, ok, why := lagtime.DrainReplicas(lagtime.Backlog{
		Lag: s.Value, Age: time.Duration(f.LagSeconds * float64(time.Second)),
		ProduceRate: f.Produced, LatestProduceRate: f.LatestProduced, LatestKnown: f.LatestKnown,
		PerConsumerRate: per, Consumers: f.Members, Recent: f.Recent.Marks(), Parts: partLoads(f),
	}, g)
	if !ok {
		m.Reason = joinReason(m.Reason, "drainGoal: "+why+"; lagThreshold decides")
		return m
	}
	m.Replicas, m.Rule = int64(n), RuleDrainGoal
	m.Reason = fmt.Sprintf("drainGoal %v: %s; per-consumer rate %s", g.Latency, why, from)
	if g.Partitions > 0 && n == g.Partitions {
		m.Rule = RulePartitionCapped
	}
	return m
}

// seenBacklogAge is the oldest-message age from which lag is a backlog
// rather than commit spacing (twice the clients' 5 s auto-commit), so that
// what the members consume is their capacity rather than the arrivals.
// In seconds, as Flow.LagSeconds.
const seenBacklogAge = 10.0

// partLoads is the flow's per-partition loads, nil when not measured.
func partLoads(f *sources.Flow) []lagtime.PartLoad {
	if f.PartLoads == nil {
		return nil
	}
	return *f.PartLoads
}
