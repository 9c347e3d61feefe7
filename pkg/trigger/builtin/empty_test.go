package builtin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-scaler/tide/internal/testclock"
	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/trigger"
)

// promAnswer is what the fake Prometheus answers an instant query with.
type promAnswer string

const (
	promEmpty promAnswer = `{"status":"success","data":{"resultType":"vector","result":[]}}`
	promNaN   promAnswer = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"NaN"]}]}}`
)

// promValue is a one-series answer.
func promValue(v float64) promAnswer {
	return promAnswer(fmt.Sprintf(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"%g"]}]}}`, v))
}

// fakeProm is a real HTTP server speaking Prometheus's /api/v1/query, whose
// answer the test sets.
type fakeProm struct {
	mu     sync.Mutex
	answer promAnswer
	srv    *httptest.Server
}

func startFakeProm(t *testing.T, a promAnswer) *fakeProm {
	t.Helper()
	p := &fakeProm{answer: a}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		p.mu.Lock()
		a := p.answer
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, string(a))
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *fakeProm) set(a promAnswer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.answer = a
}

// emptyStep is one answer of the fake Prometheus, the clock moved by
// after, and what the trigger must make of the first poll that sees it.
type emptyStep struct {
	answer promAnswer
	after  time.Duration
	value  float64 // the Reading's Value, when err is nil
	err    error   // the sentinel the Read's error wraps; nil: no error
	active bool    // the Reading's Active, or the latch's state after an error
}

// TestEmptyPrometheusResult: an empty or NaN Prometheus result, through
// the real inference source, engine and trigger core (what every face
// asks). Under the default ignoreNullValues: true both read as 0 (KEDA's
// value) but are unknown samples: they never activate a trigger at zero
// replicas, and keep an active one active until results have been empty or
// NaN for unknownGracePeriod (60 s) since the first of them; a known
// answer in between starts that over; then they count as 0, so
// minActiveDuration and deactivationThreshold decide as for any 0. With
// unknownGracePeriod: 0 one empty answer deactivates at once, as in KEDA.
// With ignoreNullValues: false they are errors (an empty result NotFound,
// NaN Unavailable) that never read as 0 and leave the latch as it was.
func TestEmptyPrometheusResult(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first promAnswer
		kv    map[string]string
		steps []emptyStep
	}{
		{"empty at zero replicas, default ignoreNullValues, never activates", promEmpty, nil, []emptyStep{
			{answer: promEmpty, after: time.Minute, value: 0},
			{answer: promEmpty, after: time.Hour, value: 0},
		}},
		{"NaN at zero replicas, default ignoreNullValues, reads 0 and never activates", promNaN, nil, []emptyStep{
			{answer: promNaN, after: time.Minute, value: 0},
		}},
		{"empty at zero replicas, unknownGracePeriod 0, never activates", promEmpty,
			map[string]string{"unknownGracePeriod": "0"}, []emptyStep{
				{answer: promEmpty, after: time.Minute, value: 0},
				{answer: promNaN, after: time.Second, value: 0},
			}},
		{"empty at zero replicas, ignoreNullValues false, is NotFound and never activates", promValue(0),
			map[string]string{"ignoreNullValues": "false"}, []emptyStep{
				{answer: promEmpty, after: time.Minute, err: sources.ErrNotFound},
				{answer: promValue(0), after: time.Second, value: 0},
			}},
		{"NaN while active, ignoreNullValues false, is Unavailable and keeps the latch", promValue(12),
			map[string]string{"ignoreNullValues": "false"}, []emptyStep{
				{answer: promNaN, after: time.Second, err: sources.ErrUnavailable, active: true},
				{answer: promNaN, after: time.Hour, err: sources.ErrUnavailable, active: true},
				{answer: promValue(12), after: time.Second, value: 12, active: true},
			}},
		{"empty while active, ignoreNullValues false, is NotFound and keeps the latch", promValue(12),
			map[string]string{"ignoreNullValues": "false", "minActiveDuration": "60s"}, []emptyStep{
				{answer: promEmpty, after: 2 * time.Minute, err: sources.ErrNotFound, active: true},
				{answer: promValue(12), after: time.Second, value: 12, active: true},
			}},
		{"empty while active, default keys: held for the grace, then deactivates", promValue(12), nil, []emptyStep{
			{answer: promEmpty, after: time.Second, value: 0, active: true}, // the run starts
			{answer: promEmpty, after: 30 * time.Second, value: 0, active: true},
			{answer: promEmpty, after: 29 * time.Second, value: 0, active: true}, // 59 s into it
			{answer: promEmpty, after: time.Second, value: 0},                    // 60 s: the grace is over
			{answer: promValue(12), after: time.Second, value: 12, active: true},
		}},
		{"NaN while active, default keys: held for the grace, then deactivates", promValue(12), nil, []emptyStep{
			{answer: promNaN, after: time.Second, value: 0, active: true},
			{answer: promNaN, after: 59 * time.Second, value: 0, active: true},
			{answer: promNaN, after: time.Second, value: 0},
		}},
		{"a known answer in between starts the grace over", promValue(12), nil, []emptyStep{
			{answer: promEmpty, after: time.Second, value: 0, active: true},
			{answer: promEmpty, after: 50 * time.Second, value: 0, active: true},
			{answer: promValue(3), after: time.Second, value: 3, active: true},
			{answer: promEmpty, after: time.Second, value: 0, active: true}, // a new run
			{answer: promNaN, after: 59 * time.Second, value: 0, active: true},
			{answer: promEmpty, after: time.Second, value: 0},
		}},
		{"unknownGracePeriod 0: one empty answer deactivates at once, as KEDA", promValue(12),
			map[string]string{"unknownGracePeriod": "0"}, []emptyStep{
				{answer: promEmpty, after: time.Second, value: 0},
				{answer: promValue(12), after: time.Second, value: 12, active: true},
				{answer: promNaN, after: time.Second, value: 0},
			}},
		{"a shorter unknownGracePeriod ends sooner", promValue(12),
			map[string]string{"unknownGracePeriod": "10s"}, []emptyStep{
				{answer: promEmpty, after: time.Second, value: 0, active: true},
				{answer: promEmpty, after: 9 * time.Second, value: 0, active: true},
				{answer: promEmpty, after: time.Second, value: 0},
			}},
		{"minActiveDuration holds past the grace, then deactivates", promValue(12),
			map[string]string{"minActiveDuration": "120s"}, []emptyStep{
				{answer: promEmpty, after: 10 * time.Second, value: 0, active: true},
				{answer: promEmpty, after: 60 * time.Second, value: 0, active: true}, // grace over, 70 s active
				{answer: promEmpty, after: 49 * time.Second, value: 0, active: true},
				{answer: promEmpty, after: time.Second, value: 0},
			}},
		{"deactivationThreshold does not hold an empty answer past the grace", promValue(12),
			map[string]string{"activationThreshold": "10", "deactivationThreshold": "5"}, []emptyStep{
				{answer: promValue(7), after: time.Second, value: 7, active: true},
				{answer: promEmpty, after: time.Second, value: 0, active: true},
				{answer: promEmpty, after: 59 * time.Second, value: 0, active: true},
				{answer: promEmpty, after: time.Second, value: 0},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prom := startFakeProm(t, tc.first)
			md := map[string]string{"source": "inference", "mode": "prometheus", "serverAddress": prom.srv.URL,
				"query": "sum(vllm:num_requests_waiting)", "threshold": "5"}
			for k, v := range tc.kv {
				md[k] = v
			}
			h := startEmptyHarness(t, md)
			first := h.read(t, "first answer")
			if first.err != nil {
				t.Fatalf("first answer: %v", first.err)
			}
			wantActive := first.reading.Sample.Value > 0
			if first.reading.Active != wantActive {
				t.Fatalf("first answer %v: active %v, want %v", first.reading.Sample.Value, first.reading.Active, wantActive)
			}
			for i, st := range tc.steps {
				what := fmt.Sprintf("step %d (clock +%v)", i+1, st.after)
				prom.set(st.answer)
				h.clk.Add(st.after)
				got := h.read(t, what)
				switch {
				case st.err != nil:
					if got.err == nil || !errors.Is(got.err, st.err) {
						t.Fatalf("%s: %+v, %v; want an error wrapping %v, never a value", what, got.reading.Sample, got.err, st.err)
					}
					if st.err == sources.ErrNotFound && errors.Is(got.err, sources.ErrUnavailable) {
						t.Errorf("%s: %v is Unavailable, want NotFound only", what, got.err)
					}
					if active, _ := h.tr.Active(); active != st.active {
						t.Errorf("%s: after the error the latch is active=%v, want %v", what, active, st.active)
					}
				case got.err != nil:
					t.Fatalf("%s: %v, want %v", what, got.err, st.value)
				case got.reading.Value != st.value || got.reading.Active != st.active:
					t.Errorf("%s: value %v active %v; want %v active %v", what, got.reading.Value, got.reading.Active, st.value, st.active)
				}
				if unknown := st.answer == promEmpty || st.answer == promNaN; got.err == nil && got.reading.Sample.Unknown != unknown {
					t.Errorf("%s: Sample.Unknown = %v, want %v", what, got.reading.Sample.Unknown, unknown)
				}
			}
		})
	}
}

// TestUnknownGraceIsStateful: unknownGracePeriod applies only where a
// sample can be unknown (prometheus mode with ignoreNullValues), and makes
// the trigger stateful there, so that a follower steps its latch with every
// sample and scaler replicas agree; elsewhere it is accepted and is 0.
func TestUnknownGraceIsStateful(t *testing.T) {
	prom := map[string]string{"source": "inference", "mode": "prometheus", "serverAddress": "http://127.0.0.1:9090",
		"query": "up", "threshold": "5"}
	kafka := map[string]string{"source": "kafka", "bootstrapServers": "127.0.0.1:9092", "consumerGroup": "g",
		"topic": "t", "lagThreshold": "5"}
	with := func(md map[string]string, kv ...string) map[string]string {
		out := maps.Clone(md)
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		md       map[string]string
		grace    time.Duration
		stateful bool
	}{
		{"prometheus, default keys", prom, time.Minute, true},
		{"prometheus, unknownGracePeriod 5m", with(prom, "unknownGracePeriod", "5m"), 5 * time.Minute, true},
		{"prometheus, unknownGracePeriod 0", with(prom, "unknownGracePeriod", "0"), 0, false},
		{"prometheus, ignoreNullValues false", with(prom, "ignoreNullValues", "false"), 0, false},
		{"prometheus, ignoreNullValues false, unknownGracePeriod 5m", with(prom, "ignoreNullValues", "false", "unknownGracePeriod", "5m"), 0, false},
		{"kafka, default keys", kafka, 0, false},
		{"kafka, unknownGracePeriod 5m", with(kafka, "unknownGracePeriod", "5m"), 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := Registry(Options{}).Parse(tc.md)
			if err != nil {
				t.Fatal(err)
			}
			a := tr.Options().Activation
			if a.UnknownGrace != tc.grace || a.Stateful() != tc.stateful {
				t.Errorf("grace %v stateful %v; want %v %v", a.UnknownGrace, a.Stateful(), tc.grace, tc.stateful)
			}
		})
	}
}

// emptyHarness is one trigger of the built-in registry read through a real
// engine on an injected clock.
type emptyHarness struct {
	clk     *testclock.Clock
	cache   *trigger.Cache
	tr      *trigger.Trigger
	updates <-chan struct{}
}

func startEmptyHarness(t *testing.T, md map[string]string) *emptyHarness {
	t.Helper()
	clk := testclock.New(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	eng := sources.NewEngine(sources.Options{PollInterval: 10 * time.Millisecond, PollTimeout: time.Second,
		FirstSampleTimeout: 5 * time.Second, Now: clk.Now,
		Metrics: metrics.New(prometheus.NewRegistry()), Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { _ = eng.Close() })
	cache := trigger.NewCache(trigger.CacheConfig{Registry: Registry(Options{}), Reader: eng})
	t.Cleanup(cache.Close)
	tr, err := cache.Get(md, clk.Now())
	if err != nil {
		t.Fatalf("Get(%v): %v", md, err)
	}
	updates, stop, err := cache.Watch(tr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return &emptyHarness{clk: clk, cache: cache, tr: tr, updates: updates}
}

type emptyRead struct {
	reading trigger.Reading
	err     error
}

// read returns what a face gets from the first poll that started at the
// clock's current time: it waits for poll results until a Read returns a
// sample taken now, or, two results after the call (the second from a poll
// that started after it), an error.
func (h *emptyHarness) read(t *testing.T, what string) emptyRead {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	select {
	case <-h.updates:
	default:
	}
	for n := 1; ; n++ {
		select {
		case <-h.updates:
		case <-ctx.Done():
			t.Fatalf("%s: no poll result within 10 s", what)
		}
		r, err := h.cache.Read(ctx, h.tr)
		if err == nil && r.Sample.Time.Equal(h.clk.Now()) || err != nil && n >= 2 {
			return emptyRead{r, err}
		}
	}
}
