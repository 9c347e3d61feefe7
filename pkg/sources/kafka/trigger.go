package kafka

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/lagtime"
	"github.com/tide-scaler/tide/pkg/sources"
)

// Query returns what the trigger reads. Triggers that differ only in
// thresholds share one reading.
func (t *Trigger) Query() sources.Query { return t.query }

// MetricName is the default metric name: "kafka-<group>-<topic.topic...>",
// sanitized and shortened deterministically (see metricName).
func (t *Trigger) MetricName() string { return t.metricName }

// Target is the AverageValue target per replica: lagThreshold.
func (t *Trigger) Target() float64 { return t.lagThreshold }

// Activation is activationLagThreshold.
func (t *Trigger) Activation() float64 { return t.activationLagThreshold }

// NeedsReplicasMode names lagTarget or drainGoal when set: each decides a replica
// count, which only metricMode: replicas sends (in raw mode the HPA divides
// the lag by lagThreshold and a time target cannot apply).
func (t *Trigger) NeedsReplicasMode() (key, why string) {
	if t.lagTarget > 0 {
		return keyLagTarget, "in raw mode the HPA divides the lag by lagThreshold and a time target cannot apply"
	}
	if t.drain != nil {
		return keyDrainGoal, "in raw mode the HPA divides the lag by lagThreshold and a latency goal cannot apply"
	}
	return "", ""
}

// Evaluate turns a sample into the metric value and replica count. It is
// pure and cheap: the trigger core calls it on every RPC.
//
// Unless allowIdleConsumers is set, the value is capped so that the HPA's
// AverageValue arithmetic never proposes more replicas than s.Capacity (the
// partitions that count): a consumer beyond the partition count gets no
// partition. hpa.CapValue computes that cap in the HPA's own milli units, so
// that 10 partitions, target 10 and lag 105 give 10 replicas, not 11.
//
// With ensureEvenDistributionOfPartitions the value is then raised so that
// the HPA lands on the smallest factor of the partition count that is at
// least the replicas it would otherwise ask for, so every consumer gets the
// same number of partitions. KEDA's kafka scaler does the same; users who
// set the option expect it.
func (t *Trigger) Evaluate(s sources.Sample) sources.Measurement {
	m := sources.Measurement{Value: s.Value}
	if !t.allowIdleConsumers && s.Capacity > 0 {
		if c := t.caps.get(s.Capacity, t.lagThreshold); m.Value > c.value {
			m.Value = c.value
			m.Reason = c.reason
			m.Rule = RulePartitionCapped
		}
	}
	if t.evenDistribution && s.Capacity > 0 && m.Value > 0 {
		m = t.snap(m, s.Capacity)
	}
	m.Replicas = hpa.FromZero(m.Value, t.lagThreshold)
	if m.Rule == RulePartitionCapped && s.Flow != nil {
		// Raw mode only: the replica count stays at the partitions.
		m = t.unstick(m, s.Capacity, s.Flow.Members)
	}
	if t.lagTarget > 0 {
		m = t.byLagTarget(s, m)
	}
	if t.drain != nil {
		m = t.byDrain(s, m)
	}
	return m
}

// byLagTarget replaces the replica count with the fewest replicas that keep
// up with production and drain the counted lag within lagTarget, capped at
// the partitions that count. Until the consumers have been seen working
// through a backlog their capacity is unknown, and the count from
// lagThreshold stands, with the reason saying so.
func (t *Trigger) byLagTarget(s sources.Sample, m sources.Measurement) sources.Measurement {
	f := s.Flow
	if f == nil {
		m.Reason = joinReason(m.Reason, "lagTarget: no rates yet; lagThreshold decides")
		return m
	}
	est := lagtime.Estimate{ProduceRate: f.Produced, PerConsumerRate: f.PerConsumer}
	capacity := s.Capacity
	if t.allowIdleConsumers {
		capacity = 0
	}
	n, ok, why := lagtime.Replicas(s.Value, est, t.lagTarget, capacity)
	if !ok {
		m.Reason = joinReason(m.Reason, "lagTarget: "+why+"; lagThreshold decides")
		return m
	}
	m.Replicas, m.Rule, m.Reason = int64(n), RuleLagTarget, why
	if capacity > 0 && n == capacity {
		m.Rule = RulePartitionCapped
	}
	return m
}

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// Rules that shape a Kafka trigger's value, reported in Measurement.Rule.
const (
	RulePartitionCapped  = "PartitionCapped"
	RuleEvenDistribution = "EvenDistribution"
	RuleLagTarget        = "LagTarget"
	RuleDrainGoal        = "DrainGoal"
)

// snap raises m.Value so that the HPA, scaling from zero, proposes the
// smallest factor of n partitions at or above what it proposes for m.Value.
// A proposal of n or more needs no snapping: n is its own factor, and only
// allowIdleConsumers leads beyond n, which asked for idle consumers.
func (t *Trigger) snap(m sources.Measurement, n int) sources.Measurement {
	r := int(hpa.FromZero(m.Value, t.lagThreshold))
	if r <= 0 || r >= n {
		return m
	}
	f := smallestFactorAtLeast(n, r)
	if v := t.caps.get(f, t.lagThreshold).value; f != r && v > m.Value {
		m.Value = v
		m.Rule = RuleEvenDistribution
		m.Reason = fmt.Sprintf("snapped to factor %d of %d partitions", f, n)
	}
	return m
}

// smallestFactorAtLeast returns the smallest divisor of n that is >= r, or n
// when r > n. n must be positive.
func smallestFactorAtLeast(n, r int) int {
	for f := max(r, 1); f < n; f++ {
		if n%f == 0 {
			return f
		}
	}
	return n
}

// capMemo caches the last hpa.CapValue result; safe for concurrent use.
type capMemo struct{ last atomic.Pointer[capEntry] }

type capEntry struct {
	n      int
	target float64
	value  float64
	reason string
}

func (c *capMemo) get(n int, target float64) *capEntry {
	if e := c.last.Load(); e != nil && e.n == n && e.target == target {
		return e
	}
	e := &capEntry{n: n, target: target, value: hpa.CapValue(n, target),
		reason: fmt.Sprintf("capped at %d partitions", n)}
	c.last.Store(e)
	return e
}

// metricName is "kafka-<group>[-<topics joined by .>]", made a valid,
// bounded name by sources.MetricName.
func metricName(group string, topics []string) string {
	raw := "kafka-" + group
	if len(topics) > 0 {
		raw += "-" + strings.Join(topics, ".")
	}
	return sources.MetricName(raw)
}
