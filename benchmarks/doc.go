// Package benchmarks holds Tide's load benchmarks and side-by-side
// comparisons against baselines measured in the same process. It is its own
// module so that heavy peers (KEDA's scalers) stay out of Tide's go.mod.
//
// Everything here is a Go benchmark; see README.md for what each one
// measures, how to read its figures and the figures measured.
package benchmarks
