package inference

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tide-scaler/tide/internal/vllmfake"
	"github.com/tide-scaler/tide/pkg/sources"
)

// simPod is a loopback vLLM pod whose TTFT and token counters follow the
// load the test puts on it: every simulated second it serves x prompt
// tokens/s (at most 97 % of simCapacity) in requests of simPromptLen
// tokens, their TTFTs spread as the M/M/1 sojourn time's (exponential)
// with the p90 at mm1(simFloor, simCapacity, x): a p50 is 0.3 × the p90.
type simPod struct {
	mu   sync.Mutex
	st   vllmfake.State
	port int32
}

const (
	simFloor     = 0.1    // s of TTFT at no load
	simCapacity  = 1000.0 // prompt tokens/s one pod serves flat out
	simPromptLen = 500.0
	simStartup   = 10 * time.Second
)

// simBounds: 5 % buckets from 50 ms to 5 s, so histogram_quantile's
// interpolation stays within a few percent of the true percentile.
var simBounds = func() []float64 {
	var b []float64
	for v := 0.05; v < 5; v *= 1.05 {
		b = append(b, v)
	}
	return b
}()

func newSimPod(t *testing.T) *simPod {
	p := &simPod{}
	p.reset()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		vllmfake.Serve(w, p.st)
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	n, _ := strconv.Atoi(port)
	p.port = int32(n)
	return p
}

// reset is a fresh pod: counters and histograms from zero.
func (p *simPod) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st = vllmfake.State{Histograms: map[string]vllmfake.Histogram{"vllm:time_to_first_token_seconds": vllmfake.NewHistogram(simBounds...)}}
}

// serve runs one second at x prompt tokens/s.
func (p *simPod) serve(x float64) {
	x = math.Min(x, 0.97*simCapacity)
	ttft, reqs := mm1(simFloor, simCapacity, x), x/simPromptLen
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.st.Histograms["vllm:time_to_first_token_seconds"]
	const k = 100 // requests at the quantiles (i+0.5)/k of the exponential
	mean := ttft / math.Ln10
	for i := range k {
		v, n := -mean*math.Log(1-(float64(i)+0.5)/k), reqs/k
		for j, b := range h.Bounds {
			if v <= b {
				h.Counts[j] += n
			}
		}
		h.Sum += n * v
	}
	h.Count += reqs
	p.st.Histograms["vllm:time_to_first_token_seconds"] = h
	p.st.PromptTokens += x
	p.st.GenerationTokens += reqs * 100
	p.st.Success += reqs
}

// simFleet is a pool of fake pods listed by a stub Service.
type simFleet struct {
	pool[*simPod]
	disc *stubDiscovery
}

// newSimFleet is a fleet of size free pods.
func newSimFleet(t *testing.T, size int) *simFleet {
	f := &simFleet{pool: newPool[*simPod](), disc: &stubDiscovery{}}
	for range size {
		f.free = append(f.free, newSimPod(t))
	}
	return f
}

// startNow makes every pending pod ready at once (the first pods of a
// test need no start-up) and lists them.
func (f *simFleet) startNow(now time.Time) {
	for pod := range f.pending {
		delete(f.pending, pod)
		f.ready = append(f.ready, pod)
	}
	f.follow(now, len(f.ready))
}

// rampDemand is the closed-loop tests' prompt tokens/s at second sec: a
// 2-minute ramp from 1500 to 5600, ±4 % over 3 minutes around the 7-pod
// boundary until 450 s, then 2800.
func rampDemand(sec int) float64 {
	switch {
	case sec < 120:
		return 1500 + (5600-1500)*float64(sec)/120
	case sec < 450:
		return 5600 * (1 + 0.04*math.Sin(2*math.Pi*float64(sec)/180))
	}
	return 2800
}

func (f *simFleet) follow(now time.Time, desired int) {
	f.pool.follow(now, desired, func(n int) string { return fmt.Sprintf("pod-%d", n) })
	f.disc.eps = f.disc.eps[:0]
	for _, p := range f.ready {
		f.disc.eps = append(f.disc.eps, ServiceEndpoint{Pod: f.names[p], IP: "127.0.0.1", Ports: map[string]int32{"http": p.port}, Ready: true})
	}
	for p := range f.pending {
		f.disc.eps = append(f.disc.eps, ServiceEndpoint{Pod: f.names[p], IP: "127.0.0.1", Ports: map[string]int32{"http": p.port}})
	}
}

// TestSLOClosedLoop: fake vLLM pods over real HTTP whose TTFT grows with
// the prompt tokens per replica (an M/M/1 curve: 0.1 s floor, 1000
// tokens/s flat out) and pods that take 10 s to start, driven over an
// injected clock. With targetTTFT p90:500ms the trigger starts on the KPA
// (targetRequestRate 1.2) and says so, learns the capacity during the
// ramp, and the law takes over: at 5600 ± 4 % tokens/s (7 pods would give
// 0.6 s at the peaks) it holds 8 pods without a change for 150 s, the
// observed p90 within the goal; when the load falls to 2800 it steps down
// to 4 and holds.
func TestSLOClosedLoop(t *testing.T) {
	f := newSimFleet(t, 14)
	env := fullEnv()
	env.Discovery = f.disc
	md := with("targets", "<unset>", "service", "vllm", "namespace", "ai", "port", "http",
		"targetRequestRate", "1.2", "targetTTFT", "p90:500ms")
	p := newPoller(t, parseOK(t, md, env))
	f.follow(p.now, 2)
	f.startNow(p.now)
	demand := rampDemand
	type rec struct {
		desired int
		reason  string
		p90     float64
	}
	var log []rec
	var last sources.Sample
	for sec := range 630 {
		for _, pod := range f.ready {
			pod.serve(demand(sec) / float64(len(f.ready)))
		}
		s := p.mustPoll(time.Second)
		last = s
		desired := int(s.Value)
		dp := mustPart(t, s, "decision")
		log = append(log, rec{desired, dp.Info, mustPart(t, s, "signal/ttft/p90").Value})
		f.follow(p.now, desired)
	}
	if !strings.Contains(log[5].reason, "latency goal not in force") || !strings.Contains(log[5].reason, "KPA") {
		t.Errorf("cold start at 5 s: %q; want the KPA deciding, saying the latency goal is not in force", log[5].reason)
	}
	learned := -1
	for i, r := range log {
		if strings.HasPrefix(r.reason, "latency goal:") {
			learned = i
			break
		}
	}
	t.Logf("the law took over at %d s", learned)
	check := func(from, to, want int) {
		t.Helper()
		for i := from; i < to; i++ {
			if log[i].desired != want || !strings.HasPrefix(log[i].reason, "latency goal:") {
				t.Errorf("at %d s: %d (%s); want %d, held by the latency goal", i, log[i].desired, log[i].reason, want)
				return
			}
		}
		if last := log[to-1]; !(last.p90 <= 0.5) {
			t.Errorf("at %d s: observed p90 TTFT %v; want within the 500ms goal", to-1, last.p90)
		}
	}
	if learned < 0 || learned > 300 {
		t.Fatalf("the law never took over within 300 s: last decision %q", log[299].reason)
	}
	check(300, 450, 8)
	check(540, 630, 4)
	// explain shows the first 16 parts: the decision, then the law's.
	if len(last.Parts) < 3 || last.Parts[0].Name != "decision" || last.Parts[1].Name != "slo/ttft" || last.Parts[2].Name != "slo/backlog" {
		t.Errorf("parts %+v; want decision, slo/ttft, slo/backlog first", last.Parts[:min(3, len(last.Parts))])
	}
	t.Logf("slo/ttft: %+v", last.Parts[1])
	// The truth: 1000 tokens/s flat out, 800 at the goal (mm1 = 0.5 s).
	if m := regexp.MustCompile(`learned prefill capacity (\S+) tokens/s per replica \((\S+) at the goal\)`).FindStringSubmatch(last.Parts[1].Info); m == nil {
		t.Errorf("slo/ttft %q names no learned capacity", last.Parts[1].Info)
	} else {
		c, _ := strconv.ParseFloat(m[1], 64)
		g, _ := strconv.ParseFloat(m[2], 64)
		if math.Abs(c/simCapacity-1) > 0.15 || math.Abs(g/800-1) > 0.05 {
			t.Errorf("learned %v tokens/s per replica, %v at the goal; want within 15 %% of %v and 5 %% of 800", c, g, simCapacity)
		}
	}
	if !strings.Contains(last.Parts[1].Info, "predicted p90 at 4: ") {
		t.Errorf("slo/ttft %q lacks the prediction at the current count", last.Parts[1].Info)
	}
	if t.Failed() || testing.Verbose() {
		for i, r := range log {
			if i%10 == 0 {
				t.Logf("%3d s: %d p90=%.3g %s", i, r.desired, r.p90, r.reason)
			}
		}
	}
}

// pool is a fleet of fake pods following a desired count: free pods wait
// to be created, new pods are pending (not ready) for simStartup, and
// surplus pods go at once (pending ones first).
type pool[P interface {
	comparable
	reset()
}] struct {
	free    []P
	ready   []P
	pending map[P]time.Time
	names   map[P]string
	next    int
}

func newPool[P interface {
	comparable
	reset()
}]() pool[P] {
	return pool[P]{pending: map[P]time.Time{}, names: map[P]string{}}
}

// follow moves the pool towards desired pods at now; a new pod is named
// name(n), n counting the pods created.
func (f *pool[P]) follow(now time.Time, desired int, name func(int) string) {
	for len(f.ready)+len(f.pending) < desired && len(f.free) > 0 {
		p := f.free[len(f.free)-1]
		f.free = f.free[:len(f.free)-1]
		p.reset()
		f.next++
		f.names[p] = name(f.next)
		f.pending[p] = now.Add(simStartup)
	}
	for p := range f.pending {
		if len(f.ready)+len(f.pending) <= desired {
			break
		}
		delete(f.pending, p)
		f.free = append(f.free, p)
	}
	for len(f.ready)+len(f.pending) > desired {
		f.free = append(f.free, f.ready[len(f.ready)-1])
		f.ready = f.ready[:len(f.ready)-1]
	}
	for p, at := range f.pending {
		if !now.Before(at) {
			delete(f.pending, p)
			f.ready = append(f.ready, p)
		}
	}
}
