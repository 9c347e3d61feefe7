// Package externalmetrics is the external.metrics.k8s.io/v1beta1 face:
// it serves the entries of the workload configuration (pkg/workload) to
// plain HPAs, without KEDA. Each value is what the trigger core's shared
// instance of the entry's trigger gives (trigger.Cache.Read), so an HPA
// reading the API sees what KEDA would get over gRPC for the same
// metadata, from the same engine.
//
// An HPA asks for an entry's metric with
//
//	metrics:
//	- type: External
//	  external:
//	    metric: {name: orders-lag, selector: {matchLabels: {trigger: orders}}}
//	    target: {type: AverageValue, averageValue: "10"}   # lagThreshold; "1" with metricMode: replicas
//
// (with metricMode: replicas the HPA also needs a scale-up tolerance of 0,
// as in KEDA mode, or it ignores a step from 10 to 11 replicas). A failing
// upstream is ServiceUnavailable, never a zero.
//
// Serve runs the API with custom-metrics-apiserver's AdapterBase, behind an
// APIService: requests are authenticated and authorized by the
// kube-apiserver (delegated TokenReview and SubjectAccessReview, and the
// aggregator's front-proxy certificate).
//
// It imports the trigger core and pkg/workload, never another face
// (pkg/server, pkg/standalone).
package externalmetrics
