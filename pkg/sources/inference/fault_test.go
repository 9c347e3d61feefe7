package inference

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-scaler/tide/internal/testclock"
	"github.com/tide-scaler/tide/internal/vllmfake"
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/sources"
)

// Fault tests: a Prometheus server (query mode) or a pod (scrape mode)
// that times out, answers 500 or answers garbage, read through a
// sources.Engine as `scaler serve` wires it. The upstreams are real
// loopback HTTP servers whose behaviour the test switches between polls;
// the engine polls on its real timers (tens of milliseconds) and judges
// staleness with an injected clock that only the test moves.

// faultMaxStaleness is the engine's --max-staleness in these tests.
const faultMaxStaleness = 30 * time.Second

// faultServer is a loopback HTTP server whose handler the test swaps. It
// counts requests and the connections open to it (http.Server's ConnState
// hook), and releases handlers blocked in hang when the test ends, so the
// server can close.
type faultServer struct {
	srv         *httptest.Server
	hits        atomic.Int64
	release     chan struct{}
	releaseOnce sync.Once

	mu    sync.Mutex
	h     http.HandlerFunc
	conns map[net.Conn]http.ConnState
}

func newFaultServer(t *testing.T, h http.HandlerFunc) *faultServer {
	t.Helper()
	f := &faultServer{release: make(chan struct{}), h: h, conns: map[net.Conn]http.ConnState{}}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.Config.ConnState = f.track
	f.srv.Start()
	t.Cleanup(f.close)
	return f
}

func (f *faultServer) serve(w http.ResponseWriter, r *http.Request) {
	f.hits.Add(1)
	f.mu.Lock()
	h := f.h
	f.mu.Unlock()
	h(w, r)
}

// set switches the behaviour; requests that arrive from now on get h.
func (f *faultServer) set(h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.h = h
}

func (f *faultServer) track(c net.Conn, s http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch s {
	case http.StateClosed, http.StateHijacked:
		delete(f.conns, c)
	default:
		f.conns[c] = s
	}
}

// open is the number of connections open to the server.
func (f *faultServer) open() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns)
}

// close releases blocked handlers and closes the server.
func (f *faultServer) close() {
	f.releaseOnce.Do(func() { close(f.release) })
	f.srv.Close()
}

// hang reads the request, as a server does before it works on a query,
// and never answers: it blocks until the client gives up (which the server
// notices once the body is read) or the test ends.
func (f *faultServer) hang(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-f.release:
	}
}

func answer(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// once answers the first request with first and every later one with then.
func once(first, then http.HandlerFunc) http.HandlerFunc {
	var used atomic.Bool
	return func(w http.ResponseWriter, r *http.Request) {
		if used.CompareAndSwap(false, true) {
			first(w, r)
			return
		}
		then(w, r)
	}
}

// promVector is a Prometheus instant-query answer with one series.
func promVector(v string) http.HandlerFunc {
	return answer(http.StatusOK, "application/json",
		fmt.Sprintf(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1800000000,%q]}]}}`, v))
}

// faultMode is one way of reading inference load: how to configure a
// trigger on a fault server, what a good answer is and how to read the
// value back from a sample.
type faultMode struct {
	name  string
	good  func(v float64) http.HandlerFunc
	md    func(srv *faultServer) metadata.Metadata
	value func(srv *faultServer, s sources.Sample) (float64, bool)
}

// promMode queries the fault server as a Prometheus server. The query's
// own timeout is long, so a hanging server is cut by the engine's poll
// timeout; ignoreNullValues is false, so NaN, Inf and empty results are
// errors (with KEDA's default true they read as 0 by design).
var promMode = faultMode{
	name: "prometheus",
	good: func(v float64) http.HandlerFunc { return promVector(strconv.FormatFloat(v, 'g', -1, 64)) },
	md: func(srv *faultServer) metadata.Metadata {
		return promMD(srv.srv.URL, `sum(vllm:num_requests_waiting)`, "timeout", "10s", "ignoreNullValues", "false")
	},
	value: func(_ *faultServer, s sources.Sample) (float64, bool) { return s.Value, true },
}

// scrapeMode scrapes the fault server as the only vLLM pod, every 100 ms
// with a 50 ms scrape timeout. The value read back is the pod's waiting
// gauge from the latest scrape.
var scrapeMode = faultMode{
	name: "scrape",
	good: func(v float64) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) { vllmfake.Serve(w, vllmfake.State{Waiting: v}) }
	},
	md: func(srv *faultServer) metadata.Metadata {
		return scrapeMD(srv.srv.URL+"/metrics", "scrapeInterval", "100ms", "scrapeTimeout", "50ms",
			"targetRequestRate", "", "targetWaiting", "1")
	},
	value: func(srv *faultServer, s sources.Sample) (float64, bool) {
		p, ok := part(s, srv.srv.URL+"/metrics")
		if !ok {
			return 0, false
		}
		for f := range strings.FieldsSeq(p.Info) {
			if v, ok := strings.CutPrefix(f, "waiting="); ok {
				n, err := strconv.ParseFloat(v, 64)
				return n, err == nil
			}
		}
		return 0, false
	},
}

// faultRig is one trigger read through an engine, watched so that the test
// can wait for poll results.
type faultRig struct {
	t       *testing.T
	m       faultMode
	srv     *faultServer
	tr      *Trigger
	clk     *testclock.Clock
	e       *sources.Engine
	updates <-chan struct{}
	stop    func()
}

func newFaultRig(t *testing.T, m faultMode, srv *faultServer) *faultRig {
	t.Helper()
	r := &faultRig{t: t, m: m, srv: srv, tr: parseOK(t, m.md(srv), Env{}), clk: testclock.New(t0)}
	r.e = sources.NewEngine(sources.Options{
		PollInterval:       20 * time.Millisecond,
		PollTimeout:        150 * time.Millisecond,
		FirstSampleTimeout: 5 * time.Second,
		MaxStaleness:       faultMaxStaleness,
		Now:                r.clk.Now,
		Metrics:            metrics.New(prometheus.NewRegistry()),
		Logger:             slog.New(slog.DiscardHandler),
	})
	t.Cleanup(r.close)
	updates, stop, err := r.e.Watch(r.tr.Query())
	if err != nil {
		t.Fatal(err)
	}
	r.updates, r.stop = updates, stop
	return r
}

func (r *faultRig) close() {
	if r.stop != nil {
		r.stop()
		r.stop = nil
	}
	r.e.Close()
}

// nextPoll waits for a poll result recorded after a request that reached
// the server's current behaviour (set before the call): every result
// recorded after such a request comes from a poll that got that behaviour,
// since the engine runs one poll of an upstream at a time and a poll
// records after its requests.
func (r *faultRig) nextPoll() {
	r.t.Helper()
	want := r.srv.hits.Load() + 1
	waitFor(r.t, "a request to the server", 5*time.Second, func() bool { return r.srv.hits.Load() >= want })
	select {
	case <-r.updates:
	default:
	}
	select {
	case <-r.updates:
	case <-time.After(5 * time.Second):
		r.t.Fatal("no poll result within 5s")
	}
}

// mustServe checks that a Read serves want, as GetMetrics would.
func (r *faultRig) mustServe(want float64) {
	r.t.Helper()
	s, err := r.e.Read(r.t.Context(), r.tr.Query())
	if err != nil {
		r.t.Fatalf("clock at T0 + %v: Read: %v; want %v served", r.clk.Now().Sub(t0), err, want)
	}
	if v, ok := r.m.value(r.srv, s); !ok || v != want {
		r.t.Fatalf("clock at T0 + %v: Read = %v (%+v); want %v", r.clk.Now().Sub(t0), v, s, want)
	}
	if r.m.name == "prometheus" {
		if m := r.tr.Evaluate(s); m.Value != want {
			r.t.Fatalf("Evaluate = %+v; want value %v", m, want)
		}
	}
}

// mustFail checks that a Read is an error wrapping is, naming the upstream
// and saying want, and no sample: the RPC answers an error, never a zero.
func (r *faultRig) mustFail(is error, want string) {
	r.t.Helper()
	s, err := r.e.Read(r.t.Context(), r.tr.Query())
	name := r.tr.Query().Upstream().Name
	if err == nil || !errors.Is(err, is) || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), want) {
		r.t.Fatalf("clock at T0 + %v: Read = %+v, %v; want an error wrapping %v, naming %s and saying %q",
			r.clk.Now().Sub(t0), s, err, is, name, want)
	}
	if s.Value != 0 || s.Activity != 0 || len(s.Parts) != 0 || !s.Time.IsZero() {
		r.t.Fatalf("an error came with a sample: %+v", s)
	}
}

// settle waits, in a bounded loop, until cond holds; what describes it.
func settle(t *testing.T, what string, cond func() (int, bool)) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, ok := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %d after 5s", what, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func goroutinesAtMost(t *testing.T, what string, limit int) {
	t.Helper()
	settle(t, fmt.Sprintf("goroutines %s (limit %d)", what, limit), func() (int, bool) {
		n := runtime.NumGoroutine()
		return n, n <= limit
	})
}

func connsAtMost(t *testing.T, srv *faultServer, what string, limit int) {
	t.Helper()
	settle(t, fmt.Sprintf("connections to the server %s (limit %d)", what, limit), func() (int, bool) {
		n := srv.open()
		return n, n <= limit
	})
}

// Slack for goroutines and connections that come and go with a poll in
// flight (a request, its connection's read and write loops, a handler).
const (
	faultGoroutineSlack = 4
	faultConnSlack      = 2
	faultPolls          = 4 // failing polls run before resources are counted
)

// runFault drives one fault through the engine:
//
//  1. good answers: the value is served;
//  2. the fault: the last good value is served while the injected clock
//     stays within MaxStaleness, then every Read is an error wrapping is
//     and saying want, never a value;
//  3. many failing polls leave goroutines and connections where they were;
//  4. one good answer, then the fault again: that one answer's value is
//     served, so the first poll that gets a good answer recovers;
//  5. good answers again, then the engine and server close, leaving no
//     goroutine and no connection behind.
func runFault(t *testing.T, m faultMode, fault func(*faultServer) http.HandlerFunc, is error, want string) {
	g0 := runtime.NumGoroutine()
	srv := newFaultServer(t, m.good(7))
	r := newFaultRig(t, m, srv)
	r.nextPoll()
	r.mustServe(7)
	r.nextPoll()
	gSteady, cSteady := runtime.NumGoroutine(), srv.open()

	srv.set(fault(srv))
	r.nextPoll()
	r.mustServe(7)
	r.clk.Add(faultMaxStaleness - time.Second)
	r.mustServe(7)
	r.clk.Add(2 * time.Second)
	r.mustFail(is, want)
	for range faultPolls {
		r.nextPoll()
		r.mustFail(is, want)
	}
	goroutinesAtMost(t, "while failing", gSteady+faultGoroutineSlack)
	connsAtMost(t, srv, "while failing", cSteady+faultConnSlack)

	srv.set(once(m.good(9), fault(srv)))
	r.nextPoll()
	r.mustServe(9)
	srv.set(m.good(11))
	r.nextPoll()
	r.mustServe(11)
	goroutinesAtMost(t, "after recovery", gSteady+faultGoroutineSlack)
	connsAtMost(t, srv, "after recovery", cSteady+1)

	r.close()
	connsAtMost(t, srv, "after the engine closed", 0)
	srv.close()
	goroutinesAtMost(t, "after the engine and server closed", g0+2)
}

// TestFaultPrometheusTimeout: a Prometheus server that never answers is cut
// by the poll timeout and read as Unavailable, the blocked handlers end
// with their requests, and each timed-out connection is closed.
func TestFaultPrometheusTimeout(t *testing.T) {
	runFault(t, promMode, func(f *faultServer) http.HandlerFunc { return f.hang }, sources.ErrUnavailable,
		"context deadline exceeded")
}

// TestFaultPrometheus500: a Prometheus server answering 500 is Unavailable.
func TestFaultPrometheus500(t *testing.T) {
	runFault(t, promMode, func(*faultServer) http.HandlerFunc {
		return answer(http.StatusInternalServerError, "text/plain", "engine dead")
	}, sources.ErrUnavailable, "500")
}

// TestFaultPrometheusGarbage: answers that are not a usable instant query
// result — not JSON, JSON of the wrong shape, NaN, ±Inf, no series — are
// errors, never a 0.
func TestFaultPrometheusGarbage(t *testing.T) {
	const ok = `{"status":"success","data":`
	tests := []struct {
		name string
		h    http.HandlerFunc
		is   error
		want string
	}{
		{"invalid JSON", answer(200, "application/json", ok+`{"resultType":"vector","result":[`), sources.ErrUnavailable, "query"},
		{"HTML", answer(200, "text/html", "<html>login</html>"), sources.ErrUnavailable, "query"},
		{"JSON array", answer(200, "application/json", `["not","a","response"]`), sources.ErrUnavailable, "query"},
		{"result not a list", answer(200, "application/json", ok+`{"resultType":"vector","result":{"a":1}}}`), sources.ErrUnavailable, "query"},
		{"value not a number", promVector("seven"), sources.ErrUnavailable, "query"},
		{"range vector", answer(200, "application/json", ok+`{"resultType":"matrix","result":[]}}`), sources.ErrUnavailable, "want an instant vector"},
		{"two series", answer(200, "application/json", ok+`{"resultType":"vector","result":[`+
			`{"metric":{"a":"1"},"value":[1,"7"]},{"metric":{"a":"2"},"value":[1,"8"]}]}}`), sources.ErrUnavailable, "returned 2 series"},
		{"NaN", promVector("NaN"), sources.ErrUnavailable, "returned NaN"},
		{"+Inf", promVector("+Inf"), sources.ErrUnavailable, "returned +Inf"},
		{"-Inf", promVector("-Inf"), sources.ErrUnavailable, "returned -Inf"},
		{"empty result", answer(200, "application/json", ok+`{"resultType":"vector","result":[]}}`), sources.ErrNotFound, "returned no series"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runFault(t, promMode, func(*faultServer) http.HandlerFunc { return tt.h }, tt.is, tt.want)
		})
	}
}

// TestFaultScrapeTimeout: a pod that never answers is cut by the scrape
// timeout; with no other pod the reading is Unavailable.
func TestFaultScrapeTimeout(t *testing.T) {
	runFault(t, scrapeMode, func(f *faultServer) http.HandlerFunc { return f.hang }, sources.ErrUnavailable,
		"scrape timeout of 50ms")
}

// TestFaultScrape500: a pod answering 500 is Unavailable.
func TestFaultScrape500(t *testing.T) {
	runFault(t, scrapeMode, func(*faultServer) http.HandlerFunc {
		return answer(http.StatusInternalServerError, "text/plain", "engine dead")
	}, sources.ErrUnavailable, "HTTP 500")
}

// TestFaultScrapeGarbage: expositions that cannot be read are errors,
// never a 0; one that parses but lacks the configured metric is NotFound
// naming the key.
func TestFaultScrapeGarbage(t *testing.T) {
	tests := []struct {
		name string
		h    http.HandlerFunc
		is   error
		want string
	}{
		{"malformed line", answer(200, vllmfake.ContentType, "vllm:num_requests_waiting{model_name=\"m\" 3\n"), sources.ErrUnavailable, "malformed exposition"},
		{"truncated OpenMetrics", answer(200, "application/openmetrics-text; version=1.0.0; charset=utf-8",
			"vllm:num_requests_waiting 3\n"), sources.ErrUnavailable, "# EOF"},
		{"HTML", answer(200, "text/html", "<html>login</html>"), sources.ErrUnavailable, "unsupported Content-Type"},
		{"binary protobuf junk", answer(200, "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
			"\x05junk!"), sources.ErrUnavailable, "malformed exposition"},
		{"no such metric", answer(200, vllmfake.ContentType, "\x00\x01 junk\nnot_vllm 1\n"), sources.ErrNotFound, "waitingMetric"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runFault(t, scrapeMode, func(*faultServer) http.HandlerFunc { return tt.h }, tt.is, tt.want)
		})
	}
}

// TestFaultScrapeProtobufLengthPrefix: a target answering the delimited
// protobuf Content-Type with a huge length prefix must be a malformed
// exposition, not an allocation of that size. expfmt's decoder reads with
// protodelim MaxSize -1, so with it a 14-byte body allocated 4 GiB
// ("\xff\xff\xff\xff\x0f") or panicked with "makeslice: len out of range"
// (a 2^62 prefix) in a scrape goroutine: any scrape target could crash the
// scaler. parseProto now bounds every message by maxScrapeBytes.
func TestFaultScrapeProtobufLengthPrefix(t *testing.T) {
	const ct = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
	for _, body := range []string{"\xff\xff\xff\xff\x0fjunk", "\xff\xff\xff\xff\xff\xff\xff\xff\x3fjunk"} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := parseExposition([]byte(body), ct, map[string]bool{"vllm:num_requests_waiting": true})
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%q: no error", body)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 2*maxScrapeBytes {
			t.Errorf("%q: allocated %d MiB", body, n>>20)
		}
	}
}
