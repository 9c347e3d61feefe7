package server

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/trigger"
	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// BenchmarkServiceGetMetrics calls the GetMetrics handler directly (no
// gRPC) over 10,000 warmed triggers of 10 queues, cycling through them as
// KEDA's calls would: the handler's own time and allocations per call,
// with the request as gRPC decodes it (a fresh metadata map per call is
// not counted: the benchmark reuses one request per trigger).
func BenchmarkServiceGetMetrics(b *testing.B) {
	const n, queues = 10000, 10
	met := metrics.New(prometheus.NewRegistry())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	src := &queueSource{depths: map[string]float64{}}
	for q := range queues {
		src.set("q"+strconv.Itoa(q), float64(q+1))
	}
	eng := sources.NewEngine(sources.Options{PollInterval: time.Hour, Metrics: met, Logger: log})
	b.Cleanup(func() { eng.Close() })
	reg, err := trigger.NewRegistry(trigger.Source{Name: "queue", Keys: []string{"queue", "target", "activation"}, Parse: src.parse})
	if err != nil {
		b.Fatal(err)
	}
	cache := trigger.NewCache(trigger.CacheConfig{Registry: reg, Reader: eng})
	b.Cleanup(cache.Close)
	svc := NewService(ServiceConfig{Triggers: cache, Metrics: met, StreamRepeat: time.Hour})
	reqs := make([]*pb.GetMetricsRequest, n)
	ctx := context.Background()
	for i := range reqs {
		reqs[i] = &pb.GetMetricsRequest{MetricName: "m", ScaledObjectRef: &pb.ScaledObjectRef{
			Namespace: "ns", Name: "so-" + strconv.Itoa(i),
			ScalerMetadata: map[string]string{"source": "queue", "queue": "q" + strconv.Itoa(i%queues),
				"target": "1000", "metricName": "so-" + strconv.Itoa(i)},
		}}
		if _, err := svc.GetMetrics(ctx, reqs[i]); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		r, err := svc.GetMetrics(ctx, reqs[i%n])
		if err != nil || r.MetricValues[0].MetricValueFloat != float64(i%queues+1) {
			b.Fatalf("%v %v", r, err)
		}
		i++
	}
}
