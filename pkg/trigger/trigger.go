package trigger

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/strategy"
)

// Trigger is one parsed trigger: what to read, and how a sample becomes
// what the HPA receives and whether the workload is active. It holds the
// activation latch, so every face that shares the instance shares its
// hysteresis and minimum active time. Safe for concurrent use.
type Trigger struct {
	source string
	parsed Parsed
	name   string // metric name, after the metricName override
	md     metadata.Metadata
	opts   strategy.Options
	latch  strategy.Latch

	// Cache bookkeeping, set only by the Cache that holds the trigger.
	lastUsed atomic.Int64 // UnixNano of the last Get or Touch
	holds    int          // pins against sweeping; guarded by the cache's lock
	follow   sync.Once
	done     chan struct{} // closed when the cache drops the trigger; nil unless its activation is stateful (no follower)

	mu sync.Mutex
	// The first owner is kept inline and a map made only for a second:
	// almost every trigger has one owner (KEDA's metricName differs per
	// ScaledObject), and an empty map costs more heap than the rest of
	// the trigger's bookkeeping.
	owner  Owner
	owned  bool
	owners map[Owner]struct{} // owners after the first
}

// Reading is one sample evaluated by a trigger.
type Reading struct {
	Sample sources.Sample
	// Measurement is the source's: its value (after caps), replica count,
	// rule and reason.
	Measurement sources.Measurement
	// Active is the latch's answer after this sample. An unknown sample
	// (Sample.Unknown) may leave it true within unknownGracePeriod.
	Active bool
	// Value is what the HPA receives: the demand in raw mode, the replica
	// count in replicas mode; 0 for an unknown sample, as in KEDA.
	Value float64
}

// Source is the trigger's `source` key.
func (t *Trigger) Source() string { return t.source }

// MetricName is the metric name announced to the HPA (before KEDA's "sN-"
// prefix).
func (t *Trigger) MetricName() string { return t.name }

// Query is what the trigger asks of the engine.
func (t *Trigger) Query() sources.Query { return t.parsed.Query() }

// Upstream is the loggable name of the upstream the trigger reads; it never
// holds credentials.
func (t *Trigger) Upstream() string { return t.parsed.Query().Upstream().Name }

// Warnings are what the source says its parsed trigger cannot do (an
// inference trigger without a wake signal cannot activate from zero), for
// explain; nil when it says nothing.
func (t *Trigger) Warnings() []string {
	if w, ok := t.parsed.(interface{ Warnings() []string }); ok {
		return w.Warnings()
	}
	return nil
}

// Options are the trigger's shared keys (metricMode, activation, ...).
func (t *Trigger) Options() strategy.Options { return t.opts }

// SourceTarget is the source's per-replica target (raw mode's target).
func (t *Trigger) SourceTarget() float64 { return t.parsed.Target() }

// Target is the per-replica AverageValue target the HPA receives: the
// source's in raw mode, 1 in replicas mode.
func (t *Trigger) Target() float64 { return t.opts.Target(t.parsed.Target()) }

// Evaluate turns a sample into a Reading and steps the activation latch
// with it. Samples older than one already applied do not move the latch.
func (t *Trigger) Evaluate(s sources.Sample) Reading {
	m := t.parsed.Evaluate(s)
	return Reading{
		Sample:      s,
		Measurement: m,
		Active:      t.latch.Step(t.opts.Activation, s.Time, s.Activity, s.Unknown),
		Value:       t.opts.Value(m.Value, m.Replicas),
	}
}

// Describe evaluates s as Evaluate does but leaves the activation latch
// alone: Active is the latch's current state. It is for faces that only
// look (the status page), which must not move activation.
func (t *Trigger) Describe(s sources.Sample) Reading {
	m := t.parsed.Evaluate(s)
	active, _ := t.latch.Active()
	return Reading{Sample: s, Measurement: m, Active: active, Value: t.opts.Value(m.Value, m.Replicas)}
}

// Observe steps the activation latch with s without evaluating it: what a
// follower does with samples no face asked about.
func (t *Trigger) Observe(s sources.Sample) {
	t.latch.Step(t.opts.Activation, s.Time, s.Activity, s.Unknown)
}

// Owner names a ScaledObject (or standalone trigger) that used a trigger.
type Owner struct{ Namespace, Name string }

// Own records that o uses the trigger; it reports whether this is the first
// time.
func (t *Trigger) Own(o Owner) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.owned {
		t.owner, t.owned = o, true
		return true
	}
	if o == t.owner {
		return false
	}
	if _, ok := t.owners[o]; ok {
		return false
	}
	if t.owners == nil {
		t.owners = map[Owner]struct{}{}
	}
	t.owners[o] = struct{}{}
	return true
}

// Owners are the owners recorded so far, in no order.
func (t *Trigger) Owners() []Owner {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.owned {
		return nil
	}
	out := make([]Owner, 0, 1+len(t.owners))
	out = append(out, t.owner)
	for o := range t.owners {
		out = append(out, o)
	}
	return out
}

// Active is the latch's state after the newest sample applied, and since
// when it has been active.
func (t *Trigger) Active() (bool, time.Time) { return t.latch.Active() }
