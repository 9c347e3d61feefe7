package demo

import "context"

// workload is one queue the demo produces into and a fleet of simulated
// consumers drains, next to a ScaledObject whose trigger reads it.
type workload interface {
	// Name labels the workload's rows in the live view.
	Name() string
	// Triggers are the metadata of the ScaledObject's triggers, one map
	// each (the demo adds scalerAddress).
	Triggers() []map[string]string
	// Partitions is the most replicas that can work at once (0: no limit).
	Partitions() int32
	// Step lets `replicas` consumers work for dt seconds, then produces
	// rate×dt messages. It returns what was produced and consumed and the
	// backlog the demo itself measures, to show next to the scaler's value.
	Step(ctx context.Context, replicas int32, rate, dt float64) (produced, consumed, backlog int64, err error)
	Close()
}

// explainer is a workload that can say which rule of its source set the
// metric: served holds each trigger's value from the scaler, failed which
// triggers answered with an error. It is called on every tick.
type explainer interface {
	Explain(ctx context.Context, served []float64, failed []bool) string
}

// budget splits a per-second rate over ticks, carrying the fraction.
type budget struct{ carry float64 }

func (b *budget) take(rate, dt float64) int64 {
	n := rate*dt + b.carry
	whole := int64(n)
	b.carry = n - float64(whole)
	return whole
}

// summarizer is a workload with closing lines for the view.
type summarizer interface {
	Summary() []string
}
