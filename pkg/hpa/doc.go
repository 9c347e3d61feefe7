// Package hpa reproduces, as pure arithmetic, what the Kubernetes Horizontal
// Pod Autoscaler does with the External metric a KEDA scaler publishes.
//
// It owns three things and nothing else:
//
//   - the unit conversion KEDA applies on the way in: truncating in older
//     releases (Milli), rounding since kedacore/keda#7534 (MilliRounded),
//   - the tolerance band the HPA uses to ignore small changes (Tolerances),
//   - the replica proposals of the two External target types
//     (AverageValueReplicas, ValueReplicas) and the way each path sums the
//     values a metric returns (SumForAverageValue, SumForValue),
//   - the inverse a scaler needs to cap its metric so the HPA lands on no more
//     than a chosen replica count under either conversion (CapValue).
//
// The formulas follow kubernetes/kubernetes pkg/controller/podautoscaler
// (replica_calculator.go: GetExternalPerPodMetricReplicas,
// GetExternalMetricReplicas, getUsageRatioReplicaCount). They are kept in the
// same order and in the same float64 operations as upstream, because the
// answers sit on ceil boundaries where a differently associated product or a
// differently rounded quotient flips the result by one replica.
//
// What happens after a proposal (max over metrics, clamping to
// [minReplicas, maxReplicas], stabilization windows, rate policies) is not
// modelled here. Where this package returns 0 for a proposal upstream would
// make negative, the difference is invisible: the controller clamps every
// proposal to minReplicas, which is never below 0.
//
// The package imports only the standard library, does no I/O and never reads
// the clock, so every function is deterministic and safe for concurrent use.
package hpa
