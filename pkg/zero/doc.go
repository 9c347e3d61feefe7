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
// Decide is the rule, pure and clock-free: 0 -> 1 when the workload is
// active; 1 -> 0 once it has been inactive for the cooldown, counted from
// the last activity whatever the replica count was (so the HPA's
// scale-down window and the cooldown do not add up). An activity error is
// "unknown" and never leads to a write.
//
// Controller runs Decide for each Target on every Sync. A target's
// triggers answer activity themselves (Trigger; pkg/standalone passes the
// trigger core's shared instances, so their activation latch is honoured).
// Controller does not elect: the caller runs Sync inside a leadership term
// (pkg/leader) and passes the term's context, which is checked right before
// every write. Its only writes to a target go through the scale subresource
// (pkg/scale), conditional on the resourceVersion it read, so a concurrent
// HPA or user change wins; each write is recorded as an Event on the target
// (reasons TideScaledFromZero and TideScaledToZero, with the reason in the
// message, e.g. "scaled from 0 to 1: active at 0 replicas (lag 42 >
// activation 0)"). A new term calls Forget: its cooldowns start at their
// first check, so a failover can delay a scale to zero by up to one
// cooldown but never hastens one.
//
// It imports pkg/scale and client-go's event recorder, nothing else of
// Tide's.
//
// RBAC: get, update on <resource>/scale of the targets (e.g.
// deployments/scale, statefulsets/scale in group apps); create, patch on
// events (core group) in the targets' namespaces (patch is for the event
// correlator's counts); and discovery, for the RESTMapper.
package zero
