// Package builtin registers Tide's own sources (kafka, redis, inference)
// with the trigger core. It is the only package that imports both, so the
// core stays free of concrete sources and every command (serve, explain,
// the demo) builds the same registry from the same environment.
//
// It imports the trigger core and the three sources; only commands import
// it.
package builtin
