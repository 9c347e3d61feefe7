// Package scale is the one type for a scale target, the workload an HPA
// scales (Target: namespace, apiVersion, kind, name, as in an HPA's
// scaleTargetRef), and the one way Tide reads and writes it: the scale
// subresource (Client; Dynamic implements it for any kind that has one,
// resolving the resource with a RESTMapper as the HPA controller does).
//
// Every package that names or touches a workload (zero, nodehints,
// workload, hpa/kube, standalone) uses these types. It imports client-go
// and apimachinery only, nothing of Tide's.
//
// RBAC: get (and update, for writers) on <resource>/scale of the targets,
// and discovery for the RESTMapper.
package scale
