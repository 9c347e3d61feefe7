package serving

import (
	"math"
	"testing"
)

// TestPodPrefillAndDecodeCost: one request alone on a pod gets its first
// token after one iteration holding its whole prompt (Base + prompt ×
// PrefillPerToken), then one token per decode iteration (Base +
// DecodePerSeq + its context × AttnPerKVToken).
func TestPodPrefillAndDecodeCost(t *testing.T) {
	e := DefaultEngine()
	p := NewPod(e, 0)
	r := &Request{Arrival: 0.5, Prompt: 1000, Output: 11}
	p.Add(r)
	p.Advance(10)
	wantTTFT := e.Base + 1000*e.PrefillPerToken
	if math.Abs(r.TTFT()-wantTTFT) > 1e-9 {
		t.Errorf("TTFT %v; want %v", r.TTFT(), wantTTFT)
	}
	// Decode steps at contexts 1001 .. 1010 (the KV held when each runs).
	want := 0.0
	for kv := 1001; kv <= 1010; kv++ {
		want += e.Base + e.DecodePerSeq + float64(kv)*e.AttnPerKVToken
	}
	if math.Abs(r.TPOT()-want/10) > 1e-9 {
		t.Errorf("TPOT %v; want %v", r.TPOT(), want/10)
	}
	if p.PromptTokens != 1000 || p.GenerationTokens != 11 || p.Success != 1 || p.kvUsed != 0 {
		t.Errorf("counters prompt=%v gen=%v success=%v kv=%d; want 1000, 11, 1, 0", p.PromptTokens, p.GenerationTokens, p.Success, p.kvUsed)
	}
}

// TestPodDecodesATransferredKV: a decode pod of disaggregated serving
// (kvIn: the prompt's KV came from a prefill pod, and its first token)
// computes no prefill: the ten remaining tokens take ten decode
// iterations at contexts 1001 .. 1010 (the prompt's KV held from the
// start), and the prompt counter stays 0.
func TestPodDecodesATransferredKV(t *testing.T) {
	e := DefaultEngine()
	p := NewPod(e, 0)
	r := &Request{Arrival: 0.5, Prompt: 1000, Output: 11, FirstToken: 0.4, generated: 1, kvIn: true}
	p.Add(r)
	p.Advance(10)
	want := 0.5
	for kv := 1001; kv <= 1010; kv++ {
		want += e.Base + e.DecodePerSeq + float64(kv)*e.AttnPerKVToken
	}
	if math.Abs(r.Done-want) > 1e-9 || p.PromptTokens != 0 || p.GenerationTokens != 10 || p.Success != 1 {
		t.Errorf("done at %v, prompt=%v gen=%v success=%v; want %v, 0, 10, 1", r.Done, p.PromptTokens, p.GenerationTokens, p.Success, want)
	}
}

// TestContinuousBatching: a second request admitted while the first
// decodes shares its iterations, so the pair finishes well before the sum
// of their times alone, and the first one's decode steps get slower (its
// TPOT rises) while the second is in the batch.
func TestContinuousBatching(t *testing.T) {
	alone := func(rs ...*Request) *Pod {
		p := NewPod(DefaultEngine(), 0)
		for _, r := range rs {
			p.Add(r)
		}
		p.Advance(60)
		return p
	}
	a1 := &Request{Prompt: 500, Output: 200}
	alone(a1)
	b1, b2 := &Request{Prompt: 500, Output: 200}, &Request{Arrival: 0.1, Prompt: 500, Output: 200}
	alone(b1, b2)
	if b2.Done > 2*a1.Done*0.75 {
		t.Errorf("two requests done at %v, one alone at %v: want them batched (well under twice)", b2.Done, a1.Done)
	}
	if !(b1.TPOT() > a1.TPOT()) {
		t.Errorf("TPOT with a batch mate %v, alone %v: want higher in a batch", b1.TPOT(), a1.TPOT())
	}
}

// TestKVCapacityQueuesAndPreempts: requests whose prompts fill the KV
// cache wait for room (num_requests_waiting), and when decoding outgrows
// the cache the newest sequence is preempted and recomputed: it still
// finishes, with every output token, and the preemption is counted.
func TestKVCapacityQueuesAndPreempts(t *testing.T) {
	e := DefaultEngine()
	e.KVTokens = 2500
	p := NewPod(e, 0)
	rs := []*Request{{Prompt: 1000, Output: 400}, {Prompt: 1000, Output: 400}, {Prompt: 1000, Output: 10}}
	for _, r := range rs {
		p.Add(r)
	}
	p.Advance(0.001)
	if p.Running() != 2 || p.Waiting() != 1 {
		t.Fatalf("running %d waiting %d; want 2 admitted, 1 waiting for KV room", p.Running(), p.Waiting())
	}
	p.Advance(120)
	if p.Preemptions == 0 {
		t.Error("no preemption; want one when two sequences grow past 2500 KV tokens")
	}
	for i, r := range rs {
		if r.Done <= 0 {
			t.Errorf("request %d not finished", i)
		}
	}
	if p.kvUsed != 0 || p.Success != 3 {
		t.Errorf("kv %d success %v after all finished; want 0, 3", p.kvUsed, p.Success)
	}
}

// TestFleetStartAndDrain: a new pod takes StartSeconds before it serves;
// a pod scaled away finishes what it holds and counts until then.
func TestFleetStartAndDrain(t *testing.T) {
	f := NewFleet(DefaultEngine(), 30, 1)
	f.Scale(0, 2)
	if r, s := f.Counts(10); r != 1 || s != 1 {
		t.Errorf("at 10 s ready %d starting %d; want 1, 1", r, s)
	}
	if r, _ := f.Counts(30); r != 2 {
		t.Errorf("at 30 s ready %d; want 2", r)
	}
	long := &Request{Arrival: 31, Prompt: 100, Output: 2000}
	f.Step(31, []*Request{{Arrival: 31, Prompt: 100, Output: 2}, long}) // the long one goes to the idler, newer pod
	f.Scale(32, 1)
	for now := 32.0; now < 40; now++ {
		f.Step(now, nil)
	}
	if f.Pods() != 2 || long.Done != 0 {
		t.Errorf("pods %d, long request done %v: want the draining pod still there serving it", f.Pods(), long.Done)
	}
	for now := 40.0; now < 200 && long.Done == 0; now++ {
		f.Step(now, nil)
	}
	if long.Done == 0 || f.Pods() != 1 {
		t.Errorf("pods %d, done %v: want the request finished and the pod gone", f.Pods(), long.Done)
	}
}
