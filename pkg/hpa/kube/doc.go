// Package kube gives the scaler its optional "HPA awareness": it reads the
// HorizontalPodAutoscaler KEDA made for a ScaledObject and says what that HPA
// will do with the value the scaler is about to send, and where its settings
// defeat the scaler.
//
// It owns:
//
//   - every conversation with the Kubernetes API about HPAs: the HPA itself
//     (typed client), the ScaledObject's settings (dynamic client) and the
//     scale target's scale subresource (read through pkg/scale, as every
//     package reads it), behind a per-ScaledObject cache that bounds the
//     requests to one fetch per TTL whoever asks (Lookup);
//   - the conversion of an autoscaling/v2 HPA into the pure model's types
//     (Model, Metrics);
//   - a stand-in for the controller's in-memory history, so the model can be
//     run forward sync after sync (Predictor);
//   - the checks for settings that make the HPA ignore or distort what the
//     scaler sends (Check).
//
// The arithmetic stays in package hpa, which does no I/O and never reads the
// clock; this package is the only place that talks to the API server about
// HPAs, so RBAC, caching and API errors are handled once.
//
// KEDA names the HPA keda-hpa-<ScaledObject> unless the ScaledObject sets
// spec.advanced.horizontalPodAutoscalerConfig.name, and names its External
// metrics s<triggerIndex>-<metricName>. Lookup issues only get requests,
// cluster-wide or in each namespace it is asked about: on
// horizontalpodautoscalers.autoscaling, on the scale subresource of the
// scale targets (deployments/scale, statefulsets/scale, ...), and on
// scaledobjects.keda.sh. Without the last it still works, without the
// cooldown check and the HPA name override. The deployment grants list and
// watch on HPAs as well, for callers that replace the cache with an informer.
package kube
