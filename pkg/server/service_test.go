package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/trigger"
	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// queueSource is a tiny source for exercising the service: its "upstream"
// is a map of queue depths the test sets. Metadata: source=queue,
// queue=<name>, target=<float>, activation=<float>.
type queueSource struct {
	mu     sync.Mutex
	depths map[string]float64
	down   error
	polls  int
}

type queueQuery struct {
	src  *queueSource
	name string
}

func (q queueQuery) Key() string { return "queue/" + q.name }
func (q queueQuery) Upstream() sources.Endpoint {
	return sources.Endpoint{Key: "queue", Name: "queue://test"}
}
func (q queueQuery) Open() (sources.Upstream, error) { return q.src, nil }
func (s *queueSource) Close() error                  { return nil }
func (s *queueSource) Poll(ctx context.Context, _ time.Time, qs []sources.Query) []sources.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.polls++
	out := make([]sources.Result, len(qs))
	for i, q := range qs {
		name := q.(queueQuery).name
		d, ok := s.depths[name]
		switch {
		case s.down != nil:
			out[i].Err = s.down
		case !ok:
			out[i].Err = fmt.Errorf("queue %q: %w", name, sources.ErrNotFound)
		default:
			out[i].Sample = sources.Sample{Value: d, Activity: d}
		}
	}
	return out
}

func (s *queueSource) set(name string, d float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.depths[name] = d
}

type queueTrigger struct {
	q                  queueQuery
	target, activation float64
}

func (t *queueTrigger) Query() sources.Query { return t.q }
func (t *queueTrigger) MetricName() string   { return "queue-" + t.q.name }
func (t *queueTrigger) Target() float64      { return t.target }
func (t *queueTrigger) Activation() float64  { return t.activation }
func (t *queueTrigger) Evaluate(s sources.Sample) sources.Measurement {
	return sources.Measurement{Value: s.Value, Replicas: int64(math.Ceil(s.Value / t.target))}
}

// registry offers the queue source alone.
func (s *queueSource) registry(t *testing.T) *trigger.Registry {
	r, err := trigger.NewRegistry(trigger.Source{Name: "queue", Keys: []string{"queue", "target", "activation"}, Parse: s.parse})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (s *queueSource) parse(md metadata.Metadata) (trigger.Parsed, error) {
	{
		name, err := md.Required("queue")
		if err != nil {
			return nil, err
		}
		target, err := md.Float("target", 5, true)
		if err != nil {
			return nil, err
		}
		act, err := md.Float("activation", 0, false)
		if err != nil {
			return nil, err
		}
		return &queueTrigger{q: queueQuery{s, name}, target: target, activation: act}, nil
	}
}

type harness struct {
	src    *queueSource
	client pb.ExternalScalerClient
	srv    *Server
	cancel context.CancelFunc
	done   chan error
}

// startServer runs the real server on a loopback port with the queue source.
func startServer(t *testing.T) *harness { t.Helper(); return startServerWith(t, nil) }

// startServerWith is startServer with the service configuration adjusted.
func startServerWith(t *testing.T, adjust func(*ServiceConfig)) *harness {
	return startServerMax(t, 0, adjust)
}

// startServerMax is startServerWith with at most max triggers held.
func startServerMax(t *testing.T, maxTriggers int, adjust func(*ServiceConfig)) *harness {
	t.Helper()
	reg := prometheus.NewRegistry()
	met := metrics.New(reg)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	src := &queueSource{depths: map[string]float64{}}
	eng := sources.NewEngine(sources.Options{PollInterval: 20 * time.Millisecond, Metrics: met, Logger: log})
	t.Cleanup(func() { eng.Close() })
	cache := trigger.NewCache(trigger.CacheConfig{Registry: src.registry(t), Reader: eng, Max: maxTriggers, Size: met.Triggers})
	t.Cleanup(cache.Close)
	sc := ServiceConfig{Triggers: cache, Metrics: met, StreamRepeat: time.Hour}
	if adjust != nil {
		adjust(&sc)
	}
	h := runServer(t, Config{
		GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second,
		Service: sc, Gatherer: reg, Logger: log,
	})
	h.src = src
	return h
}

// runServer builds and runs the server of cfg, with a gRPC client on it;
// both stop at cleanup.
func runServer(t *testing.T, cfg Config) *harness {
	t.Helper()
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{srv: srv, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- srv.Run(ctx) }()
	conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	h.client = pb.NewExternalScalerClient(conn)
	t.Cleanup(func() {
		conn.Close()
		h.stop(t)
	})
	return h
}

func (h *harness) stop(t *testing.T) {
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		h.done <- nil
	case <-time.After(10 * time.Second):
		t.Error("server did not stop within 10s")
	}
}

func ref(md ...string) *pb.ScaledObjectRef {
	m := map[string]string{"scalerAddress": "tide:9090", "source": "queue"}
	for i := 0; i+1 < len(md); i += 2 {
		m[md[i]] = md[i+1]
	}
	return &pb.ScaledObjectRef{Name: "so", Namespace: "ns", ScalerMetadata: m}
}

func TestGetMetricSpecFillsBothFieldsWithoutIO(t *testing.T) {
	h := startServer(t)
	h.src.down = errors.New("connection refused") // spec must not care
	for _, tc := range []struct {
		name     string
		md       []string
		wantName string
		wantInt  int64
		wantF    float64
	}{
		{"default target", []string{"queue", "jobs"}, "queue-jobs", 5, 5},
		{"fractional target rounds the int twin", []string{"queue", "jobs", "target", "2.5"}, "queue-jobs", 3, 2.5},
		{"tiny target never sends int 0", []string{"queue", "jobs", "target", "0.2"}, "queue-jobs", 1, 0.2},
		{"metricName overrides", []string{"queue", "jobs", "metricName", "my-metric"}, "my-metric", 5, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := h.client.GetMetricSpec(t.Context(), ref(tc.md...))
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.MetricSpecs) != 1 {
				t.Fatalf("got %d specs; want 1", len(resp.MetricSpecs))
			}
			s := resp.MetricSpecs[0]
			if s.MetricName != tc.wantName || s.TargetSize != tc.wantInt || s.TargetSizeFloat != tc.wantF {
				t.Errorf("spec = %v; want %s %d %g", s, tc.wantName, tc.wantInt, tc.wantF)
			}
		})
	}
	if h.src.polls != 0 {
		t.Errorf("GetMetricSpec polled the upstream %d times; want no I/O", h.src.polls)
	}
}

func TestInvalidMetadataNamesKeyAndValue(t *testing.T) {
	h := startServer(t)
	for _, tc := range []struct {
		name string
		ref  *pb.ScaledObjectRef
		want []string
	}{
		{"no source", &pb.ScaledObjectRef{ScalerMetadata: map[string]string{"queue": "q"}}, []string{`"source"`, "required"}},
		{"unknown source", ref("source", "nope"), []string{`"source"`, `"nope"`, "queue"}},
		{"missing key", ref(), []string{`"queue"`, "required"}},
		{"non-numeric", ref("queue", "q", "target", "abc"), []string{`"target"`, `"abc"`}},
		{"negative", ref("queue", "q", "activation", "-1"), []string{`"activation"`, `"-1"`}},
		{"bad metricName", ref("queue", "q", "metricName", "no spaces"), []string{`"metricName"`, `"no spaces"`}},
		{"misspelt key", ref("queue", "q", "targt", "5"), []string{`"targt"`, `did you mean "target"?`}},
		{"unknown metricMode", ref("queue", "q", "metricMode", "percent"), []string{`"metricMode"`, `"percent"`, "raw, replicas"}},
		{"deactivation above activation", ref("queue", "q", "activation", "3", "deactivationThreshold", "4"),
			[]string{`"deactivationThreshold"`, `"4"`, "activation threshold (3)"}},
		{"bad minActiveDuration", ref("queue", "q", "minActiveDuration", "-1m"), []string{`"minActiveDuration"`, `"-1m"`}},
		{"behavior period 0", ref("queue", "q", "hpaBehavior", "{scaleUp: {policies: [{type: Pods, value: 1, periodSeconds: 0}]}}"),
			[]string{`"hpaBehavior"`, "behavior.scaleUp.policies[0].periodSeconds", "between 1 and 1800"}},
		{"behavior window above 3600", ref("queue", "q", "hpaBehavior", "{scaleDown: {stabilizationWindowSeconds: 3601}}"),
			[]string{`"hpaBehavior"`, "behavior.scaleDown.stabilizationWindowSeconds", `"3601"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := map[string]error{}
			_, calls["GetMetricSpec"] = h.client.GetMetricSpec(t.Context(), tc.ref)
			_, calls["GetMetrics"] = h.client.GetMetrics(t.Context(), &pb.GetMetricsRequest{ScaledObjectRef: tc.ref})
			_, calls["IsActive"] = h.client.IsActive(t.Context(), tc.ref)
			for rpc, err := range calls {
				if status.Code(err) != codes.InvalidArgument {
					t.Errorf("%s: code %v; want InvalidArgument (%v)", rpc, status.Code(err), err)
					continue
				}
				for _, w := range tc.want {
					if !strings.Contains(status.Convert(err).Message(), w) {
						t.Errorf("%s: %q does not mention %s", rpc, status.Convert(err).Message(), w)
					}
				}
			}
		})
	}
}

func TestMetadataLimits(t *testing.T) {
	h := startServer(t)
	big := ref("queue", "q")
	for i := range trigger.MaxMetadataKeys {
		big.ScalerMetadata["k"+strconv.Itoa(i)] = "v"
	}
	if _, err := h.client.GetMetricSpec(t.Context(), big); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("too many keys: %v; want ResourceExhausted", err)
	}
	huge := ref("queue", "q", "pad", strings.Repeat("x", trigger.MaxMetadataBytes))
	if _, err := h.client.GetMetricSpec(t.Context(), huge); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("too many bytes: %v; want ResourceExhausted", err)
	}
}

// TestMaxTriggers: one distinct trigger beyond the limit is
// ResourceExhausted naming the limit on every RPC; triggers already held
// keep answering.
func TestMaxTriggers(t *testing.T) {
	h := startServerMax(t, 2, nil)
	for _, q := range []string{"a", "b"} {
		if _, err := h.client.GetMetricSpec(t.Context(), ref("queue", q)); err != nil {
			t.Fatal(err)
		}
	}
	h.src.set("c", 1) // a stream let in answers at once
	third := ref("queue", "c")
	errs := map[string]error{}
	_, errs["GetMetricSpec"] = h.client.GetMetricSpec(t.Context(), third)
	_, errs["GetMetrics"] = h.client.GetMetrics(t.Context(), &pb.GetMetricsRequest{ScaledObjectRef: third})
	_, errs["IsActive"] = h.client.IsActive(t.Context(), third)
	for _, rpc := range streamingRPCs {
		_, errs[rpc] = openStream(t, h.client, rpc, third)
	}
	for rpc, err := range errs {
		if status.Code(err) != codes.ResourceExhausted || !strings.Contains(status.Convert(err).Message(), "2 triggers, its limit") {
			t.Errorf("%s of a third trigger over a limit of 2: %v; want ResourceExhausted naming the limit", rpc, err)
		}
	}
	if _, err := h.client.GetMetricSpec(t.Context(), ref("queue", "a")); err != nil {
		t.Errorf("a held trigger is refused at the limit: %v", err)
	}
}

func TestGetMetricsAndIsActive(t *testing.T) {
	h := startServer(t)
	h.src.set("jobs", 12)
	r := ref("queue", "jobs", "activation", "10")
	resp, err := h.client.GetMetrics(t.Context(), &pb.GetMetricsRequest{ScaledObjectRef: r, MetricName: "queue-jobs"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.MetricValues) != 1 {
		t.Fatalf("got %d values; want exactly 1", len(resp.MetricValues))
	}
	v := resp.MetricValues[0]
	if v.MetricName != "queue-jobs" || v.MetricValue != 12 || v.MetricValueFloat != 12 {
		t.Errorf("value = %v; want queue-jobs 12 12.0", v)
	}
	act, err := h.client.IsActive(t.Context(), r)
	if err != nil || !act.Result {
		t.Errorf("IsActive = %v, %v; want true (12 > 10)", act, err)
	}
	h.src.set("jobs", 10)
	waitFor(t, "IsActive false at depth 10", func() bool {
		a, err := h.client.IsActive(t.Context(), r)
		return err == nil && !a.Result
	})
}

func TestUpstreamErrorsAreNotZeros(t *testing.T) {
	h := startServer(t)
	h.src.set("ok", 4)
	_, err := h.client.GetMetrics(t.Context(), &pb.GetMetricsRequest{ScaledObjectRef: ref("queue", "missing")})
	if status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), `"missing"`) {
		t.Errorf("missing queue: %v; want NotFound naming it", err)
	}
	if v, err := h.client.GetMetrics(t.Context(), &pb.GetMetricsRequest{ScaledObjectRef: ref("queue", "ok")}); err != nil || v.MetricValues[0].MetricValueFloat != 4 {
		t.Errorf("other trigger disturbed: %v, %v", v, err)
	}
	h.src.mu.Lock()
	h.src.down = errors.New("dial tcp: connection refused")
	h.src.mu.Unlock()
	waitFor(t, "Unavailable while the upstream is down", func() bool {
		_, err := h.client.IsActive(t.Context(), ref("queue", "ok"))
		return status.Code(err) == codes.Unavailable && strings.Contains(err.Error(), "queue://test")
	})
	h.src.mu.Lock()
	h.src.down = nil
	h.src.mu.Unlock()
	waitFor(t, "recovery after the upstream returns", func() bool {
		v, err := h.client.GetMetrics(t.Context(), &pb.GetMetricsRequest{ScaledObjectRef: ref("queue", "ok")})
		return err == nil && v.MetricValues[0].MetricValueFloat == 4
	})
}

func TestStreamIsActivePushesAndDrainEndsOK(t *testing.T) {
	h := startServer(t)
	h.src.set("jobs", 0)
	stream, err := h.client.StreamIsActive(t.Context(), ref("queue", "jobs"))
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.Recv()
	if err != nil || first.Result {
		t.Fatalf("first message = %v, %v; want false", first, err)
	}
	h.src.set("jobs", 3)
	got, err := stream.Recv()
	if err != nil || !got.Result {
		t.Fatalf("after activation = %v, %v; want true", got, err)
	}
	specs, err := h.client.StreamMetricSpec(t.Context(), ref("queue", "jobs"))
	if err != nil {
		t.Fatal(err)
	}
	if s, err := specs.Recv(); err != nil || s.MetricSpecs[0].MetricName != "queue-jobs" {
		t.Fatalf("StreamMetricSpec first = %v, %v", s, err)
	}

	h.stop(t) // SIGTERM in the real binary: drain
	if _, err := stream.Recv(); err != io.EOF {
		t.Errorf("StreamIsActive after drain: %v; want io.EOF (status OK)", err)
	}
	if _, err := specs.Recv(); err != io.EOF {
		t.Errorf("StreamMetricSpec after drain: %v; want io.EOF (status OK)", err)
	}
}

// waitFor polls cond until it holds or 5 s pass; polling is driven by the
// server's own 20 ms poll interval, so this waits for events, not for time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
