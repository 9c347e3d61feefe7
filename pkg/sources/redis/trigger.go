package redis

import (
	"strings"

	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/lagtime"
	"github.com/tide-scaler/tide/pkg/sources"
)

// Query returns what the trigger reads. Triggers that differ only in
// thresholds share one reading.
func (t *Trigger) Query() sources.Query { return t.query }

// MetricName is the default metric name, KEDA's where KEDA has one:
// "redis-<listName>" for keys and "redis-streams-<stream>[-<group>]" for
// streams, sanitized and shortened deterministically.
func (t *Trigger) MetricName() string { return t.metricName }

// Target is the AverageValue target per replica: listLength, streamLength,
// pendingEntriesCount or lagCount, by mode.
func (t *Trigger) Target() float64 { return t.target }

// Evaluate turns a sample into the metric value and replica count: the
// value is the depth itself (Redis has no partitions to cap by). With
// lagTarget the replica count comes from the rates (see byLagTarget). It
// is pure and cheap: the trigger core calls it on every RPC.
func (t *Trigger) Evaluate(s sources.Sample) sources.Measurement {
	m := sources.Measurement{Value: s.Value, Replicas: hpa.FromZero(s.Value, t.target)}
	if t.lagTarget > 0 {
		m = t.byLagTarget(s, m)
	}
	return m
}

// RuleLagTarget names lagTarget in Measurement.Rule, as Kafka's does.
const RuleLagTarget = "LagTarget"

// byLagTarget replaces the replica count with the fewest replicas that keep
// up with production and drain the group's lag (the value, in lag mode)
// within lagTarget. A stream has no partitions, so nothing caps it. Until
// the consumers have been seen working through a backlog their capacity is
// unknown, and on Redis < 7 it never is (no entries-added or entries-read):
// then the count from lagCount stands, with the reason saying so.
func (t *Trigger) byLagTarget(s sources.Sample, m sources.Measurement) sources.Measurement {
	f := s.Flow
	if f == nil {
		m.Reason = "lagTarget: no rates; lagCount decides"
		return m
	}
	est := lagtime.Estimate{ProduceRate: f.Produced, PerConsumerRate: f.PerConsumer}
	n, ok, why := lagtime.Replicas(s.Value, est, t.lagTarget, 0)
	if !ok {
		m.Reason = "lagTarget: " + why + "; lagCount decides"
		return m
	}
	m.Replicas, m.Rule, m.Reason = int64(n), RuleLagTarget, why
	return m
}

// Activation is the activation threshold: activationListLength or
// activationLagCount. The default 0 activates on a single waiting entry.
func (t *Trigger) Activation() float64 { return t.activation }

// NeedsReplicasMode names lagTarget when it is set: it decides a replica
// count, which only metricMode: replicas sends.
func (t *Trigger) NeedsReplicasMode() (key, why string) {
	if t.lagTarget > 0 {
		return keyLagTarget, "in raw mode the HPA divides the lag by lagCount and a time target cannot apply"
	}
	return "", ""
}

// metricName builds the default name of q, lowercased with every character
// outside [a-z0-9.-] replaced by '-'. Names longer than 60 characters keep
// their first 51 and end in "-" plus 8 hex digits of the FNV-1a hash of the
// full sanitized name: stable across processes and versions, and distinct
// for names that share a long prefix.
func metricName(q *query) string {
	raw := "redis-" + strings.Join(q.names, ".")
	if q.kind != readKeys {
		raw = "redis-streams-" + q.stream
		if q.group != "" {
			raw += "-" + q.group
		}
	}
	return sources.MetricName(raw)
}
