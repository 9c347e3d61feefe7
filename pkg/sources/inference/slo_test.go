package inference

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tide-scaler/tide/internal/vllmfake"
	"github.com/tide-scaler/tide/pkg/sources"
)

// The fleets of the law's tests: prefill floor 0.1 s, 1000 prompt
// tokens/s per replica; decode floor 10 ms, 200 generation tokens/s. With
// p90:500ms the prefill goal is 800 tokens/s per replica (750 at the
// band's 400 ms); with p90:50ms the decode goal is 160 (150 at 40 ms).
func sloWith(t *testing.T, ttft, tpot string, learned bool) *sloState {
	t.Helper()
	st := &sloState{spec: sloSpec{band: 0.2}, kpa: kpaState{started: true}}
	for g, v := range [numGoals]string{ttft, tpot} {
		if v == "" {
			continue
		}
		gl, err := parseGoal(goalKeys[g].key, v)
		if err != nil {
			t.Fatal(err)
		}
		st.spec.goals[g] = gl
	}
	if learned {
		observeAll(&st.caps[goalTTFT], [2]float64{400, mm1(0.1, 1000, 400)}, [2]float64{700, mm1(0.1, 1000, 700)})
		observeAll(&st.caps[goalTPOT], [2]float64{80, mm1(0.01, 200, 80)}, [2]float64{140, mm1(0.01, 200, 140)})
	}
	return st
}

func sloIn(ready, starting int, prompt, gen float64) sloInput {
	return sloInput{ready: ready, starting: starting, stable: [numGoals]float64{prompt, gen}, panic: [numGoals]float64{prompt, gen},
		known: [numGoals]bool{true, true}, histKnown: [numGoals]bool{true, true}, learnL: [numGoals]float64{math.NaN(), math.NaN()}, queued: math.NaN()}
}

var kpaSays = decision{desired: 9, rule: "stable window"}

func findPart(ps []sources.Part, name string) (sources.Part, bool) {
	for _, p := range ps {
		if p.Name == name {
			return p, true
		}
	}
	return sources.Part{}, false
}

// TestSLOLaw: the desired count is the smallest predicted within every
// goal (the max over TTFT and TPOT), with the hysteresis band, the token
// backlog and the KPA as the cold-start fallback, each named in the rule;
// the Parts carry the learned capacity and the predictions.
func TestSLOLaw(t *testing.T) {
	for _, c := range []struct {
		name          string
		ttft, tpot    string
		unlearned     bool
		tpotUnlearned bool
		in            sloInput
		queued        float64
		want          int
		rule          string
		parts         map[string]string // part name: a substring of its Info
	}{
		{name: "cold start: the KPA decides, and says why", ttft: "p90:500ms", unlearned: true, in: sloIn(5, 0, 5200, 0), want: 9,
			rule:  "latency goal not in force (targetTTFT: prefill capacity not learned yet: needs latencies observed at loads per replica about 20% apart",
			parts: map[string]string{"slo/ttft": "prefill capacity unknown"}},
		{name: "smallest count within the TTFT goal", ttft: "p90:500ms", in: sloIn(5, 0, 5200, 0), want: 7, rule: "latency goal: stable window",
			parts: map[string]string{"slo/ttft": "learned prefill capacity 1000 tokens/s per replica (800 at the goal)"}},
		{name: "TPOT needs more: the max of the goals", ttft: "p90:500ms", tpot: "p90:50ms", in: sloIn(5, 0, 2000, 1500), want: 10,
			rule: "latency goal", parts: map[string]string{"slo/tpot": "learned decode capacity 200 tokens/s"}},
		{name: "hysteresis holds a count within the goal but not the band", ttft: "p90:500ms", in: sloIn(8, 0, 5400, 0), want: 8,
			rule: "latency goal: hysteresis: fewer than 8 replicas are not predicted within targetTTFT × (1 − 0.2)"},
		{name: "anti-flap (decide's): the panic window's load holds the count", ttft: "p90:500ms",
			in: func() sloInput { in := sloIn(8, 0, 5000, 0); in.panic[goalTTFT] = 5900; return in }(), want: 8,
			rule: "latency goal: anti-flap: promptTokens 5900 would not fit fewer replicas"},
		{name: "a goal observed missed: the panic window above the target scales up at once, below the KPA's 2x threshold", ttft: "p90:500ms",
			in: func() sloInput {
				in := sloIn(5, 0, 4000, 0)
				in.panic[goalTTFT], in.learnL[goalTTFT] = 5200, 0.6
				return in
			}(), want: 7,
			rule: "latency goal: panic window: targetTTFT observed 0.6s over p90<=500ms, promptTokens 5200 tokens/s needs 7 replicas"},
		{name: "a goal observed met: the panic window waits for the stable window", ttft: "p90:500ms",
			in: func() sloInput {
				in := sloIn(5, 0, 4000, 0)
				in.panic[goalTTFT], in.learnL[goalTTFT] = 5200, 0.45
				return in
			}(), want: 5,
			rule: "latency goal: stable window"},
		{name: "the panic window counts starting replicas as capacity", ttft: "p90:500ms",
			in: func() sloInput {
				in := sloIn(5, 2, 4000, 0)
				in.panic[goalTTFT], in.learnL[goalTTFT] = 5200, 0.6
				return in
			}(), want: 7,
			rule: "latency goal: anti-flap: promptTokens 5200 would not fit fewer replicas"},
		{name: "steps down past the band", ttft: "p90:500ms", in: sloIn(8, 0, 5000, 0), want: 7, rule: "latency goal: stable window"},
		{name: "token backlog scales up at once", ttft: "p90:500ms", in: sloIn(7, 0, 5200, 0), queued: 3000, want: 12,
			rule:  "latency goal: token backlog: 3000 prompt tokens queued drain in 1.667s on the spare capacity of 7",
			parts: map[string]string{"slo/backlog": "drain in 1.667s"}},
		{name: "a backlog the spare capacity drains within the goal", ttft: "p90:500ms", in: sloIn(7, 0, 5200, 0), queued: 500, want: 7,
			rule: "latency goal: stable window", parts: map[string]string{"slo/backlog": "drain in 0.2778s"}},
		{name: "a band under the floor narrows above it: the law stays in force", ttft: "p90:110ms", in: sloIn(8, 0, 600, 0), want: 8,
			rule: "latency goal: hysteresis: fewer than 8 replicas are not predicted within 0.108s (targetTTFT's band, narrowed to stay above the learned no-load 0.1s)"},
		{name: "goal under the learned floor", ttft: "p90:80ms", in: sloIn(5, 0, 5200, 0), want: 9,
			rule: "latency goal not in force (targetTTFT: p90<=80ms is at or below the learned no-load p90 of 0.1s"},
		{name: "token counter absent", ttft: "p90:500ms", in: func() sloInput { in := sloIn(5, 0, 0, 0); in.known[goalTTFT] = false; return in }(),
			want: 9, rule: "the prefill token counter (promptTokensMetric) is on no pod"},
		{name: "histogram absent", ttft: "p90:500ms", tpot: "p90:50ms", tpotUnlearned: true,
			in:   func() sloInput { in := sloIn(5, 0, 0, 0); in.histKnown[goalTPOT] = false; return in }(),
			want: 9, rule: "targetTPOT: the tpot histogram (tpotMetric) is on no pod"},
		{name: "no ready pod", ttft: "p90:500ms", in: sloIn(0, 0, 0, 0), want: 9, rule: "no ready pod to measure"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := sloWith(t, c.ttft, c.tpot, !c.unlearned)
			if c.tpotUnlearned {
				st.caps[goalTPOT] = capacity{}
			}
			in := c.in
			if c.queued > 0 {
				in.queued, in.queuedFrom = c.queued, "test"
			}
			d, parts := st.decide(t0, kpaDefaults(), in, kpaSays)
			if d.desired != c.want || !strings.Contains(d.rule, c.rule) {
				t.Errorf("decide = %d (%s); want %d (%s)", d.desired, d.rule, c.want, c.rule)
			}
			for name, want := range c.parts {
				p, ok := findPart(parts, name)
				if !ok || !strings.Contains(p.Info, want) {
					t.Errorf("part %s = %+v; want Info containing %q", name, p, want)
				}
			}
			if p, _ := findPart(parts, "slo/ttft"); c.unlearned && !math.IsNaN(p.Value) {
				t.Errorf("unlearned prediction %v; want NaN (unknown), not a number", p.Value)
			}
		})
	}
}

// TestSLOPredictionParts: slo/ttft is valued by the prediction at the
// current count (ready + starting) and names the one at the proposed count.
func TestSLOPredictionParts(t *testing.T) {
	st := sloWith(t, "p90:500ms", "", true)
	_, parts := st.decide(t0, kpaDefaults(), sloIn(4, 1, 5200, 0), kpaSays)
	p, _ := findPart(parts, "slo/ttft")
	// at 5: 1040 tokens/s per replica, beyond the capacity; at 7: 743.
	if !math.IsInf(p.Value, 1) || !strings.Contains(p.Info, "predicted p90 at 5: unbounded (saturated), at 7: 0.3889s") {
		t.Errorf("slo/ttft = %+v; want +Inf at 5 and 0.3889s at 7", p)
	}
}

// TestSLOWarmUpCredit: pods that are starting count as capacity arriving.
// While the 4 pods a burst asked for start, the panic window's proposal
// over ready + starting is no panic, so when the burst is gone the law
// steps down instead of holding the burst's count for a stable window.
func TestSLOWarmUpCredit(t *testing.T) {
	st := sloWith(t, "p90:500ms", "", true)
	p := kpaDefaults()
	d, _ := st.decide(t0, p, sloIn(2, 4, 4800, 0), kpaSays)
	if d.desired != 6 || strings.Contains(d.rule, "panic") {
		t.Fatalf("burst with 4 pods starting: %d (%s); want 6 without panic", d.desired, d.rule)
	}
	d, _ = st.decide(t0.Add(2*time.Second), p, sloIn(6, 0, 2000, 0), kpaSays)
	if d.desired != 3 {
		t.Errorf("burst gone: %d (%s); want 3 (ceil(2000/750), within maxScaleDownRate)", d.desired, d.rule)
	}
}

// TestSLOLearnsOnlySteadyFleets: a pair is learned only once the ready
// count held for the learn window and every pod was read.
func TestSLOLearnsOnlySteadyFleets(t *testing.T) {
	st := sloWith(t, "p90:500ms", "", false)
	in := sloIn(3, 0, 1200, 0)
	in.learnX[goalTTFT], in.learnL[goalTTFT] = 400, mm1(0.1, 1000, 400)
	now := t0
	st.decide(now, kpaDefaults(), in, kpaSays) // the fleet of 3 starts now
	now = now.Add(learnWindow - time.Second)
	if st.decide(now, kpaDefaults(), in, kpaSays); len(st.caps[goalTTFT].bins) != 0 {
		t.Fatalf("learned before the fleet held for the learn window")
	}
	held := in
	held.holdDown = true
	if st.decide(now.Add(time.Second), kpaDefaults(), held, kpaSays); len(st.caps[goalTTFT].bins) != 0 {
		t.Fatalf("learned from a poll with failed targets")
	}
	if st.decide(now.Add(2*time.Second), kpaDefaults(), in, kpaSays); len(st.caps[goalTTFT].bins) != 1 {
		t.Fatalf("did not learn from a steady fleet")
	}
}

// TestSLOBacklogSources: over real HTTP, the queued prompt tokens are the
// EPP replicas' in-flight tokens when eppTargets expose them, else the
// pods' waiting requests × the prompt tokens per completed request; with
// neither they are unknown (NaN), not 0.
func TestSLOBacklogSources(t *testing.T) {
	a := newVPod(t)
	md := scrapeMD(a.url, "targetRequestRate", "1", "targetTTFT", "p90:1s")
	p := newPoller(t, parseOK(t, md, Env{}))
	if v := mustPart(t, p.mustPoll(0), "slo/backlog"); !math.IsNaN(v.Value) || !strings.HasPrefix(v.Info, "unknown") {
		t.Errorf("no request rate yet: %+v; want unknown", v)
	}
	a.do(func(st *vllmfake.State) { st.Success, st.PromptTokens, st.Waiting = 10, 5000, 4 })
	if v := mustPart(t, p.mustPoll(time.Second), "slo/backlog"); !strings.HasPrefix(v.Info, "2000 prompt tokens queued (4 waiting × 500 prompt tokens per request)") {
		t.Errorf("from the waiting gauge: %+v", v)
	}
	epp := newEPPReplica(t, vllmfake.EPP{InflightTokens: f(7000)})
	md["eppTargets"] = epp.url
	p = newPoller(t, parseOK(t, md, Env{}))
	if v := mustPart(t, p.mustPoll(0), "slo/backlog"); !strings.HasPrefix(v.Info, "7000 prompt tokens queued (the EPP's in-flight tokens)") {
		t.Errorf("from the EPP: %+v", v)
	}
}
