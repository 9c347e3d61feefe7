package hpa

import "math"

// AverageValueReplicas is the HPA's proposal for an External metric with an
// AverageValue target, KEDA's default metricType. It mirrors upstream
// GetExternalPerPodMetricReplicas:
//
//	ratio = usage / (target * statusReplicas)
//	within tolerance -> statusReplicas, else ceil(usage / target)
//
// usageMilli is the sum of every value the metric returned (see
// SumForAverageValue); targetMilli is the target's milli value. statusReplicas
// is scale.status.replicas, not spec: right after KEDA activates a workload
// (spec 0 -> 1) status can still be 0 for a sync or two.
//
// Edge cases, each as upstream unless said otherwise:
//   - statusReplicas 0 with usage > 0: the ratio is +Inf, never within, so the
//     proposal is ceil(usage/target) regardless of tolerance.
//   - usage 0: the ratio is 0 (or NaN from 0 replicas), never within the
//     default band, so the proposal is 0 whatever the current count; the
//     controller then clamps it to minReplicas.
//   - usage < 0: upstream sums with a guard that treats any negative running
//     sum as int64 overflow and replaces it with MaxInt64, so a negative total
//     can only reach the HPA as MaxInt64 and the proposal is MaxInt32 (then
//     maxReplicas). That is reproduced: a negative metric scales to max.
//   - a ceil beyond int32 is clamped to MaxInt32, as upstream does.
//   - targetMilli <= 0: the API server rejects an AverageValue target that is
//     not positive, so the HPA never computes this; statusReplicas is returned
//     so a caller with a broken target predicts "no change" rather than a
//     division by zero. A target below 0.001 is such a case under Milli
//     (below 0.0005 under MilliRounded).
func AverageValueReplicas(usageMilli, targetMilli int64, statusReplicas int32, tol Tolerances) int32 {
	if targetMilli <= 0 {
		return nonNegative(statusReplicas)
	}
	if usageMilli < 0 {
		usageMilli = math.MaxInt64
	}
	// Same operations, same order as upstream: the product is formed in
	// float64 (so target*replicas cannot overflow int64) and divided once.
	ratio := float64(usageMilli) / (float64(targetMilli) * float64(statusReplicas))
	if tol.IsWithin(ratio) {
		return nonNegative(statusReplicas)
	}
	return ceilReplicas(float64(usageMilli) / float64(targetMilli))
}

// ValueReplicas is the HPA's proposal for an External metric with a Value
// target. It mirrors upstream GetExternalMetricReplicas and
// getUsageRatioReplicaCount:
//
//	ratio = usage / target
//	currentReplicas == 0 -> ceil(ratio)
//	within tolerance     -> currentReplicas
//	otherwise            -> ceil(ratio * readyPods)
//
// currentReplicas is scale.spec.replicas (the AverageValue path uses status).
// readyPods counts pods matched by the selector that are Running and Ready;
// upstream fails the metric when the selector matches no pods at all, which
// callers must model themselves. With pods present but none ready the
// proposal outside tolerance is 0: unready pods contribute nothing.
//
// Edge cases:
//   - targetMilli <= 0 returns currentReplicas; the API server rejects a
//     Value target that is not positive.
//   - negative usage is passed through as upstream does (only the positive
//     overflow is guarded in this path); a negative proposal is returned as 0.
//   - upstream clamps ceil(ratio*readyPods) to MaxInt32 but converts the
//     from-zero ceil(ratio) unguarded, which Go leaves implementation-defined
//     (on amd64 a huge ratio becomes MinInt32 and the HPA stays at
//     minReplicas). Both are clamped to MaxInt32 here.
func ValueReplicas(usageMilli, targetMilli int64, currentReplicas, readyPods int32, tol Tolerances) int32 {
	if targetMilli <= 0 {
		return nonNegative(currentReplicas)
	}
	ratio := float64(usageMilli) / float64(targetMilli)
	if currentReplicas == 0 {
		// Scale-to-zero path: no tolerance, no ready-pod count.
		return ceilReplicas(ratio)
	}
	if tol.IsWithin(ratio) {
		return nonNegative(currentReplicas)
	}
	return ceilReplicas(ratio * float64(readyPods))
}

// SumForAverageValue adds metric values the way the AverageValue path does:
// a running sum that turns negative is taken to be an int64 overflow and
// replaced by MaxInt64. The guard cannot tell overflow from a genuinely
// negative value, so order matters: {-3, 5} sums to MaxInt64, {5, -3} to 2.
func SumForAverageValue(values []int64) int64 {
	var usage int64
	for _, v := range values {
		usage += v
		if usage < 0 {
			return math.MaxInt64
		}
	}
	return usage
}

// SumForValue adds metric values the way the Value path does: a positive
// value that would overflow saturates the sum at MaxInt64; negative values
// are added as they are.
func SumForValue(values []int64) int64 {
	var usage int64
	for _, v := range values {
		if v > 0 && usage > math.MaxInt64-v {
			return math.MaxInt64
		}
		usage += v
	}
	return usage
}

// ceilReplicas rounds a replica estimate up and fits it in int32. NaN and
// non-positive estimates give 0; the controller would clamp a negative
// proposal to minReplicas anyway.
func ceilReplicas(x float64) int32 {
	c := math.Ceil(x)
	switch {
	case math.IsNaN(c) || c <= 0:
		return 0
	case c >= math.MaxInt32:
		return math.MaxInt32
	}
	return int32(c)
}

func nonNegative(r int32) int32 {
	return max(r, 0)
}

// FromZero is the replica count the AverageValue arithmetic derives from a
// plain value and target with no replicas running: what a source decides
// for metricMode replicas, in the HPA's own milli units.
func FromZero(value, target float64) int64 {
	return int64(AverageValueReplicas(Milli(value), Milli(target), 0, DefaultTolerances))
}
