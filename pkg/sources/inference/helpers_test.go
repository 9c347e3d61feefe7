package inference

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// podState is what a fake vLLM pod reports.
type podState struct {
	success             float64 // vllm:request_success_total{finished_reason="stop"}
	waiting, running    float64
	kv                  float64
	status              int    // HTTP status; 0 = 200
	hang                bool   // never answer (until the request is cancelled)
	body                string // served verbatim instead of the exposition when set
	openMetrics         bool
	contentType         string // overrides the Content-Type when set
	model               string // model_name label (default "m")
	missingRunningGauge bool
}

// fakePod is an httptest server serving vLLM-style exposition text whose
// counters and gauges the test drives.
type fakePod struct {
	mu  sync.Mutex
	st  podState
	srv *httptest.Server
	url string
	// served counts the requests that reached the pod.
	served atomic.Int64
}

func (p *fakePod) hits() int64 { return p.served.Load() }

func newFakePod(t testing.TB, st podState) *fakePod {
	t.Helper()
	p := &fakePod{st: st}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.url = p.srv.URL + "/metrics"
	t.Cleanup(p.srv.Close)
	return p
}

func (p *fakePod) set(fn func(*podState)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn(&p.st)
}

func (p *fakePod) serve(w http.ResponseWriter, r *http.Request) {
	p.served.Add(1)
	p.mu.Lock()
	st := p.st
	p.mu.Unlock()
	if st.hang {
		<-r.Context().Done()
		return
	}
	if st.status != 0 && st.status != http.StatusOK {
		http.Error(w, "engine dead", st.status)
		return
	}
	ct := "text/plain; version=0.0.4; charset=utf-8"
	if st.openMetrics {
		ct = "application/openmetrics-text; version=1.0.0; charset=utf-8"
	}
	if st.contentType != "" {
		ct = st.contentType
	}
	w.Header().Set("Content-Type", ct)
	if st.body != "" {
		io.WriteString(w, st.body)
		return
	}
	writeVLLM(w, st)
}

// histogram buckets of vLLM's latency histograms.
var latencyBuckets = []string{"0.001", "0.005", "0.01", "0.02", "0.04", "0.06", "0.08", "0.1", "0.25", "0.5",
	"0.75", "1.0", "2.5", "5.0", "7.5", "10.0", "20.0", "40.0", "80.0", "160.0", "640.0", "2560.0", "+Inf"}

// writeVLLM writes a vLLM-sized exposition (~200 series, most of them
// histogram buckets) in the text format or OpenMetrics 1.0, as
// prometheus_client does for vLLM.
func writeVLLM(w io.Writer, st podState) {
	model := st.model
	if model == "" {
		model = "m"
	}
	lb := fmt.Sprintf(`engine="0",model_name=%q`, model)
	om := st.openMetrics
	gauge := func(name, help string, v float64, extra string) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s{%s%s} %g\n", name, help, name, name, lb, extra, v)
	}
	counter := func(name, help string, vs map[string]float64) {
		family := name
		if !om {
			family = name + "_total"
		}
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", family, help, family)
		for extra, v := range vs {
			fmt.Fprintf(w, "%s_total{%s%s} %g\n", name, lb, extra, v)
			if om {
				fmt.Fprintf(w, "%s_created{%s%s} 1.7e+09\n", name, lb, extra)
			}
		}
	}
	histogram := func(name, help string, count float64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
		for i, b := range latencyBuckets {
			c := count * float64(i+1) / float64(len(latencyBuckets))
			ex := ""
			if om && i == 3 {
				ex = ` # {trace_id="abc#1"} 0.015 1.7e+09`
			}
			fmt.Fprintf(w, "%s_bucket{%s,le=%q} %g%s\n", name, lb, b, c, ex)
		}
		fmt.Fprintf(w, "%s_count{%s} %g\n%s_sum{%s} %g\n", name, lb, count, name, lb, count*0.7)
	}
	if !st.missingRunningGauge {
		gauge("vllm:num_requests_running", "Number of requests in model execution batches.", st.running, "")
	}
	gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", st.waiting, "")
	fmt.Fprintf(w, "# HELP vllm:num_requests_waiting_by_reason Waiting requests by reason.\n# TYPE vllm:num_requests_waiting_by_reason gauge\n")
	for _, reason := range []string{"capacity", "deferred"} {
		fmt.Fprintf(w, "vllm:num_requests_waiting_by_reason{%s,reason=%q} 0\n", lb, reason)
	}
	gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", st.kv, "")
	counter("vllm:request_success", "Count of successfully processed requests.", map[string]float64{
		`,finished_reason="stop"`: st.success, `,finished_reason="length"`: 0, `,finished_reason="abort"`: 0})
	counter("vllm:prompt_tokens", "Number of prefill tokens processed.", map[string]float64{"": st.success * 512})
	counter("vllm:generation_tokens", "Number of generation tokens processed.", map[string]float64{"": st.success * 128})
	counter("vllm:num_preemptions", "Cumulative number of preemptions.", map[string]float64{"": 0})
	for _, h := range []string{"vllm:time_to_first_token_seconds", "vllm:inter_token_latency_seconds",
		"vllm:e2e_request_latency_seconds", "vllm:request_queue_time_seconds", "vllm:request_inference_time_seconds",
		"vllm:request_prefill_time_seconds", "vllm:request_decode_time_seconds"} {
		histogram(h, "Histogram of "+strings.TrimPrefix(h, "vllm:")+".", st.success)
	}
	if om {
		io.WriteString(w, "# EOF\n")
	}
}

func parseOK(t testing.TB, md metadata.Metadata, env Env) *Trigger {
	t.Helper()
	if env.Policy.Files == nil {
		env.Policy.Files = anyFile
	}
	tr, err := Parse(md, env)
	if err != nil {
		t.Fatalf("Parse(%v): %v", md, err)
	}
	return tr
}

// poller drives one query's upstream directly, with an injected clock.
type poller struct {
	t   testing.TB
	q   sources.Query
	up  sources.Upstream
	now time.Time
}

func newPoller(t testing.TB, tr *Trigger) *poller {
	t.Helper()
	up, err := tr.Query().Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { up.Close() })
	return &poller{t: t, q: tr.Query(), up: up, now: t0}
}

// poll advances the clock by d and polls once.
func (p *poller) poll(d time.Duration) (sources.Sample, error) {
	p.now = p.now.Add(d)
	r := p.up.Poll(context.Background(), p.now, []sources.Query{p.q})
	return r[0].Sample, r[0].Err
}

func (p *poller) mustPoll(d time.Duration) sources.Sample {
	p.t.Helper()
	s, err := p.poll(d)
	if err != nil {
		p.t.Fatalf("poll at +%s: %v", p.now.Sub(t0), err)
	}
	return s
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// active is the activation answer without hysteresis, as the trigger core
// gives it: the sample's activity above the source's threshold.
func active(tr *Trigger, s sources.Sample) bool { return s.Activity > tr.Activation() }

// anyFile lets ...File keys read any file a test names: the tests here
// are about inference; the file rules have their own tests.
var anyFile = func() *metadata.Files {
	f, err := metadata.NewFiles([]string{"/"}, "")
	if err != nil {
		panic(err)
	}
	return f
}()
