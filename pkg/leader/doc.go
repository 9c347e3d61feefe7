// Package leader elects one Tide replica among several with a
// coordination.k8s.io Lease (client-go leader election), and runs the
// caller's work inside a leadership term: a context that is cancelled the
// moment leadership is lost (the Lease could not be renewed within
// RenewDeadline), so that anything written under it stops before another
// replica can take over. Terms never overlap: a new term starts only once
// the previous one's function has returned. On shutdown the Lease is
// released (ReleaseOnCancel), so another replica takes over within a
// RetryPeriod instead of a LeaseDuration.
//
// It imports client-go only, nothing of Tide's; what runs in a term is the
// caller's (pkg/standalone runs pkg/zero and pkg/nodehints writes there).
//
// RBAC: get, create, update on leases.coordination.k8s.io in the Lease's
// namespace.
package leader
