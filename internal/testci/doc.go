// Package testci decides what a test does when a real part it needs (a
// binary, a server feature, a version) is missing: under CI it fails naming
// the part, so that CI never passes without testing; elsewhere it skips
// with the reason.
//
// It imports none of ours; tests import it.
package testci
