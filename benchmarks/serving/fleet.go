package serving

import (
	"fmt"
	"slices"

	"github.com/tide-scaler/tide/internal/vllmfake"
)

// vLLM's histogram buckets (vllm/v1/metrics/loggers.py): time to first
// token, and a request's time per output token.
var (
	ttftBuckets = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0}
	tpotBuckets = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0}
)

// Names of the histograms a pod exposes: vLLM's TTFT, and its per-request
// time per output token (what the TPOT goal is about).
const (
	ttftMetric = "vllm:time_to_first_token_seconds"
	tpotMetric = "vllm:request_time_per_output_token_seconds"
)

// member is one pod of the Deployment.
type member struct {
	pod      *Pod
	name     string
	readyAt  float64
	draining bool // scaled away: no new requests, gone when empty
	ttft     vllmfake.Histogram
	tpot     vllmfake.Histogram
}

func (m *member) ready(now float64) bool { return !m.draining && now >= m.readyAt }

// state is what the pod's /metrics shows.
func (m *member) state() vllmfake.State {
	p := m.pod
	return vllmfake.State{Success: p.Success, Waiting: float64(p.Waiting()), Running: float64(p.Running()), KVCache: p.KVUsage(),
		PromptTokens: p.PromptTokens, GenerationTokens: p.GenerationTokens, Preemptions: p.Preemptions,
		Histograms: map[string]vllmfake.Histogram{ttftMetric: cloneHist(m.ttft), tpotMetric: cloneHist(m.tpot)}}
}

func cloneHist(h vllmfake.Histogram) vllmfake.Histogram {
	h.Counts = slices.Clone(h.Counts)
	return h
}

// Fleet is a Deployment of pods behind a least-outstanding-requests router
// (as llm-d's endpoint picker or any gateway balancing on queue depth). A
// new pod serves StartSeconds after it is created. A pod scaled away stops
// receiving requests and finishes the ones it holds (graceful drain), then
// goes; it counts as a replica until then. Requests that arrive while no
// pod is ready wait at the gateway.
type Fleet struct {
	e       Engine
	start   float64
	members []*member
	next    int
	gateway []*Request
	// retiredPreemptions are the preemptions of the pods that went.
	retiredPreemptions float64
}

// NewFleet is n ready pods.
func NewFleet(e Engine, startSeconds float64, n int) *Fleet {
	f := &Fleet{e: e, start: startSeconds}
	for range n {
		f.add(0, 0)
	}
	return f
}

func (f *Fleet) add(now, readyAt float64) {
	f.next++
	f.members = append(f.members, &member{pod: NewPod(f.e, readyAt), name: fmt.Sprintf("vllm-%d", f.next), readyAt: readyAt,
		ttft: vllmfake.NewHistogram(ttftBuckets...), tpot: vllmfake.NewHistogram(tpotBuckets...)})
	_ = now
}

// Scale sets the Deployment's replicas: new pods start; surplus ones go,
// the starting ones first, then the newest ready ones.
func (f *Fleet) Scale(now float64, n int) {
	live := 0
	for _, m := range f.members {
		if !m.draining {
			live++
		}
	}
	for ; live < n; live++ {
		f.add(now, now+f.start)
	}
	for i := len(f.members) - 1; i >= 0 && live > n; i-- {
		if m := f.members[i]; !m.draining && now < m.readyAt {
			m.draining = true
			live--
		}
	}
	for i := len(f.members) - 1; i >= 0 && live > n; i-- {
		if m := f.members[i]; !m.draining {
			m.draining = true
			live--
		}
	}
	f.prune()
}

// Pods is every pod that exists (starting, ready or draining).
func (f *Fleet) Pods() int { return len(f.members) }

// Counts are the ready and the starting pods.
func (f *Fleet) Counts(now float64) (ready, starting int) {
	for _, m := range f.members {
		switch {
		case m.ready(now):
			ready++
		case !m.draining:
			starting++
		}
	}
	return ready, starting
}

// Gateway is the requests waiting at the gateway for a ready pod.
func (f *Fleet) Gateway() int { return len(f.gateway) }

// route gives r to the ready pod with the fewest outstanding requests.
func (f *Fleet) route(now float64, r *Request) bool { return routeAcross(now, []*Fleet{f}, r) }

// Step runs the second [now, now+1): the gateway's queue and the second's
// arrivals are routed, and every pod serves. It returns the requests
// whose first token came and those that finished (or were rejected) in
// the second.
func (f *Fleet) Step(now float64, arrivals []*Request) (first, finished []*Request) {
	q := f.gateway
	f.gateway = nil
	for _, r := range append(q, arrivals...) {
		if !f.route(max(now, r.Arrival), r) {
			f.gateway = append(f.gateway, r)
		}
	}
	for _, m := range f.members {
		if now+1 <= m.readyAt {
			continue
		}
		m.pod.Advance(now + 1)
		for _, r := range m.pod.TakeFirstTokens() {
			m.ttft.Observe(r.TTFT())
			first = append(first, r)
		}
		for _, r := range m.pod.TakeFinished() {
			if r.Done > 0 && r.Output > 1 {
				m.tpot.Observe(r.TPOT())
			}
			finished = append(finished, r)
		}
	}
	f.prune()
	return first, finished
}

// Waiting and Running are the fleet's vllm:num_requests_waiting and
// vllm:num_requests_running summed over the ready pods (what a Prometheus
// sum over the scraped pods reads).
func (f *Fleet) Waiting(now float64) (waiting, running int) {
	for _, m := range f.members {
		if now >= m.readyAt {
			waiting += m.pod.Waiting()
			running += m.pod.Running()
		}
	}
	return waiting, running
}

// prune removes the drained pods.
func (f *Fleet) prune() {
	f.members = slices.DeleteFunc(f.members, func(m *member) bool {
		if m.draining && m.pod.Outstanding() == 0 {
			f.retiredPreemptions += m.pod.Preemptions
			return true
		}
		return false
	})
}
