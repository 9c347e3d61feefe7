// Package strategy owns what every trigger shares between its source's
// measurement and what KEDA receives: the output mode (metricMode: raw
// demand with a per-replica target, or the replica count itself with target
// 1) and activation with hysteresis (separate activation and deactivation
// thresholds, a minimum active duration, and a grace period that keeps an
// active trigger active through unknown samples).
//
// It is pure apart from Latch, which holds one trigger's activation state
// and is stepped with each sample's time, never the clock.
package strategy
