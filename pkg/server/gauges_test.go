package server

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/trigger"
	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// TestSeriesHeapPerScaledObject: the series a ScaledObject metric exports
// (value, target, sample age, replicas, active, lag) cost a few hundred
// bytes of retained heap, not a GaugeVec child each (~530 B per series,
// ~3,200 B for six). n ScaledObjects share one trigger, so what each adds
// is its owner record, its series handle and its series. A heap size, not
// a timing: the bound is 1,200 B, four times what they cost.
func TestSeriesHeapPerScaledObject(t *testing.T) {
	const n, bound = 5000, 1200
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	met := metrics.New(prometheus.NewRegistry())
	src := &queueSource{depths: map[string]float64{"jobs": 7}}
	eng := sources.NewEngine(sources.Options{PollInterval: time.Hour, Metrics: met, Logger: log})
	t.Cleanup(func() { eng.Close() })
	cache := trigger.NewCache(trigger.CacheConfig{Registry: src.registry(t), Reader: eng})
	t.Cleanup(cache.Close)
	svc := NewService(ServiceConfig{Triggers: cache, Metrics: met, StreamRepeat: time.Hour})
	md := map[string]string{"source": "queue", "queue": "jobs", "target": "2"}
	reqs := make([]*pb.GetMetricsRequest, n+1)
	for i := range reqs {
		reqs[i] = &pb.GetMetricsRequest{MetricName: "queue-jobs", ScaledObjectRef: &pb.ScaledObjectRef{
			Namespace: "ns-" + strconv.Itoa(i), Name: "so-" + strconv.Itoa(i), ScalerMetadata: md}}
	}
	ctx := context.Background()
	call := func(r *pb.GetMetricsRequest) {
		if res, err := svc.GetMetrics(ctx, r); err != nil || res.MetricValues[0].MetricValueFloat != 7 {
			t.Fatalf("GetMetrics: %v, %v", res, err)
		}
	}
	call(reqs[n]) // the trigger, its first sample and the maps' first entries
	before := liveHeap()
	for _, r := range reqs[:n] {
		call(r)
	}
	per := float64(liveHeap()-before) / n
	if got := met.PerMetric.Len(); got != n+1 {
		t.Fatalf("%d ScaledObject metrics exported; want %d", got, n+1)
	}
	t.Logf("%.0f B of heap per ScaledObject metric", per)
	if per > bound {
		t.Errorf("each ScaledObject metric holds %.0f B of heap; want at most %d (are its series live gauges again?)", per, bound)
	}
	runtime.KeepAlive(reqs)
	runtime.KeepAlive(svc) // its series handles count
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
