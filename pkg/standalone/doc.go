// Package standalone runs what a cluster without KEDA needs besides the
// external metrics API (pkg/externalmetrics): for the triggers of the
// standalone config, scale to and from zero (pkg/zero, under a Lease, so
// only one scaler replica writes) and node-autoscaler headroom (pkg/nodehints,
// written by the same leader). It only wires: the decisions live in those
// packages, the values come from the same evaluation as gRPC's GetMetrics.
package standalone
