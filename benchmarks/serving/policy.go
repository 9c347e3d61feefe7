package serving

import (
	"math"
	"time"

	"github.com/tide-scaler/tide/pkg/hpa"
)

// view is what the policies can read at the end of a second.
type view struct {
	now             int // the second that just ended
	spec            int // the Deployment's replicas
	pods            int // pods that exist (starting, ready, draining)
	ready, starting int
	waiting         int // vllm:num_requests_waiting, summed over ready pods
	running         int // vllm:num_requests_running, likewise
	gateway         int // requests held at the gateway (no ready pod)
	first           []*Request
	finished        []*Request
	fleet           *Fleet
}

// scaler is one policy's decisions: every second it may set the replicas.
type scaler interface {
	step(v *view) (desired int, set bool)
	close() error
}

// Policy is one way of scaling an inference Deployment.
type Policy struct {
	Name, Description string
	// Tide is Tide's latency-goal mode; Reference is llm-d's SLO-aware
	// rule, the baseline of the goals.
	Tide, Reference bool
	build           func(tr *Trace) (scaler, error)
}

// Policies returns every policy the harness compares.
func Policies() []Policy {
	return []Policy{
		{Name: "keda-waiting", Description: "KEDA's prometheus scaler on sum(vllm:num_requests_waiting), threshold 5 (vLLM's production stack), " +
			"HPA every 15 s with its default behavior (5-minute scale-down window)", build: newKEDAWaiting},
		{Name: "kpa-concurrency", Description: "Knative's KPA on in-flight requests per pod (kpaConcurrency), 60 s stable / 6 s panic windows, " +
			"decisions every 2 s", build: newKPA},
		{Name: "llmd-slo", Reference: true, Description: "llm-d's SLO-aware rule: max(p90 TTFT/goal, p90 TPOT/goal) clamped at 2, " +
			"45 s mean, warm-up credit ready/total, band 0.40-0.55; HPA every 15 s", build: newLLMD},
		{Name: "tide-goal", Tide: true, Description: "Tide's inference trigger in latency-goal mode (targetTTFT, targetTPOT), " +
			"the real upstream scraping the pods over loopback HTTP every second; HPA every 15 s", build: newTide},
	}
}

// epoch is the simulated clock's zero.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// exactBehavior is the HPA behavior Tide's docs ask for (and the llm-d
// rule gets too): no tolerance and no scale-down window, since the
// policy's own windows and band are the damping; up at any size.
func exactBehavior() *hpa.Behavior {
	return &hpa.Behavior{
		ScaleUp: &hpa.Rules{StabilizationWindowSeconds: ptr(int32(0)), Tolerance: ptr(0.0),
			Policies: []hpa.Policy{{Type: hpa.PercentPolicy, Value: 10000, PeriodSeconds: 15}}},
		ScaleDown: &hpa.Rules{StabilizationWindowSeconds: ptr(int32(0)), Tolerance: ptr(0.0),
			Policies: []hpa.Policy{{Type: hpa.PercentPolicy, Value: 100, PeriodSeconds: 15}}},
	}
}

// hpaLoop is the HPA controller (pkg/hpa's model with its defaults) syncing
// every 15 s, as it does under KEDA.
type hpaLoop struct {
	spec hpa.HPA
	st   hpa.State
	cfg  hpa.Config
}

const hpaSync = 15

func newHPALoop(tr *Trace, b *hpa.Behavior) *hpaLoop {
	return &hpaLoop{spec: hpa.HPA{MinReplicas: 1, MaxReplicas: int32(tr.Fleet.Max), Behavior: b}, cfg: hpa.DefaultConfig()}
}

func (h *hpaLoop) sync(v *view, m hpa.MetricInput) (int, bool) {
	if v.now%hpaSync != 0 {
		return 0, false
	}
	cur := hpa.Current{Spec: int32(v.spec), Status: int32(v.pods), Ready: int32(v.ready)}
	d := hpa.Sync(epoch.Add(time.Duration(v.now)*time.Second), h.spec, cur, []hpa.MetricInput{m}, &h.st, h.cfg)
	return int(d.Replicas), true
}

// replicasMetric is a desired count served as an AverageValue metric of
// target 1: the HPA's ceil(value / 1) is the count.
func replicasMetric(n float64) hpa.MetricInput {
	return hpa.MetricInput{Target: hpa.MetricTarget{Type: hpa.AverageValue, Milli: 1000}, Values: []int64{hpa.Milli(n)}}
}

// kedaWaiting is KEDA's prometheus scaler on sum(vllm:num_requests_waiting)
// with threshold 5 (AverageValue), read fresh at each sync (Prometheus's
// scrape and rule delays left out, in KEDA's favour).
type kedaWaiting struct{ h *hpaLoop }

func newKEDAWaiting(tr *Trace) (scaler, error) { return &kedaWaiting{h: newHPALoop(tr, nil)}, nil }

func (k *kedaWaiting) step(v *view) (int, bool) {
	return k.h.sync(v, hpa.MetricInput{Target: hpa.MetricTarget{Type: hpa.AverageValue, Milli: 5000},
		Values: []int64{hpa.Milli(float64(v.waiting))}})
}

func (k *kedaWaiting) close() error { return nil }

// kpa is Knative's KPA (pkg/autoscaler as the reference describes it) on
// concurrency: in-flight requests (waiting + running + at the gateway)
// averaged per second over a 60 s stable and a 6 s panic window; every 2 s
// desired = ceil(avg / target) within the rate limits (up 1000×, down
// 2×), panic at 2× the ready pods, no scale-down while panicking. It sets
// the replicas itself (no HPA).
type kpa struct {
	target     float64
	hist       []float64 // concurrency per second, newest last
	panicking  bool
	panicSince int
	max        int
	last       int
}

func newKPA(tr *Trace) (scaler, error) {
	return &kpa{target: tr.KPAConcurrency, max: tr.Fleet.Max, last: tr.Fleet.Initial}, nil
}

func (k *kpa) avg(n int) float64 {
	h := k.hist[max(0, len(k.hist)-n):]
	s := 0.0
	for _, v := range h {
		s += v
	}
	return s / float64(len(h))
}

func (k *kpa) step(v *view) (int, bool) {
	k.hist = append(k.hist, float64(v.waiting+v.running+v.gateway))
	if len(k.hist) > 60 {
		k.hist = k.hist[1:]
	}
	if v.now%2 != 0 {
		return 0, false
	}
	rp := float64(max(1, v.ready))
	maxUp, maxDown := math.Ceil(1000*rp), math.Floor(rp/2)
	clamp := func(x float64) float64 { return min(max(x, maxDown), maxUp) }
	stable, panic := clamp(math.Ceil(k.avg(60)/k.target)), clamp(math.Ceil(k.avg(6)/k.target))
	if math.Ceil(k.avg(6)/k.target)/rp >= 2 {
		k.panicking, k.panicSince = true, v.now
	} else if k.panicking && v.now-k.panicSince >= 60 {
		k.panicking = false
	}
	d := stable
	if k.panicking {
		d = max(stable, panic, float64(k.last))
	}
	k.last = min(max(int(d), 1), k.max)
	return k.last, true
}

func (k *kpa) close() error { return nil }
