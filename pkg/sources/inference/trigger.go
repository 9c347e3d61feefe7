package inference

import (
	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/sources"
)

// Trigger is one parsed inference trigger.
//
// In scrape and push mode the upstream runs Knative's KPA on every poll,
// and the sample's Value is the desired replica count: the metric sent to
// KEDA is that count with an AverageValue target of 1, so the HPA's
// ceil(value / target) is the KPA's decision. In prometheus mode the value
// is the query's result and the target is threshold, as in KEDA's
// prometheus scaler.
type Trigger struct {
	mode       string
	query      sources.Query
	metricName string
	target     float64
	activation float64 // prometheus mode's activationThreshold; 0 otherwise
}

// Mode is the trigger's mode: scrape, prometheus or push.
func (t *Trigger) Mode() string { return t.mode }

// Query returns what the trigger reads. In scrape and push mode it holds
// the windows and targets too: the decision is made where the data is.
func (t *Trigger) Query() sources.Query { return t.query }

// MetricName is "inference-<model, service or host>", or "prometheus" in
// prometheus mode (KEDA's name), sanitized to [a-z0-9.-], at most 60.
func (t *Trigger) MetricName() string { return t.metricName }

// Target is the AverageValue target: 1 replica in scrape and push mode,
// threshold in prometheus mode.
func (t *Trigger) Target() float64 { return t.target }

// Activation is the activation threshold: prometheus mode's
// activationThreshold, 0 in scrape and push mode (one request wakes).
func (t *Trigger) Activation() float64 { return t.activation }

// Evaluate turns a sample into the metric value and replica count. It is
// pure and cheap; the windows already ran in the upstream.
func (t *Trigger) Evaluate(s sources.Sample) sources.Measurement {
	m := sources.Measurement{Value: s.Value, Replicas: hpa.FromZero(s.Value, t.target)}
	if t.mode != ModePrometheus && len(s.Parts) > 0 && s.Parts[0].Name == "decision" {
		m.Reason = s.Parts[0].Info
	}
	return m
}

// Warnings are what a parsed trigger cannot do, for a face to show at
// parse time (explain). A scrape trigger with neither model (pushed
// requests) nor eppTargets reads only per-pod series, which vanish at zero
// replicas: it can never wake a workload from zero, and at zero pods its
// demand is unknown (the sample says so), not 0.
func (t *Trigger) Warnings() []string {
	q, ok := t.query.(*scrapeQuery)
	if !ok || q.model != "" || len(q.sig.epp.targets) > 0 {
		return nil
	}
	return []string{"no wake signal: this trigger reads only the pods' own series, which vanish at zero replicas, so it cannot " +
		"activate a workload from zero; set model (requests a router pushes) or eppTargets (the EPP's flow-control queue and " +
		"request counter), or keep minReplicaCount >= 1"}
}
