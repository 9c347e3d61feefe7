// Package sources owns the contract between demand sources (Kafka, Redis,
// inference) and the rest of Tide, and the engine that polls them.
//
// A trigger is parsed once into a typed Query. Queries that read the same
// upstream (one Kafka cluster, one Redis deployment) share one Upstream, which
// answers all of them in one batched Poll per interval. The Engine keeps the
// latest Sample per query, answers readers from that cache, and tells
// watchers when a query's sample changes. RPC handlers therefore never do
// upstream I/O, except for the one synchronous first sample of a query that
// nobody has asked about before.
//
// An Upstream that is also a Prober (Kafka, Redis) is probed between polls, every
// Options.ProbeInterval, for its queries with no activity; the queries a
// probe wakes are polled at once, so activation is pushed within one probe
// interval. A probe records nothing but freshness: with
// Options.IdlePollInterval, a query it finds Quiet (no activity at its last
// poll, nothing new since) has its last sample restamped and is polled in
// full only that often; a failed or unjudged probe is counted and the
// normal poll goes on.
//
// A failed or stale reading is an error to the reader, never a zero: a false
// zero scales a busy workload away, while an error lets KEDA's fallback and
// the HPA's "do nothing on missing metrics" rule engage.
package sources
