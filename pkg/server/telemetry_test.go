package server

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/peer"

	"github.com/tide-scaler/tide/pkg/metrics"
	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// TestValueTargetAndSampleAgeExported: a value sent exports the metric's
// target and the age of the sample behind it, by the service's clock; a
// sweep removes both with the trigger.
func TestValueTargetAndSampleAgeExported(t *testing.T) {
	var met *metrics.Metrics
	h := startServerWith(t, func(c *ServiceConfig) {
		met = c.Metrics
		// The service's clock runs 90 s ahead of the engine's stamps.
		c.Now = func() time.Time { return time.Now().Add(90 * time.Second) }
	})
	h.src.set("jobs", 12)
	r := ref("queue", "jobs", "target", "4")
	if _, err := h.client.GetMetrics(t.Context(), &pb.GetMetricsRequest{ScaledObjectRef: r, MetricName: "queue-jobs"}); err != nil {
		t.Fatal(err)
	}
	key := metrics.MetricKey{Namespace: "ns", ScaledObject: "so", Metric: "queue-jobs"}
	if v, _ := met.PerMetric.Get(key, metrics.Target); v != 4 {
		t.Errorf("tide_metric_target = %v; want 4", v)
	}
	if v, _ := met.PerMetric.Get(key, metrics.SampleAge); v < 90 || v > 100 {
		t.Errorf("tide_sample_age_seconds = %v; want 90 s (the service's clock ahead) plus at most the poll's age", v)
	}
	h.srv.svc.SweepTriggers(time.Now().Add(time.Hour))
	for _, name := range []string{"tide_metric_target", "tide_sample_age_seconds"} {
		if n := testutil.CollectAndCount(met.PerMetric, name); n != 0 {
			t.Errorf("%s: %d series left after the sweep", name, n)
		}
	}
	// The handles the service kept for the swept trigger's series go with
	// them, and the next call exports afresh.
	if n := len(h.srv.svc.gauges.m); n != 0 {
		t.Errorf("%d series handles kept after the sweep", n)
	}
	if _, err := h.client.GetMetrics(t.Context(), &pb.GetMetricsRequest{ScaledObjectRef: r, MetricName: "queue-jobs"}); err != nil {
		t.Fatal(err)
	}
	if v, _ := met.PerMetric.Get(key, metrics.Target); v != 4 {
		t.Errorf("after the sweep, tide_metric_target = %v; want 4", v)
	}
	// The server decoded the request with its own codec, which keeps the
	// strings it saw.
	if _, ok := h.srv.codec.in.m["queue-jobs"]; !ok {
		t.Error("the request was not decoded by refCodec")
	}
}

// TestStreamsPerClientMax: under a limit, tide_streams_per_client_max is
// the most streams any one client holds, through opens and releases in any
// order; the limit itself is exported as tide_streams_per_client_limit.
func TestStreamsPerClientMax(t *testing.T) {
	met := metrics.New(prometheus.NewRegistry())
	NewService(ServiceConfig{Metrics: met, MaxStreamsPerClient: 5})
	if v := testutil.ToFloat64(met.StreamLimit); v != 5 {
		t.Errorf("tide_streams_per_client_limit = %v; want 5", v)
	}
	g := met.ClientStreams.WithLabelValues("StreamIsActive")
	l := newStreamLimiter("StreamIsActive", 5, g)
	client := func(port int) context.Context {
		return peer.NewContext(t.Context(), &peer.Peer{Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}})
	}
	open := func(port int) func() {
		t.Helper()
		release, err := l.acquire(client(port))
		if err != nil {
			t.Fatal(err)
		}
		return release
	}
	want := func(n float64, when string) {
		t.Helper()
		if v := testutil.ToFloat64(g); v != n {
			t.Errorf("after %s: tide_streams_per_client_max = %v; want %v", when, v, n)
		}
	}
	a1, a2, a3 := open(1), open(1), open(1)
	b1, b2 := open(2), open(2)
	want(3, "A 3, B 2")
	a1()
	want(2, "A 2, B 2")
	a1() // a second release of the same stream counts nothing
	want(2, "A 2, B 2 (double release)")
	b3 := open(2)
	want(3, "A 2, B 3")
	b1()
	b2()
	b3()
	want(2, "A 2, B 0")
	a2()
	a3()
	want(0, "all released")
	if _, err := l.acquire(client(3)); err != nil {
		t.Fatal(err)
	}
	want(1, "C 1")
}
