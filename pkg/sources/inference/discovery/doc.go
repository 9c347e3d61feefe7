// Package discovery follows Kubernetes Services' ready endpoints for the
// inference source: one client-go informer per followed Service, on its
// EndpointSlices only (label kubernetes.io/service-name), shared by every
// trigger that names the Service and stopped when the last one lets go.
//
// It implements inference.Discovery, so that package itself never imports
// Kubernetes; inference.FollowPeers uses it too, to find the other replicas
// of the scaler itself in its own Service (push forwarding). The scaler
// needs get, list and watch on endpointslices.discovery.k8s.io in the
// namespaces its triggers name, and in its own for push forwarding.
package discovery
