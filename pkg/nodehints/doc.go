// Package nodehints tells node autoscalers (Cluster Autoscaler, Karpenter)
// about capacity a workload will need before its pods exist.
//
// Node autoscalers react only to pending pods, and a new node takes
// minutes (3-4 on GCE, more with GPUs), so a pod autoscaler that asks for
// replicas only when the demand is there waits those minutes. This package
// keeps headroom ahead of the demand instead.
//
// The forecast, pure, is its own package, forecast (Predict, Headroom,
// Trim): it imports nothing outside the standard library, so its tests and
// its fuzz target build without the Kubernetes client this package needs.
//
// Writer keeps the headroom (forecast.Headroom) for one target in one of two ways:
//
//   - CapacityBuffer (autoscaling.x-k8s.io/v1beta1, Cluster Autoscaler
//     >= 1.35), when discovery shows the API: one <target>-tide-buffer per
//     target with spec.scalableRef on the target and spec.replicas =
//     headroom. The autoscaler simulates the pods: nothing runs, nothing is
//     preempted.
//   - Otherwise a balloon Deployment <target>-tide-balloon of
//     registry.k8s.io/pause:3.10 pods requesting what one target pod
//     requests (containers, sidecars and init containers, as the scheduler
//     counts them), with the target's node selector, affinity and
//     tolerations, PriorityClass tide-balloon (value -10, preemptionPolicy
//     Never; created if missing) and terminationGracePeriodSeconds 0. Real
//     pods preempt balloons; the pending balloons make the autoscaler add
//     nodes. This works with Karpenter too.
//
// Targets are scale.Target (pkg/scale); one without a kind is an apps/v1
// Deployment. Headroom 0 deletes the object; Delete removes it when the
// target or its trigger goes away. The context of Sync and Delete is the
// caller's leadership term: it is checked right before every write, so
// nothing is written once the term has ended. Owned objects carry
// app.kubernetes.io/managed-by=tide and tide.dev/target=<target>; objects
// without the first are never modified or deleted. The writer never
// resizes node groups.
//
// The package imports pkg/scale and client-go, nothing else of Tide's.
//
// RBAC: get, create, update, delete on capacitybuffers.autoscaling.x-k8s.io
// and on deployments (apps) in the targets' namespaces (get also reads
// Deployment targets; get on statefulsets for StatefulSet targets); get,
// create on priorityclasses.scheduling.k8s.io (cluster-scoped); and
// discovery, for the RESTMapper. Creating Deployments lets the scaler run
// pods; where that is too much, install the CapacityBuffer CRD and grant
// only its rules.
package nodehints
