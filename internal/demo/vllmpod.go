package demo

import (
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/tide-scaler/tide/internal/vllmfake"
)

// request is one inference request: when it arrived at the router (demo
// seconds) and its prompt's tokens.
type request struct {
	arrival float64
	tokens  float64
}

// inFlight is a request routed to a pod at routed: served first in, first
// out, its first token at done.
type inFlight struct {
	request
	routed, done float64
}

// ttftBounds are vLLM's bucket bounds of vllm:time_to_first_token_seconds
// up to 80 s.
var ttftBounds = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80}

// vllmPod is one pod of the pool, served by its own loopback HTTP server.
//
// It serves its requests one at a time, first in, first out, each taking
// its prompt's tokens ÷ prefillRate seconds: a single-server queue whose
// time to first token (waiting in the pod's queue, and the prefill; as in
// vLLM, from the request's arrival at the pod, not at the router) grows
// with the load as a real server's does, so the latency-goal mode has a
// curve to learn. A request's first token is its completion
// here (the decode is folded into the prefill's service time); the first
// slots requests in the queue show as running, the rest as waiting.
type vllmPod struct {
	slots       int
	model       string
	prefillRate float64 // prompt tokens per second
	outTokens   float64 // generation tokens per completed request
	srv         *httptest.Server

	mu     sync.Mutex
	exists bool
	ready  bool
	queue  []inFlight // by done
	st     vllmfake.State
}

func newVLLMPod(o InferenceOptions) *vllmPod {
	p := &vllmPod{slots: o.MaxRunning, model: o.Model, prefillRate: o.PodRate * o.PromptTokens, outTokens: o.OutputTokens}
	p.srv = httptest.NewServer(p)
	return p
}

func (p *vllmPod) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	exists, ready := p.exists, p.ready
	st := p.st
	running := min(len(p.queue), p.slots)
	st.Running, st.Waiting = float64(running), float64(len(p.queue)-running)
	st.KVCache = float64(running) / float64(p.slots)
	h := st.Histograms["vllm:time_to_first_token_seconds"]
	h.Counts = append([]float64(nil), h.Counts...)
	st.Histograms = map[string]vllmfake.Histogram{"vllm:time_to_first_token_seconds": h}
	p.mu.Unlock()
	switch {
	case !exists:
		http.Error(w, "no such pod: its index is beyond the replica count", http.StatusServiceUnavailable)
	case !ready:
		http.Error(w, "pod starting", http.StatusServiceUnavailable)
	default:
		vllmfake.Serve(w, st)
	}
}

// create makes the pod exist, not ready yet, with fresh counters (a new
// pod's process starts from zero).
func (p *vllmPod) create() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.exists, p.ready, p.queue = true, false, nil
	p.st = vllmfake.State{Model: p.model,
		Histograms: map[string]vllmfake.Histogram{"vllm:time_to_first_token_seconds": vllmfake.NewHistogram(ttftBounds...)}}
}

// remove deletes the pod and returns its unfinished requests, for the
// router to send elsewhere.
func (p *vllmPod) remove() []request {
	p.mu.Lock()
	defer p.mu.Unlock()
	back := make([]request, len(p.queue))
	for i, r := range p.queue {
		back[i] = r.request
	}
	p.exists, p.ready, p.queue = false, false, nil
	return back
}

// complete finishes the requests whose first token is due by t and
// returns how many.
func (p *vllmPod) complete(t float64) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for ; n < len(p.queue) && p.queue[n].done <= t; n++ {
		r := p.queue[n]
		h := p.st.Histograms["vllm:time_to_first_token_seconds"]
		h.Observe(r.done - r.routed)
		p.st.Histograms["vllm:time_to_first_token_seconds"] = h
		p.st.PromptTokens += r.tokens
		p.st.GenerationTokens += p.outTokens
		p.st.Success++
	}
	p.queue = p.queue[n:]
	return int64(n)
}

// pending is how many routed requests have no first token by t.
func (p *vllmPod) pending(t float64) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.queue {
		if r.done > t {
			n++
		}
	}
	return n
}

// route queues r at time t (at or after its arrival): its prefill starts
// when the requests before it are done.
func (p *vllmPod) route(r request, t float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	start := t
	if n := len(p.queue); n > 0 {
		start = max(start, p.queue[n-1].done)
	}
	p.queue = append(p.queue, inFlight{request: r, routed: t, done: start + r.tokens/p.prefillRate})
}
