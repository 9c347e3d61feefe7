package server

import (
	"context"
	"time"

	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/strategy"
)

// ParsedTrigger is one trigger parsed and evaluated exactly as the gRPC
// service does it, for front ends other than KEDA (the standalone external
// metrics API). It keeps its activation latch, so a caller that holds on to
// it sees the same hysteresis and minimum active time as KEDA would.
type ParsedTrigger struct{ p *parsed }

// Reading is one evaluated sample of a ParsedTrigger.
type Reading struct {
	Sample      sources.Sample
	Measurement sources.Measurement
	// Value is what GetMetrics would send for the sample: the demand in
	// raw mode, the replica count in replicas mode.
	Value float64
}

// ParseTrigger parses md with the service's own path (limits, parsers,
// metricName override, shared strategy keys), so metadata accepted here is
// accepted over gRPC and fails with the same ConfigError otherwise. A nil
// parsers means DefaultParsers().
func ParseTrigger(parsers map[string]Parser, md map[string]string) (*ParsedTrigger, error) {
	if parsers == nil {
		parsers = DefaultParsers()
	}
	// A throwaway cache: get applies the same size limits as an RPC before
	// parsing, and nothing is kept beyond the returned trigger.
	p, err := newTriggerCache(parsers, 0).get(md, time.Time{})
	if err != nil {
		return nil, err
	}
	return &ParsedTrigger{p: p}, nil
}

// Source is the trigger's `source` key.
func (t *ParsedTrigger) Source() string { return t.p.md.String("source", "") }

// MetricName is the name GetMetricSpec would announce (before KEDA's
// "sN-" prefix).
func (t *ParsedTrigger) MetricName() string { return t.p.name }

// Upstream is the loggable name of the upstream the trigger reads; it never
// holds credentials.
func (t *ParsedTrigger) Upstream() string { return t.p.Query().Upstream().Name }

// Query is what the trigger asks of the engine.
func (t *ParsedTrigger) Query() sources.Query { return t.p.Query() }

// Options are the trigger's shared keys (metricMode, activation, ...).
func (t *ParsedTrigger) Options() strategy.Options { return t.p.opts }

// Target is the per-replica AverageValue target GetMetricSpec would send:
// the source's target in raw mode, 1 in replicas mode.
func (t *ParsedTrigger) Target() float64 { return t.p.target() }

// Evaluate turns a sample into what the service would answer for it. It
// steps the trigger's activation latch, as GetMetrics and IsActive do.
func (t *ParsedTrigger) Evaluate(s sources.Sample) Reading {
	m := t.p.decide(s)
	return Reading{Sample: s, Measurement: m, Value: t.p.value(m)}
}

// Measure reads the trigger's sample through r and evaluates it. A failed
// read is returned as is (it names the upstream); it is never a zero.
func (t *ParsedTrigger) Measure(ctx context.Context, r Reader) (Reading, error) {
	s, err := r.Read(ctx, t.p.Query())
	if err != nil {
		return Reading{}, err
	}
	return t.Evaluate(s), nil
}
