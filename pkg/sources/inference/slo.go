package inference

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tide-scaler/tide/pkg/sources"
)

// learnWindow is the window over which the latency-goal mode measures one
// (load per replica, percentile) pair: three histogram reads (histEvery),
// short enough to see the load change with the replica count. It is cut
// to the stable window when that is shorter.
const learnWindow = 15 * time.Second

// minLearnObs is the fewest requests a window's histogram must hold for
// its percentile to be learned from.
const minLearnObs = 20

// sloState is the latency-goal mode of one scrape query: a capacity model
// per goal, and the KPA state of the law's own decisions (its windows,
// panic, rate limits, anti-flap and scale-down delay are decide's).
type sloState struct {
	spec       sloSpec
	caps       [numGoals]capacity
	kpa        kpaState
	fleet      int       // ready pods at the previous step
	fleetSince time.Time // since when the ready count is fleet
	view       sloView   // what the latest decision saw, for a variant split
	queue      queueHistory
}

// sloView is what a variant split needs of one variant's law: whether its
// capacity is learned for every goal, the tokens/s per replica within each
// goal (up) and within the band's lower edge (down), and its load.
type sloView struct {
	learned        bool
	up, down, load [numGoals]float64
}

// sloInput is what one latency-goal decision sees.
type sloInput struct {
	ready, starting int // starting: endpoints not ready yet, capacity arriving
	holdDown        bool
	stable, panic   [numGoals]float64 // the goal's token work, tokens/s over the fleet
	known           [numGoals]bool    // some pod exposes the goal's token counter
	histKnown       [numGoals]bool    // some pod exposes the goal's histogram
	learnX          [numGoals]float64 // tokens/s per ready replica over the learn window
	learnL          [numGoals]float64 // the goal's percentile over the learn window; NaN: none
	queued          float64           // prompt tokens waiting; NaN: unknown
	queuedGen       float64           // generation tokens the waiting requests ask for; NaN: unknown
	queuedFrom      string
	floors          []load // KPA signals the law keeps as floors (a decode role's KV cache)
}

// sloInput gathers the law's input from the windows.
func (s *queryState) sloInput(now time.Time, obs observation, waiting float64, waitingKnown bool) sloInput {
	in := sloInput{ready: len(obs.pods), starting: obs.notReady, holdDown: len(obs.failed) > 0, queued: math.NaN(), queuedGen: math.NaN()}
	lw := min(learnWindow, s.p.stable)
	for g, k := range goalKeys {
		r := s.observed.counters[k.ctr].ring
		in.known[g], in.histKnown[g] = s.observed.seenCtr[k.ctr], s.observed.seenHist[k.hist]
		in.stable[g], in.panic[g] = r.rate(now, s.p.stable, s.since), r.rate(now, s.p.panic, s.since)
		in.learnL[g] = math.NaN()
		gl := s.slo.spec.goals[g]
		if !gl.set() || in.ready == 0 {
			continue
		}
		in.learnX[g] = r.rate(now, lw, s.since) / float64(in.ready)
		bs := s.observed.hists[k.hist].sum(now, lw)
		total := 0.0
		for _, b := range bs {
			total = max(total, b.count)
		}
		if total >= minLearnObs {
			if v, _, ok := quantile(gl.q(), bs); ok {
				in.learnL[g] = v
			}
		}
	}
	reqRate := s.requests.rate(now, s.p.stable, s.since)
	if waitingKnown && in.known[goalTPOT] && reqRate > 0 {
		in.queuedGen = waiting * in.stable[goalTPOT] / reqRate
	}
	switch {
	case obs.epp != nil && obs.epp.has[eppInflightTokens]:
		in.queued, in.queuedFrom = obs.epp.values[eppInflightTokens], "the EPP's in-flight tokens"
	case waitingKnown && in.known[goalTTFT] && reqRate > 0:
		per := in.stable[goalTTFT] / reqRate
		in.queued = waiting * per
		in.queuedFrom = fmt.Sprintf("%g waiting × %.4g prompt tokens per request", waiting, per)
	}
	return in
}

// decide is the latency-goal law; kpa is the KPA's decision, the fallback
// while the law cannot decide. It is pure but for st, which it advances
// (the capacity models learn from in).
//
//   - learn: once the ready count has held for the learn window and every
//     pod was read, each goal's capacity observes (tokens/s per ready
//     replica, its percentile over the window);
//   - fall back to the KPA, saying why, while there is no ready pod, a
//     goal's token counter is absent, a capacity is not learned, or a goal
//     is below the learned no-load latency;
//   - the law: each goal's load target is the tokens/s per replica at
//     which its predicted percentile equals the goal, so decide's
//     ceil(load / target) is the smallest count within every goal; ready
//     plus starting pods are the current count (warm-up credit);
//   - demand: each window's token rate is the served one plus the
//     queue's growth over the window ÷ the window (demand.go);
//   - a goal observed missed (its percentile over the learn window above
//     it) scales up at once to the panic window's count within the goal;
//   - hysteresis: a step down goes no lower than the count predicted
//     within goal × (1 − band);
//   - token backlog: at least ceil((prompt tokens/s + queued / goal) /
//     capacity), the count that serves the load and drains the queue
//     within the TTFT goal, at once.
func (st *sloState) decide(now time.Time, p windowParams, in sloInput, kpa decision) (decision, []sources.Part) {
	if in.ready != st.fleet {
		st.fleet, st.fleetSince = in.ready, now
	}
	// The load is the demand, the served rate corrected by the queue's
	// growth (demand.go): a queue building or draining moves it.
	st.queue = st.queue.add(now, [numGoals]float64{in.queued, in.queuedGen}, p.stable)
	for g := range goalKeys {
		in.stable[g] = demand(in.stable[g], st.queue, now, p.stable, g)
		in.panic[g] = demand(in.panic[g], st.queue, now, p.panic, g)
	}
	if !in.holdDown && in.ready > 0 && now.Sub(st.fleetSince) >= min(learnWindow, p.stable) {
		for g := range goalKeys {
			if st.spec.goals[g].set() && !math.IsNaN(in.learnL[g]) {
				st.caps[g].Observe(now, in.learnX[g], in.learnL[g])
			}
		}
	}
	var cv [numGoals]curve
	var up, down, edge [numGoals]float64
	why := ""
	for g, k := range goalKeys {
		gl := st.spec.goals[g]
		if !gl.set() {
			continue
		}
		cv[g] = st.caps[g].Fit(now)
		switch {
		case why != "":
		case !in.known[g]:
			why = fmt.Sprintf("%s: the %s token counter (%s) is on no pod", k.key, k.work, counterKeys[k.ctr].metricKey)
		case !in.histKnown[g] && !cv[g].ok:
			why = fmt.Sprintf("%s: the %s histogram (%s) is on no pod", k.key, k.name, histKeys[k.hist].metricKey)
		case !cv[g].ok:
			why = fmt.Sprintf("%s: %s capacity not learned yet: %s", k.key, k.work, cv[g].reason)
		default:
			edge[g] = gl.seconds() * (1 - st.spec.band)
			if f := cv[g].Floor(); edge[g] <= f {
				// The band's lower edge is under the no-load floor, where
				// no count can be: it narrows to the same share of the
				// headroom above the floor.
				edge[g] = f + (gl.seconds()-f)*(1-st.spec.band)
			}
			up[g], down[g] = cv[g].RateAt(gl.seconds()), cv[g].RateAt(edge[g])
			if up[g] <= 0 || down[g] <= 0 {
				why = fmt.Sprintf("%s: %s is at or below the learned no-load %s of %.4gs: no replica count meets it",
					k.key, gl, gl.label(), cv[g].Floor())
			}
		}
	}
	st.view = sloView{learned: why == "", up: up, down: down}
	for g := range goalKeys {
		if st.spec.goals[g].set() {
			st.view.load[g] = max(in.stable[g], in.panic[g])
		}
	}
	if why == "" && in.ready == 0 {
		why = "no ready pod to measure"
	}
	current := in.ready + in.starting
	if why != "" {
		rule := kpa.rule
		if kpa.panicking && !strings.HasPrefix(rule, "panic") {
			rule = "panic: " + rule
		}
		kpa.rule, kpa.panicking = "latency goal not in force ("+why+"); KPA: "+rule, false
		st.kpa.last = kpa.desired // the law's floor while targets fail is what was served
		return kpa, st.parts(cv, in, current, kpa.desired, why)
	}
	var loads []load
	for g, k := range goalKeys {
		if st.spec.goals[g].set() {
			loads = append(loads, load{name: counterKeys[k.ctr].name, stable: in.stable[g], panic: in.panic[g], target: up[g]})
		}
	}
	loads = append(loads, in.floors...)
	d := decide(now, p, &st.kpa, kpaInput{ready: current, loads: loads, holdDown: in.holdDown})
	d.rule = "latency goal: " + d.rule
	if d.panicking && !strings.Contains(d.rule, "panic") {
		d.rule = "latency goal: panic: " + strings.TrimPrefix(d.rule, "latency goal: ")
	}
	d.panicking = false
	// Up at once on the panic window when the goal is observed missed:
	// the percentile over the learn window is above the goal and the
	// panic window's load is above the goal's target at the current
	// count, so the goal is being missed now; waiting for the KPA's 2×
	// jump (a threshold for concurrency, which has no latency to miss)
	// would keep missing it for a stable window. Down stays the stable
	// window's, with the band.
	for g, k := range goalKeys {
		gl := st.spec.goals[g]
		if !gl.set() || !(in.learnL[g] > gl.seconds()) {
			continue
		}
		if need := replicasFor(in.panic[g], up[g]); need > d.desired && need > current {
			d.desired = need
			d.rule = fmt.Sprintf("latency goal: panic window: %s observed %.4gs over %s, %s %.4g tokens/s needs %d replicas",
				k.key, in.learnL[g], gl, counterKeys[k.ctr].name, in.panic[g], need)
		}
	}
	if d.desired < current {
		for g, k := range goalKeys {
			l := max(in.stable[g], in.panic[g])
			if !st.spec.goals[g].set() {
				continue
			}
			if need := min(replicasFor(l, down[g]), current); need > d.desired {
				d.desired = need
				d.rule = fmt.Sprintf("latency goal: hysteresis: fewer than %d replicas are not predicted within %s × (1 − %g)",
					need, k.key, st.spec.band)
				if e := st.spec.goals[g].seconds() * (1 - st.spec.band); edge[g] != e {
					d.rule = fmt.Sprintf("latency goal: hysteresis: fewer than %d replicas are not predicted within %.4gs (%s's band, narrowed to stay above the learned no-load %.4gs)",
						need, edge[g], k.key, cv[g].Floor())
				}
			}
		}
	}
	if g := st.spec.goals[goalTTFT]; g.set() && in.queued > 0 {
		c := cv[goalTTFT].Usable()
		l := max(in.stable[goalTTFT], in.panic[goalTTFT])
		if need := replicasFor(l+in.queued/g.seconds(), c); need > d.desired {
			d.desired = need
			d.rule = fmt.Sprintf("latency goal: token backlog: %.4g prompt tokens queued drain in %s on the spare capacity of %d ready+starting replicas "+
				"(learned %.4g tokens/s each, %.4g tokens/s of load), over the %s goal", in.queued, seconds(drain(in.queued, c, l, current)), current, c, l, g)
		}
	}
	st.kpa.last = d.desired
	return d, st.parts(cv, in, current, d.desired, "")
}

// parts explain the law: per goal the learned capacity and the predicted
// percentile at the current and the proposed count (valued by the one at
// the current count; NaN when unknown), and the token backlog.
func (st *sloState) parts(cv [numGoals]curve, in sloInput, current, proposed int, why string) []sources.Part {
	var out []sources.Part
	for g, k := range goalKeys {
		gl := st.spec.goals[g]
		if !gl.set() {
			continue
		}
		obs := "unknown"
		if !math.IsNaN(in.learnL[g]) {
			obs = fmt.Sprintf("%.4gs at %.4g tokens/s per replica", in.learnL[g], in.learnX[g])
		}
		p := sources.Part{Name: "slo/" + k.name, Value: math.NaN()}
		if !cv[g].ok {
			p.Info = fmt.Sprintf("goal %s; observed %s %s; %s capacity unknown: %s", gl, gl.label(), obs, k.work, cv[g].reason)
			out = append(out, p)
			continue
		}
		l := max(in.stable[g], in.panic[g])
		at := func(n int) string {
			if n <= 0 {
				return fmt.Sprintf("%d: none", n)
			}
			return fmt.Sprintf("%d: %s", n, seconds(cv[g].Predict(l/float64(n))))
		}
		if current > 0 {
			p.Value = cv[g].Predict(l / float64(current))
		}
		p.Info = fmt.Sprintf("goal %s; learned %s capacity %.4g tokens/s per replica (%.4g at the goal), no-load %s %.4gs, from %d loads %.4g-%.4g; "+
			"load %.4g tokens/s; predicted %s at %s, at %s; observed %s", gl, k.work, cv[g].Capacity(), cv[g].RateAt(gl.seconds()),
			gl.label(), cv[g].Floor(), cv[g].bins, cv[g].lo, cv[g].hi, l, gl.label(), at(current), at(proposed), obs)
		if why != "" {
			p.Info += "; not deciding: " + why
		}
		out = append(out, p)
	}
	if g := st.spec.goals[goalTTFT]; g.set() {
		p := sources.Part{Name: "slo/backlog", Value: math.NaN()}
		switch {
		case math.IsNaN(in.queued):
			p.Info = "unknown: no queued prompt tokens (eppTargets' in-flight tokens, or waiting requests and a request rate)"
		case !cv[goalTTFT].ok || current == 0:
			p.Info = fmt.Sprintf("%.4g prompt tokens queued (%s); seconds unknown without a learned prefill capacity and a replica", in.queued, in.queuedFrom)
		default:
			c, l := cv[goalTTFT].Usable(), max(in.stable[goalTTFT], in.panic[goalTTFT])
			p.Value = drain(in.queued, c, l, current)
			p.Info = fmt.Sprintf("%.4g prompt tokens queued (%s) drain in %s on the spare capacity of %d ready+starting replicas "+
				"(%.4g tokens/s each, %.4g tokens/s of load); goal %s", in.queued, in.queuedFrom, seconds(p.Value), current, c, l, g)
		}
		out = append(out, p)
	}
	return out
}

func seconds(v float64) string {
	if math.IsInf(v, 1) {
		return "unbounded (saturated)"
	}
	return fmt.Sprintf("%.4gs", v)
}

// drain is the seconds n replicas of capacity c take to drain queued
// tokens while serving load: +Inf when they have no spare capacity.
func drain(queued, c, load float64, n int) float64 {
	spare := c*float64(n) - load
	if queued <= 0 {
		return 0
	}
	if spare <= 0 {
		return math.Inf(1)
	}
	return queued / spare
}
