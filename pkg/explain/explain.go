package explain

import (
	"context"
	"time"

	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/strategy"
	"github.com/tide-scaler/tide/pkg/trigger"
)

// Explanation is what the scaler makes of one trigger at one moment.
type Explanation struct {
	Source     string // the `source` key
	MetricName string // before KEDA's "sN-" prefix
	Upstream   string // the upstream's loggable name; never credentials
	Options    strategy.Options
	// SourceTarget is the source's per-replica target (raw mode's target).
	SourceTarget float64
	// Target is what GetMetricSpec sends.
	Target float64
	// Reading is the sample and what every face makes of it; its Value is
	// what GetMetrics sends.
	Reading trigger.Reading
	// SourceWarnings are what the source says the trigger cannot do.
	SourceWarnings []string
}

// Explain parses md with reg, exactly as every face does (same keys, same
// errors), and reads one sample through r. It holds no state: activation
// is judged on this sample alone, as a freshly started scaler would.
func Explain(ctx context.Context, reg *trigger.Registry, r trigger.Reader, md map[string]string) (Explanation, error) {
	t, err := reg.Parse(md)
	if err != nil {
		return Explanation{}, err
	}
	e := Explanation{
		Source:         t.Source(),
		MetricName:     t.MetricName(),
		Upstream:       t.Upstream(),
		Options:        t.Options(),
		SourceTarget:   t.SourceTarget(),
		Target:         t.Target(),
		SourceWarnings: t.Warnings(),
	}
	s, err := r.Read(ctx, t.Query())
	if err != nil {
		return e, err
	}
	e.Reading = t.Evaluate(s)
	return e, nil
}

// Predict runs the HPA model one sync forward from a controller that has
// held the current count for longer than any window, so the answer shows
// the rules that apply to this value, not a freshly restarted controller's
// history.
func Predict(now time.Time, in Input, e Explanation, cfg hpa.Config) hpa.Decision {
	st := &hpa.State{Recommendations: []hpa.Recommendation{{Replicas: in.Current, Time: now.Add(-2 * time.Hour)}}}
	m := hpa.MetricInput{Target: hpa.MetricTarget{Type: in.Target, Milli: hpa.Milli(e.Target)}, Values: []int64{hpa.Milli(e.Reading.Value)}}
	cur := hpa.Current{Spec: in.Current, Status: in.Current, Ready: in.Current}
	return hpa.Sync(now, in.HPA, cur, []hpa.MetricInput{m}, st, cfg)
}
