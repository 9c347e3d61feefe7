// Package discovery follows Kubernetes Services' ready endpoints for the
// inference source: one client-go informer per followed Service, on its
// EndpointSlices only (label kubernetes.io/service-name), shared by every
// trigger that names the Service and stopped when the last one lets go.
//
// It implements inference.Discovery, so that package itself never imports
// Kubernetes. The scaler needs get, list and watch on
// endpointslices.discovery.k8s.io in the namespaces its triggers name.
package discovery
