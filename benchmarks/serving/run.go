package serving

import (
	"errors"
	"fmt"
)

// Outcome is one policy's replay of one trace.
type Outcome struct {
	Trace, Policy string
	// Requests is how many requests the run judged: every request that
	// finished, plus those still unanswered past the TTFT goal at the end.
	Requests int
	// Attainment is the share of the requests, in percent, whose TTFT and
	// TPOT were both within the goals' values; TTFTOK and TPOTOK each alone.
	Attainment, TTFTOK, TPOTOK float64
	// AvgReplicas is the mean over seconds of the pods that exist
	// (starting, ready or draining: all hold a GPU).
	AvgReplicas float64
	// ScaleEvents counts changes of the Deployment's replica count.
	ScaleEvents int
	Peak        int
	Preemptions float64
	// Series is the pods every SeriesEvery seconds, for plots.
	Series []int
}

// SeriesEvery is the spacing of Outcome.Series, seconds.
const SeriesEvery = 10

// Run replays tr under p with an injected clock, one second per step, no
// sleeping: the fleet serves the second's arrivals (Fleet.Step), then the
// policy sees the end of the second and may set the replicas.
func Run(tr *Trace, p Policy) (out Outcome, err error) {
	sc, err := p.build(tr)
	if err != nil {
		return Outcome{}, fmt.Errorf("policy %s: %w", p.Name, err)
	}
	defer func() { err = errors.Join(err, sc.close()) }()
	f := NewFleet(DefaultEngine(), tr.Fleet.StartSeconds, tr.Fleet.Initial)
	out = Outcome{Trace: tr.Name, Policy: p.Name}
	arrivals := tr.Requests()
	replicas := tr.Fleet.Initial
	var all []*Request
	podSeconds := 0
	for now := range tr.Seconds {
		all = append(all, arrivals[now]...)
		first, finished := f.Step(float64(now), arrivals[now])
		end := float64(now + 1)
		ready, starting := f.Counts(end)
		waiting, running := f.Waiting(end)
		v := &view{now: now + 1, spec: replicas, pods: f.Pods(), ready: ready, starting: starting, waiting: waiting, running: running,
			gateway: f.Gateway(), first: first, finished: finished, fleet: f}
		if n, ok := sc.step(v); ok {
			n = min(max(n, 1), tr.Fleet.Max)
			if n != replicas {
				out.ScaleEvents++
				replicas = n
				f.Scale(end, n)
			}
		}
		podSeconds += f.Pods()
		out.Peak = max(out.Peak, f.Pods())
		if now%SeriesEvery == 0 {
			out.Series = append(out.Series, f.Pods())
		}
	}
	out.AvgReplicas = float64(podSeconds) / float64(tr.Seconds)
	for _, m := range f.members {
		out.Preemptions += m.pod.Preemptions
	}
	out.Preemptions += f.retiredPreemptions
	judge(tr, all, float64(tr.Seconds), &out)
	return out, nil
}

// judge scores the requests: a finished one is within the SLO when its
// TTFT and its TPOT are within the goals' values; one rejected (larger
// than a pod's KV cache) is not; one unfinished at the end counts only
// if it is already late (no first token past the TTFT goal: a miss).
func judge(tr *Trace, rs []*Request, end float64, out *Outcome) {
	var n, ok, ttftOK, tpotOK int
	for _, r := range rs {
		switch {
		case r.Done < 0 || r.FirstToken < 0:
			n++
		case r.Done > 0:
			n++
			a, b := r.TTFT() <= tr.ttft.sec, r.TPOT() <= tr.tpot.sec
			if a {
				ttftOK++
			}
			if b {
				tpotOK++
			}
			if a && b {
				ok++
			}
		case r.FirstToken == 0 && end-r.Arrival > tr.ttft.sec:
			n++
			tpotOK++ // no token yet: counted against TTFT only
		}
	}
	out.Requests = n
	if n > 0 {
		out.Attainment = 100 * float64(ok) / float64(n)
		out.TTFTOK = 100 * float64(ttftOK) / float64(n)
		out.TPOTOK = 100 * float64(tpotOK) / float64(n)
	}
}
