package inference

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tide-scaler/tide/pkg/sources"
)

// Notes a sample may carry; the engine logs each once per query.
const (
	noteNotReady    = "some endpoints are not ready (Pending, starting or terminating): counted as no capacity"
	noteFailed      = "some targets failed to scrape: counted as no capacity; scale-down held"
	noteNoEndpoints = "the service has no ready endpoints: zero demand from pods"
	noteReset       = "a pod's request counter went backwards (restart): its rate restarts from the next scrape"
	noteMissing     = "some scraped pods lack a configured metric: counted as 0 for them"
	noteEPPDown     = "no EPP replica answered: the EPP signals, wake signals at zero pods included, are unknown"
	noteObsReset    = "a pod's token counter or latency histogram went backwards (restart): it restarts from the next scrape"
	// noteNoWake: at zero pods the per-pod series are gone, so the demand
	// is unknown, not 0, and nothing this trigger reads can wake it.
	noteNoWake = "no ready pods and no wake signal: demand is unknown at zero replicas (per-pod series vanish with the pods); " +
		"set model to wake on pushed requests, or eppTargets whose flow-control queue or request counter is exposed"
)

// forgetPodsAfter drops the counter baseline of a pod no scrape has read
// for this long: it is gone, and the map must not grow with pod churn.
const forgetPodsAfter = 10 * time.Minute

// podValues is what one scraped pod reports for one query.
type podValues struct {
	name   string
	values [numSignals]float64 // counter total for sigRate, gauges otherwise
	has    [numSignals]bool
	obs    podObserved
}

// observation is one poll's view of a scrape query's fleet.
type observation struct {
	pods     []podValues // scraped successfully: the capacity
	failed   []reading   // targets that failed to scrape
	notReady int         // endpoints left out as not ready
	pushRate float64     // pushed requests/s over the panic window (scrape+model)
	wakes    bool        // a signal that exists at zero pods feeds pushRate
	epp      *eppReading // the EPP replicas; nil without eppTargets
}

// counterSeen is the last reading of one pod's request counter.
type counterSeen struct {
	value float64
	at    time.Time
}

// queryState is the window state of one scrape query. It lives in the
// upstream and changes only with the data the upstream reads.
type queryState struct {
	p        windowParams
	targets  [numSignals]float64
	names    [numSignals]string // metric names, for errors
	obsSpec  observedSpec
	observed *observedState
	epp      eppState
	eppSpec  eppSpec
	since    time.Time // first observation: partial windows average since then
	counters map[string]counterSeen
	requests *ring             // requests completed per second, spread over scrape intervals
	gauges   [numSignals]*ring // per-second fleet totals of the gauges (sigRate unused)
	kpa      kpaState
	slo      *sloState // nil: no latency goal
	role     string    // key role: a decode role keeps targetKVCache as a floor
	hold     hold
	polled   time.Time // latest observation, for forgetting idle queries
}

func newQueryState(p windowParams, sig signalSpec) *queryState {
	n := int(p.stable/time.Second) + 2
	s := &queryState{p: p, targets: sig.targets, names: sig.metrics, role: sig.role, counters: map[string]counterSeen{}, requests: newRing(n),
		obsSpec: sig.observed, observed: newObservedState(n),
		eppSpec: sig.epp, epp: eppState{requests: &counterWindow{seen: map[string]counterSeen{}, ring: newRing(n)}}}
	for i := sigWaiting; i < numSignals; i++ {
		s.gauges[i] = newRing(n)
	}
	if sig.slo.on() {
		s.slo = &sloState{spec: sig.slo}
	}
	return s
}

// step folds one observation into the windows and decides. It is pure over
// now and the state: the trace tests drive it with an injected clock.
func (s *queryState) step(now time.Time, obs observation) (sources.Sample, error) {
	if len(obs.pods) == 0 && len(obs.failed) > 0 {
		return sources.Sample{}, allFailed(obs.failed)
	}
	if err := s.checkPresent(obs.pods); err != nil {
		return sources.Sample{}, err
	}
	var notes []string
	if s.since.IsZero() {
		s.since = now
		if len(obs.pods) > 0 {
			s.hold.seen(now) // a fresh scaler cannot know the pods were idle: hold them
		}
	}
	s.polled = now
	perPod, reset := s.countRequests(now, obs.pods)
	names, pobs := make([]string, len(obs.pods)), make([]podObserved, len(obs.pods))
	for i, p := range obs.pods {
		names[i], pobs[i] = p.name, p.obs
	}
	obsReset := s.observed.observe(now, names, pobs)
	var current [numSignals]float64
	for i := sigWaiting; i < numSignals; i++ {
		for _, p := range obs.pods {
			current[i] += p.values[i]
		}
		s.gauges[i].add(now.Unix(), current[i])
	}
	var loads []load
	for i, target := range s.targets {
		if target > 0 {
			loads = append(loads, s.load(now, i))
		}
	}
	ready := len(obs.pods)
	d := decide(now, s.p, &s.kpa, kpaInput{ready: ready, loads: loads, holdDown: len(obs.failed) > 0})
	var sloParts []sources.Part
	if s.slo != nil {
		waitingKnown := false
		for _, p := range obs.pods {
			waitingKnown = waitingKnown || p.has[sigWaiting]
		}
		in := s.sloInput(now, obs, current[sigWaiting], waitingKnown)
		if s.role == roleDecode && s.targets[sigKV] > 0 {
			in.floors = append(in.floors, s.load(now, sigKV)) // decode replicas hold the KV cache
		}
		d, sloParts = s.slo.decide(now, s.p, in, d)
	}

	panicRate := s.requests.rate(now, s.p.panic, s.since)
	demand := panicRate + current[sigWaiting] + current[sigRunning] + obs.pushRate
	if obs.epp != nil {
		eppDemand, known := s.epp.observe(now, *obs.epp, s.p.panic, s.since)
		demand += eppDemand
		obs.wakes = obs.wakes || known
	}
	if demand > 0 {
		s.hold.seen(now)
	}
	activity := s.hold.activity(now, s.p, demand)
	desired := d.desired
	if activity > 0 {
		desired = max(desired, 1) // Knative holds one pod until the workload is idle
	}

	if reset {
		notes = append(notes, noteReset)
	}
	if obsReset {
		notes = append(notes, noteObsReset)
	}
	if len(obs.failed) > 0 {
		notes = append(notes, noteFailed)
	}
	if obs.notReady > 0 {
		notes = append(notes, noteNotReady)
	}
	noPods := ready == 0 && len(obs.failed) == 0
	if obs.epp != nil && obs.epp.read == 0 {
		notes = append(notes, noteEPPDown)
	}
	switch {
	case noPods && !obs.wakes:
		notes = append(notes, noteNoWake)
	case noPods:
		notes = append(notes, noteNoEndpoints)
	}
	if s.someMissing(obs.pods) {
		notes = append(notes, noteMissing)
	}
	parts := make([]sources.Part, 0, 1+len(sloParts)+len(loads)+numHists+3+len(obs.pods)+len(obs.failed))
	dp := decisionPart(d, desired, ready, activity, s.hold, now, s.p)
	if noPods && !obs.wakes && activity == 0 {
		dp.Info = "unknown: no pods, so no per-pod series to read; nothing wakes this trigger from zero (set model for pushed wake-ups, or eppTargets) (ready=0)"
	}
	parts = append(parts, dp)
	parts = append(parts, sloParts...)
	for _, l := range loads {
		p := sources.Part{Name: "signal/" + l.name, Value: l.stable,
			Info: fmt.Sprintf("stable=%.4g panic=%.4g target=%g", l.stable, l.panic, l.target)}
		if noPods {
			p.Value, p.Info = math.NaN(), "unknown: no pods ("+p.Info+" over the windows)"
		}
		parts = append(parts, p)
	}
	parts = append(parts, s.observed.parts(now, s.p.stable, s.since, &s.obsSpec)...)
	if obs.epp != nil {
		parts = append(parts, s.epp.parts(now, *obs.epp, &s.eppSpec, s.p.stable, s.since)...)
	}
	for i, p := range obs.pods {
		parts = append(parts, sources.Part{Name: p.name, Value: perPod[i], Info: fmt.Sprintf(
			"requests/s=%.4g waiting=%g running=%g kvCache=%.3g", perPod[i], p.values[sigWaiting], p.values[sigRunning], p.values[sigKV])})
	}
	for _, f := range obs.failed {
		parts = append(parts, sources.Part{Name: f.target.name, Info: "no capacity: " + f.err.Error()})
	}
	return sources.Sample{Value: float64(desired), Activity: activity, Parts: parts, Notes: notes}, nil
}

// load is signal i's fleet total over both windows.
func (s *queryState) load(now time.Time, i int) load {
	l := load{name: signalKeys[i].name, target: s.targets[i]}
	if i == sigRate {
		l.stable = s.requests.rate(now, s.p.stable, s.since)
		l.panic = s.requests.rate(now, s.p.panic, s.since)
		return l
	}
	l.stable, _ = s.gauges[i].mean(now, s.p.stable)
	l.panic, _ = s.gauges[i].mean(now, s.p.panic)
	return l
}

// countRequests turns each pod's counter into the requests it completed
// since its previous scrape, spread over that interval. A pod seen for the
// first time only sets its baseline (its counter holds its whole life, not
// this second's traffic), and a counter that went backwards (a restart)
// starts a new baseline: neither can produce a negative or spiked rate. A
// pod that disappears simply stops adding. perPod is each pod's rate in
// this interval, for Parts.
func (s *queryState) countRequests(now time.Time, pods []podValues) (perPod []float64, reset bool) {
	perPod = make([]float64, len(pods))
	for i, p := range pods {
		if !p.has[sigRate] {
			continue
		}
		v := p.values[sigRate]
		prev, ok := s.counters[p.name]
		s.counters[p.name] = counterSeen{v, now}
		switch {
		case !ok || !now.After(prev.at):
		case v < prev.value:
			reset = true
		default:
			s.requests.spread(prev.at, now, v-prev.value)
			perPod[i] = (v - prev.value) / now.Sub(prev.at).Seconds()
		}
	}
	for name, c := range s.counters {
		if now.Sub(c.at) > forgetPodsAfter {
			delete(s.counters, name)
		}
	}
	return perPod, reset
}

// checkPresent fails when a signal that drives scaling is on none of the
// scraped pods: a wrong metric name or label selector must be an error,
// not a fleet that looks idle forever.
func (s *queryState) checkPresent(pods []podValues) error {
	if len(pods) == 0 {
		return nil
	}
	for i, target := range s.targets {
		if target <= 0 {
			continue
		}
		found := false
		for _, p := range pods {
			found = found || p.has[i]
		}
		if !found {
			return fmt.Errorf("metric %q (%s) matches no series on any of the %d scraped targets; check %s and labelSelector: %w",
				s.names[i], signalKeys[i].metricKey, len(pods), signalKeys[i].metricKey, sources.ErrNotFound)
		}
	}
	return nil
}

func (s *queryState) someMissing(pods []podValues) bool {
	for i, target := range s.targets {
		for _, p := range pods {
			if target > 0 && !p.has[i] {
				return true
			}
		}
	}
	return false
}

// allFailed is the error of a poll in which no target answered: never a 0.
func allFailed(failed []reading) error {
	msgs := make([]string, 0, 3)
	for _, f := range failed[:min(3, len(failed))] {
		msgs = append(msgs, f.err.Error())
	}
	more := ""
	if len(failed) > 3 {
		more = fmt.Sprintf(" (and %d more)", len(failed)-3)
	}
	return fmt.Errorf("all %d targets failed to scrape: %s%s", len(failed), strings.Join(msgs, "; "), more)
}

// decisionPart explains the value; Evaluate turns its Info into the
// Measurement's Reason.
func decisionPart(d decision, desired, ready int, activity float64, h hold, now time.Time, p windowParams) sources.Part {
	info := d.rule
	if d.panicking && !strings.HasPrefix(info, "panic") {
		info = "panic: " + info
	}
	switch {
	case activity > 0 && d.desired < 1 && h.last.Equal(now):
		info = "waking: traffic and no ready pod to measure it"
	case activity > 0 && d.desired < 1:
		info = fmt.Sprintf("holding one replica: idle for %s, zero after %s", now.Sub(h.last).Round(time.Second), p.stable+p.zeroGrace)
	case activity == 0:
		info = "inactive: no traffic for stableWindow + scaleToZeroGracePeriod"
	}
	return sources.Part{Name: "decision", Value: float64(desired), Info: fmt.Sprintf("%s (ready=%d)", info, ready)}
}

// hold implements scale to zero: the workload stays active until it has
// seen no traffic for the stable window plus the grace period.
type hold struct {
	last time.Time // last observation with traffic
}

func (h *hold) seen(now time.Time) { h.last = now }

// activity is the demand for activation: the current demand while there
// is any, otherwise at least 1 while the hold lasts, then 0.
func (h *hold) activity(now time.Time, p windowParams, demand float64) float64 {
	if h.last.IsZero() || now.Sub(h.last) >= p.stable+p.zeroGrace {
		return 0
	}
	return max(demand, 1)
}
