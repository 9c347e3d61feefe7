package hpa

import "time"

// TargetType is the kind of target an External metric has. KEDA creates
// AverageValue targets unless a trigger asks for metricType: Value.
type TargetType string

const (
	// AverageValue divides the metric by the number of pods: the proposal is
	// ceil(usage/target) and the tolerance applies to usage/(target*status).
	AverageValue TargetType = "AverageValue"
	// Value compares the whole metric with the target and scales the ready
	// pods by the ratio.
	Value TargetType = "Value"
)

// MetricTarget is an External metric's target, in the milli units the HPA
// computes in (see Milli and MilliRounded).
type MetricTarget struct {
	Type  TargetType
	Milli int64
}

// MetricInput is what one metric of the HPA yielded in a sync.
//
// Values are every item the external metrics API returned for the metric, in
// milli units and in the order returned: the two target types sum them
// differently (SumForAverageValue, SumForValue) and the AverageValue sum
// depends on order. Failed marks a fetch error. An empty Values is a failure
// too: upstream's metrics client reports "no metrics returned from external
// metrics API" rather than reading it as zero.
type MetricInput struct {
	Target MetricTarget
	Values []int64
	Failed bool
}

// HPA is the part of a HorizontalPodAutoscaler spec the decision reads.
type HPA struct {
	// MinReplicas is spec.minReplicas after API defaulting (nil becomes 1).
	// 0 is scale-to-zero (the alpha HPAScaleToZero gate).
	MinReplicas int32
	// MaxReplicas is spec.maxReplicas.
	MaxReplicas int32
	// Behavior is spec.behavior as written. nil selects the legacy path,
	// which is not the same as the defaults a set behavior gets.
	Behavior *Behavior
}

// Tolerances returns the band the HPA applies to this HPA's ratios: the
// controller flag, overridden per direction by behavior tolerances when the
// HPAConfigurableTolerance gate is on. Unlike the other behavior fields a
// tolerance is not defaulted into the spec; it is read at use.
func (h HPA) Tolerances(cfg Config) Tolerances {
	t := Tolerances{ScaleDown: cfg.Tolerance, ScaleUp: cfg.Tolerance}
	b := h.Behavior
	if b == nil || !cfg.ConfigurableTolerance {
		return t
	}
	if b.ScaleDown != nil && b.ScaleDown.Tolerance != nil {
		t.ScaleDown = *b.ScaleDown.Tolerance
	}
	if b.ScaleUp != nil && b.ScaleUp.Tolerance != nil {
		t.ScaleUp = *b.ScaleUp.Tolerance
	}
	return t
}

// Current is what the controller reads from the scale target at a sync.
type Current struct {
	// Spec is scale.spec.replicas: the count the HPA compares against,
	// changes, and (at 0 with minReplicas > 0) reads as "paused".
	Spec int32
	// Status is scale.status.replicas: the AverageValue denominator. It lags
	// Spec while pods are created. It also stands in for "the selector
	// matches at least one pod", which the Value path requires.
	Status int32
	// Ready counts pods that are Running and Ready: the Value path's
	// multiplier.
	Ready int32
}

// Config is the controller's configuration (kube-controller-manager flags and
// feature gates). Start from DefaultConfig: the zero value has no tolerance
// and no scale-down stabilization.
type Config struct {
	// SyncPeriod is --horizontal-pod-autoscaler-sync-period. Sync does not
	// read it (time is passed in); it says how far apart callers should
	// space syncs to replay the controller.
	SyncPeriod time.Duration
	// Tolerance is --horizontal-pod-autoscaler-tolerance.
	Tolerance float64
	// DownscaleStabilization is
	// --horizontal-pod-autoscaler-downscale-stabilization: the legacy
	// window, and the scaleDown window a set behavior leaves unset.
	DownscaleStabilization time.Duration
	// ConfigurableTolerance is the HPAConfigurableTolerance gate (KEP-4951):
	// alpha and off in 1.33 and 1.34, beta and on since 1.35. Off, behavior
	// tolerances are ignored.
	ConfigurableTolerance bool
}

// DefaultConfig is an unflagged kube-controller-manager of 1.35 or later.
func DefaultConfig() Config {
	return Config{
		SyncPeriod:             15 * time.Second,
		Tolerance:              0.1,
		DownscaleStabilization: 5 * time.Minute,
		ConfigurableTolerance:  true,
	}
}
