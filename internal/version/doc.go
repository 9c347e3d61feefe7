// Package version says which build of Tide is running: its version, the
// source revision it was built from and the Go toolchain, read from the
// -ldflags value the Makefile sets (git describe) or, without it, from the
// build information the Go toolchain stamps into every binary.
package version
