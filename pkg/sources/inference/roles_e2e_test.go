package inference

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tide-scaler/tide/internal/vllmfake"
	"github.com/tide-scaler/tide/pkg/sources"
)

// workSim is how a simulated pod's latency grows with its token work: the
// M/M/1 curve floor / (1 − x/capacity) as the p90 of exponentially spread
// observations of hist, one per request (TTFT) or one per token (TPOT).
type workSim struct {
	hist            string
	floor, capacity float64
	perRequest      float64 // tokens per request
	perToken        bool    // one observation per token, not per request
	decode          bool    // the work is generation tokens, not prompt tokens
	bounds          []float64
}

var (
	prefillWork = workSim{hist: "vllm:time_to_first_token_seconds", floor: 0.1, capacity: 1000, perRequest: 500, bounds: simBounds}
	decodeWork  = workSim{hist: "vllm:inter_token_latency_seconds", floor: 0.02, capacity: 2000, perRequest: 100, perToken: true, decode: true,
		bounds: scaledBounds(0.1)}
)

func scaledBounds(f float64) []float64 {
	out := make([]float64, len(simBounds))
	for i, b := range simBounds {
		out[i] = b * f
	}
	return out
}

// labPod is a loopback vLLM pod serving one workSim, whose series carry
// extra labels (a role label, say), counting the scrapes it answers.
type labPod struct {
	mu     sync.Mutex
	sim    workSim
	extra  string // `,llm_d_role="prefill"`
	st     vllmfake.State
	port   int32
	scrape atomic.Int64
	fail   atomic.Bool // answer 500
}

func newLabPod(t *testing.T, sim workSim, extra string) *labPod {
	p := &labPod{sim: sim, extra: extra}
	p.reset()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		p.scrape.Add(1)
		if p.fail.Load() {
			http.Error(w, "engine dead", http.StatusInternalServerError)
			return
		}
		p.mu.Lock()
		var b bytes.Buffer
		vllmfake.Write(&b, p.st) //nolint:errcheck // a bytes.Buffer
		p.mu.Unlock()
		w.Header().Set("Content-Type", vllmfake.ContentType)
		w.Write([]byte(strings.ReplaceAll(b.String(), `engine="0"`, `engine="0"`+p.extra))) //nolint:errcheck // the scraper sees a short body
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	n, _ := strconv.Atoi(port)
	p.port = int32(n)
	return p
}

func (p *labPod) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st = vllmfake.State{Histograms: map[string]vllmfake.Histogram{p.sim.hist: vllmfake.NewHistogram(p.sim.bounds...)}}
}

// serve runs one second at x tokens/s of the pod's work, with kv its KV
// cache use.
func (p *labPod) serve(x, kv float64) {
	s := p.sim
	x = math.Min(x, 0.97*s.capacity)
	lat, reqs := mm1(s.floor, s.capacity, x), x/s.perRequest
	n := reqs
	if s.perToken {
		n = x
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.st.Histograms[s.hist]
	const k = 100
	mean := lat / math.Ln10
	for i := range k {
		v := -mean * math.Log(1-(float64(i)+0.5)/k)
		for j, b := range h.Bounds {
			if v <= b {
				h.Counts[j] += n / k
			}
		}
		h.Sum += n / k * v
	}
	h.Count += n
	p.st.Histograms[s.hist] = h
	if s.decode {
		p.st.GenerationTokens += x
	} else {
		p.st.PromptTokens += x
		p.st.GenerationTokens += reqs
	}
	p.st.Success += reqs
	p.st.KVCache = kv
}

// labFleet is one Deployment's pods following a desired count (pool).
type labFleet struct {
	pool[*labPod]
	deploy string
}

func newLabFleet(t *testing.T, deploy string, size, initial int, sim workSim, extra string) *labFleet {
	f := &labFleet{pool: newPool[*labPod](), deploy: deploy}
	for range size {
		f.free = append(f.free, newLabPod(t, sim, extra))
	}
	for range initial {
		p := f.free[len(f.free)-1]
		f.free = f.free[:len(f.free)-1]
		f.next++
		f.names[p] = f.name(f.next)
		f.ready = append(f.ready, p)
	}
	return f
}

func (f *labFleet) follow(now time.Time, desired int) { f.pool.follow(now, desired, f.name) }

// name is the n-th pod's name, as a Deployment's ReplicaSet names it.
func (f *labFleet) name(n int) string { return fmt.Sprintf("%s-5d8f7c-p%d", f.deploy, n) }

// serve spreads load tokens/s and kv (in pods' worth of KV cache) evenly
// over the ready pods.
func (f *labFleet) serve(load, kv float64) {
	for _, p := range f.ready {
		p.serve(load/float64(len(f.ready)), math.Min(1, kv/float64(len(f.ready))))
	}
}

func (f *labFleet) endpoints() []ServiceEndpoint {
	var eps []ServiceEndpoint
	for _, p := range f.ready {
		eps = append(eps, ServiceEndpoint{Pod: f.names[p], IP: "127.0.0.1", Ports: map[string]int32{"http": p.port}, Ready: true})
	}
	for p := range f.pending {
		eps = append(eps, ServiceEndpoint{Pod: f.names[p], IP: "127.0.0.1", Ports: map[string]int32{"http": p.port}})
	}
	return eps
}

// pollAll polls every trigger's query in one round of one upstream, as
// the engine does for queries of one upstream key.
func pollAll(t *testing.T, up sources.Upstream, now time.Time, trs ...*Trigger) []sources.Sample {
	t.Helper()
	qs := make([]sources.Query, len(trs))
	for i, tr := range trs {
		qs[i] = tr.Query()
	}
	rs := up.Poll(context.Background(), now, qs)
	out := make([]sources.Sample, len(rs))
	for i, r := range rs {
		if r.Err != nil {
			t.Fatalf("poll at +%s, query %d: %v", now.Sub(t0), i, r.Err)
		}
		out[i] = r.Sample
	}
	return out
}

// TestRolesClosedLoop: one Service over a prefill and a decode
// Deployment, whose pods' series carry llm_d_role; a prefill trigger
// (targetTTFT p90:500ms) and a decode trigger (targetTPOT p90:50ms,
// targetKVCache 0.8) with roleLabel read one shared scrape (each pod
// answers once per poll) and size each role on its own pods: prefill pods
// serve prompt tokens (TTFT 0.1 s at no load, 1000 tokens/s flat out, 800
// within the goal), decode pods generation tokens (TPOT 20 ms, 2000 flat
// out, 1200 within the goal). Phase A, prefill heavy (4000 prompt, 2400
// generation tokens/s): 5 prefill and 2 decode pods; phase B, decode
// heavy (1600 and 6000): 2 and 5; phase C, the decode pods' KV cache
// filling (4.75 pods' worth): the decode count rises to the KV floor, 6,
// with its TPOT unchanged.
func TestRolesClosedLoop(t *testing.T) {
	pre := newLabFleet(t, "llama-prefill", 9, 2, prefillWork, `,llm_d_role="prefill"`)
	dec := newLabFleet(t, "llama-decode", 9, 2, decodeWork, `,llm_d_role="decode"`)
	disc := &stubDiscovery{}
	env := fullEnv()
	env.Discovery = disc
	svc := []string{"targets", "<unset>", "service", "llama", "namespace", "ai", "port", "http", "roleLabel", "llm_d_role", "targetRunning", "1000"}
	trP := parseOK(t, with(append(svc, "role", "prefill", "targetTTFT", "p90:500ms")...), env)
	trD := parseOK(t, with(append(svc, "role", "decode", "targetTPOT", "p90:50ms", "targetKVCache", "0.8")...), env)
	up, err := trP.Query().Open()
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	load := func(sec int) (prompt, gen, kv float64) {
		switch {
		case sec < 200:
			f := float64(sec) / 200
			return 1000 + 2600*f, 800 + 1000*f, 0.5
		case sec < 400:
			return 3600, 1800, 0.5
		case sec < 700:
			return 1300, 5400, 0.5
		}
		return 1300, 5400, 5.5
	}
	type rec struct {
		pre, dec   int
		ttft, tpot float64 // observed p90s
	}
	log := make([]rec, 0, 820)
	now := t0
	for sec := range 820 {
		prompt, gen, kv := load(sec)
		pre.serve(prompt, 0.1)
		dec.serve(gen, kv)
		disc.eps = append(pre.endpoints(), dec.endpoints()...)
		before := scrapes(pre, dec)
		now = now.Add(time.Second)
		s := pollAll(t, up, now, trP, trD)
		if got, want := scrapes(pre, dec)-before, int64(len(pre.ready)+len(dec.ready)); got != want {
			t.Fatalf("at %d s: %d scrapes for %d ready pods; want one scrape per pod for both triggers", sec, got, want)
		}
		log = append(log, rec{int(s[0].Value), int(s[1].Value), mustPart(t, s[0], "signal/ttft/p90").Value, mustPart(t, s[1], "signal/tpot/p90").Value})
		if sec%20 == 0 || sec == 819 {
			t.Logf("%3d s: prefill %d (%s) | decode %d (%s)", sec, log[sec].pre, s[0].Parts[0].Info, log[sec].dec, s[1].Parts[0].Info)
		}
		pre.follow(now, log[sec].pre)
		dec.follow(now, log[sec].dec)
	}
	// hold: from..to-1 the prefill count is wantPre, the decode count one
	// of decLo..decHi and unchanged, and each role's observed p90 within
	// its goal at the end.
	hold := func(from, to, wantPre, decLo, decHi int) {
		t.Helper()
		for i := from; i < to; i++ {
			if log[i].pre != wantPre || log[i].dec < decLo || log[i].dec > decHi || log[i].dec != log[from].dec {
				t.Errorf("at %d s: prefill %d, decode %d (%d at %d s); want %d and a steady %d-%d", i, log[i].pre, log[i].dec, log[from].dec, from, wantPre, decLo, decHi)
				return
			}
		}
		if p := log[to-1]; !(p.ttft <= 0.5) || !(p.tpot <= 0.05) {
			t.Errorf("at %d s: observed p90 TTFT %.3gs on the prefill pods, TPOT %.3gs on the decode pods; want within 500ms and 50ms", to-1, p.ttft, p.tpot)
		}
	}
	// The truth: 800 prompt tokens/s per prefill pod within 500ms (750
	// within the band's 400ms), 1200 generation tokens/s per decode pod
	// within 50ms (1000 within 40ms).
	hold(300, 400, 5, 2, 2) // ceil(3600/800) = ceil(3600/750) = 5; ceil(1800/1200) = ceil(1800/1000) = 2
	hold(600, 700, 2, 5, 6) // 1300: 2 and 2; 5400: ceil(5400/1200) = 5, ceil(5400/1000) = 6
	hold(780, 820, 2, 7, 7) // the KV floor: ceil(5.5 / 0.8) = 7
}

func scrapes(fs ...*labFleet) int64 {
	var n int64
	for _, f := range fs {
		for _, p := range append(append([]*labPod{}, f.ready...), f.free...) {
			n += p.scrape.Load()
		}
		for p := range f.pending {
			n += p.scrape.Load()
		}
	}
	return n
}
