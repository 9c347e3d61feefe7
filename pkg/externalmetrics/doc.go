// Package externalmetrics serves Tide's triggers as the Kubernetes external
// metrics API (external.metrics.k8s.io/v1beta1) without KEDA: an HPA with
// an External metric reads the same value the gRPC service would send KEDA
// for the same metadata, from the same engine.
//
// The triggers come from a YAML file, in Kubernetes a ConfigMap mounted as
// a volume, reloaded when it changes (an invalid edit is logged and the
// previous configuration keeps serving):
//
//	triggers:
//	- name: orders            # unique DNS-1123 label; the `trigger` label
//	  namespace: shop         # the HPA's namespace
//	  metricName: orders-lag  # the metric the HPA asks for (default: name)
//	  scaleTarget: {apiVersion: apps/v1, kind: Deployment, name: orders-consumer}
//	  minReplicas: 0          # default 1; 0 lets the scaler own 0 <-> 1
//	  maxReplicas: 12
//	  cooldownPeriod: 5m      # before 1 -> 0; a duration or seconds
//	  metadata: {source: kafka, bootstrapServers: kafka:9092, consumerGroup: orders, topic: orders, lagThreshold: "10"}
//
// The HPA asks for it with
//
//	metrics:
//	- type: External
//	  external:
//	    metric: {name: orders-lag, selector: {matchLabels: {trigger: orders}}}
//	    target: {type: AverageValue, averageValue: "10"}   # lagThreshold; "1" with metricMode: replicas
//
// (with metricMode: replicas the HPA also needs a scale-up tolerance of 0,
// as in KEDA mode, or it ignores a step from 10 to 11 replicas).
//
// Serve runs the API with custom-metrics-apiserver's AdapterBase, behind an
// APIService: requests are authenticated and authorized by the
// kube-apiserver (delegated TokenReview and SubjectAccessReview, and the
// aggregator's front-proxy certificate).
package externalmetrics
