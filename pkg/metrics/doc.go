// Package metrics owns Tide's own telemetry: every poll, every RPC and every
// decision, exported through a Registerer the caller injects (no global
// registration, so tests and benchmarks can run several servers in one
// process).
package metrics
