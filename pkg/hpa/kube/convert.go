package kube

import (
	"errors"
	"fmt"
	"math"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/tide-scaler/tide/pkg/hpa"
)

// Model converts the spec of an autoscaling/v2 HPA into the model's hpa.HPA.
//
// minReplicas nil becomes 1, as the API server defaults it. The behavior is
// copied field by field and left undefaulted (nil stays nil, unset fields stay
// unset), because hpa.Sync tells "no behavior" (the legacy path) from a
// behavior whose fields take defaults. Tolerances keep their *float64 shape:
// unset means "the controller's flag", which is not the same as any value.
//
// An HPA the API server would have rejected (maxReplicas < 1, minReplicas
// above maxReplicas, an invalid behavior) is an error naming the field: the
// model gives a defined answer for it, but not one the controller would.
func Model(h *autoscalingv2.HorizontalPodAutoscaler) (hpa.HPA, error) {
	if h == nil {
		return hpa.HPA{}, errors.New("hpa: nil HorizontalPodAutoscaler")
	}
	m := hpa.HPA{MinReplicas: 1, MaxReplicas: h.Spec.MaxReplicas}
	if h.Spec.MinReplicas != nil {
		m.MinReplicas = *h.Spec.MinReplicas
	}
	bad := func(format string, args ...any) (hpa.HPA, error) {
		return hpa.HPA{}, fmt.Errorf("hpa %s/%s: "+format, append([]any{h.Namespace, h.Name}, args...)...)
	}
	switch {
	case m.MaxReplicas < 1:
		return bad("spec.maxReplicas: invalid value %d: must be at least 1", m.MaxReplicas)
	case m.MinReplicas < 0:
		// 0 is allowed: it is scale-to-zero under the HPAScaleToZero gate.
		return bad("spec.minReplicas: invalid value %d: must not be negative", m.MinReplicas)
	case m.MinReplicas > m.MaxReplicas:
		return bad("spec.minReplicas: invalid value %d: must not exceed spec.maxReplicas (%d)", m.MinReplicas, m.MaxReplicas)
	}
	if b := h.Spec.Behavior; b != nil {
		m.Behavior = &hpa.Behavior{ScaleUp: rules(b.ScaleUp), ScaleDown: rules(b.ScaleDown)}
		if err := m.Behavior.Validate(); err != nil {
			// The FieldErrors name paths under spec ("behavior.scaleUp...").
			return bad("spec: %w", err)
		}
	}
	return m, nil
}

// rules converts one direction. A nil SelectPolicy becomes "" and nil
// Policies stay nil, which hpa.Defaults reads as unset; an explicit empty
// list stays empty, as upstream keeps it (validation then rejects it).
func rules(r *autoscalingv2.HPAScalingRules) *hpa.Rules {
	if r == nil {
		return nil
	}
	out := &hpa.Rules{}
	if r.StabilizationWindowSeconds != nil {
		w := *r.StabilizationWindowSeconds
		out.StabilizationWindowSeconds = &w
	}
	if r.SelectPolicy != nil {
		out.SelectPolicy = hpa.SelectPolicy(*r.SelectPolicy)
	}
	if r.Policies != nil {
		out.Policies = make([]hpa.Policy, len(r.Policies))
		for i, p := range r.Policies {
			out.Policies[i] = hpa.Policy{Type: hpa.PolicyType(p.Type), Value: p.Value, PeriodSeconds: p.PeriodSeconds}
		}
	}
	if r.Tolerance != nil {
		// The controller reads the quantity with AsApproximateFloat64 too.
		t := r.Tolerance.AsApproximateFloat64()
		out.Tolerance = &t
	}
	return out
}

// Metric is one entry of an HPA's spec.metrics, in spec order.
type Metric struct {
	// Name is the metric's name: for External metrics the name the HPA asks
	// the external metrics API for (KEDA: "s<triggerIndex>-<metricName>");
	// for Resource and ContainerResource the resource ("cpu"); for Pods
	// and Object the metric's name.
	Name string
	// Kind is spec.metrics[].type. Only External metrics are modelled (see
	// Modelled); the others are listed so a caller can say the prediction
	// leaves them out rather than silently ignore them.
	Kind autoscalingv2.MetricSourceType
	// Target is the External target in milli units, read with MilliValue
	// as the controller does. A target type the model does not know, or a
	// missing quantity, leaves Milli 0, which hpa.Sync counts as a failed
	// metric, as the controller would fail to compute it. Zero for other
	// kinds.
	Target hpa.MetricTarget
	// Current is the metric's total usage in milli units at the HPA's last
	// sync, as hpa.MetricInput.Values would hold it, or nil when the status
	// does not report it (the metric failed or the HPA has not synced).
	//
	// For a Value target the status holds the total. For AverageValue it
	// holds the per-pod average ceil(total/status.replicas) of the scale
	// target at that sync, which the HPA does not record; the total is
	// rebuilt as average × status.currentReplicas (the spec count at that
	// sync). That is exact when the workload was steady and otherwise off
	// by the pods still starting: a fallback for metrics the caller does
	// not supply itself, not a measurement.
	Current *int64
}

// Modelled reports whether hpa.Sync can compute the metric's proposal.
func (m Metric) Modelled() bool { return m.Kind == autoscalingv2.ExternalMetricSourceType }

// Metrics lists h's metrics in spec order with their last reported values.
// The order matters: hpa.Sync takes its inputs in the HPA's order, and the
// AverageValue sum of a metric depends on its values' order.
func Metrics(h *autoscalingv2.HorizontalPodAutoscaler) []Metric {
	if h == nil {
		return nil
	}
	out := make([]Metric, 0, len(h.Spec.Metrics))
	for _, spec := range h.Spec.Metrics {
		m := Metric{Kind: spec.Type}
		switch {
		case spec.Type == autoscalingv2.ExternalMetricSourceType && spec.External != nil:
			m.Name = spec.External.Metric.Name
			m.Target = target(spec.External.Target)
			m.Current = current(h, m.Name, m.Target.Type)
		case spec.Type == autoscalingv2.ResourceMetricSourceType && spec.Resource != nil:
			m.Name = string(spec.Resource.Name)
		case spec.Type == autoscalingv2.ContainerResourceMetricSourceType && spec.ContainerResource != nil:
			m.Name = string(spec.ContainerResource.Name)
		case spec.Type == autoscalingv2.PodsMetricSourceType && spec.Pods != nil:
			m.Name = spec.Pods.Metric.Name
		case spec.Type == autoscalingv2.ObjectMetricSourceType && spec.Object != nil:
			m.Name = spec.Object.Metric.Name
		}
		out = append(out, m)
	}
	return out
}

// target reads an External target the way computeStatusForExternalMetric
// does: the quantity matching the type, as MilliValue.
func target(t autoscalingv2.MetricTarget) hpa.MetricTarget {
	mt := hpa.MetricTarget{Type: hpa.TargetType(t.Type)}
	switch t.Type {
	case autoscalingv2.AverageValueMetricType:
		if t.AverageValue != nil {
			mt.Milli = t.AverageValue.MilliValue()
		}
	case autoscalingv2.ValueMetricType:
		if t.Value != nil {
			mt.Milli = t.Value.MilliValue()
		}
	}
	return mt
}

// current finds the External status entry of metric name and returns the
// total usage it implies (see Metric.Current). Upstream leaves a failed
// metric's status entry empty, so entries are matched by name, not index.
func current(h *autoscalingv2.HorizontalPodAutoscaler, name string, tt hpa.TargetType) *int64 {
	for _, st := range h.Status.CurrentMetrics {
		if st.Type != autoscalingv2.ExternalMetricSourceType || st.External == nil || st.External.Metric.Name != name {
			continue
		}
		c := st.External.Current
		switch {
		case tt == hpa.Value && c.Value != nil:
			v := c.Value.MilliValue()
			return &v
		case tt == hpa.AverageValue && c.AverageValue != nil && h.Status.CurrentReplicas > 0:
			v := mulSaturating(c.AverageValue.MilliValue(), int64(h.Status.CurrentReplicas))
			return &v
		}
		return nil
	}
	return nil
}

// mulSaturating is a*b for b > 0, pinned to the int64 range: a metric that
// large saturates the HPA's own sums too.
func mulSaturating(a, b int64) int64 {
	switch {
	case a > 0 && a > math.MaxInt64/b:
		return math.MaxInt64
	case a < 0 && a < math.MinInt64/b:
		return math.MinInt64
	}
	return a * b
}

// StripIndex removes KEDA's "s<trigger index>-" prefix from an HPA metric
// name, giving the metric name the scaler chose ("s0-kafka-g-t" ->
// "kafka-g-t"). Other names are returned unchanged.
func StripIndex(name string) string {
	head, rest, ok := strings.Cut(name, "-")
	if !ok || len(head) < 2 || head[0] != 's' || strings.Trim(head[1:], "0123456789") != "" {
		return name
	}
	return rest
}
