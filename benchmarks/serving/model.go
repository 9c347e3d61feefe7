package serving

import "slices"

// Engine is the cost and size of one serving pod (one vLLM engine on one
// GPU). An iteration (one forward pass of the batch) takes
//
//	Base + PrefillPerToken × prefill tokens + DecodePerSeq × decoding sequences + AttnPerKVToken × KV tokens of those sequences
//
// seconds: prefill is compute-bound (per token), decode is bound by reading
// the weights once per pass (Base) plus a little per sequence, and by
// attention over each sequence's context (per KV token).
type Engine struct {
	Base            float64 // s per iteration
	PrefillPerToken float64 // s per prompt token
	DecodePerSeq    float64 // s per decoding sequence
	AttnPerKVToken  float64 // s per KV-cache token attended by a decoding sequence
	MaxBatchTokens  int     // chunked-prefill token budget of one iteration
	MaxSeqs         int     // sequences in the batch at most (vLLM's max_num_seqs)
	KVTokens        int     // KV-cache capacity, tokens
}

// DefaultEngine is an 8B-class model on one H100-class GPU, in round
// numbers: 12,500 prompt tokens/s of prefill, 25-40 ms per decode step at
// a batch of 64 chat requests, 200,000 tokens of KV cache.
func DefaultEngine() Engine {
	return Engine{Base: 0.008, PrefillPerToken: 0.00008, DecodePerSeq: 0.0002, AttnPerKVToken: 2e-7,
		MaxBatchTokens: 8192, MaxSeqs: 128, KVTokens: 200_000}
}

// Request is one inference request.
type Request struct {
	Arrival        float64 // s since the trace's start
	Prompt, Output int     // tokens
	// Set by the pod that serves it:
	FirstToken, Done float64 // times; 0: not yet
	need             int     // tokens to prefill in this residency: the prompt, plus the output so far after a preemption
	prefilled        int     // of need, computed so far
	generated        int     // output tokens so far (the first comes with the prefill)
	kv               int     // KV-cache tokens held while running
	in               bool    // in the batch
	// kvIn: the prompt's KV comes with the request (computed by a prefill
	// pod, disaggregated serving): its first admission prefills nothing.
	kvIn bool
}

// TTFT is the time to first token, s.
func (r *Request) TTFT() float64 { return r.FirstToken - r.Arrival }

// TPOT is the mean time per output token after the first, s (0 for one
// output token).
func (r *Request) TPOT() float64 {
	if r.Output <= 1 {
		return 0
	}
	return (r.Done - r.FirstToken) / float64(r.Output-1)
}

// Pod is one engine with continuous batching: every iteration, each
// running sequence whose prompt is computed decodes one token, and the
// rest of the token budget goes to the prompts of the sequences admitted
// (chunked prefill, oldest first). A waiting request is admitted, in
// arrival order, when a sequence slot is free and its prompt fits in the
// KV cache. When a decode step needs a KV slot that is not there, the
// newest running sequence is preempted (vLLM V1's recompute: its KV is
// freed and it goes back to the head of the queue, its work lost).
type Pod struct {
	e       Engine
	clock   float64
	waiting []*Request // FIFO, arrival order; may hold future arrivals
	running []*Request // admission order
	kvUsed  int

	// Counters since the pod started, as vLLM exposes them.
	PromptTokens, GenerationTokens, Preemptions, Success float64
	// Finished holds the requests finished since the last TakeFinished.
	finished []*Request
	// firstTokens collects requests whose first token came since the last
	// TakeFirstTokens (TTFT histogram).
	firstTokens []*Request
}

// NewPod is an idle pod whose clock starts at now.
func NewPod(e Engine, now float64) *Pod { return &Pod{e: e, clock: now} }

// Add queues r (its Arrival may be later than the pod's clock).
func (p *Pod) Add(r *Request) { p.waiting = append(p.waiting, r) }

// Outstanding is the requests the pod holds, waiting or running.
func (p *Pod) Outstanding() int { return len(p.waiting) + len(p.running) }

// Waiting is the requests queued and arrived by the pod's clock.
func (p *Pod) Waiting() int {
	n := 0
	for _, r := range p.waiting {
		if r.Arrival <= p.clock {
			n++
		}
	}
	return n
}

// Running is the sequences in the batch.
func (p *Pod) Running() int { return len(p.running) }

// KVUsage is the KV cache's used fraction.
func (p *Pod) KVUsage() float64 { return float64(p.kvUsed) / float64(p.e.KVTokens) }

// QueuedPromptTokens is the prompt tokens of the requests waiting.
func (p *Pod) QueuedPromptTokens() int {
	n := 0
	for _, r := range p.waiting {
		if r.Arrival <= p.clock {
			n += r.Prompt
		}
	}
	return n
}

// TakeFinished returns and forgets the requests finished so far.
func (p *Pod) TakeFinished() []*Request {
	f := p.finished
	p.finished = nil
	return f
}

// TakeFirstTokens returns and forgets the requests whose first token came.
func (p *Pod) TakeFirstTokens() []*Request {
	f := p.firstTokens
	p.firstTokens = nil
	return f
}

// admit moves arrived waiting requests into the batch while a slot is
// free and the prompt fits in the KV cache, in order (no overtaking). The
// prompt's KV is reserved whole at admission.
func (p *Pod) admit() {
	for len(p.waiting) > 0 && len(p.running) < p.e.MaxSeqs {
		r := p.waiting[0]
		need := r.Prompt + r.generated
		if r.Arrival > p.clock || p.kvUsed+need+1 > p.e.KVTokens {
			return
		}
		p.waiting = p.waiting[1:]
		r.need, r.prefilled, r.kv, r.in = need, 0, need, true
		if r.kvIn {
			r.prefilled, r.kvIn = need, false
		}
		p.kvUsed += need
		p.running = append(p.running, r)
	}
}

// Advance runs iterations until the pod's clock reaches until (the last
// iteration may end after it: the next Advance starts there).
func (p *Pod) Advance(until float64) {
	for p.clock < until {
		p.admit()
		if len(p.running) > 0 {
			p.iterate()
			continue
		}
		if len(p.waiting) == 0 || p.waiting[0].Arrival >= until {
			p.clock = until
			continue
		}
		if r := p.waiting[0]; r.Arrival <= p.clock { // larger than the whole cache: rejected
			p.waiting = p.waiting[1:]
			r.FirstToken, r.Done = -1, -1
			p.finished = append(p.finished, r)
			continue
		}
		p.clock = p.waiting[0].Arrival
	}
}

// iterate is one forward pass: the sequences past their prefill decode a
// token each, the rest of the budget prefills, oldest first.
func (p *Pod) iterate() {
	var decode []*Request
	kv := 0
	for _, r := range p.running {
		if r.prefilled == r.need {
			decode = append(decode, r)
			kv += r.kv
		}
	}
	budget := p.e.MaxBatchTokens - len(decode)
	type chunk struct {
		r *Request
		n int
	}
	var chunks []chunk
	prefill := 0
	for _, r := range p.running {
		if budget <= 0 {
			break
		}
		if rem := r.need - r.prefilled; rem > 0 {
			n := min(rem, budget)
			chunks = append(chunks, chunk{r, n})
			budget -= n
			prefill += n
		}
	}
	p.clock += p.e.Base + p.e.PrefillPerToken*float64(prefill) + p.e.DecodePerSeq*float64(len(decode)) + p.e.AttnPerKVToken*float64(kv)
	var done []*Request
	for _, r := range decode {
		if !r.in { // preempted this iteration
			continue
		}
		for p.kvUsed+1 > p.e.KVTokens && r.in {
			p.preemptNewest()
		}
		if !r.in {
			continue
		}
		r.generated++
		r.kv++
		p.kvUsed++
		p.GenerationTokens++
		if r.generated >= r.Output {
			done = append(done, r)
		}
	}
	for _, c := range chunks {
		if !c.r.in {
			continue
		}
		c.r.prefilled += c.n
		if c.r.prefilled < c.r.need || c.r.generated > 0 {
			continue
		}
		c.r.FirstToken = p.clock // the prefill pass emits the first token
		c.r.generated, c.r.kv = 1, c.r.kv+1
		p.kvUsed++
		p.PromptTokens += float64(c.r.Prompt)
		p.GenerationTokens++
		p.firstTokens = append(p.firstTokens, c.r)
		if c.r.Output <= 1 {
			done = append(done, c.r)
		}
	}
	for _, r := range done {
		if !r.in { // preempted after its last token in this pass: recomputed, finishes later
			continue
		}
		p.release(r)
		r.Done = p.clock
		p.Success++
		p.finished = append(p.finished, r)
	}
}

// release takes r out of the batch and frees its KV.
func (p *Pod) release(r *Request) {
	if i := slices.Index(p.running, r); i >= 0 {
		p.running = slices.Delete(p.running, i, i+1)
	}
	p.kvUsed -= r.kv
	r.kv, r.in = 0, false
}

// preemptNewest frees the KV of the newest running sequence and puts it
// back at the head of the queue (recompute: its prompt and the output so
// far are prefilled again; the output already streamed stays out).
func (p *Pod) preemptNewest() {
	v := p.running[len(p.running)-1]
	p.release(v)
	v.prefilled = 0
	p.waiting = slices.Insert(p.waiting, 0, v)
	p.Preemptions++
}
