// Package gobuild says how a test or harness builds a companion binary
// (the scaler it runs as a separate process) so that the build matches its
// own: a test binary built with -race builds the scaler with -race too.
//
// That is both a check (the scaler under a race-enabled test runs with the
// race detector) and a saving: a cold `make test` compiles every dependency
// once, race-instrumented, instead of once more without.
//
// It imports only the standard library.
package gobuild
