package inference

import (
	"bytes"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/tide-scaler/tide/internal/vllmfake"
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// vpod is a loopback HTTP server answering scrapes with vllmfake.
type vpod struct {
	mu     sync.Mutex
	st     vllmfake.State
	status int
	url    string
}

func newVPod(t *testing.T) *vpod {
	p := &vpod{st: vllmfake.State{Histograms: map[string]vllmfake.Histogram{
		"vllm:time_to_first_token_seconds": vllmfake.NewHistogram(0.1, 0.5, 1),
	}}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.status != 0 {
			http.Error(w, "down", p.status)
			return
		}
		vllmfake.Serve(w, p.st)
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL + "/metrics"
	return p
}

func (p *vpod) do(fn func(st *vllmfake.State)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn(&p.st)
}

func ttft(st *vllmfake.State, v float64, n int) {
	h := st.Histograms["vllm:time_to_first_token_seconds"]
	for range n {
		h.Observe(v)
	}
	st.Histograms["vllm:time_to_first_token_seconds"] = h
}

func mustPart(t *testing.T, s sources.Sample, name string) sources.Part {
	t.Helper()
	p, ok := part(s, name)
	if !ok {
		t.Fatalf("no part %s in %+v", name, s.Parts)
	}
	return p
}

// TestObservedSignals: two vLLM pods over real HTTP; the TTFT percentiles
// are histogram_quantile of the bucket increases summed over both pods,
// token counters are fleet rates, an absent histogram is unknown (NaN with
// the reason), a restarted pod adds nothing negative and a pod that fails
// a scrape adds its gap when it is back.
func TestObservedSignals(t *testing.T) {
	a, b := newVPod(t), newVPod(t)
	a.do(func(st *vllmfake.State) { ttft(st, 0.05, 500); st.PromptTokens = 1e6 }) // history before the scaler: a baseline
	tr := parseOK(t, scrapeMD(a.url+","+b.url, "targetRequestRate", "", "targetWaiting", "1"), Env{})
	p := newPoller(t, tr)
	s := p.mustPoll(0)
	if v := mustPart(t, s, "signal/ttft/p90"); !math.IsNaN(v.Value) || !strings.Contains(v.Info, reasonNoObservations) {
		t.Errorf("first poll (baselines only): %+v; want unknown, %s", v, reasonNoObservations)
	}
	a.do(func(st *vllmfake.State) { ttft(st, 0.05, 10); st.PromptTokens += 100; st.GenerationTokens += 1000 })
	b.do(func(st *vllmfake.State) { ttft(st, 0.3, 10); st.PromptTokens += 300; st.Preemptions = 2 })
	s = p.mustPoll(histEvery)
	// sum: le0.1=10 le0.5=20 le1=20 +Inf=20; p90 = 0.1 + 0.4*(18-10)/10.
	if v := mustPart(t, s, "signal/ttft/p90"); math.Abs(v.Value-0.42) > 1e-9 || !strings.Contains(v.Info, "p50=0.1 ") {
		t.Errorf("ttft p90 = %+v; want 0.42 with p50=0.1", v)
	}
	if v := mustPart(t, s, "signal/tokens/s"); v.Value != 280 || !strings.HasPrefix(v.Info, "prompt=80 generation=200 preemptions=0.4 ") {
		t.Errorf("tokens = %+v; want 280/s over 5 s: prompt 80, generation 200, preemptions 0.4", v)
	}
	// Between histogram reads (every histEvery) the window is unchanged
	// and new observations wait for the next read.
	a.do(func(st *vllmfake.State) { ttft(st, 0.05, 1000) })
	s = p.mustPoll(time.Second)
	if v := mustPart(t, s, "signal/ttft/p90"); math.Abs(v.Value-0.42) > 1e-9 {
		t.Errorf("poll between histogram reads: p90 %v; want 0.42", v.Value)
	}
	if v := mustPart(t, s, "signal/tpot/p90"); !math.IsNaN(v.Value) || !strings.Contains(v.Info, reasonNoSeries) || !strings.Contains(v.Info, "tpotMetric") {
		t.Errorf("absent histogram: %+v; want unknown naming tpotMetric", v)
	}

	// a restarts before the next read (the 1000 it served are lost with
	// its counts, as with any counter reset); b fails a scrape.
	a.do(func(st *vllmfake.State) {
		st.Histograms["vllm:time_to_first_token_seconds"] = vllmfake.NewHistogram(0.1, 0.5, 1)
		ttft(st, 0.9, 1)
		st.PromptTokens = 5
	})
	b.do(func(st *vllmfake.State) { ttft(st, 0.3, 10) })
	b.mu.Lock()
	b.status = http.StatusInternalServerError
	b.mu.Unlock()
	s = p.mustPoll(histEvery)
	if !slices.Contains(s.Notes, noteObsReset) {
		t.Errorf("notes %q lack the reset", s.Notes)
	}
	if v := mustPart(t, s, "signal/ttft/p90"); math.Abs(v.Value-0.42) > 1e-9 {
		t.Errorf("after a's restart and b's failure: p90 %v; want the window unchanged at 0.42", v.Value)
	}
	// b is back with the 10 slow ones it served meanwhile: 30 in the window.
	b.mu.Lock()
	b.status = 0
	b.mu.Unlock()
	s = p.mustPoll(histEvery)
	// le0.1=10 le0.5=30 +Inf=30: p90 = 0.1 + 0.4*(27-10)/20.
	if v := mustPart(t, s, "signal/ttft/p90"); math.Abs(v.Value-0.44) > 1e-9 {
		t.Errorf("after b's gap: p90 %v; want 0.44", v.Value)
	}
	// the stable window (60 s) slides past every observation: unknown, not 0.
	s = p.mustPoll(61 * time.Second)
	if v := mustPart(t, s, "signal/ttft/p90"); !math.IsNaN(v.Value) || !strings.Contains(v.Info, reasonNoObservations) {
		t.Errorf("idle window: %+v; want unknown", v)
	}
}

// TestObservedKeys: the metric-name keys are validated and named.
func TestObservedKeys(t *testing.T) {
	for _, c := range []struct{ key, value, want string }{
		{"ttftMetric", "vllm:time_to_first_token_seconds_bucket", "without its _bucket suffix"},
		{"tpotMetric", "bad name", "not a Prometheus metric name"},
		{"promptTokensMetric", "1x", "not a Prometheus metric name"},
	} {
		_, err := Parse(with(c.key, c.value), fullEnv())
		var ce *metadata.ConfigError
		if err == nil || !errors.As(err, &ce) || ce.Key != c.key || !strings.Contains(err.Error(), c.value) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%q: %v; want an error naming the key and value: %s", c.key, c.value, err, c.want)
		}
	}
	tr := parseOK(t, with("tpotMetric", "vllm:time_per_output_token_seconds"), fullEnv())
	if !strings.Contains(tr.Query().Key(), "vllm:time_per_output_token_seconds") {
		t.Error("query key ignores tpotMetric")
	}
}

// TestHistogramProtobuf: a protobuf exposition's histogram reads the same
// buckets as the text one (the +Inf bucket from the sample count).
func TestHistogramProtobuf(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ttft_seconds", Buckets: []float64{0.1, 0.5, 1}}, []string{"model_name"})
	reg.MustRegister(h)
	for _, v := range []float64{0.05, 0.3, 0.3, 2} {
		h.WithLabelValues("m").Observe(v)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	f := expfmt.NewFormat(expfmt.TypeProtoDelim)
	enc := expfmt.NewEncoder(&buf, f)
	for _, mf := range fams {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	spec := observedSpec{hists: [numHists]string{"ttft_seconds", "x", "x", "x"}, counters: [numCounters]string{"y", "y", "y"}}
	w := map[string]bool{}
	spec.addWanted(w)
	e, err := parseExposition(buf.Bytes(), string(f), w)
	if err != nil {
		t.Fatal(err)
	}
	got := extractObserved(e, &spec, []labelMatch{{"model_name", "m"}}).hists[histTTFT]
	want := map[float64]float64{0.1: 1, 0.5: 3, 1: 3, math.Inf(1): 4}
	if len(got) != len(want) {
		t.Fatalf("buckets %v; want %v", got, want)
	}
	for le, n := range want {
		if got[le] != n {
			t.Errorf("bucket le=%v: %v; want %v", le, got[le], n)
		}
	}
}
