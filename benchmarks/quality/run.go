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
	ScaleEvents float64
	// Rebalances counts membership changes of the consumer group.
	Rebalances float64
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
	from, rebalancedBefore := tr.shift, 0
	set := func(now, n int) {
		if n != replicas {
			if now >= from {
				out.ScaleEvents++
			}
			replicas = n
			f.Scale(now, n)
		}
	}
	within := 0
	for now := 0; now < tr.DurationSeconds; now++ {
		v := f.view(now)
		v.replicas = replicas
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
		if now == from {
			rebalancedBefore = f.Rebalances()
		}
		f.Tick(now)
		if now < from {
			continue
		}
		age := f.MaxAge(now)
		if age <= tr.GoalSeconds {
			within++
		}
		out.WorstAge = math.Max(out.WorstAge, age)
		out.ReplicaMinutes += float64(f.Pods()) / 60
		out.Peak = max(out.Peak, f.Pods())
		if (now-from)%SeriesEvery == 0 {
			out.Series = append(out.Series, Point{T: now - from, Replicas: f.Pods(), Members: f.Members(), Age: age})
		}
	}
	out.Rebalances = float64(f.Rebalances() - rebalancedBefore)
	out.Attainment = 100 * float64(within) / float64(tr.DurationSeconds-from)
	return out, nil
}

// Phases is how many phases RunPhases replays: the trace delayed by 0 to
// 14 s, so that the HPA's 15 s syncs (and Tide's polls, KEDA's ticks and
// the commits) fall at every offset from its events. One phase alone can
// flatter or wrong a policy by a sync.
const Phases = 15

// Shifted returns tr delayed by d seconds: its first rate holds for d
// seconds more at the start, every later event comes d seconds later, and
// the run measures only from d on, so the outcome covers the same traffic.
func (tr *Trace) Shifted(d int) *Trace {
	out := *tr
	out.shift = tr.shift + d
	out.DurationSeconds += d
	out.Rates = make([]RatePoint, 0, len(tr.Rates)+1)
	if d > 0 && tr.Rates[0].At == 0 {
		out.Rates = append(out.Rates, tr.Rates[0])
	}
	for _, r := range tr.Rates {
		r.At += float64(d)
		out.Rates = append(out.Rates, r)
	}
	out.Slowdowns, out.Stalls = nil, nil
	for _, s := range tr.Slowdowns {
		s.From, s.To = s.From+float64(d), s.To+float64(d)
		out.Slowdowns = append(out.Slowdowns, s)
	}
	for _, s := range tr.Stalls {
		s.From, s.To = s.From+float64(d), s.To+float64(d)
		out.Stalls = append(out.Stalls, s)
	}
	return &out
}

// RunPhases replays tr under p at each of Phases shifts and returns the
// mean outcome (attainment, replica-minutes, scale events, rebalances and
// worst age averaged, peak the highest, the series of phase 0) and every
// phase's own.
func RunPhases(tr *Trace, p Policy) (mean Outcome, each []Outcome, err error) {
	for d := range Phases {
		o, err := Run(tr.Shifted(d), p)
		if err != nil {
			return Outcome{}, nil, err
		}
		each = append(each, o)
	}
	mean = Outcome{Trace: tr.Name, Policy: p.Name, Series: each[0].Series}
	n := float64(len(each))
	for _, o := range each {
		mean.Attainment += o.Attainment / n
		mean.ReplicaMinutes += o.ReplicaMinutes / n
		mean.ScaleEvents += o.ScaleEvents / n
		mean.Rebalances += o.Rebalances / n
		mean.WorstAge += o.WorstAge / n
		mean.Peak = max(mean.Peak, o.Peak)
	}
	return mean, each, nil
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

// RunAll replays tr under every policy at every phase: the mean outcome
// per policy, and per phase the outcome of every policy.
func RunAll(tr *Trace, ps []Policy) (mean []Outcome, phases [][]Outcome, err error) {
	phases = make([][]Outcome, Phases)
	for _, p := range ps {
		m, each, err := RunPhases(tr, p)
		if err != nil {
			return nil, nil, err
		}
		mean = append(mean, m)
		for d, o := range each {
			phases[d] = append(phases[d], o)
		}
	}
	return mean, phases, nil
}
