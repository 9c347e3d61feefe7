package redis

import (
	"strings"

	"github.com/tide-scaler/tide/pkg/hpa"
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

// Evaluate turns a sample into the metric value and the activation state:
// the value is the depth itself (Redis has no partitions to cap by), and the
// workload is active iff the depth is above the activation threshold, so
// the default threshold 0 activates on a single waiting entry.
func (t *Trigger) Evaluate(s sources.Sample) sources.Measurement {
	return sources.Measurement{
		Value:    s.Value,
		Active:   s.Activity > t.activation,
		Replicas: fromZero(s.Value, t.target),
	}
}

// Activation is the activation threshold: activationListLength or
// activationLagCount.
func (t *Trigger) Activation() float64 { return t.activation }

// fromZero is the replica count the HPA's AverageValue arithmetic derives
// from value and target with no replicas running.
func fromZero(value, target float64) int64 {
	return int64(hpa.AverageValueReplicas(hpa.Milli(value), hpa.Milli(target), 0, hpa.DefaultTolerances))
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
