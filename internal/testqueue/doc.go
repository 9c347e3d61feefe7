// Package testqueue is a test helper: a fake source and engine reader for
// tests of the faces over the trigger core (pkg/workload, pkg/standalone,
// pkg/externalmetrics, pkg/awareness). The source's demand is whatever the
// test sets on a Reader, per queue name; nothing is ever polled.
//
// pkg/trigger's own tests keep their fake: they cannot import a package
// that imports pkg/trigger.
package testqueue
