// Package standalone is the face that writes to the cluster without KEDA:
// for the entries of the workload configuration (pkg/workload) it owns
// 0 <-> 1 (pkg/zero) for those with minReplicas 0 and keeps node headroom
// (pkg/nodehints) for those with a nodeLeadTime.
//
// It only wires. Activity comes from the very trigger instances the
// external metrics API serves (the workload file holds them in the shared
// trigger.Cache), so every activation latch — deactivationThreshold,
// minActiveDuration — is honoured. Every replica reads demand each
// Interval and keeps the headroom history, so a new leader predicts from a
// full window at once; only the Lease holder (pkg/leader) writes, inside
// its leadership term, whose context is checked right before each write.
//
// It imports the trigger core, pkg/workload, pkg/scale, pkg/leader,
// pkg/zero and pkg/nodehints; never another face. Clients are built by
// the caller and passed in.
package standalone
