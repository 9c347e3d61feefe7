package server

import (
	"context"

	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/strategy"
)

// Explanation is what the scaler makes of one trigger at one moment: the
// sample it read, what the source made of it, and what KEDA receives.
type Explanation struct {
	Source     string // the `source` key
	MetricName string // before KEDA's "sN-" prefix
	Upstream   string // the upstream's loggable name; never credentials
	Options    strategy.Options
	// SourceTarget is the source's per-replica target (raw mode's target).
	SourceTarget float64
	Sample       sources.Sample
	Measurement  sources.Measurement
	// Value and Target are what GetMetrics and GetMetricSpec send.
	Value, Target float64
}

// Explain parses md exactly as the service does (same parsers, same
// server-level keys, same errors) and reads one sample of it through r. It
// holds no state: activation is judged on this sample alone, as a fresh
// scaler would.
func Explain(ctx context.Context, r Reader, parsers map[string]Parser, md map[string]string) (Explanation, error) {
	if parsers == nil {
		parsers = DefaultParsers()
	}
	p, err := newTriggerCache(parsers, 0).parse(md)
	if err != nil {
		return Explanation{}, err
	}
	e := Explanation{
		Source:       p.md.String("source", ""),
		MetricName:   p.name,
		Upstream:     p.Query().Upstream().Name,
		Options:      p.opts,
		SourceTarget: p.Target(),
		Target:       p.target(),
	}
	if e.Sample, err = r.Read(ctx, p.Query()); err != nil {
		return e, err
	}
	e.Measurement = p.decide(e.Sample)
	e.Value = p.value(e.Measurement)
	return e, nil
}
