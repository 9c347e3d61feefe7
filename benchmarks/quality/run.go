package quality

import (
	"fmt"
	"math"
	"time"

	"github.com/tide-scaler/tide/pkg/hpa"
)

// Outcome is one policy's replay of one trace.
type Outcome struct {
	Trace, Policy string
	// Attainment is the share of seconds, in percent, at which every
	// partition's oldest unprocessed message was within the goal.
	Attainment float64
	// ReplicaMinutes integrates the pods that exist, started or not.
	ReplicaMinutes float64
	// ScaleEvents counts changes of the Deployment's replica count.
	ScaleEvents int
	// Rebalances counts membership changes of the consumer group.
	Rebalances int
	// WorstAge is the worst oldest-message age, seconds.
	WorstAge float64
	Peak     int
	// Series samples the run every SeriesEvery seconds, for plots.
	Series []Point
}

// Point is one sample of a run's time series.
type Point struct {
	T        int
	Replicas int
	Members  int
	Age      float64
}

// SeriesEvery is the spacing of Outcome.Series, seconds.
const SeriesEvery = 5

// Run replays tr under p with an injected clock: a loop advancing the
// second, no sleeping. Each second, in order: the scaler's own poll (Tide,
// every PollEvery), KEDA's polling tick (every 30 s unless the trace's loop
// says otherwise; with Push, activation from zero at every scaler poll
// too), the HPA's sync (every 15 s, likewise; the full pkg/hpa model with
// hpa.DefaultConfig and the policy's behavior), then the fleet's second of
// production and consumption, then the measurement.
func Run(tr *Trace, p Policy) (Outcome, error) {
	sc, err := p.build(tr)
	if err != nil {
		return Outcome{}, fmt.Errorf("policy %s: %w", p.Name, err)
	}
	cfg := hpa.DefaultConfig()
	polling, cooldown, sync := tr.periods()
	spec := hpa.HPA{MinReplicas: int32(max(tr.Fleet.MinReplicas, 1)), MaxReplicas: int32(tr.Fleet.MaxReplicas), Behavior: p.Behavior}
	var st hpa.State
	x := executor{minReplicas: tr.Fleet.MinReplicas, cooldown: cooldown}
	f := NewFleet(tr)
	out := Outcome{Trace: tr.Name, Policy: p.Name}
	replicas := tr.Fleet.InitialReplicas
	set := func(now, n int) {
		if n != replicas {
			out.ScaleEvents++
			replicas = n
			f.Scale(now, n)
		}
	}
	within := 0
	for now := 0; now < tr.DurationSeconds; now++ {
		v := f.view(now)
		if p.PollEvery > 0 && now%p.PollEvery == 0 {
			sc.poll(now, v)
			if p.Push && replicas == 0 && sc.active(now, v) {
				if n, ok := x.step(now, true, replicas); ok {
					set(now, n)
				}
			}
		}
		if now%polling == 0 {
			if n, ok := x.step(now, sc.active(now, v), replicas); ok {
				set(now, n)
			}
		}
		if now%sync == 0 {
			cur := hpa.Current{Spec: int32(replicas), Status: int32(f.Pods()), Ready: int32(f.Started(now))}
			d := hpa.Sync(epoch.Add(time.Duration(now)*time.Second), spec, cur, []hpa.MetricInput{sc.metric(now, v)}, &st, cfg)
			set(now, int(d.Replicas))
		}
		f.Tick(now)
		age := f.MaxAge(now)
		if age <= tr.GoalSeconds {
			within++
		}
		out.WorstAge = math.Max(out.WorstAge, age)
		out.ReplicaMinutes += float64(f.Pods()) / 60
		out.Peak = max(out.Peak, f.Pods())
		if now%SeriesEvery == 0 {
			out.Series = append(out.Series, Point{T: now, Replicas: f.Pods(), Members: f.Members(), Age: age})
		}
	}
	out.Rebalances = f.Rebalances()
	out.Attainment = 100 * float64(within) / float64(tr.DurationSeconds)
	return out, nil
}

// view is what a scaler reads at second now.
func (f *Fleet) view(now int) view {
	v := view{logEnd: make([]int64, f.tr.Partitions), committed: make([]int64, f.tr.Partitions)}
	for p := range v.logEnd {
		v.logEnd[p], v.committed[p] = f.Offsets(p)
	}
	if !f.Paused(now) {
		v.consumers = f.Members()
	}
	return v
}

// RunAll replays tr under every policy.
func RunAll(tr *Trace, ps []Policy) ([]Outcome, error) {
	out := make([]Outcome, 0, len(ps))
	for _, p := range ps {
		o, err := Run(tr, p)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}
