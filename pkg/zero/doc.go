// Package zero scales workloads to and from zero replicas without KEDA.
//
// Kubernetes' own HPA cannot go to zero (HPAScaleToZero is alpha and off
// by default), so the portable pattern is KEDA's: one controller owns
// 0 <-> 1 (activation), the HPA owns 1 <-> N with minReplicas >= 1. The
// HPA pauses itself while spec.replicas is 0 (ScalingActive=False,
// ScalingDisabled) and resumes when it is not, so the two never fight:
// this package writes only 0 -> 1 and 1 -> 0 and leaves every other count
// alone.
//
// Decide is the rule, pure and clock-free: 0 -> 1 when the trigger is
// active; 1 -> 0 once the trigger has been inactive for the cooldown,
// counted from the last activity whatever the replica count was (so the
// HPA's scale-down window and the cooldown do not add up). An activity
// error is "unknown" and never leads to a write.
//
// Controller runs Decide for each Target every Interval, but only while it
// holds a coordination.k8s.io Lease (client-go leader election, released
// on shutdown), so that of several Tide replicas exactly one writes. Its
// only writes to a target are through the scale subresource, conditional
// on the resourceVersion it read, so a concurrent HPA or user change wins;
// each write is recorded as an Event on the target (reasons
// TideScaledFromZero and TideScaledToZero, with the reason in the message,
// e.g. "scaled from 0 to 1: active at 0 replicas (lag 42 > activation 0)").
// A new leader has no history of a target and starts its cooldown at its
// first look, so a failover can delay a scale to zero by up to one
// cooldown but never hastens one.
//
// The controller declares what it needs: a ScaleClient (DynamicScales
// implements it over the dynamic client and a RESTMapper, for any kind
// with a scale subresource) and an Activity (optionally an Explainer).
//
// RBAC: get, create, update on leases.coordination.k8s.io in the Lease's
// namespace; get, update on <resource>/scale of the targets (e.g.
// deployments/scale, statefulsets/scale in group apps); create, patch on
// events (core group) in the targets' namespaces (patch is for the event
// correlator's counts); and discovery, for the RESTMapper.
package zero
