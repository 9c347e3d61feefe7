// Package hpa reproduces, as pure arithmetic, what the Kubernetes Horizontal
// Pod Autoscaler does with the External metrics a KEDA scaler publishes.
//
// It owns:
//
//   - the unit conversion KEDA applies on the way in: truncating in older
//     releases (Milli), rounding since kedacore/keda#7534 (MilliRounded),
//   - the tolerance band the HPA uses to ignore small changes (Tolerances),
//     per direction since KEP-4951 (HPA.Tolerances),
//   - the replica proposals of the two External target types
//     (AverageValueReplicas, ValueReplicas) and the way each path sums the
//     values a metric returns (SumForAverageValue, SumForValue),
//   - the inverse a scaler needs to cap its metric so the HPA lands on no more
//     than a chosen replica count under either conversion (CapValue),
//   - the controller's whole decision at one sync (Sync): pausing, clamping
//     to [minReplicas, maxReplicas], the max over metrics, the refusal to
//     scale down on partial data, and either the legacy smoothing or the
//     spec.behavior stabilization windows and rate policies (Behavior,
//     Defaults, Validate), with the memory the controller keeps between
//     syncs (State) and the rule that decided each outcome (Reason).
//
// The formulas follow kubernetes/kubernetes pkg/controller/podautoscaler
// (replica_calculator.go: GetExternalPerPodMetricReplicas,
// GetExternalMetricReplicas, getUsageRatioReplicaCount; horizontal.go:
// reconcileAutoscaler, computeReplicasForMetrics, normalizeDesiredReplicas,
// stabilizeRecommendationWithBehaviors, convertDesiredReplicasWithBehaviorRate)
// and pkg/apis/autoscaling/v2/defaults.go. They are kept in the same order and
// in the same float64 operations as upstream, because the answers sit on ceil
// boundaries where a differently associated product or a differently rounded
// quotient flips the result by one replica. Where upstream converts an
// out-of-range float to an integer (which Go leaves implementation-defined),
// this package saturates instead, and says so. Where a proposal function
// returns 0 for a proposal upstream would make negative, the difference is
// invisible: the controller clamps every proposal to minReplicas, never below 0.
//
// Not modelled: Resource, Pods and Object metrics; the HPAScaleToZero
// ScaledToZero condition of recent masters (this package follows released
// controllers, which compute metrics at spec 0 when minReplicas is 0); the
// scale subresource update failing.
//
// The arithmetic imports only the standard library; ParseBehavior alone reads
// YAML (sigs.k8s.io/yaml) and quantities (apimachinery's resource package),
// as the API server does. Nothing does I/O or reads the clock: time is an
// argument, so every function is deterministic, and all but Sync (which
// updates the State it is given) are safe for concurrent use. It imports
// nothing of Tide's.
package hpa
